/* check_stress.c: pdspawn under a busy multithreaded caller (issue 21,
 * item 4).  For STRESS_MS, in a forked copy of pdspawn-check that is its
 * own process group:
 *  - SPAWNERS threads spawn this program (--child-fds -1, which exits with
 *    its number of open fds) with a map of 0, 1 or 2 fds, and reap it;
 *  - a churner opens, dups and closes fds without O_CLOEXEC, the fds a
 *    non-atomic spawn would leak;
 *  - a forker forks children that exit at once, and reaps them by pid;
 *  - a signaller sends SIGWINCH to the whole process group (which reaches
 *    children before and after their exec) and SIGURG to the process,
 *    both handled here without SA_RESTART.
 * Then: leaked fds (a child with more fds than mapped), zombies (any child
 * left), handler runs in children (a handler that finds itself in another
 * process: before exec a child shares this memory, so its count shows
 * here), EINTR or other errors from the API: all must be zero.  Positive
 * controls: children with a mapped fd count it, handlers ran in the
 * caller, the churner and the forker made progress. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pdspawn/check.h"

/* The check runs STRESS_MS, and on past it in slices until MIN_SPAWNS
 * spawns (some with mapped fds) have been judged, up to STRESS_MAX_MS: a
 * sanitizer build on a slow machine makes fewer spawns in the same time,
 * and too few is a set-up failure, not a pass. */
#define STRESS_MS 2000
#define STRESS_MAX_MS 20000
#define SPAWNERS 3
#define MIN_SPAWNS 30

static pid_t stress_pid;
static volatile int stop;
static long handled_here, handled_in_child; /* atomics */
static long judged, judged_mapped;	    /* atomics: the spawners' spawns, for the main thread */

static void on_signal(int sig)
{
	(void)sig;
	int e = errno;
	if ((pid_t)syscall(SYS_getpid) == stress_pid)
		__atomic_add_fetch(&handled_here, 1, __ATOMIC_RELAXED);
	else
		__atomic_add_fetch(&handled_in_child, 1, __ATOMIC_RELAXED);
	errno = e;
}

struct spawner {
	const struct check_api *api;
	int fds[2]; /* what maps may pass */
	unsigned seed;
	long spawns, leaks, short_tables, spawn_errs, wait_errs, mapped, eintr;
	int first_err;
	pthread_t t;
};

static void *spawner_main(void *arg)
{
	struct spawner *s = arg;
	char *argv[] = {check_self, "--child-fds", "-1", NULL};
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		s->seed = s->seed * 1103515245u + 12345u;
		int k = (int)((s->seed >> 16) % 3);
		struct pdspawn_fd map[2] = {{s->fds[0], 3}, {s->fds[1], 7}};
		struct pdspawn_attr a = {map, (size_t)k, NULL, NULL, NULL, 0};
		int pidfd;
		int r = s->api->spawn(&pidfd, check_self, argv, &a);
		if (r) {
			s->spawn_errs++;
			s->first_err = s->first_err ? s->first_err : r;
			continue;
		}
		siginfo_t si = {0};
		int w;
		/* An API that passes EINTR on is retried here: what this check
		 * is about is leaks, zombies and handlers (check 7 is EINTR). */
		while ((w = s->api->wait(pidfd, WAIT_MS, &si)) == EINTR)
			s->eintr++;
		if (w == ETIMEDOUT) {
			s->api->kill(pidfd, SIGKILL);
			s->api->wait(pidfd, WAIT_MS, &si);
		}
		close(pidfd);
		if (w || si.si_code != CLD_EXITED) {
			s->wait_errs++;
			s->first_err = s->first_err ? s->first_err : (w ? w : -1);
			continue;
		}
		s->spawns++;
		s->mapped += k > 0;
		__atomic_add_fetch(&judged, 1, __ATOMIC_RELAXED);
		if (k > 0)
			__atomic_add_fetch(&judged_mapped, 1, __ATOMIC_RELAXED);
		if (si.si_status > k)
			s->leaks += si.si_status - k;
		else if (si.si_status < k)
			s->short_tables++;
	}
	return NULL;
}

static long churned, forked, signalled;

static void *churner_main(void *arg)
{
	(void)arg;
	unsigned n = 0;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		int a = open("/dev/null", O_RDONLY); /* no O_CLOEXEC: the leak a spawn must not make */
		int b = a >= 0 ? dup(a) : -1;
		int c = a >= 0 ? dup2(a, 20 + (int)(n++ % 20)) : -1;
		if (a >= 0)
			close(a);
		if (b >= 0)
			close(b);
		if (c >= 0)
			close(c);
		churned += a >= 0;
	}
	return NULL;
}

static void *forker_main(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(0);
		if (pid > 0) {
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
			forked++;
		}
		usleep(2000);
	}
	return NULL;
}

static void *signaller_main(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		kill(0, SIGWINCH);
		kill(stress_pid, SIGURG);
		signalled += 2;
		usleep(300);
	}
	return NULL;
}

enum res t_stress(const struct check_api *api, char *why, size_t len)
{
	stress_pid = getpid();
	struct sigaction sa = {0};
	sa.sa_handler = on_signal; /* no SA_RESTART */
	sigaction(SIGWINCH, &sa, NULL);
	sigaction(SIGURG, &sa, NULL);
	int f0 = open("/dev/null", O_RDONLY | O_CLOEXEC), f1 = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	if (f0 < 0 || f1 < 0)
		return FAILED("set-up: open: %s", strerror(errno));
	int before = count_fds();

	struct spawner sp[SPAWNERS];
	pthread_t churner, forker, signaller;
	memset(sp, 0, sizeof sp);
	int made = 0;
	for (int i = 0; i < SPAWNERS; i++) {
		sp[i].api = api;
		sp[i].fds[0] = f0;
		sp[i].fds[1] = f1;
		sp[i].seed = (unsigned)i * 7919u + 1;
		made += pthread_create(&sp[i].t, NULL, spawner_main, &sp[i]) == 0;
	}
	made += pthread_create(&churner, NULL, churner_main, NULL) == 0;
	made += pthread_create(&forker, NULL, forker_main, NULL) == 0;
	made += pthread_create(&signaller, NULL, signaller_main, NULL) == 0;
	if (made != SPAWNERS + 3) {
		/* Threads that did start are not joined: the process ends. */
		return FAILED("set-up: pthread_create: %d of %d threads", made, SPAWNERS + 3);
	}
	int64_t t0 = now_ns();
	int ms = 0;
	while (ms < STRESS_MS || (ms < STRESS_MAX_MS && (__atomic_load_n(&judged, __ATOMIC_RELAXED) < MIN_SPAWNS ||
							   !__atomic_load_n(&judged_mapped, __ATOMIC_RELAXED)))) {
		struct timespec ts = {0, 100 * 1000000L};
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		ms = (int)((now_ns() - t0) / 1000000);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(signaller, NULL);
	for (int i = 0; i < SPAWNERS; i++)
		pthread_join(sp[i].t, NULL);
	pthread_join(churner, NULL);
	pthread_join(forker, NULL);
	signal(SIGWINCH, SIG_IGN);
	signal(SIGURG, SIG_IGN);

	long spawns = 0, leaks = 0, shorts = 0, serr = 0, werr = 0, mapped = 0, eintr = 0;
	int first_err = 0;
	for (int i = 0; i < SPAWNERS; i++) {
		spawns += sp[i].spawns;
		leaks += sp[i].leaks;
		shorts += sp[i].short_tables;
		serr += sp[i].spawn_errs;
		werr += sp[i].wait_errs;
		mapped += sp[i].mapped;
		eintr += sp[i].eintr;
		first_err = first_err ? first_err : sp[i].first_err;
	}
	int after = count_fds(), clean = no_children();
	long here = __atomic_load_n(&handled_here, __ATOMIC_RELAXED);
	long in_child = __atomic_load_n(&handled_in_child, __ATOMIC_RELAXED);
	diag("%d ms, %d spawning threads: %ld spawns (%ld with mapped fds), %ld fds leaked, %ld short tables, "
	     "%ld spawn and %ld wait errors (first %s), %ld EINTR; %ld fd churns, %ld forks, %ld signals sent, %ld "
	     "handled here, %ld in children; fds %d -> %d; %s",
	     ms, SPAWNERS, spawns, mapped, leaks, shorts, serr, werr,
	     first_err > 0 ? strerror(first_err) : first_err < 0 ? "killed or stopped" : "none", eintr, churned, forked,
	     signalled, here, in_child, before, after, clean ? "no child left" : "children left");
	close(f0);
	close(f1);
	if (eintr && api->hides_eintr)
		return FAILED("%ld waits returned EINTR", eintr);
	if (serr || werr)
		return FAILED("%ld spawn and %ld wait errors (first: %s)", serr, werr,
			      first_err > 0 ? strerror(first_err) : "a child did not exit normally");
	if (spawns < MIN_SPAWNS || mapped == 0 || here == 0 || churned == 0 || forked == 0)
		return FAILED("set-up: too little happened to judge (%ld spawns, %ld with fds, %ld handled, %ld "
			      "churns, %ld forks)",
			      spawns, mapped, here, churned, forked);
	if (leaks || shorts)
		return FAILED("%ld fds leaked into children, %ld children missing a mapped fd", leaks, shorts);
	if (in_child)
		return FAILED("%ld handler runs in children", in_child);
	if (!clean)
		return FAILED("zombies or children left");
	if (before != after)
		return FAILED("%d fds before, %d after", before, after);
	return PASS;
}
