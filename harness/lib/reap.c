/* reap.c: see reap.h. */
#include "lib/reap.h"

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "lib/util.h"

int sl_reap_by(pid_t pid, int *status, uint64_t deadline_ms)
{
	int st = 0;
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG | __WALL);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return SL_REAP_FAILED;
		if (mono_ms() >= deadline_ms) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &st, __WALL) < 0 && errno == EINTR)
				;
			if (status)
				*status = st;
			errno = ETIMEDOUT;
			return SL_REAP_KILLED;
		}
		struct timespec nap = {0, 1000000};
		nanosleep(&nap, NULL);
	}
	if (status)
		*status = st;
	return SL_REAPED;
}
