/* bare_loop.c: the kernel's own rate for what every fuzz input does at
 * least once: clone3 (plain fork semantics, SIGCHLD) + the child's exit +
 * waitid.  `make fuzz` prints it next to each target's exec/s so that the
 * harness overhead (executors, sanitizers, the engine) is visible.
 *
 * usage: bare_loop [SECONDS]   (default 2, at most 60; the loop is also
 * bounded by a count).  Prints "bare clone3+exit+waitid: N/s (M in S s)". */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ITER 10000000L

/* clone3's first three fields; the rest of the 64-byte struct stays 0. */
struct args64 {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 2.0;
	if (!(secs > 0) || secs > 60)
		secs = 2.0;
	struct args64 a;
	memset(&a, 0, sizeof a);
	a.exit_signal = SIGCHLD;
	double t0 = now(), t = t0;
	long n = 0;
	while (n < MAX_ITER && (t = now()) - t0 < secs) {
		long pid = syscall(SYS_clone3, &a, sizeof a);
		if (pid == 0)
			syscall(SYS_exit, 0); /* the child: nothing but exit */
		if (pid < 0) {
			fprintf(stderr, "bare_loop: clone3: %s\n", strerror(errno));
			return 1;
		}
		siginfo_t si;
		while (waitid(P_PID, (id_t)pid, &si, WEXITED) < 0) {
			if (errno != EINTR) {
				fprintf(stderr, "bare_loop: waitid: %s\n", strerror(errno));
				return 1;
			}
		}
		n++;
	}
	printf("bare clone3+exit+waitid: %.0f/s (%ld in %.1f s)\n", (double)n / (t - t0), n, t - t0);
	return 0;
}
