/* check_defects.c: regression checks for the four defects independent
 * testing found in pdspawn (issue 21).  Each failed against the code
 * before its fix; each runs in a forked copy of pdspawn-check (isolated()),
 * because it changes limits or dispositions, or crashed the caller. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pdspawn/check.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) && !defined(__SANITIZE_ADDRESS__)
#define __SANITIZE_ADDRESS__ 1
#endif
#endif
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#endif

/* ---- cancellation ----------------------------------------------------------
 * A thread with a cancel pending calls the API.  glibc's and musl's
 * posix_spawn disable cancellation for the call; pdspawn must too: its
 * clean-up after a failed exec (waitid, close) is made of cancellation
 * points, and a thread cancelled there leaks the pidfd and leaves a
 * zombie that only a __WALL wait sees.  On the clone() path without
 * close_range (pdspawn-check-legacy) the child's close loop runs with the
 * caller's thread state too.  Then pdspawn_wait: its poll may act on the
 * cancel (the child stays and is reaped later), but a child's status is
 * never lost to a cancel: either the cancelled thread got it, or the
 * caller can still reap. */

struct cancel_run {
	const struct check_api *api;
	const char *path;
	const struct pdspawn_attr *attr;
	int returned, r, pidfd, waited;
	siginfo_t si;
};

/* A cancel unwinds the thread's frames without their sanitizer epilogues,
 * leaving their redzones poisoned below the unwinder; ASan's own thread
 * exit then writes there and reports an overflow that is not one.  The
 * clean-up handler, run during the unwind, unpoisons the dead frames. */
static void unpoison_dead_frames(void *arg)
{
	(void)arg;
#ifdef __SANITIZE_ADDRESS__
	pthread_attr_t at;
	void *lo;
	size_t size;
	char here;
	if (pthread_getattr_np(pthread_self(), &at) == 0) {
		if (pthread_attr_getstack(&at, &lo, &size) == 0 && (char *)lo < &here)
			__asan_unpoison_memory_region(lo, (size_t)(&here - (char *)lo));
		pthread_attr_destroy(&at);
	}
#endif
}

static void *cancelled_spawn(void *arg)
{
	struct cancel_run *c = arg;
	char *argv[] = {"true", NULL};
	pthread_cleanup_push(unpoison_dead_frames, NULL);
	pthread_cancel(pthread_self()); /* deferred: pending until a cancellation point */
	c->r = c->api->spawn(&c->pidfd, c->path, argv, c->attr);
	c->returned = 1;
	pthread_testcancel();
	pthread_cleanup_pop(0);
	return NULL;
}

static void *cancelled_wait(void *arg)
{
	struct cancel_run *c = arg;
	pthread_cleanup_push(unpoison_dead_frames, NULL);
	pthread_cancel(pthread_self());
	c->r = c->api->wait(c->pidfd, WAIT_MS, &c->si);
	c->returned = 1;
	pthread_testcancel();
	pthread_cleanup_pop(0);
	return NULL;
}

static int run_cancelled(void *(*fn)(void *), struct cancel_run *c, char *why, size_t len)
{
	pthread_t t;
	void *ret = NULL;
	if (pthread_create(&t, NULL, fn, c) != 0 || pthread_join(t, &ret) != 0) {
		snprintf(why, len, "set-up: pthread_create/join failed");
		return -1;
	}
	if (ret != PTHREAD_CANCELED) {
		snprintf(why, len, "set-up: the thread was not cancelled at all: nothing was tested");
		return -1;
	}
	return 0;
}

enum res t_cancel(const struct check_api *api, char *why, size_t len)
{
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	struct pdspawn_fd map[] = {{devnull, 5}};
	struct pdspawn_attr one = {map, 1, NULL, NULL, NULL, 0};
	const struct {
		const char *name, *path;
		const struct pdspawn_attr *attr;
		int want;
	} rows[] = {
		{"failed exec (the clean-up path)", "/nonexistent/pdspawn-check", NULL, ENOENT},
		{"successful spawn with one fd (the child's set-up)", "/bin/true", &one, 0},
	};
	/* A first spawn from this thread, so that what a library does once
	 * per process (pdspawn probes waitid P_PIDFD) is not what the rows
	 * below run into. */
	char *warm_argv[] = {"true", NULL};
	int warm;
	if (spawn_tracked(api, &warm, "/bin/true", warm_argv, NULL) == 0)
		reap(api, warm, WAIT_MS, NULL);
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
		int before = count_fds();
		struct cancel_run c = {api, rows[i].path, rows[i].attr, 0, -1, -1, 0, {0}};
		if (run_cancelled(cancelled_spawn, &c, why, len) < 0)
			return FAIL;
		siginfo_t si = {0};
		int w = c.returned && c.r == 0 ? reap(api, c.pidfd, WAIT_MS, &si) : 0;
		int clean = no_children(), after = count_fds();
		diag("cancel pending, %s: %s%s; children left %s; fds %d -> %d", rows[i].name,
		     c.returned ? "returned " : "the thread died inside the call",
		     c.returned ? (c.r ? strerror(c.r) : "0") : "", clean ? "none" : "some", before, after);
		if (!c.returned)
			return FAILED("%s: a pending cancel acted inside the call, which never returned (%s a child, "
				      "%d fds leaked)",
				      rows[i].name, clean ? "without" : "leaving", after - before);
		if (c.r != rows[i].want)
			return FAILED("%s: %s, want %s", rows[i].name, strerror(c.r), strerror(rows[i].want));
		if (rows[i].want == 0 && (w || !exited_zero(&si)))
			return FAILED("%s: the child did not run the program: wait %s, si_code %d, status %d",
				      rows[i].name, strerror(w), si.si_code, si.si_status);
		if (!clean || before != after)
			return FAILED("%s: %s, %d fds before, %d after", rows[i].name,
				      clean ? "no child left" : "a child remains", before, after);
	}
	close(devnull);

	/* The wait: the child has exited; a thread with a cancel pending
	 * waits for it. */
	char *argv[] = {"true", NULL};
	struct cancel_run c = {api, NULL, NULL, 0, -1, -1, 0, {0}};
	int r = spawn_tracked(api, &c.pidfd, "/bin/true", argv, NULL);
	if (r)
		return FAILED("%s: %s", api->name, strerror(r));
	struct pollfd p = {c.pidfd, POLLIN, 0};
	while (poll(&p, 1, WAIT_MS) < 0 && errno == EINTR)
		;
	if (run_cancelled(cancelled_wait, &c, why, len) < 0) {
		reap(api, c.pidfd, 0, NULL);
		return FAIL;
	}
	siginfo_t si = {0};
	int w = c.returned && c.r == 0 ? 0 : reap(api, c.pidfd, WAIT_MS, &si);
	if (c.returned && c.r == 0) {
		si = c.si;
		track(c.pidfd, 0);
		close(c.pidfd);
	}
	diag("cancel pending in the wait: the thread %s; status %s (si_code %d, status %d)",
	     c.returned ? "returned" : "was cancelled", w ? strerror(w) : "kept", si.si_code, si.si_status);
	if (w || !exited_zero(&si))
		return FAILED("a cancelled wait lost the child's status: %s, si_code %d", strerror(w), si.si_code);
	return PASS;
}

/* ---- temporary copies near RLIMIT_NOFILE ---------------------------------
 * With the soft limit at 64: a swap (62 <-> 63) and a chain (60 -> 61 ->
 * 4) of valid fds, then the same with a single fd free (the pidfd takes
 * it in the caller; the child's table, copied before, still has it), then
 * with none free, where the spawn must fail with a clear errno (EMFILE)
 * and leave nothing behind. */

#define NOFILE_LIMIT 64

/* Open /dev/null until the table is full; the fds go to FILL, their count
 * is returned. */
static int fill_table(int *fill, int max)
{
	int n = 0;
	while (n < max) {
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			break;
		fill[n++] = fd;
	}
	return n;
}

enum res t_nofile(const struct check_api *api, char *why, size_t len)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return FAILED("set-up: getrlimit: %s", strerror(errno));
	rlim_t old_cur = rl.rlim_cur;
	rl.rlim_cur = NOFILE_LIMIT;
	int f[4] = {memfd_create("a", 0), memfd_create("b", MFD_CLOEXEC), memfd_create("c", 0), memfd_create("d", 0)};
	int at[4] = {62, 63, 60, 61};
	for (int i = 0; i < 4; i++)
		if (f[i] < 0 || dup2(f[i], at[i]) != at[i])
			return FAILED("set-up: memfd/dup2: %s", strerror(errno));
	/* Nothing above the new limit: without close_range (5.9) pdspawn's
	 * child cannot close what was opened above it before it was set
	 * (pdspawn(3), BUGS), which is not what this check is about. */
	for (rlim_t fd = NOFILE_LIMIT; fd < old_cur && fd < (1u << 20); fd++)
		if (fcntl((int)fd, F_GETFD) >= 0)
			close((int)fd);
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return FAILED("set-up: setrlimit: %s", strerror(errno));
	int fill[NOFILE_LIMIT];
	const char *phase[] = {"with free fds", "with one fd free", "with none free"};
	for (int ph = 0; ph < 3; ph++) {
		int p[2], before = count_fds();
		if (pipe2(p, O_CLOEXEC) < 0)
			return FAILED("set-up: pipe2: %s", strerror(errno));
		/* 62 <-> 63, 60 -> 61 -> 4, the report pipe last. */
		struct pdspawn_fd map[] = {{62, 63}, {63, 62}, {60, 61}, {61, 4}, {p[1], 3}};
		struct pdspawn_fd want[] = {{62, 63}, {63, 62}, {60, 61}, {61, 4}, {p[0], 3}};
		size_t n = sizeof map / sizeof *map;
		int nfill = ph ? fill_table(fill, NOFILE_LIMIT) : 0;
		if (ph == 1 && nfill > 0)
			close(fill[--nfill]); /* one free: the pidfd's */
		int e = spawn_and_compare_fds(api, map, n, want, p[0], why, len);
		int clean = no_children();
		for (int i = 0; i < nfill; i++)
			close(fill[i]);
		close(p[0]);
		int after = count_fds();
		diag("limit %d, swap 62<->63 and chain 60->61->4 %s: %s", NOFILE_LIMIT, phase[ph],
		     e > 0 ? strerror(e) : e < 0 ? why : "exact");
		if (ph < 2 && e > 0)
			return FAILED("%s: %s, although every fd in the map is valid", phase[ph], strerror(e));
		if (ph < 2 && e < 0)
			return FAIL;
		if (ph == 2 && e != EMFILE)
			return FAILED("%s: %s, want EMFILE", phase[ph], e > 0 ? strerror(e) : "spawned");
		if (!clean)
			return FAILED("%s: a child remains", phase[ph]);
		if (before != after)
			return FAILED("%s: %d fds before, %d after", phase[ph], before, after);
	}
	return PASS;
}

/* ---- small thread stacks ---------------------------------------------------
 * A thread whose stack is PTHREAD_STACK_MIN spawns and reaps.  The stack
 * is ours (pthread_attr_setstack), painted, with a PROT_NONE page below
 * it so that an overflow faults; after the join, the painted bytes left
 * tell how deep the thread went, next to a thread that only returns.  In
 * a process where nothing was spawned yet, that includes the dynamic
 * linker's lazy binding of the libc functions the spawn calls first. */

#define PAINT 0xa5

struct stack_run {
	const struct check_api *api;
	int spawn;
	int r, w;
	siginfo_t si;
};

static void *stack_thread(void *arg)
{
	struct stack_run *s = arg;
	if (!s->spawn)
		return NULL;
	char *argv[] = {"true", NULL};
	int pidfd;
	s->r = s->api->spawn(&pidfd, "/bin/true", argv, NULL);
	if (s->r == 0) {
		s->w = s->api->wait(pidfd, WAIT_MS, &s->si);
		close(pidfd);
	}
	return NULL;
}

/* Run a thread on a painted stack of SIZE bytes; the bytes it touched, or
 * -1. */
static long run_on_stack(struct stack_run *s, size_t size, char *why, size_t len)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, size + (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED || mprotect(m, (size_t)pg, PROT_NONE) < 0) {
		snprintf(why, len, "set-up: mmap: %s", strerror(errno));
		return -1;
	}
	char *stack = m + pg;
	memset(stack, PAINT, size);
	pthread_attr_t at;
	pthread_t t;
	pthread_attr_init(&at);
	int e = pthread_attr_setstack(&at, stack, size);
	if (!e)
		e = pthread_create(&t, &at, stack_thread, s);
	if (!e)
		e = pthread_join(t, NULL);
	pthread_attr_destroy(&at);
	long used = -1;
	if (e) {
		snprintf(why, len, "set-up: a thread on a %zu-byte stack: %s", size, strerror(e));
	} else {
		size_t low = 0;
		while (low < size && (unsigned char)stack[low] == PAINT)
			low++;
		used = (long)(size - low);
	}
	munmap(m, size + (size_t)pg);
	return used;
}

enum res t_small_stack(const struct check_api *api, char *why, size_t len)
{
	size_t size = PTHREAD_STACK_MIN;
	struct stack_run idle = {api, 0, 0, 0, {0}}, sp = {api, 1, -1, -1, {0}};
	long base = run_on_stack(&idle, size, why, len);
	if (base < 0)
		return FAIL;
	long used = run_on_stack(&sp, size, why, len);
	if (used < 0)
		return FAIL;
	diag("a thread on a PTHREAD_STACK_MIN (%zu-byte) stack: %ld bytes of it touched when it only returns, %ld "
	     "when it spawns and reaps",
	     size, base, used);
	if (sp.r)
		return FAILED("%s in a %zu-byte thread: %s", api->name, size, strerror(sp.r));
	if (sp.w || !exited_zero(&sp.si))
		return FAILED("wait in a %zu-byte thread: %s, si_code %d", size, strerror(sp.w), sp.si.si_code);
	return PASS;
}

/* ---- SIGCHLD ignored, or the child reaped elsewhere ------------------------
 * execve resets the exit signal to SIGCHLD, so a program's exit can make
 * the kernel reap it (SIGCHLD SIG_IGN or SA_NOCLDWAIT: wait(2), "POSIX.1
 * ... the children are not turned into zombies") or a waitpid(-1) take
 * it.  Nobody receives the status the kernel reaped: pdspawn_wait gets it
 * from the pidfd where the kernel keeps it (PIDFD_INFO_EXIT, 6.15+), else
 * returns ECHILD.  The status a waitpid(-1) took went there: ECHILD, as
 * for a second wait.  A child that fails before exec has exit signal 0 and
 * is reaped by pdspawn itself. */
enum res t_sigchld_elsewhere(const struct check_api *api, char *why, size_t len)
{
	int keeps = kernel_keeps_exit_status();
	const struct {
		const char *name;
		void (*handler)(int);
		int flags, reaper;
	} rows[] = {
		{"SIGCHLD SIG_IGN", SIG_IGN, 0, 0},
		{"SA_NOCLDWAIT", SIG_DFL, SA_NOCLDWAIT, 0},
		{"a waitpid(-1) elsewhere", SIG_DFL, 0, 1},
	};
	diag("this kernel %s a reaped child's status with its pidfd (PIDFD_INFO_EXIT)", keeps ? "keeps" : "does not keep");
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
		struct sigaction sa = {0};
		sa.sa_handler = rows[i].handler;
		sa.sa_flags = rows[i].flags;
		sigaction(SIGCHLD, &sa, NULL);
		char *argv[] = {"sh", "-c", "exit 7", NULL};
		int pidfd;
		int r = spawn_tracked(api, &pidfd, "/bin/sh", argv, NULL);
		if (r)
			return FAILED("%s: %s: %s", rows[i].name, api->name, strerror(r));
		pid_t pid = api->pid(pidfd);
		struct pollfd p = {pidfd, POLLIN, 0};
		while (poll(&p, 1, WAIT_MS) < 0 && errno == EINTR)
			;
		/* The positive control: someone else did take the child. */
		int taken;
		if (rows[i].reaper) {
			int st = 0;
			pid_t got;
			while ((got = waitpid(-1, &st, 0)) < 0 && errno == EINTR)
				;
			taken = got == pid && WIFEXITED(st) && WEXITSTATUS(st) == 7;
		} else {
			siginfo_t si;
			taken = waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT | __WALL) < 0 && errno == ECHILD;
		}
		siginfo_t si = {0};
		int w = reap(api, pidfd, WAIT_MS, &si);
		diag("%s: the child %s; wait: %s, si_code %d, status %d", rows[i].name,
		     taken ? "was reaped elsewhere" : "was not reaped elsewhere", w ? strerror(w) : "0", si.si_code,
		     si.si_status);
		if (!taken)
			return FAILED("set-up: %s: the child was not reaped elsewhere: nothing was tested", rows[i].name);
		if (keeps && !rows[i].reaper && (w || si.si_code != CLD_EXITED || si.si_status != 7))
			return FAILED("%s: wait %s, si_code %d, status %d: the status (exit 7) is lost, although the "
				      "kernel keeps it with the pidfd",
				      rows[i].name, w ? strerror(w) : "0", si.si_code, si.si_status);
		if ((!keeps || rows[i].reaper) && w != ECHILD)
			return FAILED("%s: wait %s, want ECHILD (%s)", rows[i].name, w ? strerror(w) : "0",
				      rows[i].reaper ? "the status went to the waitpid(-1)" : "the kernel keeps no status");
	}
	/* Before exec, exit signal 0: not reaped by the kernel, reaped by the
	 * spawn itself. */
	signal(SIGCHLD, SIG_IGN);
	char *argv[] = {"x", NULL};
	int pidfd, before = count_fds();
	int r = api->spawn(&pidfd, "/nonexistent/pdspawn-check", argv, NULL);
	int clean = no_children(), after = count_fds();
	signal(SIGCHLD, SIG_DFL);
	diag("SIGCHLD SIG_IGN, failed exec: %s; %s; fds %d -> %d", strerror(r), clean ? "no child left" : "a child left",
	     before, after);
	if (r != ENOENT || !clean || before != after)
		return FAILED("SIGCHLD SIG_IGN, failed exec: %s, %s, fds %d -> %d", strerror(r),
			      clean ? "no child left" : "a child left", before, after);
	return PASS;
}
