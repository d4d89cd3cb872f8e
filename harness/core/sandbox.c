/* sandbox.c: see sandbox.h. */
#include "core/sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sys/sys.h"
#include "lib/util.h"

static int decided = -1;
static char why[160];

enum sandbox_kind sandbox_kind(void)
{
	if (decided >= 0)
		return (enum sandbox_kind)decided;
	/* Try it for real: a pid namespace needs CAP_SYS_ADMIN and a kernel
	 * with CONFIG_PID_NS. */
	struct sl_clone_args a;
	memset(&a, 0, sizeof a);
	a.flags = CLONE_NEWPID | CLONE_NEWNS;
	a.exit_signal = SIGCHLD;
	long pid = sl_clone3(&a, SL_CLONE_ARGS_SIZE_VER0);
	if (pid == 0)
		_exit(getpid() == 1 ? 0 : 1);
	if (pid < 0) {
		snprintf(why, sizeof why, "clone3(CLONE_NEWPID|CLONE_NEWNS): %s", strerror(errno));
		decided = SANDBOX_SUBREAPER;
	} else {
		int st;
		while (waitpid((pid_t)pid, &st, 0) < 0 && errno == EINTR)
			;
		decided = WIFEXITED(st) && WEXITSTATUS(st) == 0 ? SANDBOX_PIDNS : SANDBOX_SUBREAPER;
		if (decided != SANDBOX_PIDNS)
			snprintf(why, sizeof why, "child of CLONE_NEWPID was not pid 1");
	}
	return (enum sandbox_kind)decided;
}

const char *sandbox_kind_name(enum sandbox_kind k)
{
	return k == SANDBOX_PIDNS ? "pidns" : "subreaper";
}

const char *sandbox_why(void)
{
	return why;
}

/* Kill every process left under a subreaper init (no pid namespace):
 * walk /proc/self/task/ * /children until none is left, bounded. */
static void kill_descendants(void)
{
	for (int round = 0; round < 100; round++) {
		char path[64];
		snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
		char *kids = read_file(path, 1 << 16, NULL);
		int any = 0;
		for (char *p = kids; p && *p;) {
			char *end;
			long pid = strtol(p, &end, 10);
			if (end == p)
				break;
			if (pid > 0) {
				kill((pid_t)pid, SIGKILL);
				any = 1;
			}
			p = end;
		}
		free(kids);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (!any)
			return;
		usleep(1000);
	}
}

/* The driver's interruption self-pipe (sandbox_interruptible). */
static int stop_pipe[2] = {-1, -1};

int sandbox_interruptible(void)
{
	if (stop_pipe[0] >= 0)
		return 0;
	return pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK);
}

void sandbox_interrupt(void)
{
	int e = errno;
	char c = 1;
	/* Never drained: once interrupted, every later wait sees it.  A full
	 * pipe (EAGAIN) is as good as a written byte. */
	if (stop_pipe[1] >= 0 && write(stop_pipe[1], &c, 1) < 0) {
	}
	errno = e;
}

static int interrupted(void)
{
	struct pollfd pfd = {stop_pipe[0], POLLIN, 0};
	return stop_pipe[0] >= 0 && poll(&pfd, 1, 0) == 1;
}

/* The signals the init waits for with sigtimedwait.  They are blocked in
 * the driver across the clone, so the init is born with them blocked: a
 * SIGTERM from kill_sandbox that arrives before the init's first
 * instruction stays queued for its wait instead of running the driver's
 * inherited handler (which would swallow it and leave the init alive for
 * kill_sandbox's whole grace second). */
static void wake_set(sigset_t *wake)
{
	sigemptyset(wake);
	sigaddset(wake, SIGCHLD);
	sigaddset(wake, SIGTERM);
	sigaddset(wake, SIGINT);
}

static int init_main(int (*body)(void *), void *arg, int lifeline, int pidns, const sigset_t *old)
{
	/* The wake set stays blocked (and queued) from here on: no wake-up
	 * can be lost between a waitpid and the wait.  SIGINT is in it only
	 * so that the driver's handler cannot run here; the terminal's
	 * SIGINT goes to the driver, which stops sandboxes with SIGTERM. */
	sigset_t wake;
	wake_set(&wake);
	signal(SIGCHLD, SIG_DFL);
	close(stop_pipe[0]);
	close(stop_pipe[1]);
	/* If the driver dies, so does the sandbox.  In a pid namespace, SIGKILL
	 * to its init takes everything in it along.  Under a subreaper nothing
	 * would kill the descendants, so the init gets SIGTERM instead and
	 * kills them before it exits.  The lifeline closes when the driver
	 * exits, which catches a driver that died before the prctl. */
	prctl(PR_SET_PDEATHSIG, pidns ? SIGKILL : SIGTERM);
	struct pollfd pfd = {lifeline, POLLIN, 0};
	if (poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLIN)))
		_exit(125);
	/* Its own session and process group: the terminal's signals go to the
	 * driver only, and the case sees ids that live inside the sandbox. */
	setsid();
	if (pidns) {
		/* A private /proc, so that pids under /proc match getpid(). */
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0)
			mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	} else {
		prctl(PR_SET_CHILD_SUBREAPER, 1);
	}
	pid_t self = getpid();
	pid_t body_pid = fork();
	if (body_pid < 0) {
		/* Tell the driver why (RLIMIT_NPROC, pids.max): it reads this
		 * after the init is gone. */
		int e = errno;
		if (write(lifeline, &e, sizeof e) < 0) {
		}
		_exit(124);
	}
	if (body_pid == 0) {
		close(lifeline);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != self) /* the init died before the prctl */
			_exit(125);
		sigprocmask(SIG_SETMASK, old, NULL);
		_exit(body(arg) & 255);
	}
	close(lifeline); /* one fd more for kill_descendants under RLIMIT_NOFILE */
	int code = -1;
	while (code < 0) {
		int st;
		pid_t p = waitpid(-1, &st, WNOHANG);
		if (p == body_pid)
			code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		else if (p > 0)
			continue;
		else if (p < 0 && errno != EINTR)
			code = 124;
		else if (sigtimedwait(&wake, NULL, &(struct timespec){1, 0}) == SIGTERM)
			code = 128 + SIGTERM; /* the driver died or is stopping us */
	}
	if (pidns)
		kill(-1, SIGKILL);
	else
		kill_descendants();
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	_exit(code);
}

/* Wait up to MS for the sandbox init to end; 1 when it has. */
static int wait_end(long pid, int pidfd, int ms)
{
	if (pidfd >= 0) {
		struct pollfd pfd = {pidfd, POLLIN, 0};
		return poll(&pfd, 1, ms) == 1;
	}
	siginfo_t si;
	for (int i = 0; i <= ms; i += 2) {
		memset(&si, 0, sizeof si);
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT | __WALL) < 0 || si.si_pid)
			return 1;
		usleep(2000);
	}
	return 0;
}

/* Kill a sandbox that must end now (timeout, interruption).  In a pid
 * namespace SIGKILL to the init ends it all.  Under a subreaper the init
 * gets SIGTERM first and a second to kill its descendants (which may
 * have left its process group); then SIGKILL to it and its group. */
static void kill_sandbox(long pid, int pidfd, int pidns)
{
	int sig = pidns ? SIGKILL : SIGTERM;
	if (pidfd >= 0)
		sl_pidfd_send_signal(pidfd, sig, NULL, 0);
	else
		kill((pid_t)pid, sig);
	if (pidns || wait_end(pid, pidfd, 1000))
		return;
	if (pidfd >= 0)
		sl_pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
	else
		kill((pid_t)pid, SIGKILL);
	kill(-(pid_t)pid, SIGKILL); /* not reaped yet: its pgid cannot be reused */
}

int sandbox_start(int (*body)(void *), void *arg, int timeout_ms, struct sandbox *sb)
{
	int pidns = sandbox_kind() == SANDBOX_PIDNS;
	int life[2];
	memset(sb, 0, sizeof *sb);
	sb->pidfd = sb->life = -1;
	if (interrupted()) {
		errno = EINTR;
		return -1;
	}
	/* A socket pair, not a pipe: the init may send an errno back. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, life) < 0)
		return -1;
	int pidfd = -1;
	struct sl_clone_args a;
	memset(&a, 0, sizeof a);
	a.flags = CLONE_PIDFD | (pidns ? CLONE_NEWPID | CLONE_NEWNS : 0);
	a.pidfd = (uint64_t)(uintptr_t)&pidfd;
	a.exit_signal = SIGCHLD;
	fflush(NULL);
	sigset_t wake, old;
	wake_set(&wake);
	sigprocmask(SIG_BLOCK, &wake, &old);
	long pid = sl_clone3(&a, SL_CLONE_ARGS_SIZE_VER0);
	if (pid < 0 && (errno == ENOSYS || errno == EINVAL)) {
		pid = fork();
		if (pid > 0)
			pidfd = sl_pidfd_open((pid_t)pid, 0);
	}
	if (pid == 0) {
		close(life[1]);
		init_main(body, arg, life[0], pidns, &old);
	}
	int e = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(life[0]);
	if (pid < 0) {
		close(life[1]);
		errno = e;
		return -1;
	}
	sb->pid = pid;
	sb->pidfd = pidfd;
	sb->life = life[1];
	sb->pidns = pidns;
	sb->deadline_ms = mono_ms() + (uint64_t)timeout_ms;
	return 0;
}

int sandbox_fd(const struct sandbox *sb)
{
	return sb->pidfd;
}

uint64_t sandbox_deadline(const struct sandbox *sb)
{
	return sb->deadline_ms;
}

int sandbox_interrupt_fd(void)
{
	return stop_pipe[0];
}

void sandbox_finish(struct sandbox *sb, struct sandbox_result *res)
{
	long pid = sb->pid;
	int pidfd = sb->pidfd, pidns = sb->pidns;
	uint64_t deadline = sb->deadline_ms;
	memset(res, 0, sizeof *res);
	int done = 0, st = 0;
	while (!done) {
		uint64_t now = mono_ms();
		if (now >= deadline)
			break;
		/* The stop pipe wakes the wait at once: an interrupted run must
		 * not sit out a long unit timeout. */
		struct pollfd pfd[2] = {{pidfd, POLLIN, 0}, {stop_pipe[0], POLLIN, 0}};
		if (pidfd >= 0) {
			int r = poll(pfd, 2, (int)(deadline - now));
			if (r > 0 && pfd[0].revents)
				done = 1;
			else if (r > 0)
				res->interrupted = 1;
			else if (r < 0 && errno != EINTR)
				break;
		} else if (waitpid((pid_t)pid, &st, WNOHANG | __WALL) != 0) {
			done = 2;
		} else if (poll(&pfd[1], 1, 2) > 0) {
			res->interrupted = 1;
		}
		if (res->interrupted)
			break;
	}
	if (!done) {
		res->timed_out = !res->interrupted;
		kill_sandbox(pid, pidfd, pidns);
	}
	if (done != 2)
		while (waitpid((pid_t)pid, &st, 0) < 0 && errno == EINTR)
			;
	if (!pidns && !res->timed_out && !res->interrupted)
		kill(-(pid_t)pid, SIGKILL);
	if (WIFEXITED(st)) {
		res->status = WEXITSTATUS(st);
	} else {
		res->status = -1;
		res->signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	}
	int ie = 0;
	if (recv(sb->life, &ie, sizeof ie, MSG_DONTWAIT) == (ssize_t)sizeof ie)
		res->init_errno = ie;
	if (pidfd >= 0)
		close(pidfd);
	close(sb->life);
	sb->pidfd = sb->life = -1;
}

int sandbox_run(int (*body)(void *), void *arg, int timeout_ms, struct sandbox_result *res)
{
	struct sandbox sb;
	memset(res, 0, sizeof *res);
	if (sandbox_start(body, arg, timeout_ms, &sb) < 0)
		return -1;
	sandbox_finish(&sb, res);
	return 0;
}
