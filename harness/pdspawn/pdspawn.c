/* pdspawn.c: the reference descriptor-based spawn; see pdspawn.h and
 * pdspawn(3).
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
 * system calls (no libc wrapper, so no cancellation point and no
 * sanitizer interceptor), touches nothing but its own stack and the struct
 * below, and never returns into the caller's code.
 *
 * The child runs on a stack of its own (struct region), not in the
 * caller's frame: a thread with a stack of PTHREAD_STACK_MIN can spawn.
 * Regions are kept for reuse, so that a spawn costs no mmap/munmap.
 *
 * What a spawn costs beyond a bare vfork+execve (measured by `make bench`,
 * cases/bench): the pidfd, one close_range, a dup2 per fd, one
 * rt_sigprocmask and 62 rt_sigaction calls.  The last are the price of
 * promise 6: the kernel has no call that resets ignored signals in bulk
 * (CLONE_CLEAR_SIGHAND resets handlers but keeps SIG_IGN, kernel/fork.c
 * copy_sighand -> flush_signal_handlers(tsk, 0); execve does the same),
 * and no cheaper way to learn which signals are ignored (see
 * reset_signals). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The library is compiled with hidden visibility: the API alone is exported. */
#pragma GCC visibility push(default)
#include "pdspawn/pdspawn.h"
#pragma GCC visibility pop

#include "sys/clone_fn.h"
#include "sys/rawsig.h"
#include "sys/sys.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) && !defined(__SANITIZE_ADDRESS__)
#define __SANITIZE_ADDRESS__ 1
#endif
#endif
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#endif

extern char **environ;

/* ---- the child's memory ---------------------------------------------------
 * A region is [guard page][stack][plan]: the child's stack, with a
 * PROT_NONE page below it so that an overflow faults instead of writing
 * into a neighbour, and above the stack's top the plan, one int per map
 * entry, which the child needs for a map that must be ordered (see
 * order_fds).  The child itself needs well under 2 KiB of stack (a few
 * frames ending in raw system calls); 32 KiB is what glibc's posix_spawn
 * gives its child, and leaves room for sanitizer redzones; untouched
 * pages cost nothing.  Regions with room for POOL_FDS entries are kept in a small
 * pool and reused; a spawn finds one with an atomic exchange per slot, so
 * concurrent spawns in several threads need no lock, and only a spawn that
 * finds the pool empty (or a map larger than POOL_FDS) maps and unmaps
 * one.  At most POOL_SLOTS regions stay mapped for the life of the
 * process. */
#define STACK_SIZE (32 * 1024)
#define POOL_FDS 1024
#define POOL_SLOTS 4

struct region {
	char *base;   /* the mapping, guard page first */
	size_t len;
	char *top;    /* the stack's top, 16-byte aligned; the plan starts here */
	int pooled;   /* the pool's size, so it may go back there */
};

static struct region *pool[POOL_SLOTS];

/* A region with plan room for NFDS entries; the struct lives at its end. */
static struct region *region_new(size_t nfds)
{
	/* getpagesize, not sysconf: glibc's sysconf takes kilobytes of the
	 * caller's stack, which a PTHREAD_STACK_MIN thread does not have. */
	size_t pg = (size_t)getpagesize();
	size_t plan = (nfds * sizeof(int) + sizeof(struct region) + 15) & ~(size_t)15;
	size_t len = (pg + STACK_SIZE + plan + pg - 1) & ~(pg - 1);
	char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	if (mprotect(m, pg, PROT_NONE) < 0) {
		int e = errno;
		munmap(m, len);
		errno = e;
		return NULL;
	}
	struct region *r = (struct region *)(void *)(m + len - sizeof(struct region));
	r->base = m;
	r->len = len;
	r->top = m + pg + STACK_SIZE;
	r->pooled = nfds == POOL_FDS;
	return r;
}

static struct region *region_get(size_t nfds)
{
	if (nfds <= POOL_FDS)
		for (int i = 0; i < POOL_SLOTS; i++) {
			struct region *r = __atomic_exchange_n(&pool[i], NULL, __ATOMIC_ACQUIRE);
			if (r)
				return r;
		}
	return region_new(nfds <= POOL_FDS ? POOL_FDS : nfds);
}

static void region_put(struct region *r)
{
#ifdef __SANITIZE_ADDRESS__
	/* The child's instrumented frames poisoned redzones in the stack and
	 * never returned to unpoison them. */
	__asan_unpoison_memory_region(r->top - STACK_SIZE, STACK_SIZE);
#endif
	if (r->pooled)
		for (int i = 0; i < POOL_SLOTS; i++) {
			struct region *none = NULL;
			if (__atomic_compare_exchange_n(&pool[i], &none, r, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
				return;
		}
	munmap(r->base, r->len);
}

/* ---- the child --------------------------------------------------------- */

/* What the parent tells the child, and the one word the child answers
 * with.  Shared because of CLONE_VM. */
struct child {
	const char *path;
	char *const *argv;
	char *const *envp;
	const struct pdspawn_attr *attr;
	const sigset_t *mask; /* attr->sigmask or an empty set */
	int *plan;            /* per-entry source while ordering; NULL: direct */
	int cleared;          /* created with CLONE_CLEAR_SIGHAND */
	int err;              /* errno of the failed step; 0 if none */
};

/* Raw system calls for the child: glibc's wrappers for close, fcntl and
 * others are cancellation points, which act on the caller's thread state
 * (the child runs with the caller's TLS), and a sanitizer may intercept
 * them.  dup3 with no flags stands for dup2, which newer architectures
 * (arm64, riscv) do not have; the two numbers always differ here. */
#define SYS(...) syscall(__VA_ARGS__)

static int sys_close_range(unsigned first, unsigned last, unsigned flags)
{
#ifdef PDSPAWN_NO_CLOSE_RANGE
	/* Tests hold the library to the paths of a kernel before 5.9. */
	(void)first;
	(void)last;
	(void)flags;
	errno = ENOSYS;
	return -1;
#else
	return (int)SYS(__NR_close_range, first, last, flags);
#endif
}

/* Every disposition to SIG_DFL, or SIG_IGN for attr->sigignore; with
 * PDSPAWN_INHERIT_IGNORED the ignored ones stay, and where the kernel has
 * already reset the handlers only attr->sigignore needs a call.
 * Dispositions are set with the raw system call (rawsig.h) so that every
 * signal can be reset, including the ones a libc reserves for itself
 * (glibc's sigaction() refuses 32 and 33, musl's 32 to 34).  Setting all
 * 62 costs less than learning which are ignored: rt_sigaction is ~0.1 us
 * a call, while the child's own /proc/thread-self/status (SigIgn) costs
 * 17-20 us to open and read, procfs building the entries of a new pid
 * (measured in the child, 2 cores, Linux 6.18: 62 calls 7 us). */
static int reset_signals(const struct child *c)
{
	const struct pdspawn_attr *a = c->attr;
	int inherit = (a->flags & PDSPAWN_INHERIT_IGNORED) != 0;
	for (int sig = 1; sig < _NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		int ignore = a->sigignore && rawsig_has(a->sigignore, sig);
		if (inherit && !ignore) {
			/* Keep what is ignored, drop a handler; after
			 * CLONE_CLEAR_SIGHAND no handler is left. */
			if (c->cleared)
				continue;
			void (*h)(int);
			if (rawsig_get(sig, &h) < 0)
				return -1;
			if (h == SIG_IGN || h == SIG_DFL)
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
 * fd can have been opened since the limit was set, or above the highest
 * child_fd, whichever is higher; bounded at 2^20, the kernel's default
 * nr_open. */
static int close_fds(unsigned first, unsigned last, unsigned top)
{
	if (first > last)
		return 0;
	if (sys_close_range(first, last, 0) == 0)
		return 0;
	if (errno != ENOSYS)
		return -1;
	struct {
		uint64_t cur, max; /* struct rlimit64, whatever the libc's rlimit is */
	} rl;
	if (SYS(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &rl) == 0 && rl.cur > top)
		top = rl.cur > (1U << 20) ? (1U << 20) : (unsigned)rl.cur;
	for (unsigned fd = first; fd <= last && fd < top; fd++)
		SYS(SYS_close, fd);
	return 0;
}

/* Close every fd that is not a child_fd of the map: the gaps between
 * them, then everything above the highest.  Quadratic in the map, which
 * saves sorting it in memory the child would have to own. */
static int close_unmapped(const struct pdspawn_fd *fds, size_t n)
{
	unsigned lo = 0, top = 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned)fds[i].child_fd + 1 > top)
			top = (unsigned)fds[i].child_fd + 1;
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

static int is_target(const struct pdspawn_fd *fds, size_t n, int fd)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i].child_fd == fd)
			return 1;
	return 0;
}

/* Whether an entry other than SKIP still has to read FD. */
static int still_read(const int *plan, size_t n, size_t skip, int fd)
{
	for (size_t i = 0; i < n; i++)
		if (i != skip && plan[i] == fd)
			return 1;
	return 0;
}

/* A close-on-exec copy of FD at the lowest free number that is no
 * child_fd, so below RLIMIT_NOFILE whenever the table has room.  A copy
 * that lands on a child_fd not yet written is left there (the dup2 that
 * writes it replaces it) and the next number is tried. */
static int copy_low(int fd, const struct pdspawn_fd *fds, size_t n)
{
	int from = 0;
	for (size_t tries = 0; tries <= n; tries++) {
		int t = (int)SYS(SYS_fcntl, fd, F_DUPFD_CLOEXEC, from);
		if (t < 0 || !is_target(fds, n, t))
			return t;
		from = t + 1;
	}
	errno = EMFILE;
	return -1;
}

/* The pending entry that writes FD's number, or N. */
static size_t writer_of(const struct pdspawn_fd *fds, const int *plan, size_t n, int fd)
{
	for (size_t i = 0; i < n; i++)
		if (plan[i] >= 0 && fds[i].child_fd == fd)
			return i;
	return n;
}

/* A map where some child_fd is another entry's parent_fd (a swap, a
 * chain): dup2 onto a number only once no remaining entry reads it.  When
 * every remaining entry waits for another (cycles), one source is copied
 * out of the way with copy_low and the entries that read it read the copy,
 * which is closed once the last of them is done: a cycle costs one free
 * fd, a chain none.  PLAN[i] is entry i's current source, -1 once done.
 * Completing an entry frees its source's number, so the entry that writes
 * that number is tried next: a chain takes one round whatever its order.
 * Each round completes an entry or breaks a cycle, so the rounds are
 * bounded by twice the map's size. */
static int order_fds(const struct child *c)
{
	const struct pdspawn_fd *m = c->attr->fds;
	size_t n = c->attr->nfds;
	int *plan = c->plan;
	/* Every parent_fd must be open before any number moves: a copy
	 * could otherwise take the number of one that is not, and be read
	 * in its place. */
	for (size_t i = 0; i < n; i++) {
		if (SYS(SYS_fcntl, m[i].parent_fd, F_GETFD) < 0)
			return -1;
		plan[i] = m[i].parent_fd;
	}
	/* An entry that keeps its number overwrites nothing. */
	for (size_t i = 0; i < n; i++)
		if (m[i].parent_fd == m[i].child_fd) {
			if (SYS(SYS_fcntl, m[i].child_fd, F_SETFD, 0) < 0)
				return -1;
			plan[i] = -1;
		}
	for (size_t round = 0; round <= 2 * n + 1; round++) {
		int pending = 0, progress = 0;
		for (size_t i = 0; i < n; i++) {
			size_t k = i;
			while (k < n && plan[k] >= 0 && !still_read(plan, n, k, m[k].child_fd)) {
				int src = plan[k];
				if (SYS(SYS_dup3, src, m[k].child_fd, 0) < 0)
					return -1;
				plan[k] = -1;
				progress = 1;
				/* A copy (no entry's parent_fd) nobody reads any more. */
				int original = 0;
				for (size_t j = 0; j < n && !original; j++)
					original = m[j].parent_fd == src;
				if (!original && !still_read(plan, n, n, src))
					SYS(SYS_close, src);
				k = writer_of(m, plan, n, src);
			}
			pending |= plan[i] >= 0;
		}
		if (!pending)
			return 0;
		if (!progress) {
			size_t i = 0;
			while (plan[i] < 0)
				i++;
			int busy = m[i].child_fd, t = copy_low(busy, m, n);
			if (t < 0)
				return -1;
			for (size_t k = 0; k < n; k++)
				if (plan[k] == busy)
					plan[k] = t;
		}
	}
	errno = EDEADLK; /* not reached: every round makes progress */
	return -1;
}

/* The child's fd table is exactly the map.  Every fd is first marked
 * close-on-exec in one call (close_range CLOSE_RANGE_CLOEXEC, 5.11), so
 * that execve closes whatever the steps below do not create; dup2 clears
 * the flag on the fds it creates, and fcntl clears it on an entry that
 * keeps its number.  Without CLOSE_RANGE_CLOEXEC, everything outside the
 * map, copies included, is closed instead. */
static int build_fd_table(const struct child *c)
{
	const struct pdspawn_attr *a = c->attr;
	int marked = sys_close_range(0, ~0U, CLOSE_RANGE_CLOEXEC) == 0;
	if (!marked && errno != EINVAL && errno != ENOSYS)
		return -1;
	if (c->plan) {
		if (order_fds(c) < 0)
			return -1;
	} else {
		for (size_t i = 0; i < a->nfds; i++) {
			const struct pdspawn_fd *m = &a->fds[i];
			long r = m->parent_fd == m->child_fd ? SYS(SYS_fcntl, m->child_fd, F_SETFD, 0)
							     : SYS(SYS_dup3, m->parent_fd, m->child_fd, 0);
			if (r < 0)
				return -1;
		}
	}
	if (!marked && close_unmapped(a->fds, a->nfds) < 0)
		return -1;
	return 0;
}

static int child_main(void *arg)
{
	struct child *c = arg;
	const struct pdspawn_attr *a = c->attr;

	/* No handler of the caller can run here, on shared memory: either
	 * the kernel reset every handler at clone (CLONE_CLEAR_SIGHAND), or
	 * every signal is blocked until the dispositions below are set. */
	if (reset_signals(c) < 0)
		goto fail;

	if (build_fd_table(c) < 0)
		goto fail;

	if (a->cwd && SYS(SYS_chdir, a->cwd) < 0)
		goto fail;
	/* Unblock last: from here on a signal meets only SIG_DFL or SIG_IGN. */
	if (rawsig_procmask(SIG_SETMASK, c->mask, NULL) < 0)
		goto fail;
	SYS(SYS_execve, c->path, c->argv, c->envp);
fail:
	/* errno is the parent thread's (same TLS under CLONE_VM); pdspawn()
	 * restores it. */
	c->err = errno ? errno : EIO;
	SYS(SYS_exit_group, 127);
	return 127;
}

/* ---- the parent -------------------------------------------------------- */

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

/* Start the child on the stack whose top is TOP, storing its pidfd in
 * *FD.  Returns its pid or -1 with errno. */
static pid_t start_child(struct child *c, char *top, int *fd)
{
	if (__atomic_load_n(&clone3_state, __ATOMIC_RELAXED) >= 0) {
		struct sl_clone_args args;
		memset(&args, 0, sizeof args);
		args.flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD | CLONE_CLEAR_SIGHAND;
		args.pidfd = (uint64_t)(uintptr_t)fd;
		args.exit_signal = 0;
		args.stack = (uint64_t)(uintptr_t)(top - STACK_SIZE);
		args.stack_size = STACK_SIZE;
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
	pid_t pid = clone(child_main, top, CLONE_VM | CLONE_VFORK | CLONE_PIDFD, c, fd);
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
	int direct = 1;
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
	}
	if (!have_waitid_pidfd())
		return ENOSYS;

	struct region *r = region_get(direct ? 0 : attr->nfds);
	if (!r)
		return errno;
	sigset_t empty;
	sigemptyset(&empty);
	struct child c = {path, argv, envp ? envp : environ, attr, attr->sigmask ? attr->sigmask : &empty,
			  direct ? NULL : (int *)(void *)r->top, 0, 0};

	int fd = -1;
	pid_t pid = start_child(&c, r->top, &fd);
	int e = errno;
	region_put(r);
	if (pid < 0)
		return e == EINVAL || e == ENOSYS ? ENOSYS : e;
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
		/* The child has exited, before exec, so with exit signal 0:
		 * no SIGCHLD, no auto-reaping, and invisible to waitpid(-1).
		 * Reap it so that none remains. */
		reap_pidfd(fd);
		close(fd);
		return c.err;
	}
	*pidfd = fd;
	return 0;
}

/* Cancellation is disabled across the call, as glibc's and musl's
 * posix_spawn do: the waitid and close that clean up after a failed exec
 * are cancellation points, and a thread cancelled there would leak the
 * pidfd and leave the child a zombie. */
int pdspawn(int *pidfd, const char *path, char *const argv[], char *const envp[],
	    const struct pdspawn_attr *attr)
{
	int saved = errno, cs;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	int r = spawn(pidfd, path, argv, envp, attr);
	pthread_setcancelstate(cs, NULL);
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

/* Wait for the pidfd to become readable: the one cancellation point of
 * pdspawn_wait(), where a cancel costs nothing (the child stays, unreaped). */
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

/* The status of a child the kernel reaped by itself, which it does when
 * the caller's SIGCHLD is SIG_IGN or has SA_NOCLDWAIT (the exec'd child's
 * exit signal is SIGCHLD again): nobody received it, and PIDFD_GET_INFO
 * with PIDFD_INFO_EXIT (6.15+) has kept it with the pidfd.  A child a
 * wait() or waitpid(-1) elsewhere took, or an earlier pdspawn_wait(), is
 * ECHILD as with waitid(2): its status went to that caller.  0 with *INFO
 * filled (si_pid 0: the pid is gone), or ECHILD. */
static int reaped_by_kernel(int pidfd, siginfo_t *info)
{
	struct sigaction sa;
	if (sigaction(SIGCHLD, NULL, &sa) < 0 || !(sa.sa_handler == SIG_IGN || (sa.sa_flags & SA_NOCLDWAIT)))
		return ECHILD;
	struct sl_pidfd_info pi;
	memset(&pi, 0, sizeof pi);
	pi.mask = SL_PIDFD_INFO_EXIT;
	if (ioctl(pidfd, SL_PIDFD_GET_INFO, &pi) < 0 || !(pi.mask & SL_PIDFD_INFO_EXIT))
		return ECHILD;
	int st = pi.exit_code;
	info->si_signo = SIGCHLD;
	if (WIFEXITED(st)) {
		info->si_code = CLD_EXITED;
		info->si_status = WEXITSTATUS(st);
	} else if (WIFSIGNALED(st)) {
		info->si_code = WCOREDUMP(st) ? CLD_DUMPED : CLD_KILLED;
		info->si_status = WTERMSIG(st);
	} else {
		return ECHILD;
	}
	return 0;
}

int pdspawn_wait(int pidfd, int timeout_ms, siginfo_t *info)
{
	int saved = errno;
	siginfo_t local;
	if (!info)
		info = &local;
	int r = wait_exit(pidfd, timeout_ms);
	if (r == 0) {
		/* Reaping is not interrupted by a cancel: the status would be
		 * lost with the thread. */
		int cs;
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
		memset(info, 0, sizeof *info);
		while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, info, WEXITED | __WALL) < 0) {
			if (errno != EINTR) {
				r = errno == ECHILD ? reaped_by_kernel(pidfd, info) : errno;
				break;
			}
		}
		pthread_setcancelstate(cs, NULL);
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
