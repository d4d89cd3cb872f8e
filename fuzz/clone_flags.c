/* clone_flags.c (fuzz target): clone3(2) and legacy clone(2) against the
 * model in model_clone.c, and against each other.
 *
 * Input: ctl byte, size selector, 64-bit flags, exit signal, set_tid size
 * and entries, cgroup selector (decode() below; fuzz/make_seeds.py writes
 * the seeds in this layout).
 *
 * The calls are made by the executor (executor.h, exec_clone.c), a small
 * long-lived process: one request per input carries the clone3 call and,
 * where the legacy call can say the same request, the clone call; the
 * executor makes them, reaps their children and answers.  This process
 * only decodes, predicts and compares.  What one input costs: two round
 * trips on a socket, at most two clone calls and so at most two children,
 * each a copy of a process of a few pages that exits at once.  The bare
 * clone3+exit+waitid loop (bare_loop.c) makes one child per iteration, so
 * an input whose both calls succeed can run at best at half its rate;
 * inputs the kernel refuses make no child at all.
 *
 * A call whose child would send SIGKILL or SIGSTOP to its parent is made
 * by a fork of the executor (exec_clone.c), which reports an inferred
 * success when that signal killed it.  Should the executor itself die
 * anyway, a request with both calls is made again one call at a time, in
 * a new executor, to tell which call did it.  A CLONE_PARENT child of the
 * executor is this process's child: it is reaped here.  This process is a
 * child subreaper, so that orphans of a killed executor come here and are
 * reaped too.  A difference is recorded with
 * fuzz_finding_case(); it never aborts unless SPAWNLAB_FUZZ_TRAP=1. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "executor_client.h"
#include "fuzz_util.h"
#include "model_clone.h"
#include "lib/names.h"
#include "sys/sys.h"

#define TARGET "clone_flags"
#define WAIT_MS 3000
/* clone_flags findings stay .bin reproducers: the case language spawns the
 * probe through a backend, it has no step making a raw clone/clone3 call
 * with arbitrary flags, sizes and pointers and checking its errno. */
#define NO_CASE "not expressible as a case: the case language has no raw clone/clone3 call with arbitrary flags, struct size and pointers; replay the .bin"

static struct exec_client ex = {.pid = -1, .fd = -1};
static struct clone_env env;
static int ready, usable;

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
	ready = 1;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		fuzz_note(TARGET, "PR_SET_CHILD_SUBREAPER failed: orphans go to init");
	read_status();
	env.pid_max = read_long("/proc/sys/kernel/pid_max", 32768);
	const char *cgpath = getenv("SPAWNLAB_FUZZ_CGROUP"); /* as the executor (exec_clone.c) */
	int cg = open(cgpath && *cgpath ? cgpath : "/sys/fs/cgroup", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct statfs sfs;
	env.have_cgroup2 = cg >= 0 && fstatfs(cg, &sfs) == 0 && sfs.f_type == 0x63677270;
	if (cg >= 0)
		close(cg);
	struct utsname u;
	int major = 0, minor = 0;
	if (uname(&u) == 0 && sscanf(u.release, "%d.%d", &major, &minor) == 2)
		env.kver = major * 1000 + minor;
	usable = exec_start(&ex, EXEC_CLONE) == 0;
	if (!usable)
		fuzz_note(TARGET, "no executor: every input is skipped");
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
	int err;      /* 0 or errno; -1: not known (the executor failed) */
	int inferred; /* success inferred from the executor's death */
	int sigchld_ign; /* the call left the caller's SIGCHLD ignored */
	long ret;
	int parent_tid;
};

static uint64_t used_flags(const struct clone_req *r, int legacy)
{
	return legacy ? clone_legacy_flags(r) : r->flags;
}

/* The exit signal the child of call LEGACY would send its parent. */
static uint64_t exit_sig(const struct clone_req *r, int legacy)
{
	return legacy ? clone_legacy_flags(r) & 0xff : r->exit_signal;
}

static void from_call(const struct exec_clone_call *c, const struct clone_req *r, int legacy, struct outcome *o)
{
	memset(o, 0, sizeof *o);
	if (!c->made) {
		o->err = -1;
		fuzz_note(TARGET, "a caller of the executor died before its call returned, or could not be forked");
		if (fuzz_verbose())
			fprintf(stderr, "caller end %#x (state << 16 | si_code << 8 | si_status), %s flags %#llx\n",
				c->caller, legacy ? "clone" : "clone3", (unsigned long long)used_flags(r, legacy));
		return;
	}
	o->inferred = c->inferred;
	o->sigchld_ign = c->sigchld_ign;
	o->ret = c->ret;
	o->err = c->ret < 0 ? (int)-c->ret : 0;
	o->parent_tid = c->parent_tid;
	uint64_t f = used_flags(r, legacy);
	/* A CLONE_PARENT child is ours (a sibling of the executor). */
	if (c->ret > 0 && (f & CLONE_PARENT) && !(f & CLONE_THREAD))
		exec_reap_pid((pid_t)c->ret, WAIT_MS);
}

/* The executor died during a request with only call LEGACY in it. */
static void from_death(int death, const struct clone_req *r, int legacy, struct outcome *o)
{
	memset(o, 0, sizeof *o);
	if (death == SIGKILL && exit_sig(r, legacy) == SIGKILL) {
		o->inferred = 1; /* only a created child can send its exit signal */
	} else {
		o->err = -1;
		fuzz_note(TARGET, "the executor died or hung before a call returned");
	}
}

static void run(const struct clone_req *r, uint32_t calls, struct outcome *o3, struct outcome *ol)
{
	struct exec_clone_req q = {calls, *r};
	struct exec_clone_res a;
	int death;
	if (exec_call(&ex, &q, sizeof q, &a, sizeof a, WAIT_MS, &death) == 0) {
		if (calls & EXEC_CALL_CLONE3)
			from_call(&a.c3, r, 0, o3);
		if (calls & EXEC_CALL_LEGACY)
			from_call(&a.legacy, r, 1, ol);
		return;
	}
	if (fuzz_verbose())
		fprintf(stderr, "executor died (%d) during calls %u, flags %#llx exit_signal %#llx\n", death, calls,
			(unsigned long long)r->flags, (unsigned long long)r->exit_signal);
	if (calls == (EXEC_CALL_CLONE3 | EXEC_CALL_LEGACY)) {
		run(r, EXEC_CALL_CLONE3, o3, ol);
		run(r, EXEC_CALL_LEGACY, o3, ol);
		return;
	}
	from_death(death, r, calls == EXEC_CALL_LEGACY, calls == EXEC_CALL_LEGACY ? ol : o3);
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

/* The outcome as the cross-kernel replay compares it. */
static const char *oname(const struct outcome *o)
{
	return o->err < 0 ? "?" : o->inferred ? "0(inferred)" : ename(o->err);
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

/* clone(2) on CLONE_SIGHAND: the caller and the child share one table of
 * handlers, and a change either makes with sigaction(2) is seen by both;
 * neither calls sigaction here, so the caller's SIGCHLD must still be
 * SIG_DFL after the child is gone. */
static void caller_sigchld(const char *call, const struct outcome *o, const struct clone_req *r, const uint8_t *data,
			   size_t len)
{
	if (!o->sigchld_ign)
		return;
	char sig[64], detail[1024], req[512];
	describe(req, sizeof req, r);
	snprintf(sig, sizeof sig, "%s-caller-sigchld-ignored", call);
	snprintf(detail, sizeof detail,
		 "%s: after the child ended, the caller's SIGCHLD was SIG_IGN (model: unchanged; the child, init of "
		 "its own pid namespace, shared the caller's handlers); %s",
		 call, req);
	fuzz_finding_case(TARGET, sig, data, len, detail, NULL, NO_CASE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	if (!ready)
		setup();
	if (!usable)
		return 0;
	struct fz f = {data, len, 0};
	struct clone_req r;
	decode(&f, &r);
	int in_use[4];
	for (int i = 0; i < 4; i++)
		in_use[i] = r.set_tid[i] > 0 && (kill(r.set_tid[i], 0) == 0 || errno == EPERM);
	const char *why3 = "", *whyl = "";
	int m3 = model_clone3(&r, &env, in_use, &why3);
	int legacy = clone_legacy_applies(&r);
	int ml = legacy ? model_clone_legacy(&r, &env, &whyl) : MODEL_UNKNOWN;
	struct outcome o3, ol;
	memset(&ol, 0, sizeof ol);
	run(&r, EXEC_CALL_CLONE3 | (legacy ? EXEC_CALL_LEGACY : 0), &o3, &ol);
	if (fuzz_outcomes_on()) {
		char req[512];
		describe(req, sizeof req, &r);
		fuzz_outcome("clone3=%s clone=%s (%s)", oname(&o3), legacy ? oname(&ol) : "-", req);
	}
	compare_model("clone3", m3, why3, &o3, &r, data, len);
	if (o3.err == 0 && !o3.inferred && (r.flags & CLONE_PARENT_SETTID) && !(r.flags & CLONE_PIDFD) &&
	    !(r.flags & CLONE_THREAD) && o3.parent_tid != o3.ret) {
		/* clone(2): CLONE_PARENT_SETTID "Store the child thread ID at the
		 * location pointed to by parent_tid"; the executor's pid
		 * namespace is ours unless NEWPID applies to the child only. */
		char detail[256];
		snprintf(detail, sizeof detail, "clone3 returned %ld but stored parent_tid %d", o3.ret, o3.parent_tid);
		fuzz_finding_case(TARGET, "clone3-parent-tid", data, len, detail, NULL, NO_CASE);
	}
	caller_sigchld("clone3", &o3, &r, data, len);
	if (legacy)
		caller_sigchld("clone", &ol, &r, data, len);
	if (fuzz_verbose())
		fprintf(stderr, "clone3 flags=%#llx: model %s (%s), kernel %s\n", (unsigned long long)r.flags,
			m3 == MODEL_UNKNOWN ? "unknown" : ename(m3), why3, oname(&o3));
	if (!legacy)
		return 0;
	if (fuzz_verbose())
		fprintf(stderr, "clone  flags=%#llx: model %s (%s), kernel %s\n",
			(unsigned long long)clone_legacy_flags(&r), ml == MODEL_UNKNOWN ? "unknown" : ename(ml), whyl,
			oname(&ol));
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
