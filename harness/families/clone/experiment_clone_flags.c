/* experiment_clone_flags.c: the clone3 flags the kernel has grown since
 * clone(2), one row each: whether this kernel knows the flag (a kernel
 * without it answers EINVAL, kernel/fork.c clone3_args_valid), and where it
 * does, what it does, checked.  A flag this kernel lacks makes the unit a
 * skip that names the kernel version and commit that added it.
 *
 * Children are created by clone3 here, not by the backend: the flags are
 * the subject.  Calls that must be refused (a flag with CLONE_THREAD) run in
 * a throwaway helper, so that a kernel that accepted one could not harm
 * the spawner.  Values and semantics: include/uapi/linux/sched.h and
 * kernel/fork.c copy_process(), kernel/signal.c do_notify_parent(),
 * fs/pidfs.c pidfs_file_release() of Linux 7.2. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "families/experiments.h"
#include "core/kv.h"
#include "lib/names.h"
#include "families/pidfd/pidfd_kid.h"

#ifndef CLONE_AUTOREAP
#define CLONE_AUTOREAP (1ULL << 34)
#endif
#ifndef CLONE_NNP
#define CLONE_NNP (1ULL << 35)
#endif
#ifndef CLONE_PIDFD_AUTOKILL
#define CLONE_PIDFD_AUTOKILL (1ULL << 36)
#endif
#ifndef CLONE_EMPTY_MNTNS
#define CLONE_EMPTY_MNTNS (1ULL << 37)
#endif
#define CLONE_FIRST_UNKNOWN (1ULL << 38) /* the lowest bit no kernel defines (7.2) */

#define WAIT_MS 5000

struct clone_flag {
	const char *name;
	uint64_t value;
	const char *since; /* kernel version that added it */
	const char *commit;
	int (*check)(struct step_ctx *ctx, const struct clone_flag *f, char *err, size_t errlen);
};

/* clone3 with FLAGS, exit signal SIG, CLONE_PIDFD when PIDFD; in the child
 * (returns 0) the caller goes on as after fork. */
static long c3(uint64_t flags, int sig, int *pidfd)
{
	struct sl_clone_args a;
	memset(&a, 0, sizeof a);
	a.flags = flags | (pidfd ? CLONE_PIDFD : 0);
	a.pidfd = (uint64_t)(uintptr_t)pidfd;
	a.exit_signal = (uint64_t)sig;
	return sl_clone3(&a, sizeof a);
}

/* Reap PID (bounded); the exit status, or -1 (killed after the wait). */
static int reap_status(pid_t pid, int pidfd)
{
	if (pidfd >= 0 && kid_poll(pidfd, WAIT_MS) <= 0)
		kill(pid, SIGKILL);
	int st;
	while (waitpid(pid, &st, __WALL) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* errno of clone3(FLAGS, SIG), tried in a throwaway helper; 0 if a child
 * was created (it exits at once). */
static int refused(uint64_t flags, int sig)
{
	pid_t h = fork();
	if (h < 0)
		return -1;
	if (h == 0) {
		long r = c3(flags, sig, NULL);
		if (r == 0)
			_exit(0);
		_exit(r > 0 ? 0 : (errno & 255));
	}
	int st;
	while (waitpid(h, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void put_err(struct step_ctx *ctx, const char *key, int e)
{
	obs_put(ctx, key, "%s", e < 0 ? "broke" : e ? errno_name(e) : "0");
}

/* The flag alone (with CLONE_PIDFD and exit signal 0 for the pidfd flags):
 * is it known here?  0 known, STEP_UNSUPPORTED with the reason. */
static int known(struct step_ctx *ctx, const struct clone_flag *f, uint64_t with, char *err, size_t errlen)
{
	int pidfd = -1;
	long pid = c3(f->value | with, with ? 0 : SIGCHLD, with & CLONE_PIDFD ? &pidfd : NULL);
	if (pid == 0)
		_exit(0);
	int e = errno;
	if (pid > 0) {
		if (!(with & CLONE_AUTOREAP))
			reap_status((pid_t)pid, pidfd);
		else
			kid_poll(pidfd, WAIT_MS);
		if (pidfd >= 0)
			close(pidfd);
		obs_put(ctx, "flag.known", "yes");
		return 0;
	}
	obs_put(ctx, "flag.known", "%s", errno_name(e));
	snprintf(err, errlen, "clone3(CLONE_%s=0x%llx) -> %s: not in this kernel (added in Linux %s, commit %s)",
		 f->name, (unsigned long long)f->value, errno_name(e), f->since, f->commit);
	return e == EINVAL || e == E2BIG || e == ENOSYS ? STEP_UNSUPPORTED : -1;
}

/* ---- the checks ---- */

static int ck_newtime(struct step_ctx *ctx, const struct clone_flag *f, char *err, size_t errlen)
{
	char mine[64] = "";
	if (readlink("/proc/self/ns/time", mine, sizeof mine - 1) < 0) {
		snprintf(err, errlen, "/proc/self/ns/time: %s (no time namespaces)", errno_name(errno));
		return STEP_UNSUPPORTED;
	}
	int r = known(ctx, f, 0, err, errlen);
	if (r)
		return r;
	/* The clone3 child is in a new time namespace... */
	long pid = c3(CLONE_NEWTIME, SIGCHLD, NULL);
	if (pid == 0) {
		char his[64] = "";
		_exit(readlink("/proc/self/ns/time", his, sizeof his - 1) > 0 && strcmp(his, mine) != 0 ? 0 : 1);
	}
	obs_put(ctx, "newtime.child_ns", "%s", pid > 0 && reap_status((pid_t)pid, -1) == 0 ? "new" : "same");
	/* ...and time_namespaces(7): offsets written before the first process
	 * enters apply to it.  A helper unshares, so the spawner keeps its own. */
	struct timespec before;
	clock_gettime(CLOCK_MONOTONIC, &before);
	pid_t h = fork();
	if (h == 0) {
		if (unshare(CLONE_NEWTIME) < 0)
			_exit(2);
		if (write_path("/proc/self/timens_offsets", "monotonic 86400 0\n", 18) < 0)
			_exit(3);
		pid_t g = fork();
		if (g == 0) {
			struct timespec now;
			clock_gettime(CLOCK_MONOTONIC, &now);
			_exit(now.tv_sec - before.tv_sec >= 86400 ? 0 : 1);
		}
		int st;
		while (waitpid(g, &st, 0) < 0 && errno == EINTR)
			;
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 4);
	}
	int code = h > 0 ? reap_status(h, -1) : -1;
	obs_put(ctx, "newtime.offset_seen", "%s", code == 0 ? "yes" : code == 1 ? "no" : "broke");
	return code == 0 || code == 1 ? 0 : EXP_BROKE(err, errlen, "time namespace helper (exit %d)", code);
}

static void on_usr1(int sig)
{
	(void)sig;
}

static int ck_clear_sighand(struct step_ctx *ctx, const struct clone_flag *f, char *err, size_t errlen)
{
	int r = known(ctx, f, 0, err, errlen);
	if (r)
		return r;
	struct sigaction sa, o1, o2;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, &o1);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGUSR2, &sa, &o2);
	long pid = c3(CLONE_CLEAR_SIGHAND, SIGCHLD, NULL);
	if (pid == 0) {
		struct sigaction a1, a2;
		sigaction(SIGUSR1, NULL, &a1);
		sigaction(SIGUSR2, NULL, &a2);
		_exit((a1.sa_handler == SIG_DFL ? 0 : 1) | (a2.sa_handler == SIG_IGN ? 0 : 2));
	}
	int code = pid > 0 ? reap_status((pid_t)pid, -1) : -1;
	sigaction(SIGUSR1, &o1, NULL);
	sigaction(SIGUSR2, &o2, NULL);
	if (code < 0 || code > 3)
		return EXP_BROKE(err, errlen, "clone3(CLONE_CLEAR_SIGHAND) child (exit %d)", code);
	obs_put(ctx, "clear_sighand.handled", "%s", code & 1 ? "handle" : "default");
	obs_put(ctx, "clear_sighand.ignored", "%s", code & 2 ? "default" : "ignore");
	put_err(ctx, "clear_sighand.with_sighand", refused(CLONE_CLEAR_SIGHAND | CLONE_SIGHAND | CLONE_VM, SIGCHLD));
	return 0;
}

static int ck_into_cgroup(struct step_ctx *ctx, const struct clone_flag *f, char *err, size_t errlen)
{
	(void)f;
	(void)err;
	(void)errlen;
	/* Placement itself is the posix_spawn family's (POSIX_SPAWN_SETCGROUP);
	 * here: the flag is known, so the cgroup fd is checked (EBADF). */
	struct sl_clone_args a;
	memset(&a, 0, sizeof a);
	a.flags = CLONE_INTO_CGROUP;
	a.exit_signal = SIGCHLD;
	a.cgroup = 1000;
	long pid = sl_clone3(&a, sizeof a);
	if (pid == 0)
		_exit(0);
	if (pid > 0)
		reap_status((pid_t)pid, -1);
	obs_put(ctx, "flag.known", "%s", pid < 0 && errno == EBADF ? "yes" : pid < 0 ? errno_name(errno) : "created");
	obs_put(ctx, "into_cgroup.bad_fd", "%s", pid < 0 ? errno_name(errno) : "created");
	return 0;
}

/* An autoreaped child that execs and exits 42: never waitable, no signal to
 * the parent even though exec reset its exit signal to SIGCHLD, exit status
 * through PIDFD_GET_INFO. */
static int ck_autoreap(struct step_ctx *ctx, const struct clone_flag *f, char *err, size_t errlen)
{
	int r = known(ctx, f, CLONE_PIDFD | CLONE_AUTOREAP, err, errlen);
	if (r)
		return r;
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &old);
	struct timespec zero = {0, 0};
	siginfo_t si;
	while (sigtimedwait(&set, &si, &zero) > 0)
		;
	char *prog = exp_program(ctx, "pidfd-child");
	int pidfd = -1;
	long pid = c3(CLONE_AUTOREAP, 0, &pidfd);
	if (pid == 0) {
		close(3); /* hold: EOF (EBADF) at once, exit 42 */
		char *av[] = {prog, "hold", "42", NULL}, *ev[] = {NULL};
		execve(prog, av, ev);
		_exit(127);
	}
	free(prog);
	if (pid < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		return EXP_BROKE(err, errlen, "clone3(CLONE_PIDFD|CLONE_AUTOREAP)");
	}
	put_err(ctx, "autoreap.poll", kid_poll(pidfd, WAIT_MS) > 0 ? 0 : ETIMEDOUT);
	struct sl_pidfd_info info;
	memset(&info, 0, sizeof info);
	info.mask = SL_PIDFD_INFO_EXIT;
	int e = kid_get_info(pidfd, &info, sizeof info);
	if (e || !(info.mask & SL_PIDFD_INFO_EXIT))
		obs_put(ctx, "autoreap.info_exit", "%s", e ? errno_name(e) : "no_exit");
	else
		obs_put(ctx, "autoreap.info_exit", "exit %d", WEXITSTATUS(info.exit_code));
	int st;
	pid_t w = waitpid((pid_t)pid, &st, WNOHANG | __WALL);
	obs_put(ctx, "autoreap.waitpid", "%s", w < 0 ? errno_name(errno) : w == 0 ? "running" : "reaped");
	if (w == 0) {
		kill((pid_t)pid, SIGKILL);
		waitpid((pid_t)pid, &st, __WALL);
	}
	struct timespec ts = {0, 200 * 1000000L};
	int s = sigtimedwait(&set, &si, &ts);
	obs_put(ctx, "autoreap.sigchld", "%s", s == SIGCHLD ? "raised" : "none");
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(pidfd);
	put_err(ctx, "autoreap.with_exit_signal", refused(CLONE_AUTOREAP, SIGCHLD));
	put_err(ctx, "autoreap.with_parent", refused(CLONE_AUTOREAP | CLONE_PARENT, 0));
	put_err(ctx, "autoreap.with_thread", refused(CLONE_AUTOREAP | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM, 0));
	return 0;
}

static int ck_nnp(struct step_ctx *ctx, const struct clone_flag *f, char *err, size_t errlen)
{
	int r = known(ctx, f, 0, err, errlen);
	if (r)
		return r;
	char out[4096];
	snprintf(out, sizeof out, "%s/nnp.out", ctx->tmp);
	long pid = c3(CLONE_NNP, SIGCHLD, NULL);
	if (pid == 0) {
		char *av[] = {(char *)ctx->probe, "--out", out, NULL}, *ev[] = {NULL};
		execve(ctx->probe, av, ev);
		_exit(127);
	}
	if (pid < 0 || reap_status((pid_t)pid, -1) != 0)
		return EXP_BROKE(err, errlen, "clone3(CLONE_NNP) child running the probe");
	struct kv m;
	kv_init(&m);
	char *text = read_file(out, 1 << 20, NULL);
	if (text)
		kv_parse(&m, text);
	free(text);
	const char *v = kv_get(&m, "no_new_privs");
	obs_put(ctx, "nnp.child_no_new_privs", "%s", v ? v : "absent");
	kv_free(&m);
	obs_put(ctx, "nnp.parent_no_new_privs", "%d", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	put_err(ctx, "nnp.with_thread", refused(CLONE_NNP | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM, 0));
	return 0;
}

struct ak_arg {
	int rel;
};

static int ak_unprivileged(void *p)
{
	(void)p;
	int pidfd = -1;
	long pid = c3(CLONE_PIDFD_AUTOKILL | CLONE_AUTOREAP, 0, &pidfd);
	if (pid == 0)
		_exit(0);
	if (pid > 0) {
		close(pidfd);
		return 0;
	}
	return errno;
}

/* A child that waits for EOF on a pipe (or is killed). */
static long autokill_child(uint64_t extra, int *pidfd, int *rel)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	long pid = c3(CLONE_PIDFD_AUTOKILL | CLONE_AUTOREAP | extra, 0, pidfd);
	if (pid == 0) {
		char b;
		close(p[1]);
		while (read(p[0], &b, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(p[0]);
	*rel = p[1];
	return pid;
}

static const char *info_exit(int fd)
{
	static char buf[48];
	struct sl_pidfd_info info;
	memset(&info, 0, sizeof info);
	info.mask = SL_PIDFD_INFO_EXIT;
	int e = kid_get_info(fd, &info, sizeof info);
	if (e)
		return errno_name(e);
	if (!(info.mask & SL_PIDFD_INFO_EXIT))
		return "alive";
	if (WIFSIGNALED(info.exit_code))
		snprintf(buf, sizeof buf, "killed %s", sig_name(WTERMSIG(info.exit_code)));
	else
		snprintf(buf, sizeof buf, "exit %d", WEXITSTATUS(info.exit_code));
	return buf;
}

static int ck_pidfd_autokill(struct step_ctx *ctx, const struct clone_flag *f, char *err, size_t errlen)
{
	int r = known(ctx, f, CLONE_PIDFD | CLONE_AUTOREAP | CLONE_NNP, err, errlen);
	if (r)
		return r;
	int pidfd = -1, rel = -1;
	long pid = autokill_child(CLONE_NNP, &pidfd, &rel);
	if (pid < 0)
		return EXP_BROKE(err, errlen, "clone3(CLONE_PIDFD_AUTOKILL|CLONE_AUTOREAP|CLONE_NNP)");
	int watch = sl_pidfd_open((pid_t)pid, 0), other = sl_pidfd_open((pid_t)pid, 0);
	if (watch < 0 || other < 0) {
		close(rel);
		return EXP_BROKE(err, errlen, "pidfd_open of the autokill child");
	}
	close(other); /* a pidfd_open()ed pidfd: closing it kills nothing */
	obs_put(ctx, "autokill.after_other_close", "%s", kid_poll(watch, 300) > 0 ? "dead" : "alive");
	close(pidfd); /* the clone3 pidfd: SIGKILL */
	obs_put(ctx, "autokill.after_close", "%s", kid_poll(watch, WAIT_MS) > 0 ? info_exit(watch) : "alive");
	close(watch);
	close(rel);
	put_err(ctx, "autokill.without_pidfd", refused(CLONE_PIDFD_AUTOKILL | CLONE_AUTOREAP, 0));
	put_err(ctx, "autokill.without_autoreap", refused(CLONE_PIDFD_AUTOKILL | CLONE_PIDFD, 0));
	put_err(ctx, "autokill.unprivileged_without_nnp", kid_as_nobody(ak_unprivileged, NULL));
	return 0;
}

static int ck_empty_mntns(struct step_ctx *ctx, const struct clone_flag *f, char *err, size_t errlen)
{
	int r = known(ctx, f, 0, err, errlen);
	if (r)
		return r;
	long pid = c3(CLONE_EMPTY_MNTNS, SIGCHLD, NULL);
	if (pid == 0) {
		DIR *d = opendir("/");
		int n = 0;
		for (struct dirent *e; d && (e = readdir(d));)
			n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
		_exit(!d ? 2 : n ? 1 : access("/proc/self", F_OK) == 0 ? 3 : 0);
	}
	int code = pid > 0 ? reap_status((pid_t)pid, -1) : -1;
	obs_put(ctx, "empty_mntns.root", "%s", code == 0 ? "empty" : code == 1 ? "has_entries" : "broke");
	return code == 0 || code == 1 ? 0 : EXP_BROKE(err, errlen, "CLONE_EMPTY_MNTNS child (exit %d)", code);
}

static int ck_unknown(struct step_ctx *ctx, const struct clone_flag *f, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	put_err(ctx, "unknown.lowest", refused(f->value, SIGCHLD));
	put_err(ctx, "unknown.bit63", refused(1ULL << 63, SIGCHLD));
	return 0;
}

/* The list the clone fuzzer's model needs too: name, value, since, commit. */
static const struct clone_flag flags[] = {
	{"NEWTIME", CLONE_NEWTIME, "5.6 (clone3: 6.3)", "769071ac9f20", ck_newtime},
	{"CLEAR_SIGHAND", CLONE_CLEAR_SIGHAND, "5.5", "b612e5df4587", ck_clear_sighand},
	{"INTO_CGROUP", CLONE_INTO_CGROUP, "5.7", "ef2c41cf38a7", ck_into_cgroup},
	{"AUTOREAP", CLONE_AUTOREAP, "7.1", "12ae2c81b21c", ck_autoreap},
	{"NNP", CLONE_NNP, "7.1", "24baca56fafc", ck_nnp},
	{"PIDFD_AUTOKILL", CLONE_PIDFD_AUTOKILL, "7.1", "c8134b5f13ae", ck_pidfd_autokill},
	{"EMPTY_MNTNS", CLONE_EMPTY_MNTNS, "7.1", "9d4e752a24f7", ck_empty_mntns},
	{"FIRST_UNKNOWN", CLONE_FIRST_UNKNOWN, "none", "none", ck_unknown},
};

const char clone_flag_names[] = "newtime|clear_sighand|into_cgroup|autoreap|nnp|pidfd_autokill|empty_mntns|unknown";

/* The arguments of `run clone_flag`, named where the spec below declares them. */
enum { CLONE_FLAG_FLAG };

static int exp_clone_flag(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)sv;
	size_t i = (size_t)iv[CLONE_FLAG_FLAG];
	if (i >= sizeof flags / sizeof *flags) {
		snprintf(err, errlen, "flag index %zu out of range", i);
		return -1;
	}
	const struct clone_flag *f = &flags[i];
	obs_put(ctx, "flag.name", "CLONE_%s", f->name);
	obs_put(ctx, "flag.value", "0x%llx", (unsigned long long)f->value);
	obs_put(ctx, "flag.since", "%s", f->since);
	return f->check(ctx, f, err, errlen);
}

/* The experiment kinds of this file (the families' registry lists them). */
const struct step_kind clone_flags_kinds[] = {
	{.name = "clone_flag",
	 .summary = "one clone3 flag: known to this kernel or refused, and what it does where known",
	 .args = {[CLONE_FLAG_FLAG] = {"flag", ARG_CHOICE, 1, NULL, clone_flag_names}},
	 .run = exp_clone_flag,
	 .backends = "clone3",
	 .keys = "autokill.{after_close,after_other_close,unprivileged_without_nnp,without_autoreap,without_pidfd} autoreap.{info_exit,poll,sigchld,waitpid,with_exit_signal,with_parent,with_thread} nnp.with_thread empty_mntns.root nnp.{child,parent}_no_new_privs clear_sighand.{handled,ignored,with_sighand} flag.{known,name,since,value} "
		 "into_cgroup.bad_fd newtime.{child_ns,offset_seen} unknown.{bit63,lowest}"},
	{0},
};
