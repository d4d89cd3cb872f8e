/* executor.c: the executor's main loop (see executor.h).
 *
 * usage: spawnlab-executor clone
 *        spawnlab-executor fd OBSERVER
 * The control socket is EXEC_CTL_FD; everything else the executor got is
 * closed, and 0, 1 and 2 are made to exist (on /dev/null), so that its fd
 * table at rest is the same wherever it starts.  Exit 0 at end of file on
 * the socket, 2 on a usage or set-up error. */
#include "executor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "exec_modes.h"
#include "sys/sys.h"

static struct exec_stats *stats_map(void)
{
	static struct exec_stats local;
	const char *dir = getenv("SPAWNLAB_FUZZ_STATS");
	if (!dir || !*dir)
		return &local;
	char path[4096];
	snprintf(path, sizeof path, "%s/exec-%d.stats", dir, (int)getpid());
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || ftruncate(fd, sizeof local) < 0) {
		if (fd >= 0)
			close(fd);
		return &local;
	}
	void *p = mmap(NULL, sizeof local, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? &local : p;
}

static void settle_fds(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0) {
			int n = open("/dev/null", O_RDWR);
			if (n >= 0 && n != fd) {
				dup2(n, fd);
				close(n);
			}
		}
	if (sl_close_range(3, EXEC_CTL_FD - 1, 0) < 0 || sl_close_range(EXEC_CTL_FD + 1, ~0U, 0) < 0)
		for (int fd = 3; fd < 1024; fd++)
			if (fd != EXEC_CTL_FD)
				close(fd);
}

int main(int argc, char **argv)
{
	enum exec_mode mode = argc >= 2 && strcmp(argv[1], "clone") == 0 ? EXEC_CLONE
			      : argc >= 3 && strcmp(argv[1], "fd") == 0  ? EXEC_FD
									  : 0;
	if (!mode) {
		fprintf(stderr, "usage: %s clone | fd OBSERVER  (control socket on fd %d)\n", argv[0], EXEC_CTL_FD);
		return 2;
	}
	if (fcntl(EXEC_CTL_FD, F_SETFD, FD_CLOEXEC) < 0) {
		fprintf(stderr, "executor: no control socket on fd %d\n", EXEC_CTL_FD);
		return 2;
	}
	settle_fds();
	struct exec_stats *st = stats_map();
	static struct exec_hello hello;
	hello.mode = mode;
	hello.pid = (int32_t)getpid();
#ifdef __GLIBC__
	hello.glibc = 1;
#endif
	char err[256] = "";
	int r = mode == EXEC_CLONE ? exec_clone_init(&hello, err, sizeof err) : exec_fd_init(argv[2], &hello, err, sizeof err);
	if (r < 0) {
		fprintf(stderr, "executor: %s\n", err);
		return 2;
	}
	for (int fd = 0; fd < FDM_N; fd++) {
		int fl = fcntl(fd, F_GETFD);
		hello.baseline[fd] = fl < 0 ? FD_CLOSED : (fl & FD_CLOEXEC) ? FD_OPEN_CLOEXEC : FD_OPEN;
	}
	if (send(EXEC_CTL_FD, &hello, sizeof hello, MSG_NOSIGNAL) != (ssize_t)sizeof hello)
		return 2;
	static union {
		struct exec_clone_req c;
		struct exec_fd_req f;
	} req;
	static union {
		struct exec_clone_res c;
		struct exec_fd_res f;
	} res;
	for (;;) {
		ssize_t n = recv(EXEC_CTL_FD, &req, sizeof req, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		st->requests++;
		size_t len;
		if (mode == EXEC_CLONE) {
			if ((size_t)n != sizeof req.c)
				break;
			exec_clone_run(&req.c, &res.c, st);
			len = sizeof res.c;
		} else {
			if ((size_t)n != sizeof req.f)
				break;
			exec_fd_run(&req.f, &res.f, st);
			len = sizeof res.f;
		}
		if (send(EXEC_CTL_FD, &res, len, MSG_NOSIGNAL) != (ssize_t)len)
			break;
	}
	if (mode == EXEC_FD)
		exec_fd_fini();
	return 0;
}
