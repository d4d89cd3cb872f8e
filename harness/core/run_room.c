/* run_room.c: how many units may run side by side under this process's
 * limits.  Units running together share RLIMIT_NPROC (per user) and a
 * cgroup's pids.max; under a tight limit a unit would fail to spawn because
 * of its neighbours, not because of the case.  The driver's own fds need no
 * check: a sandbox that cannot be made for want of them is run again alone
 * (run_sched.c). */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/run.h"
#include "lib/util.h"

/* Processes a unit may have at once: the sandbox init, the spawner and
 * its children, with room to spare. */
#define PER_UNIT 16

static long processes_of(uid_t uid)
{
	DIR *d = opendir("/proc");
	long n = 0;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		struct stat st;
		n += fstatat(dirfd(d), e->d_name, &st, 0) == 0 && st.st_uid == uid;
	}
	if (d)
		closedir(d);
	return n;
}

static long read_long(const char *path)
{
	char *s = read_file(path, 64, NULL);
	long v = s && strncmp(s, "max", 3) != 0 ? strtol(s, NULL, 10) : -1;
	free(s);
	return v;
}

/* Where the hierarchy holding the pids controller is mounted: cgroup v2
 * (V2 set) or the v1 "pids" hierarchy; NULL if neither is. */
static char *pids_mount(int v2)
{
	char *m = read_file("/proc/self/mounts", 1 << 16, NULL), *found = NULL;
	for (char *line = m, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		char dir[4096], type[64], opts[1024];
		if (sscanf(line, "%*s %4095s %63s %1023s", dir, type, opts) != 3)
			continue;
		int pids_v1 = strcmp(type, "cgroup") == 0 && (strstr(opts, ",pids") || strncmp(opts, "pids", 4) == 0);
		if (v2 ? strcmp(type, "cgroup2") == 0 : pids_v1) {
			found = xstrdup(dir);
			break;
		}
	}
	free(m);
	return found;
}

/* The smallest room that pids.max leaves on this process's cgroup and its
 * ancestors (v2, and the v1 pids hierarchy); -1 when no limit is set. */
static long cgroup_room(void)
{
	char *cg = read_file("/proc/self/cgroup", 1 << 16, NULL);
	long room = -1;
	for (char *line = cg, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		/* "0::/path" (v2) or "N:pids:/path" (v1) */
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = 0;
		int v2 = strcmp(line, "0") == 0 && c1[1] == 0;
		if (!v2 && strcmp(c1 + 1, "pids") != 0)
			continue;
		char *mnt = pids_mount(v2), *path = c2 + 1;
		for (; mnt;) {
			char *mx = xasprintf("%s%s/pids.max", mnt, path), *cur = xasprintf("%s%s/pids.current", mnt, path);
			long m = read_long(mx), c = read_long(cur);
			free(mx);
			free(cur);
			if (m >= 0 && c >= 0 && (room < 0 || m - c < room))
				room = m - c;
			char *slash = strrchr(path, '/');
			if (!slash || slash == path)
				break;
			*slash = 0;
		}
		free(mnt);
	}
	free(cg);
	return room;
}

int run_room(int jobs, char *why, size_t len)
{
	struct rlimit rl;
	long room = -1;
	const char *what = "";
	/* the kernel does not hold root (CAP_SYS_RESOURCE) to RLIMIT_NPROC */
	if (geteuid() != 0 && getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		room = (long)rl.rlim_cur - processes_of(getuid());
		what = "RLIMIT_NPROC";
	}
	long cg = cgroup_room();
	if (cg >= 0 && (room < 0 || cg < room)) {
		room = cg;
		what = "the cgroup's pids.max";
	}
	if (room < 0 || room >= (long)jobs * PER_UNIT)
		return jobs;
	int fit = room / PER_UNIT > 1 ? (int)(room / PER_UNIT) : 1;
	snprintf(why, len, "%s leaves room for %ld more processes", what, room < 0 ? 0 : room);
	return fit < jobs ? fit : jobs;
}
