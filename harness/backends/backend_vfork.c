/* backend_vfork.c: vfork + execve.  The child borrows the parent's memory
 * until it execs; it only dup2s and execs (backend_child.c). */
#include <errno.h>
#include <unistd.h>

#include "backends/backend_child.h"

static int vfork_available(char *why, size_t len)
{
	(void)why;
	(void)len;
	return 1;
}

/* vfork must be called from a frame that outlives the child's use of the
 * stack; this function does not return until the child has exec'd or
 * exited, so it qualifies. */
static int vfork_spawn(const struct spawn_req *req, struct spawn_res *res)
{
	pid_t pid = vfork();
	if (pid == 0)
		backend_child_exec(req);
	res->pidfd = -1;
	res->exit_signal_is_sigchld = 1;
	res->pid = pid;
	res->err = pid < 0 ? errno : 0;
	return 0;
}

const struct backend backend_vfork = {
	.name = "vfork",
	.summary = "vfork() then execve() in the child",
	.traits = BT_SHARES_MEMORY,
	.available = vfork_available,
	.spawn = vfork_spawn,
};
