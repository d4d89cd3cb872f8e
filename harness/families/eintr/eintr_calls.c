/* eintr_calls.c: the rows of the EINTR matrix.  Each blocking call in each
 * state that matters: how to make it block (set-up, in the controller;
 * prep, in the blocked party), the call itself, and how to make it
 * completable afterwards (wake), so that a restarted call returns data.
 *
 * Everything is created close-on-exec: in sigchld mode the blocked party
 * spawns a child, which must hold none of these (a pipe end held by it
 * would keep a reader from ever seeing EOF). */
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <linux/futex.h>
#include <poll.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/random.h>
#include <sys/select.h>
#include <sys/sem.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "core/case.h"
#include "families/eintr/eintr.h"
#include "lib/names.h"
#include "sys/sys.h"
#include "lib/util.h"

#define FILL_MAX 200000 /* bound on the writes that fill a buffer */
#define SLEEP_MS 200    /* how long the sleep rows sleep */
#define TIMEOUT_S 10    /* timeouts of the timed forms: far beyond the row's life */

void eintr_env_init(struct eintr_env *e, struct eintr_shared *sh)
{
	memset(e, 0, sizeof *e);
	e->sh = sh;
	for (int i = 0; i < 4; i++)
		e->fd[i] = -1;
	e->gate[0] = e->gate[1] = -1;
	e->ipc = e->semset = -1;
	e->mq = (mqd_t)-1;
}

static void xclose(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void eintr_env_cleanup(struct eintr_env *e)
{
	for (int i = 0; i < 4; i++)
		xclose(&e->fd[i]);
	xclose(&e->gate[0]);
	xclose(&e->gate[1]);
	if (e->mq != (mqd_t)-1)
		mq_close(e->mq);
	e->mq = (mqd_t)-1;
	/* SysV objects outlive the sandbox (no CLONE_NEWIPC): always removed. */
	if (e->ipc >= 0)
		msgctl(e->ipc, IPC_RMID, NULL);
	if (e->semset >= 0)
		semctl(e->semset, 0, IPC_RMID);
	e->ipc = e->semset = -1;
	if (e->path[0])
		unlink(e->path);
	e->path[0] = 0;
	free(e->buf);
	e->buf = NULL;
}

static int fail(char *err, size_t len, const char *what)
{
	snprintf(err, len, "%s: %s", what, strerror(errno));
	return -1;
}

static int unsupported(char *err, size_t len, const char *what)
{
	snprintf(err, len, "%s: %s", what, errno_name(errno));
	return STEP_UNSUPPORTED;
}

static int one_byte(struct eintr_env *e)
{
	e->len = 1;
	e->buf = xcalloc(4096, 1);
	return 0;
}

/* Read everything there is without blocking (a drain to unblock a writer). */
static int drain(int fd)
{
	char b[65536];
	for (int i = 0; i < FILL_MAX; i++) {
		ssize_t n = recv(fd, b, sizeof b, MSG_DONTWAIT);
		if (n < 0 && errno == ENOTSOCK)
			n = read(fd, b, sizeof b);
		if (n > 0)
			continue;
		return n < 0 && errno != EAGAIN ? -1 : 0;
	}
	return 0;
}

/* Read exactly LEN bytes within a few seconds (a whole restarted transfer). */
static int drain_len(int fd, size_t len)
{
	char b[65536];
	size_t got = 0;
	uint64_t end = mono_ms() + 4000;
	while (got < len && mono_ms() < end) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 100) < 0 && errno != EINTR)
			return -1;
		ssize_t n = read(fd, b, len - got < sizeof b ? len - got : sizeof b);
		if (n > 0)
			got += (size_t)n;
		else if (n < 0 && errno != EAGAIN)
			return -1;
	}
	return got == len ? 0 : (errno = ETIMEDOUT, -1);
}

/* Write until FD takes no more: big chunks, then single bytes. */
static int fill(int fd)
{
	static char chunk[65536];
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	size_t sz = sizeof chunk;
	for (int i = 0; i < FILL_MAX && sz; i++) {
		ssize_t n = write(fd, chunk, sz);
		if (n < 0 && errno == EAGAIN)
			sz = sz > 1 ? 1 : 0, errno = 0;
		else if (n < 0)
			return -1;
	}
	if (sz)
		return errno = ENOSPC, -1;
	return fcntl(fd, F_SETFL, fl);
}

static int nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* ---- pipes: fd[0] read end, fd[1] write end ---- */

static int su_pipe(struct eintr_env *e, char *err, size_t len)
{
	if (pipe2(e->fd, O_CLOEXEC) < 0)
		return fail(err, len, "pipe2");
	return one_byte(e);
}

static int su_pipe_full(struct eintr_env *e, char *err, size_t len)
{
	if (su_pipe(e, err, len) < 0)
		return -1;
	if (fill(e->fd[1]) < 0 || nonblock(e->fd[0]) < 0)
		return fail(err, len, "fill the pipe");
	return 0;
}

static int su_pipe_partial(struct eintr_env *e, char *err, size_t len)
{
	if (su_pipe(e, err, len) < 0)
		return -1;
	int sz = fcntl(e->fd[1], F_GETPIPE_SZ);
	if (sz <= 0)
		return fail(err, len, "F_GETPIPE_SZ");
	/* Twice the capacity: the first half goes in, then the writer sleeps. */
	e->len = 2 * (size_t)sz;
	free(e->buf);
	e->buf = xcalloc(e->len, 1);
	return 0;
}

static long c_read0(struct eintr_env *e) { return read(e->fd[0], e->buf, e->len); }
static long c_readv0(struct eintr_env *e)
{
	struct iovec v = {e->buf, e->len};
	return readv(e->fd[0], &v, 1);
}
static long c_write1(struct eintr_env *e) { return write(e->fd[1], e->buf, e->len); }
static long c_writev1(struct eintr_env *e)
{
	struct iovec v = {e->buf, e->len};
	return writev(e->fd[1], &v, 1);
}
static int w_write1(struct eintr_env *e, pid_t p)
{
	(void)p;
	return write(e->fd[1], "x", 1) == 1 ? 0 : -1;
}
static int w_drain0(struct eintr_env *e, pid_t p)
{
	(void)p;
	return drain(e->fd[0]);
}
static int w_drain0_len(struct eintr_env *e, pid_t p)
{
	(void)p;
	int fl = fcntl(e->fd[0], F_GETFL);
	if (fl >= 0)
		fcntl(e->fd[0], F_SETFL, fl | O_NONBLOCK);
	return drain_len(e->fd[0], e->len);
}

/* ---- stream sockets: fd[0] the blocked party's end, fd[1] the peer ---- */

static int timeo(int fd, int opt)
{
	struct timeval tv = {TIMEOUT_S, 0};
	return setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof tv);
}

static int su_sock(struct eintr_env *e, char *err, size_t len)
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, e->fd) < 0)
		return fail(err, len, "socketpair");
	return one_byte(e);
}

static int su_sock_rcvtimeo(struct eintr_env *e, char *err, size_t len)
{
	if (su_sock(e, err, len) < 0)
		return -1;
	return timeo(e->fd[0], SO_RCVTIMEO) < 0 ? fail(err, len, "SO_RCVTIMEO") : 0;
}

static int su_sock_full(struct eintr_env *e, char *err, size_t len)
{
	if (su_sock(e, err, len) < 0)
		return -1;
	/* fd[1] is written by the party below: swap so that the party writes
	 * fd[1] and the controller drains fd[0], as with pipes. */
	int t = e->fd[0];
	e->fd[0] = e->fd[1], e->fd[1] = t;
	return fill(e->fd[1]) < 0 ? fail(err, len, "fill the socket") : 0;
}

static int su_sock_full_sndtimeo(struct eintr_env *e, char *err, size_t len)
{
	if (su_sock_full(e, err, len) < 0)
		return -1;
	return timeo(e->fd[1], SO_SNDTIMEO) < 0 ? fail(err, len, "SO_SNDTIMEO") : 0;
}

static int su_sock_partial(struct eintr_env *e, char *err, size_t len)
{
	if (su_sock(e, err, len) < 0)
		return -1;
	int t = e->fd[0];
	e->fd[0] = e->fd[1], e->fd[1] = t;
	int small = 4096;
	if (setsockopt(e->fd[1], SOL_SOCKET, SO_SNDBUF, &small, sizeof small) < 0)
		return fail(err, len, "SO_SNDBUF");
	e->len = 1 << 20; /* far beyond what the buffers hold */
	free(e->buf);
	e->buf = xcalloc(e->len, 1);
	return 0;
}

static long c_recv(struct eintr_env *e) { return recv(e->fd[0], e->buf, e->len, 0); }
static long c_recvfrom(struct eintr_env *e) { return recvfrom(e->fd[0], e->buf, e->len, 0, NULL, NULL); }
static long c_recvmsg(struct eintr_env *e)
{
	struct iovec v = {e->buf, e->len};
	struct msghdr m = {.msg_iov = &v, .msg_iovlen = 1};
	return recvmsg(e->fd[0], &m, 0);
}
static long c_recvmmsg(struct eintr_env *e)
{
	struct iovec v = {e->buf, e->len};
	struct mmsghdr m = {.msg_hdr = {.msg_iov = &v, .msg_iovlen = 1}};
	return recvmmsg(e->fd[0], &m, 1, 0, NULL);
}
static long c_send(struct eintr_env *e) { return send(e->fd[1], e->buf, e->len, 0); }
static long c_sendto(struct eintr_env *e) { return sendto(e->fd[1], e->buf, e->len, 0, NULL, 0); }
static long c_sendmsg(struct eintr_env *e)
{
	struct iovec v = {e->buf, e->len};
	struct msghdr m = {.msg_iov = &v, .msg_iovlen = 1};
	return sendmsg(e->fd[1], &m, 0);
}
/* The socket rows write into fd[1] from the peer for reads. */
static int w_peer_write(struct eintr_env *e, pid_t p)
{
	(void)p;
	return write(e->fd[1], "x", 1) == 1 ? 0 : -1;
}

/* ---- a pseudo-terminal: fd[0] master, fd[1] slave (raw mode) ---- */

static int su_pty(struct eintr_env *e, char *err, size_t len)
{
	e->fd[0] = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (e->fd[0] < 0)
		return unsupported(err, len, "posix_openpt");
	char name[128];
	if (grantpt(e->fd[0]) < 0 || unlockpt(e->fd[0]) < 0 || ptsname_r(e->fd[0], name, sizeof name) != 0)
		return fail(err, len, "grantpt/unlockpt/ptsname");
	e->fd[1] = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (e->fd[1] < 0)
		return unsupported(err, len, name);
	struct termios t;
	if (tcgetattr(e->fd[1], &t) < 0)
		return fail(err, len, "tcgetattr");
	cfmakeraw(&t);
	if (tcsetattr(e->fd[1], TCSANOW, &t) < 0)
		return fail(err, len, "tcsetattr");
	return one_byte(e);
}

/* Reads on the slave; the wake writes on the master. */
static long c_read_slave(struct eintr_env *e) { return read(e->fd[1], e->buf, e->len); }
static long c_readv_slave(struct eintr_env *e)
{
	struct iovec v = {e->buf, e->len};
	return readv(e->fd[1], &v, 1);
}
static int w_master_write(struct eintr_env *e, pid_t p)
{
	(void)p;
	return write(e->fd[0], "x", 1) == 1 ? 0 : -1;
}

static int su_pty_full(struct eintr_env *e, char *err, size_t len)
{
	int r = su_pty(e, err, len);
	if (r != 0)
		return r;
	/* The line discipline moves data on from a work queue
	 * (flush_to_ldisc), so room can appear after EAGAIN, late on a slow
	 * machine (seen under software emulation): full means EAGAIN three
	 * times in a row with the master's input queue non-empty and not
	 * moving, i.e. the work has run and the discipline is full too. */
	int full = 0, last_q = -1;
	for (int i = 0; i < 200 && full < 3; i++) {
		if (fill(e->fd[1]) < 0)
			return fail(err, len, "fill the terminal");
		struct timespec t = {0, 2000000};
		nanosleep(&t, NULL);
		int fl = fcntl(e->fd[1], F_GETFL);
		fcntl(e->fd[1], F_SETFL, fl | O_NONBLOCK);
		ssize_t n = write(e->fd[1], "f", 1);
		int werr = errno;
		fcntl(e->fd[1], F_SETFL, fl);
		int q = -1;
		if (ioctl(e->fd[0], FIONREAD, &q) < 0)
			q = -1;
		full = n < 0 && werr == EAGAIN && q > 0 && q == last_q ? full + 1 : 0;
		last_q = q;
	}
	if (full < 3 || nonblock(e->fd[0]) < 0)
		return fail(err, len, "fill the terminal");
	return 0;
}

/* ---- FIFO open ---- */

static int su_fifo(struct eintr_env *e, char *err, size_t len)
{
	snprintf(e->path, sizeof e->path, "eintr.fifo");
	unlink(e->path);
	if (mkfifo(e->path, 0600) < 0)
		return fail(err, len, "mkfifo");
	return 0;
}
static long c_fifo_open(struct eintr_env *e) { return open(e->path, O_RDONLY | O_CLOEXEC); }
static int w_fifo_open(struct eintr_env *e, pid_t p)
{
	(void)p;
	e->fd[1] = open(e->path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	return e->fd[1] < 0 ? -1 : 0;
}

/* ---- a grandchild G that exits when the gate closes (wait rows, pidfd) ---- */

static int su_gate(struct eintr_env *e, char *err, size_t len)
{
	if (pipe2(e->gate, O_CLOEXEC) < 0)
		return fail(err, len, "pipe2");
	return 0;
}

static int p_grandchild(struct eintr_env *e)
{
	pid_t g = fork();
	if (g < 0)
		return -1;
	if (g == 0) {
		char b;
		close(e->gate[1]);
		while (read(e->gate[0], &b, 1) != 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(e->gate[1]);
	e->gate[1] = -1;
	e->sh->grandchild = g;
	return 0;
}
static int w_gate(struct eintr_env *e, pid_t p)
{
	(void)p;
	xclose(&e->gate[1]);
	return 0;
}
static long c_wait(struct eintr_env *e) { (void)e; return wait(NULL); }
static long c_wait4(struct eintr_env *e) { return wait4(e->sh->grandchild, NULL, 0, NULL); }
static long c_waitpid(struct eintr_env *e) { return waitpid(e->sh->grandchild, NULL, 0); }
static long c_waitid(struct eintr_env *e)
{
	siginfo_t si;
	return waitid(P_PID, (id_t)e->sh->grandchild, &si, WEXITED);
}

static int p_pidfd(struct eintr_env *e)
{
	if (p_grandchild(e) < 0)
		return -1;
	e->fd[2] = sl_pidfd_open(e->sh->grandchild, 0);
	return e->fd[2] < 0 ? -1 : 0;
}
static long c_pidfd_poll(struct eintr_env *e)
{
	struct pollfd p = {e->fd[2], POLLIN, 0};
	return poll(&p, 1, -1);
}

/* ---- accept and connect on a named AF_UNIX socket ---- */

static int listener(struct eintr_env *e, int backlog, char *err, size_t len)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(e->path, sizeof e->path, "eintr.sock"); /* relative: cwd is $tmp */
	snprintf(a.sun_path, sizeof a.sun_path, "%.100s", e->path);
	unlink(e->path);
	e->fd[0] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (e->fd[0] < 0 || bind(e->fd[0], (struct sockaddr *)&a, sizeof a) < 0 || listen(e->fd[0], backlog) < 0)
		return fail(err, len, "socket/bind/listen");
	return 0;
}

static int connect_to(const char *path, int flags)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof a.sun_path, "%.100s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int su_accept(struct eintr_env *e, char *err, size_t len) { return listener(e, 8, err, len); }
static int su_accept_rcvtimeo(struct eintr_env *e, char *err, size_t len)
{
	if (listener(e, 8, err, len) < 0)
		return -1;
	return timeo(e->fd[0], SO_RCVTIMEO) < 0 ? fail(err, len, "SO_RCVTIMEO") : 0;
}
static long c_accept(struct eintr_env *e) { return accept(e->fd[0], NULL, NULL); }
static int w_connect(struct eintr_env *e, pid_t p)
{
	(void)p;
	e->fd[1] = connect_to(e->path, SOCK_NONBLOCK);
	return e->fd[1] < 0 ? -1 : 0;
}

/* Backlog 0: one connection fits in the queue, the next connect sleeps
 * until the listener accepts (net/unix/af_unix.c unix_wait_for_peer). */
static int su_connect(struct eintr_env *e, char *err, size_t len)
{
	if (listener(e, 0, err, len) < 0)
		return -1;
	e->fd[1] = connect_to(e->path, SOCK_NONBLOCK);
	if (e->fd[1] < 0)
		return fail(err, len, "connect the queue full");
	e->fd[2] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	return e->fd[2] < 0 ? fail(err, len, "socket") : 0;
}
static int su_connect_sndtimeo(struct eintr_env *e, char *err, size_t len)
{
	if (su_connect(e, err, len) < 0)
		return -1;
	return timeo(e->fd[2], SO_SNDTIMEO) < 0 ? fail(err, len, "SO_SNDTIMEO") : 0;
}
static long c_connect(struct eintr_env *e)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof a.sun_path, "%.100s", e->path);
	return connect(e->fd[2], (struct sockaddr *)&a, sizeof a);
}
static int w_accept(struct eintr_env *e, pid_t p)
{
	(void)p;
	e->fd[3] = accept4(e->fd[0], NULL, NULL, SOCK_CLOEXEC);
	return e->fd[3] < 0 ? -1 : 0;
}

/* ---- file locks: the controller holds the lock on fd[0] ---- */

static int su_lockfile(struct eintr_env *e, char *err, size_t len)
{
	snprintf(e->path, sizeof e->path, "eintr.lock");
	e->fd[0] = open(e->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	e->fd[1] = open(e->path, O_RDWR | O_CLOEXEC); /* a second open file description */
	if (e->fd[0] < 0 || e->fd[1] < 0)
		return fail(err, len, "open the lock file");
	return 0;
}
static int su_flock(struct eintr_env *e, char *err, size_t len)
{
	if (su_lockfile(e, err, len) < 0)
		return -1;
	return flock(e->fd[0], LOCK_EX | LOCK_NB) < 0 ? fail(err, len, "flock") : 0;
}
static long c_flock(struct eintr_env *e) { return flock(e->fd[1], LOCK_EX); }
static int w_funlock(struct eintr_env *e, pid_t p)
{
	(void)p;
	return flock(e->fd[0], LOCK_UN);
}

static int lock(int fd, int cmd, short type)
{
	struct flock l = {.l_type = type, .l_whence = SEEK_SET};
	return fcntl(fd, cmd, &l);
}
/* A POSIX lock belongs to the process: the party (another process) conflicts. */
static int su_setlk(struct eintr_env *e, char *err, size_t len)
{
	if (su_lockfile(e, err, len) < 0)
		return -1;
	return lock(e->fd[0], F_SETLK, F_WRLCK) < 0 ? fail(err, len, "F_SETLK") : 0;
}
static long c_setlkw(struct eintr_env *e) { return lock(e->fd[1], F_SETLKW, F_WRLCK); }
static int w_unlk(struct eintr_env *e, pid_t p)
{
	(void)p;
	return lock(e->fd[0], F_SETLK, F_UNLCK);
}
/* An OFD lock belongs to the open file description: fd[1] conflicts. */
static int su_ofd(struct eintr_env *e, char *err, size_t len)
{
	if (su_lockfile(e, err, len) < 0)
		return -1;
	if (lock(e->fd[0], F_OFD_SETLK, F_WRLCK) < 0)
		return errno == EINVAL ? unsupported(err, len, "F_OFD_SETLK") : fail(err, len, "F_OFD_SETLK");
	return 0;
}
static long c_ofd_setlkw(struct eintr_env *e) { return lock(e->fd[1], F_OFD_SETLKW, F_WRLCK); }
static int w_ofd_unlk(struct eintr_env *e, pid_t p)
{
	(void)p;
	return lock(e->fd[0], F_OFD_SETLK, F_UNLCK);
}

/* ---- POSIX message queues: one message fits ---- */

static int su_mq(struct eintr_env *e, char *err, size_t len)
{
	struct mq_attr a = {.mq_maxmsg = 1, .mq_msgsize = 8};
	/* Not namespaced here (no CLONE_NEWIPC): a name concurrent cases cannot
	 * share, unlinked at once. */
	if (unique_name(e->mqname, sizeof e->mqname, "spawnlab-eintr") < 0)
		return fail(err, len, "mq name");
	e->mq = mq_open(e->mqname, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &a);
	if (e->mq == (mqd_t)-1)
		return errno == ENOSYS ? unsupported(err, len, "mq_open") : fail(err, len, "mq_open");
	mq_unlink(e->mqname);
	return one_byte(e);
}
static int su_mq_full(struct eintr_env *e, char *err, size_t len)
{
	int r = su_mq(e, err, len);
	if (r != 0)
		return r;
	return mq_send(e->mq, "f", 1, 0) < 0 ? fail(err, len, "mq_send") : 0;
}
static struct timespec abs_in(clockid_t clk, long ms)
{
	struct timespec t;
	clock_gettime(clk, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L)
		t.tv_sec++, t.tv_nsec -= 1000000000L;
	return t;
}
static long c_mq_receive(struct eintr_env *e) { return mq_receive(e->mq, e->buf, 8, NULL); }
static long c_mq_timedreceive(struct eintr_env *e)
{
	struct timespec t = abs_in(CLOCK_REALTIME, TIMEOUT_S * 1000);
	return mq_timedreceive(e->mq, e->buf, 8, NULL, &t);
}
static long c_mq_send(struct eintr_env *e) { return mq_send(e->mq, "x", 1, 0); }
static long c_mq_timedsend(struct eintr_env *e)
{
	struct timespec t = abs_in(CLOCK_REALTIME, TIMEOUT_S * 1000);
	return mq_timedsend(e->mq, "x", 1, 0, &t);
}
static int w_mq_send(struct eintr_env *e, pid_t p)
{
	(void)p;
	return mq_send(e->mq, "w", 1, 0);
}
static int w_mq_receive(struct eintr_env *e, pid_t p)
{
	(void)p;
	char b[8];
	return mq_receive(e->mq, b, sizeof b, NULL) < 0 ? -1 : 0;
}

/* ---- futex and POSIX semaphores, in the shared page ---- */

static long c_futex(struct eintr_env *e) { return syscall(SYS_futex, &e->sh->futex, FUTEX_WAIT, 0, NULL, NULL, 0); }
static long c_futex_timeout(struct eintr_env *e)
{
	struct timespec t = {TIMEOUT_S, 0};
	return syscall(SYS_futex, &e->sh->futex, FUTEX_WAIT, 0, &t, NULL, 0);
}
static int w_futex(struct eintr_env *e, pid_t p)
{
	(void)p;
	__atomic_store_n(&e->sh->futex, 1, __ATOMIC_SEQ_CST);
	return syscall(SYS_futex, &e->sh->futex, FUTEX_WAKE, 1, NULL, NULL, 0) < 0 ? -1 : 0;
}
static int su_sem(struct eintr_env *e, char *err, size_t len)
{
	return sem_init(&e->sh->sem, 1, 0) < 0 ? fail(err, len, "sem_init") : 0;
}
static long c_sem_wait(struct eintr_env *e) { return sem_wait(&e->sh->sem); }
static long c_sem_timedwait(struct eintr_env *e)
{
	struct timespec t = abs_in(CLOCK_REALTIME, TIMEOUT_S * 1000);
	return sem_timedwait(&e->sh->sem, &t);
}
static int w_sem(struct eintr_env *e, pid_t p)
{
	(void)p;
	return sem_post(&e->sh->sem);
}

/* ---- inotify, eventfd, getrandom ---- */

static int su_inotify(struct eintr_env *e, char *err, size_t len)
{
	e->fd[0] = inotify_init1(IN_CLOEXEC);
	if (e->fd[0] < 0)
		return errno == ENOSYS ? unsupported(err, len, "inotify_init1") : fail(err, len, "inotify_init1");
	if (inotify_add_watch(e->fd[0], ".", IN_CREATE) < 0)
		return fail(err, len, "inotify_add_watch");
	e->len = 4096;
	e->buf = xcalloc(e->len, 1);
	return 0;
}
static int w_create(struct eintr_env *e, pid_t p)
{
	(void)p;
	snprintf(e->path, sizeof e->path, "eintr.created");
	int fd = open(e->path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	return fd < 0 ? -1 : close(fd);
}
static int su_eventfd(struct eintr_env *e, char *err, size_t len)
{
	e->fd[0] = eventfd(0, EFD_CLOEXEC);
	if (e->fd[0] < 0)
		return fail(err, len, "eventfd");
	e->len = 8;
	e->buf = xcalloc(8, 1);
	return 0;
}
static int w_eventfd(struct eintr_env *e, pid_t p)
{
	(void)p;
	uint64_t one = 1;
	return write(e->fd[0], &one, sizeof one) == sizeof one ? 0 : -1;
}
static int su_getrandom(struct eintr_env *e, char *err, size_t len)
{
	(void)e;
	char b;
	if (getrandom(&b, 1, GRND_NONBLOCK) == 1) {
		snprintf(err, len, "getrandom(2) blocks only until the CRNG is initialised, and it is: "
				   "getrandom(GRND_NONBLOCK) succeeded");
		return STEP_UNSUPPORTED;
	}
	snprintf(err, len, "the CRNG is not initialised (getrandom: %s) but nothing here can initialise it on demand",
		 errno_name(errno));
	return STEP_UNSUPPORTED;
}

/* ---- waiting for signals; the wake is SIGUSR2 ---- */

static int w_sig(struct eintr_env *e, pid_t p)
{
	(void)e;
	return kill(p, EINTR_WAKESIG);
}
static long c_pause(struct eintr_env *e) { (void)e; return pause(); }
static long c_sigsuspend(struct eintr_env *e)
{
	(void)e;
	sigset_t none;
	sigemptyset(&none);
	return sigsuspend(&none);
}
static int p_block_wakesig(struct eintr_env *e)
{
	(void)e;
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, EINTR_WAKESIG);
	return sigprocmask(SIG_BLOCK, &s, NULL);
}
static long c_sigtimedwait(struct eintr_env *e)
{
	(void)e;
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, EINTR_WAKESIG);
	struct timespec t = {TIMEOUT_S, 0};
	return sigtimedwait(&s, NULL, &t);
}
static long c_sigwaitinfo(struct eintr_env *e)
{
	(void)e;
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, EINTR_WAKESIG);
	return sigwaitinfo(&s, NULL);
}

/* ---- multiplexers, on a pipe's read end (fd[2]: the epoll instance) ---- */

static int su_epoll(struct eintr_env *e, char *err, size_t len)
{
	if (su_pipe(e, err, len) < 0)
		return -1;
	e->fd[2] = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN};
	if (e->fd[2] < 0 || epoll_ctl(e->fd[2], EPOLL_CTL_ADD, e->fd[0], &ev) < 0)
		return fail(err, len, "epoll");
	return 0;
}
static long c_epoll_wait(struct eintr_env *e)
{
	struct epoll_event ev;
	return epoll_wait(e->fd[2], &ev, 1, -1);
}
static long c_epoll_pwait(struct eintr_env *e)
{
	struct epoll_event ev;
	return epoll_pwait(e->fd[2], &ev, 1, -1, NULL);
}
static long c_poll(struct eintr_env *e)
{
	struct pollfd p = {e->fd[0], POLLIN, 0};
	return poll(&p, 1, -1);
}
static long c_ppoll(struct eintr_env *e)
{
	struct pollfd p = {e->fd[0], POLLIN, 0};
	return ppoll(&p, 1, NULL, NULL);
}
/* select(2) with a timeout: Linux writes the time left back into it. */
static long c_select(struct eintr_env *e)
{
	fd_set r;
	FD_ZERO(&r);
	FD_SET(e->fd[0], &r);
	struct timeval tv = {TIMEOUT_S, 0};
	int n = select(e->fd[0] + 1, &r, NULL, NULL, &tv);
	int saved = errno;
	e->sh->rem_ns = (long)tv.tv_sec * 1000000000L + tv.tv_usec * 1000L;
	errno = saved;
	return n;
}
static long c_pselect(struct eintr_env *e)
{
	fd_set r;
	FD_ZERO(&r);
	FD_SET(e->fd[0], &r);
	return pselect(e->fd[0] + 1, &r, NULL, NULL, NULL, NULL);
}

/* ---- System V IPC (not namespaced here: removed by the cleanup) ---- */

struct sl_msg {
	long type;
	char text[8];
};
static int su_msg(struct eintr_env *e, char *err, size_t len)
{
	e->ipc = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	if (e->ipc < 0)
		return errno == ENOSYS ? unsupported(err, len, "msgget") : fail(err, len, "msgget");
	return 0;
}
static int su_msg_full(struct eintr_env *e, char *err, size_t len)
{
	if (su_msg(e, err, len) < 0)
		return -1;
	struct msqid_ds ds;
	struct sl_msg m = {1, "fffffff"};
	if (msgctl(e->ipc, IPC_STAT, &ds) < 0)
		return fail(err, len, "msgctl IPC_STAT");
	ds.msg_qbytes = sizeof m.text;
	if (msgctl(e->ipc, IPC_SET, &ds) < 0 || msgsnd(e->ipc, &m, sizeof m.text, IPC_NOWAIT) < 0)
		return fail(err, len, "fill the message queue");
	return 0;
}
static long c_msgrcv(struct eintr_env *e)
{
	struct sl_msg m;
	return msgrcv(e->ipc, &m, sizeof m.text, 0, 0);
}
static long c_msgsnd(struct eintr_env *e)
{
	struct sl_msg m = {1, "xxxxxxx"};
	return msgsnd(e->ipc, &m, sizeof m.text, 0);
}
static int w_msgsnd(struct eintr_env *e, pid_t p)
{
	(void)p;
	struct sl_msg m = {1, "w"};
	return msgsnd(e->ipc, &m, 1, IPC_NOWAIT);
}
static int w_msgrcv(struct eintr_env *e, pid_t p)
{
	(void)p;
	struct sl_msg m;
	return msgrcv(e->ipc, &m, sizeof m.text, 0, IPC_NOWAIT) < 0 ? -1 : 0;
}
static int su_sem_v(struct eintr_env *e, char *err, size_t len)
{
	e->semset = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
	if (e->semset < 0)
		return errno == ENOSYS ? unsupported(err, len, "semget") : fail(err, len, "semget");
	return 0;
}
static int semid(const struct eintr_env *e) { return e->semset; }
static long c_semop(struct eintr_env *e)
{
	struct sembuf b = {0, -1, 0};
	return semop(semid(e), &b, 1);
}
static long c_semtimedop(struct eintr_env *e)
{
	struct sembuf b = {0, -1, 0};
	struct timespec t = {TIMEOUT_S, 0};
	return semtimedop(semid(e), &b, 1, &t);
}
static int w_semop(struct eintr_env *e, pid_t p)
{
	(void)p;
	struct sembuf b = {0, 1, 0};
	return semop(semid(e), &b, 1);
}

/* ---- sleeps: they complete on their own after SLEEP_MS ---- */

static int su_sleep(struct eintr_env *e, char *err, size_t len)
{
	(void)err, (void)len;
	e->timeout_ms = SLEEP_MS;
	return 0;
}
static int su_sleep3(struct eintr_env *e, char *err, size_t len)
{
	(void)err, (void)len;
	e->timeout_ms = 2000; /* sleep(3) counts whole seconds; glibc truncates the rest */
	return 0;
}
static void keep_rem(struct eintr_env *e, const struct timespec *rem)
{
	e->sh->rem_ns = rem->tv_sec * 1000000000L + rem->tv_nsec;
}
static long c_nanosleep(struct eintr_env *e)
{
	struct timespec t = {0, SLEEP_MS * 1000000L}, rem = {0, 0};
	long r = nanosleep(&t, &rem);
	int saved = errno;
	keep_rem(e, &rem);
	errno = saved;
	return r;
}
static long c_clock_nanosleep_rel(struct eintr_env *e)
{
	struct timespec t = {0, SLEEP_MS * 1000000L}, rem = {0, 0};
	int r = clock_nanosleep(CLOCK_MONOTONIC, 0, &t, &rem);
	keep_rem(e, &rem);
	return r ? (errno = r, -1) : 0;
}
static long c_clock_nanosleep_abs(struct eintr_env *e)
{
	(void)e;
	struct timespec t = abs_in(CLOCK_MONOTONIC, SLEEP_MS);
	int r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
	return r ? (errno = r, -1) : 0;
}
static long c_usleep(struct eintr_env *e) { (void)e; return usleep(SLEEP_MS * 1000); }
static long c_sleep(struct eintr_env *e) { (void)e; return (long)sleep(2); }

/* ---- io_getevents: the party's own aio context (not inherited by fork),
 * with a poll request on a pipe that the wake makes readable ---- */

static int su_aio(struct eintr_env *e, char *err, size_t len)
{
	aio_context_t ctx = 0;
	if (syscall(SYS_io_setup, 1, &ctx) < 0)
		return unsupported(err, len, "io_setup");
	syscall(SYS_io_destroy, ctx);
	return su_pipe(e, err, len);
}
static int p_aio(struct eintr_env *e)
{
	aio_context_t ctx = 0;
	if (syscall(SYS_io_setup, 1, &ctx) < 0)
		return -1;
	e->aio = ctx;
	struct iocb cb = {.aio_lio_opcode = IOCB_CMD_POLL, .aio_fildes = (uint32_t)e->fd[0], .aio_buf = POLLIN};
	struct iocb *list[1] = {&cb};
	return syscall(SYS_io_submit, ctx, 1, list) == 1 ? 0 : -1;
}
static long c_io_getevents(struct eintr_env *e)
{
	struct io_event ev;
	return syscall(SYS_io_getevents, (aio_context_t)e->aio, 1, 1, &ev, NULL);
}

/* The table.  nr: where /proc says the call sleeps (glibc 2.36/x86-64 maps
 * some calls onto others: recv -> recvfrom, wait -> wait4, sleeps ->
 * clock_nanosleep, semop -> semtimedop; both are allowed). */
#define ROW(n, a, b, fl, su, pr, ca, wa, wk, wv) [EC_##n] = {#n, {a, b}, fl, su, pr, ca, wa, wk, wv}
const struct eintr_call eintr_calls[EC_COUNT] = {
	ROW(pipe_read, SYS_read, 0, 0, su_pipe, NULL, c_read0, w_write1, W_VAL, 1),
	ROW(pipe_readv, SYS_readv, 0, 0, su_pipe, NULL, c_readv0, w_write1, W_VAL, 1),
	ROW(pipe_write, SYS_write, 0, 0, su_pipe_full, NULL, c_write1, w_drain0, W_VAL, 1),
	ROW(pipe_writev, SYS_writev, 0, 0, su_pipe_full, NULL, c_writev1, w_drain0, W_VAL, 1),
	ROW(pipe_write_partial, SYS_write, 0, EF_PARTIAL, su_pipe_partial, NULL, c_write1, w_drain0_len, W_LEN, 0),
	ROW(sock_read, SYS_read, 0, 0, su_sock, NULL, c_read0, w_peer_write, W_VAL, 1),
	ROW(sock_readv, SYS_readv, 0, 0, su_sock, NULL, c_readv0, w_peer_write, W_VAL, 1),
	ROW(sock_write, SYS_write, 0, 0, su_sock_full, NULL, c_write1, w_drain0, W_VAL, 1),
	ROW(sock_writev, SYS_writev, 0, 0, su_sock_full, NULL, c_writev1, w_drain0, W_VAL, 1),
	ROW(sock_write_partial, SYS_write, 0, EF_PARTIAL, su_sock_partial, NULL, c_write1, w_drain0_len, W_LEN, 0),
	ROW(pty_read, SYS_read, 0, 0, su_pty, NULL, c_read_slave, w_master_write, W_VAL, 1),
	ROW(pty_readv, SYS_readv, 0, 0, su_pty, NULL, c_readv_slave, w_master_write, W_VAL, 1),
	ROW(pty_write, SYS_write, 0, 0, su_pty_full, NULL, c_write1, w_drain0, W_VAL, 1),
	ROW(pty_writev, SYS_writev, 0, 0, su_pty_full, NULL, c_writev1, w_drain0, W_VAL, 1),
	ROW(fifo_open, SYS_openat, SYS_open, 0, su_fifo, NULL, c_fifo_open, w_fifo_open, W_NONNEG, 0),
	ROW(wait, SYS_wait4, 0, 0, su_gate, p_grandchild, c_wait, w_gate, W_PID, 0),
	ROW(wait4, SYS_wait4, 0, 0, su_gate, p_grandchild, c_wait4, w_gate, W_PID, 0),
	ROW(waitpid, SYS_wait4, 0, 0, su_gate, p_grandchild, c_waitpid, w_gate, W_PID, 0),
	ROW(waitid, SYS_waitid, 0, 0, su_gate, p_grandchild, c_waitid, w_gate, W_VAL, 0),
	ROW(accept, SYS_accept, SYS_accept4, 0, su_accept, NULL, c_accept, w_connect, W_NONNEG, 0),
	ROW(accept_rcvtimeo, SYS_accept, SYS_accept4, 0, su_accept_rcvtimeo, NULL, c_accept, w_connect, W_NONNEG, 0),
	ROW(connect, SYS_connect, 0, 0, su_connect, NULL, c_connect, w_accept, W_VAL, 0),
	ROW(connect_sndtimeo, SYS_connect, 0, 0, su_connect_sndtimeo, NULL, c_connect, w_accept, W_VAL, 0),
	ROW(recv, SYS_recvfrom, 0, 0, su_sock, NULL, c_recv, w_peer_write, W_VAL, 1),
	ROW(recv_rcvtimeo, SYS_recvfrom, 0, 0, su_sock_rcvtimeo, NULL, c_recv, w_peer_write, W_VAL, 1),
	ROW(recvfrom, SYS_recvfrom, 0, 0, su_sock, NULL, c_recvfrom, w_peer_write, W_VAL, 1),
	ROW(recvfrom_rcvtimeo, SYS_recvfrom, 0, 0, su_sock_rcvtimeo, NULL, c_recvfrom, w_peer_write, W_VAL, 1),
	ROW(recvmsg, SYS_recvmsg, 0, 0, su_sock, NULL, c_recvmsg, w_peer_write, W_VAL, 1),
	ROW(recvmsg_rcvtimeo, SYS_recvmsg, 0, 0, su_sock_rcvtimeo, NULL, c_recvmsg, w_peer_write, W_VAL, 1),
	ROW(recvmmsg, SYS_recvmmsg, 0, 0, su_sock, NULL, c_recvmmsg, w_peer_write, W_VAL, 1),
	ROW(recvmmsg_rcvtimeo, SYS_recvmmsg, 0, 0, su_sock_rcvtimeo, NULL, c_recvmmsg, w_peer_write, W_VAL, 1),
	ROW(send, SYS_sendto, 0, 0, su_sock_full, NULL, c_send, w_drain0, W_VAL, 1),
	ROW(send_sndtimeo, SYS_sendto, 0, 0, su_sock_full_sndtimeo, NULL, c_send, w_drain0, W_VAL, 1),
	ROW(sendto, SYS_sendto, 0, 0, su_sock_full, NULL, c_sendto, w_drain0, W_VAL, 1),
	ROW(sendto_sndtimeo, SYS_sendto, 0, 0, su_sock_full_sndtimeo, NULL, c_sendto, w_drain0, W_VAL, 1),
	ROW(sendmsg, SYS_sendmsg, 0, 0, su_sock_full, NULL, c_sendmsg, w_drain0, W_VAL, 1),
	ROW(sendmsg_sndtimeo, SYS_sendmsg, 0, 0, su_sock_full_sndtimeo, NULL, c_sendmsg, w_drain0, W_VAL, 1),
	ROW(flock, SYS_flock, 0, 0, su_flock, NULL, c_flock, w_funlock, W_VAL, 0),
	ROW(fcntl_setlkw, SYS_fcntl, 0, 0, su_setlk, NULL, c_setlkw, w_unlk, W_VAL, 0),
	ROW(fcntl_ofd_setlkw, SYS_fcntl, 0, 0, su_ofd, NULL, c_ofd_setlkw, w_ofd_unlk, W_VAL, 0),
	ROW(mq_receive, SYS_mq_timedreceive, 0, 0, su_mq, NULL, c_mq_receive, w_mq_send, W_VAL, 1),
	ROW(mq_timedreceive, SYS_mq_timedreceive, 0, 0, su_mq, NULL, c_mq_timedreceive, w_mq_send, W_VAL, 1),
	ROW(mq_send, SYS_mq_timedsend, 0, 0, su_mq_full, NULL, c_mq_send, w_mq_receive, W_VAL, 0),
	ROW(mq_timedsend, SYS_mq_timedsend, 0, 0, su_mq_full, NULL, c_mq_timedsend, w_mq_receive, W_VAL, 0),
	ROW(futex_wait, SYS_futex, 0, 0, NULL, NULL, c_futex, w_futex, W_VAL, 0),
	ROW(futex_wait_timeout, SYS_futex, 0, 0, NULL, NULL, c_futex_timeout, w_futex, W_VAL, 0),
	ROW(sem_wait, SYS_futex, 0, 0, su_sem, NULL, c_sem_wait, w_sem, W_VAL, 0),
	ROW(sem_timedwait, SYS_futex, 0, 0, su_sem, NULL, c_sem_timedwait, w_sem, W_VAL, 0),
	ROW(inotify_read, SYS_read, 0, 0, su_inotify, NULL, c_read0, w_create, W_NONNEG, 0),
	ROW(getrandom, SYS_getrandom, 0, 0, su_getrandom, NULL, NULL, NULL, W_VAL, 1),
	ROW(pause, SYS_pause, 0, 0, NULL, NULL, c_pause, w_sig, W_EINTR, 0),
	ROW(sigsuspend, SYS_rt_sigsuspend, 0, 0, NULL, NULL, c_sigsuspend, w_sig, W_EINTR, 0),
	ROW(sigtimedwait, SYS_rt_sigtimedwait, 0, 0, NULL, p_block_wakesig, c_sigtimedwait, w_sig, W_VAL, EINTR_WAKESIG),
	ROW(sigwaitinfo, SYS_rt_sigtimedwait, 0, 0, NULL, p_block_wakesig, c_sigwaitinfo, w_sig, W_VAL, EINTR_WAKESIG),
	ROW(epoll_wait, SYS_epoll_wait, SYS_epoll_pwait, 0, su_epoll, NULL, c_epoll_wait, w_write1, W_VAL, 1),
	ROW(epoll_pwait, SYS_epoll_pwait, 0, 0, su_epoll, NULL, c_epoll_pwait, w_write1, W_VAL, 1),
	ROW(poll, SYS_poll, SYS_ppoll, 0, su_pipe, NULL, c_poll, w_write1, W_VAL, 1),
	ROW(ppoll, SYS_ppoll, 0, 0, su_pipe, NULL, c_ppoll, w_write1, W_VAL, 1),
	ROW(select, SYS_select, SYS_pselect6, EF_REM, su_pipe, NULL, c_select, w_write1, W_VAL, 1),
	ROW(pselect, SYS_pselect6, 0, 0, su_pipe, NULL, c_pselect, w_write1, W_VAL, 1),
	ROW(msgrcv, SYS_msgrcv, 0, 0, su_msg, NULL, c_msgrcv, w_msgsnd, W_VAL, 1),
	ROW(msgsnd, SYS_msgsnd, 0, 0, su_msg_full, NULL, c_msgsnd, w_msgrcv, W_VAL, 0),
	ROW(semop, SYS_semop, SYS_semtimedop, 0, su_sem_v, NULL, c_semop, w_semop, W_VAL, 0),
	ROW(semtimedop, SYS_semtimedop, 0, 0, su_sem_v, NULL, c_semtimedop, w_semop, W_VAL, 0),
	ROW(nanosleep, SYS_nanosleep, SYS_clock_nanosleep, EF_REM, su_sleep, NULL, c_nanosleep, NULL, W_VAL, 0),
	ROW(clock_nanosleep_rel, SYS_clock_nanosleep, 0, EF_REM, su_sleep, NULL, c_clock_nanosleep_rel, NULL, W_VAL, 0),
	ROW(clock_nanosleep_abs, SYS_clock_nanosleep, 0, 0, su_sleep, NULL, c_clock_nanosleep_abs, NULL, W_VAL, 0),
	ROW(usleep, SYS_nanosleep, SYS_clock_nanosleep, 0, su_sleep, NULL, c_usleep, NULL, W_VAL, 0),
	ROW(sleep, SYS_nanosleep, SYS_clock_nanosleep, EF_SLEEP3, su_sleep3, NULL, c_sleep, NULL, W_VAL, 0),
	ROW(io_getevents, SYS_io_getevents, 0, 0, su_aio, p_aio, c_io_getevents, w_write1, W_VAL, 1),
	ROW(eventfd_read, SYS_read, 0, 0, su_eventfd, NULL, c_read0, w_eventfd, W_VAL, 8),
	ROW(pidfd_poll, SYS_poll, SYS_ppoll, 0, su_gate, p_pidfd, c_pidfd_poll, w_gate, W_VAL, 1),
};

/* The experiment's call= choices, in table order, then "all". */
const char eintr_call_names[] = EINTR_CALL_CHOICES;
