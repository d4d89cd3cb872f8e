/* experiment_pidns.c: pid namespaces, nested inside a private one.  Every
 * scenario runs in W, pid 1 of a new user+pid+mount namespace whose uid 0
 * is not kernel uid 0 (pidwrap_ns.c), so that any pid_max it writes is its
 * own namespace's (Linux 6.14+) and never the host's; the namespaces nested
 * in W belong to the same user namespace.  Every loop is bounded by a
 * count and the unit's deadline, and everything started dies with W.
 *
 *  set_tid_*   clone3 set_tid at several levels: the pid at each level,
 *              /proc/PID/status NSpid seen from W and from the process,
 *              EPERM for a level whose namespace belongs to an outer user
 *              namespace, EEXIST, EINVAL, and that a failed call left no
 *              pid allocated at the levels it had already done
 *  caps_*      set_tid needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE (5.9)
 *              in the user namespace owning each level
 *  pid_max_*   an inner namespace's larger pid_max is capped by its parent's
 *  init_gone   once a namespace's init has exited, fork into it fails ENOMEM
 *  reuse       fork and reap in a loop across several wraps of a small
 *              pid_max: how often the very pid just freed came back */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/case.h"
#include "families/experiments.h"
#include "lib/feature.h"
#include "lib/names.h"
#include "families/pidwrap/pidwrap.h"
#include "sys/sys.h"
#include "lib/util.h"

#ifndef CAP_CHECKPOINT_RESTORE
#define CAP_CHECKPOINT_RESTORE 40
#endif

/* kernel/pid.c: RESERVED_PIDS, and pid_max's floor, PIDS_PER_CPU_MIN per
 * possible CPU (the kernel's pid_max_min for a namespace). */
#define PIDS_PER_CPU_MIN 8

/* What nested processes tell W: a page shared across clone3 without CLONE_VM. */
struct board {
	long v[8];
	int err[4];
	char text[2][256];
};

static struct board *board;

static int cpus_possible(void)
{
	char *s = read_file("/sys/devices/system/cpu/possible", 4096, NULL);
	int n = 0, lo, hi;
	for (char *p = s; p && *p;) {
		int used = 0;
		if (sscanf(p, "%d-%d%n", &lo, &hi, &used) == 2)
			n += hi - lo + 1;
		else if (sscanf(p, "%d%n", &lo, &used) == 1)
			n++;
		else
			break;
		p += used;
		if (*p == ',')
			p++;
		else
			break;
	}
	free(s);
	return n > 0 ? n : 1;
}

/* The smallest pid_max the kernel accepts here (kernel/pid.c pid_idr_init). */
static long pid_max_floor(void)
{
	long m = PIDS_PER_CPU_MIN * (long)cpus_possible();
	return m > PIDWRAP_RESERVED + 1 ? m : PIDWRAP_RESERVED + 1;
}

static long clone3_tids(const pid_t *tids, size_t n, unsigned long long flags)
{
	struct sl_clone_args a;
	memset(&a, 0, sizeof a);
	a.flags = flags;
	a.exit_signal = SIGCHLD;
	a.set_tid = (uint64_t)(uintptr_t)tids;
	a.set_tid_size = n;
	return sl_clone3(&a, SL_CLONE_ARGS_SIZE_VER1);
}

static int reap_exit(pid_t pid)
{
	int st = 0;
	while (waitpid(pid, &st, __WALL) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The NSpid line of /proc/PID/status ("self" or a number), spaces kept. */
static void nspid(const char *who, char *out, size_t len)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%s/status", who);
	char *s = read_file(path, 1 << 16, NULL);
	const char *l = s ? strstr(s, "\nNSpid:") : NULL;
	if (!l) {
		snprintf(out, len, "none");
	} else {
		l += 7;
		l += strspn(l, " \t");
		size_t n = strcspn(l, "\n");
		snprintf(out, len, "%.*s", (int)n, l);
		for (char *c = out; *c; c++)
			if (*c == '\t')
				*c = ' ';
	}
	free(s);
}

/* ---- set_tid at several levels ---- */

/* Chosen pids: W's level, then each nested namespace's. */
#define TID_W 555
#define TID_C 333
#define TID_E 77

/* In E, the innermost process: tell W what it sees. */
static void tell_self(void)
{
	board->v[2] = getpid();
	nspid("self", board->text[0], sizeof board->text[0]);
}

/* C: pid 1 of a namespace below W's.  Make E at set_tid {TID_E in C's, TID_W in W's}. */
static int c_make_e(void)
{
	pid_t tids[2] = {TID_C, TID_W};
	long e = clone3_tids(tids, 2, 0);
	if (e == 0) {
		tell_self();
		/* Wait for W to read our status from outside, then go. */
		for (int i = 0; i < 5000 && !board->v[5]; i++)
			usleep(1000);
		_exit(0);
	}
	board->v[1] = e;
	board->err[0] = e < 0 ? errno : 0;
	return e < 0 ? 1 : reap_exit((pid_t)e);
}

static int sc_set_tid_levels(struct pidwrap *pw, char *err, size_t errlen)
{
	/* C at pid TID_W-1 in W's namespace and pid 1 in its own. */
	pid_t ctids[2] = {1, TID_W - 1};
	long c = clone3_tids(ctids, 2, CLONE_NEWPID);
	if (c == 0) {
		board->v[0] = getpid();
		_exit(c_make_e());
	}
	if (c < 0) {
		snprintf(err, errlen, "clone3(CLONE_NEWPID, set_tid {1, %d}): %s", TID_W - 1, errno_name(errno));
		return -1;
	}
	/* Read E's status from W's side while E waits. */
	char outer[256] = "none", path[32];
	for (int i = 0; i < 5000 && !board->v[2]; i++)
		usleep(1000);
	snprintf(path, sizeof path, "%d", TID_W);
	nspid(path, outer, sizeof outer);
	board->v[5] = 1;
	int cst = reap_exit((pid_t)c);
	obs_put(pw->ctx, "settid.c_pid_in_w", "%ld", c);
	obs_put(pw->ctx, "settid.c_getpid", "%ld", board->v[0]);
	obs_put(pw->ctx, "settid.e_pid_in_c", "%ld", board->v[1]);
	obs_put(pw->ctx, "settid.e_getpid", "%ld", board->v[2]);
	obs_put(pw->ctx, "settid.errno", "%s", board->err[0] ? errno_name(board->err[0]) : "0");
	obs_put(pw->ctx, "nspid.self", "%s", board->text[0][0] ? board->text[0] : "none");
	obs_put(pw->ctx, "nspid.outer", "%s", outer);
	obs_put(pw->ctx, "settid.c_exit", "%d", cst);
	return 0;
}

/* One clone3 with SET_TID at W's level: the errno, and whether the pids
 * it named at the levels it did allocate are free afterwards. */
static void try_tids(struct pidwrap *pw, const char *key, const pid_t *tids, size_t n, unsigned long long flags)
{
	long r = clone3_tids(tids, n, flags);
	if (r == 0)
		_exit(0);
	char k[64];
	snprintf(k, sizeof k, "%s.errno", key);
	obs_put(pw->ctx, k, "%s", r < 0 ? errno_name(errno) : "0");
	if (r > 0) {
		snprintf(k, sizeof k, "%s.pid", key);
		obs_put(pw->ctx, k, "%ld", r);
		reap_exit((pid_t)r);
	}
}

/* The same innermost pid again, alone: 0 if the failed call had freed it. */
static void retry_inner(struct pidwrap *pw, pid_t tid)
{
	long r = clone3_tids(&tid, 1, 0);
	if (r == 0)
		_exit(0);
	obs_put(pw->ctx, "settid.retry_errno", "%s", r < 0 ? errno_name(errno) : "0");
	obs_put(pw->ctx, "settid.retry_pid", "%ld", r);
	if (r > 0)
		reap_exit((pid_t)r);
}

/* W's own level plus the one above it, whose namespace (the sandbox's or
 * the host's) belongs to a user namespace where W has no capability. */
static int sc_set_tid_outer(struct pidwrap *pw, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	pid_t tids[2] = {TID_W, TID_W};
	try_tids(pw, "settid", tids, 2, 0);
	retry_inner(pw, TID_W);
	return 0;
}

/* In a namespace below W: its own level free, W's level taken (pid 1 is W). */
static int sc_set_tid_eexist(struct pidwrap *pw, char *err, size_t errlen)
{
	pid_t ctids[1] = {1};
	long c = clone3_tids(ctids, 1, CLONE_NEWPID);
	if (c == 0) {
		pid_t tids[2] = {TID_C, 1};
		long r = clone3_tids(tids, 2, 0);
		if (r == 0)
			_exit(0);
		board->err[0] = r < 0 ? errno : 0;
		if (r > 0)
			reap_exit((pid_t)r);
		pid_t again = TID_C;
		r = clone3_tids(&again, 1, 0);
		if (r == 0)
			_exit(0);
		board->err[1] = r < 0 ? errno : 0;
		board->v[3] = r;
		if (r > 0)
			reap_exit((pid_t)r);
		_exit(0);
	}
	if (c < 0) {
		snprintf(err, errlen, "clone3(CLONE_NEWPID, set_tid {1}): %s", errno_name(errno));
		return -1;
	}
	reap_exit((pid_t)c);
	obs_put(pw->ctx, "settid.errno", "%s", board->err[0] ? errno_name(board->err[0]) : "0");
	obs_put(pw->ctx, "settid.retry_errno", "%s", board->err[1] ? errno_name(board->err[1]) : "0");
	obs_put(pw->ctx, "settid.retry_pid", "%ld", board->v[3]);
	return 0;
}

/* set_tid requests clone3 refuses outright (kernel/fork.c, kernel/pid.c). */
static int sc_set_tid_invalid(struct pidwrap *pw, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	pid_t zero = 0, big = (pid_t)(pw->pid_max > 0 ? pw->pid_max : 4194304) + 1, notone = 2;
	pid_t many[40]; /* MAX_PID_NS_LEVEL is 32 */
	for (int i = 0; i < 40; i++)
		many[i] = 1000 + i;
	try_tids(pw, "zero", &zero, 1, 0);
	try_tids(pw, "above_pid_max", &big, 1, 0);
	try_tids(pw, "newpid_not_one", &notone, 1, CLONE_NEWPID);
	try_tids(pw, "over_max_level", many, 40, 0);
	try_tids(pw, "deeper_than_nesting", many, 32, 0);
	/* Control: a free pid alone works. */
	pid_t ok = TID_E;
	try_tids(pw, "free", &ok, 1, 0);
	return 0;
}

/* ---- capabilities ---- */

static int keep_caps(const int *caps, size_t n)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	memset(d, 0, sizeof d);
	for (size_t i = 0; i < n; i++) {
		d[caps[i] / 32].effective |= 1U << (caps[i] % 32);
		d[caps[i] / 32].permitted |= 1U << (caps[i] % 32);
	}
	return (int)syscall(SYS_capset, &h, d);
}

struct cap_row {
	const char *name;
	int caps[2];
	size_t n;
};
static const struct cap_row cap_rows[] = {
	{"caps_checkpoint_restore", {CAP_CHECKPOINT_RESTORE}, 1},
	{"caps_sys_admin", {CAP_SYS_ADMIN}, 1},
	{"caps_none", {0}, 0},
};
static const struct cap_row *cap_row;

static int sc_caps(struct pidwrap *pw, char *err, size_t errlen)
{
	pid_t h = fork();
	if (h == 0) {
		if (keep_caps(cap_row->caps, cap_row->n) < 0) {
			board->err[2] = errno;
			_exit(1);
		}
		pid_t tid = TID_E;
		long r = clone3_tids(&tid, 1, 0);
		if (r == 0)
			_exit(0);
		board->err[0] = r < 0 ? errno : 0;
		board->v[0] = r;
		if (r > 0)
			reap_exit((pid_t)r);
		_exit(0);
	}
	if (h < 0) {
		snprintf(err, errlen, "fork: %s", errno_name(errno));
		return -1;
	}
	reap_exit(h);
	if (board->err[2]) {
		snprintf(err, errlen, "capset keeping only %s: %s (a kernel before 5.9 has no CAP_CHECKPOINT_RESTORE)",
			 cap_row->name + 5, errno_name(board->err[2]));
		return cap_row->n && cap_row->caps[0] == CAP_CHECKPOINT_RESTORE ? STEP_UNSUPPORTED : -1;
	}
	obs_put(pw->ctx, "caps.kept", "%s", cap_row->name + 5);
	obs_put(pw->ctx, "settid.errno", "%s", board->err[0] ? errno_name(board->err[0]) : "0");
	obs_put(pw->ctx, "settid.pid", "%ld", board->v[0]);
	return 0;
}

/* ---- pid_max: an outer namespace's limit caps an inner one ---- */

static void sleeper(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (int i = 0; i < 600; i++)
		pause();
	_exit(0);
}

static int sc_pid_max_outer(struct pidwrap *pw, char *err, size_t errlen)
{
	long outer = pid_max_floor() + 100, inner = pid_max_floor() + 200;
	char why[256];
	if (pidwrap_write_pid_max(outer, why, sizeof why) < 0) {
		snprintf(err, errlen, "W's pid_max: %s", why);
		return STEP_UNSUPPORTED;
	}
	pid_t one = 1;
	long c = clone3_tids(&one, 1, CLONE_NEWPID);
	if (c == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (pidwrap_write_pid_max(inner, board->text[1], sizeof board->text[1]) < 0)
			_exit(3);
		board->v[6] = inner;
		/* Keep forking sleepers until the kernel says no, never more
		 * than the inner limit allows. */
		long made = 0;
		pid_t top = 0;
		for (; made < inner; made++) {
			pid_t s = fork();
			if (s == 0)
				sleeper();
			if (s < 0) {
				board->err[0] = errno;
				break;
			}
			top = s > top ? s : top;
		}
		board->v[0] = made;
		board->v[1] = top;
		kill(-1, SIGKILL); /* as init: every other process of this namespace */
		while (waitpid(-1, NULL, __WALL) > 0 || errno == EINTR)
			;
		_exit(0);
	}
	if (c < 0) {
		snprintf(err, errlen, "clone3(CLONE_NEWPID): %s", errno_name(errno));
		return -1;
	}
	int st = reap_exit((pid_t)c);
	if (st == 3) {
		snprintf(err, errlen, "the inner namespace's pid_max: %s", board->text[1]);
		return STEP_UNSUPPORTED;
	}
	obs_put(pw->ctx, "pidmax.outer", "%ld", outer);
	obs_put(pw->ctx, "pidmax.inner", "%ld", board->v[6]);
	obs_num(pw->ctx, "inner_made", (double)board->v[0]);
	obs_num(pw->ctx, "inner_top_pid", (double)board->v[1]);
	obs_put(pw->ctx, "pidmax.fork_errno", "%s", board->err[0] ? errno_name(board->err[0]) : "0");
	return 0;
}

/* ---- fork into a namespace whose init has gone ---- */

static int sc_init_gone(struct pidwrap *pw, char *err, size_t errlen)
{
	pid_t h = fork();
	if (h == 0) {
		/* H stays in W's namespace; its children go to the new one. */
		if (unshare(CLONE_NEWPID) < 0) {
			board->err[2] = errno;
			_exit(1);
		}
		pid_t init = fork();
		if (init == 0)
			_exit(getpid() == 1 ? 0 : 1);
		board->v[0] = init;
		board->v[1] = init > 0 ? reap_exit(init) : -1;
		pid_t again = fork();
		if (again == 0)
			_exit(0);
		board->err[0] = again < 0 ? errno : 0;
		if (again > 0)
			reap_exit(again);
		_exit(0);
	}
	if (h < 0) {
		snprintf(err, errlen, "fork: %s", errno_name(errno));
		return -1;
	}
	reap_exit(h);
	if (board->err[2]) {
		snprintf(err, errlen, "unshare(CLONE_NEWPID): %s", errno_name(board->err[2]));
		return -1;
	}
	obs_put(pw->ctx, "init.pid_in_w", "%ld", board->v[0]);
	obs_put(pw->ctx, "init.was_pid_1", "%s", board->v[1] == 0 ? "yes" : "no");
	obs_put(pw->ctx, "fork.after_init_exit", "%s", board->err[0] ? errno_name(board->err[0]) : "0");
	return 0;
}

/* ---- immediate reuse across wraps (LTP fork13's question) ---- */

static int sc_reuse(struct pidwrap *pw, char *err, size_t errlen)
{
	long pid_max = pid_max_floor() + 100;
	char why[256];
	if (pidwrap_write_pid_max(pid_max, why, sizeof why) < 0) {
		snprintf(err, errlen, "pid_max: %s", why);
		return STEP_UNSUPPORTED;
	}
	long rounds = 4 * pid_max, forks = 0, wraps = 0, immediate = 0, min_after = -1;
	pid_t last = 0;
	for (; forks < rounds && mono_ms() < pw->ctx->deadline_ms; forks++) {
		/* A vfork child that exits at once, reaped: the pid comes from the
		 * same allocator as a fork's (pidwrap_filler says why not fork). */
		pid_t p = pidwrap_filler(pw);
		if (p < 0) {
			snprintf(err, errlen, "vfork %ld: %s", forks, errno_name(errno));
			return -1;
		}
		if (p == last)
			immediate++;
		if (last && p < last) {
			wraps++;
			if (min_after < 0 || p < min_after)
				min_after = p;
		}
		last = p;
	}
	obs_put(pw->ctx, "reuse.pid_max", "%ld", pid_max);
	obs_num(pw->ctx, "forks", (double)forks);
	obs_num(pw->ctx, "wraps", (double)wraps);
	obs_num(pw->ctx, "immediate_reuse", (double)immediate);
	obs_num(pw->ctx, "min_pid_after_wrap", (double)min_after);
	return 0;
}

/* ---- the table ---- */

struct pidns_scenario {
	const char *name;
	int (*run)(struct pidwrap *pw, char *err, size_t errlen);
	const char *needs; /* a feature probed before the namespace, or NULL */
};

static const struct pidns_scenario scenarios[] = {
	{"set_tid_levels", sc_set_tid_levels, "clone3_set_tid"},
	{"set_tid_outer", sc_set_tid_outer, "clone3_set_tid"},
	{"set_tid_eexist", sc_set_tid_eexist, "clone3_set_tid"},
	{"set_tid_invalid", sc_set_tid_invalid, "clone3_set_tid"},
	{"caps_checkpoint_restore", sc_caps, "clone3_set_tid"},
	{"caps_sys_admin", sc_caps, "clone3_set_tid"},
	{"caps_none", sc_caps, "clone3_set_tid"},
	{"pid_max_outer", sc_pid_max_outer, "namespaced_pid_max"},
	{"init_gone", sc_init_gone, NULL},
	{"reuse", sc_reuse, "namespaced_pid_max"},
};
static const struct pidns_scenario *scenario;

static int in_w(struct pidwrap *pw, char *err, size_t errlen)
{
	char pm[32] = "";
	char *s = read_file("/proc/sys/kernel/pid_max", sizeof pm, NULL);
	pw->pid_max = s ? strtol(s, NULL, 10) : 0;
	free(s);
	return scenario->run(pw, err, errlen);
}

/* The arguments of `run pid_ns`, named where the spec below declares them. */
enum { PID_NS_SCENARIO };

static int exp_pid_ns(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)iv;
	scenario = EXP_ROW(scenarios, sv[PID_NS_SCENARIO], "pid_ns", err, errlen);
	if (!scenario)
		return -1;
	cap_row = NULL;
	for (size_t i = 0; i < sizeof cap_rows / sizeof *cap_rows; i++)
		if (strcmp(cap_rows[i].name, scenario->name) == 0)
			cap_row = &cap_rows[i];
	/* Probed here, outside the namespaces, where the probes work. */
	const char *d = "";
	if (scenario->needs && feature_state(feature_find(scenario->needs), &d) != FEAT_YES) {
		snprintf(err, errlen, "needs %s: %s", scenario->needs, d);
		return STEP_UNSUPPORTED;
	}
	board = mmap(NULL, sizeof *board, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (board == MAP_FAILED) {
		snprintf(err, errlen, "mmap: %s", strerror(errno));
		return -1;
	}
	memset(board, 0, sizeof *board);
	struct pidwrap pw;
	memset(&pw, 0, sizeof pw);
	pw.ctx = ctx;
	obs_put(ctx, "pidns.scenario", "%s", scenario->name);
	int r = pidwrap_in_ns(&pw, in_w, err, errlen);
	munmap(board, sizeof *board);
	return r;
}

/* The experiment kinds of this file (the families' registry lists them). */
const struct step_kind pidns_kinds[] = {
	{.name = "pid_ns",
	 .summary = "set_tid at several levels and its capabilities, nested pid_max, fork after init, pid reuse",
	 .args = {[PID_NS_SCENARIO] = {"scenario", ARG_CHOICE, 1, NULL, "set_tid_levels|set_tid_outer|set_tid_eexist|set_tid_invalid|caps_checkpoint_restore|" 
	   "caps_sys_admin|caps_none|pid_max_outer|init_gone|reuse"}},
	 .run = exp_pid_ns,
	 .backends = "none",
	 .keys = "{above_pid_max,deeper_than_nesting,newpid_not_one,over_max_level,zero}.errno caps.kept "
		 "fork.after_init_exit free.{errno,pid} init.{pid_in_w,was_pid_1} nspid.{outer,self} "
		 "num.{forks,immediate_reuse,inner_made,inner_top_pid,min_pid_after_wrap,wraps} "
		 "pidmax.{fork_errno,inner,outer} pidns.scenario reuse.pid_max "
		 "settid.{c_exit,c_getpid,c_pid_in_w,e_getpid,e_pid_in_c,errno,pid,retry_errno,retry_pid}"},
	{0},
};
