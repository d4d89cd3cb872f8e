/* families.c: the registry of what cases may use: every family's set-up
 * steps and experiments, as sets (arrays ended by a kind with no name).
 * The command line hands these to the core (case_use_kinds), which names
 * no family itself. */
#include "families/experiments.h"
#include "families/families.h"

const struct step_kind *const sl_step_sets[] = {base_steps, fd_steps, NULL};

const struct step_kind *const sl_experiment_sets[] = {
	spawn_latency_kinds, bench_kinds, libc_kinds, execargs_kinds, execsearch_kinds, spawnattr_kinds,
	fdshare_kinds, cloneshare_kinds, pidns_kinds, pidwrap_kinds, fdrace_kinds, sigchld_kinds, eintr_kinds,
	pidfd_info_kinds, pidfd_wait_kinds, pidfd_signal_kinds, threads_kinds, clone_flags_kinds, NULL,
};
