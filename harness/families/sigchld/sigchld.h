/* sigchld.h: the parts of the SIGCHLD coalescing experiment
 * (experiment_sigchld.c): its children (sigchld_children.c) and its
 * notification methods (sigchld_methods.c). */
#ifndef SPAWNLAB_SIGCHLD_H
#define SPAWNLAB_SIGCHLD_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/step_ctx.h"

enum sc_make {
	MK_FORK,       /* exit signal SIGCHLD, no pidfd */
	MK_PIDFD,      /* CLONE_PIDFD, exit signal SIGCHLD */
	MK_PIDFD_OPEN, /* exit signal SIGCHLD, then pidfd_open(2) */
	MK_EXITSIG0,   /* CLONE_PIDFD, exit signal 0 */
};

enum sc_reap {
	R_ANY,   /* waitpid(-1, WNOHANG): naive once per notification, correct until none left */
	R_PIDFD, /* the notification names the child; reaped through its pidfd */
	R_AUTO,  /* the kernel reaps; waitpid(-1, 0) blocks until ECHILD */
};

enum sc_pattern { PAT_BARRIER, PAT_STAGGERED, PAT_BUSY };

struct sc_run;

/* Where the parent is (sigchld_trace.c): opening the barrier (the
 * close(2) that wakes every child), inside the method's wait, inside its
 * reap loop, or anywhere else (busy: spinning, bookkeeping, or runnable
 * and waiting for a CPU between the release and its first look). */
enum sc_phase_kind { PH_RELEASE, PH_WAIT, PH_REAP, PH_BUSY, PH_N };

struct sc_phase {
	uint64_t t0, t1;
	enum sc_phase_kind kind;
};

/* What one child saw of the parent in /proc just before it exited. */
struct sc_sample {
	char state;   /* State: R, S, ... */
	char blocked; /* SIGCHLD in SigBlk */
	char pending; /* SIGCHLD in ShdPnd or SigPnd */
	char taken;
};

struct sc_trace {
	struct sc_phase *ph;
	long nph, phcap;
	uint64_t first_note_ns; /* the first wait that returned a notification ended */
	int status_fd;          /* the parent's /proc/self/status, read by sampling children */
	long every;             /* direct child i samples when i % every == 0 */
	struct sc_sample *samples;
	int sched;              /* schedstat readable */
	uint64_t run0, queued0, run_ns, queued_ns;
};

struct sc_method {
	const char *name;
	enum sc_make make;
	enum sc_reap reap;
	int wall;     /* the correct reaper needs __WALL (exit signal 0) */
	int needs_pd; /* children must come from pdspawn (exec'd, with a pidfd) */
	int reaps;    /* wait() reaps the child it names itself */
	int handler;  /* a SIGCHLD handler counts deliveries */
	/* Set up before the barrier opens; 0 or -1 with errno. */
	int (*arm)(struct sc_run *r);
	/* Wait up to TIMEOUT_MS for notifications; returns how many arrived
	 * (R_PIDFD: the children named are in r->ready, r->nready), -1 with
	 * errno on a failed call. */
	long (*wait)(struct sc_run *r, int timeout_ms);
	/* Undo arm: dispositions, mask, descriptors. */
	void (*disarm)(struct sc_run *r);
	/* Handlers may run while the parent is busy (SIGCHLD unblocked). */
	int async;
};

struct sc_shared {
	uint64_t release_ns; /* when the barrier opened (CLOCK_MONOTONIC) */
	uint64_t step_ns;    /* staggered: child i exits at release + i * step */
	uint64_t stamp[];    /* child i writes its time just before _exit */
};

struct sc_run {
	const struct sc_method *m;
	struct step_ctx *ctx;
	int exec;       /* children exec the waiter through ctx->be */
	char *waiter;   /* its path (exp_program), when exec */
	int by_parent;  /* release=parent: the parent opens the barrier itself */
	int naive;      /* this round reaps naively (one wait per notification) */
	long want, n;   /* children asked for, made */
	uint64_t step_ns; /* staggered: the gap between exits */
	pid_t *pid;
	int *pidfd;     /* -1 where none */
	uint64_t *learn; /* when the parent learned of child i's exit (ns), 0: not yet */
	long *byid;     /* child indices sorted by pid, for lookup */
	struct sc_shared *sh;
	void *stacks;   /* direct children's stacks */
	size_t shlen;
	int memfd;      /* exec: the stamps, mapped as fd 4 in the child */
	int bar[2];     /* the barrier: children read bar[0] until EOF */
	/* filled by the method */
	long *ready, nready;
	char *seen;   /* child i was named by a notification (pidfd methods) */
	long dup_reports; /* a child named again after it was named */
	pid_t *named; /* si_pid values, in order */
	long nnamed, named_cap;
	long handler_calls; /* handler runs already counted */
	int efd;      /* signalfd, epoll or self-pipe fd, -1 */
	long cursor;  /* sequential methods: the next child in spawn order */
	int unblocked;
	pthread_t releaser; /* the helper that opens the barrier */
	int has_releaser;
	struct sc_trace tr;
};

/* sigchld_children.c */
uint64_t sc_now_ns(void);
/* Make r->want children (fewer if the deadline nears); 0, or -1 with a
 * message in ERR after releasing and reaping whatever was made. */
int sc_make_children(struct sc_run *r, enum sc_pattern pat, char *err, size_t errlen);
void sc_release(struct sc_run *r);
/* Open the barrier from a helper thread, about a millisecond from now;
 * 0, or -1 with errno.  sc_release_join waits for it to have done so. */
int sc_release_by_helper(struct sc_run *r);
void sc_release_join(struct sc_run *r);
long sc_stamped(const struct sc_run *r);
/* 1 when every child is a zombie or gone (/proc/PID/stat), 0 if not. */
int sc_all_exited(const struct sc_run *r);
long sc_index(const struct sc_run *r, pid_t pid);
/* Reap everything left (WNOHANG|__WALL), killing what is still running
 * at the deadline; returns how many were reaped. */
long sc_reap_rest(struct sc_run *r);
void sc_free(struct sc_run *r);

/* sigchld_trace.c */
void sc_trace_begin(struct sc_run *r);
void sc_trace_phase(struct sc_run *r, enum sc_phase_kind kind, uint64_t t0, uint64_t t1);
void sc_trace_sample(struct sc_run *r, long i);
void sc_trace_release(struct sc_run *r);
void sc_trace_end(struct sc_run *r);
void sc_trace_report(const struct sc_run *r, struct step_ctx *ctx);
void sc_trace_free(struct sc_run *r);

/* sigchld_methods.c */
const struct sc_method *sc_method_find(const char *name);
extern const char sc_method_names[];
/* SIGCHLD deliveries to the counting handlers since arm. */
long sc_sig_count(void);

#endif
