/* feature.c: run-time probes of what the kernel and libc offer (feature.h); each is decided by
 * trying it.  Probes leave the host as they found it: every child they
 * create exits at once or is killed after a bounded wait and is reaped,
 * every fd they open is closed, and no host sysctl is written. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* After the libc headers: sys.h fills in what they lack (P_PIDFD etc.). */
#include "lib/feature.h"
#include "sys/libc_ext.h"
#include "lib/names.h"
#include "lib/reap.h"
#include "lib/util.h"
#include "sys/sys.h"

/* CLONE_AUTOREAP, bit 34 of include/uapi/linux/sched.h: Linux 7.1, commit
 * 12ae2c81b21c "clone: add CLONE_AUTOREAP".  A kernel without it rejects the
 * bit with EINVAL (clone3_args_valid), so probing it is harmless. */
#ifndef CLONE_AUTOREAP
#define CLONE_AUTOREAP 0x400000000ULL
#endif
#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif

#define WAIT_MS 2000 /* bound on every wait for a probe's child */

/* ---- helpers ---- */

__attribute__((format(printf, 4, 5))) static enum feat_state say(char *d, size_t len, enum feat_state s,
								   const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d, len, fmt, ap);
	va_end(ap);
	return s;
}

/* Reap PID within MS milliseconds, else SIGKILL it and reap it (reap.h). */
static int reap(pid_t pid, int *status, long ms)
{
	return sl_reap_by(pid, status, mono_ms() + (uint64_t)(ms > 0 ? ms : 0));
}

/* A pidfd for this process: pidfd_open, else a /proc/self directory fd,
 * which pidfd_send_signal has accepted since it appeared (5.1). */
static int self_pidfd(void)
{
	int fd = sl_pidfd_open(getpid(), 0);
	if (fd < 0)
		fd = open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd;
}

/* clone3 whose child _exits(0) at once; the parent gets the result. */
static long clone3_exit0(struct sl_clone_args *a, size_t size)
{
	long r = sl_clone3(a, size);
	if (r == 0)
		_exit(0);
	return r;
}

/* Child side of in_child(): what the child saw, sent as one packet. */
struct rep {
	int stage; /* how far it got; probe-specific */
	int err;   /* errno at that stage, 0 if none */
	long v[3];
};

static int rep_send(int fd, int stage, int err, long v0, long v1)
{
	struct rep r = {stage, err, {v0, v1, 0}};
	return send(fd, &r, sizeof r, MSG_NOSIGNAL) == (ssize_t)sizeof r ? 0 : -1;
}

/* Wait up to MS for one report on FD: 1 got it, 0 timed out, -1 EOF/error. */
static int rep_recv(int fd, struct rep *r, long ms)
{
	struct pollfd p = {fd, POLLIN, 0};
	int n;
	do
		n = poll(&p, 1, (int)ms);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return 0;
	if (n < 0)
		return -1;
	ssize_t got;
	do
		got = recv(fd, r, sizeof *r, 0);
	while (got < 0 && errno == EINTR);
	return got == (ssize_t)sizeof *r ? 1 : -1;
}

/* Run FN in a forked child that may change its own namespaces freely; it
 * sends one report on the socket it is given.  Returns 1 with *R filled,
 * or 0 with WHY saying what went wrong (the child is reaped either way). */
static int in_child(int (*fn)(int sock), struct rep *r, char *why, size_t len)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(why, len, "socketpair -> %s", errno_name(errno));
		return 0;
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(why, len, "fork -> %s", errno_name(errno));
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	if (pid == 0) {
		close(sv[0]);
		_exit(fn(sv[1]) ? 1 : 0);
	}
	close(sv[1]);
	int got = rep_recv(sv[0], r, WAIT_MS);
	close(sv[0]);
	int st = 0, w = reap(pid, &st, got == 1 ? WAIT_MS : 0); /* no answer: kill now */
	if (got == 1)
		return 1;
	if (w == -2 || got == 0)
		snprintf(why, len, "child gave no answer within %d ms, killed", WAIT_MS);
	else
		snprintf(why, len, "child ended without an answer (wait status 0x%x)", (unsigned)st);
	return 0;
}

/* errno of a call that a kernel without the feature rejects. */
static enum feat_state absent_if(int e)
{
	return e == ENOSYS || e == EINVAL || e == E2BIG || e == ENOTTY ? FEAT_NO : FEAT_UNKNOWN;
}

/* ---- clone3 ---- */

static enum feat_state p_clone3(char *d, size_t len)
{
	long r = sl_clone3(NULL, 0);
	int e = errno;
	if (r == 0)
		_exit(0); /* cannot happen: size 0 is below VER0 */
	if (r > 0) {
		reap((pid_t)r, NULL, WAIT_MS);
		return say(d, len, FEAT_YES, "clone3(NULL, 0) created pid %ld", r);
	}
	if (e == EINVAL || e == EFAULT || e == E2BIG)
		return say(d, len, FEAT_YES, "clone3(NULL, 0) -> %s", errno_name(e));
	return say(d, len, e == ENOSYS ? FEAT_NO : FEAT_UNKNOWN, "clone3(NULL, 0) -> %s", errno_name(e));
}

/* clone3 with FLAGS (plus CLONE_PIDFD when WANT_PIDFD) and SIGCHLD; the
 * child exits at once and is reaped.  Shared by the flag probes. */
static enum feat_state clone3_flag(char *d, size_t len, const char *what, uint64_t flags, int want_pidfd)
{
	int pidfd = -1;
	struct sl_clone_args a;
	memset(&a, 0, sizeof a);
	a.flags = flags | (want_pidfd ? CLONE_PIDFD : 0);
	a.pidfd = (uint64_t)(uintptr_t)&pidfd;
	a.exit_signal = SIGCHLD;
	long r = clone3_exit0(&a, sizeof a);
	int e = errno;
	if (r < 0)
		return say(d, len, absent_if(e), "clone3(%s) -> %s", what, errno_name(e));
	int st = 0, w = reap((pid_t)r, &st, WAIT_MS);
	if (pidfd >= 0)
		close(pidfd);
	if (w != 0)
		return say(d, len, FEAT_UNKNOWN, "clone3(%s) -> pid %ld, but reaping it failed (%d)", what, r, w);
	if (want_pidfd && pidfd < 0)
		return say(d, len, FEAT_NO, "clone3(%s) -> pid %ld but no pidfd", what, r);
	return say(d, len, FEAT_YES, "clone3(%s) -> pid %ld%s, exit status %d", what, r,
		   want_pidfd ? " + pidfd" : "", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

static enum feat_state p_clone_pidfd(char *d, size_t len)
{
	return clone3_flag(d, len, "CLONE_PIDFD", 0, 1);
}

static enum feat_state p_clone_clear_sighand(char *d, size_t len)
{
	return clone3_flag(d, len, "CLONE_CLEAR_SIGHAND", CLONE_CLEAR_SIGHAND, 0);
}

/* The kernel checks the cgroup fd only after accepting the flag: an fd
 * that is surely not open gives EBADF where the flag is known.  (-1 would
 * not do: clone3 rejects cgroup > INT_MAX with EINVAL first.) */
static enum feat_state p_clone_into_cgroup(char *d, size_t len)
{
	struct sl_clone_args a;
	memset(&a, 0, sizeof a);
	a.flags = CLONE_INTO_CGROUP;
	a.exit_signal = SIGCHLD;
	a.cgroup = INT32_MAX;
	long r = clone3_exit0(&a, sizeof a);
	int e = errno;
	if (r > 0) {
		reap((pid_t)r, NULL, WAIT_MS);
		return say(d, len, FEAT_YES, "clone3(CLONE_INTO_CGROUP, cgroup=INT_MAX) created a child?!");
	}
	enum feat_state s = e == EBADF ? FEAT_YES : absent_if(e);
	return say(d, len, s, "clone3(CLONE_INTO_CGROUP, cgroup fd INT_MAX, not open) -> %s", errno_name(e));
}

/* set_tid naming our own pid, which is in use: a kernel that knows set_tid
 * answers EEXIST (or EPERM without CAP_CHECKPOINT_RESTORE); no child. */
static enum feat_state p_clone3_set_tid(char *d, size_t len)
{
	pid_t tid = getpid();
	struct sl_clone_args a;
	memset(&a, 0, sizeof a);
	a.exit_signal = SIGCHLD;
	a.set_tid = (uint64_t)(uintptr_t)&tid;
	a.set_tid_size = 1;
	long r = clone3_exit0(&a, SL_CLONE_ARGS_SIZE_VER1);
	int e = errno;
	if (r > 0) {
		reap((pid_t)r, NULL, WAIT_MS);
		return say(d, len, FEAT_UNKNOWN, "clone3(set_tid=[own pid %d]) created pid %ld?!", (int)tid, r);
	}
	if (e == EEXIST)
		return say(d, len, FEAT_YES, "clone3(size 80, set_tid=[own pid]) -> EEXIST (pid in use)");
	if (e == EPERM)
		return say(d, len, FEAT_YES,
			   "clone3(size 80, set_tid=[own pid]) -> EPERM (known; needs CAP_CHECKPOINT_RESTORE)");
	return say(d, len, absent_if(e), "clone3(size 80, set_tid=[own pid]) -> %s", errno_name(e));
}

/* An autoreaped child never becomes waitable: after its pidfd turns
 * readable, waitpid must say ECHILD. */
static enum feat_state p_clone_autoreap(char *d, size_t len)
{
	int pidfd = -1;
	struct sl_clone_args a;
	memset(&a, 0, sizeof a);
	a.flags = CLONE_PIDFD | CLONE_AUTOREAP;
	a.pidfd = (uint64_t)(uintptr_t)&pidfd;
	a.exit_signal = 0; /* required with CLONE_AUTOREAP */
	long r = clone3_exit0(&a, sizeof a);
	int e = errno;
	if (r < 0)
		return say(d, len, absent_if(e), "clone3(CLONE_PIDFD|CLONE_AUTOREAP=0x%llx) -> %s",
			   (unsigned long long)CLONE_AUTOREAP, errno_name(e));
	struct pollfd p = {pidfd, POLLIN, 0};
	int n = pidfd >= 0 ? poll(&p, 1, WAIT_MS) : 0;
	int st;
	pid_t w = waitpid((pid_t)r, &st, WNOHANG | __WALL);
	e = errno;
	enum feat_state s;
	if (w < 0 && e == ECHILD) {
		s = say(d, len, FEAT_YES, "clone3(CLONE_AUTOREAP) -> pid %ld; after exit waitpid -> ECHILD", r);
	} else if (w == (pid_t)r) {
		s = say(d, len, FEAT_NO, "clone3(CLONE_AUTOREAP) -> pid %ld, but it stayed waitable", r);
	} else {
		reap((pid_t)r, NULL, 0); /* not reaped and maybe running: kill and reap */
		s = say(d, len, FEAT_UNKNOWN, "clone3(CLONE_AUTOREAP) -> pid %ld; poll %d, waitpid -> %s", r, n,
			w < 0 ? errno_name(e) : "still running");
	}
	if (pidfd >= 0)
		close(pidfd);
	return s;
}

/* ---- pidfd ---- */

static enum feat_state p_pidfd_open(char *d, size_t len)
{
	int fd = sl_pidfd_open(getpid(), 0);
	if (fd < 0)
		return say(d, len, absent_if(errno), "pidfd_open(self, 0) -> %s", errno_name(errno));
	close(fd);
	return say(d, len, FEAT_YES, "pidfd_open(self, 0) -> fd");
}

static enum feat_state p_pidfd_send_signal(char *d, size_t len)
{
	int fd = self_pidfd();
	if (fd < 0)
		return say(d, len, FEAT_UNKNOWN, "no pidfd of self: %s", errno_name(errno));
	int r = sl_pidfd_send_signal(fd, 0, NULL, 0), e = errno;
	close(fd);
	if (r == 0)
		return say(d, len, FEAT_YES, "pidfd_send_signal(self, 0) -> 0");
	return say(d, len, absent_if(e), "pidfd_send_signal(self, 0) -> %s", errno_name(e));
}

static enum feat_state p_waitid_pidfd(char *d, size_t len)
{
	pid_t pid = fork();
	if (pid < 0)
		return say(d, len, FEAT_UNKNOWN, "fork -> %s", errno_name(errno));
	if (pid == 0)
		_exit(7);
	int fd = sl_pidfd_open(pid, 0);
	if (fd < 0) {
		int e = errno;
		reap(pid, NULL, WAIT_MS);
		return say(d, len, FEAT_UNKNOWN, "needs pidfd_open: %s", errno_name(e));
	}
	struct pollfd p = {fd, POLLIN, 0};
	poll(&p, 1, WAIT_MS);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	int r = waitid(P_PIDFD, (id_t)fd, &si, WEXITED | WNOHANG), e = errno;
	close(fd);
	if (r == 0 && si.si_pid == pid) {
		if (si.si_code == CLD_EXITED && si.si_status == 7)
			return say(d, len, FEAT_YES, "waitid(P_PIDFD) -> pid, exited 7");
		return say(d, len, FEAT_NO, "waitid(P_PIDFD) -> code %d status %d, not exit 7", si.si_code,
			   si.si_status);
	}
	reap(pid, NULL, WAIT_MS);
	if (r < 0)
		return say(d, len, absent_if(e), "waitid(P_PIDFD, WEXITED) -> %s", errno_name(e));
	return say(d, len, FEAT_UNKNOWN, "waitid(P_PIDFD) found no exited child within %d ms", WAIT_MS);
}

static enum feat_state p_pidfd_getfd(char *d, size_t len)
{
	int fd = self_pidfd();
	if (fd < 0)
		return say(d, len, FEAT_UNKNOWN, "no pidfd of self: %s", errno_name(errno));
	int g = sl_pidfd_getfd(fd, fd, 0), e = errno;
	close(fd);
	if (g >= 0) {
		close(g);
		return say(d, len, FEAT_YES, "pidfd_getfd(self, its own pidfd) -> new fd");
	}
	return say(d, len, absent_if(e), "pidfd_getfd(self, fd) -> %s", errno_name(e));
}

static enum feat_state p_pidfd_nonblock(char *d, size_t len)
{
	int fd = sl_pidfd_open(getpid(), PIDFD_NONBLOCK);
	if (fd < 0)
		return say(d, len, absent_if(errno), "pidfd_open(self, PIDFD_NONBLOCK) -> %s", errno_name(errno));
	int fl = fcntl(fd, F_GETFL);
	close(fd);
	if (fl >= 0 && (fl & O_NONBLOCK))
		return say(d, len, FEAT_YES, "pidfd_open(self, PIDFD_NONBLOCK) -> fd with O_NONBLOCK");
	return say(d, len, FEAT_NO, "pidfd_open(self, PIDFD_NONBLOCK) -> fd without O_NONBLOCK");
}

static enum feat_state p_pidfd_thread(char *d, size_t len)
{
	pid_t tid = (pid_t)syscall(SYS_gettid);
	int fd = sl_pidfd_open(tid, PIDFD_THREAD);
	if (fd < 0)
		return say(d, len, absent_if(errno), "pidfd_open(gettid(), PIDFD_THREAD) -> %s", errno_name(errno));
	close(fd);
	return say(d, len, FEAT_YES, "pidfd_open(gettid(), PIDFD_THREAD) -> fd");
}

/* A child held on a pipe until we close its write end; -1 on error. */
static pid_t held_child(int *release, int code)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		close(p[1]);
		while (read(p[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(code);
	}
	close(p[0]);
	if (pid < 0)
		close(p[1]);
	else
		*release = p[1];
	return pid;
}

static enum feat_state p_pidfd_get_info(char *d, size_t len)
{
	int rel;
	pid_t pid = held_child(&rel, 0);
	if (pid < 0)
		return say(d, len, FEAT_UNKNOWN, "fork -> %s", errno_name(errno));
	int fd = sl_pidfd_open(pid, 0), e = errno;
	struct sl_pidfd_info info;
	memset(&info, 0, sizeof info);
	info.mask = SL_PIDFD_INFO_PID;
	int r = fd >= 0 ? ioctl(fd, SL_PIDFD_GET_INFO, &info) : -1;
	if (fd >= 0)
		e = errno;
	close(rel);
	reap(pid, NULL, WAIT_MS);
	if (fd < 0)
		return say(d, len, FEAT_UNKNOWN, "needs pidfd_open: %s", errno_name(e));
	close(fd);
	if (r < 0)
		return say(d, len, absent_if(e), "ioctl(PIDFD_GET_INFO) on a live child -> %s", errno_name(e));
	if ((info.mask & SL_PIDFD_INFO_PID) && info.pid == (uint32_t)pid)
		return say(d, len, FEAT_YES, "ioctl(PIDFD_GET_INFO) -> mask 0x%llx, pid matches",
			   (unsigned long long)info.mask);
	return say(d, len, FEAT_NO, "ioctl(PIDFD_GET_INFO) -> mask 0x%llx pid %u, child is %d",
		   (unsigned long long)info.mask, info.pid, (int)pid);
}

static enum feat_state p_pidfd_info_exit(char *d, size_t len)
{
	int rel;
	pid_t pid = held_child(&rel, 42);
	if (pid < 0)
		return say(d, len, FEAT_UNKNOWN, "fork -> %s", errno_name(errno));
	int fd = sl_pidfd_open(pid, 0), e = errno;
	close(rel);
	int st = 0;
	if (reap(pid, &st, WAIT_MS) != 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 42) {
		if (fd >= 0)
			close(fd);
		return say(d, len, FEAT_UNKNOWN, "child did not exit 42 in time (status 0x%x)", (unsigned)st);
	}
	if (fd < 0)
		return say(d, len, FEAT_UNKNOWN, "needs pidfd_open: %s", errno_name(e));
	struct sl_pidfd_info info;
	memset(&info, 0, sizeof info);
	info.mask = SL_PIDFD_INFO_EXIT;
	int r = ioctl(fd, SL_PIDFD_GET_INFO, &info);
	e = errno;
	close(fd);
	if (r < 0)
		return say(d, len, absent_if(e) == FEAT_NO || e == ESRCH ? FEAT_NO : FEAT_UNKNOWN,
			   "ioctl(PIDFD_GET_INFO, EXIT) after reaping -> %s", errno_name(e));
	if ((info.mask & SL_PIDFD_INFO_EXIT) && WIFEXITED(info.exit_code) && WEXITSTATUS(info.exit_code) == 42)
		return say(d, len, FEAT_YES, "ioctl(PIDFD_GET_INFO, EXIT) after reaping -> exit_code 0x%x (exit 42)",
			   (unsigned)info.exit_code);
	return say(d, len, FEAT_NO, "ioctl(PIDFD_GET_INFO, EXIT) after reaping -> mask 0x%llx exit_code 0x%x",
		   (unsigned long long)info.mask, (unsigned)info.exit_code);
}

/* ---- close_range ---- */

static int fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0 || errno != EBADF;
}

/* close_range on exactly one fd we own, so nothing else can be hit. */
static enum feat_state p_close_range(char *d, size_t len)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return say(d, len, FEAT_UNKNOWN, "open /dev/null -> %s", errno_name(errno));
	int r = sl_close_range((unsigned)fd, (unsigned)fd, 0), e = errno;
	if (r < 0) {
		close(fd);
		return say(d, len, absent_if(e), "close_range(fd, fd, 0) -> %s", errno_name(e));
	}
	if (fd_is_open(fd)) {
		close(fd);
		return say(d, len, FEAT_NO, "close_range(fd, fd, 0) -> 0 but the fd is still open");
	}
	return say(d, len, FEAT_YES, "close_range(fd, fd, 0) -> 0, fd closed");
}

/* In a child: an fd without FD_CLOEXEC must not exist in this process even
 * for a moment (another thread may be spawning), and CLOSE_RANGE_UNSHARE
 * would give a threaded caller a private fd table. */
enum { CR_OPEN = 1, CR_CALL, CR_DONE };

static int child_cloexec(int sock)
{
	int fd = open("/dev/null", O_RDONLY);
	if (fd < 0)
		return rep_send(sock, CR_OPEN, errno, 0, 0);
	if (sl_close_range((unsigned)fd, (unsigned)fd, CLOSE_RANGE_CLOEXEC) < 0)
		return rep_send(sock, CR_CALL, errno, 0, 0);
	return rep_send(sock, CR_DONE, 0, fcntl(fd, F_GETFD), 0);
}

static int child_unshare(int sock)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return rep_send(sock, CR_OPEN, errno, 0, 0);
	if (sl_close_range((unsigned)fd, (unsigned)fd, CLOSE_RANGE_UNSHARE) < 0)
		return rep_send(sock, CR_CALL, errno, 0, 0);
	return rep_send(sock, CR_DONE, 0, fd_is_open(fd), 0);
}

static enum feat_state p_close_range_cloexec(char *d, size_t len)
{
	struct rep r;
	char why[96];
	if (!in_child(child_cloexec, &r, why, sizeof why))
		return say(d, len, FEAT_UNKNOWN, "%s", why);
	if (r.stage == CR_OPEN)
		return say(d, len, FEAT_UNKNOWN, "open /dev/null -> %s", errno_name(r.err));
	if (r.stage == CR_CALL)
		return say(d, len, absent_if(r.err), "close_range(fd, fd, CLOEXEC) -> %s", errno_name(r.err));
	if (r.v[0] >= 0 && (r.v[0] & FD_CLOEXEC))
		return say(d, len, FEAT_YES, "close_range(fd, fd, CLOEXEC) -> 0, FD_CLOEXEC set (in a child)");
	return say(d, len, FEAT_NO, "close_range(fd, fd, CLOEXEC) -> 0 but FD_CLOEXEC not set");
}

static enum feat_state p_close_range_unshare(char *d, size_t len)
{
	struct rep r;
	char why[96];
	if (!in_child(child_unshare, &r, why, sizeof why))
		return say(d, len, FEAT_UNKNOWN, "%s", why);
	if (r.stage == CR_OPEN)
		return say(d, len, FEAT_UNKNOWN, "open /dev/null -> %s", errno_name(r.err));
	if (r.stage == CR_CALL)
		return say(d, len, absent_if(r.err), "close_range(fd, fd, UNSHARE) -> %s", errno_name(r.err));
	if (!r.v[0])
		return say(d, len, FEAT_YES, "close_range(fd, fd, UNSHARE) -> 0, fd closed (in a child)");
	return say(d, len, FEAT_NO, "close_range(fd, fd, UNSHARE) -> 0 but the fd is still open");
}

/* ---- namespaces ---- */

enum { NS_UNSHARE = 1, NS_MOUNT, NS_FORK, NS_PID1, NS_DONE };

/* Exit status of a namespace grandchild: 0 ok, else errno + 1 (< 255). */
static int errno_code(int e)
{
	return e > 0 && e < 254 ? e + 1 : 254;
}

static int child_pidns(int sock)
{
	if (unshare(CLONE_NEWPID) < 0)
		return rep_send(sock, NS_UNSHARE, errno, 0, 0);
	pid_t g = fork();
	if (g < 0)
		return rep_send(sock, NS_FORK, errno, 0, 0);
	if (g == 0)
		_exit(getpid() == 1 ? 0 : 1);
	int st = 0;
	while (waitpid(g, &st, 0) < 0 && errno == EINTR)
		;
	return rep_send(sock, NS_DONE, 0, st, 0);
}

static enum feat_state p_pid_namespace(char *d, size_t len)
{
	struct rep r;
	char why[96];
	if (!in_child(child_pidns, &r, why, sizeof why))
		return say(d, len, FEAT_UNKNOWN, "%s", why);
	if (r.stage == NS_UNSHARE)
		return say(d, len, r.err == EPERM || r.err == EINVAL || r.err == ENOSPC ? FEAT_NO : FEAT_UNKNOWN,
			   "unshare(CLONE_NEWPID) -> %s", errno_name(r.err));
	if (r.stage == NS_FORK)
		return say(d, len, FEAT_UNKNOWN, "unshare(CLONE_NEWPID) ok, fork -> %s", errno_name(r.err));
	int st = (int)r.v[0];
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return say(d, len, FEAT_YES, "unshare(CLONE_NEWPID) + fork: child is pid 1");
	return say(d, len, FEAT_NO, "unshare(CLONE_NEWPID) + fork: child is not pid 1 (status 0x%x)", (unsigned)st);
}

static int child_procmount(int sock)
{
	if (unshare(CLONE_NEWNS | CLONE_NEWPID) < 0)
		return rep_send(sock, NS_UNSHARE, errno, 0, 0);
	/* Only now, in our own mount namespace, stop propagation to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return rep_send(sock, NS_MOUNT, errno, 0, 0);
	pid_t g = fork();
	if (g < 0)
		return rep_send(sock, NS_FORK, errno, 0, 0);
	if (g == 0) {
		char buf[16];
		if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
			_exit(errno_code(errno));
		ssize_t n = readlink("/proc/self", buf, sizeof buf);
		_exit(n == 1 && buf[0] == '1' ? 0 : 255);
	}
	int st = 0;
	while (waitpid(g, &st, 0) < 0 && errno == EINTR)
		;
	return rep_send(sock, NS_DONE, 0, st, 0);
}

static enum feat_state p_proc_mount_in_ns(char *d, size_t len)
{
	struct rep r;
	char why[96];
	if (!in_child(child_procmount, &r, why, sizeof why))
		return say(d, len, FEAT_UNKNOWN, "%s", why);
	if (r.stage == NS_UNSHARE)
		return say(d, len, r.err == EPERM || r.err == EINVAL || r.err == ENOSPC ? FEAT_NO : FEAT_UNKNOWN,
			   "unshare(CLONE_NEWNS|CLONE_NEWPID) -> %s", errno_name(r.err));
	if (r.stage == NS_MOUNT)
		return say(d, len, FEAT_NO, "mount(/, MS_REC|MS_PRIVATE) in new mount ns -> %s", errno_name(r.err));
	if (r.stage == NS_FORK)
		return say(d, len, FEAT_UNKNOWN, "fork into the new pid ns -> %s", errno_name(r.err));
	int st = (int)r.v[0];
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return say(d, len, FEAT_YES, "mount proc on /proc as pid 1 of a new pid+mount ns: /proc/self -> 1");
	if (WIFEXITED(st) && WEXITSTATUS(st) > 0 && WEXITSTATUS(st) < 254)
		return say(d, len, FEAT_NO, "mount(proc, /proc) as pid 1 of a new pid+mount ns -> %s",
			   errno_name(WEXITSTATUS(st) - 1));
	return say(d, len, FEAT_NO, "proc mounted but /proc/self is not 1 (status 0x%x)", (unsigned)st);
}

/* ---- namespaced pid_max ----
 * Since 6.14 kernel.pid_max belongs to the pid namespace of the task that
 * opens it (kernel/pid.c: pid_table_root_lookup uses task_active_pid_ns
 * (current)), and writing needs CAP_SYS_ADMIN over that pid namespace's
 * owning user namespace.  The writer here is pid 1 of a pid namespace owned
 * by a fresh user namespace, and its uid is NOT the host's root: on an older
 * kernel the file is the host's global sysctl, whose write permission is
 * only "euid is global root" (fs/proc/proc_sysctl.c test_perm, no capability
 * check), so a writer whose kuid is still 0 would change the host value.
 * With kuid 65534 (or the caller's own uid) such a kernel answers EACCES. */

enum { PM_UNSHARE = 1, PM_READY, PM_SETID, PM_FORK, PM_PID1, PM_OPEN, PM_WRITE, PM_READ, PM_DONE };

struct pm_arg {
	char val[24]; /* the value to write, as text */
	size_t vlen;
};
static struct pm_arg pm; /* set before the fork; the children only read it */

static const char pid_max_path[] = "/proc/sys/kernel/pid_max";

/* Async-signal-safe read of a decimal file: the value or -1 (errno). */
static long read_num(const char *path)
{
	char buf[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	int e = errno;
	close(fd);
	if (n <= 0) {
		errno = n < 0 ? e : EIO;
		return -1;
	}
	long v = 0;
	for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++)
		v = v * 10 + (buf[i] - '0');
	return v;
}

static int grandchild_pid_max(int sock)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL); /* dies with its parent if killed on timeout */
	if (getpid() != 1)
		return rep_send(sock, PM_PID1, 0, getpid(), 0);
	long before = read_num(pid_max_path);
	int fd = open(pid_max_path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return rep_send(sock, PM_OPEN, errno, before, 0);
	ssize_t w = write(fd, pm.val, pm.vlen);
	int e = errno;
	close(fd);
	if (w != (ssize_t)pm.vlen)
		return rep_send(sock, PM_WRITE, w < 0 ? e : EIO, before, 0);
	long after = read_num(pid_max_path);
	if (after < 0)
		return rep_send(sock, PM_READ, errno, before, 0);
	return rep_send(sock, PM_DONE, 0, before, after);
}

static int child_pid_max(int sock)
{
	char c;
	if (unshare(CLONE_NEWUSER | CLONE_NEWPID) < 0)
		return rep_send(sock, PM_UNSHARE, errno, 0, 0);
	if (rep_send(sock, PM_READY, 0, 0, 0) < 0)
		return -1;
	if (recv(sock, &c, 1, 0) != 1) /* the parent has written our id maps */
		return -1;
	/* Become uid/gid 0 of the new namespace: kuid/kgid as mapped, not 0. */
	if (syscall(SYS_setresgid, 0, 0, 0) < 0 || syscall(SYS_setresuid, 0, 0, 0) < 0)
		return rep_send(sock, PM_SETID, errno, 0, 0);
	pid_t g = fork();
	if (g < 0)
		return rep_send(sock, PM_FORK, errno, 0, 0);
	if (g == 0)
		_exit(grandchild_pid_max(sock) ? 1 : 0);
	int st;
	while (waitpid(g, &st, 0) < 0 && errno == EINTR)
		;
	return 0;
}

static enum feat_state p_namespaced_pid_max(char *d, size_t len)
{
	long host = read_num(pid_max_path);
	if (host < 0)
		return say(d, len, FEAT_UNKNOWN, "read %s -> %s", pid_max_path, errno_name(errno));
	long v = host > 32768 ? 32768 : host - 1;
	pm.vlen = (size_t)snprintf(pm.val, sizeof pm.val, "%ld\n", v);

	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return say(d, len, FEAT_UNKNOWN, "socketpair -> %s", errno_name(errno));
	pid_t pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return say(d, len, FEAT_UNKNOWN, "fork -> %s", errno_name(errno));
	}
	if (pid == 0) {
		close(sv[0]);
		child_pid_max(sv[1]);
		_exit(0);
	}
	close(sv[1]);

	struct rep r;
	char why[128] = "";
	int got = rep_recv(sv[0], &r, WAIT_MS);
	if (got == 1 && r.stage == PM_READY) {
		if (userns_map_root(pid, why, sizeof why) == 0 && send(sv[0], "g", 1, MSG_NOSIGNAL) == 1)
			got = rep_recv(sv[0], &r, WAIT_MS);
		else
			got = -2;
	}
	close(sv[0]); /* a child still waiting for "g" sees EOF and exits */
	reap(pid, NULL, got == 1 ? WAIT_MS : 0);

	enum feat_state s;
	if (got == -2)
		s = say(d, len, FEAT_UNKNOWN, "user namespace set-up: %s", why);
	else if (got != 1)
		s = say(d, len, FEAT_UNKNOWN, "child gave no answer (%s)", got == 0 ? "timeout, killed" : "EOF");
	else if (r.stage == PM_UNSHARE)
		s = say(d, len, FEAT_UNKNOWN, "unshare(CLONE_NEWUSER|CLONE_NEWPID) -> %s: cannot test",
			errno_name(r.err));
	else if (r.stage == PM_OPEN || r.stage == PM_WRITE)
		s = say(d, len, r.err == EACCES || r.err == EPERM ? FEAT_NO : FEAT_UNKNOWN,
			"pid 1 of own user+pid ns: %s pid_max -> %s (global sysctl)",
			r.stage == PM_OPEN ? "open" : "write", errno_name(r.err));
	else if (r.stage != PM_DONE)
		s = say(d, len, FEAT_UNKNOWN, "set-up failed at stage %d: %s", r.stage, errno_name(r.err));
	else if (r.v[1] == v)
		s = say(d, len, FEAT_YES, "pid 1 of own user+pid ns wrote pid_max %ld, read back %ld", v, r.v[1]);
	else
		s = say(d, len, FEAT_NO, "pid 1 of own user+pid ns wrote pid_max %ld, read back %ld", v, r.v[1]);

	/* Whatever happened, the host's value must be what it was. */
	long now = read_num(pid_max_path);
	if (now >= 0 && now != host) {
		if (now == v) {
			char old[24];
			int n = snprintf(old, sizeof old, "%ld\n", host);
			int ok = write_path(pid_max_path, old, (size_t)n) == 0;
			s = say(d, len, FEAT_UNKNOWN,
				"!!! HOST pid_max CHANGED %ld -> %ld by this probe; restore %s !!!", host, now,
				ok ? "done" : "FAILED");
		} else {
			s = say(d, len, FEAT_UNKNOWN,
				"host pid_max changed %ld -> %ld during the probe, not by it; left alone", host, now);
		}
	}
	return s;
}

/* ---- clone3 flags and pidfd sentinels of newer kernels (issue 19) ----
 * Values from include/uapi/linux/sched.h and fcntl.h (Linux 7.2); a kernel
 * without a flag rejects it with EINVAL (kernel/fork.c clone3_args_valid),
 * so each probe is harmless.  experiment_clone_flags.c checks what each
 * does where it is known. */
#ifndef CLONE_NNP
#define CLONE_NNP 0x800000000ULL
#endif
#ifndef CLONE_PIDFD_AUTOKILL
#define CLONE_PIDFD_AUTOKILL 0x1000000000ULL
#endif
#ifndef CLONE_EMPTY_MNTNS
#define CLONE_EMPTY_MNTNS 0x2000000000ULL
#endif

static enum feat_state p_clone_newtime(char *d, size_t len)
{
	return clone3_flag(d, len, "CLONE_NEWTIME", CLONE_NEWTIME, 0);
}

static enum feat_state p_clone_nnp(char *d, size_t len)
{
	return clone3_flag(d, len, "CLONE_NNP", CLONE_NNP, 0);
}

static enum feat_state p_clone_empty_mntns(char *d, size_t len)
{
	return clone3_flag(d, len, "CLONE_EMPTY_MNTNS", CLONE_EMPTY_MNTNS, 0);
}

/* Autokill needs CLONE_AUTOREAP and exit signal 0: the child is never
 * waitable, so wait for its pidfd to report the exit. */
static enum feat_state p_clone_pidfd_autokill(char *d, size_t len)
{
	int pidfd = -1;
	struct sl_clone_args a;
	memset(&a, 0, sizeof a);
	a.flags = CLONE_PIDFD | CLONE_AUTOREAP | CLONE_NNP | CLONE_PIDFD_AUTOKILL;
	a.pidfd = (uint64_t)(uintptr_t)&pidfd;
	long r = clone3_exit0(&a, sizeof a);
	int e = errno;
	if (r < 0)
		return say(d, len, absent_if(e), "clone3(CLONE_PIDFD_AUTOKILL|AUTOREAP|NNP|PIDFD) -> %s", errno_name(e));
	struct pollfd p = {pidfd, POLLIN, 0};
	int n = poll(&p, 1, WAIT_MS);
	close(pidfd);
	return say(d, len, n == 1 ? FEAT_YES : FEAT_UNKNOWN, "clone3(CLONE_PIDFD_AUTOKILL|...) -> pid %ld%s", r,
		   n == 1 ? ", exit seen on its pidfd" : ", no exit seen");
}

#ifndef PIDFD_SELF_THREAD_GROUP
#define PIDFD_SELF_THREAD_GROUP (-10001)
#endif
static enum feat_state p_pidfd_self(char *d, size_t len)
{
	int r = sl_pidfd_send_signal(PIDFD_SELF_THREAD_GROUP, 0, NULL, 0), e = errno;
	if (r == 0)
		return say(d, len, FEAT_YES, "pidfd_send_signal(PIDFD_SELF_THREAD_GROUP, 0) -> 0");
	return say(d, len, e == EBADF || absent_if(e) == FEAT_NO ? FEAT_NO : FEAT_UNKNOWN,
		   "pidfd_send_signal(PIDFD_SELF_THREAD_GROUP, 0) -> %s", errno_name(e));
}

/* ---- libc ----
 * Whether the build can call the function is libc_ext's answer (headers
 * and link at build time, dlsym in a dynamic build); then it is tried. */

static enum feat_state libc_absent(enum libc_ext_id id, char *d, size_t len)
{
	const char *how = "";
	libc_ext_has(id, &how);
	return say(d, len, strcmp(libc_ext_source(id), "unknown") ? FEAT_NO : FEAT_UNKNOWN, "%s", how);
}

/* pidfd_spawn of a program that does not exist: a libc that has it
 * creates the child (clone3 with CLONE_PIDFD), sees the exec fail and
 * returns ENOENT, having reaped the child; a kernel it cannot use gives
 * ENOSYS or EOPNOTSUPP. */
static enum feat_state p_pidfd_spawn(char *d, size_t len)
{
	pidfd_spawn_fn fn = libc_pidfd_spawn();
	if (!fn)
		return libc_absent(LIBC_PIDFD_SPAWN, d, len);
	const char *how = "";
	libc_ext_has(LIBC_PIDFD_SPAWN, &how);
	static char path[] = "/nonexistent/spawnlab-feature-probe";
	char *argv[] = {path, NULL}, *envp[] = {NULL};
	int pidfd = -1;
	int r = fn(&pidfd, path, NULL, NULL, argv, envp);
	if (r == 0) {
		/* The libc reported the exec failure through the exit status
		 * instead: the child exits 127 at once. */
		pid_t pid = sl_pidfd_pid(pidfd);
		if (pid > 0)
			reap(pid, NULL, WAIT_MS);
		close(pidfd);
		return say(d, len, FEAT_YES, "pidfd_spawn(%s) -> 0 + pidfd; %s", path, how);
	}
	if (r == ENOENT)
		return say(d, len, FEAT_YES, "pidfd_spawn(%s) -> ENOENT; %s", path, how);
	return say(d, len, r == ENOSYS || r == EOPNOTSUPP ? FEAT_NO : FEAT_UNKNOWN, "pidfd_spawn(%s) -> %s; %s", path,
		   errno_name(r), how);
}

/* A file action added to a scratch object: 0 means the libc takes it. */
static enum feat_state file_action(enum libc_ext_id id, int (*add)(posix_spawn_file_actions_t *), char *d,
				   size_t len)
{
	if (!add)
		return libc_absent(id, d, len);
	const char *how = "";
	libc_ext_has(id, &how);
	posix_spawn_file_actions_t fa;
	int r = posix_spawn_file_actions_init(&fa);
	if (r)
		return say(d, len, FEAT_UNKNOWN, "posix_spawn_file_actions_init -> %s", errno_name(r));
	r = add(&fa);
	posix_spawn_file_actions_destroy(&fa);
	if (r == 0)
		return say(d, len, FEAT_YES, "%s -> 0; %s", libc_ext_name(id), how);
	return say(d, len, r == ENOSYS ? FEAT_NO : FEAT_UNKNOWN, "%s -> %s; %s", libc_ext_name(id), errno_name(r),
		   how);
}

static int add_closefrom(posix_spawn_file_actions_t *fa)
{
	return libc_addclosefrom_np()(fa, 3);
}

static int add_chdir(posix_spawn_file_actions_t *fa)
{
	return libc_addchdir_np()(fa, "/");
}

static int add_fchdir(posix_spawn_file_actions_t *fa)
{
	return libc_addfchdir_np()(fa, 0);
}

static enum feat_state p_addclosefrom(char *d, size_t len)
{
	return file_action(LIBC_ADDCLOSEFROM_NP, libc_addclosefrom_np() ? add_closefrom : NULL, d, len);
}

static enum feat_state p_addchdir(char *d, size_t len)
{
	return file_action(LIBC_ADDCHDIR_NP, libc_addchdir_np() ? add_chdir : NULL, d, len);
}

static enum feat_state p_addfchdir(char *d, size_t len)
{
	return file_action(LIBC_ADDFCHDIR_NP, libc_addfchdir_np() ? add_fchdir : NULL, d, len);
}

/* peer parity (issue 19): posix_spawn extensions the spawn_attr experiment uses */
static int add_tcsetpgrp(posix_spawn_file_actions_t *fa)
{
	return libc_addtcsetpgrp_np()(fa, 0);
}

static enum feat_state p_addtcsetpgrp(char *d, size_t len)
{
	return file_action(LIBC_ADDTCSETPGRP_NP, libc_addtcsetpgrp_np() ? add_tcsetpgrp : NULL, d, len);
}

static enum feat_state p_setcgroup(char *d, size_t len)
{
	setcgroup_fn set = libc_setcgroup_np();
	if (!set)
		return libc_absent(LIBC_SETCGROUP_NP, d, len);
	const char *how = "";
	libc_ext_has(LIBC_SETCGROUP_NP, &how);
	posix_spawnattr_t at;
	int r = posix_spawnattr_init(&at);
	if (r)
		return say(d, len, FEAT_UNKNOWN, "posix_spawnattr_init -> %s", errno_name(r));
	r = set(&at, 0);
	posix_spawnattr_destroy(&at);
	return say(d, len, r == 0 ? FEAT_YES : FEAT_UNKNOWN, "posix_spawnattr_setcgroup_np -> %s; %s",
		   r ? errno_name(r) : "0", how);
}

/* ---- the table ---- */

const struct feature sl_features[] = {
	{"clone3", "clone3(2) system call (5.3)", p_clone3},
	{"clone_pidfd", "clone3 with CLONE_PIDFD returns a pidfd (5.2)", p_clone_pidfd},
	{"pidfd_open", "pidfd_open(2) (5.3)", p_pidfd_open},
	{"pidfd_send_signal", "pidfd_send_signal(2) (5.1)", p_pidfd_send_signal},
	{"waitid_pidfd", "waitid(P_PIDFD) reaps through a pidfd (5.4)", p_waitid_pidfd},
	{"pidfd_getfd", "pidfd_getfd(2) (5.6)", p_pidfd_getfd},
	{"pidfd_nonblock", "pidfd_open(PIDFD_NONBLOCK) (5.10)", p_pidfd_nonblock},
	{"pidfd_thread", "pidfd_open(PIDFD_THREAD): pidfds for threads (6.9)", p_pidfd_thread},
	{"close_range", "close_range(2) (5.9)", p_close_range},
	{"close_range_cloexec", "close_range(CLOSE_RANGE_CLOEXEC) (5.11)", p_close_range_cloexec},
	{"close_range_unshare", "close_range(CLOSE_RANGE_UNSHARE) (5.9)", p_close_range_unshare},
	{"pidfd_get_info", "ioctl(PIDFD_GET_INFO) (6.13)", p_pidfd_get_info},
	{"pidfd_info_exit", "PIDFD_GET_INFO exit status after reaping (6.15)", p_pidfd_info_exit},
	{"clone_clear_sighand", "clone3 CLONE_CLEAR_SIGHAND (5.5)", p_clone_clear_sighand},
	{"clone_into_cgroup", "clone3 CLONE_INTO_CGROUP flag known (5.7)", p_clone_into_cgroup},
	{"clone3_set_tid", "clone3 set_tid (5.5)", p_clone3_set_tid},
	{"namespaced_pid_max", "kernel.pid_max per pid namespace (6.14)", p_namespaced_pid_max},
	{"clone_autoreap", "clone3 CLONE_AUTOREAP (7.1)", p_clone_autoreap},
	{"clone_newtime", "clone3 CLONE_NEWTIME: a time namespace (5.6; clone3 6.3)", p_clone_newtime},
	{"clone_nnp", "clone3 CLONE_NNP: child with no_new_privs (7.1)", p_clone_nnp},
	{"clone_pidfd_autokill", "clone3 CLONE_PIDFD_AUTOKILL: killed when its pidfd closes (7.1)",
	 p_clone_pidfd_autokill},
	{"clone_empty_mntns", "clone3 CLONE_EMPTY_MNTNS: an empty mount namespace (7.1)", p_clone_empty_mntns},
	{"pidfd_self", "PIDFD_SELF_THREAD/_THREAD_GROUP sentinels in pidfd_send_signal (6.14)", p_pidfd_self},
	{"pidfd_spawn", "libc pidfd_spawn (glibc 2.39)", p_pidfd_spawn},
	{"posix_spawn_file_actions_addclosefrom_np", "libc addclosefrom_np (glibc 2.34)", p_addclosefrom},
	{"posix_spawn_file_actions_addchdir_np", "libc addchdir_np (glibc 2.29, musl 1.1.24)", p_addchdir},
	{"posix_spawn_file_actions_addfchdir_np", "libc addfchdir_np (glibc 2.29, musl 1.1.24)", p_addfchdir},
	/* peer parity (issue 19) */
	{"posix_spawn_file_actions_addtcsetpgrp_np", "libc addtcsetpgrp_np (glibc 2.35)", p_addtcsetpgrp},
	{"posix_spawnattr_setcgroup_np", "libc posix_spawnattr_setcgroup_np (glibc 2.39)", p_setcgroup},
	{"pid_namespace", "can create a pid namespace here", p_pid_namespace},
	{"proc_mount_in_ns", "can mount proc in a new pid+mount namespace here", p_proc_mount_in_ns},
};
#define NFEAT (sizeof sl_features / sizeof sl_features[0])
const size_t sl_nfeatures = NFEAT;

/* Versions in summaries say where a feature first appeared, for people;
 * the probes never look at the kernel version. */

const struct feature *feature_find(const char *name)
{
	for (size_t i = 0; name && i < NFEAT; i++)
		if (strcmp(sl_features[i].name, name) == 0)
			return &sl_features[i];
	return NULL;
}

/* Keyed by pid: a forked child re-probes, since its privileges or
 * namespaces may differ from those of the process that probed. */
static struct {
	pid_t pid;
	enum feat_state state;
	char detail[192];
} cache[NFEAT];

enum feat_state feature_state(const struct feature *f, const char **detail)
{
	if (!f || f < sl_features || f >= sl_features + NFEAT) {
		if (detail)
			*detail = "not a known feature";
		return FEAT_UNKNOWN;
	}
	size_t i = (size_t)(f - sl_features);
	pid_t me = getpid();
	if (cache[i].pid != me) {
		int saved = errno;
		cache[i].detail[0] = '\0';
		cache[i].state = f->probe(cache[i].detail, sizeof cache[i].detail);
		cache[i].pid = me;
		errno = saved;
	}
	if (detail)
		*detail = cache[i].detail;
	return cache[i].state;
}

int feature_has(const char *name)
{
	return feature_state(feature_find(name), NULL) == FEAT_YES;
}
