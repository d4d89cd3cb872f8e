/* experiment_pidfd_signal.c: pidfd_send_signal(2) and pidfd_getfd(2)
 * against a child of the backend under test: what siginfo arrives, each
 * error the man pages list, PIDFD_SELF*, and where a clone3 exit signal
 * other than SIGCHLD goes.
 *
 * Kernel rules: kernel/signal.c do_pidfd_send_signal() (a siginfo with
 * si_code >= 0 or SI_TKILL only to oneself; si_signo must equal sig),
 * SYSCALL_DEFINE4(pidfd_send_signal) (EBADF for an fd that is no pidfd,
 * PIDFD_SELF_THREAD/-_THREAD_GROUP); kernel/pid.c __pidfd_fget() (EPERM
 * without ptrace access, ESRCH once the target is exiting); fs/exec.c
 * de_thread() (exec resets the exit signal to SIGCHLD). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "families/experiments.h"
#include "lib/feature.h"
#include "lib/names.h"
#include "families/pidfd/pidfd_kid.h"

#ifndef PIDFD_SELF_THREAD
#define PIDFD_SELF_THREAD (-10000) /* include/uapi/linux/fcntl.h, 6.14 */
#define PIDFD_SELF_THREAD_GROUP (-10001)
#endif

#define VALUE 4242

static const char *en(int e)
{
	return e ? errno_name(e) : "0";
}

static int send_errno(int pidfd, int sig, siginfo_t *info, unsigned flags)
{
	return sl_pidfd_send_signal(pidfd, sig, info, flags) == 0 ? 0 : errno;
}

static const char *si_code_name(int code)
{
	switch (code) {
	case SI_USER:
		return "SI_USER";
	case SI_QUEUE:
		return "SI_QUEUE";
	case SI_TKILL:
		return "SI_TKILL";
	case SI_KERNEL:
		return "SI_KERNEL";
	default:
		return "other";
	}
}

/* A child waiting in sigtimedwait for SIGUSR1; INFO NULL: kill-like. */
static int one_signal(struct step_ctx *ctx, const char *prefix, siginfo_t *info, char *err, size_t errlen)
{
	struct kid k;
	char sig[8];
	snprintf(sig, sizeof sig, "%d", SIGUSR1);
	const char *args[] = {"sigwait", sig, NULL};
	if (kid_spawn(ctx, &k, args, NULL, 0, err, errlen) < 0)
		return -1;
	char line[160], key[96];
	if (kid_line(&k, line, sizeof line, kid_budget(&k, 5000)) < 0 || strncmp(line, "ready", 5) != 0) {
		kid_end(&k);
		return EXP_BROKE(err, errlen, "the child never blocked SIGUSR1 (\"%s\")", line);
	}
	snprintf(key, sizeof key, "%s.ret", prefix);
	obs_put(ctx, key, "%s", en(send_errno(k.pidfd, SIGUSR1, info, 0)));
	int signo, code, e;
	long pid, uid;
	int value;
	if (kid_line(&k, line, sizeof line, kid_budget(&k, 9000)) == 0 &&
	    sscanf(line, "siginfo %d %d %ld %ld %d %d", &signo, &code, &pid, &uid, &value, &e) == 6) {
#define PUT(field, ...)                                                 \
	do {                                                            \
		snprintf(key, sizeof key, "%s.%s", prefix, field);      \
		obs_put(ctx, key, __VA_ARGS__);                         \
	} while (0)
		PUT("si_signo", "%s", sig_name(signo) ? sig_name(signo) : "?");
		PUT("si_code", "%s", si_code_name(code));
		PUT("si_pid", "%ld", pid);
		PUT("si_uid", "%ld", uid);
		PUT("si_errno", "%d", e);
		if (code == SI_QUEUE)
			PUT("si_value", "%d", value);
#undef PUT
	} else {
		snprintf(key, sizeof key, "%s.si_signo", prefix);
		obs_put(ctx, key, "none");
	}
	kid_end(&k);
	return 0;
}

static int sc_user(struct step_ctx *ctx, char *err, size_t errlen)
{
	obs_put(ctx, "spawner.pid", "%ld", (long)getpid());
	obs_put(ctx, "spawner.uid", "%ld", (long)getuid());
	return one_signal(ctx, "user", NULL, err, errlen);
}

/* rt_sigqueueinfo(2): si_pid and si_uid are the caller's to set; a
 * negative si_code other than SI_TKILL may go to any process. */
static int sc_queue(struct step_ctx *ctx, char *err, size_t errlen)
{
	siginfo_t info;
	memset(&info, 0, sizeof info);
	info.si_signo = SIGUSR1;
	info.si_code = SI_QUEUE;
	info.si_pid = 4321;
	info.si_uid = 999;
	info.si_value.sival_int = VALUE;
	return one_signal(ctx, "queue", &info, err, errlen);
}

struct send_arg {
	int pidfd, fd, op; /* op 0: pidfd_send_signal(pidfd, 0); 1: pidfd_getfd(pidfd, fd) */
};

static int as_caller(void *p)
{
	const struct send_arg *a = p;
	if (a->op == 0)
		return send_errno(a->pidfd, 0, NULL, 0);
	int g = sl_pidfd_getfd(a->pidfd, a->fd, 0);
	return g >= 0 ? 0 : errno;
}

static int sc_errors(struct step_ctx *ctx, char *err, size_t errlen)
{
	struct kid k;
	const char *args[] = {"hold", "0", NULL};
	if (kid_spawn(ctx, &k, args, NULL, 0, err, errlen) < 0)
		return -1;
	siginfo_t info;
	memset(&info, 0, sizeof info);
	info.si_signo = SIGUSR2;
	info.si_code = SI_QUEUE;
	obs_put(ctx, "err.signo_mismatch", "%s", en(send_errno(k.pidfd, SIGUSR1, &info, 0)));
	info.si_signo = SIGUSR1;
	info.si_code = SI_USER;
	obs_put(ctx, "err.si_code_user", "%s", en(send_errno(k.pidfd, SIGUSR1, &info, 0)));
	info.si_code = SI_TKILL;
	obs_put(ctx, "err.si_code_tkill", "%s", en(send_errno(k.pidfd, SIGUSR1, &info, 0)));
	obs_put(ctx, "err.bad_flags", "%s", en(send_errno(k.pidfd, 0, NULL, 1U << 30)));
	obs_put(ctx, "err.bad_signal", "%s", en(send_errno(k.pidfd, 65, NULL, 0)));
	obs_put(ctx, "err.closed_fd", "%s", en(send_errno(1000, 0, NULL, 0)));
	int dn = open("/dev/null", O_RDONLY | O_CLOEXEC);
	obs_put(ctx, "err.not_pidfd", "%s", en(send_errno(dn, 0, NULL, 0)));
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld", (long)k.pid);
	int pd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	obs_put(ctx, "err.proc_dir_fd", "%s", pd < 0 ? "unopenable" : en(send_errno(pd, 0, NULL, 0)));
	struct send_arg a = {k.pidfd, 0, 0};
	int e = kid_as_nobody(as_caller, &a);
	obs_put(ctx, "err.unprivileged", "%s", e < 0 ? "broke" : en(e));
	obs_put(ctx, "err.null_signal", "%s", en(send_errno(k.pidfd, 0, NULL, 0)));
	close(k.rel);
	k.rel = -1;
	kid_state(k.pid, 'Z', kid_budget(&k, 5000));
	obs_put(ctx, "err.zombie", "%s", en(send_errno(k.pidfd, SIGUSR1, NULL, 0)));
	int status;
	kid_reap(&k, &status);
	obs_put(ctx, "err.reaped", "%s", en(send_errno(k.pidfd, SIGUSR1, NULL, 0)));
	if (dn >= 0)
		close(dn);
	if (pd >= 0)
		close(pd);
	kid_end(&k);
	return e < 0 ? EXP_BROKE(err, errlen, "the unprivileged helper") : 0;
}

/* PIDFD_SELF_THREAD and PIDFD_SELF_THREAD_GROUP (include/uapi/linux/
 * fcntl.h): no fd at all; a queued SIGUSR2 to ourselves carries its value. */
static int sc_self(struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	obs_put(ctx, "self.thread", "%s", en(send_errno(PIDFD_SELF_THREAD, 0, NULL, 0)));
	obs_put(ctx, "self.process", "%s", en(send_errno(PIDFD_SELF_THREAD_GROUP, 0, NULL, 0)));
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, &old);
	siginfo_t info;
	memset(&info, 0, sizeof info);
	info.si_signo = SIGUSR2;
	info.si_code = SI_QUEUE;
	info.si_pid = getpid();
	info.si_value.sival_int = VALUE;
	int e = send_errno(PIDFD_SELF_THREAD_GROUP, SIGUSR2, &info, 0);
	obs_put(ctx, "self.queue", "%s", en(e));
	if (e == 0) {
		struct timespec ts = {2, 0};
		siginfo_t got;
		int s = sigtimedwait(&set, &got, &ts);
		obs_put(ctx, "self.queue_value", "%d", s == SIGUSR2 ? got.si_value.sival_int : -1);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return 0;
}

/* The exit signal a clone3 caller chose: raised at the parent when the
 * child exits without exec; exec resets it to SIGCHLD (fs/exec.c
 * de_thread).  A child whose exit signal is not SIGCHLD is a "clone" child
 * that wait without __WCLONE/__WALL does not see (kernel/exit.c
 * eligible_child).  The backend does not matter: clone3 is called here. */
static int exit_signal_run(struct step_ctx *ctx, const char *prefix, int do_exec, char *err, size_t errlen)
{
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &old);
	char *prog = exp_program(ctx, "pidfd-child");
	int pidfd = -1;
	struct sl_clone_args a;
	memset(&a, 0, sizeof a);
	a.flags = CLONE_PIDFD;
	a.pidfd = (uint64_t)(uintptr_t)&pidfd;
	a.exit_signal = SIGUSR2;
	long pid = sl_clone3(&a, sizeof a);
	if (pid == 0) {
		if (do_exec) {
			/* fd 3 closed in the child: hold returns at once with 0. */
			close(3);
			close(4);
			char *av[] = {prog, "hold", "0", NULL}, *ev[] = {NULL};
			execve(prog, av, ev);
		}
		_exit(0);
	}
	free(prog);
	if (pid < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		return EXP_BROKE(err, errlen, "clone3(CLONE_PIDFD, exit_signal SIGUSR2)");
	}
	kid_poll(pidfd, 5000);
	struct timespec ts = {2, 0};
	siginfo_t si;
	memset(&si, 0, sizeof si);
	int got = sigtimedwait(&set, &si, &ts);
	char key[96];
	snprintf(key, sizeof key, "%s.signal", prefix);
	obs_put(ctx, key, "%s", got > 0 ? sig_name(got) : "none");
	if (got > 0) {
		snprintf(key, sizeof key, "%s.si_code", prefix);
		obs_put(ctx, key, "%s", si.si_code == CLD_EXITED ? "CLD_EXITED" : "other");
		snprintf(key, sizeof key, "%s.si_pid_is_child", prefix);
		obs_put(ctx, key, "%s", si.si_pid == pid ? "yes" : "no");
	}
	sigset_t pend;
	sigpending(&pend);
	snprintf(key, sizeof key, "%s.other_pending", prefix);
	int other = got == SIGCHLD ? SIGUSR2 : SIGCHLD;
	obs_put(ctx, key, "%s", sigismember(&pend, other) ? sig_name(other) : "none");
	int st;
	pid_t w = waitpid((pid_t)pid, &st, WNOHANG);
	snprintf(key, sizeof key, "%s.waitpid_plain", prefix);
	obs_put(ctx, key, "%s", w == pid ? "reaped" : w == 0 ? "running" : errno_name(errno));
	if (w != pid) {
		w = waitpid((pid_t)pid, &st, __WCLONE | WNOHANG);
		snprintf(key, sizeof key, "%s.waitpid_wclone", prefix);
		obs_put(ctx, key, "%s", w == pid ? "reaped" : w == 0 ? "running" : errno_name(errno));
	}
	if (w != pid)
		waitpid((pid_t)pid, &st, __WALL);
	if (pidfd >= 0)
		close(pidfd);
	/* Drain what is still pending before the mask goes back. */
	struct timespec zero = {0, 0};
	while (sigtimedwait(&set, &si, &zero) > 0)
		;
	sigprocmask(SIG_SETMASK, &old, NULL);
	return 0;
}

static int sc_exit_signal(struct step_ctx *ctx, char *err, size_t errlen)
{
	if (!feature_has("clone_pidfd")) {
		snprintf(err, errlen, "clone3 with CLONE_PIDFD is not available here");
		return STEP_UNSUPPORTED;
	}
	int r = exit_signal_run(ctx, "noexec", 0, err, errlen);
	return r ? r : exit_signal_run(ctx, "exec", 1, err, errlen);
}

/* pidfd_getfd: the child holds the spawner's file at fd 10. */
static int sc_getfd(struct step_ctx *ctx, char *err, size_t errlen)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/getfd", ctx->tmp);
	int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (f < 0)
		return EXP_BROKE(err, errlen, "open %s", path);
	struct kid k;
	const char *args[] = {"hold", "0", NULL};
	struct kid_fd extra = {f, 10};
	if (kid_spawn(ctx, &k, args, &extra, 1, err, errlen) < 0) {
		close(f);
		return -1;
	}
	int g = sl_pidfd_getfd(k.pidfd, 10, 0);
	obs_put(ctx, "getfd.ret", "%s", g >= 0 ? "fd" : errno_name(errno));
	if (g >= 0) {
		/* The same open file description: one offset for both. */
		lseek(g, 123, SEEK_SET);
		obs_put(ctx, "getfd.same_ofd", "%s", lseek(f, 0, SEEK_CUR) == 123 ? "yes" : "no");
		int fdfl = fcntl(g, F_GETFD);
		obs_put(ctx, "getfd.cloexec", "%s", fdfl >= 0 && (fdfl & FD_CLOEXEC) ? "yes" : "no");
		close(g);
	}
	g = sl_pidfd_getfd(k.pidfd, 50, 0);
	obs_put(ctx, "getfd.target_not_open", "%s", g >= 0 ? "fd" : errno_name(errno));
	g = sl_pidfd_getfd(k.pidfd, 10, 1);
	obs_put(ctx, "getfd.bad_flags", "%s", g >= 0 ? "fd" : errno_name(errno));
	g = sl_pidfd_getfd(f, 10, 0);
	obs_put(ctx, "getfd.not_pidfd", "%s", g >= 0 ? "fd" : errno_name(errno));
	struct send_arg a = {k.pidfd, 10, 1};
	int e = kid_as_nobody(as_caller, &a);
	obs_put(ctx, "getfd.unprivileged", "%s", e < 0 ? "broke" : en(e));
	close(k.rel);
	k.rel = -1;
	kid_state(k.pid, 'Z', kid_budget(&k, 5000));
	g = sl_pidfd_getfd(k.pidfd, 10, 0);
	obs_put(ctx, "getfd.zombie", "%s", g >= 0 ? "fd" : errno_name(errno));
	int status;
	kid_reap(&k, &status);
	g = sl_pidfd_getfd(k.pidfd, 10, 0);
	obs_put(ctx, "getfd.reaped", "%s", g >= 0 ? "fd" : errno_name(errno));
	close(f);
	kid_end(&k);
	return e < 0 ? EXP_BROKE(err, errlen, "the unprivileged helper") : 0;
}

static const struct exp_scenario scenarios[] = {
	{"user", sc_user, "pidfd_send_signal"},   {"queue", sc_queue, "pidfd_send_signal"},
	{"errors", sc_errors, "pidfd_send_signal"}, {"self", sc_self, "pidfd_self"},
	{"exit_signal", sc_exit_signal, NULL},    {"getfd", sc_getfd, "pidfd_getfd"},
};

const char pidfd_signal_scenarios[] = "user|queue|errors|self|exit_signal|getfd";

/* The arguments of `run pidfd_signal`, named where the spec below declares them. */
enum { PIDFD_SIGNAL_SCENARIO };

static int exp_pidfd_signal(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)iv;
	return exp_run_scenario(scenarios, sizeof scenarios / sizeof *scenarios, "pidfd_signal.scenario", sv[PIDFD_SIGNAL_SCENARIO], ctx,
				err, errlen);
}

/* The experiment kinds of this file (the families' registry lists them). */
const struct step_kind pidfd_signal_kinds[] = {
	{.name = "pidfd_signal",
	 .summary = "pidfd_send_signal and pidfd_getfd on a backend's child: siginfo, errors, exit signals",
	 .args = {[PIDFD_SIGNAL_SCENARIO] = {"scenario", ARG_CHOICE, 1, NULL, pidfd_signal_scenarios}},
	 .run = exp_pidfd_signal,
	 .keys = "err.{bad_flags,bad_signal,closed_fd,not_pidfd,null_signal,proc_dir_fd,reaped,si_code_tkill,si_code_user,signo_mismatch,unprivileged,zombie} "
		 "exec.{other_pending,si_code,si_pid_is_child,signal,waitpid_plain} "
		 "getfd.{bad_flags,cloexec,not_pidfd,reaped,ret,same_ofd,target_not_open,unprivileged,zombie} "
		 "kid.{ns_pid,pid,pidfd_from} "
		 "noexec.{other_pending,si_code,si_pid_is_child,signal,waitpid_plain,waitpid_wclone} "
		 "pidfd_signal.scenario queue.{ret,si_code,si_errno,si_pid,si_signo,si_uid,si_value} "
		 "self.{process,queue,queue_value,thread} spawner.uid "
		 "user.{ret,si_code,si_errno,si_pid,si_signo,si_uid}"},
	{0},
};
