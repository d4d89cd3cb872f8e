/* pdspawn.c: the reference descriptor-based spawn; see pdspawn.h.
 *
 * The child is created with CLONE_VM | CLONE_VFORK | CLONE_PIDFD and exit
 * signal 0: by clone3 with CLONE_CLEAR_SIGHAND where the kernel (5.5+) and
 * the architecture allow (clone_fn.h), else by clone() with every signal
 * blocked around it.  Sharing the address space keeps the cost of a spawn
 * flat in the size of the caller (no page tables to copy), and lets the
 * child store the errno of a failed set-up or execve where the parent
 * reads it once CLONE_VFORK lets it run again: exec failure is synchronous
 * without a pipe.  The price is the usual vfork discipline: until execve
 * the child runs on memory it shares with the caller, so it makes only raw
 * system calls, touches nothing but its own stack and the struct below,
 * and never returns into the caller's code.
 *
 * What a spawn costs beyond a bare vfork+execve (measured by `make bench`,
 * cases/bench): the pidfd, one close_range, a dup2 per fd, one
 * rt_sigprocmask and 62 rt_sigaction calls.  The last are the price of
 * promise 6: the kernel has no call that resets ignored signals in bulk
 * (CLONE_CLEAR_SIGHAND resets handlers but keeps SIG_IGN, kernel/fork.c
 * copy_sighand -> flush_signal_handlers(tsk, 0); execve does the same), and
 * no cheaper way to learn which signals are ignored (SigIgn in
 * /proc/self/status costs as much to read as the 62 calls). */
/* The library is compiled with hidden visibility: the API alone is exported. */
#pragma GCC visibility push(default)
#include "pdspawn.h"
#pragma GCC visibility pop

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clone_fn.h"
#include "rawsig.h"
#include "sys.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) && !defined(__SANITIZE_ADDRESS__)
#define __SANITIZE_ADDRESS__ 1
#endif
#endif
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#endif

extern char **environ;


/* The child's stack lives in pdspawn()'s frame, as in musl's posix_spawn:
 * CLONE_VFORK suspends the caller until the child has exec'd or exited, so
 * the frame outlives every use of it, and a spawn costs no mmap/munmap
 * (which would also take the mmap lock that the caller's other threads
 * contend for).  The child needs well under 2 KiB (a handful of frames
 * ending in raw syscalls); 16 KiB leaves room for sanitizer redzones and
 * stays small enough for a thread with a modest stack. */
#define CHILD_STACK_SIZE (16 * 1024)

/* What the parent tells the child, and the one word the child answers
 * with.  Shared because of CLONE_VM. */
struct child {
	const char *path;
	char *const *argv;
	char *const *envp;
	const struct pdspawn_attr *attr;
	const sigset_t *mask; /* attr->sigmask or an empty set */
	int tmp;              /* first fd above every parent_fd and child_fd */
	int direct;           /* no child_fd is another entry's parent_fd */
	int cleared;          /* created with CLONE_CLEAR_SIGHAND */
	int err;              /* errno of the failed step; 0 if none */
};

/* Every disposition to SIG_DFL, or SIG_IGN for attr->sigignore; with
 * PDSPAWN_INHERIT_IGNORED the ignored ones stay, and where the kernel has
 * already reset the handlers only attr->sigignore needs a call.
 * Dispositions and the mask are set with the raw system calls (rawsig.h)
 * so that every signal can be reset, including the ones a libc reserves
 * for itself (glibc's sigaction() refuses 32 and 33, musl's 32 to 34;
 * glibc's sigprocmask drops them from the set), and so that a sanitizer's
 * interceptor never runs in the vfork child. */
static int reset_signals(const struct child *c)
{
	const struct pdspawn_attr *a = c->attr;
	int inherit = (a->flags & PDSPAWN_INHERIT_IGNORED) != 0;
	for (int sig = 1; sig < _NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		int ignore = a->sigignore && sigismember(a->sigignore, sig) == 1;
		if (inherit && !ignore) {
			/* Keep what is ignored, drop a handler; after
			 * CLONE_CLEAR_SIGHAND no handler is left. */
			if (c->cleared)
				continue;
			void (*h)(int);
			if (rawsig_get(sig, &h) < 0)
				return -1;
			if (h == SIG_IGN)
				continue;
		}
		if (rawsig_set(sig, ignore ? SIG_IGN : SIG_DFL) < 0)
			return -1;
	}
	return 0;
}

/* close_range(first, last), or close() one by one where the kernel lacks
 * it (before 5.9).  The child cannot list /proc/self/fd (opendir
 * allocates), so the loop stops at the soft RLIMIT_NOFILE, above which no
 * fd can have been opened since the limit was set, or at the temporary
 * copies, whichever is higher; bounded at 2^20, the kernel's default
 * nr_open. */
static int close_fds(unsigned first, unsigned last, unsigned top)
{
	if (first > last)
		return 0;
	if (sl_close_range(first, last, 0) == 0)
		return 0;
	if (errno != ENOSYS)
		return -1;
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > top)
		top = rl.rlim_cur > (1U << 20) ? (1U << 20) : (unsigned)rl.rlim_cur;
	for (unsigned fd = first; fd <= last && fd < top; fd++)
		close((int)fd);
	return 0;
}

/* Close every fd that is not a child_fd of the map: the gaps between
 * them, then everything above the highest.  Quadratic in the map, which
 * saves sorting it in memory the child would have to own. */
static int close_unmapped(const struct pdspawn_fd *fds, size_t n, unsigned top)
{
	unsigned lo = 0;
	for (;;) {
		unsigned next = UINT_MAX;
		for (size_t i = 0; i < n; i++) {
			unsigned d = (unsigned)fds[i].child_fd;
			if (d >= lo && d < next)
				next = d;
		}
		if (next == UINT_MAX)
			return close_fds(lo, UINT_MAX, top);
		if (next > lo && close_fds(lo, next - 1, top) < 0)
			return -1;
		lo = next + 1;
	}
}

/* The child's fd table is exactly the map.  Every fd is first marked
 * close-on-exec in one call (close_range CLOSE_RANGE_CLOEXEC, 5.11), so
 * that execve closes whatever the steps below do not create; dup2 clears
 * the flag on the fds it creates, and fcntl clears it on an entry that
 * keeps its number.  When a child_fd is another entry's parent_fd (a swap,
 * a chain), every parent_fd is first copied above all the numbers the map
 * mentions, so that no dup2 overwrites a parent_fd still to be read; the
 * copies are close-on-exec.  Without CLOSE_RANGE_CLOEXEC, everything
 * outside the map, copies included, is closed instead. */
static int build_fd_table(const struct child *c)
{
	const struct pdspawn_attr *a = c->attr;
	int marked = sl_close_range(0, ~0U, CLOSE_RANGE_CLOEXEC) == 0;
	if (!marked && errno != EINVAL && errno != ENOSYS)
		return -1;
	if (c->direct) {
		for (size_t i = 0; i < a->nfds; i++) {
			const struct pdspawn_fd *m = &a->fds[i];
			int r = m->parent_fd == m->child_fd ? fcntl(m->child_fd, F_SETFD, 0)
							    : dup2(m->parent_fd, m->child_fd);
			if (r < 0)
				return -1;
		}
	} else {
		for (size_t i = 0; i < a->nfds; i++)
			if (dup3(a->fds[i].parent_fd, c->tmp + (int)i, O_CLOEXEC) < 0)
				return -1;
		for (size_t i = 0; i < a->nfds; i++)
			if (dup2(c->tmp + (int)i, a->fds[i].child_fd) < 0)
				return -1;
	}
	if (!marked && close_unmapped(a->fds, a->nfds, (unsigned)c->tmp + (unsigned)a->nfds) < 0)
		return -1;
	return 0;
}

static int child_main(void *arg)
{
	struct child *c = arg;
	const struct pdspawn_attr *a = c->attr;

	/* No handler of the caller can run here, on shared memory: either
	 * the kernel reset every handler at clone (CLONE_CLEAR_SIGHAND), or
	 * every signal is blocked until the dispositions below are set.
	 * Handled signals would be reset by execve anyway; this loop is for
	 * the ignored ones, which execve keeps (promise 6). */
	if (reset_signals(c) < 0)
		goto fail;

	if (build_fd_table(c) < 0)
		goto fail;

	if (a->cwd && chdir(a->cwd) < 0)
		goto fail;
	/* Unblock last: from here on a signal meets only SIG_DFL or SIG_IGN. */
	if (rawsig_procmask(SIG_SETMASK, c->mask, NULL) < 0)
		goto fail;
	execve(c->path, c->argv, c->envp);
fail:
	/* errno is the parent thread's (same TLS under CLONE_VM); pdspawn()
	 * restores it. */
	c->err = errno ? errno : EIO;
	_exit(127);
}

static void reap_pidfd(int pidfd)
{
	siginfo_t si;
	while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED | __WALL) < 0 && errno == EINTR)
		;
}

/* waitid(P_PIDFD) came with 5.4, one release after CLONE_PIDFD: probe it
 * once so that a 5.3 kernel gives ENOSYS rather than a pidfd that cannot
 * be reaped.  Fd INT_MAX is never open: EBADF means the idtype is known. */
static int have_waitid_pidfd(void)
{
	static int known; /* 0 not yet probed, 1 yes, -1 no */
	int k = __atomic_load_n(&known, __ATOMIC_RELAXED);
	if (k == 0) {
		siginfo_t si;
		int r = waitid((idtype_t)P_PIDFD, (id_t)INT_MAX, &si, WEXITED | WNOHANG);
		k = r < 0 && errno == EINVAL ? -1 : 1;
		__atomic_store_n(&known, k, __ATOMIC_RELAXED);
	}
	return k > 0;
}

/* clone3 with CLONE_CLEAR_SIGHAND: 0 not tried yet, 1 works, -1 not
 * here (no clone3 before 5.3 or under a seccomp filter that refuses it, as
 * container runtimes do; no CLONE_CLEAR_SIGHAND before 5.5; no
 * trampoline for this architecture). */
#ifdef PDSPAWN_NO_CLONE3
static int clone3_state = -1; /* the clone() path only (tests build it) */
#else
static int clone3_state;
#endif

int pdspawn_uses_clone3(void)
{
	int k = __atomic_load_n(&clone3_state, __ATOMIC_RELAXED);
	return k > 0 ? 1 : k < 0 ? 0 : -1;
}

/* Start the child on STACK, storing its pidfd in *FD.  Returns its pid or
 * -1 with errno. */
static pid_t start_child(struct child *c, char *stack, size_t size, int *fd)
{
	if (__atomic_load_n(&clone3_state, __ATOMIC_RELAXED) >= 0) {
		struct sl_clone_args args;
		memset(&args, 0, sizeof args);
		args.flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD | CLONE_CLEAR_SIGHAND;
		args.pidfd = (uint64_t)(uintptr_t)fd;
		args.exit_signal = 0;
		args.stack = (uint64_t)(uintptr_t)stack;
		args.stack_size = size;
		c->cleared = 1;
		long pid = sl_clone3_fn(&args, SL_CLONE_ARGS_SIZE_VER0, child_main, c);
		if (pid >= 0) {
			__atomic_store_n(&clone3_state, 1, __ATOMIC_RELAXED);
			return (pid_t)pid;
		}
		if (errno != ENOSYS && errno != EINVAL && errno != EPERM)
			return -1;
		__atomic_store_n(&clone3_state, -1, __ATOMIC_RELAXED);
	}

	/* clone() copies the caller's handlers into the child.  Block every
	 * signal, libc-reserved ones included (glibc's pthread_sigmask would
	 * keep 32 and 33 open), before the child exists: a handler running
	 * there would act on the caller's data from the wrong process.  The
	 * child resets dispositions before it unblocks; the caller gets its
	 * mask back at once. */
	c->cleared = 0;
	sigset_t all, old;
	memset(&all, 0xff, sizeof all);
	if (rawsig_procmask(SIG_BLOCK, &all, &old) < 0)
		return -1;
	pid_t pid = clone(child_main, stack + size, CLONE_VM | CLONE_VFORK | CLONE_PIDFD, c, fd);
	int e = errno;
	rawsig_procmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return pid;
}

static int spawn(int *pidfd, const char *path, char *const argv[], char *const envp[],
		 const struct pdspawn_attr *attr)
{
	static const struct pdspawn_attr none;
	if (!pidfd || !path || !argv)
		return EINVAL;
	if (!attr)
		attr = &none;
	if ((attr->nfds && !attr->fds) || (attr->flags & ~PDSPAWN_INHERIT_IGNORED))
		return EINVAL;

	/* A parent_fd that is not open is found by the child (EBADF from
	 * dup2 or fcntl) and reported like any failed set-up. */
	int top = 2, direct = 1;
	for (size_t i = 0; i < attr->nfds; i++) {
		const struct pdspawn_fd *m = &attr->fds[i];
		if (m->parent_fd < 0 || m->child_fd < 0)
			return EBADF;
		for (size_t j = 0; j < attr->nfds; j++) {
			if (j < i && attr->fds[j].child_fd == m->child_fd)
				return EINVAL; /* two files for one number */
			if (j != i && attr->fds[j].parent_fd == m->child_fd)
				direct = 0; /* dup2 to m would overwrite entry j's source */
		}
		if (m->parent_fd > top)
			top = m->parent_fd;
		if (m->child_fd > top)
			top = m->child_fd;
	}
	if ((size_t)top + 1 + attr->nfds > INT_MAX)
		return EBADF;
	if (!have_waitid_pidfd())
		return ENOSYS;

	sigset_t empty;
	sigemptyset(&empty);
	struct child c = {path,	 argv, envp ? envp : environ, attr, attr->sigmask ? attr->sigmask : &empty,
			  top + 1, direct, 0, 0};
	_Alignas(16) char stack[CHILD_STACK_SIZE];

	int fd = -1;
	pid_t pid = start_child(&c, stack, sizeof stack, &fd);
#ifdef __SANITIZE_ADDRESS__
	/* The child's instrumented frames poisoned redzones inside STACK and
	 * never returned to unpoison them; ASan would later take this memory,
	 * reused by the caller's frames, for an overflow. */
	__asan_unpoison_memory_region(stack, sizeof stack);
#endif
	if (pid < 0)
		return errno == EINVAL || errno == ENOSYS ? ENOSYS : errno;
	if (fd < 0) {
		/* A kernel older than 5.2 ignores the unknown flag: no pidfd,
		 * so no way to give the child to the caller. */
		if (!c.err)
			kill(pid, SIGKILL);
		while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
			;
		return ENOSYS;
	}
	if (c.err) {
		/* The child has exited: reap it so that none remains. */
		reap_pidfd(fd);
		close(fd);
		return c.err;
	}
	*pidfd = fd;
	return 0;
}

int pdspawn(int *pidfd, const char *path, char *const argv[], char *const envp[],
	    const struct pdspawn_attr *attr)
{
	int saved = errno;
	int r = spawn(pidfd, path, argv, envp, attr);
	errno = saved;
	return r;
}

/* Milliseconds from now to DEADLINE, rounded up, at least 0. */
static int ms_until(const struct timespec *deadline)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	int64_t ns = (int64_t)(deadline->tv_sec - now.tv_sec) * 1000000000 + (deadline->tv_nsec - now.tv_nsec);
	if (ns <= 0)
		return 0;
	int64_t ms = (ns + 999999) / 1000000;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

static int wait_exit(int pidfd, int timeout_ms)
{
	struct timespec deadline = {0, 0};
	if (timeout_ms >= 0) {
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += timeout_ms / 1000;
		deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
		if (deadline.tv_nsec >= 1000000000) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000;
		}
	}
	struct pollfd p = {pidfd, POLLIN, 0};
	int left = timeout_ms < 0 ? -1 : timeout_ms;
	for (;;) {
		int n = poll(&p, 1, left);
		if (n > 0)
			return p.revents & POLLNVAL ? EBADF : 0;
		if (n == 0)
			return ETIMEDOUT;
		if (errno != EINTR)
			return errno;
		if (timeout_ms >= 0)
			left = ms_until(&deadline);
	}
}

int pdspawn_wait(int pidfd, int timeout_ms, siginfo_t *info)
{
	int saved = errno;
	siginfo_t local;
	if (!info)
		info = &local;
	int r = wait_exit(pidfd, timeout_ms);
	if (r == 0) {
		memset(info, 0, sizeof *info);
		while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, info, WEXITED | __WALL) < 0) {
			if (errno != EINTR) {
				r = errno;
				break;
			}
		}
	}
	errno = saved;
	return r;
}

int pdspawn_kill(int pidfd, int sig)
{
	int saved = errno;
	int r = sl_pidfd_send_signal(pidfd, sig, NULL, 0) < 0 ? errno : 0;
	errno = saved;
	return r;
}

pid_t pdspawn_pid(int pidfd)
{
	return sl_pidfd_pid(pidfd);
}
