/* backend_child.h: what the classic backends do in the child between
 * creating it and exec: the request's dup2 actions, then execve.  Only
 * async-signal-safe calls, so it is safe after vfork too. */
#ifndef SPAWNLAB_BACKEND_CHILD_H
#define SPAWNLAB_BACKEND_CHILD_H

#include "backend.h"

/* Never returns: execs, or _exit(127) as a shell would. */
__attribute__((noreturn)) void backend_child_exec(const struct spawn_req *req);

#endif
