/* sigchld_methods.c: the ways a parent can learn that its children
 * exited, as a table.  The signal methods count what reaches the parent
 * (handler runs, sigwaitinfo returns, signalfd records, self-pipe bytes);
 * the descriptor methods report which child's pidfd became readable.
 * While waiting, SIGCHLD stays blocked except inside ppoll(2) (handlers)
 * or always (sigwaitinfo, signalfd, blocked_unblock), so that no delivery
 * slips between a look and the next sleep. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pdspawn/pdspawn.h"
#include "families/sigchld/sigchld.h"
#include "sys/sys.h"

static long sig_count;  /* handler runs since arm */
static pid_t *sig_pids; /* SA_SIGINFO handlers: si_pid of each run */
static long sig_cap;
static int pipe_w = -1; /* self-pipe: the handler's end */

static void on_count(int s)
{
	(void)s;
	__atomic_add_fetch(&sig_count, 1, __ATOMIC_SEQ_CST);
}

static void on_info(int s, siginfo_t *si, void *uc)
{
	(void)s, (void)uc;
	long k = __atomic_fetch_add(&sig_count, 1, __ATOMIC_SEQ_CST);
	if (k < sig_cap)
		sig_pids[k] = si->si_pid;
}

static void on_pipe(int s)
{
	int e = errno;
	(void)s;
	__atomic_add_fetch(&sig_count, 1, __ATOMIC_SEQ_CST);
	if (write(pipe_w, "x", 1) < 0) {
		/* pipe full: a byte is already waiting, the reader loses nothing */
	}
	errno = e;
}

long sc_sig_count(void)
{
	return __atomic_load_n(&sig_count, __ATOMIC_SEQ_CST);
}

static int chld_mask(int how)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGCHLD);
	return sigprocmask(how, &s, NULL);
}

static int set_action(struct sc_run *r, void (*h)(int), void (*hi)(int, siginfo_t *, void *), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = flags | SA_RESTART;
	if (hi) {
		sa.sa_sigaction = hi;
		sa.sa_flags |= SA_SIGINFO;
	} else {
		sa.sa_handler = h;
	}
	__atomic_store_n(&sig_count, 0, __ATOMIC_SEQ_CST);
	sig_pids = r->named;
	sig_cap = r->named_cap;
	r->handler_calls = 0;
	return sigaction(SIGCHLD, &sa, NULL);
}

static struct timespec ms_ts(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	return ts;
}

/* Handler runs since the last look. */
static long take(struct sc_run *r)
{
	long c = sc_sig_count(), d = c - r->handler_calls;
	r->handler_calls = c;
	return d;
}

static void named(struct sc_run *r, pid_t pid)
{
	if (r->nnamed < r->named_cap)
		r->named[r->nnamed++] = pid;
}

/* --- signal methods --- */

static int arm_handler(struct sc_run *r)
{
	return chld_mask(SIG_BLOCK) < 0 ? -1 : set_action(r, on_count, NULL, 0);
}

static int arm_siginfo(struct sc_run *r)
{
	return chld_mask(SIG_BLOCK) < 0 ? -1 : set_action(r, NULL, on_info, 0);
}

static int arm_nocldwait(struct sc_run *r)
{
	return set_action(r, NULL, on_info, SA_NOCLDWAIT);
}

static int arm_ignore(struct sc_run *r)
{
	(void)r;
	__atomic_store_n(&sig_count, 0, __ATOMIC_SEQ_CST);
	return signal(SIGCHLD, SIG_IGN) == SIG_ERR ? -1 : 0;
}

static int arm_block(struct sc_run *r)
{
	(void)r;
	__atomic_store_n(&sig_count, 0, __ATOMIC_SEQ_CST);
	return chld_mask(SIG_BLOCK);
}

static int arm_signalfd(struct sc_run *r)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGCHLD);
	if (arm_block(r) < 0)
		return -1;
	r->efd = signalfd(-1, &s, SFD_NONBLOCK | SFD_CLOEXEC);
	return r->efd < 0 ? -1 : 0;
}

static int arm_selfpipe(struct sc_run *r)
{
	int p[2];
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
		return -1;
	r->efd = p[0];
	pipe_w = p[1];
	return set_action(r, on_pipe, NULL, 0);
}

/* sleep in ppoll with SIGCHLD unblocked; count the handler runs */
static long wait_handler(struct sc_run *r, int timeout_ms)
{
	long d = take(r);
	if (d)
		return d;
	sigset_t none;
	sigemptyset(&none);
	struct timespec ts = ms_ts(timeout_ms);
	if (ppoll(NULL, 0, &ts, &none) < 0 && errno != EINTR)
		return -1;
	return take(r);
}

/* SIGCHLD stays blocked until every child has exited; then one unblock. */
static long wait_blocked(struct sc_run *r, int timeout_ms)
{
	if (r->unblocked)
		return wait_handler(r, timeout_ms);
	if (sc_stamped(r) == r->n && sc_all_exited(r)) {
		if (chld_mask(SIG_UNBLOCK) < 0)
			return -1;
		r->unblocked = 1; /* pending SIGCHLD delivered before sigprocmask returns */
		return take(r);
	}
	struct timespec ts = ms_ts(timeout_ms);
	if (ppoll(NULL, 0, &ts, NULL) < 0 && errno != EINTR)
		return -1;
	return 0;
}

static long wait_sigwait(struct sc_run *r, int timeout_ms)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGCHLD);
	long k = 0;
	for (struct timespec ts = ms_ts(timeout_ms);; ts = ms_ts(0)) {
		siginfo_t si;
		if (sigtimedwait(&s, &si, &ts) < 0)
			return errno == EAGAIN || errno == EINTR ? k : -1;
		named(r, si.si_pid);
		k++;
	}
}

static long wait_signalfd(struct sc_run *r, int timeout_ms)
{
	struct pollfd p = {r->efd, POLLIN, 0};
	if (poll(&p, 1, timeout_ms) < 0 && errno != EINTR)
		return -1;
	long k = 0;
	struct signalfd_siginfo si[16];
	ssize_t got;
	while ((got = read(r->efd, si, sizeof si)) > 0)
		for (size_t i = 0; i < (size_t)got / sizeof *si; i++, k++)
			named(r, (pid_t)si[i].ssi_pid);
	return got < 0 && errno != EAGAIN ? -1 : k;
}

static long wait_selfpipe(struct sc_run *r, int timeout_ms)
{
	struct pollfd p = {r->efd, POLLIN, 0};
	if (poll(&p, 1, timeout_ms) < 0 && errno != EINTR)
		return -1;
	long k = 0;
	char buf[512];
	ssize_t got;
	while ((got = read(r->efd, buf, sizeof buf)) > 0)
		k += got;
	return got < 0 && errno != EAGAIN ? -1 : k;
}

static void disarm_signal(struct sc_run *r)
{
	/* A SIGCHLD still pending (blocked outside ppoll) is delivered to the
	 * handler before the count is read, not discarded by SIG_DFL. */
	sigset_t none;
	sigemptyset(&none);
	struct timespec zero = {0, 0};
	if (r->m->handler && ppoll(NULL, 0, &zero, &none) == 0) {
		/* timed out: nothing was pending (EINTR: it was delivered) */
	}
	chld_mask(SIG_BLOCK); /* no delivery between the disposition change and the count */
	if (sig_pids == r->named) {
		long c = r->handler_calls; /* the runs counted as notifications */
		if (r->m->arm == arm_siginfo || r->m->arm == arm_nocldwait)
			r->nnamed = c < r->named_cap ? c : r->named_cap;
	}
	signal(SIGCHLD, SIG_DFL);
	sig_pids = NULL;
	sig_cap = 0;
	chld_mask(SIG_UNBLOCK);
	if (r->efd >= 0)
		close(r->efd);
	if (pipe_w >= 0)
		close(pipe_w);
	r->efd = pipe_w = -1;
}

/* --- descriptor methods --- */

static int arm_none(struct sc_run *r)
{
	(void)r;
	__atomic_store_n(&sig_count, 0, __ATOMIC_SEQ_CST);
	return 0;
}

/* exit signal 0: count any SIGCHLD that arrives all the same */
static int arm_exitsig0(struct sc_run *r)
{
	return arm_handler(r);
}

static int arm_epoll(struct sc_run *r)
{
	__atomic_store_n(&sig_count, 0, __ATOMIC_SEQ_CST);
	if ((r->efd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return -1;
	for (long i = 0; i < r->n; i++) {
		struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.u64 = (uint64_t)i};
		if (epoll_ctl(r->efd, EPOLL_CTL_ADD, r->pidfd[i], &ev) < 0)
			return -1;
	}
	return 0;
}

static void report(struct sc_run *r, long i)
{
	if (r->seen[i])
		r->dup_reports++;
	r->seen[i] = 1;
	r->ready[r->nready++] = i;
	named(r, r->pid[i]);
}

/* poll every pidfd not yet named (SIGCHLD unblocked inside ppoll) */
static long wait_poll(struct sc_run *r, int timeout_ms)
{
	struct pollfd *p = calloc((size_t)r->n, sizeof *p);
	long *idx = calloc((size_t)r->n, sizeof *idx), np = 0;
	if (!p || !idx) {
		free(p), free(idx);
		errno = ENOMEM;
		return -1;
	}
	for (long i = 0; i < r->n; i++)
		if (!r->seen[i] && r->pidfd[i] >= 0) {
			p[np] = (struct pollfd){r->pidfd[i], POLLIN, 0};
			idx[np++] = i;
		}
	sigset_t none;
	sigemptyset(&none);
	struct timespec ts = ms_ts(timeout_ms);
	int got = np ? ppoll(p, (nfds_t)np, &ts, &none) : 0;
	r->nready = 0;
	for (long j = 0; got > 0 && j < np; j++)
		if (p[j].revents & (POLLIN | POLLHUP))
			report(r, idx[j]);
	free(p);
	free(idx);
	return got < 0 && errno != EINTR ? -1 : r->nready;
}

static long wait_epoll(struct sc_run *r, int timeout_ms)
{
	struct epoll_event ev[256];
	int got = epoll_wait(r->efd, ev, 256, timeout_ms);
	r->nready = 0;
	for (int j = 0; j < got; j++)
		report(r, (long)ev[j].data.u64);
	return got < 0 && errno != EINTR ? -1 : r->nready;
}

/* waitid(P_PIDFD) on each child in spawn order; the round's interval
 * timer (SIGALRM, no SA_RESTART) bounds the blocking call. */
static long wait_waitid(struct sc_run *r, int timeout_ms)
{
	(void)timeout_ms;
	r->nready = 0;
	if (r->cursor >= r->n)
		return 0;
	siginfo_t si;
	memset(&si, 0, sizeof si);
	if (waitid((idtype_t)P_PIDFD, (id_t)r->pidfd[r->cursor], &si, WEXITED) < 0)
		return errno == EINTR ? 0 : -1;
	report(r, r->cursor++);
	return 1;
}

/* pdspawn's own wait, on each child in spawn order */
static long wait_pdspawn(struct sc_run *r, int timeout_ms)
{
	r->nready = 0;
	if (r->cursor >= r->n)
		return 0;
	siginfo_t si;
	int e = pdspawn_wait(r->pidfd[r->cursor], timeout_ms, &si);
	if (e == ETIMEDOUT)
		return 0;
	if (e) {
		errno = e;
		return -1;
	}
	report(r, r->cursor++);
	return 1;
}

#define SIGNAL_METHOD(NAME, REAP, ARM, WAIT, ASYNC, HANDLER) \
	{.name = NAME, .make = MK_FORK, .reap = REAP, .arm = ARM, .wait = WAIT, .disarm = disarm_signal, \
	 .async = ASYNC, .handler = HANDLER}
#define PIDFD_METHOD(NAME, MAKE, ARM, WAIT, REAPS, PD) \
	{.name = NAME, .make = MAKE, .reap = R_PIDFD, .arm = ARM, .wait = WAIT, .disarm = disarm_signal, \
	 .reaps = REAPS, .needs_pd = PD}

static const struct sc_method methods[] = {
	SIGNAL_METHOD("sa_handler", R_ANY, arm_handler, wait_handler, 1, 1),
	SIGNAL_METHOD("sa_siginfo", R_ANY, arm_siginfo, wait_handler, 1, 1),
	SIGNAL_METHOD("blocked_unblock", R_ANY, arm_handler, wait_blocked, 0, 1),
	SIGNAL_METHOD("sigwaitinfo", R_ANY, arm_block, wait_sigwait, 0, 0),
	SIGNAL_METHOD("signalfd", R_ANY, arm_signalfd, wait_signalfd, 0, 0),
	SIGNAL_METHOD("selfpipe", R_ANY, arm_selfpipe, wait_selfpipe, 1, 1),
	SIGNAL_METHOD("nocldwait", R_AUTO, arm_nocldwait, wait_handler, 1, 1),
	SIGNAL_METHOD("sigign", R_AUTO, arm_ignore, wait_handler, 1, 0),
	PIDFD_METHOD("pidfd_poll", MK_PIDFD, arm_none, wait_poll, 0, 0),
	PIDFD_METHOD("pidfd_epoll", MK_PIDFD, arm_epoll, wait_epoll, 0, 0),
	PIDFD_METHOD("pidfd_open_poll", MK_PIDFD_OPEN, arm_none, wait_poll, 0, 0),
	PIDFD_METHOD("waitid_pidfd", MK_PIDFD, arm_none, wait_waitid, 1, 0),
	PIDFD_METHOD("pdspawn_wait", MK_PIDFD, arm_none, wait_pdspawn, 1, 1),
	{.name = "exitsig0", .make = MK_EXITSIG0, .reap = R_ANY, .wall = 1, .arm = arm_exitsig0, .wait = wait_poll,
	 .disarm = disarm_signal, .async = 1, .handler = 1},
};

const char sc_method_names[] = "sa_handler|sa_siginfo|blocked_unblock|sigwaitinfo|signalfd|selfpipe|nocldwait|"
			       "sigign|pidfd_poll|pidfd_epoll|pidfd_open_poll|waitid_pidfd|pdspawn_wait|exitsig0";

const struct sc_method *sc_method_find(const char *name)
{
	for (size_t i = 0; i < sizeof methods / sizeof *methods; i++)
		if (strcmp(methods[i].name, name) == 0)
			return &methods[i];
	return NULL;
}
