/* experiment_threads.c: pidfds of a multi-threaded child of the backend
 * under test (build/pidfd-child runs pthreads).
 *
 * leader_exit   the thread-group leader exits alone while a thread lives:
 *               the process pidfd gives no exit notice and waitid nothing
 *               until the last thread is gone (fs/pidfs.c pidfd_poll,
 *               delay_group_leader; kernel/exit.c)
 * thread_exec   a non-leader thread execs: it takes over the leader's pid
 *               (fs/exec.c de_thread exchange_tids), the process pidfd goes
 *               on naming the process, a PIDFD_THREAD pidfd of the thread's
 *               old tid reports that tid gone
 * thread_pidfd  PIDFD_THREAD (6.9): a pidfd for one thread, which reports
 *               that thread's exit while the process lives on */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "families/experiments.h"
#include "lib/feature.h"
#include "core/kv.h"
#include "lib/names.h"
#include "families/pidfd/pidfd_kid.h"

#define CODE 23
#define QUIET_MS 300 /* how long "no notice" is watched for */

static pid_t process_pid; /* the child process, for tgid comparisons */

static void put_poll(struct step_ctx *ctx, const char *key, int revents)
{
	if (revents < 0)
		obs_put(ctx, key, "error");
	else if (revents == 0)
		obs_put(ctx, key, "not_readable");
	else
		obs_put(ctx, key, "%s%s", revents & POLLIN ? "POLLIN" : "",
			revents & POLLHUP ? (revents & POLLIN ? "|POLLHUP" : "POLLHUP") : "");
}

static void put_waitid(struct step_ctx *ctx, const char *key, struct kid *k, int fd, int options)
{
	siginfo_t si;
	memset(&si, 0, sizeof si);
	if (waitid(P_PIDFD, (id_t)fd, &si, options) < 0) {
		obs_put(ctx, key, "%s", errno_name(errno));
		return;
	}
	if (si.si_pid == 0)
		obs_put(ctx, key, "nothing");
	else if (si.si_code == CLD_EXITED)
		obs_put(ctx, key, "%s exit %d", si.si_pid == k->pid ? "child" : "other", si.si_status);
	else
		obs_put(ctx, key, "%s code %d status %d", si.si_pid == k->pid ? "child" : "other", si.si_code,
			si.si_status);
	if (si.si_pid == k->pid && !(options & WNOWAIT))
		k->reaped = 1;
}

static void put_info(struct step_ctx *ctx, const char *prefix, int fd, pid_t pid)
{
	struct sl_pidfd_info info;
	memset(&info, 0, sizeof info);
	info.mask = SL_PIDFD_INFO_EXIT;
	int e = kid_get_info(fd, &info, sizeof info);
	char key[96];
	snprintf(key, sizeof key, "%s.info", prefix);
	if (e) {
		obs_put(ctx, key, "%s", errno_name(e));
		return;
	}
	if (info.mask & SL_PIDFD_INFO_EXIT)
		obs_put(ctx, key, "exit 0x%x", (unsigned)info.exit_code);
	else
		obs_put(ctx, key, "alive");
	if (info.mask & SL_PIDFD_INFO_PID) {
		snprintf(key, sizeof key, "%s.info_pid", prefix);
		obs_put(ctx, key, "%s", info.pid == (uint32_t)pid ? "same" : "other");
		snprintf(key, sizeof key, "%s.info_tgid_is_process", prefix);
		obs_put(ctx, key, "%s", info.tgid == (uint32_t)process_pid ? "yes" : "no");
	}
}

static int spawn_tid(struct step_ctx *ctx, struct kid *k, const char *const *args, pid_t *tid, char *err,
		     size_t errlen)
{
	if (kid_spawn(ctx, k, args, NULL, 0, err, errlen) < 0)
		return -1;
	char line[64];
	long t = 0;
	if (kid_line(k, line, sizeof line, kid_budget(k, 5000)) < 0 || sscanf(line, "tid %ld", &t) != 1 || t <= 0) {
		kid_end(k);
		return EXP_BROKE(err, errlen, "no thread reported its tid (\"%s\")", line);
	}
	*tid = (pid_t)t;
	obs_put(ctx, "thread.tid_differs", "%s", *tid != k->pid ? "yes" : "no");
	return 0;
}

static int sc_leader_exit(struct step_ctx *ctx, char *err, size_t errlen)
{
	struct kid k;
	pid_t tid;
	char code[8];
	snprintf(code, sizeof code, "%d", CODE);
	const char *args[] = {"leader_exit", code, NULL};
	if (spawn_tid(ctx, &k, args, &tid, err, errlen) < 0)
		return -1;
	process_pid = k.pid;
	if (kid_state(k.pid, 'Z', kid_budget(&k, 5000)) < 0) {
		kid_end(&k);
		return EXP_BROKE(err, errlen, "the leader did not exit");
	}
	obs_put(ctx, "leader.state", "Z");
	put_poll(ctx, "leader.pidfd_poll", kid_poll(k.pidfd, QUIET_MS));
	put_waitid(ctx, "leader.waitid_wnohang", &k, k.pidfd, WEXITED | WNOHANG);
	put_info(ctx, "leader", k.pidfd, k.pid);
	close(k.rel); /* the thread calls exit(CODE) */
	k.rel = -1;
	put_poll(ctx, "after.pidfd_poll", kid_poll(k.pidfd, kid_budget(&k, 5000)));
	put_waitid(ctx, "after.waitid", &k, k.pidfd, WEXITED);
	put_info(ctx, "after", k.pidfd, k.pid);
	kid_end(&k);
	return 0;
}

static int thread_pidfd_or_skip(pid_t tid, char *err, size_t errlen)
{
	int fd = sl_pidfd_open(tid, PIDFD_THREAD);
	if (fd < 0)
		snprintf(err, errlen, "pidfd_open(tid, PIDFD_THREAD): %s", errno_name(errno));
	return fd;
}

static int sc_thread_exec(struct step_ctx *ctx, char *err, size_t errlen)
{
	char out[4096];
	snprintf(out, sizeof out, "%s/exec.out", ctx->tmp);
	struct kid k;
	pid_t tid;
	const char *args[] = {"thread_exec", ctx->probe, out, NULL};
	if (spawn_tid(ctx, &k, args, &tid, err, errlen) < 0)
		return -1;
	process_pid = k.pid;
	int tfd = thread_pidfd_or_skip(tid, err, errlen);
	if (tfd < 0) {
		kid_end(&k);
		return STEP_UNSUPPORTED;
	}
	close(k.rel); /* the thread execs the probe, which reports and sleeps */
	k.rel = -1;
	put_poll(ctx, "exec.thread_pidfd_poll", kid_poll(tfd, kid_budget(&k, 5000)));
	put_info(ctx, "exec.thread", tfd, tid);
	put_poll(ctx, "exec.pidfd_poll", kid_poll(k.pidfd, 0));
	kid_poll(k.pidfd, kid_budget(&k, 5000));
	put_waitid(ctx, "exec.waitid", &k, k.pidfd, WEXITED);
	close(tfd);
	struct kv m;
	kv_init(&m);
	char *text = read_file(out, 1 << 20, NULL);
	if (text)
		kv_parse(&m, text);
	free(text);
	const char *pid = kv_get(&m, "pid");
	obs_put(ctx, "exec.probe_pid", "%s", pid ? pid : "absent");
	obs_put(ctx, "exec.probe_pid_is_leader", "%s", pid && atol(pid) == (long)k.pid ? "yes" : "no");
	kv_free(&m);
	kid_end(&k);
	return 0;
}

static int sc_thread_pidfd(struct step_ctx *ctx, char *err, size_t errlen)
{
	struct kid k;
	pid_t tid;
	char code[8];
	snprintf(code, sizeof code, "%d", CODE);
	const char *args[] = {"thread_exit", code, NULL};
	if (spawn_tid(ctx, &k, args, &tid, err, errlen) < 0)
		return -1;
	process_pid = k.pid;
	int plain = sl_pidfd_open(tid, 0);
	obs_put(ctx, "thread.open_plain", "%s", plain >= 0 ? "fd" : errno_name(errno));
	if (plain >= 0)
		close(plain);
	int tfd = thread_pidfd_or_skip(tid, err, errlen);
	if (tfd < 0) {
		kid_end(&k);
		return STEP_UNSUPPORTED;
	}
	obs_put(ctx, "thread.signal0", "%s",
		sl_pidfd_send_signal(tfd, 0, NULL, 0) == 0 ? "0" : errno_name(errno));
	char v[64];
	obs_put(ctx, "thread.fdinfo_pid_is_tid", "%s",
		kid_fdinfo(tfd, "Pid", v, sizeof v) == 0 && atol(v) == (long)tid ? "yes" : "no");
	put_info(ctx, "thread.live", tfd, tid);
	put_poll(ctx, "thread.live_poll", kid_poll(tfd, 0));
	close(k.rel2); /* the thread exits alone */
	k.rel2 = -1;
	put_poll(ctx, "thread.exited_poll", kid_poll(tfd, kid_budget(&k, 5000)));
	put_poll(ctx, "process.poll_after_thread", kid_poll(k.pidfd, QUIET_MS));
	put_info(ctx, "thread.exited", tfd, tid);
	put_waitid(ctx, "thread.waitid", &k, tfd, WEXITED | WNOHANG);
	close(tfd);
	close(k.rel);
	k.rel = -1;
	put_poll(ctx, "process.poll_after_exit", kid_poll(k.pidfd, kid_budget(&k, 5000)));
	put_waitid(ctx, "process.waitid", &k, k.pidfd, WEXITED);
	kid_end(&k);
	return 0;
}

static const struct exp_scenario scenarios[] = {
	{"leader_exit", sc_leader_exit, NULL},
	{"thread_exec", sc_thread_exec, NULL},
	{"thread_pidfd", sc_thread_pidfd, NULL},
};

const char threads_scenarios[] = "leader_exit|thread_exec|thread_pidfd";

/* The arguments of `run threads`, named where the spec below declares them. */
enum { THREADS_SCENARIO };

static int exp_threads(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)iv;
	return exp_run_scenario(scenarios, sizeof scenarios / sizeof *scenarios, "threads.scenario", sv[THREADS_SCENARIO], ctx,
				err, errlen);
}

/* The experiment kinds of this file (the families' registry lists them). */
const struct step_kind threads_kinds[] = {
	{.name = "threads",
	 .summary = "a multi-threaded child of the backend: leader exits first, a thread execs, PIDFD_THREAD",
	 .args = {[THREADS_SCENARIO] = {"scenario", ARG_CHOICE, 1, NULL, threads_scenarios}},
	 .run = exp_threads,
	 .keys = "after.{info,pidfd_poll,waitid} "
		 "exec.{pidfd_poll,probe_pid,probe_pid_is_leader,thread.info,thread_pidfd_poll,waitid} "
		 "kid.{ns_pid,pid,pidfd_from} "
		 "leader.{info,info_pid,info_tgid_is_process,pidfd_poll,state,waitid_wnohang} "
		 "process.{poll_after_exit,poll_after_thread,waitid} "
		 "thread.{exited.info,exited_poll,fdinfo_pid_is_tid,live.info,live.info_pid,live.info_tgid_is_process,live_poll,open_plain,signal0,tid_differs,waitid} "
		 "threads.scenario"},
	{0},
};
