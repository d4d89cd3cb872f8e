/* experiment_spawnattr.c: posix_spawn attributes and file actions the
 * backend interface does not pass: POSIX_SPAWN_SETSID, SETPGROUP,
 * addtcsetpgrp_np, addchdir_np/addfchdir_np with relative opens and a
 * relative program path, and POSIX_SPAWN_SETCGROUP (CLONE_INTO_CGROUP
 * for the clone3 backend).  One row of the table below per run, through
 * posix_spawn or pidfd_spawn (which take the same attributes).
 *
 * What a libc or its headers lack is a skip with the reason, decided here
 * and now: a flag from the build's <spawn.h>, a function looked up in the
 * libc that is running (dlsym; a static build cannot look, and says so). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "families/libc/cgroup_tmp.h"
#include "backends/child_wait.h"
#include "families/experiments.h"
#include "sys/libc_ext.h"
#include "core/kv.h"
#include "lib/names.h"
#include "sys/sys.h"
#include "lib/util.h"

enum sa_flag { F_SETSID = 1, F_SETPGROUP = 2, F_SETCGROUP = 4 };
enum sa_pgroup { PG_ZERO, PG_HELPER, PG_UNUSED };
enum sa_op { OP_END, OP_CHDIR, OP_FCHDIR, OP_OPEN, OP_CLOSE_DIRFD, OP_TCSETPGRP };
enum sa_cgroup { CG_NONE, CG_SCRATCH, CG_NOT_A_CGROUP };

#define DIRFD 20   /* an O_DIRECTORY fd on $tmp/sub, for addfchdir_np */
#define OPENFD 10  /* where the open actions put "f" */

struct sa_action {
	enum sa_op op;
	const char *path;
};

struct sa_row {
	const char *name;
	unsigned flags;
	enum sa_pgroup pgroup;
	struct sa_action act[3];
	const char *program; /* NULL: the probe by its absolute path */
	int tty;             /* needs a controlling terminal in the spawner */
	enum sa_cgroup cgroup;
};

static const struct sa_row rows[] = {
	{"setsid", F_SETSID, PG_ZERO, {{OP_END, 0}}, NULL, 0, CG_NONE},
	{"setpgroup_zero", F_SETPGROUP, PG_ZERO, {{OP_END, 0}}, NULL, 0, CG_NONE},
	{"setpgroup_join", F_SETPGROUP, PG_HELPER, {{OP_END, 0}}, NULL, 0, CG_NONE},
	{"setpgroup_missing", F_SETPGROUP, PG_UNUSED, {{OP_END, 0}}, NULL, 0, CG_NONE},
	{"setsid_setpgroup", F_SETSID | F_SETPGROUP, PG_ZERO, {{OP_END, 0}}, NULL, 0, CG_NONE},
	{"tcsetpgrp", F_SETPGROUP, PG_ZERO, {{OP_TCSETPGRP, 0}}, NULL, 1, CG_NONE},
	{"tcsetpgrp_setsid", F_SETSID, PG_ZERO, {{OP_TCSETPGRP, 0}}, NULL, 1, CG_NONE},
	{"chdir", 0, PG_ZERO, {{OP_CHDIR, "sub"}}, NULL, 0, CG_NONE},
	{"chdir_missing", 0, PG_ZERO, {{OP_CHDIR, "missing"}}, NULL, 0, CG_NONE},
	{"chdir_then_open", 0, PG_ZERO, {{OP_CHDIR, "sub"}, {OP_OPEN, "f"}}, NULL, 0, CG_NONE},
	{"open_then_chdir", 0, PG_ZERO, {{OP_OPEN, "f"}, {OP_CHDIR, "sub"}}, NULL, 0, CG_NONE},
	{"chdir_relative_chdir", 0, PG_ZERO, {{OP_CHDIR, "sub"}, {OP_CHDIR, "deeper"}}, NULL, 0, CG_NONE},
	{"fchdir", 0, PG_ZERO, {{OP_FCHDIR, 0}}, NULL, 0, CG_NONE},
	{"fchdir_closed", 0, PG_ZERO, {{OP_CLOSE_DIRFD, 0}, {OP_FCHDIR, 0}}, NULL, 0, CG_NONE},
	{"chdir_relative_program", 0, PG_ZERO, {{OP_CHDIR, "sub"}}, "./prog", 0, CG_NONE},
	{"relative_program", 0, PG_ZERO, {{OP_END, 0}}, "./prog", 0, CG_NONE},
	{"setcgroup", F_SETCGROUP, PG_ZERO, {{OP_END, 0}}, NULL, 0, CG_SCRATCH},
	{"setcgroup_not_cgroup", F_SETCGROUP, PG_ZERO, {{OP_END, 0}}, NULL, 0, CG_NOT_A_CGROUP},
};

/* ---- what the libc has ---- */

/* A libc function beyond POSIX (libc_ext: linked when the build's headers
 * declare it, dlsym in a dynamic build), or NULL with ERR saying why not. */
static void *libc_fn(enum libc_ext_id id, void *fn, char *err, size_t errlen)
{
	const char *how = "";
	if (fn)
		return fn;
	libc_ext_has(id, &how);
	snprintf(err, errlen, "%s: %s", libc_ext_name(id), how);
	return NULL;
}

/* The libc's value of a flag, or 0 with ERR when the build's headers lack it. */
static short libc_flag(unsigned f, char *err, size_t errlen)
{
	(void)err; /* unused when the headers have every flag */
	(void)errlen;
	switch (f) {
	case F_SETSID:
#ifdef POSIX_SPAWN_SETSID
		return POSIX_SPAWN_SETSID;
#else
		snprintf(err, errlen, "the build's <spawn.h> has no POSIX_SPAWN_SETSID (glibc 2.26, musl 1.1.22)");
		return 0;
#endif
	case F_SETPGROUP:
		return POSIX_SPAWN_SETPGROUP;
	case F_SETCGROUP:
#ifdef POSIX_SPAWN_SETCGROUP
		return POSIX_SPAWN_SETCGROUP;
#else
		snprintf(err, errlen, "the build's <spawn.h> has no POSIX_SPAWN_SETCGROUP (glibc 2.39)");
		return 0;
#endif
	}
	return 0;
}

/* ---- set-up the rows need ---- */

struct sa_env {
	pid_t helper;           /* a process leading its own group, or -1 */
	int tty;                /* the controlling terminal's slave fd, or -1 */
	int ptm;
	struct cgroup_tmp cg;
	int cgfd;               /* the fd given as the cgroup */
};

/* A group for the child to join: a child of ours, leader of a new group,
 * that waits until it is killed (or the unit's time is up). */
static pid_t start_helper(uint64_t deadline_ms)
{
	pid_t pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		while (mono_ms() < deadline_ms)
			pause();
		_exit(0);
	}
	if (pid > 0 && setpgid(pid, pid) < 0 && errno != EACCES) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return pid;
}

/* The spawner becomes a session leader with a pty as its controlling
 * terminal (setsid, then open the slave without O_NOCTTY; TIOCSCTTY if
 * the open did not take it). */
static int take_tty(struct sa_env *e, char *err, size_t errlen)
{
	if (setsid() < 0) {
		snprintf(err, errlen, "setsid: %s", strerror(errno));
		return -1;
	}
	e->ptm = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (e->ptm < 0) {
		snprintf(err, errlen, "posix_openpt: %s", strerror(errno));
		return errno == ENOENT || errno == ENXIO ? STEP_UNSUPPORTED : -1;
	}
	const char *name = grantpt(e->ptm) == 0 && unlockpt(e->ptm) == 0 ? ptsname(e->ptm) : NULL;
	e->tty = name ? open(name, O_RDWR | O_CLOEXEC) : -1;
	if (e->tty < 0) {
		/* No devpts where ptsname points: no pty here. */
		snprintf(err, errlen, "posix_openpt: opening the pty slave: %s", strerror(errno));
		return errno == ENOENT || errno == ENXIO || errno == EIO ? STEP_UNSUPPORTED : -1;
	}
	if (tcgetsid(e->tty) != getpid() && ioctl(e->tty, TIOCSCTTY, 0) < 0) {
		snprintf(err, errlen, "TIOCSCTTY: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int prepare(const struct sa_row *r, struct step_ctx *ctx, struct sa_env *e, char *err, size_t errlen)
{
	char p[4200];
	static const char *const dirs[] = {"sub", "sub/deeper"};
	for (size_t i = 0; i < 2; i++) {
		snprintf(p, sizeof p, "%s/%s", ctx->tmp, dirs[i]);
		if (mkdir(p, 0755) < 0 && errno != EEXIST) {
			snprintf(err, errlen, "mkdir %s: %s", p, strerror(errno));
			return -1;
		}
	}
	static const char *const files[] = {"f", "sub/f"};
	for (size_t i = 0; i < 2; i++) {
		snprintf(p, sizeof p, "%s/%s", ctx->tmp, files[i]);
		int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0) {
			snprintf(err, errlen, "creating %s: %s", p, strerror(errno));
			return -1;
		}
		close(fd);
	}
	int d = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int sub = openat(d, "sub", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(d);
	if (sub < 0 || dup3(sub, DIRFD, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "the directory fd: %s", strerror(errno));
		return -1;
	}
	close(sub);
	if (r->program) {
		/* The probe, as "prog" in sub only: "./prog" names it only from there. */
		snprintf(p, sizeof p, "%s/sub/prog", ctx->tmp);
		size_t len = 0;
		char *data = read_file(ctx->probe, 64u << 20, &len);
		int fd = data ? open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755) : -1;
		int ok = fd >= 0 && write_all(fd, data, len) == 0;
		if (fd >= 0)
			close(fd);
		free(data);
		if (!ok) {
			snprintf(err, errlen, "copying the probe to %s: %s", p, strerror(errno));
			return -1;
		}
	}
	if (r->pgroup == PG_HELPER && (e->helper = start_helper(ctx->deadline_ms)) < 0) {
		snprintf(err, errlen, "helper group: %s", strerror(errno));
		return -1;
	}
	if (r->tty) {
		int t = take_tty(e, err, errlen);
		if (t)
			return t;
	}
	if (r->cgroup == CG_SCRATCH) {
		int c = cgroup_tmp_make(&e->cg, err, errlen);
		if (c)
			return c;
		e->cgfd = e->cg.fd;
	} else if (r->cgroup == CG_NOT_A_CGROUP) {
		e->cgfd = DIRFD; /* a directory, but not one of cgroupfs */
	}
	return 0;
}

/* A pid that is no process group: a child's, once reaped. */
static pid_t unused_pid(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return pid;
}

/* ---- the spawn ---- */

static int build(const struct sa_row *r, struct sa_env *e, posix_spawn_file_actions_t *fa, posix_spawnattr_t *at,
		 char *err, size_t errlen)
{
	short flags = 0;
	for (unsigned f = 1; f <= F_SETCGROUP; f <<= 1) {
		if (!(r->flags & f))
			continue;
		short v = libc_flag(f, err, errlen);
		if (!v)
			return STEP_UNSUPPORTED;
		flags |= v;
	}
	posix_spawn_file_actions_init(fa);
	posix_spawnattr_init(at);
	posix_spawnattr_setflags(at, flags);
	if (r->flags & F_SETPGROUP)
		posix_spawnattr_setpgroup(at, r->pgroup == PG_HELPER ? e->helper : r->pgroup == PG_UNUSED ? unused_pid() : 0);
	if (r->flags & F_SETCGROUP) {
		setcgroup_fn set = libc_setcgroup_np();
		libc_fn(LIBC_SETCGROUP_NP, *(void **)&set, err, errlen);
		if (!set)
			return STEP_UNSUPPORTED;
		if (set(at, e->cgfd) != 0) {
			snprintf(err, errlen, "posix_spawnattr_setcgroup_np failed");
			return -1;
		}
	}
	for (size_t i = 0; i < 3 && r->act[i].op != OP_END; i++) {
		const struct sa_action *a = &r->act[i];
		int rc = 0;
		if (a->op == OP_CHDIR) {
			addchdir_fn f = libc_addchdir_np();
			libc_fn(LIBC_ADDCHDIR_NP, *(void **)&f, err, errlen);
			if (!f)
				return STEP_UNSUPPORTED;
			rc = f(fa, a->path);
		} else if (a->op == OP_FCHDIR || a->op == OP_TCSETPGRP) {
			addfchdir_fn f = a->op == OP_FCHDIR ? libc_addfchdir_np() : libc_addtcsetpgrp_np();
			libc_fn(a->op == OP_FCHDIR ? LIBC_ADDFCHDIR_NP : LIBC_ADDTCSETPGRP_NP, *(void **)&f, err, errlen);
			if (!f)
				return STEP_UNSUPPORTED;
			rc = f(fa, a->op == OP_FCHDIR ? DIRFD : e->tty);
		} else if (a->op == OP_OPEN) {
			rc = posix_spawn_file_actions_addopen(fa, OPENFD, a->path, O_RDONLY, 0);
		} else {
			rc = posix_spawn_file_actions_addclose(fa, DIRFD);
		}
		if (rc) {
			snprintf(err, errlen, "adding action %zu: %s", i, strerror(rc));
			return -1;
		}
	}
	return 0;
}

/* clone3 with CLONE_INTO_CGROUP: the kernel's own placement, the one
 * POSIX_SPAWN_SETCGROUP is built on (glibc spawni.c __spawnix). */
static int clone3_into(int cgfd, const char *path, char *const argv[], char *const envp[], pid_t *pid, int *pidfd)
{
	struct sl_clone_args a;
	memset(&a, 0, sizeof a);
	a.flags = CLONE_PIDFD | CLONE_INTO_CGROUP;
	a.pidfd = (uint64_t)(uintptr_t)pidfd;
	a.exit_signal = SIGCHLD;
	a.cgroup = (uint64_t)cgfd;
	long r = sl_clone3(&a, SL_CLONE_ARGS_SIZE_VER2);
	if (r == 0) {
		execve(path, argv, envp);
		_exit(127);
	}
	if (r < 0)
		return errno;
	*pid = (pid_t)r;
	return 0;
}

static void end_env(struct sa_env *e)
{
	if (e->helper > 0) {
		kill(e->helper, SIGKILL);
		waitpid(e->helper, NULL, 0);
	}
	/* Closing the master hangs the terminal up: SIGHUP to us, its
	 * controlling process (tty_vhangup). */
	if (e->ptm >= 0)
		signal(SIGHUP, SIG_IGN);
	if (e->tty >= 0)
		close(e->tty);
	if (e->ptm >= 0)
		close(e->ptm);
	cgroup_tmp_remove(&e->cg);
}

/* The arguments of `run spawn_attr`, named where the spec below declares them. */
enum { SPAWN_ATTR_ROW };

static int exp_spawn_attr(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)iv;
	const struct sa_row *r = EXP_ROW(rows, sv[SPAWN_ATTR_ROW], "spawn_attr", err, errlen);
	if (!r)
		return -1;
	const char *be = ctx->be->name;
	int via_clone3 = strcmp(be, "clone3") == 0;
	if (!(strcmp(be, "posix_spawn") == 0 || strcmp(be, "pidfd_spawn") == 0 || (via_clone3 && r->cgroup))) {
		snprintf(err, errlen, "spawn_attr row %s runs with posix_spawn or pidfd_spawn%s, not %s", r->name,
			 r->cgroup ? " (or clone3)" : "", be);
		return -1;
	}
	struct sa_env e = {-1, -1, -1, {.fd = -1}, -1};
	int rc = prepare(r, ctx, &e, err, errlen);
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int built = 0;
	if (rc == 0 && !via_clone3) {
		rc = build(r, &e, &fa, &at, err, errlen);
		built = 1;
	}
	if (rc) {
		if (built) {
			posix_spawn_file_actions_destroy(&fa);
			posix_spawnattr_destroy(&at);
		}
		end_env(&e);
		return rc;
	}

	char out[4096], abs[4096];
	snprintf(out, sizeof out, "%s/probe.out", ctx->tmp);
	snprintf(abs, sizeof abs, "%s", ctx->probe);
	const char *path = r->program ? r->program : abs;
	char *argv[] = {(char *)path, "--out", out, NULL};
	char *envp[] = {"PATH=/usr/bin:/bin", "LC_ALL=C", NULL};
	obs_put(ctx, "spawner.tmp", "%s", ctx->tmp);
	obs_put(ctx, "spawner.pid", "%ld", (long)getpid());
	obs_put(ctx, "spawner.pgid", "%ld", (long)getpgrp());
	obs_put(ctx, "spawner.sid", "%ld", (long)getsid(0));
	if (e.helper > 0)
		obs_put(ctx, "helper.pid", "%ld", (long)e.helper);
	if (r->cgroup == CG_SCRATCH) {
		obs_put(ctx, "cgroup.made", "%s", e.cg.path);
		obs_put(ctx, "cgroup.spawner", "%s", e.cg.own);
	}

	pid_t pid = -1;
	int pidfd = -1, ret;
	if (via_clone3) {
		ret = clone3_into(e.cgfd, path, argv, envp, &pid, &pidfd);
	} else if (strcmp(be, "posix_spawn") == 0) {
		ret = posix_spawn(&pid, path, &fa, &at, argv, envp);
	} else {
		pidfd_spawn_fn f = libc_pidfd_spawn();
		libc_fn(LIBC_PIDFD_SPAWN, *(void **)&f, err, errlen);
		ret = f ? f(&pidfd, path, &fa, &at, argv, envp) : ENOSYS;
		if (ret == 0)
			pid = sl_pidfd_pid(pidfd);
	}
	if (built) {
		posix_spawn_file_actions_destroy(&fa);
		posix_spawnattr_destroy(&at);
	}
	obs_put(ctx, "spawn.errno", "%s", ret ? errno_name(ret) : "0");
	obs_put(ctx, "child.pid", "%ld", (long)pid);
	/* posix_spawn returns once the child has exec'd (or failed): its
	 * tcsetpgrp action is done by now. */
	if (e.tty >= 0)
		obs_put(ctx, "tty.foreground", "%ld", (long)tcgetpgrp(e.tty));
	if (ret == 0 && (pid > 0 || pidfd >= 0)) {
		struct spawn_res res = {pid, pidfd, 0, 1};
		struct child_status st;
		int budget = (int)(ctx->deadline_ms - mono_ms());
		child_wait(&res, budget > 0 ? budget : 1, &st);
		obs_put(ctx, "exit.code", "%d", st.end == CHILD_EXITED ? st.code : -1);
	} else {
		obs_put(ctx, "exit.code", "none");
	}
	if (pidfd >= 0)
		close(pidfd);
	end_env(&e);
	if (r->cgroup == CG_SCRATCH)
		obs_put(ctx, "cgroup.removed", "%s", e.cg.dir[0] ? "no" : "yes");
	char *text = read_file(out, 1 << 20, NULL);
	if (text) {
		struct kv m;
		kv_init(&m);
		kv_parse(&m, text);
		for (size_t i = 0; i < m.n; i++)
			obs_put(ctx, m.key[i], "%s", m.val[i]);
		kv_free(&m);
		free(text);
	}
	return 0;
}

/* The experiment kinds of this file (the families' registry lists them). */
const struct step_kind spawnattr_kinds[] = {
	{.name = "spawn_attr",
	 .summary = "posix_spawn or pidfd_spawn with one row of attributes and file actions (clone3: CLONE_INTO_CGROUP)",
	 .args = {[SPAWN_ATTR_ROW] = {"row", ARG_CHOICE, 1, NULL, "setsid|setpgroup_zero|setpgroup_join|setpgroup_missing|setsid_setpgroup|tcsetpgrp|" 
	   "tcsetpgrp_setsid|chdir|chdir_missing|chdir_then_open|open_then_chdir|chdir_relative_chdir|" 
	   "fchdir|fchdir_closed|chdir_relative_program|relative_program|setcgroup|setcgroup_not_cgroup"}},
	 .run = exp_spawn_attr,
	 .flags = KIND_PROBE_KEYS,
	 .backends = "posix_spawn,pidfd_spawn,clone3",
	 .keys = "cgroup.{made,removed,spawner} helper.pid tty.foreground"},
	{0},
};
