/* child_wait.c: see child_wait.h. */
#include "backends/child_wait.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sys/sys.h"
#include "lib/util.h"

void child_wait(const struct spawn_res *res, int budget_ms, struct child_status *st)
{
	memset(st, 0, sizeof *st);
	int fd = res->pidfd >= 0 ? res->pidfd : sl_pidfd_open(res->pid, 0);
	if (fd < 0) {
		st->end = CHILD_UNKNOWN;
		st->err = errno;
		st->failed_call = "pidfd_open";
		return;
	}
	int timed_out = 0;
	uint64_t deadline = mono_ms() + (uint64_t)(budget_ms > 0 ? budget_ms : 0);
	for (;;) {
		uint64_t now = mono_ms();
		if (now >= deadline) {
			sl_pidfd_send_signal(fd, SIGKILL, NULL, 0);
			timed_out = 1;
			break;
		}
		struct pollfd p = {fd, POLLIN, 0};
		int r = poll(&p, 1, (int)(deadline - now));
		if (r > 0 || (r < 0 && errno != EINTR))
			break;
	}
	siginfo_t si;
	memset(&si, 0, sizeof si);
	int r;
	while ((r = waitid((idtype_t)P_PIDFD, (id_t)fd, &si, WEXITED | __WALL)) < 0 && errno == EINTR)
		;
	if (r < 0) {
		st->end = CHILD_UNKNOWN;
		st->err = errno;
		st->failed_call = "waitid";
	} else if (timed_out) {
		st->end = CHILD_TIMEOUT;
	} else if (si.si_code == CLD_EXITED) {
		st->end = CHILD_EXITED;
		st->code = si.si_status;
	} else {
		st->end = CHILD_KILLED;
		st->code = si.si_status;
	}
	if (fd != res->pidfd)
		close(fd);
}
