/* run.h: one `spawnlab run`: the selected cases, their units, and how
 * they are scheduled; the writers that present them are out/out.h. */
#ifndef SPAWNLAB_RUN_H
#define SPAWNLAB_RUN_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "core/runner.h"

struct case_run {
	const struct sl_case *c;
	struct unit_result u[CASE_MAX_BACKENDS];
	size_t nu;
	enum outcome outcome;
	uint64_t duration_us; /* the sum of its units' durations */
	int alone;            /* its units run with nothing else of the run beside them */
	size_t left;          /* units not finished yet */
	int complete;
	uint64_t expect_us;   /* its duration in an earlier result (run_history.c), 0 if unknown */
	size_t fam;           /* index in run.fam */
};

/* Running time of one family: wall clock while at least one of its units
 * ran, and the sum of its units' own durations (larger when units ran side
 * by side). */
struct family_time {
	const char *name;
	size_t cases;
	uint64_t wall_us;  /* closed intervals so far */
	uint64_t since_us; /* mono_us() when RUNNING went from 0 to 1 */
	size_t running;    /* its units running now */
	int ran;           /* a unit of it started */
	uint64_t unit_us;
	int alone; /* every case of it ran alone */
};

/* F's wall clock up to NOW (mono_us()), the interval still open included. */
static inline uint64_t family_wall_us(const struct family_time *f, uint64_t now)
{
	return f->wall_us + (f->running && now > f->since_us ? now - f->since_us : 0);
}

struct run {
	struct case_run *cr;
	size_t n, done;
	unsigned long backends; /* selected by --backend */
	const char *const *patterns;
	int npatterns;
	int timeout_s;
	const char *out_dir;
	const char *probe;
	const char *cases_dir;
	struct timespec start, end;
	int complete;
	size_t count[OUT_N]; /* per outcome, over cases */
	int jobs;            /* units running at most at once (--jobs) */
	struct family_time *fam;
	size_t nfam;
};

/* Run every selected unit of R, up to R->jobs at a time; a unit of a case
 * marked alone runs with nothing beside it.  Each case is handed to EMIT
 * in order as soon as it and every case before it are complete.  Stops
 * starting units once *STOP is set (a signal) and finishes, that is kills,
 * the running ones; R->done is then the complete prefix (run_sched.c). */
struct run_opts;
typedef void (*case_emit_fn)(struct run *r, struct case_run *cr, size_t idx, void *arg);
typedef void (*run_tick_fn)(struct run *r, void *arg);
void run_cases(struct run *r, const struct run_opts *o, const volatile sig_atomic_t *stop, case_emit_fn emit,
	       run_tick_fn tick, void *arg);
/* Does case C measure time, rates or races (its experiment's kind is
 * KIND_ALONE)? */
int case_runs_alone(const struct sl_case *c);
/* R->fam, one family_time per family in the order they come, and each
 * case's fam and alone (run_cases does it if R->fam is NULL).  The cases
 * that run alone (sigchld, cost, the fd race) are first moved to the front
 * of R->cr, in their order: no unit runs beside them and none has to drain
 * before each of them, and they run in a driver as small as it will be.
 * (Every spawner is a fork of the driver, which grows from about 6 to 17 MB
 * of touched memory over a default run; after it, fork's call time in
 * cost/spawn_static was 320 us, 96 us from a fresh driver.) */
void run_families(struct run *r);

/* run_room.c: JOBS, or fewer when RLIMIT_NPROC or a cgroup's pids.max
 * leave too little room for that many units side by side (WHY says so). */
int run_room(int jobs, char *why, size_t len);

/* run_history.c: the durations of these cases in the newest result among
 * RUNS_DIR/ * /result.json, and for what that lacks, in the newest
 * baseline BASELINES_DIR/ *.json; fills cr->expect_us.  Returns how many
 * cases got one. */
size_t run_history(struct run *r, const char *runs_dir, const char *baselines_dir);


/* The case's outcome from its units: fail or error if any unit did,
 * skip if every unit skipped, else pass. */
enum outcome case_outcome(const struct case_run *cr);
/* Whether case C has a unit in run R on backend index B (the run selected
 * the backend, and the case names it or says `backends none`). */
int run_has_unit(const struct run *r, const struct sl_case *c, size_t b);


#endif
