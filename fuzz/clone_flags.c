/* clone_flags.c (fuzz target): clone3(2) and legacy clone(2) against the
 * model in model_clone.c, and against each other.
 *
 * Input: ctl byte, size selector, 64-bit flags, exit signal, set_tid size
 * and entries, cgroup selector (decode() below; fuzz/make_seeds.py writes
 * the seeds in this layout).
 *
 * Safety.  Every clone call runs in a sacrificial "executor", a plain
 * fork of the fuzzer, so no flag can touch the fuzzer itself:
 *  - the call is made by inline assembly whose child branch is nothing but
 *    exit(0) (SYS_exit, not exit_group, so a CLONE_THREAD child ends only
 *    itself): the child never touches memory or the stack, which makes
 *    CLONE_VM without a stack, CLONE_SETTLS, CLONE_SIGHAND, CLONE_VFORK and
 *    CLONE_THREAD harmless;
 *  - CLONE_VM requests get a stack of their own anyway (clone(2));
 *  - the executor blocks every signal, so a child's exit signal cannot
 *    kill it, except SIGKILL and SIGSTOP: then the executor dies or stops,
 *    which proves that the child was created (the result is inferred and
 *    marked so);
 *  - the executor reaps its own child (blocking: it only exits);
 *    CLONE_PARENT children are the fuzzer's, which waits for that pid
 *    through a pidfd; orphans of a killed executor come to the fuzzer (a
 *    child subreaper; reparenting resets their exit signal to SIGCHLD,
 *    kernel/exit.c reparent_leader) and are swept up as zombies;
 *  - waits are poll(2) on a pidfd, bounded by WAIT_MS, never sleeps;
 *  - namespace flags run as given: the child exits at once.  `make fuzz`
 *    runs the fuzzer in its own pid namespace, so nothing outlives it.
 * A difference is recorded with fuzz_finding_case(); it never aborts unless
 * SPAWNLAB_FUZZ_TRAP=1. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "model_clone.h"
#include "names.h"
#include "sys.h"

#define TARGET "clone_flags"
#define STACK_SIZE (64 * 1024)
#define ARGS_BUF 8192
#define WAIT_MS 3000
/* clone_flags findings stay .bin reproducers: the case language spawns the
 * probe through a backend, it has no step making a raw clone/clone3 call
 * with arbitrary flags, sizes and pointers and checking its errno. */
#define NO_CASE "not expressible as a case: the case language has no raw clone/clone3 call with arbitrary flags, struct size and pointers; replay the .bin"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

#if defined(__x86_64__)

/* The result an executor leaves in memory shared with the fuzzer. */
struct shared {
	volatile int state; /* 0 not started, 1 calling, 2 returned */
	volatile long ret;
	volatile int parent_tid; /* what CLONE_PARENT_SETTID stored */
	volatile int pidfd;      /* what CLONE_PIDFD stored */
};

static struct shared *sh;
static struct clone_env env;
static int cg_root = -1, cg_null = -1;
static const int bad_fd = 1000;
static char *stack_mem;

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

static long raw_clone(unsigned long flags, void *sp, int *ptid, int *ctid, unsigned long tls)
{
	long ret;
	register long r10 __asm__("r10") = (long)ctid;
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
			 : "0"(56L), "D"(flags), "S"(sp), "d"(ptid), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	return ret;
}

static long read_long(const char *path, long def)
{
	FILE *f = fopen(path, "re");
	long v = def;
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = def;
		fclose(f);
	}
	return v;
}

/* CapEff bit 21 (CAP_SYS_ADMIN) and the depth of NSpid.  NSpid lists the
 * levels from the pid namespace of the /proc mount down: under `unshare
 * --pid --mount-proc` it reads 0 at level 1, so fuzz/run.sh does not mount
 * a new /proc (and NS_GET_PARENT cannot look above our own namespace). */
static void read_status(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[512];
	env.privileged = geteuid() == 0;
	env.ns_level = 0;
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "CapEff:", 7) == 0)
			env.privileged = (strtoull(line + 7, NULL, 16) >> 21) & 1;
		else if (strncmp(line, "NSpid:", 6) == 0) {
			int n = 0;
			for (char *s = strtok(line + 6, " \t\n"); s; s = strtok(NULL, " \t\n"))
				n++;
			env.ns_level = n > 0 ? n - 1 : 0;
		}
	}
	fclose(f);
}

static void setup(void)
{
	sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	stack_mem = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED || stack_mem == MAP_FAILED) {
		perror(TARGET ": mmap");
		abort();
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		fuzz_note(TARGET, "PR_SET_CHILD_SUBREAPER failed: orphans go to init");
	read_status();
	env.pid_max = read_long("/proc/sys/kernel/pid_max", 32768);
	cg_root = open("/sys/fs/cgroup", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct statfs sfs;
	env.have_cgroup2 = cg_root >= 0 && fstatfs(cg_root, &sfs) == 0 && sfs.f_type == 0x63677270;
	cg_null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fcntl(bad_fd, F_GETFD) >= 0)
		fuzz_note(TARGET, "fd 1000 is open: the bad-fd cgroup case is not bad");
}

/* Decode the input; the pids in SET_TID are chosen by selector so that
 * "in use", "free" and "out of range" all occur. */
static void decode(struct fz *f, struct clone_req *r)
{
	static const uint64_t sizes[] = {64, 80, 88, 63, 0, 72, 96, 4096, 4097, 65, 8};
	memset(r, 0, sizeof *r);
	uint8_t ctl = fz_u8(f);
	r->size = sizes[fz_u8(f) % (sizeof sizes / sizeof *sizes)];
	r->flags = fz_u64(f);
	r->exit_signal = fz_u8(f);
	if (ctl & 0x20)
		r->exit_signal |= (uint64_t)fz_u32(f) << 8;
	r->pidfd_null = ctl & 1;
	r->pidfd_is_parent_tid = !!(ctl & 2);
	r->tail_nonzero = !!(ctl & 4);
	r->stack_size_only = !!(ctl & 8);
	r->set_tid_size = fz_u8(f) % 40;
	/* the pointer goes with a non-zero size unless ctl bit 4 says otherwise */
	r->set_tid_null = (r->set_tid_size == 0) ^ !!(ctl & 0x10);
	for (int i = 0; i < 4; i++) {
		uint8_t s = fz_u8(f);
		switch (s % 8) {
		case 0: r->set_tid[i] = 0; break;
		case 1: r->set_tid[i] = 1; break;
		case 2: r->set_tid[i] = getpid(); break;
		case 3: r->set_tid[i] = (int)env.pid_max; break;
		case 4: r->set_tid[i] = -1; break;
		default: r->set_tid[i] = (int)env.pid_max - 1 - (s >> 3); break;
		}
	}
	r->cgroup = fz_u8(f) % 4;
}

struct outcome {
	int err;      /* 0 or errno */
	int inferred; /* success inferred from the executor's death or stop */
	int checked_tid_ok;
	long ret;
};

/* Wait for our child PID to exit, up to MS milliseconds, without polling:
 * a pidfd becomes readable when its process exits, so poll(2) returns at
 * once.  A pidfd does not report a stop, so the wait is cut into growing
 * slices and a stopped PID (an exit signal of SIGSTOP stops the executor)
 * is SIGKILLed.  Returns the signal that killed or stopped it, 0 when it
 * exited, -1 when it could not be waited for or was late (then killed). */
static int wait_pid(pid_t pid, int ms)
{
	int pfd = sl_pidfd_open(pid, 0), sig = 0, slice = 2, waited = 0;
	for (;;) {
		siginfo_t si;
		memset(&si, 0, sizeof si);
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WSTOPPED | WNOHANG | __WALL) < 0) {
			if (errno == EINTR)
				continue;
			sig = -1;
			break;
		}
		if (si.si_pid == pid && si.si_code == CLD_STOPPED) {
			sig = si.si_status;
			kill(pid, SIGKILL);
			continue;
		}
		if (si.si_pid == pid) {
			if (!sig)
				sig = si.si_code == CLD_EXITED ? 0 : si.si_status;
			break;
		}
		if (waited >= ms) {
			fuzz_note(TARGET, "a child did not finish in time: killed");
			kill(pid, SIGKILL);
			sig = -1;
			slice = 10;
		}
		if (pfd >= 0) {
			struct pollfd p = {pfd, POLLIN, 0};
			if (poll(&p, 1, slice) < 0 && errno != EINTR)
				pfd = -1;
		} else {
			struct timespec ts = {0, slice * 1000000L};
			nanosleep(&ts, NULL);
		}
		waited += slice;
		if (slice < 256)
			slice *= 2;
	}
	if (pfd >= 0)
		close(pfd);
	return sig;
}

/* Reap what is left: a CLONE_PARENT child is ours (KNOWN, when the call
 * returned), and the orphans of a killed executor come to us (we are a
 * subreaper), by then already exited.  The sweep takes zombies only: it must
 * not wait for children that are not the target's (libFuzzer keeps an
 * llvm-symbolizer child running once it prints NEW_FUNC; waiting for it cost
 * 2 s per input).  An orphan still running is reaped by a later sweep. */
static void reap_all(pid_t known)
{
	if (known > 0)
		wait_pid(known, WAIT_MS);
	for (int i = 0; i < 64; i++) {
		siginfo_t si;
		memset(&si, 0, sizeof si);
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | __WALL) < 0 || si.si_pid == 0)
			return; /* ECHILD, or only running children left */
	}
}

/* Run one call (LEGACY or clone3) of R in an executor. */
static void run_call(const struct clone_req *r, int legacy, struct outcome *o)
{
	static uint8_t argsbuf[ARGS_BUF];
	memset(o, 0, sizeof *o);
	memset((void *)sh, 0, sizeof *sh);
	sh->pidfd = -1;
	pid_t ex = fork();
	if (ex < 0) {
		fuzz_note(TARGET, "fork of the executor failed");
		o->err = -1;
		return;
	}
	if (ex == 0) {
		sigset_t all;
		sigfillset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		int ptid = 0, ctid = 0, pidfd = -1;
		int *pp = r->pidfd_null ? NULL : &pidfd;
		int use_stack = (r->flags & CLONE_VM) != 0;
		long ret;
		sh->state = 1;
		if (legacy) {
			uint64_t lf = clone_legacy_flags(r);
			int *ptr = (lf & CLONE_PIDFD) ? pp : &ptid;
			ret = raw_clone((unsigned long)lf, use_stack ? stack_mem + STACK_SIZE : NULL, ptr, &ctid,
					(unsigned long)(uintptr_t)argsbuf);
			if (lf & CLONE_PIDFD)
				pidfd = ptr ? *ptr : -1, ptid = 0;
		} else {
			struct sl_clone_args a;
			static int tids[40];
			memset(&a, 0, sizeof a);
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
			a.cgroup = r->cgroup == CG_ROOT	     ? (uint64_t)cg_root
				   : r->cgroup == CG_NOT_CGROUP ? (uint64_t)cg_null
				   : r->cgroup == CG_BADFD      ? (uint64_t)bad_fd
							       : (uint64_t)1 << 40;
			memcpy(argsbuf, &a, sizeof a);
			memset(argsbuf + sizeof a, 0, ARGS_BUF - sizeof a);
			if (r->tail_nonzero && r->size > sizeof a && r->size <= ARGS_BUF)
				argsbuf[r->size - 1] = 1;
			ret = raw_clone3(argsbuf, (size_t)r->size);
			if (r->pidfd_is_parent_tid && pp)
				ptid = pidfd;
		}
		sh->ret = ret;
		sh->parent_tid = ptid;
		sh->pidfd = pidfd;
		sh->state = 2;
		/* Reap our own child here, blocking: it only exits, and the
		 * fuzzer then has nothing left to look for.  A CLONE_PARENT
		 * child is the fuzzer's, a CLONE_THREAD child ends with us. */
		uint64_t used = legacy ? clone_legacy_flags(r) : r->flags;
		if (ret > 0 && !(used & (CLONE_PARENT | CLONE_THREAD))) {
			siginfo_t si;
			while (waitid(P_PID, (id_t)ret, &si, WEXITED | __WALL) < 0 && errno == EINTR)
				;
		}
		_exit(0);
	}
	int sig = wait_pid(ex, WAIT_MS);
	uint64_t used = legacy ? clone_legacy_flags(r) : r->flags;
	reap_all(sh->state == 2 && sh->ret > 0 && (used & CLONE_PARENT) && !(used & CLONE_THREAD) ? (pid_t)sh->ret
												      : 0);
	if (sh->state == 2) {
		o->ret = sh->ret;
		o->err = sh->ret < 0 ? (int)-sh->ret : 0;
	} else if (sh->state == 1 && (sig == SIGKILL || sig == SIGSTOP) &&
		   (uint64_t)sig == (legacy ? (clone_legacy_flags(r) & 0xff) : r->exit_signal)) {
		o->inferred = 1; /* only a created child can send its exit signal */
	} else {
		o->err = -1;
		fuzz_note(TARGET, "an executor died before the call returned");
	}
}

static void describe(char *buf, size_t len, const struct clone_req *r)
{
	snprintf(buf, len,
		 "flags=%#llx exit_signal=%#llx size=%llu tail_nonzero=%d pidfd_null=%d pidfd_is_parent_tid=%d "
		 "stack_size_only=%d set_tid_size=%llu set_tid_null=%d set_tid=%d,%d,%d,%d cgroup=%d",
		 (unsigned long long)r->flags, (unsigned long long)r->exit_signal, (unsigned long long)r->size,
		 r->tail_nonzero, r->pidfd_null, r->pidfd_is_parent_tid, r->stack_size_only,
		 (unsigned long long)r->set_tid_size, r->set_tid_null, r->set_tid[0], r->set_tid[1], r->set_tid[2],
		 r->set_tid[3], (int)r->cgroup);
}

static const char *ename(int e)
{
	return e == 0 ? "0" : errno_name(e);
}

static void compare_model(const char *call, int want, const char *why, const struct outcome *o,
			  const struct clone_req *r, const uint8_t *data, size_t len)
{
	if (want == MODEL_UNKNOWN || o->err < 0 || (o->inferred && want == 0) || o->err == want)
		return;
	char sig[96], detail[1024], req[512];
	int got = o->inferred ? 0 : o->err;
	snprintf(sig, sizeof sig, "%s-model-%s-kernel-%s", call, ename(want), ename(got));
	describe(req, sizeof req, r);
	snprintf(detail, sizeof detail, "%s: model %s (%s), kernel %s%s; %s", call, ename(want), why, ename(got),
		 o->inferred ? " (inferred)" : "", req);
	fuzz_finding_case(TARGET, sig, data, len, detail, NULL, NO_CASE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	if (!sh)
		setup();
	struct fz f = {data, len, 0};
	struct clone_req r;
	decode(&f, &r);
	int in_use[4];
	for (int i = 0; i < 4; i++)
		in_use[i] = r.set_tid[i] > 0 && (kill(r.set_tid[i], 0) == 0 || errno == EPERM);
	const char *why3 = "", *whyl = "";
	int m3 = model_clone3(&r, &env, in_use, &why3);
	struct outcome o3, ol;
	run_call(&r, 0, &o3);
	compare_model("clone3", m3, why3, &o3, &r, data, len);
	if (o3.err == 0 && !o3.inferred && (r.flags & CLONE_PARENT_SETTID) && !(r.flags & CLONE_PIDFD) &&
	    !(r.flags & CLONE_THREAD) && sh->parent_tid != o3.ret) {
		/* clone(2): CLONE_PARENT_SETTID "Store the child thread ID at the
		 * location pointed to by parent_tid"; the executor's pid
		 * namespace is ours unless NEWPID applies to the child only. */
		char detail[256];
		snprintf(detail, sizeof detail, "clone3 returned %ld but stored parent_tid %d", o3.ret, sh->parent_tid);
		fuzz_finding_case(TARGET, "clone3-parent-tid", data, len, detail, NULL, NO_CASE);
	}
	static int verbose = -1;
	if (verbose < 0)
		verbose = getenv("SPAWNLAB_FUZZ_VERBOSE") != NULL;
	if (verbose)
		fprintf(stderr, "clone3 flags=%#llx: model %s (%s), kernel %s%s\n", (unsigned long long)r.flags,
			m3 == MODEL_UNKNOWN ? "unknown" : ename(m3), why3, o3.err < 0 ? "?" : ename(o3.err),
			o3.inferred ? " (inferred)" : "");
	if (!clone_legacy_applies(&r))
		return 0;
	int ml = model_clone_legacy(&r, &env, &whyl);
	run_call(&r, 1, &ol);
	if (verbose)
		fprintf(stderr, "clone  flags=%#llx: model %s (%s), kernel %s%s\n",
			(unsigned long long)clone_legacy_flags(&r), ml == MODEL_UNKNOWN ? "unknown" : ename(ml), whyl,
			ol.err < 0 ? "?" : ename(ol.err), ol.inferred ? " (inferred)" : "");
	compare_model("clone", ml, whyl, &ol, &r, data, len);
	int e3 = o3.inferred ? 0 : o3.err, el = ol.inferred ? 0 : ol.err;
	/* clone(2) documents calls that differ on purpose (e.g. CLONE_PIDFD
	 * with CLONE_PARENT_SETTID is EINVAL in clone only): compare the two
	 * kernels' answers only where the model expects the same one. */
	if (o3.err >= 0 && ol.err >= 0 && e3 != el && m3 == ml) {
		char sig[96], detail[1024], req[512];
		describe(req, sizeof req, &r);
		snprintf(sig, sizeof sig, "clone-vs-clone3-%s-%s", ename(el), ename(e3));
		snprintf(detail, sizeof detail, "clone %s, clone3 %s for one request; %s", ename(el), ename(e3), req);
		fuzz_finding_case(TARGET, sig, data, len, detail, NULL, NO_CASE);
	}
	return 0;
}

#else /* not x86_64: the raw clone argument order and the asm are x86_64's */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	(void)data;
	(void)len;
	fuzz_note(TARGET, "skipped: the executor's raw clone is written for x86_64");
	return 0;
}

#endif
