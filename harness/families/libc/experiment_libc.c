/* experiment_libc.c: libc-level behaviour that the backend interface
 * cannot express: posix_spawn with attributes and arbitrary file actions,
 * system(), popen(), and what a libc's spawn does with signals while the
 * child shares the caller's memory.  Children are the probe; its report is
 * forwarded into the observation (unprefixed for the one child of
 * libc_spawn and libc_system, under a prefix where there are several). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backends/child_wait.h"
#include "families/experiments.h"
#include "core/kv.h"
#include "lib/names.h"
#include "lib/util.h"

/* The probe's report in FILE as a kv (empty when it wrote none). */
static void probe_report(const char *file, struct kv *m)
{
	kv_init(m);
	char *text = read_file(file, 1 << 20, NULL);
	if (text)
		kv_parse(m, text);
	free(text);
}

/* Forward every key of the probe's report into the observation. */
static void forward(struct step_ctx *ctx, const struct kv *m)
{
	for (size_t i = 0; i < m->n; i++)
		obs_put(ctx, m->key[i], "%s", m->val[i]);
}

static void put_wait(struct step_ctx *ctx, const char *prefix, pid_t pid)
{
	struct spawn_res res = {pid, -1, 0, 1};
	struct child_status st;
	int budget = (int)(ctx->deadline_ms - mono_ms());
	child_wait(&res, budget > 0 ? budget : 1, &st);
	char key[96];
	snprintf(key, sizeof key, "%sexit.code", prefix);
	if (st.end == CHILD_EXITED)
		obs_put(ctx, key, "%d", st.code);
	else
		obs_put(ctx, key, "%s", st.end == CHILD_TIMEOUT ? "timeout" : "none");
}

/* ---- libc_spawn: posix_spawn with file actions and attributes ---- */

struct fa_op {
	char op; /* 'o' open (O_RDONLY), 'd' dup2, 'c' close */
	int fd, src;
	const char *path;
};

/* In the order of the experiment's actions= choices. */
static const struct fa_op fa_rows[][3] = {
	{{0}},                                                   /* none */
	{{'o', 10, 0, "no-such-dir/file"}},                      /* open_missing (relative to $tmp) */
	{{'d', 50, 11, NULL}},                                   /* dup2_badfd: fd 50 is not open */
	{{'d', 10, 11, NULL}, {'c', 10, 0, NULL}},               /* dup2_then_close */
	{{'c', 10, 0, NULL}, {'d', 10, 11, NULL}},               /* close_then_dup2 */
};

static int add_actions(posix_spawn_file_actions_t *fa, const struct fa_op *ops)
{
	for (int i = 0; i < 3 && ops[i].op; i++) {
		const struct fa_op *o = &ops[i];
		int r = o->op == 'o'   ? posix_spawn_file_actions_addopen(fa, o->fd, o->path, O_RDONLY, 0)
			: o->op == 'd' ? posix_spawn_file_actions_adddup2(fa, o->fd, o->src)
				       : posix_spawn_file_actions_addclose(fa, o->fd);
		if (r)
			return r;
	}
	return 0;
}

/* The arguments of `run libc_spawn`, named where the spec below declares them. */
enum { LIBC_SPAWN_PROGRAM, LIBC_SPAWN_ACTIONS, LIBC_SPAWN_SIGDEF, LIBC_SPAWN_SIGMASK };

static int exp_libc_spawn(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)sv;
	if (strcmp(ctx->be->name, "posix_spawn") != 0) {
		snprintf(err, errlen, "libc_spawn calls posix_spawn itself: run it with backend posix_spawn only");
		return -1;
	}
	char out[4096], path[4096];
	snprintf(out, sizeof out, "%s/probe.out", ctx->tmp);
	if (iv[LIBC_SPAWN_PROGRAM] == 0) {
		snprintf(path, sizeof path, "%s", ctx->probe);
	} else {
		snprintf(path, sizeof path, "%s/%s", ctx->tmp, iv[LIBC_SPAWN_PROGRAM] == 1 ? "does-not-exist" : "not-executable");
		if (iv[LIBC_SPAWN_PROGRAM] == 2) {
			int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
			if (fd < 0) {
				snprintf(err, errlen, "create %s: %s", path, strerror(errno));
				return -1;
			}
			close(fd);
		}
	}
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int r = posix_spawn_file_actions_init(&fa);
	if (r == 0 && (r = add_actions(&fa, fa_rows[iv[LIBC_SPAWN_ACTIONS]])) != 0)
		posix_spawn_file_actions_destroy(&fa);
	if (r) {
		snprintf(err, errlen, "building the file actions: %s", strerror(r));
		return -1;
	}
	short flags = 0;
	sigset_t set;
	posix_spawnattr_init(&at);
	if (iv[LIBC_SPAWN_SIGDEF]) {
		sigemptyset(&set);
		sigaddset(&set, (int)iv[LIBC_SPAWN_SIGDEF]);
		posix_spawnattr_setsigdefault(&at, &set);
		flags |= POSIX_SPAWN_SETSIGDEF;
	}
	if (iv[LIBC_SPAWN_SIGMASK]) {
		sigemptyset(&set);
		sigaddset(&set, (int)iv[LIBC_SPAWN_SIGMASK]);
		posix_spawnattr_setsigmask(&at, &set);
		flags |= POSIX_SPAWN_SETSIGMASK;
	}
	posix_spawnattr_setflags(&at, flags);

	sigset_t before, after;
	sigprocmask(SIG_SETMASK, NULL, &before);
	char *argv[] = {path, "--out", out, NULL};
	char *envp[] = {"PATH=/usr/bin:/bin", "LC_ALL=C", NULL};
	pid_t pid = -1;
	r = posix_spawn(&pid, path, &fa, &at, argv, envp);
	sigprocmask(SIG_SETMASK, NULL, &after);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);

	obs_put(ctx, "spawn.errno", "%s", r ? errno_name(r) : "0");
	obs_put(ctx, "parent.sigmask_restored", "%s", memcmp(&before, &after, sizeof before) ? "no" : "yes");
	if (r == 0) {
		put_wait(ctx, "", pid);
	} else {
		/* Did the failed call leave a child (exited 127, unreaped) behind? */
		siginfo_t si;
		memset(&si, 0, sizeof si);
		int w = waitid(P_ALL, 0, &si, WEXITED | WNOHANG);
		obs_put(ctx, "child.left", "%s", w < 0 && errno == ECHILD ? "no" : "yes");
		if (w == 0 && si.si_pid > 0)
			obs_put(ctx, "exit.code", "%d", si.si_code == CLD_EXITED ? si.si_status : -1);
		else
			obs_put(ctx, "exit.code", "none");
	}
	struct kv m;
	probe_report(out, &m);
	forward(ctx, &m);
	kv_free(&m);
	return 0;
}

/* ---- libc_system: the caller's and the command's signal state ---- */

/* A signal's state from /proc/PID/status hex masks. */
static int mask_has(const struct kv *st, const char *field, int sig)
{
	const char *v = kv_get(st, field);
	if (!v)
		return -1;
	unsigned long long m = strtoull(v, NULL, 16);
	return (int)((m >> (sig - 1)) & 1);
}

static const char *disp_now(int sig)
{
	struct sigaction sa;
	if (sigaction(sig, NULL, &sa) < 0)
		return "?";
	return sa.sa_handler == SIG_IGN ? "ignore" : sa.sa_handler == SIG_DFL ? "default" : "handle";
}

static const int system_sigs[] = {SIGINT, SIGQUIT, SIGCHLD};

static int exp_libc_system(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)iv;
	(void)sv;
	char cmd[16384], statf[4096], out[4096], key[96];
	snprintf(statf, sizeof statf, "%s/caller.status", ctx->tmp);
	snprintf(out, sizeof out, "%s/probe.out", ctx->tmp);
	/* The shell copies its parent's (our) status while system() waits,
	 * then becomes the probe. */
	snprintf(cmd, sizeof cmd, "cat /proc/%ld/status > '%s'; exec '%s' --out '%s'", (long)getpid(), statf,
		 ctx->probe, out);
	int st = system(cmd);
	if (st < 0) {
		snprintf(err, errlen, "system: %s", strerror(errno));
		return -1;
	}
	obs_put(ctx, "system.status", "%d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	/* /proc/PID/status is "Key:\tvalue" lines; make it "Key value". */
	char *text = read_file(statf, 1 << 16, NULL);
	if (!text) {
		snprintf(err, errlen, "the command did not copy the caller's status (%s)", statf);
		return -1;
	}
	for (char *c = text; *c; c++)
		if (*c == ':' || *c == '\t')
			*c = ' ';
	struct kv pst;
	kv_init(&pst);
	kv_parse(&pst, text);
	free(text);
	sigset_t now;
	sigprocmask(SIG_SETMASK, NULL, &now);
	for (size_t i = 0; i < sizeof system_sigs / sizeof *system_sigs; i++) {
		int s = system_sigs[i];
		int ign = mask_has(&pst, "SigIgn", s), cgt = mask_has(&pst, "SigCgt", s), blk = mask_has(&pst, "SigBlk", s);
		snprintf(key, sizeof key, "during.sig.%s", sig_name(s));
		obs_put(ctx, key, "%s", ign < 0 ? "?" : ign ? "ignore" : cgt ? "handle" : "default");
		snprintf(key, sizeof key, "during.sig.%s.blocked", sig_name(s));
		obs_put(ctx, key, "%s", blk < 0 ? "?" : blk ? "yes" : "no");
		snprintf(key, sizeof key, "after.sig.%s", sig_name(s));
		obs_put(ctx, key, "%s", disp_now(s));
		snprintf(key, sizeof key, "after.sig.%s.blocked", sig_name(s));
		obs_put(ctx, key, "%s", sigismember(&now, s) ? "yes" : "no");
	}
	kv_free(&pst);
	struct kv m;
	probe_report(out, &m);
	forward(ctx, &m);
	kv_free(&m);
	return 0;
}

/* ---- libc_popen: the stream's fd in later children ---- */

/* The arguments of `run libc_popen`, named where the spec below declares them. */
enum { LIBC_POPEN_MODE };

static int exp_libc_popen(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)sv;
	const char *mode = iv[LIBC_POPEN_MODE] == 0 ? "r" : "re";
	char cmd[8320], out[3][4096], key[64];
	for (int i = 0; i < 3; i++)
		snprintf(out[i], sizeof out[i], "%s/p%d.out", ctx->tmp, i + 1);
	snprintf(cmd, sizeof cmd, "exec '%s' --out '%s'", ctx->probe, out[0]);
	FILE *first = popen(cmd, mode);
	if (!first) {
		snprintf(err, errlen, "popen(\"%s\"): %s", mode, strerror(errno));
		return -1;
	}
	int fd = fileno(first), fdfl = fcntl(fd, F_GETFD);
	obs_put(ctx, "popen.fd", "%d", fd);
	obs_put(ctx, "popen.fd.cloexec", "%s", fdfl < 0 ? "?" : fdfl & FD_CLOEXEC ? "yes" : "no");

	/* POSIX popen(): streams of earlier popen() calls are closed in the new child. */
	snprintf(cmd, sizeof cmd, "exec '%s' --out '%s'", ctx->probe, out[1]);
	FILE *second = popen(cmd, "r");
	int st2 = second ? pclose(second) : -1;
	obs_put(ctx, "popen.second.status", "%d", st2 >= 0 && WIFEXITED(st2) ? WEXITSTATUS(st2) : -1);

	/* Any other child: the fd crosses exec unless it is close-on-exec. */
	char *argv[] = {(char *)ctx->probe, "--out", out[2], NULL};
	char *envp[] = {"PATH=/usr/bin:/bin", "LC_ALL=C", NULL};
	struct spawn_req req;
	spawn_req_stdio(&req, ctx->be, ctx->probe, argv, envp);
	struct spawn_res res = {-1, -1, 0, 0};
	if (ctx->be->spawn(&req, &res) < 0 || res.err) {
		snprintf(err, errlen, "%s spawn: %s", ctx->be->name, strerror(res.err ? res.err : errno));
		pclose(first);
		return -1;
	}
	struct child_status cst;
	int budget = (int)(ctx->deadline_ms - mono_ms());
	child_wait(&res, budget > 0 ? budget : 1, &cst);
	if (res.pidfd >= 0)
		close(res.pidfd);
	int st1 = pclose(first);
	obs_put(ctx, "popen.first.status", "%d", st1 >= 0 && WIFEXITED(st1) ? WEXITSTATUS(st1) : -1);

	static const char *const who[] = {"popen.first.", "popen.second.", "later."};
	for (int i = 0; i < 3; i++) {
		struct kv m;
		probe_report(out[i], &m);
		snprintf(key, sizeof key, "fd.%d", fd);
		const char *v = kv_get(&m, key);
		char okey[96];
		snprintf(okey, sizeof okey, "%sprev_fd", who[i]);
		obs_put(ctx, okey, "%s", m.n == 0 ? "no-report" : v ? v : "closed");
		snprintf(okey, sizeof okey, "%sfd.1", who[i]);
		v = kv_get(&m, "fd.1");
		obs_put(ctx, okey, "%s", v ? v : "closed");
		kv_free(&m);
	}
	return 0;
}

/* ---- libc_spawn_signals: a caller's handler must not run in a child that
 * shares its memory (vfork-style) before exec. ---- */

static volatile sig_atomic_t handler_parent, handler_child;
static pid_t handler_owner;

static void count_handler(int sig)
{
	(void)sig;
	int e = errno;
	if ((pid_t)syscall(SYS_getpid) == handler_owner)
		handler_parent++;
	else
		handler_child++; /* only visible here when the child shares our memory */
	errno = e;
}

struct storm {
	pid_t pgrp;
	volatile int stop;
	long sent;
};

static void *storm_main(void *p)
{
	struct storm *s = p;
	struct timespec ts = {0, 20000};
	while (!s->stop) {
		if (kill(-s->pgrp, SIGUSR1) == 0)
			s->sent++;
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* The arguments of `run libc_spawn_signals`, named where the spec below declares them. */
enum { LIBC_SPAWN_SIGNALS_COUNT };

static int exp_libc_spawn_signals(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)sv;
	long count = iv[LIBC_SPAWN_SIGNALS_COUNT];
	if (count < 1 || count > 10000) {
		snprintf(err, errlen, "count must be 1..10000");
		return -1;
	}
	/* Our own process group, so that the storm hits us and our children
	 * and nothing outside the sandbox. */
	if (setpgid(0, 0) < 0 || getpgrp() != getpid()) {
		snprintf(err, errlen, "setpgid: %s", strerror(errno));
		return -1;
	}
	handler_owner = getpid();
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = count_handler;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0) {
		snprintf(err, errlen, "sigaction: %s", strerror(errno));
		return -1;
	}
	char *argv[] = {(char *)ctx->probe, "--exit-now", NULL};
	char *envp[] = {"PATH=/usr/bin:/bin", NULL};
	struct spawn_req req;
	spawn_req_stdio(&req, ctx->be, ctx->probe, argv, envp);
	struct storm s = {getpid(), 0, 0};
	pthread_t t;
	/* The storm thread must not take the signal itself: it runs with SIGUSR1 blocked. */
	sigset_t usr1, old;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, &old);
	int tr = pthread_create(&t, NULL, storm_main, &s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (tr) {
		snprintf(err, errlen, "pthread_create: %s", strerror(tr));
		return -1;
	}
	long done = 0, failed = 0, killed = 0;
	for (; done < count && mono_ms() + 300 < ctx->deadline_ms; done++) {
		struct spawn_res res = {-1, -1, 0, 0};
		if (ctx->be->spawn(&req, &res) < 0 || res.err) {
			failed++;
			continue;
		}
		struct child_status st;
		child_wait(&res, 1000, &st);
		if (res.pidfd >= 0)
			close(res.pidfd);
		killed += st.end == CHILD_KILLED;
	}
	s.stop = 1;
	pthread_join(t, NULL);
	signal(SIGUSR1, SIG_IGN);
	obs_num(ctx, "spawns", (double)done);
	obs_num(ctx, "spawn_failed", (double)failed);
	obs_num(ctx, "children_killed", (double)killed);
	obs_num(ctx, "signals_sent", (double)s.sent);
	obs_num(ctx, "handler_in_parent", (double)handler_parent);
	obs_num(ctx, "handler_in_child", (double)handler_child);
	return 0;
}

/* The experiment kinds of this file (the families' registry lists them). */
const struct step_kind libc_kinds[] = {
	{.name = "libc_spawn",
	 .summary = "posix_spawn called directly with file actions and SETSIGDEF/SETSIGMASK attributes",
	 .args = {[LIBC_SPAWN_PROGRAM] = {"program", ARG_CHOICE, 0, "probe", "probe|missing|noexec"},
		  [LIBC_SPAWN_ACTIONS] = {"actions", ARG_CHOICE, 0, "none", "none|open_missing|dup2_badfd|dup2_then_close|close_then_dup2"},
		  [LIBC_SPAWN_SIGDEF] = {"sigdef", ARG_SIG, 0, NULL, NULL},
		  [LIBC_SPAWN_SIGMASK] = {"sigmask", ARG_SIG, 0, NULL, NULL}},
	 .run = exp_libc_spawn,
	 .flags = KIND_PROBE_KEYS,
	 .backends = "posix_spawn",
	 .keys = "child.left parent.sigmask_restored"},
	{.name = "libc_system",
	 .summary = "system() of a shell that copies the caller's signal state, then execs the probe",
	 .args = {{0}},
	 .run = exp_libc_system,
	 .flags = KIND_PROBE_KEYS,
	 .keys = "{after,during}.{sig.SIGCHLD,sig.SIGCHLD.blocked,sig.SIGINT,sig.SIGINT.blocked,sig.SIGQUIT,sig.SIGQUIT.blocked} "
		 "system.status"},
	{.name = "libc_popen",
	 .summary = "an open popen() stream's fd in a second popen() child and in a backend's child",
	 .args = {[LIBC_POPEN_MODE] = {"mode", ARG_CHOICE, 0, "r", "r|re"}},
	 .run = exp_libc_popen,
	 .keys = "later.{fd.#,prev_fd} "
		 "popen.{fd,fd.cloexec,first.fd.#,first.prev_fd,first.status,second.fd.#,second.prev_fd,second.status}"},
	{.name = "libc_spawn_signals",
	 .summary = "spawn COUNT children while a thread signals the process group: where the caller's handler ran",
	 .args = {[LIBC_SPAWN_SIGNALS_COUNT] = {"count", ARG_INT, 0, "200", NULL}},
	 .run = exp_libc_spawn_signals,
	 .keys = "num.{children_killed,handler_in_child,handler_in_parent,signals_sent,spawn_failed,spawns}"},
	{0},
};
