/* experiments.h: what the families' experiment files share.  Each file
 * declares its own kinds (name, arguments, keys it records, backends it
 * takes) next to the code that reads them; the registry (families.c)
 * hands every set to the core. */
#ifndef SPAWNLAB_EXPERIMENTS_H
#define SPAWNLAB_EXPERIMENTS_H

#include "core/case.h"
#include "core/experiment.h"
#include "core/step_ctx.h"

/* Choice lists that live with the tables they name. */
extern const char sc_method_names[];   /* sigchld/sigchld_methods.c */
extern const char eintr_call_names[];  /* eintr/eintr_calls.c */
extern const char pidfd_info_scenarios[], pidfd_wait_scenarios[], pidfd_signal_scenarios[],
	threads_scenarios[], clone_flag_names[];

/* Each experiment file's kinds: an array ended by one with no name. */
extern const struct step_kind bench_kinds[], clone_flags_kinds[], cloneshare_kinds[], eintr_kinds[], execargs_kinds[],
	execsearch_kinds[], fdrace_kinds[], fdshare_kinds[], libc_kinds[], pidfd_info_kinds[], pidfd_signal_kinds[],
	pidfd_wait_kinds[], pidns_kinds[], pidwrap_kinds[], sigchld_kinds[], spawn_latency_kinds[], spawnattr_kinds[],
	threads_kinds[];
/* The set-up steps: the basic ones (base/steps.c) and the fd family's (fd/step_fdmake.c). */
extern const struct step_kind base_steps[], fd_steps[];

#endif
