/* pidwrap_ns.c: the wrap namespace and the ways to make a pid come round
 * again in it (pidwrap.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/case.h"
#include "lib/names.h"
#include "lib/util.h"
#include "families/pidwrap/pidwrap.h"
#include "sys/sys.h"

const char *const pidwrap_method_names[] = {"auto", "pid_max", "ns_last_pid", "set_tid"};

static const char pid_max_path[] = "/proc/sys/kernel/pid_max";
static const char ns_last_pid_path[] = "/proc/sys/kernel/ns_last_pid";

static long read_long(const char *path)
{
	char *s = read_file(path, 64, NULL);
	if (!s)
		return -1;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	int bad = end == s || errno;
	free(s);
	if (bad) {
		errno = EIO;
		return -1;
	}
	return v;
}

static int write_long(const char *path, long v)
{
	char buf[24];
	int n = snprintf(buf, sizeof buf, "%ld\n", v);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, buf, (size_t)n);
	int e = errno;
	close(fd);
	if (w != n) {
		errno = w < 0 ? e : EIO;
		return -1;
	}
	return 0;
}

/* ---- the namespace ---- */

/* The kernel uid that uid 0 of our user namespace maps to; -1 if unknown.
 * The pid_max write is made only when this is not 0. */
static long outside_root_uid(void)
{
	char *m = read_file("/proc/self/uid_map", 4096, NULL);
	if (!m)
		return -1;
	long inside = -1, outside = -1, count = 0;
	int n = sscanf(m, "%ld %ld %ld", &inside, &outside, &count);
	free(m);
	return n == 3 && inside == 0 && count >= 1 ? outside : -1;
}

static void send_line(int fd, const char *s, size_t n)
{
	if (write_all(fd, s, n) < 0) {
		/* the spawner is gone: nothing to report to */
	}
}

static void send_rc(int fd, int rc, const char *err)
{
	char line[600];
	int n = snprintf(line, sizeof line, "!rc %d %s\n", rc, err);
	if (n > (int)sizeof line - 1)
		n = (int)sizeof line - 1;
	send_line(fd, line, (size_t)n);
}

/* W: pid 1 of the wrap namespace.  Never returns. */
static void wrap_init(struct pidwrap *pw, int (*fn)(struct pidwrap *, char *, size_t), int rep)
{
	char err[512] = "";
	struct sbuf ob;
	sb_init(&ob);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	int rc = -1;
	if (getpid() != 1) {
		snprintf(err, sizeof err, "wrap namespace: first child is pid %d, not 1", (int)getpid());
	} else if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		   mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		snprintf(err, sizeof err, "wrap namespace: mount proc: %s", errno_name(errno));
		rc = errno == EPERM ? STEP_UNSUPPORTED : -1;
	} else {
		pw->ctx->ob = &ob;
		rc = fn(pw, err, sizeof err);
	}
	if (ob.len)
		send_line(rep, ob.s, ob.len);
	send_rc(rep, rc, err);
	_exit(0);
}

enum { NS_READY = 'r', NS_GO = 'g' };

/* C: creates the namespaces, becomes uid 0 in them, forks W. */
static void ns_creator(struct pidwrap *pw, int (*fn)(struct pidwrap *, char *, size_t), int sync, int rep)
{
	char c = NS_READY, err[160];
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (unshare(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS) < 0) {
		snprintf(err, sizeof err, "unshare(CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWNS): %s", errno_name(errno));
		send_rc(rep, errno == EPERM || errno == EINVAL || errno == ENOSPC ? STEP_UNSUPPORTED : -1, err);
		_exit(1);
	}
	if (send(sync, &c, 1, MSG_NOSIGNAL) != 1 || recv(sync, &c, 1, 0) != 1 || c != NS_GO)
		_exit(1); /* the spawner said why */
	/* Become uid 0 of the new namespace: the kernel uid is the mapped one,
	 * no longer 0 (raw syscalls: one thread, no libc broadcast needed). */
	if (syscall(SYS_setresgid, 0, 0, 0) < 0 || syscall(SYS_setresuid, 0, 0, 0) < 0) {
		snprintf(err, sizeof err, "setresuid(0) in the new user namespace: %s", errno_name(errno));
		send_rc(rep, -1, err);
		_exit(1);
	}
	/* Changing the euid made the process non-dumpable (commoncred:
	 * suid_dumpable), and before 6.x a non-dumpable process's /proc/self
	 * files belong to the init namespace's root, so pid 65534 cannot read
	 * its own /proc/self/fdinfo, which is how a pidfd's pid is found where
	 * PIDFD_GET_INFO is missing (5.10).  W and its children inherit this. */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	pid_t w = fork();
	if (w < 0) {
		snprintf(err, sizeof err, "fork of pid 1: %s", errno_name(errno));
		send_rc(rep, -1, err);
		_exit(1);
	}
	if (w == 0)
		wrap_init(pw, fn, rep);
	close(rep);
	int st;
	while (waitpid(w, &st, 0) < 0 && errno == EINTR)
		;
	_exit(0);
}

/* The buffer's last complete line is W's "!rc" line. */
static int ends_with_rc(const struct sbuf *b)
{
	if (!b->len || b->s[b->len - 1] != '\n')
		return 0;
	size_t i = b->len - 1;
	while (i > 0 && b->s[i - 1] != '\n')
		i--;
	return strncmp(b->s + i, "!rc ", 4) == 0;
}

/* Copy W's report lines into the observation; the last line is "!rc N msg". */
static int take_report(struct step_ctx *ctx, int fd, uint64_t deadline, char *err, size_t errlen)
{
	struct sbuf in;
	sb_init(&in);
	int rc = -1, got_rc = 0;
	char buf[4096];
	snprintf(err, errlen, "the wrap namespace gave no answer before the deadline");
	while (!got_rc) {
		uint64_t now = mono_ms();
		if (now >= deadline)
			break;
		struct pollfd p = {fd, POLLIN, 0};
		int r = poll(&p, 1, (int)(deadline - now));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "the wrap namespace ended without an answer");
			break;
		}
		sb_addn(&in, buf, (size_t)n);
		got_rc = ends_with_rc(&in);
	}
	for (char *line = in.s, *nl; line && *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			break;
		*nl = '\0';
		if (strncmp(line, "!rc ", 4) == 0) {
			char *msg;
			rc = (int)strtol(line + 4, &msg, 10);
			snprintf(err, errlen, "%s", *msg == ' ' ? msg + 1 : msg);
		} else {
			sb_addf(ctx->ob, "%s\n", line);
		}
	}
	sb_free(&in);
	return rc;
}

int pidwrap_in_ns(struct pidwrap *pw, int (*fn)(struct pidwrap *, char *, size_t), char *err, size_t errlen)
{
	int rep[2], sync[2];
	if (pipe2(rep, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe2: %s", errno_name(errno));
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) < 0) {
		snprintf(err, errlen, "socketpair: %s", errno_name(errno));
		close(rep[0]);
		close(rep[1]);
		return -1;
	}
	fflush(NULL);
	pid_t c = fork();
	if (c < 0) {
		snprintf(err, errlen, "fork: %s", errno_name(errno));
		close(rep[0]), close(rep[1]), close(sync[0]), close(sync[1]);
		return -1;
	}
	if (c == 0) {
		close(rep[0]);
		close(sync[0]);
		ns_creator(pw, fn, sync[1], rep[1]);
	}
	close(rep[1]);
	close(sync[1]);
	uint64_t deadline = pw->ctx->deadline_ms;
	int rc = -1;
	char ready = 0;
	struct pollfd p = {sync[0], POLLIN, 0};
	uint64_t now = mono_ms();
	int pr = now < deadline ? poll(&p, 1, (int)(deadline - now)) : 0;
	if (pr == 1 && recv(sync[0], &ready, 1, 0) == 1 && ready == NS_READY) {
		char go = NS_GO;
		if (userns_map_root(c, err, errlen) == 0 && send(sync[0], &go, 1, MSG_NOSIGNAL) == 1)
			rc = take_report(pw->ctx, rep[0], deadline, err, errlen);
		else if (!*err)
			snprintf(err, errlen, "could not start the wrap namespace: %s", errno_name(errno));
	} else {
		/* unshare failed (its "!rc" line is waiting) or no answer */
		rc = take_report(pw->ctx, rep[0], mono_ms() + 200, err, errlen);
	}
	close(sync[0]);
	close(rep[0]);
	/* W has reported (or is late): end C, whose death kills W
	 * (PR_SET_PDEATHSIG) and with it the whole wrap namespace. */
	kill(c, SIGKILL);
	while (waitpid(c, NULL, 0) < 0 && errno == EINTR)
		;
	return rc;
}

/* ---- the methods ---- */

long pidwrap_write_pid_max(long v, char *why, size_t len)
{
	/* Never risk the host: the write is made by a process whose kernel uid
	 * is not 0, which an old kernel refuses for the global sysctl. */
	long kuid = outside_root_uid();
	if (kuid <= 0) {
		snprintf(why, len, "refused: uid 0 here is kernel uid %ld; writing pid_max could reach the host", kuid);
		return -1;
	}
	if (write_long(pid_max_path, v) < 0) {
		snprintf(why, len, "write %s=%ld: %s", pid_max_path, v, errno_name(errno));
		return -1;
	}
	long after = read_long(pid_max_path);
	if (after != v) {
		snprintf(why, len, "wrote %s=%ld, read back %ld", pid_max_path, v, after);
		return -1;
	}
	return kuid;
}

static int setup_pid_max(struct pidwrap *pw, int has_ns_pid_max, char *why, size_t len)
{
	if (!has_ns_pid_max) {
		snprintf(why, len, "feature namespaced_pid_max is not here");
		return -1;
	}
	long before = read_long(pid_max_path);
	long kuid = pidwrap_write_pid_max(pw->pid_max, why, len);
	if (kuid < 0)
		return -1;
	obs_put(pw->ctx, "pidwrap.pid_max_inherited", "%ld", before);
	obs_put(pw->ctx, "pidwrap.pid_max", "%ld", pw->pid_max);
	obs_put(pw->ctx, "pidwrap.kernel_uid", "%ld", kuid);
	return 0;
}

static int setup_ns_last_pid(char *why, size_t len)
{
	/* Rewriting the value it holds is a no-op that proves we may write. */
	long v = read_long(ns_last_pid_path);
	if (v < 0 || write_long(ns_last_pid_path, v) < 0) {
		snprintf(why, len, "%s %s: %s", v < 0 ? "read" : "write", ns_last_pid_path, errno_name(errno));
		return -1;
	}
	return 0;
}

int pidwrap_setup(struct pidwrap *pw, enum pidwrap_method want, int has_ns_pid_max, char *err, size_t errlen)
{
	static const enum pidwrap_method order[] = {PW_PID_MAX, PW_NS_LAST_PID, PW_SET_TID};
	size_t used = 0;
	err[0] = '\0';
	for (size_t i = 0; i < sizeof order / sizeof *order; i++) {
		enum pidwrap_method m = order[i];
		if (want != PW_AUTO && want != m)
			continue;
		char why[200];
		int ok;
		if (m == PW_PID_MAX)
			ok = setup_pid_max(pw, has_ns_pid_max, why, sizeof why) == 0;
		else if (m == PW_NS_LAST_PID)
			ok = setup_ns_last_pid(why, sizeof why) == 0;
		else if (!(ok = pw->has_set_tid))
			snprintf(why, sizeof why, "feature clone3_set_tid is not here");
		if (ok) {
			pw->method = m;
			obs_put(pw->ctx, "pidwrap.method", "%s", pidwrap_method_names[m]);
			return 0;
		}
		used += (size_t)snprintf(err + used, used < errlen ? errlen - used : 0, "%s%s: %s", used ? "; " : "",
					 pidwrap_method_names[m], why);
		if (used >= errlen)
			used = errlen - 1;
	}
	return STEP_UNSUPPORTED;
}

/* A filler only moves the pid cursor, so it is made by vfork: it shares
 * W's memory and calls nothing but _exit, and no page tables are copied.
 * The pid comes from the same allocator whatever the clone flags
 * (kernel/fork.c copy_process -> alloc_pid), and a fork can cost
 * milliseconds where page-table updates are dear (a guest without nested
 * paging), which over the hundreds of fillers a wrap takes was most of
 * the family's time. */
pid_t pidwrap_filler(struct pidwrap *pw)
{
	pid_t pid = vfork();
	if (pid == 0)
		_exit(0);
	if (pid < 0)
		return -1;
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	pw->fillers++;
	return pid;
}

int pidwrap_prime(struct pidwrap *pw, pid_t upto, char *err, size_t errlen)
{
	if (pw->method != PW_PID_MAX)
		return 0;
	for (long i = 0; i <= pw->pid_max; i++) {
		if (mono_ms() >= pw->ctx->deadline_ms)
			break;
		pid_t pid = pidwrap_filler(pw);
		if (pid < 0) {
			snprintf(err, errlen, "vfork: %s", errno_name(errno));
			return -1;
		}
		if (pid >= upto)
			return 0;
	}
	snprintf(err, errlen, "pid cursor did not reach %d", (int)upto);
	return -1;
}

static long clone3_at(pid_t p)
{
	pid_t tid = p;
	struct sl_clone_args a;
	memset(&a, 0, sizeof a);
	a.exit_signal = SIGCHLD;
	a.set_tid = (uint64_t)(uintptr_t)&tid;
	a.set_tid_size = 1;
	return sl_clone3(&a, SL_CLONE_ARGS_SIZE_VER1);
}

/* Fork one child by the method in use, aimed at P where the method can
 * aim; the child runs VICTIM when it got P, else exits at once. */
static pid_t fork_aimed(struct pidwrap *pw, pid_t p, int (*victim)(void *), void *arg)
{
	if (pw->method == PW_NS_LAST_PID && write_long(ns_last_pid_path, (long)p - 1) < 0)
		return -1;
	pid_t pid = pw->method == PW_SET_TID ? (pid_t)clone3_at(p) : fork();
	if (pid == 0) {
		if (getpid() != p || !victim)
			_exit(0);
		_exit(victim(arg) & 255);
	}
	return pid;
}

/* Whether the allocator's next pid after LAST is P: kernel/pid.c alloc_pid
 * hands out idr_alloc_cyclic() from LAST + 1, from RESERVED_PIDS once
 * LAST + 1 reaches pid_max, and skips a pid still in use (a live process
 * or a zombie: kill(pid, 0) finds it), so one taken pid before P is
 * looked past. */
static pid_t pid_after(const struct pidwrap *pw, pid_t last)
{
	return last + 1 >= pw->pid_max ? PIDWRAP_RESERVED : last + 1;
}

static int cursor_before(const struct pidwrap *pw, pid_t last, pid_t p)
{
	if (last <= 0)
		return 0;
	pid_t next = pid_after(pw, last);
	return next == p || (pid_after(pw, next) == p && (kill(next, 0) == 0 || errno != ESRCH));
}

pid_t pidwrap_recycle(struct pidwrap *pw, pid_t p, int (*victim)(void *), void *arg, char *err, size_t errlen)
{
	/* PW_PID_MAX: a full cycle of the namespace's pids is enough.  Fillers
	 * (cheap) move the cursor until it stands just before P; only then is
	 * the victim forked, and a fork that got another pid is one more
	 * filler. */
	long bound = pw->method == PW_PID_MAX ? 2 * pw->pid_max : 1;
	pid_t last = 0;
	for (long i = 0; i < bound; i++) {
		if (mono_ms() >= pw->ctx->deadline_ms) {
			snprintf(err, errlen, "deadline reached after %ld forks waiting for pid %d", i, (int)p);
			return -1;
		}
		if (pw->method == PW_PID_MAX && !cursor_before(pw, last, p)) {
			if ((last = pidwrap_filler(pw)) < 0) {
				snprintf(err, errlen, "vfork for pid %d: %s", (int)p, errno_name(errno));
				return -1;
			}
			continue;
		}
		pid_t pid = fork_aimed(pw, p, victim, arg);
		if (pid < 0) {
			snprintf(err, errlen, "%s for pid %d: %s", pw->method == PW_SET_TID ? "clone3(set_tid)" : "fork",
				 (int)p, errno_name(errno));
			return -1;
		}
		if (pid == p)
			return p;
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		pw->fillers++;
		last = pid;
	}
	snprintf(err, errlen, "pid %d did not come round (%s, %ld forks)", (int)p, pidwrap_method_names[pw->method],
		 bound);
	return -1;
}

pid_t pidwrap_try_pid(struct pidwrap *pw, pid_t p)
{
	pid_t pid = fork_aimed(pw, p, NULL, NULL);
	if (pid < 0)
		return errno == EEXIST ? 0 : -1;
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	pw->fillers++;
	return pid;
}
