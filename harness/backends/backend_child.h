/* backend_child.h: what the classic backends do in the child between
 * creating it and exec: the request's fd actions, then execve.  Only
 * async-signal-safe calls, so it is safe after vfork too. */
#ifndef SPAWNLAB_BACKEND_CHILD_H
#define SPAWNLAB_BACKEND_CHILD_H

#include <spawn.h>

#include "backends/backend.h"

/* Initialise FA with the request's fd actions as posix_spawn file actions
 * (posix_spawn and pidfd_spawn).  Returns 0 (the caller destroys FA) or an
 * errno value (nothing to destroy); ENOSYS when the request has closefrom
 * and the libc lacks posix_spawn_file_actions_addclosefrom_np. */
int backend_file_actions(const struct spawn_req *req, posix_spawn_file_actions_t *fa);

/* Never returns: execs, or _exit(127) as a shell would. */
__attribute__((noreturn)) void backend_child_exec(const struct spawn_req *req);

#endif
