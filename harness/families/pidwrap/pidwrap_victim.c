/* pidwrap_victim.c: the unrelated process that a recycled pid comes to
 * name.  It reports every SIGUSR1 and SIGUSR2 it receives, with the
 * sender's pid, so that a signal sent to a stale pid is observed where it
 * lands rather than inferred from a return value. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/names.h"
#include "families/pidwrap/pidwrap.h"
#include "sys/sys.h"

#define VICTIM_NAME "pidwrap-victim"

struct victim_rec {
	int sig;
	int sender;
};

int victim_prepare(struct victim *v, char *err, size_t errlen)
{
	memset(v, 0, sizeof *v);
	v->pidfd = -1;
	v->pid = -1;
	v->exit_code = 77;
	if (pipe2(v->rep, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe2: %s", errno_name(errno));
		return -1;
	}
	return 0;
}

int victim_main(void *arg)
{
	struct victim *v = arg;
	close(v->rep[0]);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_NAME, VICTIM_NAME, 0, 0, 0);
	/* W blocked these before the fork, so nothing sent before this point
	 * is lost; blocking again keeps the victim correct on its own. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	struct victim_rec ready = {0, 0};
	if (write_all(v->rep[1], &ready, sizeof ready) < 0)
		return 1;
	while (mono_ms() < v->deadline_ms) {
		struct timespec ts = {0, 100 * 1000 * 1000};
		siginfo_t si;
		int sig = sigtimedwait(&set, &si, &ts);
		if (sig < 0)
			continue; /* EAGAIN (timeout) or EINTR */
		if (sig == SIGTERM)
			return v->exit_code;
		struct victim_rec r = {sig, si.si_pid};
		if (write_all(v->rep[1], &r, sizeof r) < 0)
			return 1;
	}
	return 2;
}

/* Read one record within BUDGET_MS: 1, 0 on timeout, -1 on EOF/error. */
static int victim_read(struct victim *v, int budget_ms, struct victim_rec *r)
{
	struct pollfd p = {v->rep[0], POLLIN, 0};
	int n;
	do
		n = poll(&p, 1, budget_ms);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n;
	ssize_t got;
	do
		got = read(v->rep[0], r, sizeof *r);
	while (got < 0 && errno == EINTR);
	return got == (ssize_t)sizeof *r ? 1 : -1;
}

int victim_ready(struct victim *v, int budget_ms, char *err, size_t errlen)
{
	close(v->rep[1]);
	v->rep[1] = -1;
	struct victim_rec r;
	int got = victim_read(v, budget_ms, &r);
	if (got != 1 || r.sig != 0) {
		snprintf(err, errlen, "the victim (pid %d) did not say it was ready", (int)v->pid);
		return -1;
	}
	/* Race-free: the victim is W's child and only W reaps. */
	v->pidfd = sl_pidfd_open(v->pid, 0);
	if (v->pidfd < 0) {
		snprintf(err, errlen, "pidfd_open(victim %d): %s", (int)v->pid, errno_name(errno));
		return -1;
	}
	return 0;
}

void victim_since_marker(struct victim *v, int budget_ms, char *buf, size_t len, pid_t *sender)
{
	*sender = 0;
	snprintf(buf, len, "none");
	if (sl_pidfd_send_signal(v->pidfd, SIGUSR2, NULL, 0) < 0) {
		snprintf(buf, len, "marker:%s", errno_name(errno));
		return;
	}
	/* Standard signals pending together are taken lowest first, and a
	 * signal sent before the marker was queued before it (the send is
	 * synchronous), so everything before SIGUSR2 arrived before it. */
	size_t used = 0;
	uint64_t deadline = mono_ms() + (uint64_t)budget_ms;
	for (;;) {
		uint64_t now = mono_ms();
		struct victim_rec r;
		if (now >= deadline || victim_read(v, (int)(deadline - now), &r) != 1) {
			snprintf(buf, len, "noreply");
			return;
		}
		if (r.sig == SIGUSR2)
			return;
		*sender = r.sender;
		used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s", used ? "," : "",
					 sig_name(r.sig));
	}
}

void victim_end(struct victim *v, int budget_ms)
{
	if (v->pidfd >= 0) {
		sl_pidfd_send_signal(v->pidfd, SIGTERM, NULL, 0);
		struct pollfd p = {v->pidfd, POLLIN, 0};
		while (poll(&p, 1, budget_ms) < 0 && errno == EINTR)
			;
		if (!(p.revents & POLLIN))
			sl_pidfd_send_signal(v->pidfd, SIGKILL, NULL, 0);
		siginfo_t si;
		/* ECHILD when the scenario reaped it already (waitpid_stale). */
		while (waitid((idtype_t)P_PIDFD, (id_t)v->pidfd, &si, WEXITED | __WALL) < 0 && errno == EINTR)
			;
		close(v->pidfd);
	} else if (v->pid > 0) {
		kill(v->pid, SIGKILL);
		while (waitpid(v->pid, NULL, __WALL) < 0 && errno == EINTR)
			;
	}
	for (int i = 0; i < 2; i++)
		if (v->rep[i] >= 0)
			close(v->rep[i]);
	v->pidfd = v->rep[0] = v->rep[1] = -1;
}
