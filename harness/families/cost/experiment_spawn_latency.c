/* experiment_spawn_latency.c: how long one spawn takes through a backend,
 * from the spawn call until the child has exited and been reaped, one
 * child at a time.  The child is the static probe exiting at once
 * (--exit-now) or /bin/true (dynamically linked). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/child_wait.h"
#include "families/experiments.h"
#include "lib/util.h"

#define MAX_COUNT 100000

/* The arguments of `run spawn_latency`, named where the spec below declares them. */
enum { SPAWN_LATENCY_COUNT, SPAWN_LATENCY_PROGRAM };

static int exp_spawn_latency(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)sv;
	long count = iv[SPAWN_LATENCY_COUNT];
	if (count < 1 || count > MAX_COUNT) {
		snprintf(err, errlen, "count must be 1..%d", MAX_COUNT);
		return -1;
	}
	char *path = iv[SPAWN_LATENCY_PROGRAM] == 0 ? (char *)ctx->probe : "/bin/true";
	char *argv[] = {path, iv[SPAWN_LATENCY_PROGRAM] == 0 ? "--exit-now" : NULL, NULL};
	char *envp[] = {"PATH=/usr/bin:/bin", NULL};
	struct spawn_req req;
	spawn_req_stdio(&req, ctx->be, path, argv, envp);
	double *total = xcalloc((size_t)count, sizeof *total), *call = xcalloc((size_t)count, sizeof *call);
	long done = 0, failed = 0;
	for (; done < count; done++) {
		if (mono_ms() + 50 >= ctx->deadline_ms)
			break;
		struct spawn_res res = {-1, -1, 0, 0};
		uint64_t t0 = mono_us();
		if (ctx->be->spawn(&req, &res) < 0 || res.err) {
			failed++;
			snprintf(err, errlen, "spawn failed: %s", strerror(res.err ? res.err : errno));
			break;
		}
		uint64_t t1 = mono_us();
		struct child_status st;
		child_wait(&res, (int)(ctx->deadline_ms - mono_ms()), &st);
		uint64_t t2 = mono_us();
		if (res.pidfd >= 0)
			close(res.pidfd);
		if (st.end != CHILD_EXITED || st.code != 0)
			failed++;
		call[done] = (double)(t1 - t0);
		total[done] = (double)(t2 - t0);
	}
	obs_num(ctx, "spawns", (double)done);
	obs_num(ctx, "failed", (double)failed);
	obs_put(ctx, "latency.complete", "%s", done == count ? "yes" : "no");
	exp_summarise(ctx, "call", call, (size_t)done);
	exp_summarise(ctx, "reaped", total, (size_t)done);
	free(total);
	free(call);
	return failed && done == 0 ? -1 : 0;
}

/* The experiment kinds of this file (the families' registry lists them). */
const struct step_kind spawn_latency_kinds[] = {
	{.name = "spawn_latency",
	 .summary = "spawn COUNT children through the backend, each waited for before the next: latency per spawn",
	 .args = {[SPAWN_LATENCY_COUNT] = {"count", ARG_INT, 0, "200", NULL},
		  [SPAWN_LATENCY_PROGRAM] = {"program", ARG_CHOICE, 0, "probe", "probe|true"}},
	 .run = exp_spawn_latency,
	 .flags = KIND_ALONE,
	 .keys = "latency.complete "
		 "num.{call_iqr_us,call_max_us,call_mean_us,call_median_us,call_min_us,call_p99_us,failed,reaped_iqr_us,reaped_max_us,reaped_mean_us,reaped_median_us,reaped_min_us,reaped_p99_us,spawns}"},
	{0},
};
