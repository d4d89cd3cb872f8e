/* eintr_modes.c: the four ways the EINTR matrix interrupts a blocked call,
 * the blocked party's side of them, and reading a task's sleep from /proc.
 *
 *   handler   SIGUSR1 with a handler installed without SA_RESTART
 *   restart   the same handler with SA_RESTART
 *   stopcont  SIGSTOP then SIGCONT, no handler at all
 *   sigchld   a real child (spawned through the backend) exits; the party
 *             has a SIGCHLD handler without SA_RESTART (a classic parent)
 *             or leaves SIGCHLD at SIG_DFL and would wait on pidfds (a
 *             descriptor-based parent)
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "families/eintr/eintr.h"
#include "lib/names.h"
#include "sys/sys.h"
#include "lib/util.h"

const char *const eintr_mode_names[] = {"handler", "restart", "stopcont", "sigchld"};

static struct eintr_shared *party_sh;

static void on_interrupt(int sig)
{
	(void)sig;
	__atomic_add_fetch(&party_sh->handled, 1, __ATOMIC_SEQ_CST);
}

static void on_wake(int sig)
{
	(void)sig;
	__atomic_add_fetch(&party_sh->woken, 1, __ATOMIC_SEQ_CST);
}

static int handle(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL);
}

int eintr_mode_arm(enum eintr_mode m, int classic_parent, struct eintr_shared *sh)
{
	party_sh = sh;
	/* The wake signal of pause(2)/sigsuspend(2) rows; it only ever
	 * arrives after the interruption was judged. */
	if (handle(EINTR_WAKESIG, on_wake, 0) < 0)
		return -1;
	switch (m) {
	case EM_HANDLER:
		return handle(EINTR_SIG, on_interrupt, 0);
	case EM_RESTART:
		return handle(EINTR_SIG, on_interrupt, SA_RESTART);
	case EM_STOPCONT:
		return 0;
	case EM_SIGCHLD:
		/* No SA_NOCLDSTOP games: the handler just counts.  It does
		 * not reap, so that the wait rows see the child themselves. */
		return classic_parent ? handle(SIGCHLD, on_interrupt, 0) : 0;
	}
	errno = EINVAL;
	return -1;
}

pid_t eintr_spawn_sigchild(const struct backend *be, const char *waiter, int gate_r)
{
	/* `waiter --wait-eof` exits at EOF on its stdin, as cat(1) would: the
	 * controller decides when by closing the gate's write end, the last
	 * one open.  The waiter has no libc: no loader or libc start-up work
	 * in each of the thousand-odd sources a default run spawns. */
	char *argv[] = {(char *)waiter, "--wait-eof", NULL};
	char *envp[] = {"LC_ALL=C", NULL};
	struct spawn_req req;
	spawn_req_stdio(&req, be, waiter, argv, envp);
	/* Its stdin is the gate (the only fd it reads). */
	for (size_t i = 0; i < req.nmap; i++)
		if (req.map[i].dst == 0)
			req.map[i].src = gate_r;
	if (req.nmap == 0)
		req.map[req.nmap++] = (struct sl_fdmap){gate_r, 0};
	struct spawn_res res = {-1, -1, 0, 0};
	if (be->spawn(&req, &res) < 0)
		return -1;
	if (res.err) {
		errno = res.err;
		return -1;
	}
	pid_t pid = res.pid;
	if (pid <= 0 && res.pidfd >= 0)
		pid = sl_pidfd_pid(res.pidfd);
	if (res.pidfd >= 0)
		close(res.pidfd);
	if (pid <= 0) {
		errno = ESRCH;
		return -1;
	}
	return pid;
}

int eintr_proc(pid_t pid, char *state, long *nr)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	char *p = strrchr(buf, ')'); /* the command name may hold anything */
	if (!p || p[1] != ' ')
		return -1;
	*state = p[2];
	*nr = -1;
	snprintf(path, sizeof path, "/proc/%d/task/%d/syscall", (int)pid, (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return *state == 'Z' || *state == 'X' ? 0 : -1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n > 0) {
		buf[n] = 0;
		char *end;
		long v = strtol(buf, &end, 10);
		if (end != buf)
			*nr = v;
	}
	return 0;
}

void eintr_nap(void)
{
	struct timespec ts = {0, 200 * 1000};
	nanosleep(&ts, NULL);
}

int eintr_wait_blocked(pid_t pid, const int nr[2], int allow_restart, struct eintr_shared *sh, uint64_t deadline_ms)
{
	while (mono_ms() < deadline_ms) {
		if (__atomic_load_n(&sh->returned, __ATOMIC_SEQ_CST))
			return 0;
		char st;
		long cur;
		if (__atomic_load_n(&sh->entered, __ATOMIC_SEQ_CST) && eintr_proc(pid, &st, &cur) == 0 && st == 'S' &&
		    ((cur == nr[0] || (nr[1] && cur == nr[1])) || (allow_restart && cur == SYS_restart_syscall)))
			return 1;
		eintr_nap();
	}
	return __atomic_load_n(&sh->returned, __ATOMIC_SEQ_CST) ? 0 : -1;
}

int eintr_wait_state(pid_t pid, char want, uint64_t deadline_ms)
{
	while (mono_ms() < deadline_ms) {
		char st;
		long cur;
		if (eintr_proc(pid, &st, &cur) < 0)
			return want == 'Z' ? 1 : -1;
		if (st == want || (want == 'Z' && st == 'X'))
			return 1;
		eintr_nap();
	}
	return -1;
}
