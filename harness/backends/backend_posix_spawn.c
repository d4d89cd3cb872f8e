/* backend_posix_spawn.c: the libc's posix_spawn, with the request's fd
 * actions as file actions and no attributes (so no signal resets beyond
 * what exec does). */
#include <errno.h>
#include <spawn.h>

#include "backends/backend_child.h"

static int ps_available(char *why, size_t len)
{
	(void)why;
	(void)len;
	return 1;
}

static int ps_spawn(const struct spawn_req *req, struct spawn_res *res)
{
	posix_spawn_file_actions_t fa;
	int r = backend_file_actions(req, &fa);
	if (r) {
		errno = r;
		return -1;
	}
	pid_t pid = -1;
	r = posix_spawn(&pid, req->path, &fa, NULL, req->argv, req->envp);
	posix_spawn_file_actions_destroy(&fa);
	res->exit_signal_is_sigchld = 1;
	res->pidfd = -1;
	res->pid = r ? -1 : pid;
	res->err = r;
	return 0;
}

const struct backend backend_posix_spawn = {
	.name = "posix_spawn",
	.summary = "the libc's posix_spawn() with file actions",
	.traits = BT_FILE_ACTIONS | BT_SHARES_MEMORY,
	.available = ps_available,
	.spawn = ps_spawn,
};
