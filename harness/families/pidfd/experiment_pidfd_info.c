/* experiment_pidfd_info.c: ioctl(PIDFD_GET_INFO) and the pidfd's fdinfo
 * across a child's life (running, exited but not reaped, reaped), per
 * backend, with the kernel's answers to wrong struct sizes, to fds that are
 * not pidfds and across pid namespaces.  The child is build/pidfd-child,
 * spawned through the backend under test; its pidfd is the backend's own or
 * pidfd_open(pid) taken before any reap (kid.pidfd_from).
 *
 * What the kernel does is in fs/pidfs.c pidfd_info(): credentials and ids
 * only while a task is attached, the exit status (PIDFD_INFO_EXIT, 6.15+)
 * only once the child was reaped, and ESRCH when a reaped child is asked for
 * anything but its exit. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "families/experiments.h"
#include "lib/feature.h"
#include "lib/names.h"
#include "families/pidfd/pidfd_kid.h"

#define CODE 23 /* the child's exit status in the exit scenarios */

static void put_mask(struct step_ctx *ctx, const char *key, uint64_t m)
{
	static const char *const names[] = {"PID", "CREDS", "CGROUPID", "EXIT", "COREDUMP", "SUPPORTED_MASK",
					    "COREDUMP_SIGNAL", "COREDUMP_CODE"};
	char buf[256] = "";
	size_t n = 0;
	for (unsigned b = 0; b < 64; b++) {
		if (!(m & (1ULL << b)))
			continue;
		if (b < sizeof names / sizeof *names)
			n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", n ? "|" : "", names[b]);
		else
			n += (size_t)snprintf(buf + n, sizeof buf - n, "%sbit%u", n ? "|" : "", b);
		if (n >= sizeof buf)
			break;
	}
	obs_put(ctx, key, "%s", n ? buf : "none");
}

/* GET_INFO asking for MASK; records PREFIX.errno, .mask and the fields a
 * case compares with the child and the spawner. */
static void info_stage(struct step_ctx *ctx, struct kid *k, const char *prefix, uint64_t ask)
{
	struct sl_pidfd_info info;
	memset(&info, 0, sizeof info);
	info.mask = ask;
	int e = kid_get_info(k->pidfd, &info, sizeof info);
	char key[96];
#define PUT(field, ...)                                                 \
	do {                                                            \
		snprintf(key, sizeof key, "%s.%s", prefix, field);      \
		obs_put(ctx, key, __VA_ARGS__);                         \
	} while (0)
	PUT("errno", "%s", e ? errno_name(e) : "0");
	if (e)
		return;
	snprintf(key, sizeof key, "%s.mask", prefix);
	put_mask(ctx, key, info.mask);
	if (info.mask & SL_PIDFD_INFO_PID) {
		PUT("pid", "%u", info.pid);
		PUT("tgid", "%u", info.tgid);
		PUT("ppid", "%u", info.ppid);
	}
	if (info.mask & SL_PIDFD_INFO_CREDS) {
		PUT("ruid", "%u", info.ruid);
		PUT("euid", "%u", info.euid);
		PUT("egid", "%u", info.egid);
	}
	if (info.mask & SL_PIDFD_INFO_CGROUPID)
		PUT("cgroupid_set", "%s", info.cgroupid ? "yes" : "no");
	if (info.mask & SL_PIDFD_INFO_EXIT) {
		PUT("exit_code", "0x%x", (unsigned)info.exit_code);
		if (WIFEXITED(info.exit_code))
			PUT("exit", "exit %d", WEXITSTATUS(info.exit_code));
		else if (WIFSIGNALED(info.exit_code))
			PUT("exit", "killed %s", sig_name(WTERMSIG(info.exit_code)));
	}
#undef PUT
}

static void fdinfo_stage(struct step_ctx *ctx, struct kid *k, const char *prefix)
{
	static const char *const keys[] = {"Pid", "NSpid"};
	for (size_t i = 0; i < 2; i++) {
		char v[128], key[96];
		snprintf(key, sizeof key, "%s.%s", prefix, i ? "nspid" : "pid");
		obs_put(ctx, key, "%s", kid_fdinfo(k->pidfd, keys[i], v, sizeof v) == 0 ? v : "absent");
	}
}

/* The life of one child: running, exited (zombie), reaped.  SIG 0: it
 * exits CODE when released; else it is killed with SIG while running. */
static int lifecycle(struct step_ctx *ctx, int sig, char *err, size_t errlen)
{
	struct kid k;
	char code[8];
	snprintf(code, sizeof code, "%d", CODE);
	const char *args[] = {"hold", code, NULL};
	if (kid_spawn(ctx, &k, args, NULL, 0, err, errlen) < 0)
		return -1;
	obs_put(ctx, "spawner.pid", "%ld", (long)getpid());
	obs_put(ctx, "spawner.euid", "%ld", (long)geteuid());
	uint64_t ask = SL_PIDFD_INFO_EXIT | SL_PIDFD_INFO_CGROUPID;
	info_stage(ctx, &k, "live", ask);
	fdinfo_stage(ctx, &k, "fdinfo.live");
	if (sig) {
		if (sl_pidfd_send_signal(k.pidfd, sig, NULL, 0) < 0) {
			int r = EXP_BROKE(err, errlen, "pidfd_send_signal(%s)", sig_name(sig));
			kid_end(&k);
			return r;
		}
	} else {
		close(k.rel);
		k.rel = -1;
	}
	if (kid_state(k.pid, 'Z', kid_budget(&k, 5000)) < 0) {
		kid_end(&k);
		return EXP_BROKE(err, errlen, "the child did not become a zombie");
	}
	obs_put(ctx, "zombie.poll", "%s", kid_poll(k.pidfd, 0) > 0 ? "readable" : "not_readable");
	info_stage(ctx, &k, "zombie", ask);
	fdinfo_stage(ctx, &k, "fdinfo.zombie");
	int status = 0;
	if (kid_reap(&k, &status) < 0) {
		kid_end(&k);
		return EXP_BROKE(err, errlen, "reaping the child");
	}
	obs_put(ctx, "wait.status", "0x%x", (unsigned)status);
	info_stage(ctx, &k, "reaped", ask);
	info_stage(ctx, &k, "reaped_noexit", SL_PIDFD_INFO_CGROUPID);
	fdinfo_stage(ctx, &k, "fdinfo.reaped");
	struct sl_pidfd_info info;
	memset(&info, 0, sizeof info);
	info.mask = SL_PIDFD_INFO_EXIT;
	if (kid_get_info(k.pidfd, &info, sizeof info) == 0 && (info.mask & SL_PIDFD_INFO_EXIT))
		obs_put(ctx, "reaped.exit_is_wait_status", "%s", info.exit_code == status ? "yes" : "no");
	kid_end(&k);
	return 0;
}

static int sc_exit(struct step_ctx *ctx, char *err, size_t errlen)
{
	return lifecycle(ctx, 0, err, errlen);
}

static int sc_killed(struct step_ctx *ctx, char *err, size_t errlen)
{
	return lifecycle(ctx, SIGKILL, err, errlen);
}

/* The struct size is encoded in the request (_IOWR); VER0 is 64 bytes. */
static int sc_sizes(struct step_ctx *ctx, char *err, size_t errlen)
{
	struct kid k;
	const char *args[] = {"hold", "0", NULL};
	if (kid_spawn(ctx, &k, args, NULL, 0, err, errlen) < 0)
		return -1;
	static const struct {
		const char *name;
		size_t size;
	} rows[] = {{"4", 4}, {"63", 63}, {"64", 64}, {"72", 72}, {"4096", 4096}};
	unsigned char *buf = xmalloc(4096);
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
		memset(buf, 0xa5, 4096);
		uint64_t m = SL_PIDFD_INFO_PID;
		memcpy(buf, &m, sizeof m);
		int e = kid_get_info(k.pidfd, (struct sl_pidfd_info *)buf, rows[i].size);
		char key[64];
		snprintf(key, sizeof key, "size.%s", rows[i].name);
		obs_put(ctx, key, "%s", e ? errno_name(e) : "0");
		if (!e && rows[i].size >= 64) {
			struct sl_pidfd_info got;
			memcpy(&got, buf, sizeof got);
			snprintf(key, sizeof key, "size.%s.pid_is_child", rows[i].name);
			obs_put(ctx, key, "%s", got.pid == (uint32_t)k.pid ? "yes" : "no");
		}
		if (!e && rows[i].size == 4096) {
			/* Beyond every struct the kernel knows: left alone or zeroed. */
			int zero = 1, untouched = 1;
			for (size_t b = 1024; b < 4096; b++) {
				zero &= buf[b] == 0;
				untouched &= buf[b] == 0xa5;
			}
			obs_put(ctx, "size.4096.tail", "%s", zero ? "zeroed" : untouched ? "untouched" : "mixed");
		}
	}
	int e = ioctl(k.pidfd, SL_PIDFD_GET_INFO, NULL) == 0 ? 0 : errno;
	obs_put(ctx, "size.null", "%s", e ? errno_name(e) : "0");
	free(buf);
	kid_end(&k);
	return 0;
}

/* PIDFD_GET_INFO and waitid(P_PIDFD) on descriptors that are not pidfds. */
static int sc_not_pidfd(struct step_ctx *ctx, char *err, size_t errlen)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/plain", ctx->tmp);
	int p[2] = {-1, -1};
	struct {
		const char *name;
		int fd;
	} rows[] = {
		{"devnull", open("/dev/null", O_RDONLY | O_CLOEXEC)},
		{"file", open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)},
		{"pipe", pipe2(p, O_CLOEXEC) == 0 ? p[0] : -1},
		{"eventfd", eventfd(0, EFD_CLOEXEC)},
		{"procdir", open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC)},
	};
	int r = 0;
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
		if (rows[i].fd < 0) {
			r = EXP_BROKE(err, errlen, "opening the %s fd", rows[i].name);
			continue;
		}
		struct sl_pidfd_info info;
		memset(&info, 0, sizeof info);
		int e = kid_get_info(rows[i].fd, &info, sizeof info);
		char key[64];
		snprintf(key, sizeof key, "notpidfd.%s.get_info", rows[i].name);
		obs_put(ctx, key, "%s", e ? errno_name(e) : "0");
		siginfo_t si;
		e = waitid(P_PIDFD, (id_t)rows[i].fd, &si, WEXITED | WNOHANG) == 0 ? 0 : errno;
		snprintf(key, sizeof key, "notpidfd.%s.waitid", rows[i].name);
		obs_put(ctx, key, "%s", e ? errno_name(e) : "0");
	}
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
		if (rows[i].fd >= 0)
			close(rows[i].fd);
	if (p[1] >= 0)
		close(p[1]);
	return r;
}

/* Across pid namespaces.  The spawner unshares CLONE_NEWPID, so the
 * backend's child is pid 1 of a new namespace below ours, and then goes
 * back to its own namespace for later children (setns to its active pid
 * namespace).  What we read about the child, and what it reads about us
 * through a pidfd of ours it inherits (fd 6). */
static int sc_other_pidns(struct step_ctx *ctx, char *err, size_t errlen)
{
	int self = sl_pidfd_open(getpid(), 0);
	int own = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
	if (self < 0 || own < 0) {
		int r = EXP_BROKE(err, errlen, "pidfd_open(self) or /proc/self/ns/pid");
		if (self >= 0)
			close(self);
		if (own >= 0)
			close(own);
		return r;
	}
	if (unshare(CLONE_NEWPID) < 0) {
		int e = errno;
		close(self);
		close(own);
		snprintf(err, errlen, "unshare(CLONE_NEWPID): %s", errno_name(e));
		return e == EPERM || e == EINVAL ? STEP_UNSUPPORTED : -1;
	}
	struct kid k;
	const char *args[] = {"foreign", "6", NULL};
	struct kid_fd extra = {self, 6};
	int r = kid_spawn(ctx, &k, args, &extra, 1, err, errlen);
	close(self);
	int back = setns(own, CLONE_NEWPID);
	close(own);
	if (r < 0)
		return -1;
	if (back < 0) {
		kid_end(&k);
		return EXP_BROKE(err, errlen, "setns back to the spawner's pid namespace");
	}
	info_stage(ctx, &k, "nschild", SL_PIDFD_INFO_EXIT);
	fdinfo_stage(ctx, &k, "fdinfo.nschild");
	char line[128];
	int ie = -1, se = -1;
	unsigned fpid = 0;
	if (kid_line(&k, line, sizeof line, kid_budget(&k, 5000)) < 0 ||
	    sscanf(line, "foreign %d %d %u", &ie, &se, &fpid) != 3) {
		kid_end(&k);
		return EXP_BROKE(err, errlen, "no report from the child in the new namespace (\"%s\")", line);
	}
	obs_put(ctx, "foreign.get_info", "%s", ie ? errno_name(ie) : "0");
	obs_put(ctx, "foreign.pidfd_send_signal", "%s", se ? errno_name(se) : "0");
	kid_end(&k);
	/* A later child is in our namespace again. */
	pid_t c = fork();
	if (c == 0)
		_exit(getpid() == 1 ? 1 : 0);
	int st = -1;
	if (c > 0)
		while (waitpid(c, &st, 0) < 0 && errno == EINTR)
			;
	obs_put(ctx, "nschild.after_setns", "%s", c < 0 ? errno_name(errno) : st == 0 ? "own_ns" : "new_ns");
	return 0;
}

static const struct exp_scenario scenarios[] = {
	{"exit", sc_exit, "pidfd_get_info"},
	{"killed", sc_killed, "pidfd_get_info"},
	{"sizes", sc_sizes, "pidfd_get_info"},
	{"not_pidfd", sc_not_pidfd, NULL},
	{"other_pidns", sc_other_pidns, "pidfd_get_info"},
};

const char pidfd_info_scenarios[] = "exit|killed|sizes|not_pidfd|other_pidns";

/* The arguments of `run pidfd_info`, named where the spec below declares them. */
enum { PIDFD_INFO_SCENARIO };

static int exp_pidfd_info(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)iv;
	return exp_run_scenario(scenarios, sizeof scenarios / sizeof *scenarios, "pidfd_info.scenario", sv[PIDFD_INFO_SCENARIO], ctx,
				err, errlen);
}

/* The experiment kinds of this file (the families' registry lists them). */
const struct step_kind pidfd_info_kinds[] = {
	{.name = "pidfd_info",
	 .summary = "ioctl(PIDFD_GET_INFO) and fdinfo of a backend's child: running, exited, reaped; sizes, non-pidfds",
	 .args = {[PIDFD_INFO_SCENARIO] = {"scenario", ARG_CHOICE, 1, NULL, pidfd_info_scenarios}},
	 .run = exp_pidfd_info,
	 .keys = "fdinfo.{live.nspid,live.pid,nschild.nspid,nschild.pid,reaped.nspid,reaped.pid,zombie.nspid,zombie.pid} "
		 "foreign.{get_info,pidfd_send_signal} kid.{ns_pid,pid,pidfd_from} "
		 "live.{cgroupid_set,egid,errno,euid,mask,pid,ppid,ruid,tgid} "
		 "notpidfd.{devnull.get_info,devnull.waitid,eventfd.get_info,eventfd.waitid,file.get_info,file.waitid,pipe.get_info,pipe.waitid,procdir.get_info,procdir.waitid} "
		 "nschild.{after_setns,cgroupid_set,egid,errno,euid,mask,pid,ppid,ruid,tgid} "
		 "pidfd_info.scenario reaped.{cgroupid_set,errno,exit,exit_code,exit_is_wait_status,mask} "
		 "reaped_noexit.errno size.{#,#.pid_is_child,#.tail,null} spawner.euid wait.status "
		 "zombie.{cgroupid_set,egid,errno,euid,mask,pid,poll,ppid,ruid,tgid}"},
	{0},
};
