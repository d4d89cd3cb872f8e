/* executor.h: the protocol between a fuzz target and its executor.
 *
 * The executor (executor.c) is a small static program, started once per
 * target process, that makes the risky calls: the raw clone/clone3 calls
 * of clone_flags (exec_clone.c) and the fd programs and spawns of fd_combo
 * (exec_fd.c).  The target decodes each input and predicts the outcome
 * (model_*.c); the executor only acts and reports.  A big sanitized fuzzer
 * never forks, and each child is created by a process whose address space
 * is a few pages, so an input costs what its calls cost.
 *
 * Transport: a SOCK_SEQPACKET socketpair, the executor's end at
 * EXEC_CTL_FD; one request message, one answer message, so that a
 * message is never seen in part.  The executor says hello first; it exits
 * at end of file. */
#ifndef SPAWNLAB_EXECUTOR_H
#define SPAWNLAB_EXECUTOR_H

#include <stdint.h>

#include "model_clone.h"
#include "model_fd.h"

#define EXEC_CTL_FD 200 /* above FDM_N: never in an fd program's window */
#define EXEC_LOCK_FD 201 /* fd mode: the flock on its scratch folder while it lives */
#define EXEC_MAX_OPS 12
#define EXEC_MAX_MAP 3
#define EXEC_MAX_BACKENDS 8
#define EXEC_MAX_CALLS 128 /* fdmake table rows the hello can describe */

enum exec_mode { EXEC_CLONE = 1, EXEC_FD = 2 };

struct exec_hello {
	uint32_t mode;
	int32_t pid;
	uint32_t glibc;                  /* the executor's libc is glibc */
	uint8_t baseline[FDM_N];         /* the executor's fds at rest: FD_CLOSED, FD_OPEN, FD_OPEN_CLOEXEC */
	uint32_t nbackends;              /* fd mode: every backend of sl_backends (backends.c) */
	char backends[EXEC_MAX_BACKENDS][16];
	uint8_t backend_ok[EXEC_MAX_BACKENDS]; /* 1: available here */
	uint32_t ncalls;                 /* fd mode: fdmake table rows */
	uint8_t call_ok[EXEC_MAX_CALLS]; /* 1: the call works here; 0: refused (ENOSYS, EPERM...) */
};

/* ---- clone mode ---- */
enum { EXEC_CALL_CLONE3 = 1, EXEC_CALL_LEGACY = 2 };

struct exec_clone_req {
	uint32_t calls; /* EXEC_CALL_* bits, made in that order */
	struct clone_req r;
};

struct exec_clone_call {
	int32_t made;       /* 1: the call returned (or its success was inferred) */
	int32_t inferred;   /* 1: the caller died of the child's exit signal
			     * (SIGKILL), which only a created child sends */
	int32_t parent_tid; /* what CLONE_PARENT_SETTID stored */
	int32_t caller;     /* made by a caller: its end, si_code << 8 | si_status */
	int64_t ret;        /* pid or -errno */
	int32_t sigchld_ign; /* after the call the caller's SIGCHLD was SIG_IGN (it is put back) */
	int32_t pad;
};

struct exec_clone_res {
	struct exec_clone_call c3, legacy;
};

/* ---- fd mode ---- */
struct exec_fd_req {
	uint32_t nops;
	struct fd_op ops[EXEC_MAX_OPS];
	uint32_t backend;       /* index in the hello's list; EXEC_NO_SPAWN: none */
	uint32_t inherit_ignored;
	uint32_t nmap;
	struct fd_map map[EXEC_MAX_MAP];
	uint32_t nclose;
	int32_t close[EXEC_MAX_MAP];
	int32_t closefrom;
};

#define EXEC_NO_SPAWN 0xffffffffu

enum exec_spawn { SPAWN_OK, SPAWN_FAILED, SPAWN_HARNESS, SPAWN_CHILD, SPAWN_NOREPORT };

struct exec_fd_res {
	int32_t ret[EXEC_MAX_OPS];          /* what each op returned: fd, 0, or -errno */
	int32_t call_cloexec[EXEC_MAX_OPS]; /* FOP_MAKE: FD_CLOEXEC as the call left it */
	uint8_t table[FDM_N];               /* after the program: FD_CLOSED/FD_OPEN/FD_OPEN_CLOEXEC */
	uint64_t ign, handled, mask;        /* the executor's signal state after the program */
	int32_t spawn;                      /* enum exec_spawn */
	int32_t spawn_err;                  /* SPAWN_FAILED: the backend's errno; SPAWN_HARNESS: errno */
	char why[160];
	uint8_t child_fds[FDM_N];           /* 1: open in the child after exec */
	uint64_t child_ign, child_mask;
};

/* Counters each executor keeps in $SPAWNLAB_FUZZ_STATS/exec-PID.stats (a
 * small file it maps), so that `make fuzz` can say how many children an
 * input cost, even when the executor is killed. */
struct exec_stats {
	uint64_t requests, calls, children, spawns, execs;
};

#endif
