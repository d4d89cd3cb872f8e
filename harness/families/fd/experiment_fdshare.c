/* experiment_fdshare.c: a file descriptor table shared through CLONE_FILES.
 * A child made by clone3(CLONE_FILES) calls close_range(2) with a row's
 * range and flags, on a dense or a sparse table, with RLIMIT_NOFILE as it
 * was or lowered below the highest fd; what the child and then the parent
 * see of fds 10, 11 and 1000 is recorded.  One row instead has a
 * CLONE_VFORK|CLONE_FILES child exec the probe: the exec gives the child a
 * table of its own before it closes the close-on-exec fds (fs/exec.c
 * begin_new_exec -> unshare_files), so the parent keeps them.
 *
 * This is the kernel's fd table, not a spawn mechanism: the experiment
 * makes its own children and runs under one backend (cases/fd/share.case). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/case.h"
#include "families/experiments.h"
#include "core/kv.h"
#include "lib/names.h"
#include "sys/sys.h"
#include "lib/reap.h"
#include "lib/util.h"

enum layout { L_DENSE, L_SPARSE };
enum action { A_CLOSE_RANGE, A_EXEC };

struct share_row {
	const char *name;
	enum layout layout;
	int low_rlimit;        /* RLIMIT_NOFILE soft lowered to 25, under fd 1000 */
	enum action action;
	unsigned first, last;
	unsigned flags;        /* CLOSE_RANGE_*; ~0U: an invalid flag */
};

#define HIGH_FD 1000
#define LOW_NOFILE 25
#define BAD_FLAGS 0x80000000U

static const struct share_row rows[] = {
	{"shared_close", L_DENSE, 0, A_CLOSE_RANGE, 10, ~0U, 0},
	{"unshare_close", L_DENSE, 0, A_CLOSE_RANGE, 10, ~0U, CLOSE_RANGE_UNSHARE},
	{"shared_cloexec", L_SPARSE, 0, A_CLOSE_RANGE, 3, ~0U, CLOSE_RANGE_CLOEXEC},
	{"unshare_cloexec", L_SPARSE, 0, A_CLOSE_RANGE, 3, ~0U, CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC},
	{"sparse_close", L_SPARSE, 0, A_CLOSE_RANGE, 11, ~0U, 0},
	{"sparse_unshare", L_SPARSE, 0, A_CLOSE_RANGE, 11, ~0U, CLOSE_RANGE_UNSHARE},
	{"rlimit_close", L_SPARSE, 1, A_CLOSE_RANGE, 11, ~0U, 0},
	{"rlimit_cloexec", L_SPARSE, 1, A_CLOSE_RANGE, 3, ~0U, CLOSE_RANGE_CLOEXEC},
	{"rlimit_unshare_cloexec", L_SPARSE, 1, A_CLOSE_RANGE, 3, ~0U, CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC},
	{"bad_flags", L_DENSE, 0, A_CLOSE_RANGE, 10, ~0U, BAD_FLAGS},
	{"first_after_last", L_DENSE, 0, A_CLOSE_RANGE, 11, 10, 0},
	{"vfork_files_exec", L_DENSE, 0, A_EXEC, 0, 0, 0},
};

static const int watched[] = {10, 11, HIGH_FD};

/* The fds of LAYOUT: dense 10 (plain) and 11 (close-on-exec); sparse 10
 * and 1000, both plain. */
static int make_layout(enum layout l, char *err, size_t errlen)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || dup2(fd, 10) < 0 || (l == L_DENSE ? dup3(fd, 11, O_CLOEXEC) : dup2(fd, HIGH_FD)) < 0) {
		snprintf(err, errlen, "making the fd table: %s", strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

/* Each watched fd as "closed", "plain" or "cloexec", and FDSize (the size
 * of the table, fs/proc/array.c task_state), as "key value" lines. */
static void view(struct sbuf *b, const char *who)
{
	for (size_t i = 0; i < sizeof watched / sizeof *watched; i++) {
		int fl = fcntl(watched[i], F_GETFD);
		sb_addf(b, "%s.fd.%d %s\n", who, watched[i], fl < 0 ? "closed" : fl & FD_CLOEXEC ? "cloexec" : "plain");
	}
	char *st = read_file("/proc/self/status", 1 << 16, NULL);
	const char *f = st ? strstr(st, "\nFDSize:") : NULL;
	if (f)
		sb_addf(b, "%s.fdsize %ld\n", who, strtol(f + 8, NULL, 10));
	free(st);
}

/* Child of clone3(CLONE_FILES): close_range, then its view, written to
 * the file REPORT (not a pipe: every fd the parent closed after the clone
 * would be gone here too while the table is shared). */
static void child_close_range(const struct share_row *r, const char *report)
{
	struct sbuf b;
	sb_init(&b);
	int rc = sl_close_range(r->first, r->last, r->flags);
	sb_addf(&b, "child.close_range %s\n", rc == 0 ? "0" : errno_name(errno));
	view(&b, "child");
	int fd = open(report, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	_exit(fd >= 0 && write_all(fd, b.s, b.len) == 0 && close(fd) == 0 ? 0 : 1);
}

static void forward(struct step_ctx *ctx, const char *text)
{
	struct kv m;
	kv_init(&m);
	kv_parse(&m, text);
	for (size_t i = 0; i < m.n; i++)
		obs_put(ctx, m.key[i], "%s", m.val[i]);
	kv_free(&m);
}


/* The arguments of `run fd_share`, named where the spec below declares them. */
enum { FD_SHARE_ROW };

static int exp_fd_share(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)iv;
	const struct share_row *r = EXP_ROW(rows, sv[FD_SHARE_ROW], "fd_share", err, errlen);
	if (!r)
		return -1;
	if (make_layout(r->layout, err, errlen) < 0)
		return -1;
	if (r->low_rlimit) {
		struct rlimit rl;
		if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || (rl.rlim_cur = LOW_NOFILE, setrlimit(RLIMIT_NOFILE, &rl)) < 0) {
			snprintf(err, errlen, "lowering RLIMIT_NOFILE: %s", strerror(errno));
			return -1;
		}
		obs_num(ctx, "rlimit_nofile", LOW_NOFILE);
	}
	char out[4096], report[4096];
	snprintf(out, sizeof out, "%s/probe.out", ctx->tmp);
	snprintf(report, sizeof report, "%s/child.report", ctx->tmp);
	char *argv[] = {(char *)ctx->probe, "--out", out, NULL};
	char *envp[] = {"PATH=/usr/bin:/bin", "LC_ALL=C", NULL};
	struct sl_clone_args a;
	memset(&a, 0, sizeof a);
	a.flags = CLONE_FILES | (r->action == A_EXEC ? CLONE_VFORK : 0);
	a.exit_signal = SIGCHLD;
	long pid = sl_clone3(&a, SL_CLONE_ARGS_SIZE_VER0);
	if (pid == 0) {
		if (r->action == A_EXEC) {
			execve(ctx->probe, argv, envp);
			_exit(127);
		}
		child_close_range(r, report);
	}
	if (pid < 0) {
		snprintf(err, errlen, "clone3(CLONE_FILES%s): %s", r->action == A_EXEC ? "|CLONE_VFORK" : "",
			 strerror(errno));
		return errno == ENOSYS ? STEP_UNSUPPORTED : -1;
	}
	int status = 0;
	if (sl_reap_by((pid_t)pid, &status, ctx->deadline_ms) != SL_REAPED) {
		snprintf(err, errlen, "waiting for the clone3 child: %s", strerror(errno));
		return -1;
	}
	obs_put(ctx, "child.exit", "%d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	char *text = r->action == A_CLOSE_RANGE ? read_file(report, 1 << 16, NULL) : NULL;
	if (text) {
		forward(ctx, text);
		free(text);
	}
	/* The parent's view after the child has gone: what the shared table
	 * was left with (for the vfork row, also after the probe ran). */
	struct sbuf b;
	sb_init(&b);
	view(&b, "parent");
	forward(ctx, b.s);
	sb_free(&b);
	if (r->action == A_EXEC && (text = read_file(out, 1 << 20, NULL))) {
		forward(ctx, text);
		free(text);
	}
	return 0;
}

/* The experiment kinds of this file (the families' registry lists them). */
const struct step_kind fdshare_kinds[] = {
	{.name = "fd_share",
	 .summary = "a clone3(CLONE_FILES) child calls close_range (or, CLONE_VFORK too, execs): both sides' fds",
	 .args = {[FD_SHARE_ROW] = {"row", ARG_CHOICE, 1, NULL, "shared_close|unshare_close|shared_cloexec|unshare_cloexec|sparse_close|sparse_unshare|" 
	   "rlimit_close|rlimit_cloexec|rlimit_unshare_cloexec|bad_flags|first_after_last|vfork_files_exec"}},
	 .run = exp_fd_share,
	 .flags = KIND_PROBE_KEYS,
	 .backends = "none",
	 .keys = "child.{close_range,exit,fd.#,fdsize} num.rlimit_nofile parent.{fd.#,fdsize}"},
	{0},
};
