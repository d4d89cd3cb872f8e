/* experiment_pidwrap.c: pid wraparound.  Forces a pid to be handed out
 * again inside a private pid namespace and shows what a stored pid (and a
 * pidfd) names afterwards.  The host's pid_max is never written: see
 * pidwrap.h for why the namespace's write cannot reach it. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "families/experiments.h"
#include "lib/feature.h"
#include "families/pidwrap/pidwrap.h"

struct wrap_job {
	const struct pidwrap_scenario *sc;
	enum pidwrap_method want;
	int has_ns_pid_max;
};
static struct wrap_job job; /* set before the fork; W only reads it */

/* In W, pid 1 of the wrap namespace. */
static int wrap_main(struct pidwrap *pw, char *err, size_t errlen)
{
	/* Victims inherit this mask, so no signal sent to them is lost
	 * between their fork and their own sigprocmask. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int r = pidwrap_setup(pw, job.want, job.has_ns_pid_max, err, errlen);
	if (r != 0)
		return r;
	r = job.sc->run(pw, err, errlen);
	obs_num(pw->ctx, "fillers", (double)pw->fillers);
	return r;
}

/* The arguments of `run pidwrap`, named where the spec below declares them. */
enum { PIDWRAP_SCENARIO, PIDWRAP_PID_MAX, PIDWRAP_METHOD };

static int exp_pidwrap(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	/* By name: the case language's choice list and the table may differ in order. */
	job.sc = NULL;
	for (size_t i = 0; sv[PIDWRAP_SCENARIO] && i < pidwrap_nscenarios; i++)
		if (strcmp(pidwrap_scenarios[i].name, sv[PIDWRAP_SCENARIO]) == 0)
			job.sc = &pidwrap_scenarios[i];
	if (!job.sc) {
		snprintf(err, errlen, "unknown scenario %s", sv[PIDWRAP_SCENARIO] ? sv[PIDWRAP_SCENARIO] : "(none)");
		return -1;
	}
	long pid_max = iv[PIDWRAP_PID_MAX];
	if (pid_max <= PIDWRAP_RESERVED || pid_max > PIDWRAP_MAX_PID_MAX) {
		snprintf(err, errlen, "pid_max must be %d..%d", PIDWRAP_RESERVED + 1, PIDWRAP_MAX_PID_MAX);
		return -1;
	}
	job.want = (enum pidwrap_method)iv[PIDWRAP_METHOD];
	/* Probed here, outside the wrap namespace, where the probes work. */
	job.has_ns_pid_max = feature_has("namespaced_pid_max");
	struct pidwrap pw;
	memset(&pw, 0, sizeof pw);
	pw.ctx = ctx;
	pw.pid_max = pid_max;
	pw.has_set_tid = feature_has("clone3_set_tid");
	obs_put(ctx, "pidwrap.scenario", "%s", job.sc->name);
	return pidwrap_in_ns(&pw, wrap_main, err, errlen);
}

/* The experiment kinds of this file (the families' registry lists them). */
const struct step_kind pidwrap_kinds[] = {
	{.name = "pidwrap",
	 .summary = "force a pid to come round again in a private pid namespace; what a stale pid or pidfd reaches",
	 .args = {[PIDWRAP_SCENARIO] = {"scenario", ARG_CHOICE, 1, NULL, "wrap|zombie|stale_kill|pidfd_open_race|waitpid_stale|proc_stale|pdspawn_api"},
		  [PIDWRAP_PID_MAX] = {"pid_max", ARG_INT, 0, "400", NULL},
		  [PIDWRAP_METHOD] = {"method", ARG_CHOICE, 0, "auto", "auto|pid_max|ns_last_pid|set_tid"}},
	 .run = exp_pidwrap,
	 .keys = "num.{fillers,forks_while_zombie,ms,spawns_to_reuse} "
		 "pdspawn.{kill,pid_after_reap,pid_after_reuse,wait,wait_again} "
		 "pidwrap.{kernel_uid,method,pid_max,pid_max_inherited,scenario} "
		 "proc.{after_comm,before_comm,before_dirfd,old_dirfd_comm,same_start_time} "
		 "race.{pidfd_open,pidfd_pid,pidfd_send_signal} "
		 "stale.{exit,kill,pid,pidfd_from,pidfd_pid,pidfd_send_signal} "
		 "victim.{after_kill,after_new_pidfd,after_pidfd,pid,sender} "
		 "waitpid.{old_pidfd,reaped,status,wnohang} wrap.{first_pid,max_pid,reused,reused_pid} "
		 "zombie.{aimed_got,passed,pid,reused_after_reap,reused_while_zombie,state}"},
	{0},
};
