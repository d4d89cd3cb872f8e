/* experiment_eintr.c: what a signal does to a blocked call, row by row
 * (eintr_calls.c) and mode by mode (eintr_modes.c), checked against
 * signal(7) "Interruption of system calls and library functions by signal
 * handlers" and "... by stop signals".
 *
 * One row: set up; fork the blocked party; wait until /proc shows it
 * asleep ('S') in the row's system call; interrupt it; wait until the
 * interruption has been dealt with (the call returned, or the party is
 * asleep in the call again: restarted); make the call completable; collect
 * what it returned.  Every wait is a bounded poll.
 *
 * call=all runs every row in one unit and counts the outcomes: with
 * mode=sigchld that is the realistic question, how many of these calls a
 * child's exit disturbs in a classic parent (SIGCHLD handler) and in a
 * descriptor-based one (SIGCHLD left at SIG_DFL, children waited for
 * through pidfds). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/case.h"
#include "families/eintr/eintr.h"
#include "families/experiments.h"
#include "lib/names.h"
#include "lib/reap.h"
#include "lib/util.h"
#include "sys/sys.h"

#define ROW_BUDGET_MS 4000
#define ROW_LEFT_MS 1500 /* a row starts only with this much of the unit's time left */
#define STOP_HOLD_MS 50 /* how long the party stays stopped: the timer rows show whether it counts */

enum parent_style { PARENT_CLASSIC, PARENT_DESCRIPTOR };

struct row_out {
	const char *result;   /* eintr restarted partial remaining completed returned other stuck */
	int unsupported;
	int handled;          /* runs of the interrupting handler */
	int reblocked;        /* the party was asleep in the call again after the interruption */
	long blocked_nr;      /* the syscall /proc showed first */
	long ret;
	int err;
	long rem_ns;
	long elapsed_us;
	long stopped_us;
	long timeout_ms;      /* sleep rows: how long the call sleeps */
	int gave_way;         /* the call returned before it ever blocked: the set-up did not hold */
	char note[160];
};

static void nap_ms(long ms)
{
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

/* Until the party has returned from its call or UNTIL: it sets `returned`
 * and exits at once, so its pidfd becoming readable is the moment to look.
 * Blocking in poll(2) costs nothing while a sleep row sleeps its full time
 * (sleep(3): 2 s); without pidfd_open, short naps. */
static void wait_returned(pid_t pid, const struct eintr_shared *sh, uint64_t until)
{
	int pfd = sl_pidfd_open(pid, 0);
	while (!__atomic_load_n(&sh->returned, __ATOMIC_SEQ_CST)) {
		uint64_t now = mono_ms();
		if (now >= until)
			break;
		if (pfd < 0) {
			nap_ms(1);
			continue;
		}
		struct pollfd p = {pfd, POLLIN, 0};
		if (poll(&p, 1, (int)(until - now)) > 0)
			break; /* exited: `returned` is as it will stay */
	}
	if (pfd >= 0)
		close(pfd);
}

static int completed_as_wanted(const struct eintr_call *c, const struct eintr_env *e)
{
	const struct eintr_shared *sh = e->sh;
	switch (c->want_kind) {
	case W_VAL:
		return sh->ret == c->want;
	case W_LEN:
		return sh->ret == (long)e->len;
	case W_NONNEG:
		return sh->ret >= 0;
	case W_PID:
		return sh->ret == sh->grandchild;
	case W_EINTR:
		return sh->ret == -1 && sh->err == EINTR && sh->woken > 0;
	}
	return 0;
}

static const char *classify(const struct eintr_call *c, const struct eintr_env *e, int early, int interrupted)
{
	const struct eintr_shared *sh = e->sh;
	if (c->want_kind == W_EINTR && sh->ret == -1 && sh->err == EINTR)
		return early ? "eintr" : interrupted ? "restarted" : "completed";
	if (sh->ret == -1 && sh->err == EINTR)
		return "eintr";
	if ((c->flags & EF_PARTIAL) && early && sh->ret > 0 && sh->ret < (long)e->len)
		return "partial";
	if ((c->flags & EF_SLEEP3) && sh->ret > 0)
		return "remaining";
	/* Returned without the wake: what interrupted it also satisfied it
	 * (wait(2) reaping the child whose exit raised SIGCHLD). */
	if (early && c->wake && sh->ret >= 0)
		return "returned";
	if (completed_as_wanted(c, e))
		return interrupted ? "restarted" : "completed";
	return "other";
}

/* The blocked party: arm the mode, prepare, enter the call, report. */
static void party(const struct eintr_call *c, struct eintr_env *e, enum eintr_mode m, int classic,
		  const struct backend *be, const char *waiter, int cgate[2])
{
	struct eintr_shared *sh = e->sh;
	if (eintr_mode_arm(m, classic, sh) < 0) {
		snprintf(sh->prep_what, sizeof sh->prep_what, "sigaction");
		sh->prep_err = errno;
		_exit(1);
	}
	if (m == EM_SIGCHLD) {
		close(cgate[1]);
		pid_t pid = eintr_spawn_sigchild(be, waiter, cgate[0]);
		if (pid < 0) {
			snprintf(sh->prep_what, sizeof sh->prep_what, "spawn the SIGCHLD source through %s", be->name);
			sh->prep_err = errno;
			_exit(1);
		}
		sh->sigchild = pid;
		close(cgate[0]);
	}
	if (c->prep && c->prep(e) < 0) {
		snprintf(sh->prep_what, sizeof sh->prep_what, "%s: prepare", c->name);
		sh->prep_err = errno ? errno : EIO;
		_exit(1);
	}
	sh->rem_ns = -1;
	uint64_t t0 = mono_us();
	__atomic_store_n(&sh->entered, 1, __ATOMIC_SEQ_CST);
	errno = 0;
	long r = c->call(e);
	int err = errno;
	sh->elapsed_us = (long)(mono_us() - t0);
	sh->ret = r;
	sh->err = r < 0 ? err : 0;
	__atomic_store_n(&sh->returned, 1, __ATOMIC_SEQ_CST);
	_exit(0);
}

/* Deliver the mode's interruption and wait until it has been dealt with. */
static int interrupt(enum eintr_mode m, int classic, pid_t pid, struct eintr_shared *sh, int cgate_w,
		     uint64_t deadline, struct row_out *o)
{
	switch (m) {
	case EM_HANDLER:
	case EM_RESTART:
		if (kill(pid, EINTR_SIG) < 0)
			return -1;
		while (!sh->handled && !sh->returned && mono_ms() < deadline)
			eintr_nap();
		return sh->handled || sh->returned ? 0 : (errno = ETIMEDOUT, -1);
	case EM_STOPCONT: {
		if (kill(pid, SIGSTOP) < 0)
			return -1;
		if (eintr_wait_state(pid, 'T', deadline) < 0)
			return errno = ETIMEDOUT, -1;
		uint64_t t0 = mono_us();
		nap_ms(STOP_HOLD_MS);
		if (kill(pid, SIGCONT) < 0)
			return -1;
		o->stopped_us = (long)(mono_us() - t0);
		return 0;
	}
	case EM_SIGCHLD:
		close(cgate_w); /* the source's stdin reaches EOF: it exits */
		if (eintr_wait_state(sh->sigchild, 'Z', deadline) < 0)
			return errno = ETIMEDOUT, -1;
		if (classic)
			while (!sh->handled && !sh->returned && mono_ms() < deadline)
				eintr_nap();
		return 0;
	}
	return errno = EINVAL, -1;
}

static int run_row(const struct eintr_call *c, enum eintr_mode m, int classic, struct step_ctx *ctx,
		   struct row_out *o, char *err, size_t errlen)
{
	memset(o, 0, sizeof *o);
	o->result = "stuck";
	o->blocked_nr = -1;
	uint64_t deadline = mono_ms() + ROW_BUDGET_MS;
	if (deadline > ctx->deadline_ms)
		deadline = ctx->deadline_ms;
	struct eintr_shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		snprintf(err, errlen, "mmap: %s", strerror(errno));
		return -1;
	}
	struct eintr_env e;
	eintr_env_init(&e, sh);
	int cgate[2] = {-1, -1}, rc = 0;
	pid_t pid = -1;
	char *waiter = m == EM_SIGCHLD ? exp_program(ctx, "waiter") : NULL;
	if (c->setup && (rc = c->setup(&e, err, errlen)) != 0) {
		o->unsupported = rc == STEP_UNSUPPORTED;
		goto out;
	}
	if (m == EM_SIGCHLD && pipe2(cgate, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe2: %s", strerror(errno));
		rc = -1;
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		rc = -1;
		goto out;
	}
	if (pid == 0)
		party(c, &e, m, classic, ctx->be, waiter, cgate);
	if (cgate[0] >= 0)
		close(cgate[0]);

	if (eintr_wait_blocked(pid, c->nr, 0, sh, deadline) != 1) {
		char st = '?';
		long nr = -1;
		eintr_proc(pid, &st, &nr);
		if (sh->prep_err)
			snprintf(err, errlen, "%s: %s", sh->prep_what, strerror(sh->prep_err));
		else if (sh->returned) {
			o->gave_way = 1;
			snprintf(err, errlen, "%s returned %ld (%s) before it blocked", c->name, sh->ret,
				 sh->err ? errno_name(sh->err) : "0");
		} else {
			snprintf(err, errlen, "%s did not block in syscall %d within the budget (state %c, syscall %ld)",
				 c->name, c->nr[0], st, nr);
		}
		rc = -1;
		goto out;
	}
	char st;
	eintr_proc(pid, &st, &o->blocked_nr);
	if (interrupt(m, classic, pid, sh, cgate[1], deadline, o) < 0) {
		snprintf(err, errlen, "%s: interrupting (%s): %s", c->name, eintr_mode_names[m], strerror(errno));
		rc = -1;
		goto out;
	}
	cgate[1] = -1; /* closed by the sigchld interruption; unused otherwise */
	int back = eintr_wait_blocked(pid, c->nr, 1, sh, deadline);
	int early = back == 0;
	o->reblocked = back == 1;
	if (!early && c->wake && c->wake(&e, pid) < 0)
		snprintf(o->note, sizeof o->note, "wake failed: %s", strerror(errno));
	wait_returned(pid, sh, deadline + (uint64_t)e.timeout_ms);
	int interrupted = m == EM_STOPCONT || sh->handled > 0;
	o->handled = sh->handled;
	o->timeout_ms = e.timeout_ms;
	if (sh->returned) {
		o->result = classify(c, &e, early, interrupted);
		o->ret = sh->ret;
		o->err = sh->err;
		o->rem_ns = sh->rem_ns;
		o->elapsed_us = sh->elapsed_us;
	}
out:
	if (pid > 0)
		sl_reap_by(pid, NULL, mono_ms() + 1000);
	if (cgate[0] >= 0 && pid < 0)
		close(cgate[0]);
	if (cgate[1] >= 0)
		close(cgate[1]);
	eintr_env_cleanup(&e);
	munmap(sh, sizeof *sh);
	free(waiter);
	return rc;
}

static void put_row(struct step_ctx *ctx, const struct eintr_call *c, enum eintr_mode m, const struct row_out *o)
{
	long timeout_ms = o->timeout_ms;
	obs_put(ctx, "eintr.result", "%s", o->result);
	obs_put(ctx, "eintr.blocked_in", "%ld", o->blocked_nr);
	/* Whether /proc showed the party asleep in the row's own system call
	 * (numbers differ by architecture; the row's table has this one's). */
	obs_put(ctx, "eintr.blocked_in_row_call", "%s",
		o->blocked_nr >= 0 && (o->blocked_nr == c->nr[0] || (c->nr[1] && o->blocked_nr == c->nr[1])) ? "yes"
													  : "no");
	obs_put(ctx, "eintr.reblocked", "%s", o->reblocked ? "yes" : "no");
	obs_put(ctx, "eintr.ret", "%ld", o->ret);
	obs_put(ctx, "eintr.errno", "%s", o->err ? errno_name(o->err) : "0");
	obs_num(ctx, "handler_runs", o->handled);
	obs_num(ctx, "elapsed_us", (double)o->elapsed_us);
	if (strcmp(o->result, "partial") == 0)
		obs_num(ctx, "partial_bytes", (double)o->ret);
	if ((c->flags & EF_REM) && o->rem_ns >= 0) {
		obs_num(ctx, "rem_ms", (double)(o->rem_ns / 1000000));
		obs_put(ctx, "eintr.rem", "%s", o->rem_ns > 0 ? "reported" : "zero");
	}
	/* A sleep restarted across a stop: was the stopped time counted
	 * against it (deducted) or added on top (extended)?  Recorded only. */
	if (m == EM_STOPCONT && timeout_ms && strcmp(o->result, "restarted") == 0) {
		obs_num(ctx, "stopped_us", (double)o->stopped_us);
		obs_put(ctx, "eintr.timer", "%s",
			o->elapsed_us < timeout_ms * 1000 + o->stopped_us / 2 ? "deducted" : "extended");
	}
	if (o->note[0])
		obs_put(ctx, "eintr.note", "%s", o->note);
}

/* One row; again, once, when its call returned before it ever blocked.
 * That is the set-up giving way, not the call's answer to an interruption
 * (a full terminal whose line discipline made room late: flush_to_ldisc
 * runs from a work queue), and a call that no longer blocks at all gives
 * way twice and is reported.  RETRIED counts the second tries. */
static int run_row_settled(const struct eintr_call *c, enum eintr_mode m, int classic, struct step_ctx *ctx,
			   struct row_out *o, char *err, size_t errlen, long *retried)
{
	int rc = run_row(c, m, classic, ctx, o, err, errlen);
	if (rc < 0 && o->gave_way && mono_ms() + ROW_LEFT_MS < ctx->deadline_ms) {
		++*retried;
		rc = run_row(c, m, classic, ctx, o, err, errlen);
	}
	return rc;
}

/* call=all: every row, counted. */
static int run_all(enum eintr_mode m, int classic, struct step_ctx *ctx, char *err, size_t errlen)
{
	static const char *const kinds[] = {"eintr", "restarted", "partial", "remaining", "completed", "returned", "other", "stuck"};
	long count[8] = {0}, skipped = 0, broke = 0, retried = 0;
	struct sbuf disturbed;
	sb_init(&disturbed);
	for (int i = 0; i < EC_COUNT; i++) {
		struct row_out o;
		char rerr[512] = "";
		if (mono_ms() + ROW_LEFT_MS >= ctx->deadline_ms) {
			snprintf(err, errlen, "out of time after %d rows", i);
			sb_free(&disturbed);
			return -1;
		}
		int rc = run_row_settled(&eintr_calls[i], m, classic, ctx, &o, rerr, sizeof rerr, &retried);
		if (rc == STEP_UNSUPPORTED || o.unsupported) {
			skipped++;
			continue;
		}
		if (rc < 0) {
			broke++;
			obs_put(ctx, "eintr.broke", "%s: %s", eintr_calls[i].name, rerr);
			continue;
		}
		for (size_t k = 0; k < 8; k++)
			if (strcmp(o.result, kinds[k]) == 0)
				count[k]++;
		if (strcmp(o.result, "completed") != 0)
			sb_addf(&disturbed, "%s%s=%s", disturbed.len ? "," : "", eintr_calls[i].name, o.result);
	}
	long run = 0;
	for (size_t k = 0; k < 8; k++) {
		char key[32];
		snprintf(key, sizeof key, "rows_%s", kinds[k]);
		obs_num(ctx, key, (double)count[k]);
		run += count[k];
	}
	obs_num(ctx, "rows_run", (double)run);
	obs_num(ctx, "rows_skipped", (double)skipped);
	obs_num(ctx, "rows_broke", (double)broke);
	obs_num(ctx, "rows_retried", (double)retried);
	/* Disturbed: the call did not simply complete as if nothing happened. */
	obs_num(ctx, "rows_disturbed", (double)(run - count[4]));
	obs_put(ctx, "eintr.disturbed", "%s", disturbed.len ? disturbed.s : "none");
	sb_free(&disturbed);
	return 0;
}

/* The arguments of `run eintr`, named where the spec below declares them. */
enum { EINTR_CALL, EINTR_MODE, EINTR_PARENT };

static int exp_eintr(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)sv;
	enum eintr_mode m = (enum eintr_mode)iv[EINTR_MODE];
	/* The parent's set-up is the case's choice, the same for every
	 * backend, so that the backends are compared like with like. */
	int classic = iv[EINTR_PARENT] == PARENT_CLASSIC;
	obs_put(ctx, "eintr.mode", "%s", eintr_mode_names[m]);
	if (m == EM_SIGCHLD)
		obs_put(ctx, "eintr.parent", "%s", classic ? "classic" : "descriptor");
	if (iv[EINTR_CALL] == EC_COUNT)
		return run_all(m, classic, ctx, err, errlen);
	const struct eintr_call *c = &eintr_calls[iv[EINTR_CALL]];
	obs_put(ctx, "eintr.call", "%s", c->name);
	struct row_out o;
	long retried = 0;
	int rc = run_row_settled(c, m, classic, ctx, &o, err, errlen, &retried);
	obs_num(ctx, "rows_retried", (double)retried);
	if (rc != 0)
		return rc;
	put_row(ctx, c, m, &o);
	return 0;
}

/* The experiment kinds of this file (the families' registry lists them). */
const struct step_kind eintr_kinds[] = {
	{.name = "eintr",
	 .summary = "a process blocked in CALL (verified in /proc) is interrupted per MODE; what the call returns",
	 .args = {[EINTR_CALL] = {"call", ARG_CHOICE, 1, NULL, eintr_call_names},
		  [EINTR_MODE] = {"mode", ARG_CHOICE, 1, NULL, "handler|restart|stopcont|sigchld"},
		  [EINTR_PARENT] = {"parent", ARG_CHOICE, 0, "classic", "classic|descriptor"}},
	 .run = exp_eintr,
	 .keys = "eintr.{broke,note} eintr.{blocked_in,blocked_in_row_call,call,disturbed,errno,mode,parent,reblocked,rem,result,ret,timer} "
		 "num.{elapsed_us,handler_runs,partial_bytes,rem_ms,rows_broke,rows_completed,rows_disturbed,rows_eintr,rows_other,rows_partial,rows_remaining,rows_restarted,rows_retried,rows_returned,rows_run,rows_skipped,rows_stuck,stopped_us}"},
	{0},
};
