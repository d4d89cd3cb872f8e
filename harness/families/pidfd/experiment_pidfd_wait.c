/* experiment_pidfd_wait.c: waitid(P_PIDFD) on a child of the backend under
 * test, for every state change waitid(2) reports (stopped, continued,
 * exited, killed, dumped core) with every siginfo field it fills, and the
 * non-blocking forms: WNOHANG, a pidfd with O_NONBLOCK (EAGAIN), ECHILD.
 *
 * The kernel's rules: kernel/exit.c kernel_waitid_prepare() (an O_NONBLOCK
 * pidfd turns the wait into WNOHANG, and kernel_waitid() answers EAGAIN
 * where the caller did not ask for WNOHANG) and SYSCALL_DEFINE5(waitid)
 * (si_signo SIGCHLD, si_errno 0, si_code, si_pid, si_uid, si_status; all
 * zero when WNOHANG found nothing). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "families/experiments.h"
#include "lib/names.h"
#include "families/pidfd/pidfd_kid.h"

#define CODE 23

static const char *cld_name(int code)
{
	static const char *const names[] = {"0", "CLD_EXITED", "CLD_KILLED", "CLD_DUMPED", "CLD_TRAPPED", "CLD_STOPPED",
					    "CLD_CONTINUED"};
	return code >= 0 && code <= 6 ? names[code] : "other";
}

/* waitid(P_PIDFD, FD, OPTIONS) once; records PREFIX.errno and the siginfo
 * (si_status as a signal name unless the child exited). */
static int wait_stage(struct step_ctx *ctx, struct kid *k, int fd, const char *prefix, int options)
{
	siginfo_t si;
	memset(&si, 0x5a, sizeof si); /* a field the kernel leaves alone shows up */
	int r = waitid(P_PIDFD, (id_t)fd, &si, options);
	int e = r < 0 ? errno : 0;
	char key[96];
#define PUT(field, ...)                                                 \
	do {                                                            \
		snprintf(key, sizeof key, "%s.%s", prefix, field);      \
		obs_put(ctx, key, __VA_ARGS__);                         \
	} while (0)
	PUT("errno", "%s", e ? errno_name(e) : "0");
	if (r < 0)
		return -1;
	PUT("si_signo", "%s", si.si_signo ? (sig_name(si.si_signo) ? sig_name(si.si_signo) : "?") : "0");
	PUT("si_errno", "%d", si.si_errno);
	PUT("si_code", "%s", cld_name(si.si_code));
	PUT("si_pid", "%s", si.si_pid == k->pid ? "child" : si.si_pid == 0 ? "0" : "other");
	PUT("si_uid", "%ld", (long)si.si_uid);
	if (si.si_code == CLD_EXITED || si.si_code == 0)
		PUT("si_status", "%d", si.si_status);
	else
		PUT("si_status", "%s", sig_name(si.si_status) ? sig_name(si.si_status) : "?");
#undef PUT
	if (si.si_pid == k->pid && (si.si_code == CLD_EXITED || si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED) &&
	    !(options & WNOWAIT))
		k->reaped = 1;
	return 0;
}

/* Poll the state change in with WNOHANG (bounded): WANT is the si_code. */
static void wait_for(struct step_ctx *ctx, struct kid *k, const char *prefix, int options, int want)
{
	uint64_t end = mono_ms() + (uint64_t)kid_budget(k, 5000);
	for (;;) {
		siginfo_t si;
		memset(&si, 0, sizeof si);
		if (waitid(P_PIDFD, (id_t)k->pidfd, &si, options | WNOHANG | WNOWAIT) < 0 || si.si_code == want ||
		    mono_ms() >= end)
			break;
		usleep(1000);
	}
	wait_stage(ctx, k, k->pidfd, prefix, options);
}

static int spawn_hold(struct step_ctx *ctx, struct kid *k, char *err, size_t errlen)
{
	char code[8];
	snprintf(code, sizeof code, "%d", CODE);
	const char *args[] = {"hold", code, NULL};
	int r = kid_spawn(ctx, k, args, NULL, 0, err, errlen);
	if (r == 0)
		obs_put(ctx, "spawner.euid", "%ld", (long)geteuid());
	return r;
}

static int sc_stopcont(struct step_ctx *ctx, char *err, size_t errlen)
{
	struct kid k;
	if (spawn_hold(ctx, &k, err, errlen) < 0)
		return -1;
	if (sl_pidfd_send_signal(k.pidfd, SIGSTOP, NULL, 0) < 0 || kid_state(k.pid, 'T', kid_budget(&k, 5000)) < 0) {
		kid_end(&k);
		return EXP_BROKE(err, errlen, "stopping the child");
	}
	wait_for(ctx, &k, "stopped", WSTOPPED, CLD_STOPPED);
	wait_stage(ctx, &k, k.pidfd, "stopped_again", WSTOPPED | WNOHANG);
	if (sl_pidfd_send_signal(k.pidfd, SIGCONT, NULL, 0) < 0) {
		kid_end(&k);
		return EXP_BROKE(err, errlen, "SIGCONT");
	}
	wait_for(ctx, &k, "continued", WCONTINUED, CLD_CONTINUED);
	close(k.rel);
	k.rel = -1;
	kid_poll(k.pidfd, kid_budget(&k, 5000));
	wait_stage(ctx, &k, k.pidfd, "exited", WEXITED);
	kid_end(&k);
	return 0;
}

static int sc_killed(struct step_ctx *ctx, char *err, size_t errlen)
{
	struct kid k;
	if (spawn_hold(ctx, &k, err, errlen) < 0)
		return -1;
	if (sl_pidfd_send_signal(k.pidfd, SIGTERM, NULL, 0) < 0) {
		kid_end(&k);
		return EXP_BROKE(err, errlen, "SIGTERM");
	}
	kid_poll(k.pidfd, kid_budget(&k, 5000));
	wait_stage(ctx, &k, k.pidfd, "killed", WEXITED);
	kid_end(&k);
	return 0;
}

/* A core dump lands where core_pattern says: only a pattern relative to
 * the child's cwd ($tmp) is used, so nothing is written outside the unit. */
static int sc_dumped(struct step_ctx *ctx, char *err, size_t errlen)
{
	char *pat = read_file("/proc/sys/kernel/core_pattern", 4096, NULL);
	if (!pat)
		return EXP_BROKE(err, errlen, "reading core_pattern");
	pat[strcspn(pat, "\n")] = 0;
	struct rlimit rl;
	int ok = pat[0] && pat[0] != '|' && pat[0] != '/' && !strstr(pat, "..");
	if (!ok || getrlimit(RLIMIT_CORE, &rl) < 0 || rl.rlim_max < (64 << 20)) {
		snprintf(err, errlen, "core_pattern \"%s\" (a pipe or an absolute path would write outside the unit) or "
			 "RLIMIT_CORE hard limit below 64 MiB: no core dump here",
			 pat);
		free(pat);
		return STEP_UNSUPPORTED;
	}
	obs_put(ctx, "core.pattern", "%s", pat);
	free(pat);
	struct kid k;
	const char *args[] = {"core", NULL};
	if (kid_spawn(ctx, &k, args, NULL, 0, err, errlen) < 0)
		return -1;
	close(k.rel);
	k.rel = -1;
	kid_poll(k.pidfd, kid_budget(&k, 8000));
	wait_stage(ctx, &k, k.pidfd, "dumped", WEXITED);
	kid_end(&k);
	return 0;
}

static int sc_wnohang(struct step_ctx *ctx, char *err, size_t errlen)
{
	struct kid k;
	if (spawn_hold(ctx, &k, err, errlen) < 0)
		return -1;
	wait_stage(ctx, &k, k.pidfd, "running", WEXITED | WNOHANG);
	close(k.rel);
	k.rel = -1;
	kid_poll(k.pidfd, kid_budget(&k, 5000));
	wait_stage(ctx, &k, k.pidfd, "nowait", WEXITED | WNOHANG | WNOWAIT);
	wait_stage(ctx, &k, k.pidfd, "exited", WEXITED | WNOHANG);
	wait_stage(ctx, &k, k.pidfd, "reaped", WEXITED | WNOHANG);
	kid_end(&k);
	return 0;
}

/* O_NONBLOCK two ways: pidfd_open(PIDFD_NONBLOCK), and F_SETFL on a
 * duplicate of the backend's pidfd (same open file description). */
static int sc_nonblock(struct step_ctx *ctx, char *err, size_t errlen)
{
	struct kid k;
	if (spawn_hold(ctx, &k, err, errlen) < 0)
		return -1;
	int nb = sl_pidfd_open(k.pid, O_NONBLOCK);
	int fl = fcntl(k.pidfd, F_GETFL);
	int set = fl < 0 ? -1 : fcntl(k.pidfd, F_SETFL, fl | O_NONBLOCK);
	if (nb < 0 || set < 0) {
		int e = errno;
		if (nb >= 0)
			close(nb);
		kid_end(&k);
		snprintf(err, errlen, "pidfd_open(PIDFD_NONBLOCK) or F_SETFL O_NONBLOCK: %s", errno_name(e));
		return e == EINVAL ? STEP_UNSUPPORTED : -1;
	}
	wait_stage(ctx, &k, nb, "open.running", WEXITED);
	wait_stage(ctx, &k, nb, "open.running_wnohang", WEXITED | WNOHANG);
	wait_stage(ctx, &k, k.pidfd, "setfl.running", WEXITED);
	close(k.rel);
	k.rel = -1;
	kid_poll(k.pidfd, kid_budget(&k, 5000));
	wait_stage(ctx, &k, nb, "open.exited", WEXITED);
	wait_stage(ctx, &k, k.pidfd, "setfl.reaped", WEXITED);
	close(nb);
	kid_end(&k);
	return 0;
}

/* ECHILD: a pidfd of a process that is not our child (ourselves), and of
 * our child once it has been reaped. */
static int sc_echild(struct step_ctx *ctx, char *err, size_t errlen)
{
	struct kid k;
	if (spawn_hold(ctx, &k, err, errlen) < 0)
		return -1;
	int self = sl_pidfd_open(getpid(), 0);
	if (self < 0) {
		kid_end(&k);
		return EXP_BROKE(err, errlen, "pidfd_open(self)");
	}
	wait_stage(ctx, &k, self, "self", WEXITED | WNOHANG);
	close(self);
	close(k.rel);
	k.rel = -1;
	kid_poll(k.pidfd, kid_budget(&k, 5000));
	wait_stage(ctx, &k, k.pidfd, "exited", WEXITED);
	wait_stage(ctx, &k, k.pidfd, "reaped", WEXITED);
	kid_end(&k);
	return 0;
}

static const struct exp_scenario scenarios[] = {
	{"stopcont", sc_stopcont, NULL}, {"killed", sc_killed, NULL},   {"dumped", sc_dumped, NULL},
	{"wnohang", sc_wnohang, NULL},   {"nonblock", sc_nonblock, NULL}, {"echild", sc_echild, NULL},
};

const char pidfd_wait_scenarios[] = "stopcont|killed|dumped|wnohang|nonblock|echild";

/* The arguments of `run pidfd_wait`, named where the spec below declares them. */
enum { PIDFD_WAIT_SCENARIO };

static int exp_pidfd_wait(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)iv;
	return exp_run_scenario(scenarios, sizeof scenarios / sizeof *scenarios, "pidfd_wait.scenario", sv[PIDFD_WAIT_SCENARIO], ctx,
				err, errlen);
}

/* The experiment kinds of this file (the families' registry lists them). */
const struct step_kind pidfd_wait_kinds[] = {
	{.name = "pidfd_wait",
	 .summary = "waitid(P_PIDFD) on a backend's child: stopped, continued, killed, dumped; WNOHANG, O_NONBLOCK",
	 .args = {[PIDFD_WAIT_SCENARIO] = {"scenario", ARG_CHOICE, 1, NULL, pidfd_wait_scenarios}},
	 .run = exp_pidfd_wait,
	 .keys = "{continued,dumped,exited,killed,nowait,running,stopped,stopped_again}.{errno,si_code,si_errno,si_pid,si_signo,si_status,si_uid} "
		 "core.pattern kid.{ns_pid,pid,pidfd_from} "
		 "open.{exited.errno,exited.si_code,exited.si_errno,exited.si_pid,exited.si_signo,exited.si_status,exited.si_uid,running.errno,running_wnohang.errno,running_wnohang.si_code,running_wnohang.si_errno,running_wnohang.si_pid,running_wnohang.si_signo,running_wnohang.si_status,running_wnohang.si_uid} "
		 "pidfd_wait.scenario {reaped,self}.errno setfl.{reaped.errno,running.errno} spawner.euid"},
	{0},
};
