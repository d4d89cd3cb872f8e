/* pidwrap_scenarios.c: what a stored pid names after its process is gone
 * and the pid came round again.  Each scenario runs in W, pid 1 of the
 * wrap namespace (pidwrap_ns.c), and spawns through the backend under
 * test; the "stranger" that inherits the pid is a plain fork of W
 * (pidwrap_victim.c). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/case.h"
#include "backends/child_wait.h"
#include "lib/names.h"
#include "pdspawn/pdspawn.h"
#include "families/pidwrap/pidwrap.h"
#include "sys/sys.h"

#define WAIT_MS 2000 /* bound on each wait for one child */

static int budget(struct pidwrap *pw)
{
	uint64_t now = mono_ms();
	if (now >= pw->ctx->deadline_ms)
		return 0;
	uint64_t left = pw->ctx->deadline_ms - now;
	return (int)(left < WAIT_MS ? left : WAIT_MS);
}

static const char *rc_name(int r)
{
	return r < 0 ? errno_name(errno) : "0";
}

/* Spawn the probe through the backend; it exits at once. */
static int spawn_probe(struct pidwrap *pw, struct spawn_res *res, char *err, size_t errlen)
{
	char *argv[] = {(char *)pw->ctx->probe, "--exit-now", NULL};
	char *envp[] = {"PATH=/usr/bin:/bin", NULL};
	struct spawn_req req;
	spawn_req_stdio(&req, pw->ctx->be, pw->ctx->probe, argv, envp);
	*res = (struct spawn_res){-1, -1, 0, 0};
	if (pw->ctx->be->spawn(&req, res) < 0 || res->err || res->pid <= 0) {
		snprintf(err, errlen, "%s spawn: %s", pw->ctx->be->name, errno_name(res->err ? res->err : errno));
		if (res->pidfd >= 0)
			close(res->pidfd);
		return -1;
	}
	return 0;
}

/* Wait until the child has exited (a zombie: POLLIN on its pidfd) without reaping it. */
static int wait_zombie(struct pidwrap *pw, int pidfd)
{
	struct pollfd p = {pidfd, POLLIN, 0};
	int r;
	while ((r = poll(&p, 1, budget(pw))) < 0 && errno == EINTR)
		;
	return r == 1 ? 0 : -1;
}

/* ---- a child that the parent keeps a pid and a pidfd of ---- */

struct stale {
	pid_t pid;
	int pidfd; /* the backend's, or pidfd_open(pid) while the child was unreaped */
};

/* Spawn, wait until it has exited, call HOOK while it is a zombie, reap it. */
static int stale_child(struct pidwrap *pw, struct stale *s, void (*hook)(struct pidwrap *, struct stale *), char *err,
		       size_t errlen)
{
	struct spawn_res res;
	if (spawn_probe(pw, &res, err, errlen) < 0)
		return -1;
	s->pid = res.pid;
	s->pidfd = res.pidfd >= 0 ? res.pidfd : sl_pidfd_open(res.pid, 0);
	obs_put(pw->ctx, "stale.pid", "%d", (int)s->pid);
	obs_put(pw->ctx, "stale.pidfd_from", "%s", res.pidfd >= 0 ? "backend" : "pidfd_open");
	if (s->pidfd < 0) {
		snprintf(err, errlen, "pidfd_open(%d) of an unreaped child: %s", (int)res.pid, errno_name(errno));
		return -1;
	}
	if (wait_zombie(pw, s->pidfd) < 0) {
		snprintf(err, errlen, "child %d did not exit in time", (int)s->pid);
		close(s->pidfd);
		return -1;
	}
	if (hook)
		hook(pw, s);
	struct spawn_res r2 = {s->pid, s->pidfd, 0, 0};
	struct child_status st;
	child_wait(&r2, budget(pw), &st);
	obs_put(pw->ctx, "stale.exit", "%s", st.end == CHILD_EXITED ? (st.code == 0 ? "0" : "nonzero") : "abnormal");
	return 0;
}

/* Bring S's pid round into a fresh victim; records the cost. */
static int stranger(struct pidwrap *pw, pid_t p, struct victim *v, char *err, size_t errlen)
{
	if (victim_prepare(v, err, errlen) < 0)
		return -1;
	v->deadline_ms = pw->ctx->deadline_ms;
	long f0 = pw->fillers;
	uint64_t t0 = mono_us();
	v->pid = pidwrap_recycle(pw, p, victim_main, v, err, errlen);
	uint64_t t1 = mono_us();
	if (v->pid < 0)
		return -1;
	obs_num(pw->ctx, "spawns_to_reuse", (double)(pw->fillers - f0 + 1));
	obs_num(pw->ctx, "ms", (double)(t1 - t0) / 1000.0);
	obs_put(pw->ctx, "victim.pid", "%d", (int)v->pid);
	return victim_ready(v, budget(pw), err, errlen);
}

/* The set-up of the stale-pid scenarios: prime the namespace, spawn and
 * reap a child keeping its pid and pidfd (HOOK runs while it is a zombie),
 * then bring its pid round into victim V.  On failure nothing is left:
 * the pidfd is closed and the victim ended. */
static int stale_then_stranger(struct pidwrap *pw, struct stale *s, void (*hook)(struct pidwrap *, struct stale *),
			       struct victim *v, char *err, size_t errlen)
{
	if (pidwrap_prime(pw, PIDWRAP_RESERVED, err, errlen) < 0 || stale_child(pw, s, hook, err, errlen) < 0)
		return -1;
	if (stranger(pw, s->pid, v, err, errlen) < 0) {
		victim_end(v, budget(pw));
		close(s->pidfd);
		return -1;
	}
	return 0;
}

/* Read /proc/P/FILE; "" with the errno name in BUF on failure. */
static void proc_read(const char *dir, int dirfd, const char *file, char *buf, size_t len)
{
	char path[64];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	int fd = dirfd >= 0 ? openat(dirfd, file, O_RDONLY | O_CLOEXEC) : open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, len - 1);
	int e = errno;
	if (fd >= 0)
		close(fd);
	if (n < 0) {
		snprintf(buf, len, "%s", errno_name(e));
		return;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

/* Field 22 of /proc/P/stat (after the ")" of comm): start time in ticks. */
static void start_time(const char *stat, char *out, size_t len)
{
	const char *p = strrchr(stat, ')');
	snprintf(out, len, "?");
	for (int field = 2; p && *p; p++)
		if (*p == ' ' && ++field == 22) {
			snprintf(out, len, "%.*s", (int)strcspn(p + 1, " "), p + 1);
			return;
		}
}

/* ---- scenarios ---- */

static int sc_wrap(struct pidwrap *pw, char *err, size_t errlen)
{
	if (pw->method != PW_PID_MAX) {
		snprintf(err, errlen, "a real wrap needs the namespace's own pid_max (method %s does not wrap)",
			 pidwrap_method_names[pw->method]);
		return STEP_UNSUPPORTED;
	}
	/* Fillers bring the cursor to RESERVED_PIDS - 1, so that the backend's
	 * spawns take pids from RESERVED_PIDS to pid_max - 1 and then wrap:
	 * the pids below RESERVED_PIDS never come round and spawning through
	 * them would add nothing but time. */
	if (pidwrap_prime(pw, PIDWRAP_RESERVED - 1, err, errlen) < 0)
		return -1;
	unsigned char *seen = xcalloc((size_t)pw->pid_max / 8 + 1, 1);
	long spawns = 0, bound = 2 * pw->pid_max;
	pid_t first = -1, reused = -1, maxpid = 0;
	uint64_t t0 = mono_us();
	int rc = 0;
	while (reused < 0 && spawns < bound && mono_ms() + 50 < pw->ctx->deadline_ms) {
		struct spawn_res res;
		if (spawn_probe(pw, &res, err, errlen) < 0) {
			rc = -1;
			break;
		}
		spawns++;
		struct child_status st;
		child_wait(&res, budget(pw), &st);
		if (res.pidfd >= 0)
			close(res.pidfd);
		pid_t p = res.pid;
		if (first < 0)
			first = p;
		if (p > maxpid)
			maxpid = p;
		if (p >= pw->pid_max) {
			snprintf(err, errlen, "pid %d handed out at pid_max %ld", (int)p, pw->pid_max);
			rc = -1;
			break;
		}
		if (seen[p / 8] & (1u << (p % 8)))
			reused = p;
		seen[p / 8] |= (unsigned char)(1u << (p % 8));
	}
	uint64_t t1 = mono_us();
	free(seen);
	obs_put(pw->ctx, "wrap.reused", "%s", reused > 0 ? "yes" : "no");
	obs_put(pw->ctx, "wrap.first_pid", "%d", (int)first);
	obs_put(pw->ctx, "wrap.reused_pid", "%d", (int)reused);
	obs_put(pw->ctx, "wrap.max_pid", "%d", (int)maxpid);
	obs_num(pw->ctx, "spawns_to_reuse", (double)spawns);
	obs_num(pw->ctx, "ms", (double)(t1 - t0) / 1000.0);
	if (rc == 0 && reused < 0)
		snprintf(err, errlen, "no pid came round in %ld spawns", spawns);
	return rc;
}

static int sc_zombie(struct pidwrap *pw, char *err, size_t errlen)
{
	if (pidwrap_prime(pw, PIDWRAP_RESERVED, err, errlen) < 0)
		return -1;
	struct spawn_res res;
	if (spawn_probe(pw, &res, err, errlen) < 0)
		return -1;
	pid_t z = res.pid;
	int fd = res.pidfd >= 0 ? res.pidfd : sl_pidfd_open(z, 0);
	if (fd < 0 || wait_zombie(pw, fd) < 0) {
		snprintf(err, errlen, "zombie %d: %s", (int)z, fd < 0 ? errno_name(errno) : "did not exit in time");
		return -1;
	}
	char path[32], stat[512], state[8] = "?";
	snprintf(path, sizeof path, "/proc/%d", (int)z);
	proc_read(path, -1, "stat", stat, sizeof stat);
	const char *cp = strrchr(stat, ')');
	if (cp && cp[1] == ' ')
		snprintf(state, sizeof state, "%c", cp[2]);
	obs_put(pw->ctx, "zombie.pid", "%d", (int)z);
	obs_put(pw->ctx, "zombie.state", "%s", state);
	/* Try to get the zombie's pid handed out while it is unreaped. */
	long tries = 0;
	int reused = 0, passed = 0;
	if (pw->method == PW_PID_MAX) {
		/* Fork until the cursor has wrapped and gone past z. */
		pid_t prev = z;
		int wrapped = 0;
		for (; tries < 2 * pw->pid_max && !passed && mono_ms() < pw->ctx->deadline_ms; tries++) {
			pid_t p = pidwrap_filler(pw);
			if (p < 0)
				break;
			reused |= p == z;
			wrapped |= p < prev;
			passed = wrapped && p > z;
			prev = p;
		}
	} else {
		pid_t p = pidwrap_try_pid(pw, z);
		tries = 1;
		passed = p >= 0;
		reused = p == z;
		obs_put(pw->ctx, "zombie.aimed_got", "%s", p == 0 ? "EEXIST" : p < 0 ? errno_name(errno) : "pid");
	}
	obs_num(pw->ctx, "forks_while_zombie", (double)tries);
	obs_put(pw->ctx, "zombie.passed", "%s", passed ? "yes" : "no");
	obs_put(pw->ctx, "zombie.reused_while_zombie", "%s", reused ? "yes" : "no");
	struct child_status st;
	child_wait(&(struct spawn_res){z, fd, 0, 0}, budget(pw), &st);
	close(fd);
	struct victim v;
	int r = stranger(pw, z, &v, err, errlen);
	obs_put(pw->ctx, "zombie.reused_after_reap", "%s", r == 0 ? "yes" : "no");
	victim_end(&v, budget(pw));
	return r;
}

static int sc_stale_kill(struct pidwrap *pw, char *err, size_t errlen)
{
	struct stale s;
	struct victim v;
	char got[64];
	pid_t from;
	if (stale_then_stranger(pw, &s, NULL, &v, err, errlen) < 0)
		return -1;
	/* The pidfd-based parent: its handle names the dead child, not the pid. */
	int r = sl_pidfd_send_signal(s.pidfd, SIGUSR1, NULL, 0);
	obs_put(pw->ctx, "stale.pidfd_send_signal", "%s", rc_name(r));
	victim_since_marker(&v, budget(pw), got, sizeof got, &from);
	obs_put(pw->ctx, "victim.after_pidfd", "%s", got);
	/* The pid-based parent: kill(2) on the number it kept. */
	r = kill(s.pid, SIGUSR1);
	obs_put(pw->ctx, "stale.kill", "%s", rc_name(r));
	victim_since_marker(&v, budget(pw), got, sizeof got, &from);
	obs_put(pw->ctx, "victim.after_kill", "%s", got);
	obs_put(pw->ctx, "victim.sender", "%d", (int)from);
	victim_end(&v, budget(pw));
	close(s.pidfd);
	return 0;
}

static int sc_pidfd_open_race(struct pidwrap *pw, char *err, size_t errlen)
{
	struct stale s;
	struct victim v;
	char got[64];
	pid_t from;
	if (stale_then_stranger(pw, &s, NULL, &v, err, errlen) < 0)
		return -1;
	/* Learned the pid before the reap, opened it after the reuse. */
	int fd = sl_pidfd_open(s.pid, 0);
	obs_put(pw->ctx, "race.pidfd_open", "%s", fd >= 0 ? "0" : errno_name(errno));
	obs_put(pw->ctx, "race.pidfd_pid", "%d", fd >= 0 ? (int)sl_pidfd_pid(fd) : -1);
	obs_put(pw->ctx, "stale.pidfd_pid", "%d", (int)sl_pidfd_pid(s.pidfd));
	int r = fd >= 0 ? sl_pidfd_send_signal(fd, SIGUSR1, NULL, 0) : -1;
	obs_put(pw->ctx, "race.pidfd_send_signal", "%s", fd >= 0 ? rc_name(r) : "not opened");
	victim_since_marker(&v, budget(pw), got, sizeof got, &from);
	obs_put(pw->ctx, "victim.after_new_pidfd", "%s", got);
	if (fd >= 0)
		close(fd);
	victim_end(&v, budget(pw));
	close(s.pidfd);
	return 0;
}

static int sc_waitpid_stale(struct pidwrap *pw, char *err, size_t errlen)
{
	struct stale s;
	struct victim v;
	if (stale_then_stranger(pw, &s, NULL, &v, err, errlen) < 0)
		return -1;
	int st = 0;
	pid_t w = waitpid(s.pid, &st, WNOHANG);
	obs_put(pw->ctx, "waitpid.wnohang", "%s", w < 0 ? errno_name(errno) : w == 0 ? "running" : "reaped");
	siginfo_t si;
	memset(&si, 0, sizeof si);
	int r = waitid((idtype_t)P_PIDFD, (id_t)s.pidfd, &si, WEXITED | WNOHANG | __WALL);
	obs_put(pw->ctx, "waitpid.old_pidfd", "%s", rc_name(r));
	/* The stranger ends with its own status; the stale pid collects it. */
	sl_pidfd_send_signal(v.pidfd, SIGTERM, NULL, 0);
	struct pollfd p = {v.pidfd, POLLIN, 0};
	while (poll(&p, 1, budget(pw)) < 0 && errno == EINTR)
		;
	w = waitpid(s.pid, &st, WNOHANG);
	obs_put(pw->ctx, "waitpid.reaped", "%d", (int)w);
	obs_put(pw->ctx, "waitpid.status", "%s",
		w <= 0 ? errno_name(errno) : WIFEXITED(st) ? (WEXITSTATUS(st) == 77 ? "exit 77" : "exit other") : "signal");
	victim_end(&v, budget(pw));
	close(s.pidfd);
	return 0;
}

/* While the child is a zombie: keep a /proc/<pid> dir fd and what it showed. */
static int proc_dirfd = -1;
static char proc_comm0[32], proc_start0[32];

static void proc_before(struct pidwrap *pw, struct stale *s)
{
	char dir[32], stat[512];
	snprintf(dir, sizeof dir, "/proc/%d", (int)s->pid);
	proc_dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	proc_read(dir, -1, "comm", proc_comm0, sizeof proc_comm0);
	proc_read(dir, -1, "stat", stat, sizeof stat);
	start_time(stat, proc_start0, sizeof proc_start0);
	obs_put(pw->ctx, "proc.before_comm", "%s", proc_comm0);
	obs_put(pw->ctx, "proc.before_dirfd", "%s", proc_dirfd >= 0 ? "0" : errno_name(errno));
}

static int sc_proc_stale(struct pidwrap *pw, char *err, size_t errlen)
{
	struct stale s;
	struct victim v;
	if (stale_then_stranger(pw, &s, proc_before, &v, err, errlen) < 0)
		return -1;
	char dir[32], comm[32], stat[512], start[32], old[32];
	snprintf(dir, sizeof dir, "/proc/%d", (int)s.pid);
	proc_read(dir, -1, "comm", comm, sizeof comm);
	proc_read(dir, -1, "stat", stat, sizeof stat);
	start_time(stat, start, sizeof start);
	obs_put(pw->ctx, "proc.after_comm", "%s", comm);
	obs_put(pw->ctx, "proc.same_start_time", "%s", strcmp(start, proc_start0) == 0 ? "yes" : "no");
	if (proc_dirfd >= 0) {
		proc_read(dir, proc_dirfd, "comm", old, sizeof old);
		obs_put(pw->ctx, "proc.old_dirfd_comm", "%s", old);
		close(proc_dirfd);
	}
	victim_end(&v, budget(pw));
	close(s.pidfd);
	return 0;
}

static int sc_pdspawn_api(struct pidwrap *pw, char *err, size_t errlen)
{
	if (strcmp(pw->ctx->be->name, "pdspawn") != 0) {
		snprintf(err, errlen, "pdspawn_api checks pdspawn's own API, not backend %s", pw->ctx->be->name);
		return STEP_UNSUPPORTED;
	}
	if (pidwrap_prime(pw, PIDWRAP_RESERVED, err, errlen) < 0)
		return -1;
	char *argv[] = {(char *)pw->ctx->probe, "--exit-now", NULL};
	char *envp[] = {"PATH=/usr/bin:/bin", NULL};
	int pidfd = -1;
	/* The API hands back the pidfd and nothing else. */
	int e = pdspawn(&pidfd, pw->ctx->probe, argv, envp, NULL);
	if (e) {
		snprintf(err, errlen, "pdspawn: %s", errno_name(e));
		return -1;
	}
	pid_t p = pdspawn_pid(pidfd);
	obs_put(pw->ctx, "stale.pid", "%d", (int)p);
	siginfo_t si;
	e = pdspawn_wait(pidfd, budget(pw), &si);
	obs_put(pw->ctx, "pdspawn.wait", "%s", e ? errno_name(e) : "0");
	obs_put(pw->ctx, "pdspawn.pid_after_reap", "%d", (int)pdspawn_pid(pidfd));
	struct victim v;
	if (p <= 0 || stranger(pw, p, &v, err, errlen) < 0) {
		if (p > 0)
			victim_end(&v, budget(pw));
		else
			snprintf(err, errlen, "pdspawn_pid of a live child: -1");
		close(pidfd);
		return -1;
	}
	obs_put(pw->ctx, "pdspawn.pid_after_reuse", "%d", (int)pdspawn_pid(pidfd));
	e = pdspawn_kill(pidfd, SIGUSR1);
	obs_put(pw->ctx, "pdspawn.kill", "%s", e ? errno_name(e) : "0");
	e = pdspawn_wait(pidfd, 0, &si);
	obs_put(pw->ctx, "pdspawn.wait_again", "%s", e ? errno_name(e) : "0");
	char got[64];
	pid_t from;
	victim_since_marker(&v, budget(pw), got, sizeof got, &from);
	obs_put(pw->ctx, "victim.after_pidfd", "%s", got);
	victim_end(&v, budget(pw));
	close(pidfd);
	return 0;
}

const struct pidwrap_scenario pidwrap_scenarios[] = {
	{"wrap", sc_wrap},
	{"zombie", sc_zombie},
	{"stale_kill", sc_stale_kill},
	{"pidfd_open_race", sc_pidfd_open_race},
	{"waitpid_stale", sc_waitpid_stale},
	{"proc_stale", sc_proc_stale},
	{"pdspawn_api", sc_pdspawn_api},
};
const size_t pidwrap_nscenarios = sizeof pidwrap_scenarios / sizeof *pidwrap_scenarios;
