/* sigchld_children.c: the children of the SIGCHLD experiment.  Each blocks
 * reading a barrier pipe until the parent closes its write end, exits
 * (staggered: at release + i * step), and just before _exit writes its
 * CLOCK_MONOTONIC time into a shared array, so that the parent can tell
 * how long after the exit it learned of it.  Children are either made
 * here without exec (clone(2) with the exit signal the method needs) or made
 * by the backend under test running `waiter --wait-fd 3 4 OFFSET` (the
 * build's child without libc, harness/probe/waiter.c: what is measured is
 * how the exec'd children exit, not what runs in them), which writes its
 * stamp into the memfd given as fd 4. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/experiment.h"
#include "families/sigchld/sigchld.h"
#include "sys/sys.h"
#include "lib/util.h"

uint64_t sc_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#define CHILD_STACK (16 * 1024)

static struct sc_run *cur; /* the round being made (children share memory) */

/* A direct child shares the parent's memory and fd table (CLONE_VM |
 * CLONE_FILES): making and ending one costs no page-table or fd-table
 * copy, so 10,000 of them fit in seconds, and N pidfds do not make each
 * one cost N.  It only reads the barrier (nothing signals it, so read
 * cannot fail and touch the shared errno), sleeps, samples the parent's
 * /proc status if it is one of the sampling children (sigchld_trace.c),
 * stamps and exits. */
static int child_main(void *arg)
{
	long i = (long)(intptr_t)arg;
	char b;
	ssize_t got;
	while ((got = read(cur->bar[0], &b, 1)) < 0 && errno == EINTR)
		;
	if (cur->sh->step_ns) {
		uint64_t at = cur->sh->release_ns + (uint64_t)i * cur->sh->step_ns;
		struct timespec ts = {(time_t)(at / 1000000000u), (long)(at % 1000000000u)};
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
	}
	sc_trace_sample(cur, i);
	cur->sh->stamp[i] = sc_now_ns();
	_exit(got == 0 ? 0 : 1);
}

/* A direct child with the exit signal and pidfd the method needs; 0 or
 * -1 with errno. */
static int make_direct(struct sc_run *r, long i)
{
	int pidfd = -1, flags = CLONE_VM | CLONE_FILES;
	if (r->m->make == MK_PIDFD || r->m->make == MK_EXITSIG0)
		flags |= CLONE_PIDFD;
	flags |= r->m->make == MK_EXITSIG0 ? 0 : SIGCHLD;
	cur = r;
	char *top = (char *)r->stacks + (size_t)(i + 1) * CHILD_STACK;
	pid_t pid = clone(child_main, top, flags, (void *)(intptr_t)i, &pidfd);
	if (pid < 0)
		return -1;
	r->pid[i] = pid;
	if (r->m->make == MK_PIDFD_OPEN && (pidfd = sl_pidfd_open(pid, 0)) < 0) {
		int e = errno;
		kill(pid, SIGKILL);
		r->n = i + 1;
		errno = e;
		return -1;
	}
	r->pidfd[i] = pidfd;
	return 0;
}

/* A child made by the backend under test, running the waiter. */
static int make_exec(struct sc_run *r, long i, char *err, size_t errlen)
{
	char off[32];
	snprintf(off, sizeof off, "%zu", offsetof(struct sc_shared, stamp) + (size_t)i * sizeof(uint64_t));
	char *argv[] = {r->waiter, "--wait-fd", "3", "4", off, NULL};
	char *envp[] = {NULL};
	struct spawn_req req;
	memset(&req, 0, sizeof req);
	req.path = r->waiter;
	req.argv = argv;
	req.envp = envp;
	req.map[0] = (struct sl_fdmap){r->bar[0], 3};
	req.map[1] = (struct sl_fdmap){r->memfd, 4};
	req.nmap = 2;
	struct spawn_res res = {-1, -1, 0, 0};
	if (r->ctx->be->spawn(&req, &res) < 0 || res.err) {
		snprintf(err, errlen, "%s spawn %ld: %s", r->ctx->be->name, i, strerror(res.err ? res.err : errno));
		return -1;
	}
	if (res.pid <= 0 && res.pidfd >= 0)
		res.pid = sl_pidfd_pid(res.pidfd);
	r->pid[i] = res.pid;
	r->n = i + 1;
	if (r->m->make != MK_FORK && res.pidfd < 0 && (res.pidfd = sl_pidfd_open(res.pid, 0)) < 0) {
		snprintf(err, errlen, "pidfd_open(%ld): %s", (long)res.pid, strerror(errno));
		return -1;
	}
	if (r->m->make == MK_FORK && res.pidfd >= 0) {
		close(res.pidfd); /* the method does not use it */
		res.pidfd = -1;
	}
	r->pidfd[i] = res.pidfd;
	return res.pid > 0 ? 0 : (snprintf(err, errlen, "%s gave no pid", r->ctx->be->name), -1);
}

/* An fd at 10 or above, close-on-exec, so no backend sees an identity map. */
static int high_fd(int fd)
{
	int h = fcntl(fd, F_DUPFD_CLOEXEC, 10);
	close(fd);
	return h;
}

static int cmp_pid(const void *a, const void *b, void *arg)
{
	const pid_t *pid = arg;
	pid_t x = pid[*(const long *)a], y = pid[*(const long *)b];
	return x < y ? -1 : x > y;
}

int sc_make_children(struct sc_run *r, enum sc_pattern pat, char *err, size_t errlen)
{
	long want = r->want;
	sc_trace_begin(r);
	r->pid = xcalloc((size_t)want, sizeof *r->pid);
	r->pidfd = xcalloc((size_t)want, sizeof *r->pidfd);
	r->learn = xcalloc((size_t)want, sizeof *r->learn);
	r->byid = xcalloc((size_t)want, sizeof *r->byid);
	r->ready = xcalloc((size_t)want, sizeof *r->ready);
	r->seen = xcalloc((size_t)want, 1);
	r->named_cap = want + 64;
	r->named = xcalloc((size_t)r->named_cap, sizeof *r->named);
	for (long i = 0; i < want; i++)
		r->pidfd[i] = -1;
	r->efd = r->memfd = r->bar[0] = r->bar[1] = -1;
	r->shlen = sizeof(struct sc_shared) + (size_t)want * sizeof(uint64_t);
	if (r->exec) {
		r->waiter = exp_program(r->ctx, "waiter");
		if (access(r->waiter, X_OK) < 0) {
			snprintf(err, errlen, "%s: %s (is it built?)", r->waiter, strerror(errno));
			return -1;
		}
		r->memfd = memfd_create("sigchld-stamps", MFD_CLOEXEC);
		if (r->memfd < 0 || (r->memfd = high_fd(r->memfd)) < 0 || ftruncate(r->memfd, (off_t)r->shlen) < 0) {
			snprintf(err, errlen, "memfd: %s", strerror(errno));
			return -1;
		}
	}
	void *m = mmap(NULL, r->shlen, PROT_READ | PROT_WRITE, MAP_SHARED | (r->exec ? 0 : MAP_ANONYMOUS),
		       r->exec ? r->memfd : -1, 0);
	int p[2];
	if (m == MAP_FAILED || pipe2(p, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "mmap/pipe2: %s", strerror(errno));
		if (m != MAP_FAILED)
			munmap(m, r->shlen);
		return -1;
	}
	r->sh = m;
	if (!r->exec) {
		r->stacks = mmap(NULL, (size_t)want * CHILD_STACK, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
		if (r->stacks == MAP_FAILED) {
			r->stacks = NULL;
			snprintf(err, errlen, "mmap stacks: %s", strerror(errno));
			return -1;
		}
	}
	r->bar[0] = high_fd(p[0]);
	r->bar[1] = high_fd(p[1]);
	if (r->bar[0] < 0 || r->bar[1] < 0) {
		snprintf(err, errlen, "F_DUPFD_CLOEXEC: %s", strerror(errno));
		return -1;
	}
	if (pat == PAT_STAGGERED)
		r->sh->step_ns = r->step_ns;
	/* Keep half of what is left for exits, notifications and reaping. */
	uint64_t now = mono_ms(), stop = now + (r->ctx->deadline_ms > now ? (r->ctx->deadline_ms - now) / 2 : 0);
	int rc = 0;
	for (long i = 0; i < want && mono_ms() < stop; i++) {
		if (r->exec) {
			if (make_exec(r, i, err, errlen) < 0) {
				rc = -1;
				break;
			}
		} else if (make_direct(r, i) < 0) {
			snprintf(err, errlen, "clone child %ld: %s", i, strerror(errno));
			rc = -1;
			break;
		} else {
			r->n = i + 1;
		}
	}
	for (long i = 0; i < r->n; i++)
		r->byid[i] = i;
	qsort_r(r->byid, (size_t)r->n, sizeof *r->byid, cmp_pid, r->pid);
	if (rc < 0) {
		sc_release(r);
		sc_reap_rest(r);
	}
	return rc;
}

void sc_release(struct sc_run *r)
{
	if (r->bar[1] < 0)
		return;
	r->sh->release_ns = sc_now_ns();
	close(r->bar[1]);
	r->bar[1] = -1;
}

/* The helper opens the barrier a little after the parent has gone on to
 * its wait.  Closing the last write end wakes every child, and the task
 * that wakes 10,000 of them is preempted by them: released by the parent
 * itself, the exits happen while the parent is still inside close(2), a
 * pending SIGCHLD is not delivered until it returns to user mode, and
 * every exit after the first coalesces with it whatever the method
 * (measured: release=parent, sigchld_trace.c).  The helper blocks every
 * signal, so SIGCHLD and the deadline's SIGALRM go to the parent. */
#define RELEASE_DELAY_NS 1000000

static void *releaser(void *arg)
{
	struct sc_run *r = arg;
	struct timespec ts = {0, RELEASE_DELAY_NS};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	sc_release(r);
	return NULL;
}

int sc_release_by_helper(struct sc_run *r)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int e = pthread_create(&r->releaser, NULL, releaser, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e) {
		errno = e;
		return -1;
	}
	r->has_releaser = 1;
	return 0;
}

void sc_release_join(struct sc_run *r)
{
	if (r->has_releaser)
		pthread_join(r->releaser, NULL);
	r->has_releaser = 0;
}

long sc_stamped(const struct sc_run *r)
{
	long k = 0;
	for (long i = 0; i < r->n; i++)
		k += __atomic_load_n(&r->sh->stamp[i], __ATOMIC_RELAXED) != 0;
	return k;
}

static int exited(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ESRCH;
	ssize_t got = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (got <= 0)
		return got == 0 || errno == ESRCH;
	buf[got] = 0;
	char *rp = strrchr(buf, ')');
	return rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X');
}

int sc_all_exited(const struct sc_run *r)
{
	for (long i = 0; i < r->n; i++)
		if (!r->learn[i] && !exited(r->pid[i]))
			return 0;
	return 1;
}

long sc_index(const struct sc_run *r, pid_t pid)
{
	long lo = 0, hi = r->n;
	while (lo < hi) {
		long mid = lo + (hi - lo) / 2;
		pid_t p = r->pid[r->byid[mid]];
		if (p == pid)
			return r->byid[mid];
		if (p < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

long sc_reap_rest(struct sc_run *r)
{
	long reaped = 0;
	int killed = 0;
	sc_release(r);
	for (;;) {
		int st;
		pid_t p = waitpid(-1, &st, WNOHANG | __WALL);
		if (p > 0) {
			reaped++;
			continue;
		}
		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0)
			break; /* ECHILD: nothing left */
		if (!killed && mono_ms() >= r->ctx->deadline_ms) {
			for (long i = 0; i < r->n; i++)
				kill(r->pid[i], SIGKILL);
			killed = 1;
		}
		struct timespec ms = {0, 1000000};
		nanosleep(&ms, NULL);
	}
	return reaped;
}

void sc_free(struct sc_run *r)
{
	sc_trace_free(r);
	for (long i = 0; r->pidfd && i < r->n; i++)
		if (r->pidfd[i] >= 0)
			close(r->pidfd[i]);
	if (r->sh)
		munmap(r->sh, r->shlen);
	if (r->stacks) /* every child is reaped by now */
		munmap(r->stacks, (size_t)r->want * CHILD_STACK);
	if (r->memfd >= 0)
		close(r->memfd);
	if (r->bar[0] >= 0)
		close(r->bar[0]);
	if (r->bar[1] >= 0)
		close(r->bar[1]);
	free(r->pid);
	free(r->pidfd);
	free(r->learn);
	free(r->byid);
	free(r->ready);
	free(r->seen);
	free(r->named);
	free(r->waiter);
	memset(r, 0, sizeof *r);
}
