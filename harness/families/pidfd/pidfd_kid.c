/* pidfd_kid.c: see pidfd_kid.h. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "families/experiments.h"
#include "families/pidfd/pidfd_kid.h"
#include "lib/util.h"

#define NOBODY 65534
#define WAIT_MAX_MS 5000 /* no single wait here is longer */

int kid_budget(struct kid *k, int max_ms)
{
	int64_t left = (int64_t)k->ctx->deadline_ms - (int64_t)mono_ms() - 200;
	if (left > max_ms)
		left = max_ms;
	return left < 1 ? 1 : (int)left;
}

/* A close-on-exec duplicate of FD at or above SRC_MIN: no source of the
 * child's fd map is then one of its destinations (3..10), so no dup2 is an
 * identity (which would keep FD_CLOEXEC) or clobbers a later source. */
#define SRC_MIN 20
static int high(int fd)
{
	return fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, SRC_MIN);
}

static void close_all(int *fd, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fd[i] >= 0)
			close(fd[i]);
}

int kid_spawn(struct step_ctx *ctx, struct kid *k, const char *const *args, const struct kid_fd *extra,
	      size_t nextra, char *err, size_t errlen)
{
	memset(k, 0, sizeof *k);
	k->ctx = ctx;
	k->pid = -1;
	k->pidfd = k->rel = k->rel2 = k->rep = -1;
	/* Pipes: fd[0],fd[1] release (child's 3), fd[2],fd[3] report (4),
	 * fd[4],fd[5] second release (5); then the extra sources. */
	int fd[6 + 4] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
	int p[2];
	for (int i = 0; i < 3; i++) {
		if (pipe2(p, O_CLOEXEC) < 0) {
			close_all(fd, 10);
			return EXP_BROKE(err, errlen, "pipe2");
		}
		fd[2 * i] = high(p[0]);
		fd[2 * i + 1] = high(p[1]);
		close(p[0]);
		close(p[1]);
	}
	if (nextra > 4)
		nextra = 4;
	for (size_t i = 0; i < nextra; i++)
		fd[6 + i] = high(extra[i].src);
	for (size_t i = 0; i < 6 + nextra; i++)
		if (fd[i] < 0) {
			close_all(fd, 10);
			return EXP_BROKE(err, errlen, "F_DUPFD_CLOEXEC");
		}
	char *path = exp_program(ctx, "pidfd-child");
	char *argv[8] = {path};
	size_t n = 1;
	for (; args[n - 1] && n < 7; n++)
		argv[n] = (char *)args[n - 1];
	argv[n] = NULL;
	char *envp[] = {NULL};
	struct spawn_req req;
	spawn_req_stdio(&req, ctx->be, path, argv, envp);
	req.map[req.nmap++] = (struct sl_fdmap){fd[0], 3};
	req.map[req.nmap++] = (struct sl_fdmap){fd[3], 4};
	req.map[req.nmap++] = (struct sl_fdmap){fd[4], 5};
	for (size_t i = 0; i < nextra; i++)
		req.map[req.nmap++] = (struct sl_fdmap){fd[6 + i], extra[i].dst};
	struct spawn_res res = {-1, -1, 0, 0};
	int r = ctx->be->spawn(&req, &res);
	int e = res.err ? res.err : errno;
	/* Keep our ends: release write ends, report read end. */
	k->rel = fd[1];
	k->rep = fd[2];
	k->rel2 = fd[5];
	fd[1] = fd[2] = fd[5] = -1;
	close_all(fd, 10);
	if (r < 0 || res.err) {
		kid_end(k);
		snprintf(err, errlen, "%s:%d: %s spawn of %s: %s", __FILE__, __LINE__, ctx->be->name, path,
			 strerror(e));
		free(path);
		return -1;
	}
	free(path);
	k->pidfd = res.pidfd;
	k->pid = res.pid > 0 ? res.pid : (res.pidfd >= 0 ? sl_pidfd_pid(res.pidfd) : -1);
	obs_put(ctx, "kid.pidfd_from", "%s", res.pidfd >= 0 ? "backend" : "pidfd_open");
	if (k->pidfd < 0 && k->pid > 0)
		k->pidfd = sl_pidfd_open(k->pid, 0);
	if (k->pid <= 0 || k->pidfd < 0) {
		kid_end(k);
		return EXP_BROKE(err, errlen, "%s gave pid %ld and no usable pidfd", ctx->be->name, (long)k->pid);
	}
	obs_put(ctx, "kid.pid", "%ld", (long)k->pid);
	char line[64];
	long nspid = 0;
	if (kid_line(k, line, sizeof line, kid_budget(k, WAIT_MAX_MS)) < 0 || sscanf(line, "pid %ld", &nspid) != 1) {
		kid_end(k);
		snprintf(err, errlen, "%s:%d: the child gave no \"pid N\" line (got \"%s\")", __FILE__, __LINE__, line);
		return -1;
	}
	obs_put(ctx, "kid.ns_pid", "%ld", nspid);
	return 0;
}

int kid_line(struct kid *k, char *buf, size_t len, int ms)
{
	size_t got = 0;
	uint64_t end = mono_ms() + (uint64_t)ms;
	while (got + 1 < len) {
		int64_t left = (int64_t)(end - mono_ms());
		struct pollfd p = {k->rep, POLLIN, 0};
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		ssize_t r = read(k->rep, buf + got, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (buf[got] == '\n') {
			buf[got] = 0;
			return 0;
		}
		got++;
	}
	buf[got] = 0;
	return -1;
}

int kid_poll(int pidfd, int ms)
{
	struct pollfd p = {pidfd, POLLIN, 0};
	int n;
	do
		n = poll(&p, 1, ms);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -1 : n == 0 ? 0 : p.revents;
}

int kid_state(pid_t pid, char want, int ms)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	uint64_t end = mono_ms() + (uint64_t)ms;
	do {
		char *s = read_file(path, 4096, NULL);
		char *p = s ? strrchr(s, ')') : NULL;
		char st = p && p[1] == ' ' ? p[2] : 0;
		free(s);
		if (st == want)
			return 0;
		usleep(1000);
	} while (mono_ms() < end);
	return -1;
}

int kid_reap(struct kid *k, int *status)
{
	int ok = kid_poll(k->pidfd, kid_budget(k, WAIT_MAX_MS)) > 0;
	if (!ok)
		sl_pidfd_send_signal(k->pidfd, SIGKILL, NULL, 0);
	pid_t w;
	do
		w = wait4(k->pid, status, __WALL, NULL);
	while (w < 0 && errno == EINTR);
	k->reaped = 1;
	return ok && w == k->pid ? 0 : -1;
}

void kid_end(struct kid *k)
{
	if (k->pid > 0 && !k->reaped) {
		if (k->pidfd >= 0)
			sl_pidfd_send_signal(k->pidfd, SIGKILL, NULL, 0);
		else
			kill(k->pid, SIGKILL);
		int st;
		while (wait4(k->pid, &st, __WALL, NULL) < 0 && errno == EINTR)
			;
		k->reaped = 1;
	}
	int *fds[] = {&k->pidfd, &k->rel, &k->rel2, &k->rep};
	for (size_t i = 0; i < sizeof fds / sizeof *fds; i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

int kid_get_info(int fd, struct sl_pidfd_info *info, size_t size)
{
	/* _IOWR(0xFF, 11, SIZE bytes): the kernel reads the size from it. */
	unsigned long req = (3UL << 30) | ((unsigned long)size << 16) | (0xFFUL << 8) | 11UL;
	return ioctl(fd, req, info) == 0 ? 0 : errno;
}

int kid_fdinfo(int fd, const char *key, char *buf, size_t len)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
	char *s = read_file(path, 1 << 16, NULL);
	if (!s)
		return -1;
	size_t kl = strlen(key);
	int r = -1;
	for (char *line = s; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			char *v = line + kl + 1;
			while (*v == '\t' || *v == ' ')
				v++;
			size_t i = 0;
			for (; v[i] && v[i] != '\n' && i + 1 < len; i++)
				buf[i] = v[i] == '\t' ? ' ' : v[i];
			buf[i] = 0;
			r = 0;
			break;
		}
	}
	free(s);
	return r;
}

int kid_as_nobody(int (*fn)(void *), void *arg)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		int e = -1;
		/* All uids non-zero: the capability sets are cleared
		 * (capabilities(7), "Effect of user ID changes"). */
		if (setgroups(0, NULL) == 0 && setresgid(NOBODY, NOBODY, NOBODY) == 0 &&
		    setresuid(NOBODY, NOBODY, NOBODY) == 0)
			e = fn(arg);
		_exit(write(p[1], &e, sizeof e) == (ssize_t)sizeof e ? 0 : 1);
	}
	close(p[1]);
	int e = -1;
	struct pollfd pf = {p[0], POLLIN, 0};
	if (poll(&pf, 1, WAIT_MAX_MS) == 1 && read(p[0], &e, sizeof e) != (ssize_t)sizeof e)
		e = -1;
	close(p[0]);
	kill(pid, SIGKILL);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return e;
}
