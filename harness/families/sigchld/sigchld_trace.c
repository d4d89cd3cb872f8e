/* sigchld_trace.c: where the parent was when each child exited (issue 22).
 *
 * A notification count alone cannot say why it is low: standard signals
 * coalesce whenever SIGCHLD is already pending, and it stays pending while
 * the parent has it blocked or simply does not run.  So each round keeps
 *  - a log of the parent's phases: closing the barrier, inside the
 *    method's wait (where the method can take a notification) and inside
 *    its reap loop (handler methods and sigwaitinfo/signalfd have SIGCHLD
 *    blocked there); any other time is "busy";
 *  - samples of the parent's /proc status (State, SigBlk, ShdPnd/SigPnd)
 *    taken by up to SAMPLES direct children just before they exit, read
 *    through one descriptor the parent opened on its own status (the
 *    children share its fd table), so that the mask is the kernel's, not
 *    the harness's idea of it;
 *  - the parent's run and run-queue time from /proc/thread-self/schedstat
 *    between the release and the end of the round.
 * Every child's exit stamp is then placed in the phase it fell in. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "families/experiments.h"
#include "families/sigchld/sigchld.h"
#include "lib/util.h"

#define SAMPLES 64
#define SIGCHLD_BIT (1ULL << (SIGCHLD - 1))

void sc_trace_begin(struct sc_run *r)
{
	struct sc_trace *t = &r->tr;
	memset(t, 0, sizeof *t);
	t->status_fd = -1;
	if (r->exec)
		return; /* the exec'd waiter does not sample; phases and stamps still apply */
	t->status_fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (t->status_fd < 0)
		return;
	t->every = (r->want + SAMPLES - 1) / SAMPLES; /* at most SAMPLES of them */
	t->samples = xcalloc((size_t)(r->want / t->every + 1), sizeof *t->samples);
}

void sc_trace_phase(struct sc_run *r, enum sc_phase_kind kind, uint64_t t0, uint64_t t1)
{
	struct sc_trace *t = &r->tr;
	if (t->nph == t->phcap) {
		t->phcap = t->phcap ? 2 * t->phcap : 256;
		t->ph = realloc(t->ph, (size_t)t->phcap * sizeof *t->ph);
		if (!t->ph) {
			t->nph = t->phcap = 0;
			return;
		}
	}
	t->ph[t->nph++] = (struct sc_phase){t0, t1, kind};
}

static uint64_t hex_at(const char *buf, const char *field)
{
	const char *p = strstr(buf, field);
	uint64_t v = 0;
	if (!p)
		return 0;
	for (p += strlen(field); *p == '\t' || *p == ' '; p++)
		;
	for (;; p++) {
		int d = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;
		if (d < 0)
			return v;
		v = v << 4 | (uint64_t)d;
	}
}

/* In a direct child, just before its stamp: no call here may fail, for a
 * failing call would write the errno it shares with the parent. */
void sc_trace_sample(struct sc_run *r, long i)
{
	struct sc_trace *t = &r->tr;
	if (!t->samples || i % t->every)
		return;
	char buf[3072];
	ssize_t got = pread(t->status_fd, buf, sizeof buf - 1, 0);
	if (got <= 0)
		return;
	buf[got] = 0;
	const char *st = strstr(buf, "\nState:");
	struct sc_sample *s = &t->samples[i / t->every];
	s->state = st ? st[8] : '?';
	s->blocked = (hex_at(buf, "\nSigBlk:") & SIGCHLD_BIT) != 0;
	s->pending = ((hex_at(buf, "\nShdPnd:") | hex_at(buf, "\nSigPnd:")) & SIGCHLD_BIT) != 0;
	__atomic_store_n(&s->taken, 1, __ATOMIC_RELEASE);
}

/* The parent's time on a CPU and waiting on a run queue, in ns. */
static int schedstat(uint64_t *run, uint64_t *queued)
{
	char *s = read_file("/proc/thread-self/schedstat", 256, NULL);
	unsigned long long a, b;
	int ok = s && sscanf(s, "%llu %llu", &a, &b) == 2;
	free(s);
	if (ok)
		*run = a, *queued = b;
	return ok;
}

void sc_trace_release(struct sc_run *r)
{
	r->tr.sched = schedstat(&r->tr.run0, &r->tr.queued0);
}

void sc_trace_end(struct sc_run *r)
{
	uint64_t run, queued;
	if (r->tr.sched && schedstat(&run, &queued)) {
		r->tr.run_ns = run - r->tr.run0;
		r->tr.queued_ns = queued - r->tr.queued0;
	} else {
		r->tr.sched = 0;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

void sc_trace_report(const struct sc_run *r, struct step_ctx *ctx)
{
	const struct sc_trace *t = &r->tr;
	uint64_t *at = xcalloc((size_t)r->n + 1, sizeof *at);
	long n = 0;
	for (long i = 0; i < r->n; i++)
		if (r->sh->stamp[i])
			at[n++] = r->sh->stamp[i];
	qsort(at, (size_t)n, sizeof *at, cmp_u64);
	long in[PH_N] = {0}, before_note = 0;
	uint64_t reap_max = 0;
	/* Phases are logged in time order and do not overlap: one sweep. */
	long p = 0;
	for (long i = 0; i < n; i++) {
		while (p < t->nph && t->ph[p].t1 < at[i])
			p++;
		if (p < t->nph && t->ph[p].t0 <= at[i])
			in[t->ph[p].kind]++;
		else
			in[PH_BUSY]++;
		before_note += !t->first_note_ns || at[i] < t->first_note_ns;
	}
	for (long q = 0; q < t->nph; q++)
		if (t->ph[q].kind == PH_REAP && t->ph[q].t1 - t->ph[q].t0 > reap_max)
			reap_max = t->ph[q].t1 - t->ph[q].t0;
	long looks = 0;
	for (long q = 0; q < t->nph; q++)
		looks += t->ph[q].kind == PH_WAIT;
	if (n)
		obs_num(ctx, "exit_spread_us", (double)((at[n - 1] - at[0]) / 1000));
	obs_num(ctx, "exits_in_release", (double)in[PH_RELEASE]);
	obs_num(ctx, "exits_in_wait", (double)in[PH_WAIT]);
	obs_num(ctx, "exits_in_reap", (double)in[PH_REAP]);
	obs_num(ctx, "exits_in_busy", (double)in[PH_BUSY]);
	obs_num(ctx, "exits_before_first_note", (double)before_note);
	obs_num(ctx, "looks", (double)looks);
	obs_num(ctx, "reap_max_us", (double)(reap_max / 1000));
	if (t->sched) {
		obs_num(ctx, "parent_cpu_ms", (double)(t->run_ns / 1000000));
		obs_num(ctx, "parent_runq_ms", (double)(t->queued_ns / 1000000));
	}
	if (t->samples) {
		long k = 0, blocked = 0, pending = 0, running = 0;
		for (long j = 0; j <= (r->n - 1) / t->every; j++) {
			const struct sc_sample *s = &t->samples[j];
			if (!__atomic_load_n(&s->taken, __ATOMIC_ACQUIRE))
				continue;
			k++;
			blocked += s->blocked;
			pending += s->pending;
			running += s->state == 'R';
		}
		obs_num(ctx, "samples", (double)k);
		obs_num(ctx, "samples_blocked", (double)blocked);
		obs_num(ctx, "samples_pending", (double)pending);
		obs_num(ctx, "samples_running", (double)running);
	}
	free(at);
}

void sc_trace_free(struct sc_run *r)
{
	if (r->tr.status_fd > 0) /* 0: a round that never began (fd 0 is the spawner's /dev/null) */
		close(r->tr.status_fd);
	free(r->tr.ph);
	free(r->tr.samples);
	memset(&r->tr, 0, sizeof r->tr);
	r->tr.status_fd = -1;
}
