/* step_fdmake.c: the fd family's set-up steps.
 *
 * fdmake is one table row per fd-creating call.  Each row says how the
 * call asks for close-on-exec (enum sl_fdcx, step_fdmake.h):
 *   CX_FLAG    the call has its own option (O_CLOEXEC, SOCK_CLOEXEC, ...),
 *              passed when the case says cloexec=yes;
 *   CX_NONE    the call has none: cloexec=yes sets FD_CLOEXEC with
 *              fcntl(F_SETFD) right after, the non-atomic way (fd/race);
 *   CX_ALWAYS  the call always sets it: cloexec=no clears it with
 *              fcntl(F_SETFD) right after.
 * The same table is the fd fuzzer's vocabulary (fuzz/fd_combo.c, through
 * sl_fdmake and the sl_fdcall_* accessors).
 * The fd is then moved to the case's number with its FD_CLOEXEC bit as the
 * call left it, so the child sees what the call did, not what we chose.
 * Every step records fdmake.FD.call and fdmake.FD.how in the observation.
 * A call this kernel lacks or refuses here (ENOSYS, EOPNOTSUPP; EPERM or
 * EACCES where a sysctl or LSM may forbid it) is STEP_UNSUPPORTED. */
#include "families/fd/step_fdmake.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <linux/perf_event.h>
#include <mqueue.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/case.h"
#include "core/step_ctx.h"
#include "lib/util.h"
#include "sys/sys.h"

#ifndef __NR_open_tree
#define __NR_open_tree 428
#endif
#ifndef __NR_fsopen
#define __NR_fsopen 430
#endif
#ifndef __NR_fspick
#define __NR_fspick 433
#endif
#ifndef __NR_openat2
#define __NR_openat2 437
#endif
#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#endif
#ifndef __NR_memfd_secret
#define __NR_memfd_secret 447
#endif

#define FAIL(...) (snprintf(err, errlen, __VA_ARGS__), -1)

struct fdenv {
	const char *tmp;
	int target; /* the number the case wants (dup2, dup3 and F_DUPFD aim there) */
	int second; /* out: the other end of a pair, or -1 */
};

struct fdcall {
	const char *name;
	enum sl_fdcx cx;
	const char *how;  /* the call's close-on-exec option, or why it has none */
	int may_refuse;   /* EPERM/EACCES mean "not allowed here" (sysctl, LSM, capability) */
	int pair;         /* makes two fds (the second goes to fd2 or is closed) */
	int opath;        /* an O_PATH fd: ioctl(2) on it fails with EBADF */
	int (*make)(int cloexec, struct fdenv *e); /* fd, or -1 with errno */
};

static void tmp_path(const struct fdenv *e, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", e->tmp, name);
}

/* A file in $tmp for calls that open a path or duplicate an fd. */
static int any_file(const struct fdenv *e, int flags)
{
	char p[4096];
	tmp_path(e, "fdmake.file", p, sizeof p);
	return open(p, O_RDWR | O_CREAT | flags, 0600);
}

/* A copy of FD carrying FD's FD_CLOEXEC bit, for fds owned by a FILE or a
 * DIR that we then free. */
static int copy_keeping_flag(int fd)
{
	int fl = fcntl(fd, F_GETFD);
	if (fl < 0)
		return -1;
	return fcntl(fd, (fl & FD_CLOEXEC) ? F_DUPFD_CLOEXEC : F_DUPFD, 3);
}

static int close_keep_errno(int fd, int r)
{
	int e = errno;
	close(fd);
	errno = e;
	return r;
}

static int mk_open(int cx, struct fdenv *e)
{
	return any_file(e, cx ? O_CLOEXEC : 0);
}

static int mk_openat(int cx, struct fdenv *e)
{
	int d = open(e->tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d < 0)
		return -1;
	return close_keep_errno(d, openat(d, "fdmake.file", O_RDWR | O_CREAT | (cx ? O_CLOEXEC : 0), 0600));
}

static int mk_openat2(int cx, struct fdenv *e)
{
	char p[4096];
	tmp_path(e, "fdmake.file", p, sizeof p);
	struct open_how how = {(uint64_t)(O_RDWR | O_CREAT | (cx ? O_CLOEXEC : 0)), 0600, RESOLVE_NO_MAGICLINKS};
	return (int)syscall(__NR_openat2, AT_FDCWD, p, &how, sizeof how);
}

static int mk_creat(int cx, struct fdenv *e)
{
	(void)cx;
	char p[4096];
	tmp_path(e, "fdmake.file", p, sizeof p);
	return creat(p, 0600);
}

/* The duplicating calls start from an fd that has FD_CLOEXEC set, so that
 * the child shows whether the duplicate got the flag from the call. */
static int dup_source(const struct fdenv *e)
{
	int s = any_file(e, O_CLOEXEC);
	if (s != e->target)
		return s;
	int moved = fcntl(s, F_DUPFD_CLOEXEC, e->target + 1);
	return close_keep_errno(s, moved);
}

static int mk_dup(int cx, struct fdenv *e)
{
	(void)cx;
	int s = dup_source(e);
	return s < 0 ? -1 : close_keep_errno(s, dup(s));
}

static int mk_dup2(int cx, struct fdenv *e)
{
	(void)cx;
	int s = dup_source(e);
	return s < 0 ? -1 : close_keep_errno(s, dup2(s, e->target));
}

static int mk_dup3(int cx, struct fdenv *e)
{
	int s = dup_source(e);
	return s < 0 ? -1 : close_keep_errno(s, dup3(s, e->target, cx ? O_CLOEXEC : 0));
}

static int mk_fcntl_dupfd(int cx, struct fdenv *e)
{
	int s = dup_source(e);
	return s < 0 ? -1 : close_keep_errno(s, fcntl(s, cx ? F_DUPFD_CLOEXEC : F_DUPFD, e->target));
}

static int pair_result(int r, const int *p, struct fdenv *e)
{
	if (r < 0)
		return -1;
	e->second = p[1];
	return p[0];
}

static int mk_pipe(int cx, struct fdenv *e)
{
	(void)cx;
	int p[2];
	return pair_result(pipe(p), p, e);
}

static int mk_pipe2(int cx, struct fdenv *e)
{
	int p[2];
	return pair_result(pipe2(p, cx ? O_CLOEXEC : 0), p, e);
}

static int mk_socket(int cx, struct fdenv *e)
{
	(void)e;
	return socket(AF_UNIX, SOCK_STREAM | (cx ? SOCK_CLOEXEC : 0), 0);
}

static int mk_socketpair(int cx, struct fdenv *e)
{
	int p[2];
	return pair_result(socketpair(AF_UNIX, SOCK_STREAM | (cx ? SOCK_CLOEXEC : 0), 0, p), p, e);
}

/* accept and accept4 need a listening socket with a pending connection.
 * The listener is made SOCK_CLOEXEC|SOCK_NONBLOCK on purpose: the accepted
 * socket must not copy either (accept(2)).  The socket is bound by a
 * relative name in the spawner's cwd ($tmp unless a step moved it). */
static int accepted(int use4, int cx)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof a.sun_path, "fdmake.sock");
	unlink(a.sun_path);
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (l < 0)
		return -1;
	int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0)
		return close_keep_errno(l, -1);
	int r = -1;
	if (bind(l, (struct sockaddr *)&a, sizeof a) == 0 && listen(l, 1) == 0 &&
	    connect(c, (struct sockaddr *)&a, sizeof a) == 0)
		r = use4 ? accept4(l, NULL, NULL, cx ? SOCK_CLOEXEC : 0) : accept(l, NULL, NULL);
	int e = errno;
	close(c);
	close(l);
	unlink(a.sun_path);
	errno = e;
	return r;
}

static int mk_accept(int cx, struct fdenv *e)
{
	(void)cx;
	(void)e;
	return accepted(0, 0);
}

static int mk_accept4(int cx, struct fdenv *e)
{
	(void)e;
	return accepted(1, cx);
}

static int mk_epoll_create(int cx, struct fdenv *e)
{
	(void)cx;
	(void)e;
	return epoll_create(1);
}

static int mk_epoll_create1(int cx, struct fdenv *e)
{
	(void)e;
	return epoll_create1(cx ? EPOLL_CLOEXEC : 0);
}

static int mk_eventfd(int cx, struct fdenv *e)
{
	(void)e;
	return eventfd(0, cx ? EFD_CLOEXEC : 0);
}

static int mk_signalfd(int cx, struct fdenv *e)
{
	(void)e;
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	return signalfd(-1, &s, cx ? SFD_CLOEXEC : 0);
}

static int mk_timerfd(int cx, struct fdenv *e)
{
	(void)e;
	return timerfd_create(CLOCK_MONOTONIC, cx ? TFD_CLOEXEC : 0);
}

static int mk_inotify_init(int cx, struct fdenv *e)
{
	(void)cx;
	(void)e;
	return inotify_init();
}

static int mk_inotify_init1(int cx, struct fdenv *e)
{
	(void)e;
	return inotify_init1(cx ? IN_CLOEXEC : 0);
}

static int mk_fanotify(int cx, struct fdenv *e)
{
	(void)e;
	return fanotify_init(FAN_CLASS_NOTIF | (cx ? FAN_CLOEXEC : 0), O_RDONLY);
}

static int mk_memfd(int cx, struct fdenv *e)
{
	(void)e;
	return memfd_create("spawnlab", cx ? MFD_CLOEXEC : 0);
}

static int mk_pidfd_open(int cx, struct fdenv *e)
{
	(void)cx;
	(void)e;
	return sl_pidfd_open(getpid(), 0);
}

/* pidfd_getfd on ourselves: a copy of a plain (inheritable) fd. */
static int mk_pidfd_getfd(int cx, struct fdenv *e)
{
	(void)cx;
	int s = any_file(e, 0);
	if (s < 0)
		return -1;
	int p = sl_pidfd_open(getpid(), 0);
	if (p < 0)
		return close_keep_errno(s, -1);
	int r = sl_pidfd_getfd(p, s, 0);
	close_keep_errno(p, 0);
	return close_keep_errno(s, r);
}

static int mk_userfaultfd(int cx, struct fdenv *e)
{
	(void)e;
	return (int)syscall(__NR_userfaultfd, cx ? O_CLOEXEC : 0);
}

static int mk_io_uring(int cx, struct fdenv *e)
{
	(void)cx;
	(void)e;
	struct io_uring_params p;
	memset(&p, 0, sizeof p);
	return (int)syscall(__NR_io_uring_setup, 1, &p);
}

static int mk_perf_event(int cx, struct fdenv *e)
{
	(void)e;
	struct perf_event_attr a;
	memset(&a, 0, sizeof a);
	a.size = sizeof a;
	a.type = PERF_TYPE_SOFTWARE;
	a.config = PERF_COUNT_SW_DUMMY;
	a.disabled = 1;
	a.exclude_kernel = 1;
	a.exclude_hv = 1;
	return (int)syscall(__NR_perf_event_open, &a, 0, -1, -1, cx ? PERF_FLAG_FD_CLOEXEC : 0UL);
}

static int mk_mq_open(int cx, struct fdenv *e)
{
	(void)cx;
	(void)e;
	char name[64];
	if (unique_name(name, sizeof name, "spawnlab-fdmake") < 0)
		return -1;
	mqd_t q = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, NULL);
	if (q == (mqd_t)-1)
		return -1;
	mq_unlink(name);
	return (int)q;
}

static int mk_shm_open(int cx, struct fdenv *e)
{
	(void)cx;
	(void)e;
	char name[64];
	if (unique_name(name, sizeof name, "spawnlab-fdmake") < 0)
		return -1;
	int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd >= 0)
		shm_unlink(name);
	return fd;
}

static int mk_posix_openpt(int cx, struct fdenv *e)
{
	(void)e;
	return posix_openpt(O_RDWR | O_NOCTTY | (cx ? O_CLOEXEC : 0));
}

static int mk_fsopen(int cx, struct fdenv *e)
{
	(void)e;
	return (int)syscall(__NR_fsopen, "tmpfs", cx ? FSOPEN_CLOEXEC : 0U);
}

static int mk_open_tree(int cx, struct fdenv *e)
{
	return (int)syscall(__NR_open_tree, AT_FDCWD, e->tmp, cx ? OPEN_TREE_CLOEXEC : 0U);
}

static int mk_fspick(int cx, struct fdenv *e)
{
	(void)e;
	return (int)syscall(__NR_fspick, AT_FDCWD, "/", cx ? FSPICK_CLOEXEC : 0U);
}

/* The DIR is freed after its fd was copied with the same FD_CLOEXEC bit. */
static int dir_fd(DIR *d)
{
	if (!d)
		return -1;
	int r = copy_keeping_flag(dirfd(d));
	int e = errno;
	closedir(d);
	errno = e;
	return r;
}

static int mk_opendir(int cx, struct fdenv *e)
{
	(void)cx;
	return dir_fd(opendir(e->tmp));
}

/* Given an fd without FD_CLOEXEC: fdopendir sets it (glibc __alloc_dir,
 * musl fdopendir). */
static int mk_fdopendir(int cx, struct fdenv *e)
{
	(void)cx;
	int fd = open(e->tmp, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return -1;
	DIR *d = fdopendir(fd);
	return d ? dir_fd(d) : close_keep_errno(fd, -1);
}

static int mk_fopen(int cx, struct fdenv *e)
{
	char p[4096];
	tmp_path(e, "fdmake.file", p, sizeof p);
	FILE *f = fopen(p, cx ? "w+e" : "w+");
	if (!f)
		return -1;
	int r = copy_keeping_flag(fileno(f));
	int er = errno;
	fclose(f);
	errno = er;
	return r;
}

static int mk_mkostemp(int cx, struct fdenv *e)
{
	char p[4096];
	tmp_path(e, "fdmake.XXXXXX", p, sizeof p);
	return mkostemp(p, cx ? O_CLOEXEC : 0);
}

static int mk_mkstemp(int cx, struct fdenv *e)
{
	(void)cx;
	char p[4096];
	tmp_path(e, "fdmake.XXXXXX", p, sizeof p);
	return mkstemp(p);
}

/* An fd passed over a socketpair with SCM_RIGHTS and received with or
 * without MSG_CMSG_CLOEXEC.  The sent fd is inheritable, so the received
 * one's flag comes from recvmsg alone. */
static int mk_recvmsg(int cx, struct fdenv *e)
{
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		return -1;
	int s = any_file(e, 0), r = -1;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	char byte = 'x';
	struct iovec io = {&byte, 1};
	struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = sizeof cm.buf};
	if (s < 0)
		goto out;
	memset(&cm, 0, sizeof cm);
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &s, sizeof s);
	if (sendmsg(sp[0], &m, 0) != 1)
		goto out;
	memset(&cm, 0, sizeof cm);
	m.msg_controllen = sizeof cm.buf;
	if (recvmsg(sp[1], &m, cx ? MSG_CMSG_CLOEXEC : 0) != 1)
		goto out;
	c = CMSG_FIRSTHDR(&m);
	if (!c || c->cmsg_type != SCM_RIGHTS) {
		errno = EPROTO;
		goto out;
	}
	memcpy(&r, CMSG_DATA(c), sizeof r);
out:;
	int er = errno;
	if (s >= 0)
		close(s);
	close(sp[0]);
	close(sp[1]);
	errno = er;
	return r;
}

static int mk_landlock(int cx, struct fdenv *e)
{
	(void)cx;
	(void)e;
	uint64_t handled_fs = 1; /* LANDLOCK_ACCESS_FS_EXECUTE: any one right */
	return (int)syscall(__NR_landlock_create_ruleset, &handled_fs, sizeof handled_fs, 0U);
}

static int mk_memfd_secret(int cx, struct fdenv *e)
{
	(void)e;
	return (int)syscall(__NR_memfd_secret, cx ? O_CLOEXEC : 0U);
}

/* One row per creating call: X(name, how it asks for close-on-exec, what
 * that option is or why there is none, whether EPERM/EACCES mean "not
 * allowed here", whether it makes a pair, whether the fd is an O_PATH one
 * (open(2): ioctl(2) and other file operations fail with EBADF).  The fd fuzzer (fuzz/fd_combo.c)
 * draws its calls from this table by index: add new calls at the end, so
 * that its committed inputs keep naming the same calls. */
#define FDCALLS(X)                                                                                                \
	X(open, CX_FLAG, "O_CLOEXEC", 0, 0, 0)                                                                    \
	X(openat, CX_FLAG, "O_CLOEXEC", 0, 0, 0)                                                                  \
	X(openat2, CX_FLAG, "O_CLOEXEC in open_how.flags", 0, 0, 0)                                               \
	X(creat, CX_NONE, "creat(2) has no flags argument", 0, 0, 0)                                              \
	X(dup, CX_NONE, "dup(2) has no flags argument (its flagged form is fcntl F_DUPFD_CLOEXEC)", 0, 0, 0)      \
	X(dup2, CX_NONE, "dup2(2) has no flags argument (its flagged form is dup3)", 0, 0, 0)                     \
	X(dup3, CX_FLAG, "O_CLOEXEC", 0, 0, 0)                                                                    \
	X(fcntl_dupfd, CX_FLAG, "F_DUPFD_CLOEXEC instead of F_DUPFD", 0, 0, 0)                                    \
	X(pipe, CX_NONE, "pipe(2) has no flags argument (its flagged form is pipe2)", 0, 1, 0)                    \
	X(pipe2, CX_FLAG, "O_CLOEXEC", 0, 1, 0)                                                                   \
	X(socket, CX_FLAG, "SOCK_CLOEXEC", 0, 0, 0)                                                               \
	X(socketpair, CX_FLAG, "SOCK_CLOEXEC", 0, 1, 0)                                                           \
	X(accept, CX_NONE, "accept(2) has no flags argument (its flagged form is accept4)", 0, 0, 0)              \
	X(accept4, CX_FLAG, "SOCK_CLOEXEC", 0, 0, 0)                                                              \
	X(epoll_create, CX_NONE, "epoll_create(2) has no flags (its flagged form is epoll_create1)", 0, 0, 0)     \
	X(epoll_create1, CX_FLAG, "EPOLL_CLOEXEC", 0, 0, 0)                                                       \
	X(eventfd, CX_FLAG, "EFD_CLOEXEC", 0, 0, 0)                                                               \
	X(signalfd, CX_FLAG, "SFD_CLOEXEC", 0, 0, 0)                                                              \
	X(timerfd_create, CX_FLAG, "TFD_CLOEXEC", 0, 0, 0)                                                        \
	X(inotify_init, CX_NONE, "inotify_init(2) has no flags (its flagged form is inotify_init1)", 0, 0, 0)     \
	X(inotify_init1, CX_FLAG, "IN_CLOEXEC", 0, 0, 0)                                                          \
	X(fanotify_init, CX_FLAG, "FAN_CLOEXEC", 1, 0, 0)                                                         \
	X(memfd_create, CX_FLAG, "MFD_CLOEXEC", 0, 0, 0)                                                          \
	X(pidfd_open, CX_ALWAYS, "pidfd_open(2) always sets close-on-exec", 0, 0, 0)                              \
	X(pidfd_getfd, CX_ALWAYS, "pidfd_getfd(2) always sets close-on-exec", 1, 0, 0)                            \
	X(userfaultfd, CX_FLAG, "O_CLOEXEC", 1, 0, 0)                                                             \
	X(io_uring_setup, CX_ALWAYS, "io_uring_setup(2) always sets close-on-exec", 1, 0, 0)                      \
	X(perf_event_open, CX_FLAG, "PERF_FLAG_FD_CLOEXEC", 1, 0, 0)                                              \
	X(mq_open, CX_ALWAYS, "Linux mq_open always sets close-on-exec (ipc/mqueue.c)", 0, 0, 0)                  \
	X(shm_open, CX_ALWAYS, "shm_open(3) always sets close-on-exec", 0, 0, 0)                                  \
	X(posix_openpt, CX_FLAG, "O_CLOEXEC (POSIX.1-2024)", 0, 0, 0)                                             \
	X(fsopen, CX_FLAG, "FSOPEN_CLOEXEC", 1, 0, 0)                                                             \
	X(open_tree, CX_FLAG, "OPEN_TREE_CLOEXEC", 1, 0, 1)                                                       \
	X(fspick, CX_FLAG, "FSPICK_CLOEXEC", 1, 0, 0)                                                             \
	X(opendir, CX_ALWAYS, "opendir(3): glibc and musl open the directory with O_CLOEXEC", 0, 0, 0)            \
	X(fdopendir, CX_ALWAYS, "fdopendir(3) sets close-on-exec on the fd it takes over (glibc, musl)", 0, 0, 0) \
	X(fopen, CX_FLAG, "mode flag 'e' (O_CLOEXEC)", 0, 0, 0)                                                   \
	X(mkostemp, CX_FLAG, "O_CLOEXEC", 0, 0, 0)                                                                \
	X(mkstemp, CX_NONE, "mkstemp(3) has no flags (its flagged form is mkostemp)", 0, 0, 0)                    \
	X(recvmsg, CX_FLAG, "MSG_CMSG_CLOEXEC", 0, 0, 0)                                                          \
	X(landlock_create_ruleset, CX_ALWAYS, "landlock_create_ruleset(2) always sets close-on-exec", 1, 0, 0)    \
	X(memfd_secret, CX_FLAG, "O_CLOEXEC", 1, 0, 0)

/* mk_ functions whose names differ from the call's */
#define mk_timerfd_create mk_timerfd
#define mk_fanotify_init mk_fanotify
#define mk_memfd_create mk_memfd
#define mk_io_uring_setup mk_io_uring
#define mk_perf_event_open mk_perf_event
#define mk_landlock_create_ruleset mk_landlock

#define ROW(n, cx, how, refuse, pair, opath) {#n, cx, how, refuse, pair, opath, mk_##n},
static const struct fdcall calls[] = {FDCALLS(ROW)};
#define NAME(n, cx, how, refuse, pair, opath) #n "|"
/* The trailing '|' ends the list harmlessly: choice_index stops at NUL. */
const char sl_fdmake_calls[] = FDCALLS(NAME);

size_t sl_fdcall_count(void)
{
	return sizeof calls / sizeof *calls;
}

const char *sl_fdcall_name(size_t i)
{
	return i < sl_fdcall_count() ? calls[i].name : NULL;
}

int sl_fdcall_index(const char *name)
{
	for (size_t i = 0; i < sl_fdcall_count(); i++)
		if (strcmp(calls[i].name, name) == 0)
			return (int)i;
	return -1;
}

enum sl_fdcx sl_fdcall_cx(size_t i)
{
	return calls[i].cx;
}

int sl_fdcall_pair(size_t i)
{
	return calls[i].pair;
}

int sl_fdcall_opath(size_t i)
{
	return calls[i].opath;
}

/* Put FD at TARGET keeping its FD_CLOEXEC bit; closes FD. */
static int place(int fd, int target)
{
	if (fd == target)
		return 0;
	int fl = fcntl(fd, F_GETFD);
	if (fl < 0 || dup3(fd, target, (fl & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0)
		return close_keep_errno(fd, -1);
	close(fd);
	return 0;
}

static int set_cloexec(int fd, int on)
{
	int fl = fcntl(fd, F_GETFD);
	if (fl < 0)
		return -1;
	return fcntl(fd, F_SETFD, on ? (fl | FD_CLOEXEC) : (fl & ~FD_CLOEXEC));
}

static int refused(const struct fdcall *c, int e)
{
	return e == ENOSYS || e == EOPNOTSUPP || (c->may_refuse && (e == EPERM || e == EACCES));
}

int sl_fdmake(size_t call, int want, int target, int target2, const char *tmp, struct sl_fdmade *made, char *err,
	      size_t errlen)
{
	if (call >= sl_fdcall_count())
		return FAIL("fdmake: no call number %zu", call);
	const struct fdcall *c = &calls[call];
	if (target == target2)
		return FAIL("fdmake: fd and fd2 must differ");
	struct fdenv e = {tmp, target, -1};
	int fd = c->make(c->cx == CX_FLAG ? want : 0, &e);
	if (fd < 0) {
		int er = errno;
		snprintf(err, errlen, "%s: %s", c->name, strerror(er));
		errno = er;
		return refused(c, er) ? STEP_UNSUPPORTED : -1;
	}
	int got = fcntl(fd, F_GETFD);
	if (got < 0)
		return FAIL("%s: F_GETFD: %s", c->name, strerror(errno));
	made->call_cloexec = (got & FD_CLOEXEC) != 0;
	if (c->cx == CX_FLAG) {
		snprintf(made->how, sizeof made->how, "%s %s", want ? "with" : "without", c->how);
	} else if ((c->cx == CX_NONE && want) || (c->cx == CX_ALWAYS && !want)) {
		if (set_cloexec(fd, want) < 0 || (e.second >= 0 && set_cloexec(e.second, want) < 0))
			return FAIL("%s: fcntl(F_SETFD): %s", c->name, strerror(errno));
		snprintf(made->how, sizeof made->how, "%s; then fcntl(F_SETFD) %s FD_CLOEXEC", c->how,
			 want ? "sets" : "clears");
	} else {
		snprintf(made->how, sizeof made->how, "%s", c->how);
	}
	if ((e.second >= 0) != c->pair)
		return FAIL("%s: the table says it makes %s, the call made %s", c->name, c->pair ? "two fds" : "one fd",
			    e.second >= 0 ? "two" : "one");
	/* The second end may sit on the first's target: move it away first. */
	if (e.second == target) {
		int moved = copy_keeping_flag(target);
		if (moved < 0)
			return FAIL("%s: moving the second fd: %s", c->name, strerror(errno));
		close(target);
		e.second = moved;
	}
	if (place(fd, target) < 0)
		return FAIL("%s: moving fd to %d: %s", c->name, target, strerror(errno));
	if (e.second >= 0 && (target2 >= 0 ? place(e.second, target2) : close(e.second)) < 0)
		return FAIL("%s: second fd: %s", c->name, strerror(errno));
	return 0;
}

enum { FDMAKE_CALL, FDMAKE_FD, FDMAKE_CLOEXEC, FDMAKE_FD2 };

static int st_fdmake(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	int call = sl_fdcall_index(sv[FDMAKE_CALL]);
	if (call < 0)
		return FAIL("fdmake: unknown call %s", sv[FDMAKE_CALL]);
	int target = (int)iv[FDMAKE_FD];
	struct sl_fdmade made;
	int r = sl_fdmake((size_t)call, (int)iv[FDMAKE_CLOEXEC], target, sv[FDMAKE_FD2] ? (int)iv[FDMAKE_FD2] : -1, ctx->tmp, &made, err, errlen);
	if (r)
		return r;
	char key[48];
	snprintf(key, sizeof key, "fdmake.%d.call", target);
	obs_put(ctx, key, "%s", sv[FDMAKE_CALL]);
	snprintf(key, sizeof key, "fdmake.%d.how", target);
	obs_put(ctx, key, "%s", made.how);
	/* The flag as the call itself left it, before any fcntl of ours. */
	snprintf(key, sizeof key, "fdmake.%d.call_cloexec", target);
	obs_put(ctx, key, "%s", made.call_cloexec ? "yes" : "no");
	return 0;
}

enum { FDIOCTL_FD, FDIOCTL_CLOEXEC };

static int st_fdioctl(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)sv;
	(void)ctx;
	if (ioctl((int)iv[FDIOCTL_FD], iv[FDIOCTL_CLOEXEC] ? FIOCLEX : FIONCLEX) < 0)
		return FAIL("ioctl(%ld, %s): %s", iv[FDIOCTL_FD], iv[FDIOCTL_CLOEXEC] ? "FIOCLEX" : "FIONCLEX", strerror(errno));
	return 0;
}

enum { CLOSERANGE_FIRST, CLOSERANGE_LAST, CLOSERANGE_FLAGS };

static int st_closerange(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)sv;
	(void)ctx;
	static const unsigned flags[] = {0, CLOSE_RANGE_CLOEXEC, CLOSE_RANGE_UNSHARE,
					 CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC};
	if (sl_close_range((unsigned)iv[CLOSERANGE_FIRST], (unsigned)iv[CLOSERANGE_LAST], flags[iv[CLOSERANGE_FLAGS]]) < 0) {
		int er = errno;
		snprintf(err, errlen, "close_range(%ld, %ld, %s): %s", iv[CLOSERANGE_FIRST], iv[CLOSERANGE_LAST], sv[CLOSERANGE_FLAGS] ? sv[CLOSERANGE_FLAGS] : "none",
			 strerror(er));
		/* EINVAL: a flag this kernel does not know (CLOEXEC is 5.11+). */
		return er == ENOSYS || er == EINVAL ? STEP_UNSUPPORTED : -1;
	}
	return 0;
}

enum { FDSEEK_FD, FDSEEK_POS, FDSEEK_LEN };

static int st_fdseek(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)sv;
	(void)ctx;
	char buf[4096];
	memset(buf, 'x', sizeof buf);
	for (long left = iv[FDSEEK_LEN]; left > 0;) {
		ssize_t w = write((int)iv[FDSEEK_FD], buf, left < (long)sizeof buf ? (size_t)left : sizeof buf);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return FAIL("write(%ld): %s", iv[FDSEEK_FD], w < 0 ? strerror(errno) : "short write");
		left -= w;
	}
	if (lseek((int)iv[FDSEEK_FD], (off_t)iv[FDSEEK_POS], SEEK_SET) < 0)
		return FAIL("lseek(%ld, %ld): %s", iv[FDSEEK_FD], iv[FDSEEK_POS], strerror(errno));
	return 0;
}

/* The fd family's set-up steps (the families' registry lists them). */
const struct step_kind fd_steps[] = {
	{.name = "fdmake",
	 .summary = "make an fd with creating call CALL (cloexec: its close-on-exec option) and put it at FD",
	 .args = {[FDMAKE_CALL] = {"call", ARG_CHOICE, 1, NULL, sl_fdmake_calls},
		  [FDMAKE_FD] = {"fd", ARG_FD, 1, NULL, NULL},
		  [FDMAKE_CLOEXEC] = {"cloexec", ARG_BOOL, 1, NULL, NULL},
		  [FDMAKE_FD2] = {"fd2", ARG_FD, 0, NULL, NULL}},
	 .run = st_fdmake,
	 .keys = "fdmake.#.{call,how,call_cloexec}"},
	{.name = "fdioctl",
	 .summary = "ioctl(FD, FIOCLEX) (cloexec=yes) or ioctl(FD, FIONCLEX) (cloexec=no)",
	 .args = {[FDIOCTL_FD] = {"fd", ARG_FD, 1, NULL, NULL}, [FDIOCTL_CLOEXEC] = {"cloexec", ARG_BOOL, 1, NULL, NULL}},
	 .run = st_fdioctl},
	{.name = "closerange",
	 .summary = "close_range(FIRST, LAST, FLAGS) in the spawner",
	 .args = {[CLOSERANGE_FIRST] = {"first", ARG_FD, 1, NULL, NULL},
		  [CLOSERANGE_LAST] = {"last", ARG_FD, 1, NULL, NULL},
		  [CLOSERANGE_FLAGS] = {"flags", ARG_CHOICE, 0, "none", "none|cloexec|unshare|unshare+cloexec"}},
	 .run = st_closerange},
	{.name = "fdseek",
	 .summary = "write LEN bytes to FD (when len= is given), then lseek(FD, POS, SEEK_SET)",
	 .args = {[FDSEEK_FD] = {"fd", ARG_FD, 1, NULL, NULL},
		  [FDSEEK_POS] = {"pos", ARG_INT, 1, NULL, NULL},
		  [FDSEEK_LEN] = {"len", ARG_INT, 0, "0", NULL}},
	 .run = st_fdseek},
	{0},
};
