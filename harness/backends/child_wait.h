/* child_wait.h: wait for a child a backend created, whatever handle the
 * backend gave (pidfd or pid), within a time budget. */
#ifndef SPAWNLAB_CHILD_WAIT_H
#define SPAWNLAB_CHILD_WAIT_H

#include <signal.h>

#include "backends/backend.h"

enum child_end { CHILD_EXITED, CHILD_KILLED, CHILD_TIMEOUT, CHILD_UNKNOWN };

struct child_status {
	enum child_end end;
	int code;  /* exit code (CHILD_EXITED) or signal (CHILD_KILLED) */
	int err;   /* CHILD_UNKNOWN: the errno of pidfd_open or waitid */
	const char *failed_call; /* CHILD_UNKNOWN: which call */
};

/* Poll the child's pidfd (pidfd_open(pid) when the backend gave none) for
 * up to BUDGET_MS, SIGKILL it when the time is up, then reap it with
 * waitid(P_PIDFD, ..., WEXITED | __WALL).  Does not close res->pidfd. */
void child_wait(const struct spawn_res *res, int budget_ms, struct child_status *st);

#endif
