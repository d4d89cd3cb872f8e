/* backend_clone3.c: clone3 with CLONE_PIDFD and exit signal SIGCHLD, no
 * CLONE_VM: a fork that also hands back a pidfd. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backends/backend_child.h"
#include "lib/feature.h"
#include "sys/sys.h"

static int clone3_available(char *why, size_t len)
{
	if (feature_has("clone_pidfd"))
		return 1;
	const char *d = "";
	const struct feature *f = feature_find("clone_pidfd");
	if (f)
		feature_state(f, &d);
	snprintf(why, len, "clone3 with CLONE_PIDFD is not available (%s)", d);
	return 0;
}

static int clone3_spawn(const struct spawn_req *req, struct spawn_res *res)
{
	int pidfd = -1;
	struct sl_clone_args args;
	memset(&args, 0, sizeof args);
	args.flags = CLONE_PIDFD;
	args.pidfd = (uint64_t)(uintptr_t)&pidfd;
	args.exit_signal = SIGCHLD;
	long pid = sl_clone3(&args, SL_CLONE_ARGS_SIZE_VER0);
	if (pid == 0)
		backend_child_exec(req);
	res->exit_signal_is_sigchld = 1;
	res->pid = pid < 0 ? -1 : (pid_t)pid;
	res->pidfd = pid < 0 ? -1 : pidfd;
	res->err = pid < 0 ? errno : 0;
	return 0;
}

const struct backend backend_clone3 = {
	.name = "clone3",
	.summary = "clone3(CLONE_PIDFD, exit_signal=SIGCHLD) then execve()",
	.traits = BT_PIDFD,
	.available = clone3_available,
	.spawn = clone3_spawn,
};
