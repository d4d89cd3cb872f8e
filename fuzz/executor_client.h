/* executor_client.h: the fuzz target's side of executor.h: start the
 * executor, send a request, wait for the answer within a time budget, and
 * notice how it died when it did. */
#ifndef SPAWNLAB_EXECUTOR_CLIENT_H
#define SPAWNLAB_EXECUTOR_CLIENT_H

#include <stddef.h>
#include <sys/types.h>

#include "executor.h"

struct exec_client {
	enum exec_mode mode;
	pid_t pid; /* -1: not running */
	int fd;
	struct exec_hello hello;
	unsigned long starts; /* executors started, restarts included */
};

/* Start MODE's executor (spawnlab-executor beside this binary, or
 * $SPAWNLAB_EXECUTOR; fd mode gives it spawnlab-observer from the same
 * place, or $SPAWNLAB_OBSERVER) and read its hello.  0, or -1 with a
 * message on stderr. */
int exec_start(struct exec_client *c, enum exec_mode mode);

/* Send REQ and read the answer into RES.  Returns 0; or -1 when the
 * executor died or did not answer within TIMEOUT_MS (then it is killed):
 * *DEATH is the signal that killed it, 0 when it exited, -1 when we
 * killed it for being late.  A stop (an exit signal of SIGSTOP) is
 * continued and the wait goes on.  After a death the next call starts a
 * new executor. */
int exec_call(struct exec_client *c, const void *req, size_t reqlen, void *res, size_t reslen, int timeout_ms,
	      int *death);

/* Wait up to MS for a child of ours (a CLONE_PARENT child of the
 * executor) to exit and reap it; SIGKILL it when late. */
void exec_reap_pid(pid_t pid, int ms);

/* Reap every zombie child, without waiting for live ones. */
void exec_reap_zombies(void);

void exec_stop(struct exec_client *c);

#endif
