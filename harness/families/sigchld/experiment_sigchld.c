/* experiment_sigchld.c: what a parent learns of N child exits through
 * one notification method (issue 4).  Standard signals do not queue
 * (signal(7)): while a SIGCHLD is pending, more exits add nothing, and its
 * siginfo names one child.  Descriptor methods name every child.
 *
 * A round makes N children (sigchld_children.c), arms the method
 * (sigchld_methods.c), has a helper thread open the barrier once it waits
 * (release=parent: opens it itself), and lets them exit all at once
 * (barrier), one every STEP_US (staggered), or all at once while the parent
 * spins without looking (busy: it looks once every child has written its
 * exit stamp).  On each notification the parent reaps:
 *  - naive: one waitpid(-1, WNOHANG) per notification; once every child
 *    has exited and nothing more arrives, the zombies still there are
 *    counted (and reaped);
 *  - correct: waitpid(-1, WNOHANG) until nothing is left, each time.
 * SIGCHLD methods run a naive round, then a correct round with fresh
 * children; descriptor methods name the child, so one round is both.
 * The autoreap methods (SIG_IGN, SA_NOCLDWAIT) block in waitpid(-1, 0)
 * until ECHILD (wait(2) NOTES), and learn of every child at that moment.
 * A notification still pending after the last reap loop is taken and
 * counted (num.notifications_late).  Where the parent was while each child
 * exited is recorded by sigchld_trace.c.
 *
 * Delay: each child writes CLOCK_MONOTONIC just before _exit; the parent
 * learns of a child when the call that reaps it returns (autoreap: when
 * ECHILD comes back).  The numbers are of the correct round. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "families/experiments.h"
#include "families/sigchld/sigchld.h"
#include "sys/sys.h"
#include "lib/util.h"

#define MAX_CHILDREN 10000
#define BUSY_MAX_MS 3000
#define LOOK_MS 2 /* how long one wait sleeps before the loop looks again */

struct tally {
	long notes, wakeups, reaped, learned, left, early, foreign, late;
	uint64_t make_us, wait_us, clean_us; /* making the children, release until done, final reap */
	int echild;
};

static void on_alarm(int s)
{
	(void)s; /* only there to interrupt a blocking wait (no SA_RESTART) */
}

/* SIGALRM at the deadline, so that blocking waits are bounded too. */
static void deadline_timer(const struct step_ctx *ctx, int on)
{
	struct itimerval it;
	memset(&it, 0, sizeof it);
	if (on) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_alarm;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGALRM, &sa, NULL);
		uint64_t now = mono_ms();
		uint64_t ms = ctx->deadline_ms > now + 1 ? ctx->deadline_ms - now : 1;
		it.it_value.tv_sec = (time_t)(ms / 1000);
		it.it_value.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	}
	setitimer(ITIMER_REAL, &it, NULL);
	if (!on)
		signal(SIGALRM, SIG_DFL);
}

static void learn(struct sc_run *r, struct tally *t, pid_t pid)
{
	long i = sc_index(r, pid);
	if (i < 0) {
		t->foreign++;
		return;
	}
	if (!r->learn[i]) {
		r->learn[i] = sc_now_ns();
		t->learned++;
	}
	t->reaped++;
}

/* What the parent does with K new notifications. */
static void reap(struct sc_run *r, struct tally *t, long k)
{
	const struct sc_method *m = r->m;
	int st;
	if (m->reap == R_PIDFD) {
		for (long j = 0; j < r->nready; j++) {
			long i = r->ready[j];
			if (m->reaps) {
				learn(r, t, r->pid[i]);
				continue;
			}
			siginfo_t si;
			memset(&si, 0, sizeof si);
			if (waitid((idtype_t)P_PIDFD, (id_t)r->pidfd[i], &si, WEXITED | WNOHANG) == 0 && si.si_pid)
				learn(r, t, r->pid[i]);
			else
				t->early++, r->seen[i] = 0; /* readable but not yet waitable: look again */
		}
		return;
	}
	int flags = WNOHANG | (r->naive ? 0 : (m->wall ? __WALL : 0));
	if (r->naive) {
		for (long j = 0; j < k; j++) {
			pid_t p = waitpid(-1, &st, flags);
			if (p > 0)
				learn(r, t, p);
			/* A direct child with exit signal 0 is a "clone" child that
			 * waitpid without __WALL never returns (clone(2)): ECHILD
			 * when there are only such children.  The batch's other
			 * calls would fail the same way, each walking the whole
			 * list of children: 10,000 x 10,000 steps for nothing.
			 * (An exec'd child's exit signal is SIGCHLD again.) */
			if (p <= 0 && m->wall && !r->exec)
				break;
		}
		return;
	}
	if (k == 0)
		return;
	pid_t p;
	while ((p = waitpid(-1, &st, flags)) > 0 || (p < 0 && errno == EINTR))
		if (p > 0)
			learn(r, t, p);
}

/* busy: the parent computes, not looking, until every child has exited. */
static void spin(struct sc_run *r)
{
	uint64_t stop = mono_ms() + BUSY_MAX_MS;
	volatile unsigned long x = 1;
	sigset_t s, old;
	sigemptyset(&s);
	sigaddset(&s, SIGCHLD);
	/* handlers may interrupt the work; the others find SIGCHLD pending */
	sigprocmask(r->m->async ? SIG_UNBLOCK : SIG_BLOCK, r->m->async ? &s : NULL, &old);
	while (mono_ms() < stop && mono_ms() < r->ctx->deadline_ms &&
	       (sc_stamped(r) < r->n || !sc_all_exited(r)))
		for (int i = 0; i < 10000; i++)
			x = x * 2862933555777941757UL + 3037000493UL;
	sigprocmask(SIG_SETMASK, &old, NULL);
}

static void autoreap_wait(struct sc_run *r, struct tally *t)
{
	int st;
	uint64_t t0 = sc_now_ns();
	for (;;) {
		pid_t p = waitpid(-1, &st, 0);
		if (p > 0) {
			learn(r, t, p); /* a zombie all the same */
			continue;
		}
		if (errno == EINTR && mono_ms() < r->ctx->deadline_ms)
			continue;
		if (errno == ECHILD) {
			t->echild = 1;
			uint64_t now = sc_now_ns();
			for (long i = 0; i < r->n; i++)
				if (!r->learn[i])
					r->learn[i] = now, t->learned++;
		}
		break;
	}
	sc_trace_phase(r, PH_WAIT, t0, sc_now_ns());
	long k = r->m->wait(r, 0);
	t->notes += k > 0 ? k : 0;
}

static int run_round(struct sc_run *r, enum sc_pattern pat, struct tally *t, char *err, size_t errlen)
{
	const struct sc_method *m = r->m;
	memset(t, 0, sizeof *t);
	uint64_t t0 = mono_us();
	if (sc_make_children(r, pat, err, errlen) < 0)
		return -1;
	uint64_t t1 = mono_us();
	if (m->arm(r) < 0) {
		snprintf(err, errlen, "%s: arming failed: %s", m->name, strerror(errno));
		m->disarm(r);
		sc_reap_rest(r);
		return -1;
	}
	deadline_timer(r->ctx, 1);
	sc_trace_release(r);
	if (r->by_parent) {
		uint64_t r0 = sc_now_ns();
		sc_release(r);
		sc_trace_phase(r, PH_RELEASE, r0, sc_now_ns());
	} else if (sc_release_by_helper(r) < 0) {
		snprintf(err, errlen, "pthread_create: %s", strerror(errno));
		deadline_timer(r->ctx, 0);
		m->disarm(r);
		sc_reap_rest(r);
		return -1;
	}
	if (pat == PAT_BUSY) {
		uint64_t s0 = sc_now_ns();
		spin(r);
		sc_trace_phase(r, PH_BUSY, s0, sc_now_ns());
	}
	int rc = 0;
	if (m->reap == R_AUTO) {
		autoreap_wait(r, t);
	} else {
		for (int last = 0; !last;) {
			int done_before = r->naive && m->reap == R_ANY && sc_stamped(r) == r->n && sc_all_exited(r);
			uint64_t w0 = sc_now_ns();
			long k = m->wait(r, done_before ? 0 : LOOK_MS);
			uint64_t w1 = sc_now_ns();
			sc_trace_phase(r, PH_WAIT, w0, w1);
			if (k < 0) {
				snprintf(err, errlen, "%s: waiting failed: %s", m->name, strerror(errno));
				rc = -1;
				break;
			}
			if (k > 0 && !r->tr.first_note_ns)
				r->tr.first_note_ns = w1;
			t->notes += k;
			t->wakeups += k > 0;
			reap(r, t, k);
			if (k > 0)
				sc_trace_phase(r, PH_REAP, w1, sc_now_ns());
			/* naive: every child has exited and one more look found what
			 * was still on its way; correct: all reaped */
			last = done_before || (!(r->naive && m->reap == R_ANY) && t->learned == r->n) ||
			       mono_ms() >= r->ctx->deadline_ms;
		}
		/* A SIGCHLD that arrived while the last reap loop ran is a
		 * notification all the same: take it before disarming.  Every
		 * child has exited by now, so nothing can come after this look. */
		long late = rc == 0 && m->reap == R_ANY ? m->wait(r, 0) : 0;
		if (late > 0)
			t->notes += late, t->late = late;
	}
	sc_release_join(r);
	sc_trace_end(r);
	deadline_timer(r->ctx, 0);
	m->disarm(r);
	uint64_t t2 = mono_us();
	t->left = sc_reap_rest(r);
	t->make_us = t1 - t0;
	t->wait_us = t2 - t1;
	t->clean_us = mono_us() - t2;
	return rc;
}

static long distinct(const struct sc_run *r, long *ours)
{
	pid_t *v = xcalloc((size_t)r->nnamed + 1, sizeof *v);
	memcpy(v, r->named, (size_t)r->nnamed * sizeof *v);
	long d = 0;
	*ours = 0;
	for (long i = 0; i < r->nnamed; i++) {
		long j = 0;
		while (j < d && v[j] != v[i]) /* small N, or few named: fine */
			j++;
		if (j == d) {
			v[d++] = v[i];
			*ours += sc_index(r, v[i]) >= 0;
		}
	}
	free(v);
	return d;
}

/* Room for N children: RLIMIT_NPROC (unless root, whom the kernel does not
 * hold to it) and, for pidfd methods, RLIMIT_NOFILE raised to fit. */
static int check_limits(const struct sc_method *m, long n, char *err, size_t errlen)
{
	struct rlimit rl;
	if (geteuid() != 0 && getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < (rlim_t)n + 16) {
		snprintf(err, errlen, "RLIMIT_NPROC %llu is below %ld children", (unsigned long long)rl.rlim_cur, n);
		return STEP_UNSUPPORTED;
	}
	if (m->make == MK_FORK || getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= (rlim_t)n + 64)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (rlim_t)n + 64) {
		snprintf(err, errlen, "RLIMIT_NOFILE hard %llu is below %ld pidfds", (unsigned long long)rl.rlim_max, n);
		return STEP_UNSUPPORTED;
	}
	rl.rlim_cur = (rlim_t)n + 64;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		snprintf(err, errlen, "setrlimit(RLIMIT_NOFILE): %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* The arguments of `run sigchld`, named where the spec below declares them. */
enum { SIGCHLD_CHILDREN, SIGCHLD_PATTERN, SIGCHLD_METHOD, SIGCHLD_CHILD, SIGCHLD_STEP_US, SIGCHLD_RELEASE };

static int exp_sigchld(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	long n = iv[SIGCHLD_CHILDREN];
	enum sc_pattern pat = (enum sc_pattern)iv[SIGCHLD_PATTERN];
	const struct sc_method *m = sc_method_find(sv[SIGCHLD_METHOD]);
	int exec = iv[SIGCHLD_CHILD] == 1, by_parent = iv[SIGCHLD_RELEASE] == 1;
	if (n < 1 || n > MAX_CHILDREN || !m) {
		snprintf(err, errlen, "children must be 1..%d and method one of %s", MAX_CHILDREN, sc_method_names);
		return -1;
	}
	if (pat == PAT_STAGGERED && exec) {
		snprintf(err, errlen, "pattern=staggered needs child=direct (the exec'd child only waits for the barrier)");
		return -1;
	}
	if (m->needs_pd && (!exec || strcmp(ctx->be->name, "pdspawn") != 0)) {
		snprintf(err, errlen, "method %s needs child=exec and the pdspawn backend", m->name);
		return -1;
	}
	if (m->make != MK_FORK) { /* CLONE_PIDFD 5.2, pidfd_open 5.3, P_PIDFD 5.4 */
		int fd = sl_pidfd_open(getpid(), 0);
		if (fd < 0 && (errno == ENOSYS || errno == EINVAL)) {
			snprintf(err, errlen, "pidfd_open: %s", strerror(errno));
			return STEP_UNSUPPORTED;
		}
		if (fd >= 0)
			close(fd);
	}
	int lim = check_limits(m, n, err, errlen);
	if (lim)
		return lim;

	struct sc_run r;
	struct tally naive = {0}, t;
	memset(&r, 0, sizeof r);
	int two = m->reap == R_ANY;
	if (two) {
		r = (struct sc_run){.m = m, .ctx = ctx, .exec = exec, .naive = 1, .want = n,
				    .step_ns = (uint64_t)iv[SIGCHLD_STEP_US] * 1000, .by_parent = by_parent};
		int rc = run_round(&r, pat, &naive, err, errlen);
		sc_free(&r);
		if (rc < 0)
			return -1;
	}
	r = (struct sc_run){.m = m, .ctx = ctx, .exec = exec, .want = n, .step_ns = (uint64_t)iv[SIGCHLD_STEP_US] * 1000,
			    .by_parent = by_parent};
	if (run_round(&r, pat, &t, err, errlen) < 0) {
		sc_free(&r);
		return -1;
	}

	long exits = sc_stamped(&r), ours = 0, d = distinct(&r, &ours);
	obs_num(ctx, "children", (double)r.n);
	obs_num(ctx, "exits", (double)exits);
	obs_num(ctx, "notifications", (double)t.notes);
	obs_num(ctx, "wakeups", (double)t.wakeups);
	obs_num(ctx, "distinct_pids", (double)d);
	obs_num(ctx, "named_ours", (double)ours);
	obs_num(ctx, "reaped", (double)t.reaped);
	obs_num(ctx, "learned", (double)t.learned);
	obs_num(ctx, "left_after_correct", (double)t.left);
	obs_num(ctx, "zombies_naive", (double)(two ? naive.left : t.left));
	if (two) {
		obs_num(ctx, "notifications_late", (double)t.late);
		obs_num(ctx, "notifications_naive", (double)naive.notes);
		obs_num(ctx, "reaped_naive", (double)naive.reaped);
	}
	if (m->handler)
		obs_num(ctx, "sigchld_handled", (double)sc_sig_count());
	if (m->reap == R_AUTO)
		obs_num(ctx, "echild", (double)t.echild);
	if (m->reap == R_PIDFD) {
		obs_num(ctx, "pidfd_early", (double)t.early);
		obs_num(ctx, "dup_reports", (double)r.dup_reports);
	}
	obs_num(ctx, "make_ms", (double)((t.make_us + naive.make_us) / 1000));
	obs_num(ctx, "wait_ms", (double)((t.wait_us + naive.wait_us) / 1000));
	obs_num(ctx, "clean_ms", (double)((t.clean_us + naive.clean_us) / 1000));
	obs_num(ctx, "foreign", (double)(t.foreign + naive.foreign));
	obs_put(ctx, "sigchld.method", "%s", m->name);
	obs_put(ctx, "sigchld.child", "%s", exec ? "exec" : "direct");
	obs_put(ctx, "sigchld.complete", "%s", r.n == n && t.learned == r.n ? "yes" : "no");
	double *us = xcalloc((size_t)r.n + 1, sizeof *us);
	size_t k = 0;
	for (long i = 0; i < r.n; i++)
		if (r.learn[i] && r.sh->stamp[i])
			us[k++] = ((double)r.learn[i] - (double)r.sh->stamp[i]) / 1000.0;
	exp_summarise(ctx, "delay", us, k);
	free(us);
	sc_trace_report(&r, ctx);
	sc_free(&r);
	return 0;
}

/* The experiment kinds of this file (the families' registry lists them). */
const struct step_kind sigchld_kinds[] = {
	{.name = "sigchld",
	 .summary = "CHILDREN exit (barrier, staggered, busy parent): what one notification method tells the parent",
	 .args = {[SIGCHLD_CHILDREN] = {"children", ARG_INT, 0, "10", NULL},
		  [SIGCHLD_PATTERN] = {"pattern", ARG_CHOICE, 0, "barrier", "barrier|staggered|busy"},
		  [SIGCHLD_METHOD] = {"method", ARG_CHOICE, 1, NULL, sc_method_names},
		  [SIGCHLD_CHILD] = {"child", ARG_CHOICE, 0, "direct", "direct|exec"},
		  [SIGCHLD_STEP_US] = {"step_us", ARG_INT, 0, "100", NULL},
		  [SIGCHLD_RELEASE] = {"release", ARG_CHOICE, 0, "helper", "helper|parent"}},
	 .run = exp_sigchld,
	 .flags = KIND_ALONE,
	 .keys = "num.{children,clean_ms,delay_iqr_us,delay_max_us,delay_mean_us,delay_median_us,delay_min_us,delay_p99_us,distinct_pids,dup_reports,echild,exit_spread_us,exits,exits_before_first_note,exits_in_busy,exits_in_reap,exits_in_release,exits_in_wait,foreign,learned,left_after_correct,looks,make_ms,named_ours,notifications,notifications_late,notifications_naive,parent_cpu_ms,parent_runq_ms,pidfd_early,reap_max_us,reaped,reaped_naive,samples,samples_blocked,samples_pending,samples_running,sigchld_handled,wait_ms,wakeups,zombies_naive} "
		 "sigchld.{child,complete,method}"},
	{0},
};
