/* sandbox.h: run a function in a child that is pid 1 of its own pid
 * namespace (with a private /proc) where privileges allow, so that
 * everything it starts dies with it; bounded by a timeout. */
#ifndef SPAWNLAB_SANDBOX_H
#define SPAWNLAB_SANDBOX_H

#include <stdint.h>

enum sandbox_kind { SANDBOX_PIDNS, SANDBOX_SUBREAPER };

/* Which isolation this process can get; decided once. */
enum sandbox_kind sandbox_kind(void);
const char *sandbox_kind_name(enum sandbox_kind k);
/* Why the pid namespace is not available, or "" */
const char *sandbox_why(void);

struct sandbox_result {
	int timed_out;   /* killed after the timeout */
	int interrupted; /* killed because sandbox_interrupt() was called */
	int status;      /* the body's exit code; -1 if killed by a signal */
	int signal;      /* the signal that ended the sandbox, or 0 */
	int init_errno;  /* the init could not start the body: its errno */
};

/* Run BODY(ARG) as the only child of a sandbox init, in a new pid
 * namespace when possible.  The init reaps everything, kills whatever is
 * left when BODY returns, and exits with BODY's return value.  Waits at
 * most TIMEOUT_MS, then kills the whole sandbox.  0, or -1 with errno
 * when the sandbox could not be created. */
int sandbox_run(int (*body)(void *), void *arg, int timeout_ms, struct sandbox_result *res);

/* The same in two halves, so that a driver can keep several sandboxes
 * running: sandbox_start clones the init and returns at once (0, or -1
 * with errno); sandbox_finish waits until it ends or its deadline passes
 * (then kills it), reaps it and fills RES.  sandbox_fd is readable when
 * the sandbox has ended (its pidfd; -1 on a kernel without pidfds, where
 * only sandbox_finish can tell). */
struct sandbox {
	long pid;
	int pidfd, life, pidns;
	uint64_t deadline_ms;
};
int sandbox_start(int (*body)(void *), void *arg, int timeout_ms, struct sandbox *sb);
int sandbox_fd(const struct sandbox *sb);
uint64_t sandbox_deadline(const struct sandbox *sb);
void sandbox_finish(struct sandbox *sb, struct sandbox_result *res);

/* Interruption.  After sandbox_interruptible(), sandbox_interrupt() (async-
 * signal-safe: call it from a SIGINT/SIGTERM handler) makes the running
 * sandbox_run kill its sandbox at once and return with res->interrupted
 * set, and every later sandbox_run fail with EINTR.  0, or -1 with errno. */
int sandbox_interruptible(void);
void sandbox_interrupt(void);
/* Readable once sandbox_interrupt() was called (-1 before sandbox_interruptible). */
int sandbox_interrupt_fd(void);

#endif
