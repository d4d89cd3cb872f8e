/* runner.h: run one case with one backend (a "unit") in a sandbox; its
 * result and the judge are unit.h. */
#ifndef SPAWNLAB_RUNNER_H
#define SPAWNLAB_RUNNER_H

#include <stdint.h>

#include "core/case.h"
#include "core/unit.h"


struct run_opts {
	const char *probe;   /* absolute path of the probe */
	const char *tmproot; /* this run's private folder */
	int timeout_s;       /* default per unit */
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
/* The broken observation SPAWNLAB_PLANT asks the runner to judge instead of
 * the real one ("empty", "nofds"), or NULL: only for testing the judge. */
const char *run_plant(void);

#endif
