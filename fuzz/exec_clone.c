/* exec_clone.c: the executor's clone mode: one clone3 and/or one legacy
 * clone per request, exactly as the target decoded it, and the child
 * reaped before the answer.
 *
 * Safety, since any flag the kernel accepts is made:
 *  - the call is inline assembly whose child branch is nothing but
 *    exit(0) (SYS_exit, not exit_group, so a CLONE_THREAD child ends only
 *    itself): the child never touches memory, which makes CLONE_VM without
 *    a stack, CLONE_SETTLS, CLONE_SIGHAND, CLONE_VFORK and CLONE_THREAD
 *    harmless; CLONE_VM requests get a stack anyway (clone(2));
 *  - every location the kernel may write for a child (parent_tid,
 *    child_tid, pidfd, the tls word) is static: a CLONE_CHILD_CLEARTID
 *    thread clears its child_tid when it exits, after the answer left;
 *  - every catchable signal but SIGCHLD is ignored and none is blocked, so
 *    a child's exit signal is discarded instead of queued or acted on;
 *  - a call whose child would send SIGKILL or SIGSTOP (its exit signal)
 *    is made by a fork of the executor (a "caller", a few pages to copy),
 *    so that the signal hits the caller: a stopped caller is continued,
 *    and a caller killed during the call proves that the child was
 *    created (the success is inferred).  The executor is a child
 *    subreaper, so the orphans of a killed caller come to it and are
 *    reaped;
 *  - the child is reaped by whoever made the call (blocking: it only
 *    exits); a CLONE_PARENT child of the executor is the target's, one of
 *    a caller is the executor's; a CLONE_THREAD child needs no reaping, a
 *    CLONE_AUTOREAP child (Linux 7.1+) reaps itself;
 *  - the pidfd a call hands back is closed at once;
 *  - SIGCHLD's disposition is checked after every call and put back to
 *    SIG_DFL: a child that shares the caller's handlers (CLONE_SIGHAND)
 *    and is the init of a new pid namespace (CLONE_NEWPID) sets SIGCHLD to
 *    SIG_IGN in that shared table when it exits (kernel/pid_namespace.c
 *    zap_pid_ns_processes), after which every child of the caller would
 *    be reaped by the kernel.  The answer says so (sigchld_ign). */
#include "exec_modes.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sys/rawsig.h"
#include "sys/sys.h"

#define STACK_SIZE (64 * 1024)
#define ARGS_BUF 8192
#define BAD_FD 1000

#if defined(__x86_64__)

static int cg_root = -1, cg_null = -1;
static char *stack_mem;
static volatile int ptid, ctid, pidfd_word;
static int tids[40];
static uint8_t argsbuf[ARGS_BUF];

/* What a caller (a fork of the executor) leaves for it. */
struct caller_page {
	volatile int state; /* 1 calling, 2 returned */
	struct exec_clone_call call;
};
static struct caller_page *page;

/* clone3 and clone with a child that only calls exit(0). */
static long raw_clone3(void *args, size_t size)
{
	long ret;
	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "mov $60, %%eax\n\t"
			 "xor %%edi, %%edi\n\t"
			 "syscall\n\t"
			 "ud2\n"
			 "1:\n\t"
			 : "=a"(ret)
			 : "0"(435L), "D"(args), "S"(size)
			 : "rcx", "r11", "memory");
	return ret;
}

static long raw_clone(unsigned long flags, void *sp, volatile int *ptidp, volatile int *ctidp, unsigned long tls)
{
	long ret;
	register long r10 __asm__("r10") = (long)ctidp;
	register long r8 __asm__("r8") = (long)tls;
	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "mov $60, %%eax\n\t"
			 "xor %%edi, %%edi\n\t"
			 "syscall\n\t"
			 "ud2\n"
			 "1:\n\t"
			 : "=a"(ret)
			 : "0"(56L), "D"(flags), "S"(sp), "d"(ptidp), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	return ret;
}

int exec_clone_init(struct exec_hello *h, char *err, size_t errlen)
{
	(void)h;
	/* Raw calls: the libc's reserved signals too, whose default action
	 * (terminate) an exit signal of 32 or 33 would otherwise take. */
	if (rawsig_reset_all() < 0)
		return snprintf(err, errlen, "signal reset: %s", strerror(errno)), -1;
	for (int sig = 1; sig < 65; sig++)
		if (sig != SIGKILL && sig != SIGSTOP && sig != SIGCHLD && rawsig_set(sig, SIG_IGN) < 0)
			return snprintf(err, errlen, "ignoring signal %d: %s", sig, strerror(errno)), -1;
	stack_mem = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (stack_mem == MAP_FAILED)
		return snprintf(err, errlen, "mmap: %s", strerror(errno)), -1;
	/* The cgroup2 directory CLONE_INTO_CGROUP aims at: $SPAWNLAB_FUZZ_CGROUP
	 * (fuzz/kernel-replay mounts one of its own), else /sys/fs/cgroup. */
	const char *cg = getenv("SPAWNLAB_FUZZ_CGROUP");
	cg_root = open(cg && *cg ? cg : "/sys/fs/cgroup", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cg_null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (cg_null < 0)
		return snprintf(err, errlen, "/dev/null: %s", strerror(errno)), -1;
	close(BAD_FD); /* the bad-fd cgroup request must name no fd */
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		return snprintf(err, errlen, "mmap: %s", strerror(errno)), -1;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return snprintf(err, errlen, "PR_SET_CHILD_SUBREAPER: %s", strerror(errno)), -1;
	return 0;
}

/* SIGCHLD back to SIG_DFL; 1 when it was SIG_IGN. */
static int sigchld_restore(void)
{
	void (*h)(int) = SIG_DFL;
	if (rawsig_get(SIGCHLD, &h) < 0 || h == SIG_DFL)
		return 0;
	rawsig_set(SIGCHLD, SIG_DFL);
	return h == SIG_IGN;
}

static void reap(long pid, uint64_t used)
{
	if (pid <= 0 || (used & (CLONE_PARENT | CLONE_THREAD)))
		return;
	siginfo_t si;
	while (waitid(P_PID, (id_t)pid, &si, WEXITED | __WALL) < 0 && errno == EINTR)
		;
}

static void drop_pidfd(long ret, uint64_t used)
{
	if (ret > 0 && (used & CLONE_PIDFD) && pidfd_word >= 0 && pidfd_word != EXEC_CTL_FD)
		close(pidfd_word);
}

static void one_clone3(const struct clone_req *r, struct exec_clone_call *c)
{
	struct sl_clone_args a;
	memset(&a, 0, sizeof a);
	volatile int *pp = r->pidfd_null ? NULL : &pidfd_word;
	int use_stack = (r->flags & CLONE_VM) != 0;
	a.flags = r->flags;
	a.pidfd = (uint64_t)(uintptr_t)pp;
	a.parent_tid = r->pidfd_is_parent_tid && pp ? (uint64_t)(uintptr_t)pp : (uint64_t)(uintptr_t)&ptid;
	a.child_tid = (uint64_t)(uintptr_t)&ctid;
	a.exit_signal = r->exit_signal;
	a.stack = use_stack ? (uint64_t)(uintptr_t)stack_mem : 0;
	a.stack_size = use_stack || r->stack_size_only ? STACK_SIZE : 0;
	a.tls = (uint64_t)(uintptr_t)argsbuf;
	for (int i = 0; i < 40; i++)
		tids[i] = r->set_tid[i < 4 ? i : 3];
	a.set_tid = r->set_tid_null ? 0 : (uint64_t)(uintptr_t)tids;
	a.set_tid_size = r->set_tid_size;
	a.cgroup = r->cgroup == CG_ROOT	       ? (uint64_t)cg_root
		   : r->cgroup == CG_NOT_CGROUP ? (uint64_t)cg_null
		   : r->cgroup == CG_BADFD      ? (uint64_t)BAD_FD
						 : (uint64_t)1 << 40;
	memcpy(argsbuf, &a, sizeof a);
	memset(argsbuf + sizeof a, 0, ARGS_BUF - sizeof a);
	if (r->tail_nonzero && r->size > sizeof a && r->size <= ARGS_BUF)
		argsbuf[r->size - 1] = 1;
	ptid = 0;
	pidfd_word = -1;
	long ret = raw_clone3(argsbuf, (size_t)r->size);
	c->made = 1;
	c->ret = ret;
	c->parent_tid = r->pidfd_is_parent_tid && pp ? pidfd_word : ptid;
	drop_pidfd(ret, r->flags);
	reap(ret, r->flags);
	c->sigchld_ign = sigchld_restore();
}

static void one_legacy(const struct clone_req *r, struct exec_clone_call *c)
{
	uint64_t lf = clone_legacy_flags(r);
	volatile int *pp = r->pidfd_null ? NULL : &pidfd_word;
	volatile int *ptr = (lf & CLONE_PIDFD) ? pp : &ptid;
	ptid = 0;
	pidfd_word = -1;
	long ret = raw_clone((unsigned long)lf, (r->flags & CLONE_VM) ? stack_mem + STACK_SIZE : NULL, ptr, &ctid,
			     (unsigned long)(uintptr_t)argsbuf);
	c->made = 1;
	c->ret = ret;
	c->parent_tid = (lf & CLONE_PIDFD) ? 0 : ptid;
	drop_pidfd(ret, lf);
	reap(ret, lf);
	c->sigchld_ign = sigchld_restore();
}

/* Reap every zombie: the orphans of a killed caller. */
static void sweep(void)
{
	for (int i = 0; i < 64; i++) {
		siginfo_t si;
		memset(&si, 0, sizeof si);
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | __WALL) < 0 || si.si_pid == 0)
			return;
	}
}

typedef void (*call_fn)(const struct clone_req *, struct exec_clone_call *);

/* Make the call in a caller (see the top of the file). */
static void in_caller(call_fn fn, const struct clone_req *r, uint64_t used, uint64_t sig, struct exec_clone_call *c)
{
	memset(page, 0, sizeof *page);
	pid_t pid = fork();
	if (pid < 0) {
		c->made = 0;
		return;
	}
	if (pid == 0) {
		page->state = 1;
		fn(r, &page->call);
		page->state = 2;
		_exit(0);
	}
	siginfo_t si;
	int werr = 0;
	for (;;) {
		memset(&si, 0, sizeof si);
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WSTOPPED | __WALL) < 0) {
			if (errno == EINTR)
				continue;
			werr = errno;
			break;
		}
		if (si.si_code == CLD_STOPPED) {
			kill(pid, SIGCONT);
			continue;
		}
		break;
	}
	if (page->state == 2) {
		*c = page->call;
		c->caller = si.si_code << 8 | si.si_status;
		/* The caller's CLONE_PARENT child is ours. */
		if (c->ret > 0 && (used & CLONE_PARENT) && !(used & CLONE_THREAD))
			reap(c->ret, 0);
	} else if (page->state == 1 && si.si_code == CLD_KILLED && si.si_status == SIGKILL && sig == SIGKILL) {
		c->made = 1;
		c->inferred = 1;
	}
	if (!c->made)
		c->caller = werr << 24 | (page->state << 16) | si.si_code << 8 | si.si_status;
	sweep();
}

static void one(call_fn fn, const struct clone_req *r, uint64_t used, uint64_t sig, struct exec_clone_call *c,
		struct exec_stats *st)
{
	if (sig == SIGKILL || sig == SIGSTOP)
		in_caller(fn, r, used, sig, c);
	else
		fn(r, c);
	st->calls++;
	st->children += c->ret > 0 || c->inferred;
}

void exec_clone_run(const struct exec_clone_req *q, struct exec_clone_res *a, struct exec_stats *st)
{
	memset(a, 0, sizeof *a);
	/* A CLONE_PARENT|CLONE_SIGHAND|CLONE_NEWPID child of the last request
	 * may have ended after that request's check. */
	sigchld_restore();
	if (q->calls & EXEC_CALL_CLONE3)
		one(one_clone3, &q->r, q->r.flags, q->r.exit_signal, &a->c3, st);
	if (q->calls & EXEC_CALL_LEGACY) {
		uint64_t lf = clone_legacy_flags(&q->r);
		one(one_legacy, &q->r, lf, lf & 0xff, &a->legacy, st);
	}
}

#else /* the raw calls are written for x86_64 */

int exec_clone_init(struct exec_hello *h, char *err, size_t errlen)
{
	(void)h;
	snprintf(err, errlen, "clone mode: the raw clone calls are written for x86_64 only");
	return -1;
}

void exec_clone_run(const struct exec_clone_req *q, struct exec_clone_res *a, struct exec_stats *st)
{
	(void)q;
	(void)st;
	memset(a, 0, sizeof *a);
}

#endif
