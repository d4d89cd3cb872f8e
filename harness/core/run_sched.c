/* run_sched.c: the units of a run, several at a time.
 *
 * A unit is one case on one backend in its own sandbox.  Most units only
 * check what crossed exec, what a call returned, whom a stale pid reached:
 * facts that do not depend on what else the machine is doing, and that
 * spend most of their time waiting (sleeps, timeouts, /proc polls).  Those
 * run up to --jobs at a time.  A unit whose experiment measures time, a
 * rate or a race (SIGCHLD coalescing and delays, spawn latency, the
 * close-on-exec race) would measure its neighbours instead: it runs alone,
 * after the units before it have ended and before any after it starts.
 *
 * Units start in the order of the cases, those that run alone moved to the
 * front (run_families); cases are handed to the writer in that order too,
 * each as soon as it and every case before it are done. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "backends/backend.h"
#include "core/run.h"
#include "core/sandbox.h"
#include "lib/util.h"

/* A case whose experiment measures times, rates or races (KIND_ALONE,
 * declared by the experiment) runs with nothing beside it. */
int case_runs_alone(const struct sl_case *c)
{
	return c->experiment.kind && (c->experiment.kind->flags & KIND_ALONE);
}

enum outcome case_outcome(const struct case_run *cr)
{
	int any_fail = 0, any_error = 0, all_skip = 1, any_xfail = 0, any_xpass = 0;
	for (size_t i = 0; i < cr->nu; i++) {
		enum outcome o = cr->u[i].outcome;
		if (!cr->u[i].backend)
			continue;
		any_fail |= o == OUT_FAIL;
		any_error |= o == OUT_ERROR;
		any_xfail |= o == OUT_XFAIL;
		any_xpass |= o == OUT_XPASS;
		all_skip &= o == OUT_SKIP;
	}
	return any_fail	   ? OUT_FAIL
	       : any_error ? OUT_ERROR
	       : any_xpass ? OUT_XPASS
	       : any_xfail ? OUT_XFAIL
	       : all_skip  ? OUT_SKIP
			   : OUT_PASS;
}

int run_has_unit(const struct run *r, const struct sl_case *c, size_t b)
{
	/* A backend-independent case runs whatever backends were selected. */
	return case_has_unit(c, b) && (b == backend_count() || (r->backends & (1UL << b)));
}

void run_families(struct run *r)
{
	/* Stable: the cases that run alone first, in order. */
	struct case_run *v = xcalloc(r->n + 1, sizeof *v);
	size_t k = 0;
	for (int alone = 1; alone >= 0; alone--)
		for (size_t i = 0; i < r->n; i++)
			if (case_runs_alone(r->cr[i].c) == alone)
				v[k++] = r->cr[i];
	memcpy(r->cr, v, r->n * sizeof *v);
	free(v);
	r->fam = xcalloc(r->n + 1, sizeof *r->fam);
	for (size_t i = 0; i < r->n; i++) {
		struct case_run *cr = &r->cr[i];
		size_t f = 0;
		while (f < r->nfam && strcmp(r->fam[f].name, cr->c->family) != 0)
			f++;
		if (f == r->nfam)
			r->fam[r->nfam++] = (struct family_time){.name = cr->c->family, .alone = 1};
		cr->fam = f;
		cr->alone = case_runs_alone(cr->c);
		r->fam[f].cases++;
		r->fam[f].alone &= cr->alone;
	}
}

struct slot {
	struct unit_job *job;
	size_t ci, b;
	int crowded; /* another unit ran beside it at some point */
};

struct sched {
	struct run *r;
	const struct run_opts *o;
	struct slot *slot;
	size_t nslot, emitted;
	int alone_running, jobs;
	case_emit_fn emit;
	void *arg;
	const volatile sig_atomic_t *stop;
	struct slot *retry; /* units to run again, alone */
	size_t nretry;
};

/* A sandbox that could not be made for want of processes, fds or memory,
 * while other units ran beside it, says nothing about the case: the
 * limit (RLIMIT_NPROC, RLIMIT_NOFILE, pids.max) was shared with them.
 * Such a unit runs again, alone, and the run goes on one unit at a time. */
static int short_of_resources(int e)
{
	return e == EAGAIN || e == ENOMEM || e == EMFILE || e == ENFILE;
}

/* A unit of CR's family starts or ends: the family's wall clock counts
 * while any of its units runs. */
static void family_unit(struct run *r, const struct case_run *cr, int start)
{
	struct family_time *f = &r->fam[cr->fam];
	uint64_t now = mono_us();
	if (start) {
		f->ran = 1;
		if (f->running++ == 0)
			f->since_us = now;
	} else if (f->running && --f->running == 0) {
		f->wall_us += now > f->since_us ? now - f->since_us : 0;
	}
}

static void retry_later(struct sched *s, size_t ci, size_t b)
{
	family_unit(s->r, &s->r->cr[ci], 0);
	unit_result_free(&s->r->cr[ci].u[b]);
	s->retry[s->nretry++] = (struct slot){NULL, ci, b, 0};
	s->jobs = 1;
}

/* A unit ended: account for it, complete its case, emit what is ready. */
static void unit_done(struct sched *s, size_t ci)
{
	struct run *r = s->r;
	struct case_run *cr = &r->cr[ci];
	struct family_time *f = &r->fam[cr->fam];
	family_unit(r, cr, 0);
	if (--cr->left || *s->stop) /* a unit ended by the interruption is no result */
		return;
	cr->complete = 1;
	cr->duration_us = 0;
	for (size_t b = 0; b < cr->nu; b++)
		if (cr->u[b].backend)
			cr->duration_us += cr->u[b].duration_us;
	f->unit_us += cr->duration_us;
	cr->outcome = case_outcome(cr);
	r->count[cr->outcome]++;
	while (s->emitted < r->n && r->cr[s->emitted].complete) {
		r->done = ++s->emitted;
		if (s->emit)
			s->emit(r, &r->cr[s->emitted - 1], s->emitted - 1, s->arg);
	}
}

static void finish_slot(struct sched *s, size_t k)
{
	struct slot sl = s->slot[k];
	int e = unit_finish(sl.job);
	s->slot[k] = s->slot[--s->nslot];
	if (s->r->cr[sl.ci].alone)
		s->alone_running = 0;
	if (sl.crowded && short_of_resources(e) && !*s->stop)
		retry_later(s, sl.ci, sl.b);
	else
		unit_done(s, sl.ci);
}

/* Wait until a running unit ends (or a deadline passes, or STOP), at most
 * TICK_MS; finish what ended. */
#define TICK_MS 250
static void wait_some(struct sched *s)
{
	const volatile sig_atomic_t *stop = s->stop;
	struct pollfd *p = xcalloc(s->nslot + 1, sizeof *p);
	uint64_t now = mono_ms(), next = now + TICK_MS;
	for (size_t k = 0; k < s->nslot; k++) {
		p[k] = (struct pollfd){unit_job_fd(s->slot[k].job), POLLIN, 0};
		uint64_t d = unit_job_deadline(s->slot[k].job);
		if (d < next)
			next = d;
	}
	p[s->nslot] = (struct pollfd){sandbox_interrupt_fd(), POLLIN, 0};
	int ms = next > now ? (int)(next - now) : 0;
	if (!*stop && poll(p, s->nslot + 1, ms) < 0 && errno != EINTR)
		ms = 0;
	now = mono_ms();
	for (size_t k = s->nslot; k-- > 0;)
		if (p[k].revents || unit_job_deadline(s->slot[k].job) <= now || *stop)
			finish_slot(s, k);
	free(p);
}

/* The units waiting to run again, each alone, once nothing else runs. */
static void run_retries(struct sched *s)
{
	while (s->nretry && !*s->stop) {
		while (s->nslot && !*s->stop)
			wait_some(s);
		if (*s->stop)
			return;
		struct slot sl = s->retry[--s->nretry];
		family_unit(s->r, &s->r->cr[sl.ci], 1);
		struct unit_job *j = unit_start(s->r->cr[sl.ci].c, sl.b, s->o, &s->r->cr[sl.ci].u[sl.b]);
		if (j)
			unit_finish(j);
		unit_done(s, sl.ci);
	}
}

void run_cases(struct run *r, const struct run_opts *o, const volatile sig_atomic_t *stop, case_emit_fn emit,
	       run_tick_fn tick, void *arg)
{
	int jobs = r->jobs > 0 ? r->jobs : 1;
	struct sched s = {r, o, xcalloc((size_t)jobs, sizeof(struct slot)), 0, 0, 0, jobs, emit, arg, stop,
			  xcalloc((size_t)jobs + 1, sizeof(struct slot)), 0};
	size_t nb = backend_count();
	if (!r->fam)
		run_families(r);
	for (size_t i = 0; i < r->n; i++) {
		struct case_run *cr = &r->cr[i];
		cr->nu = nb + 1;
		cr->left = 0;
		for (size_t b = 0; b <= nb; b++)
			cr->left += run_has_unit(r, cr->c, b);
	}
	uint64_t last_tick = 0;
	for (size_t i = 0; i < r->n && !*stop; i++) {
		struct case_run *cr = &r->cr[i];
		for (size_t b = 0; b < cr->nu && !*stop; b++) {
			if (!run_has_unit(r, cr->c, b))
				continue;
			/* Room for this unit: a free slot, no alone unit running,
			 * and nothing at all running if it is alone itself (or
			 * units are waiting to run again alone). */
			while (!*stop && s.nslot &&
			       (s.nslot >= (size_t)s.jobs || s.alone_running || cr->alone || s.nretry)) {
				wait_some(&s);
				if (tick && mono_ms() >= last_tick + TICK_MS)
					tick(r, arg), last_tick = mono_ms();
			}
			if (*stop)
				break;
			run_retries(&s);
			family_unit(r, cr, 1);
			struct unit_job *j = unit_start(cr->c, b, o, &cr->u[b]);
			int e = errno;
			if (!j && s.nslot && short_of_resources(e)) {
				retry_later(&s, i, b);
			} else if (!j) {
				unit_done(&s, i);
			} else if (unit_job_fd(j) < 0) {
				/* No pidfd to wait on: this one runs to its end now. */
				unit_finish(j);
				unit_done(&s, i);
			} else {
				for (size_t k = 0; k < s.nslot; k++)
					s.slot[k].crowded = 1;
				s.slot[s.nslot] = (struct slot){j, i, b, s.nslot > 0};
				s.nslot++;
				s.alone_running = cr->alone;
			}
			if (tick && mono_ms() >= last_tick + TICK_MS)
				tick(r, arg), last_tick = mono_ms();
		}
	}
	while (s.nslot || (s.nretry && !*stop)) {
		if (s.nslot)
			wait_some(&s);
		else
			run_retries(&s);
		if (tick && mono_ms() >= last_tick + TICK_MS)
			tick(r, arg), last_tick = mono_ms();
	}
	free(s.slot);
	free(s.retry);
	if (!*stop)
		return;
	/* Interrupted: the complete prefix stays; every case after it goes,
	 * with whatever of it ran (killed units are not results). */
	r->complete = 0;
	for (size_t i = r->done; i < r->n; i++) {
		if (r->cr[i].complete)
			r->count[r->cr[i].outcome]--;
		for (size_t b = 0; b < r->cr[i].nu; b++)
			unit_result_free(&r->cr[i].u[b]);
		r->cr[i].complete = 0;
	}
}
