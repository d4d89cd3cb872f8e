/* runner.h: run one case with one backend (a "unit") in a sandbox, and
 * judge the observation against the case's expectations. */
#ifndef SPAWNLAB_RUNNER_H
#define SPAWNLAB_RUNNER_H

#include <stdint.h>

#include "core/case.h"
#include "core/kv.h"

/* XFAIL: the documented expectation a known finding is bound to failed,
 * and the machine did what the finding records; XPASS: the documented
 * expectation held, so the finding no longer reproduces.  Any other
 * failure, the finding's own value included, is a FAIL.  Neither XFAIL nor
 * XPASS fails the run; both are reported (and scripts/diff shows XPASS and
 * a changed observed value as changes). */
enum outcome { OUT_PASS, OUT_FAIL, OUT_SKIP, OUT_ERROR, OUT_XFAIL, OUT_XPASS, OUT_N };
const char *outcome_name(enum outcome o);

struct run_opts {
	const char *probe;   /* absolute path of the probe */
	const char *tmproot; /* this run's private folder */
	int timeout_s;       /* default per unit */
};

struct exp_result {
	const struct expect *e;
	char *want;   /* the value after $variable expansion */
	char *actual; /* what was observed */
	int ok;
};

/* One known finding as judged for one unit. */
struct finding_result {
	const struct finding *f;
	char *want;        /* the finding's value after $variable expansion */
	char *actual;      /* the observed value of its key */
	int holds;         /* the machine did what the finding records */
	int documented_ok; /* the documented expectation(s) on the key held */
};

struct unit_result {
	const struct backend *backend;
	enum outcome outcome;
	char *reason; /* why it failed, skipped or broke; NULL on pass */
	struct kv obs;
	struct exp_result *exps;
	size_t nexps;
	struct finding_result *finds;
	size_t nfinds;
	uint64_t duration_us;
};

void run_unit(const struct sl_case *c, size_t backend_idx, const struct run_opts *o, struct unit_result *out);

/* run_unit in two halves, for a driver that keeps several units running.
 * unit_start returns NULL when the unit is decided without a sandbox (OUT
 * is filled: a skip with errno 0, or an error with the errno that kept the
 * sandbox from being made), else a job whose sandbox runs until
 * unit_finish (which waits for it, judges it, fills OUT, frees the job and
 * returns the errno with which the sandbox could not fork the spawner, or
 * 0).  unit_job_fd is readable when the sandbox has ended (-1 where the
 * kernel has no pidfd: then only unit_finish can tell); after
 * unit_job_deadline (mono_ms) unit_finish kills it. */
struct unit_job;
struct unit_job *unit_start(const struct sl_case *c, size_t backend_idx, const struct run_opts *o,
			    struct unit_result *out);
int unit_job_fd(const struct unit_job *j);
uint64_t unit_job_deadline(const struct unit_job *j);
int unit_finish(struct unit_job *j);
void unit_result_free(struct unit_result *u);
/* The broken observation SPAWNLAB_PLANT asks the runner to judge instead of
 * the real one ("empty", "nofds"), or NULL: only for testing the judge. */
const char *run_plant(void);

/* Judge OBS against C's expectations for the backend (case_check.c). */
void check_unit(const struct sl_case *c, size_t backend_idx, struct unit_result *u);

#endif
