/* pidwrap.h: the pid wraparound experiment's parts (experiment_pidwrap.c,
 * pidwrap_ns.c, pidwrap_victim.c, pidwrap_scenarios.c).
 *
 * The scenarios run in a "wrap namespace": a pid namespace, owned by a new
 * user namespace, whose pid 1 (W) runs the scenario.  W's kernel uid is
 * not 0 (uid 0 inside maps to 65534 or the caller's own uid), so on a
 * kernel where /proc/sys/kernel/pid_max is still the host's global sysctl
 * the write is refused (fs/proc/proc_sysctl.c test_perm); only a 6.14+
 * kernel, which looks the value up in the writer's pid namespace
 * (kernel/pid.c pid_table_root_lookup), lets W set it. */
#ifndef SPAWNLAB_PIDWRAP_H
#define SPAWNLAB_PIDWRAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/step_ctx.h"

/* kernel/pid.c: after the first wrap, pids restart at RESERVED_PIDS. */
#define PIDWRAP_RESERVED 300
#define PIDWRAP_MAX_PID_MAX 65536

/* How a pid is made to come round again. */
enum pidwrap_method {
	PW_AUTO,        /* the first that works, in the order below */
	PW_PID_MAX,     /* the namespace's own pid_max, low: a real wrap */
	PW_NS_LAST_PID, /* /proc/sys/kernel/ns_last_pid = P-1, then fork */
	PW_SET_TID,     /* clone3 with set_tid = [P] */
};
extern const char *const pidwrap_method_names[]; /* indexed by the enum */

struct pidwrap {
	struct step_ctx *ctx;     /* ctx->ob is W's own buffer, sent up at the end */
	enum pidwrap_method method; /* the method in use (never PW_AUTO once set up) */
	long pid_max;             /* the namespace's pid_max (PW_PID_MAX) */
	int has_set_tid;          /* feature clone3_set_tid, probed before the namespace */
	long fillers;             /* children made to move the pid cursor */
};

/* ---- pidwrap_ns.c ---- */
/* Run FN(pw) as pid 1 of a new user+pid+mount namespace with its own /proc
 * and copy what it observed into ctx.  Returns what FN returned, -1 or
 * STEP_UNSUPPORTED with ERR set. */
int pidwrap_in_ns(struct pidwrap *pw, int (*fn)(struct pidwrap *, char *, size_t), char *err, size_t errlen);
/* In W: choose and set up the method asked for (PW_AUTO: the first that
 * works); 0, or STEP_UNSUPPORTED / -1 with ERR. */
int pidwrap_setup(struct pidwrap *pw, enum pidwrap_method want, int has_ns_pid_max, char *err, size_t errlen);
/* In W, PW_PID_MAX: make children that exit at once until the pid cursor
 * is at or past UPTO (PIDWRAP_RESERVED: every pid handed out from then on
 * comes round again after a wrap). */
int pidwrap_prime(struct pidwrap *pw, pid_t upto, char *err, size_t errlen);
/* In a process of the wrap namespace (or one nested in it, in the same user
 * namespace): set the pid_max of its own pid namespace to V and read it
 * back.  Refused unless uid 0 here maps to a kernel uid other than 0, so
 * that a kernel whose pid_max is still the global sysctl cannot be
 * written.  The kernel uid, or -1 with WHY. */
long pidwrap_write_pid_max(long v, char *why, size_t len);
/* A child that exits at once (vfork), reaped; its pid or -1 (errno). */
pid_t pidwrap_filler(struct pidwrap *pw);
/* Create a child whose pid is P by the method in use; it runs VICTIM(arg)
 * and _exits with its return value.  Returns P, or -1 with ERR (the pid
 * did not come round within the bounds). */
pid_t pidwrap_recycle(struct pidwrap *pw, pid_t p, int (*victim)(void *), void *arg, char *err, size_t errlen);
/* Fork a child at pid P by the method in use *without* waiting for a
 * wrap when the method is PW_PID_MAX: for the zombie scenario.  Returns
 * the pid the child got, 0 when the kernel refused the pid (EEXIST), or
 * -1 (errno). */
pid_t pidwrap_try_pid(struct pidwrap *pw, pid_t p);

/* ---- pidwrap_victim.c ---- */
/* An unrelated process that reports every SIGUSR1/SIGUSR2 it receives.
 * Start it with pidwrap_recycle(pw, P, victim_main, &v, ...). */
struct victim {
	int rep[2];     /* reports: victim -> W */
	int pidfd;      /* W's pidfd on the victim, opened while it is W's unreaped child */
	pid_t pid;
	int exit_code;  /* the victim exits with this on SIGTERM */
	uint64_t deadline_ms; /* it exits by itself at this mono_ms() */
};
int victim_prepare(struct victim *v, char *err, size_t errlen);
int victim_main(void *v);
/* After the victim was created: wait for it to say it is ready, open its pidfd. */
int victim_ready(struct victim *v, int budget_ms, char *err, size_t errlen);
/* Send the marker (SIGUSR2 through the victim's own pidfd) and return in
 * BUF the signals it received before the marker, "none" if none, or
 * "noreply".  SENDER gets the si_pid of the last signal before it (0 if
 * none). */
void victim_since_marker(struct victim *v, int budget_ms, char *buf, size_t len, pid_t *sender);
/* SIGTERM the victim, reap it, close everything. */
void victim_end(struct victim *v, int budget_ms);

/* ---- pidwrap_scenarios.c ---- */
struct pidwrap_scenario {
	const char *name;
	int (*run)(struct pidwrap *pw, char *err, size_t errlen);
};
extern const struct pidwrap_scenario pidwrap_scenarios[];
extern const size_t pidwrap_nscenarios;

#endif
