/* backend_pdspawn.c: spawnlab's reference descriptor-based spawn.  The
 * request's map is the child's whole fd table. */
#include <errno.h>
#include <stdio.h>

#include "backends/backend.h"
#include "lib/feature.h"
#include "pdspawn/pdspawn.h"

static int pd_available(char *why, size_t len)
{
	static const char *const needs[] = {"clone_pidfd", "waitid_pidfd", "pidfd_send_signal"};
	for (size_t i = 0; i < sizeof needs / sizeof *needs; i++)
		if (!feature_has(needs[i])) {
			snprintf(why, len, "the kernel lacks %s (see 'spawnlab features')", needs[i]);
			return 0;
		}
	return 1;
}

static int pd_spawn(const struct spawn_req *req, struct spawn_res *res)
{
	struct pdspawn_fd map[SL_MAX_FDMAP];
	for (size_t i = 0; i < req->nmap; i++) {
		map[i].parent_fd = req->map[i].src;
		map[i].child_fd = req->map[i].dst;
	}
	struct pdspawn_attr attr = {map, req->nmap, NULL, NULL, NULL, req->inherit_ignored ? PDSPAWN_INHERIT_IGNORED : 0};
	int pidfd = -1;
	int r = pdspawn(&pidfd, req->path, req->argv, req->envp, &attr);
	res->exit_signal_is_sigchld = 0;
	res->pidfd = r ? -1 : pidfd;
	res->pid = r ? -1 : pdspawn_pid(pidfd);
	res->err = r;
	return 0;
}

const struct backend backend_pdspawn = {
	.name = "pdspawn",
	.summary = "spawnlab's descriptor-based spawn (harness/pdspawn/pdspawn.h)",
	.traits = BT_EXACT_FDS | BT_PIDFD | BT_EXIT_SIGNAL_0 | BT_SHARES_MEMORY,
	.available = pd_available,
	.spawn = pd_spawn,
};
