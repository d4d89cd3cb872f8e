/* runner.c: one unit = one case with one backend.
 *
 *   driver --sandbox_run--> init (pid 1 of a new pid namespace)
 *                             `--> spawner (pid 2): reset, set-up steps,
 *                                  backend spawn of the probe, bounded wait,
 *                                  writes $tmp/obs
 *   driver reads $tmp/obs and judges it (case_check.c).
 *
 * The spawner starts from a known state whatever the driver's was: only
 * fds 0 (/dev/null), 1 (/dev/null) and 2 (its log) open, every signal
 * default and unblocked, umask 022, cwd $tmp.  So what the probe sees is
 * what the case's steps made, and nothing of the driver's. */
#include "core/runner.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backends/child_wait.h"
#include "lib/feature.h"
#include "lib/names.h"
#include "sys/rawsig.h"
#include "core/sandbox.h"
#include "core/step_ctx.h"
#include "sys/sys.h"
#include "lib/util.h"

#define SPAWNER_SETUP_BROKE 3
#define SPAWNER_HARNESS_BROKE 4

struct spawner_arg {
	const struct sl_case *c;
	const struct backend *be;
	const struct run_opts *o;
	const char *tmp;
	int budget_ms; /* how long the spawner may wait for its child */
};

static void obs_write(const char *tmp, struct sbuf *b)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/obs", tmp);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		write_all(fd, b->s, b->len);
		close(fd);
	}
}

static void reset_self(const char *tmp)
{
	/* Raw, so that the libc's reserved signals are reset too: a driver
	 * started by glibc's posix_spawn (as make starts it) has 32 and 33
	 * ignored, which every backend's child would inherit. */
	rawsig_reset_all();
	if (sl_close_range(3, ~0U, 0) < 0)
		for (int fd = 3; fd < 4096; fd++)
			close(fd);
	char log[4096];
	snprintf(log, sizeof log, "%s/spawner.log", tmp);
	int in = open("/dev/null", O_RDONLY), out = open("/dev/null", O_WRONLY),
	    err = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (in >= 0 && in != 0)
		dup2(in, 0), close(in);
	if (out >= 0 && out != 1)
		dup2(out, 1), close(out);
	if (err >= 0 && err != 2)
		dup2(err, 2), close(err);
	umask(022);
	if (chdir(tmp) < 0)
		_exit(SPAWNER_HARNESS_BROKE);
}

/* Wait for the spawned child within the budget; record how it ended. */
static void wait_child(struct spawn_res *res, int budget_ms, struct sbuf *ob)
{
	struct child_status st;
	child_wait(res, budget_ms, &st);
	switch (st.end) {
	case CHILD_EXITED:
		sb_addf(ob, "exit.code %d\nexit.signal none\n", st.code);
		break;
	case CHILD_KILLED:
		sb_addf(ob, "exit.code none\nexit.signal %s\n", sig_name(st.code) ? sig_name(st.code) : "?");
		break;
	case CHILD_TIMEOUT:
		sb_addf(ob, "exit.timeout yes\n");
		break;
	case CHILD_UNKNOWN:
		sb_addf(ob, "exit.code unknown\nexit.note %s: %s\n", st.failed_call, errno_name(st.err));
		break;
	}
}

/* The close-on-exec bit of every fd the spawner holds just before the
 * spawn: what the set-up left, so a case can check it (the probe cannot:
 * exec has closed every fd that had it). */
static void record_fd_flags(struct sbuf *ob)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d) {
		sb_addf(ob, "spawner.fd.note opendir /proc/self/fd: %s\n", errno_name(errno));
		return;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);
		if (*end || end == e->d_name || fd == dirfd(d))
			continue;
		int fl = fcntl((int)fd, F_GETFD);
		if (fl >= 0)
			sb_addf(ob, "spawner.fd.%ld.cloexec %s\n", fd, (fl & FD_CLOEXEC) ? "yes" : "no");
	}
	closedir(d);
}

static int spawner_main(void *argp)
{
	struct spawner_arg *a = argp;
	const struct sl_case *c = a->c;
	struct sbuf ob;
	reset_self(a->tmp);
	sb_init(&ob);

	struct step_ctx ctx = {a->tmp, a->o->probe, a->be, &ob, mono_ms() + (uint64_t)a->budget_ms};
	for (size_t i = 0; i < c->nsteps; i++) {
		char err[512] = "";
		const struct step *st = &c->steps[i];
		int rc = st->kind->run(st->iv, st->sv, &ctx, err, sizeof err);
		if (rc == STEP_UNSUPPORTED) {
			sb_addf(&ob, "setup.unsupported %s: %s\n", st->kind->name, err);
			obs_write(a->tmp, &ob);
			_exit(0);
		}
		if (rc < 0) {
			sb_addf(&ob, "setup.error %s:%d: %s: %s\n", c->file, st->line, st->kind->name, err);
			obs_write(a->tmp, &ob);
			_exit(SPAWNER_SETUP_BROKE);
		}
	}

	if (c->experiment.kind) {
		char err[512] = "";
		const struct step *ex = &c->experiment;
		sb_addf(&ob, "experiment %s\nspawner.pid %ld\n", ex->kind->name, (long)getpid());
		int rc = ex->kind->run(ex->iv, ex->sv, &ctx, err, sizeof err);
		if (rc == STEP_UNSUPPORTED) {
			sb_addf(&ob, "setup.unsupported %s: %s\n", ex->kind->name, err);
			obs_write(a->tmp, &ob);
			_exit(0);
		}
		if (rc < 0) {
			sb_addf(&ob, "setup.error %s:%d: experiment %s: %s\n", c->file, ex->line, ex->kind->name, err);
			obs_write(a->tmp, &ob);
			_exit(SPAWNER_SETUP_BROKE);
		}
		obs_write(a->tmp, &ob);
		return 0;
	}

	struct spawn_req req;
	memset(&req, 0, sizeof req);
	char out[4096], code[16], program[4096];
	snprintf(out, sizeof out, "%s/probe.out", a->tmp);
	snprintf(code, sizeof code, "%d", c->spawn.probe_exit);
	if (c->spawn.program) {
		if (strncmp(c->spawn.program, "$tmp", 4) == 0)
			snprintf(program, sizeof program, "%s%s", a->tmp, c->spawn.program + 4);
		else
			snprintf(program, sizeof program, "%s", c->spawn.program);
	} else {
		snprintf(program, sizeof program, "%s", a->o->probe);
	}
	char sleep_ms[24];
	snprintf(sleep_ms, sizeof sleep_ms, "%d", c->spawn.probe_sleep_ms);
	char *argv[] = {program, "--out", out, "--exit", code, "--sleep-ms", sleep_ms, NULL};
	char *envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL};
	req.path = program;
	req.argv = argv;
	req.envp = envp;
	backend_request(&req, a->be, &c->spawn.fds);

	record_fd_flags(&ob);
	sb_addf(&ob, "spawner.pid %ld\nspawner.ppid %ld\nspawner.pgid %ld\nspawner.sid %ld\nspawner.tmp %s\n",
		(long)getpid(), (long)getppid(), (long)getpgid(0), (long)getsid(0), a->tmp);
	struct spawn_res res = {-1, -1, 0, 0};
	/* Whether the spawn raised SIGCHLD here: SIGCHLD is blocked so that it
	 * stays pending.  By default only after the spawn call, so the child
	 * does not inherit the blocked mask (and a signal raised before that,
	 * with SIGCHLD at SIG_DFL, is discarded and not seen); with
	 * sigchld=block, before it. */
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (c->spawn.block_sigchld)
		sigprocmask(SIG_BLOCK, &chld, NULL);
	uint64_t t0 = mono_us();
	if (a->be->spawn(&req, &res) < 0) {
		sb_addf(&ob, "setup.error %s:%d: backend %s could not try: %s\n", c->file, c->spawn.line ? c->spawn.line : c->line,
			a->be->name, strerror(errno));
		obs_write(a->tmp, &ob);
		_exit(SPAWNER_HARNESS_BROKE);
	}
	uint64_t t1 = mono_us();
	sigprocmask(SIG_BLOCK, &chld, NULL);
	sb_addf(&ob, "spawn.errno %s\nspawn.us %llu\nchild.pid %ld\nchild.pidfd %s\n",
		res.err ? errno_name(res.err) : "0", (unsigned long long)(t1 - t0), (long)res.pid,
		res.pidfd >= 0 ? "yes" : "no");
	if (res.err == 0 && (res.pid > 0 || res.pidfd >= 0))
		wait_child(&res, a->budget_ms - (int)((t1 - t0) / 1000), &ob);
	else
		sb_adds(&ob, "exit.code none\nexit.signal none\n");
	if (res.pidfd >= 0)
		close(res.pidfd);
	sigset_t pend;
	sigpending(&pend);
	sb_addf(&ob, "spawner.sigchld %s\n", sigismember(&pend, SIGCHLD) == 1 ? "yes" : "no");

	size_t plen = 0;
	char *probe = read_file(out, 1 << 20, &plen);
	if (probe) {
		sb_addn(&ob, probe, plen);
		free(probe);
	}
	obs_write(a->tmp, &ob);
	return 0;
}

static int skip(struct unit_result *u, const char *fmt, const char *arg)
{
	u->outcome = OUT_SKIP;
	u->reason = xasprintf(fmt, arg);
	return 0;
}

static int precheck(const struct sl_case *c, struct unit_result *u)
{
	char why[256] = "";
	if (!u->backend->available(why, sizeof why))
		return skip(u, "backend unavailable: %s", why);
	if (c->needs_root && geteuid() != 0)
		return skip(u, "%s", "needs root");
	for (size_t i = 0; i < c->nneeds; i++) {
		const char *d = "";
		const struct feature *f = feature_find(c->needs[i]);
		if (f && feature_state(f, &d) != FEAT_YES) {
			u->outcome = OUT_SKIP;
			u->reason = xasprintf("needs %s: %s", c->needs[i], d);
			return 0;
		}
	}
	return 1;
}

const char *run_plant(void)
{
	const char *m = getenv("SPAWNLAB_PLANT");
	return m && (strcmp(m, "empty") == 0 || strcmp(m, "nofds") == 0) ? m : NULL;
}

/* SPAWNLAB_PLANT, for testing the judge: replace what was observed by a
 * broken observation before it is judged, so that a test can show every
 * case fails on it (each case has a positive control).  "empty": the probe
 * or experiment reported nothing; "nofds": the probe saw no fds at all. */
static void plant(struct kv *obs)
{
	const char *m = run_plant();
	if (!m)
		return;
	struct kv keep;
	kv_init(&keep);
	for (size_t i = 0; i < obs->n; i++) {
		const char *k = obs->key[i];
		int fdkey = strcmp(k, "fds") == 0 || strcmp(k, "fd.count") == 0 ||
			    (strncmp(k, "fd.", 3) == 0 && k[3] >= '0' && k[3] <= '9');
		if (strcmp(m, "empty") == 0 ? strcmp(k, "probe.end") == 0 || strcmp(k, "experiment") == 0 : !fdkey)
			kv_set(&keep, k, obs->val[i]);
	}
	if (strcmp(m, "nofds") == 0 && kv_get(obs, "probe.end")) {
		kv_set(&keep, "fds", "none");
		kv_set(&keep, "fd.count", "0");
	}
	kv_free(obs);
	*obs = keep;
}

/* A unit whose sandbox is running (unit_start .. unit_finish). */
struct unit_job {
	const struct sl_case *c;
	size_t b;
	struct unit_result *u;
	struct spawner_arg a;
	char *tmp;
	int timeout_s;
	uint64_t t0;
	struct sandbox sb;
};

struct unit_job *unit_start(const struct sl_case *c, size_t b, const struct run_opts *o, struct unit_result *u)
{
	memset(u, 0, sizeof *u);
	kv_init(&u->obs);
	u->backend = backend_at(b);
	uint64_t t0 = mono_us();
	if (!precheck(c, u)) {
		errno = 0;
		return NULL;
	}

	static unsigned serial;
	char *tmp = xasprintf("%s/u%u", o->tmproot, ++serial);
	if (mkdir(tmp, 0700) < 0) {
		u->outcome = OUT_ERROR;
		int e = errno;
		u->reason = xasprintf("mkdir %s: %s", tmp, strerror(e));
		free(tmp);
		errno = e;
		return NULL;
	}
	struct unit_job *j = xcalloc(1, sizeof *j);
	j->c = c;
	j->b = b;
	j->u = u;
	j->tmp = tmp;
	j->t0 = t0;
	j->timeout_s = c->timeout ? c->timeout : o->timeout_s;
	j->a = (struct spawner_arg){c, u->backend, o, tmp, 0};
	j->a.budget_ms = j->timeout_s * 1000 - 250;
	if (j->a.budget_ms < 100)
		j->a.budget_ms = 100;
	/* The sandbox child gets a copy of J->a at the clone: nothing of it
	 * needs to outlive this call in the child. */
	if (sandbox_start(spawner_main, &j->a, j->timeout_s * 1000, &j->sb) < 0) {
		int e = errno;
		u->outcome = OUT_ERROR;
		u->reason = xasprintf("could not create the sandbox: %s", strerror(e));
		rm_tree(tmp);
		free(tmp);
		free(j);
		u->duration_us = mono_us() - t0;
		errno = e;
		return NULL;
	}
	return j;
}

int unit_job_fd(const struct unit_job *j)
{
	return sandbox_fd(&j->sb);
}

uint64_t unit_job_deadline(const struct unit_job *j)
{
	return sandbox_deadline(&j->sb);
}

int unit_finish(struct unit_job *j)
{
	const struct sl_case *c = j->c;
	struct unit_result *u = j->u;
	int timeout_s = j->timeout_s;
	struct sandbox_result sr;
	sandbox_finish(&j->sb, &sr);
	{
		char *obsp = xasprintf("%s/obs", j->tmp);
		char *text = read_file(obsp, 2u << 20, NULL);
		free(obsp);
		if (text)
			kv_parse(&u->obs, text);
		free(text);
		const char *serr = kv_get(&u->obs, "setup.error");
		const char *unsup = kv_get(&u->obs, "setup.unsupported");
		if (sr.interrupted) {
			u->outcome = OUT_ERROR;
			u->reason = xasprintf("%s", "the run was interrupted; the sandbox was killed");
		} else if (sr.init_errno) {
			u->outcome = OUT_ERROR;
			u->reason = xasprintf("the sandbox could not fork the spawner: %s (%s)", strerror(sr.init_errno),
					      errno_name(sr.init_errno));
		} else if (sr.timed_out) {
			u->outcome = OUT_FAIL;
			u->reason = xasprintf("timed out after %d s; the sandbox was killed", timeout_s);
		} else if (unsup && sr.status == 0) {
			u->outcome = OUT_SKIP;
			u->reason = xasprintf("not supported here: %s", unsup);
		} else if (serr) {
			u->outcome = OUT_ERROR;
			u->reason = xasprintf("set-up broke: %s", serr);
		} else if (!text || sr.status != 0) {
			u->outcome = OUT_ERROR;
			if (sr.signal)
				u->reason = xasprintf("the spawner was killed by %s and wrote no observation",
						      sig_name(sr.signal) ? sig_name(sr.signal) : "a signal");
			else
				u->reason = xasprintf("the spawner exited with status %d%s", sr.status,
						      text ? "" : " and wrote no observation");
		} else if (kv_get(&u->obs, "exit.timeout")) {
			u->outcome = OUT_FAIL;
			u->reason = xasprintf("the spawned child did not exit within %d ms and was killed",
					      j->a.budget_ms);
			kv_set(&u->obs, "exit.code", "timeout");
		} else {
			plant(&u->obs);
			check_unit(c, j->b, u);
		}
	}
	rm_tree(j->tmp);
	free(j->tmp);
	u->duration_us = mono_us() - j->t0;
	free(j);
	return sr.init_errno;
}

void run_unit(const struct sl_case *c, size_t b, const struct run_opts *o, struct unit_result *u)
{
	struct unit_job *j = unit_start(c, b, o, u);
	if (j)
		unit_finish(j);
}
