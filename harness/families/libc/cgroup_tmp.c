/* cgroup_tmp.c: see cgroup_tmp.h. */
#include "families/libc/cgroup_tmp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/case.h"
#include "lib/util.h"

/* The mount point of the cgroup2 file system, from /proc/self/mountinfo
 * (field 5 is the mount point; the file system type follows " - "). */
static int cgroup2_mount(char *out, size_t len)
{
	char *mi = read_file("/proc/self/mountinfo", 1 << 20, NULL);
	if (!mi)
		return -1;
	int found = -1;
	for (char *line = mi, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		char *sep = strstr(line, " - cgroup2 ");
		char root[4096], mnt[4096];
		if (sep && sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) == 2 && strcmp(root, "/") == 0) {
			snprintf(out, len, "%s", mnt);
			found = 0;
			break;
		}
		if (!nl)
			break;
	}
	free(mi);
	return found;
}

/* The caller's cgroup v2 path: the "0::PATH" line of /proc/self/cgroup. */
static int own_cgroup(char *out, size_t len)
{
	char *t = read_file("/proc/self/cgroup", 1 << 16, NULL);
	if (!t)
		return -1;
	char *l = strncmp(t, "0::", 3) == 0 ? t : strstr(t, "\n0::");
	int r = -1;
	if (l) {
		l += l == t ? 3 : 4;
		snprintf(out, len, "%.*s", (int)strcspn(l, "\n"), l);
		r = 0;
	}
	free(t);
	return r;
}

int cgroup_tmp_make(struct cgroup_tmp *cg, char *err, size_t errlen)
{
	char mnt[4096];
	cg->fd = -1;
	cg->dir[0] = 0;
	if (cgroup2_mount(mnt, sizeof mnt) < 0) {
		snprintf(err, errlen, "no cgroup2 file system is mounted here (/proc/self/mountinfo)");
		return STEP_UNSUPPORTED;
	}
	if (own_cgroup(cg->own, sizeof cg->own) < 0) {
		snprintf(err, errlen, "/proc/self/cgroup has no cgroup v2 line");
		return STEP_UNSUPPORTED;
	}
	const char *parent = strcmp(cg->own, "/") == 0 ? "" : cg->own;
	/* pids are namespaced here, so the name takes the clock as well. */
	for (int i = 0; i < 16; i++) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		char name[96];
		snprintf(name, sizeof name, "spawnlab-%ld-%ld-%d", (long)getpid(), (long)ts.tv_nsec, i);
		int n1 = snprintf(cg->path, sizeof cg->path, "%s/%s", parent, name);
		int n2 = snprintf(cg->dir, sizeof cg->dir, "%s%s", mnt, cg->path);
		if (n1 >= (int)sizeof cg->path || n2 >= (int)sizeof cg->dir) {
			snprintf(err, errlen, "the cgroup path is too long");
			cg->dir[0] = 0;
			return -1;
		}
		if (mkdir(cg->dir, 0755) == 0)
			break;
		if (errno != EEXIST) {
			snprintf(err, errlen, "mkdir %s: %s", cg->dir, strerror(errno));
			cg->dir[0] = 0;
			return errno == EACCES || errno == EPERM || errno == EROFS ? STEP_UNSUPPORTED : -1;
		}
		cg->dir[0] = 0;
	}
	if (!cg->dir[0]) {
		snprintf(err, errlen, "could not find a free scratch cgroup name under %s", mnt);
		return -1;
	}
	cg->fd = open(cg->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg->fd < 0) {
		snprintf(err, errlen, "open %s: %s", cg->dir, strerror(errno));
		rmdir(cg->dir);
		cg->dir[0] = 0;
		return -1;
	}
	return 0;
}

int cgroup_tmp_remove(struct cgroup_tmp *cg)
{
	if (cg->fd >= 0)
		close(cg->fd);
	cg->fd = -1;
	if (!cg->dir[0])
		return 0;
	/* A reaped child may still be counted for a moment (EBUSY). */
	for (int i = 0; i < 100; i++) {
		if (rmdir(cg->dir) == 0 || errno == ENOENT) {
			cg->dir[0] = 0;
			return 0;
		}
		if (errno != EBUSY)
			return -1;
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return -1;
}
