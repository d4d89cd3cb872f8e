/* pidfd_child: the child the pidfd experiments spawn through each backend
 * (experiment_pidfd_*.c, experiment_threads.c).  Static like the probe, so
 * that its exec opens nothing.  The driver maps two pipes: fd 3, whose EOF
 * releases the child, and fd 4, where it reports one line per event.
 *
 * usage: pidfd-child hold CODE             exit CODE at EOF on fd 3
 *        pidfd-child sigwait SIG           block SIG, report "ready", then the
 *                                          siginfo of one SIG; exit 0 at EOF
 *        pidfd-child core                  at EOF on fd 3, SIGQUIT itself
 *                                          (default action: core dump)
 *        pidfd-child leader_exit CODE      a thread reports its tid, the
 *                                          leader exits alone; the thread
 *                                          calls exit(CODE) at EOF on fd 3
 *        pidfd-child thread_exit CODE      a thread reports its tid and exits
 *                                          alone at EOF on fd 5; the process
 *                                          exits CODE at EOF on fd 3
 *        pidfd-child thread_exec PROG OUT  a thread reports its tid; at EOF
 *                                          on fd 3 it execs PROG --out OUT
 *                                          --sleep-ms 400
 *        pidfd-child foreign FD            report what PIDFD_GET_INFO and
 *                                          pidfd_send_signal(0) answer for
 *                                          pidfd FD; exit 0 at EOF
 * Every mode first reports "pid N" (getpid(), in the child's namespace).
 * Exit 120 + n when set-up step n failed. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sys/sys.h"

#define REL_FD 3
#define REP_FD 4
#define REL2_FD 5

static void wait_eof(int fd)
{
	char b;
	ssize_t n;
	while ((n = read(fd, &b, 1)) > 0 || (n < 0 && errno == EINTR))
		;
}

__attribute__((format(printf, 1, 2))) static void report(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof buf)
		while (write(REP_FD, buf, (size_t)n) < 0 && errno == EINTR)
			;
}

static long tid(void)
{
	return syscall(SYS_gettid);
}

static int code;
static char **exec_argv;

static void *leader_exit_thread(void *arg)
{
	(void)arg;
	report("tid %ld\n", tid());
	wait_eof(REL_FD);
	exit(code);
}

static void *thread_exit_thread(void *arg)
{
	(void)arg;
	report("tid %ld\n", tid());
	wait_eof(REL2_FD);
	syscall(SYS_exit, 0); /* this thread only */
	return NULL;
}

static void *thread_exec_thread(void *arg)
{
	(void)arg;
	report("tid %ld\n", tid());
	wait_eof(REL_FD);
	execv(exec_argv[0], exec_argv);
	report("exec %d\n", errno);
	_exit(127);
}

static int start(void *(*fn)(void *))
{
	pthread_t t;
	return pthread_create(&t, NULL, fn, NULL) == 0 ? 0 : -1;
}

static int sigwait_mode(int sig)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return 121;
	report("ready %ld\n", (long)getpid());
	siginfo_t si;
	struct timespec ts = {8, 0};
	int r;
	do
		r = sigtimedwait(&set, &si, &ts);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		report("siginfo none %d\n", errno);
	else
		report("siginfo %d %d %ld %ld %d %d\n", si.si_signo, si.si_code, (long)si.si_pid, (long)si.si_uid,
		       si.si_value.sival_int, si.si_errno);
	wait_eof(REL_FD);
	return 0;
}

static int core_mode(void)
{
	/* Small and bounded: the probe-sized core of a static program. */
	struct rlimit rl = {64 << 20, 64 << 20};
	if (setrlimit(RLIMIT_CORE, &rl) < 0)
		return 121;
	signal(SIGQUIT, SIG_DFL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGQUIT);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	wait_eof(REL_FD);
	raise(SIGQUIT);
	return 122;
}

/* The calls a process in another pid namespace makes on a pidfd of ours. */
static int foreign_mode(int fd)
{
	struct sl_pidfd_info info;
	memset(&info, 0, sizeof info);
	int ie = ioctl(fd, SL_PIDFD_GET_INFO, &info) == 0 ? 0 : errno;
	int se = syscall(__NR_pidfd_send_signal, fd, 0, NULL, 0) == 0 ? 0 : errno;
	report("foreign %d %d %u\n", ie, se, info.pid);
	wait_eof(REL_FD);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		goto usage;
	report("pid %ld\n", (long)getpid());
	const char *m = argv[1];
	if (argc == 3)
		code = atoi(argv[2]) & 255;
	if (strcmp(m, "hold") == 0 && argc == 3) {
		wait_eof(REL_FD);
		return code;
	}
	if (strcmp(m, "sigwait") == 0 && argc == 3)
		return sigwait_mode(atoi(argv[2]));
	if (strcmp(m, "foreign") == 0 && argc == 3)
		return foreign_mode(atoi(argv[2]));
	if (strcmp(m, "core") == 0 && argc == 2)
		return core_mode();
	if (strcmp(m, "leader_exit") == 0 && argc == 3) {
		if (start(leader_exit_thread) < 0)
			return 121;
		syscall(SYS_exit, 0); /* the leader alone: the thread group lives on */
	}
	if (strcmp(m, "thread_exit") == 0 && argc == 3) {
		if (start(thread_exit_thread) < 0)
			return 121;
		wait_eof(REL_FD);
		return code;
	}
	if (strcmp(m, "thread_exec") == 0 && argc == 4) {
		/* The probe reports, then stays a while: its pid is watched. */
		static char *av[6];
		av[0] = argv[2];
		av[1] = "--out";
		av[2] = argv[3];
		av[3] = "--sleep-ms";
		av[4] = "400";
		exec_argv = av;
		if (start(thread_exec_thread) < 0)
			return 121;
		for (;;)
			pause(); /* killed by the exec (de_thread) */
	}
usage:
	fprintf(stderr, "usage: pidfd-child hold CODE | sigwait SIG | core | leader_exit CODE | thread_exit CODE"
			" | thread_exec PROG OUT | foreign FD\n");
	return 2;
}
