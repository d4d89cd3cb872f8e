/* pidfd_kid.h: a child of the backend under test, running build/pidfd-child
 * (harness/probe/pidfd_child.c), and the pidfd that names it, for the pidfd experiments
 * (experiment_pidfd_info.c, experiment_pidfd_wait.c,
 * experiment_pidfd_signal.c, experiment_threads.c).
 *
 * The pidfd is the backend's own when it hands one back (clone3, pdspawn,
 * pidfd_spawn), else pidfd_open(pid) taken at once, while the child cannot
 * have been reaped (fork, vfork, posix_spawn); kid.pidfd_from says which,
 * as pidwrap's stale.pidfd_from does.  Every wait is bounded by the unit's
 * deadline; kid_end() kills and reaps whatever is left. */
#ifndef SPAWNLAB_PIDFD_KID_H
#define SPAWNLAB_PIDFD_KID_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/step_ctx.h"
#include "sys/sys.h"

struct kid {
	pid_t pid;
	int pidfd;
	int rel;    /* our end of its fd 3: closing it releases the child */
	int rel2;   /* our end of its fd 5 (thread_exit), or -1 */
	int rep;    /* our end of its fd 4: the child's report lines */
	int reaped; /* 1 once waited for */
	struct step_ctx *ctx;
};

/* Extra fds for the child: SRC in the spawner becomes DST in the child. */
struct kid_fd {
	int src, dst;
};

/* Spawn `pidfd-child ARGS...` (NULL-terminated) through ctx->be, with
 * NEXTRA more fds.  0, or -1 with the reason in ERR (set-up broke). */
int kid_spawn(struct step_ctx *ctx, struct kid *k, const char *const *args, const struct kid_fd *extra,
	      size_t nextra, char *err, size_t errlen);
/* Read one report line (without the newline) within MS; 0 or -1. */
int kid_line(struct kid *k, char *buf, size_t len, int ms);
/* poll(pidfd, POLLIN) for MS: the revents, 0 on timeout, -1 on error. */
int kid_poll(int pidfd, int ms);
/* Wait (bounded) until the child has exited, then wait4 it: its wait
 * status in *STATUS.  0, or -1 (not exited in time: killed and reaped). */
int kid_reap(struct kid *k, int *status);
/* Wait until /proc/PID/stat shows state WANT ('Z', 'T', ...); 0 or -1. */
int kid_state(pid_t pid, char want, int ms);
/* Kill (if still there), reap, close everything.  Safe to call twice. */
void kid_end(struct kid *k);


/* ioctl(FD, PIDFD_GET_INFO) with a struct of SIZE bytes (the size is part
 * of the request); 0 or an errno value.  *INFO is read and written. */
int kid_get_info(int fd, struct sl_pidfd_info *info, size_t size);
/* Value of "KEY:\t..." in /proc/self/fdinfo/FD, the rest of the line
 * (tabs as spaces) in BUF; 0, or -1 if missing. */
int kid_fdinfo(int fd, const char *key, char *buf, size_t len);

/* Run FN(ARG) in a forked helper whose uids and gids are all 65534 and
 * which has no capabilities: what an unprivileged caller gets.  Returns
 * FN's errno value (0: success), or -1 if the helper could not be set up. */
int kid_as_nobody(int (*fn)(void *), void *arg);

/* The runner's unit budget left, for a bounded wait: at least 1 ms. */
int kid_budget(struct kid *k, int max_ms);

#endif
