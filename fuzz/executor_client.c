/* executor_client.c: see executor_client.h. */
#include "executor_client.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sys/sys.h"

#define HELLO_MS 20000 /* feature probes and the fdmake table take a while under emulation */

extern char **environ;

/* NAME beside this binary, unless ENV names it. */
static const char *beside_self(const char *env, const char *name, char *buf, size_t len)
{
	const char *e = getenv(env);
	if (e && *e)
		return e;
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	if (n <= 0)
		return name;
	buf[n] = 0;
	char *s = strrchr(buf, '/');
	if (!s || (size_t)(s - buf) + strlen(name) + 2 > len)
		return name;
	strcpy(s + 1, name);
	return buf;
}

static void kill_and_reap(struct exec_client *c)
{
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		kill(c->pid, SIGCONT);
		while (waitpid(c->pid, NULL, __WALL) < 0 && errno == EINTR)
			;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->pid = -1;
	c->fd = -1;
	exec_reap_zombies();
}

/* Wait for FD to be readable, in growing slices; between slices look
 * whether the executor stopped (continue it) or died.  1 readable, 0
 * late, -1 dead (reaped, *DEATH set). */
static int wait_readable(struct exec_client *c, int timeout_ms, int *death)
{
	int slice = 1, waited = 0;
	for (;;) {
		struct pollfd p = {c->fd, POLLIN, 0};
		int r = poll(&p, 1, slice);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return 0;
		siginfo_t si;
		memset(&si, 0, sizeof si);
		if (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WSTOPPED | WNOHANG | __WALL) == 0 && si.si_pid == c->pid) {
			if (si.si_code == CLD_STOPPED) {
				kill(c->pid, SIGCONT);
				continue;
			}
			*death = si.si_code == CLD_EXITED ? 0 : si.si_status;
			c->pid = -1;
			return -1;
		}
		waited += slice;
		if (waited >= timeout_ms)
			return 0;
		if (slice < 64)
			slice *= 2;
	}
}

int exec_start(struct exec_client *c, enum exec_mode mode)
{
	char ebuf[PATH_MAX], obuf[PATH_MAX];
	const char *exe = beside_self("SPAWNLAB_EXECUTOR", "spawnlab-executor", ebuf, sizeof ebuf);
	const char *obs = beside_self("SPAWNLAB_OBSERVER", "spawnlab-observer", obuf, sizeof obuf);
	int sv[2];
	c->mode = mode;
	c->pid = -1;
	c->fd = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		perror("executor: socketpair");
		return -1;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sv[1], EXEC_CTL_FD);
	char *argv[] = {(char *)exe, mode == EXEC_CLONE ? (char *)"clone" : (char *)"fd", (char *)obs, NULL};
	if (mode == EXEC_CLONE)
		argv[2] = NULL;
	pid_t pid;
	int r = posix_spawn(&pid, exe, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(sv[1]);
	if (r) {
		fprintf(stderr, "executor: cannot start %s: %s\n", exe, strerror(r));
		close(sv[0]);
		return -1;
	}
	c->pid = pid;
	c->fd = sv[0];
	c->starts++;
	int death = 0;
	if (wait_readable(c, HELLO_MS, &death) != 1 || recv(c->fd, &c->hello, sizeof c->hello, 0) != sizeof c->hello) {
		fprintf(stderr, "executor: %s %s said no hello\n", exe, argv[1]);
		kill_and_reap(c);
		return -1;
	}
	return 0;
}

int exec_call(struct exec_client *c, const void *req, size_t reqlen, void *res, size_t reslen, int timeout_ms,
	      int *death)
{
	*death = -1;
	if (c->pid <= 0 && exec_start(c, c->mode) < 0)
		return -1;
	if (send(c->fd, req, reqlen, MSG_NOSIGNAL) != (ssize_t)reqlen) {
		kill_and_reap(c);
		return -1;
	}
	int w = wait_readable(c, timeout_ms, death);
	if (w == 1) {
		ssize_t n = recv(c->fd, res, reslen, 0);
		if (n == (ssize_t)reslen)
			return 0;
		if (n == 0) {
			/* End of file: it died; learn how. */
			siginfo_t si;
			memset(&si, 0, sizeof si);
			if (waitid(P_PID, (id_t)c->pid, &si, WEXITED | __WALL) == 0)
				*death = si.si_code == CLD_EXITED ? 0 : si.si_status;
			c->pid = -1;
		}
	} else if (w == 0) {
		*death = -1;
	}
	kill_and_reap(c);
	return -1;
}

void exec_reap_pid(pid_t pid, int ms)
{
	int pfd = sl_pidfd_open(pid, 0);
	if (pfd >= 0) {
		struct pollfd p = {pfd, POLLIN, 0};
		if (poll(&p, 1, ms) == 0)
			kill(pid, SIGKILL);
		close(pfd);
	}
	siginfo_t si;
	while (waitid(P_PID, (id_t)pid, &si, WEXITED | __WALL) < 0 && errno == EINTR)
		;
}

void exec_reap_zombies(void)
{
	for (int i = 0; i < 64; i++) {
		siginfo_t si;
		memset(&si, 0, sizeof si);
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | __WALL) < 0 || si.si_pid == 0)
			return;
	}
}

void exec_stop(struct exec_client *c)
{
	if (c->fd >= 0) {
		close(c->fd); /* end of file: it exits */
		c->fd = -1;
	}
	if (c->pid > 0) {
		siginfo_t si;
		struct timespec ts = {0, 1000000};
		for (int i = 0; i < 2000; i++) {
			memset(&si, 0, sizeof si);
			if (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | __WALL) < 0 || si.si_pid == c->pid)
				break;
			nanosleep(&ts, NULL);
		}
		if (si.si_pid != c->pid)
			kill_and_reap(c);
	}
	c->pid = -1;
}
