/* reap.h: the one bounded wait-kill-reap for a plain child pid. */
#ifndef SPAWNLAB_REAP_H
#define SPAWNLAB_REAP_H

#include <stdint.h>
#include <sys/types.h>

enum { SL_REAPED = 0, SL_REAP_FAILED = -1, SL_REAP_KILLED = -2 };

/* Reap PID (any kind of child: __WALL) by DEADLINE_MS on mono_ms()'s
 * clock, looking every millisecond; when the time is up, SIGKILL it and
 * reap it.  SL_REAPED; SL_REAP_FAILED when waitpid fails (errno: ECHILD
 * for a child that is not ours or was reaped elsewhere); SL_REAP_KILLED
 * (errno ETIMEDOUT) when it had to be killed.  STATUS may be NULL. */
int sl_reap_by(pid_t pid, int *status, uint64_t deadline_ms);

#endif
