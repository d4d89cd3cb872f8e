/* backend_fork.c: fork + execve, the classic way.  An exec failure is seen
 * only as exit status 127 of the child: fork has no channel for it. */
#include <errno.h>
#include <unistd.h>

#include "backends/backend_child.h"

static int fork_available(char *why, size_t len)
{
	(void)why;
	(void)len;
	return 1;
}

static int fork_spawn(const struct spawn_req *req, struct spawn_res *res)
{
	pid_t pid = fork();
	if (pid == 0)
		backend_child_exec(req);
	res->pidfd = -1;
	res->exit_signal_is_sigchld = 1;
	res->pid = pid;
	res->err = pid < 0 ? errno : 0;
	return 0;
}

const struct backend backend_fork = {
	.name = "fork",
	.summary = "fork() then execve() in the child",
	.traits = 0,
	.available = fork_available,
	.spawn = fork_spawn,
};
