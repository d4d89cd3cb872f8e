/* experiments.c: the table of experiments a case can `run` in place of a
 * probe spawn.  Each lives in its own experiment_*.c file. */
#include "core/case.h"
#include "families/experiments.h"

const struct step_kind sl_experiments[] = {
	EXPERIMENT_SPAWN_LATENCY,
	EXPERIMENT_SPAWN_BENCH,
	EXPERIMENTS_LIBC,
	EXPERIMENT_PIDWRAP,
	EXPERIMENT_FD_RACE,
	EXPERIMENT_SIGCHLD,
	EXPERIMENT_EINTR,
	EXPERIMENT_EXEC_ARGS,
	EXPERIMENT_EXEC_SEARCH,
	EXPERIMENT_SPAWN_ATTR,
	EXPERIMENT_FD_SHARE,
	EXPERIMENT_CLONE_SHARE,
	EXPERIMENT_PID_NS,
	EXPERIMENTS_PIDFD,
	{0},
};
