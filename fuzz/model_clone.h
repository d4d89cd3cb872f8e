/* model_clone.h: what clone3(2) and the legacy clone(2) should return for
 * a request, from clone(2) and the checks in kernel/fork.c. */
#ifndef SPAWNLAB_MODEL_CLONE_H
#define SPAWNLAB_MODEL_CLONE_H

#include <stdint.h>

/* One request, in clone3 terms; the legacy call is derived from it. */
struct clone_req {
	uint64_t flags;
	uint64_t exit_signal;
	uint64_t size;          /* clone3's size argument */
	int tail_nonzero;       /* bytes past the kernel's struct are not zero */
	int pidfd_null;         /* CLONE_PIDFD stores through a NULL pointer */
	int pidfd_is_parent_tid;/* args.pidfd == args.parent_tid */
	int stack_size_only;    /* stack 0 with stack_size != 0 */
	uint64_t set_tid_size;
	int set_tid_null;       /* set_tid pointer NULL */
	int set_tid[4];         /* the first values (more are not modelled) */
	enum { CG_ROOT, CG_NOT_CGROUP, CG_BADFD, CG_HUGE } cgroup;
};

/* What the model knows of this machine, measured once. */
struct clone_env {
	int privileged; /* CAP_SYS_ADMIN in our user namespace */
	int ns_level;   /* our pid namespace's level (0: the initial one) */
	long pid_max;   /* of our pid namespace */
	int have_cgroup2;
	int kver;       /* running kernel, major * 1000 + minor (6.18 -> 6018) */
};

enum { MODEL_UNKNOWN = -1 }; /* the model does not predict this request */

/* The predicted result: 0 for success, a positive errno, or MODEL_UNKNOWN.
 * WHY gets the rule that decided it. */
int model_clone3(const struct clone_req *r, const struct clone_env *e, int pid_in_use[4], const char **why);
/* The same request through legacy clone; MODEL_UNKNOWN also when the request
 * cannot be expressed there (see clone_legacy_applies). */
int model_clone_legacy(const struct clone_req *r, const struct clone_env *e, const char **why);
/* 1 when legacy clone can make exactly this request, so the two syscalls
 * must agree (clone(2): the flags are the low 32 bits, the exit signal is
 * the low byte, no set_tid, no cgroup, one pointer for pidfd and
 * parent_tid). */
int clone_legacy_applies(const struct clone_req *r);
/* Legacy clone's flags argument for R. */
uint64_t clone_legacy_flags(const struct clone_req *r);

#endif
