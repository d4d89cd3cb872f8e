/* backend_pidfd_spawn.c: glibc's pidfd_spawn (2.39+).  Called directly
 * when the build's libc declares it (so a static build carries it), else
 * found by dlsym in a dynamic build (libc_ext.h). */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>

#include "backends/backend_child.h"
#include "sys/libc_ext.h"
#include "sys/sys.h"

static int pfs_available(char *why, size_t len)
{
	const char *how = "";
	if (libc_ext_has(LIBC_PIDFD_SPAWN, &how))
		return 1;
	snprintf(why, len, "no pidfd_spawn (a glibc 2.39 extension): %s", how);
	return 0;
}

static int pfs_spawn(const struct spawn_req *req, struct spawn_res *res)
{
	pidfd_spawn_fn fn = libc_pidfd_spawn();
	if (!fn) {
		errno = ENOSYS;
		return -1;
	}
	posix_spawn_file_actions_t fa;
	int r = backend_file_actions(req, &fa);
	if (r) {
		errno = r;
		return -1;
	}
	int pidfd = -1;
	r = fn(&pidfd, req->path, &fa, NULL, req->argv, req->envp);
	posix_spawn_file_actions_destroy(&fa);
	res->exit_signal_is_sigchld = 1;
	res->pidfd = r ? -1 : pidfd;
	res->pid = r ? -1 : sl_pidfd_pid(pidfd);
	res->err = r;
	return 0;
}

const struct backend backend_pidfd_spawn = {
	.name = "pidfd_spawn",
	.summary = "glibc's pidfd_spawn() (2.39+)",
	.traits = BT_PIDFD | BT_FILE_ACTIONS | BT_SHARES_MEMORY,
	.available = pfs_available,
	.spawn = pfs_spawn,
};
