/* model_fd.h: the fd table and the signal state as the man pages describe
 * them: which numbers are open, which carry FD_CLOEXEC, which signals are
 * ignored, caught or blocked, what each call returns, and what a spawned
 * child has after exec.  The fd-creating calls are the fdmake step's
 * (harness/families/fd/step_fdmake.c): the model reads how each asks for close-on-exec
 * and whether it makes a pair from that table. */
#ifndef SPAWNLAB_MODEL_FD_H
#define SPAWNLAB_MODEL_FD_H

#include <stdint.h>

#define FDM_N 128 /* fds modelled: 0..FDM_N-1 */

enum { FD_CLOSED = 0, FD_OPEN = 1, FD_OPEN_CLOEXEC = 2 };

enum fd_opcode {
	FOP_MAKE,  /* the fdmake step: call, cloexec option, target a, pair's second b (or -1) */
	FOP_DUP, FOP_DUP2, FOP_DUP3, FOP_DUPFD, FOP_SETFD, FOP_FIOCLEX, FOP_FIONCLEX, FOP_CLOSE, FOP_CLOSE_RANGE,
	FOP_SIGNAL, /* sigact on signal a */
	FOP_COUNT
};

enum sig_act { SA_IGNORE, SA_DEFAULT, SA_HANDLE, SA_BLOCK, SA_UNBLOCK, SA_COUNT };

struct fd_op {
	enum fd_opcode code;
	int a, b;     /* fd operands (close_range: first and last; FOP_SIGNAL: a is the signal) */
	int cloexec;  /* the creating call's close-on-exec option */
	int flags;    /* dup3, close_range, F_SETFD argument: the raw flags */
	int call;     /* FOP_MAKE: index in the fdmake table */
	enum sig_act sigact;
};

/* Signals as bits: signal s is bit s-1 (1..64). */
#define SIGBIT(s) (1ULL << ((s) - 1))

struct fd_model {
	int kver; /* running kernel, major * 1000 + minor (0: unknown, the newest rules) */
	unsigned char st[FDM_N];
	unsigned char opath[FDM_N]; /* the open file is an O_PATH one */
	uint64_t ign, handled, mask;
};

extern const char *const fd_op_names[FOP_COUNT];
extern const char *const sig_act_names[SA_COUNT];

/* What OP returns, applied to M: the new fd (FOP_MAKE: 0; pipe-like pairs
 * and all), 0, or -errno; *CALL_CLOEXEC gets the FD_CLOEXEC bit a creating
 * call itself leaves (before fdmake's fcntl), else -1. */
int model_fd_apply(struct fd_model *m, const struct fd_op *op, int *call_cloexec);

struct fd_map {
	int src, dst;
};

/* How a backend starts the child, as far as the model cares. */
struct spawn_model {
	int descriptor;     /* pdspawn: the map is the whole table, signals explicit */
	int inherit_ignored; /* pdspawn: PDSPAWN_INHERIT_IGNORED */
	uint64_t libc_ignores; /* signals the backend's libc sets to SIG_IGN in the child */
	const struct fd_map *map;
	int nmap;
	const int *close; /* classic backends' close actions, after the map */
	int nclose;
	int closefrom;    /* > 0: every fd >= closefrom closed, after close */
};

/* What the child has after exec: OUT[fd] 1 for an open fd, its ignored
 * signals and its mask. */
void model_fd_child(const struct fd_model *m, const struct spawn_model *s, unsigned char out[FDM_N], uint64_t *ign,
		    uint64_t *mask);

#endif
