/* model_fd.h: the fd table as the man pages describe it: which numbers
 * are open, which carry FD_CLOEXEC, what each fd call returns, and what a
 * spawned child inherits. */
#ifndef SPAWNLAB_MODEL_FD_H
#define SPAWNLAB_MODEL_FD_H

#define FDM_N 128 /* fds modelled: 0..FDM_N-1 */

enum { FD_CLOSED = 0, FD_OPEN = 1, FD_OPEN_CLOEXEC = 2 };

enum fd_opcode {
	FOP_OPEN, FOP_PIPE2, FOP_SOCKETPAIR, FOP_EVENTFD, FOP_MEMFD, FOP_EPOLL, FOP_PIDFD_OPEN,
	FOP_DUP, FOP_DUP2, FOP_DUP3, FOP_DUPFD, FOP_SETFD, FOP_FIOCLEX, FOP_FIONCLEX, FOP_CLOSE,
	FOP_CLOSE_RANGE, FOP_COUNT
};

struct fd_op {
	enum fd_opcode code;
	int a, b;     /* fd operands (close_range: first and last) */
	int cloexec;  /* the creating call's close-on-exec option */
	int flags;    /* dup3, close_range, F_SETFD argument: the raw flags */
};

struct fd_model {
	unsigned char st[FDM_N];
};

extern const char *const fd_op_names[FOP_COUNT];

/* Apply OP to M; return what the call returns: the new fd (the first of
 * two for pipe2/socketpair, the second in *second), 0, or -errno. */
int model_fd_apply(struct fd_model *m, const struct fd_op *op, int *second);

struct fd_map {
	int src, dst;
};
/* The fds a child spawned from M has after exec.  DESCRIPTOR: pdspawn
 * (exactly the map's destinations); else a classic backend (dup2 of each
 * map entry with src != dst in order, then every fd without FD_CLOEXEC).
 * OUT[fd] is 1 for an open fd. */
void model_fd_child(const struct fd_model *m, const struct fd_map *map, int nmap, int descriptor,
		    unsigned char out[FDM_N]);

#endif
