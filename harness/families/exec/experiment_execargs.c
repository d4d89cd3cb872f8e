/* experiment_execargs.c: argument lists the runner's fixed argv cannot
 * make, spawned through the backend under test: an empty argv (what argv[0]
 * the program sees, the CVE-2021-4034 class) and argument lists at and over
 * the kernel's limits (E2BIG).  The child is the probe, which takes its
 * report path from SPAWNLAB_PROBE_OUT, so it reports even with no argv. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "backends/child_wait.h"
#include "families/experiments.h"
#include "core/kv.h"
#include "lib/names.h"
#include "lib/util.h"

/* include/uapi/linux/binfmts.h MAX_ARG_STRLEN is 32 pages, with its NUL;
 * include/uapi/linux/limits.h ARG_MAX is the floor of the argument space. */
#define ARG_STRLEN_MAX (32L * sysconf(_SC_PAGESIZE))
#define ARG_SPACE_FLOOR (128L * 1024)
/* fs/exec.c bprm_stack_limits: at most 3/4 of _STK_LIM (8 MiB). */
#define ARG_SPACE_CEIL (8L * 1024 * 1024 / 4 * 3)
#define PAD_CHUNK (64L * 1024)
#define MARGIN (64L * 1024)

enum argv_shape { AV_EMPTY, AV_LONG_STRING, AV_LONGEST_STRING, AV_OVER_LIMIT, AV_UNDER_LIMIT };

/* The argument space execve allows with the caller's RLIMIT_STACK:
 * min(6 MiB, stack/4), at least ARG_MAX (fs/exec.c bprm_stack_limits). */
static long arg_space(void)
{
	struct rlimit rl;
	long lim = ARG_SPACE_CEIL;
	if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && (long)(rl.rlim_cur / 4) < lim)
		lim = (long)(rl.rlim_cur / 4);
	return lim < ARG_SPACE_FLOOR ? ARG_SPACE_FLOOR : lim;
}

struct arglist {
	char **v;
	size_t n;
	char *pad; /* one buffer of 'a's that every padding argument points into */
	long bytes;
};

/* argv = probe, then padding arguments whose strings total BYTES (each at
 * most CHUNK long, NUL included).  The probe ignores arguments it does not
 * know. */
static int build(struct arglist *a, const char *probe, long bytes, long chunk)
{
	size_t n = (size_t)((bytes + chunk - 1) / chunk);
	a->v = calloc(n + 2, sizeof *a->v);
	a->pad = malloc((size_t)chunk);
	if (!a->v || !a->pad)
		return -1;
	memset(a->pad, 'a', (size_t)chunk);
	a->v[0] = (char *)probe;
	a->n = 1;
	a->bytes = 0;
	for (long left = bytes; left > 0; left -= chunk) {
		long len = left < chunk ? left : chunk;
		/* Strings of different lengths share the buffer from its end. */
		a->pad[chunk - 1] = 0;
		a->v[a->n++] = a->pad + (chunk - len);
		a->bytes += len;
	}
	return 0;
}

/* The arguments of `run exec_args`, named where the spec below declares them. */
enum { EXEC_ARGS_ARGV };

static int exp_exec_args(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)sv;
	enum argv_shape shape = (enum argv_shape)iv[EXEC_ARGS_ARGV];
	char out[4096], outenv[4200];
	snprintf(out, sizeof out, "%s/probe.out", ctx->tmp);
	snprintf(outenv, sizeof outenv, "SPAWNLAB_PROBE_OUT=%s", out);
	char *envp[] = {outenv, "PATH=/usr/bin:/bin", "LC_ALL=C", NULL};
	struct arglist a = {0};
	long space = arg_space();
	int r = 0;
	switch (shape) {
	case AV_EMPTY:
		a.v = calloc(1, sizeof *a.v);
		r = a.v ? 0 : -1;
		break;
	case AV_LONG_STRING: /* one string of MAX_ARG_STRLEN bytes with its NUL: one too many */
		r = build(&a, ctx->probe, ARG_STRLEN_MAX + 1, ARG_STRLEN_MAX + 1);
		break;
	case AV_LONGEST_STRING:
		r = build(&a, ctx->probe, ARG_STRLEN_MAX, ARG_STRLEN_MAX);
		break;
	case AV_OVER_LIMIT:
		r = build(&a, ctx->probe, space + MARGIN, PAD_CHUNK);
		break;
	case AV_UNDER_LIMIT:
		r = build(&a, ctx->probe, space - 2 * MARGIN, PAD_CHUNK);
		break;
	}
	if (r < 0) {
		snprintf(err, errlen, "out of memory building the argument list");
		free(a.v);
		free(a.pad);
		return -1;
	}
	obs_num(ctx, "arg_space", (double)space);
	obs_num(ctx, "arg_pad_bytes", (double)a.bytes);
	obs_num(ctx, "argc_given", (double)a.n);

	struct spawn_req req;
	spawn_req_stdio(&req, ctx->be, ctx->probe, a.v, envp);
	struct spawn_res res = {-1, -1, 0, 0};
	if (ctx->be->spawn(&req, &res) < 0) {
		snprintf(err, errlen, "%s could not try: %s", ctx->be->name, strerror(errno));
		free(a.v);
		free(a.pad);
		return -1;
	}
	free(a.v);
	free(a.pad);
	obs_put(ctx, "spawn.errno", "%s", res.err ? errno_name(res.err) : "0");
	if (res.err == 0 && (res.pid > 0 || res.pidfd >= 0)) {
		struct child_status st;
		int budget = (int)(ctx->deadline_ms - mono_ms());
		child_wait(&res, budget > 0 ? budget : 1, &st);
		if (res.pidfd >= 0)
			close(res.pidfd);
		if (st.end == CHILD_EXITED)
			obs_put(ctx, "exit.code", "%d", st.code);
		else
			obs_put(ctx, "exit.code", "%s", st.end == CHILD_TIMEOUT ? "timeout" : "none");
	} else {
		obs_put(ctx, "exit.code", "none");
	}
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
const struct step_kind execargs_kinds[] = {
	{.name = "exec_args",
	 .summary = "spawn the probe with an empty argv, or argument lists at and over the kernel's limits",
	 .args = {[EXEC_ARGS_ARGV] = {"argv", ARG_CHOICE, 1, NULL, "empty|long_string|longest_string|over_limit|under_limit"}},
	 .run = exp_exec_args,
	 .flags = KIND_PROBE_KEYS,
	 .keys = "num.{arg_pad_bytes,arg_space,argc_given}"},
	{0},
};
