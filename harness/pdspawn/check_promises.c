/* check_promises.c: one check per promise of pdspawn.h, run against a
 * spawn API (check.h): pdspawn, or glibc's pidfd_spawn for comparison. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pdspawn/check.h"
#include "sys/rawsig.h"

#define ENOSYS_SKIP(r)                                                                                 \
	do {                                                                                           \
		if ((r) == ENOSYS)                                                                     \
			return SKIPPED("%s: ENOSYS (kernel lacks CLONE_PIDFD or waitid P_PIDFD)", api->name); \
	} while (0)

/* 1. A pidfd comes back, close-on-exec; its pid is the child's. */
enum res t_pidfd(const struct check_api *api, char *why, size_t len)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return FAILED("set-up: pipe2: %s", strerror(errno));
	struct pdspawn_fd map[] = {{p[1], 3}};
	struct pdspawn_attr a = {map, 1, NULL, NULL, NULL, 0};
	char *argv[] = {"sh", "-c", "echo $$ >&3", NULL};
	int pidfd;
	int r = spawn_tracked(api, &pidfd, "/bin/sh", argv, &a);
	close(p[1]);
	if (r) {
		close(p[0]);
		ENOSYS_SKIP(r);
		return FAILED("%s: %s", api->name, strerror(r));
	}
	int fdflags = fcntl(pidfd, F_GETFD);
	pid_t pid = api->pid(pidfd);
	char path[64], link[256] = "";
	snprintf(path, sizeof path, "/proc/self/fd/%d", pidfd);
	ssize_t ln = readlink(path, link, sizeof link - 1);
	link[ln > 0 ? ln : 0] = 0;
	char out[64];
	ssize_t n = read_all(p[0], out, sizeof out, WAIT_MS);
	close(p[0]);
	siginfo_t si;
	int w = reap(api, pidfd, WAIT_MS, &si);
	pid_t reported = n > 0 ? (pid_t)atoi(out) : -1;
	diag("pidfd %d -> \"%s\"; pid %d, child says %d", pidfd, link, (int)pid, (int)reported);

	if (fdflags < 0 || !(fdflags & FD_CLOEXEC))
		return FAILED("pidfd flags %d: not a close-on-exec fd", fdflags);
	if (strcmp(link, "anon_inode:[pidfd]") != 0 && strncmp(link, "pidfd:", 6) != 0)
		return FAILED("fd links to \"%s\", not a pidfd", link);
	if (pid <= 0 || pid != reported)
		return FAILED("pid from the pidfd %d, child's $$ %d", (int)pid, (int)reported);
	if (w || !exited_zero(&si))
		return FAILED("wait: %s, si_code %d si_status %d", strerror(w), si.si_code, si.si_status);
	return PASS;
}

/* 2. Exactly the mapped fds, at their numbers, whatever FD_CLOEXEC said. */
enum res t_exact_fds(const struct check_api *api, char *why, size_t len)
{
	/* x: cloexec, mapped to itself; p (plain) and q (cloexec) swapped; r
	 * mapped twice, once to 0; u and v not mapped, one of each kind. */
	int x = memfd_create("x", MFD_CLOEXEC), pf = memfd_create("p", 0), q = memfd_create("q", MFD_CLOEXEC);
	int r = memfd_create("r", 0), u = memfd_create("u", 0), v = memfd_create("v", MFD_CLOEXEC);
	int p[2] = {-1, -1};
	int files[] = {x, pf, q, r, u, v};
	enum res res = FAIL;
	int pidfd = -1;
	if (x < 0 || pf < 0 || q < 0 || r < 0 || u < 0 || v < 0 || pipe2(p, O_CLOEXEC) < 0) {
		snprintf(why, len, "set-up: memfd_create/pipe2: %s", strerror(errno));
		goto out;
	}
	struct pdspawn_fd map[] = {{x, x}, {pf, q}, {q, pf}, {r, 0}, {r, 61}, {p[1], 62}};
	struct pdspawn_fd want[] = {{x, x}, {pf, q}, {q, pf}, {r, 0}, {r, 61}, {p[0], 62}};
	int e = spawn_and_compare_fds(api, map, sizeof map / sizeof *map, want, p[0], why, len);
	p[1] = -1;
	if (e) {
		res = e == ENOSYS ? SKIP : FAIL;
		if (e > 0)
			snprintf(why, len, "%s: %s", api->name, strerror(e));
		goto out;
	}
	siginfo_t si;
	int w;

	/* An empty map, and a NULL attr: no fds at all. */
	char *argv0[] = {check_self, "--child-fds", "-1", NULL};
	struct pdspawn_attr empty = {NULL, 0, NULL, NULL, NULL, 0};
	const struct pdspawn_attr *variants[] = {&empty, NULL};
	for (int i = 0; i < 2; i++) {
		e = spawn_tracked(api, &pidfd, check_self, argv0, variants[i]);
		if (e) {
			snprintf(why, len, "%s (no fds): %s", api->name, strerror(e));
			goto out;
		}
		w = reap(api, pidfd, WAIT_MS, &si);
		pidfd = -1;
		if (w || si.si_code != CLD_EXITED || si.si_status != 0) {
			snprintf(why, len, "%s: child has %d fds (si_code %d, wait %s)",
				 i ? "attr NULL" : "empty map", si.si_status, si.si_code, strerror(w));
			goto out;
		}
	}
	res = PASS;
out:
	for (size_t i = 0; i < sizeof files / sizeof *files; i++)
		if (files[i] >= 0)
			close(files[i]);
	for (int i = 0; i < 2; i++)
		if (p[i] >= 0)
			close(p[i]);
	return res;
}

static volatile sig_atomic_t sigchlds;
static void on_sigchld(int sig)
{
	(void)sig;
	sigchlds++;
}

/* Field 38 of /proc/PID/stat: the signal the kernel will send the parent
 * when PID exits; -1 if unreadable. */
static int stat_exit_signal(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	char *s = n > 0 ? (buf[n] = 0, strrchr(buf, ')')) : NULL;
	for (int field = 2; s && field < 38; field++)
		s = strchr(s + 1, ' ');
	return s ? atoi(s + 1) : -1;
}

/* 3. Exit signal 0, and what execve does to it.  clone(2): "If no signal
 * (i.e., zero) is specified, then the parent process is not signaled when
 * the child terminates."  execve(2): "The termination signal is reset to
 * SIGCHLD (see clone(2))."  (fs/exec.c, de_thread: tsk->exit_signal =
 * SIGCHLD.)  So a pdspawn child that fails before its exec raises nothing,
 * and one that has exec'd raises SIGCHLD like any other child.  This check
 * holds the kernel to both documented rules and to the parts of the promise
 * that survive: the pidfd polls POLLIN on exit and pdspawn_wait reaps. */
enum res t_no_sigchld(const struct check_api *api, char *why, size_t len)
{
	struct sigaction sa = {0}, old_sa;
	sa.sa_handler = on_sigchld;
	if (sigaction(SIGCHLD, &sa, &old_sa) < 0)
		return FAILED("set-up: sigaction: %s", strerror(errno));
	sigchlds = 0;
	enum res res = PASS;
	char *argv[] = {"sleep", "0.1", NULL};
	int pidfd0;
	int r0 = api->spawn(&pidfd0, "/nonexistent/pdspawn-check", argv, NULL);
	int before_exec = (int)sigchlds;
	diag("a child that exits before execve (%s): %d SIGCHLD", strerror(r0), before_exec);
	if (r0 != ENOENT)
		res = FAILED("exec failure gave %s, not ENOENT", strerror(r0));
	else if (before_exec != 0)
		res = FAILED("%d SIGCHLD from a child that never exec'd (pdspawn's have exit signal 0 until exec)",
			     before_exec);
	int pidfd;
	int r = res == PASS ? spawn_tracked(api, &pidfd, "/bin/sleep", argv, NULL) : 0;
	if (res == PASS && r) {
		res = r == ENOSYS ? SKIP : FAIL;
		snprintf(why, len, "%s: %s", api->name, strerror(r));
	} else if (res == PASS) {
		int exit_sig = stat_exit_signal(api->pid(pidfd));
		struct pollfd p = {pidfd, POLLIN, 0};
		int pr;
		while ((pr = poll(&p, 1, WAIT_MS)) < 0 && errno == EINTR)
			;
		siginfo_t rsi;
		int w = reap(api, pidfd, WAIT_MS, &rsi);
		/* SIGCHLD is delivered when the child exits; give the handler a
		 * bounded moment in case delivery trails the reap. */
		for (int i = 0; i < 100 && sigchlds == 0; i++)
			usleep(1000);
		diag("after execve: exit signal %d in /proc/PID/stat; poll %d revents %#x; SIGCHLD handled %d",
		     exit_sig, pr, p.revents, (int)sigchlds);
		if (pr != 1 || !(p.revents & POLLIN))
			res = FAILED("pidfd not POLLIN after exit (poll %d, revents %#x)", pr, p.revents);
		else if (w || !exited_zero(&rsi))
			res = FAILED("wait: %s, si_code %d", strerror(w), rsi.si_code);
		else if (exit_sig != SIGCHLD)
			res = FAILED("exit signal %d after execve; execve(2) says it is reset to SIGCHLD (%d)",
				     exit_sig, SIGCHLD);
		else if (sigchlds != 1)
			res = FAILED("%d SIGCHLD after the exec'd child exited; execve(2) resets the "
				     "termination signal to SIGCHLD, so exactly 1 was expected",
				     (int)sigchlds);
	}
	sigaction(SIGCHLD, &old_sa, NULL);
	return res;
}

/* 4. Signals through the pidfd; a zombie takes them, a reaped child ESRCH. */
enum res t_kill(const struct check_api *api, char *why, size_t len)
{
	char *argv[] = {"sleep", "30", NULL};
	int pidfd;
	int r = spawn_tracked(api, &pidfd, "/bin/sleep", argv, NULL);
	ENOSYS_SKIP(r);
	if (r)
		return FAILED("%s: %s", api->name, strerror(r));
	int k = api->kill(pidfd, SIGTERM);
	struct pollfd p = {pidfd, POLLIN, 0};
	int pr;
	while ((pr = poll(&p, 1, WAIT_MS)) < 0 && errno == EINTR)
		;
	int kz = api->kill(pidfd, 0); /* a zombie now */
	siginfo_t si = {0};
	int w = api->wait(pidfd, WAIT_MS, &si);
	if (w) {
		reap(api, pidfd, 0, NULL);
		return FAILED("wait: %s", strerror(w));
	}
	track(pidfd, 0);
	int k0 = api->kill(pidfd, 0), kt = api->kill(pidfd, SIGTERM);
	pid_t pid = api->pid(pidfd);
	close(pidfd);
	diag("kill %d; zombie kill(0) %d; after reap kill(0) %s, kill(TERM) %s; pdspawn_pid %d", k, kz,
	     strerror(k0), strerror(kt), (int)pid);
	if (k)
		return FAILED("kill(SIGTERM): %s", strerror(k));
	if (si.si_code != CLD_KILLED || si.si_status != SIGTERM)
		return FAILED("si_code %d si_status %d, want CLD_KILLED SIGTERM", si.si_code, si.si_status);
	if (pr != 1 || kz)
		return FAILED("zombie: poll %d, kill(0) %s", pr, strerror(kz));
	if (k0 != ESRCH || kt != ESRCH)
		return FAILED("after reaping: kill(0) %s, kill(SIGTERM) %s, want ESRCH", strerror(k0),
			      strerror(kt));
	return PASS;
}

/* 5. Exec and set-up failures come back as errno, with nothing left. */
enum res t_exec_errors(const struct check_api *api, char *why, size_t len)
{
	char file[] = "/tmp/pdspawn-check-XXXXXX";
	int tf = mkstemp(file);
	if (tf < 0 || fchmod(tf, 0644) < 0 || write(tf, "#!/bin/sh\n", 10) != 10)
		return FAILED("set-up: temp file: %s", strerror(errno));
	close(tf);
	int ok = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int closed = open("/dev/null", O_RDONLY | O_CLOEXEC); /* a number above ok, then free */
	close(closed);
	struct pdspawn_fd bad_src[] = {{closed, 3}}, bad_dst[] = {{ok, 1 << 30}};
	struct pdspawn_fd neg[] = {{ok, -1}};
	static const struct pdspawn_attr none;
	struct pdspawn_attr a_closed = {bad_src, 1, NULL, NULL, NULL, 0}, a_dst = {bad_dst, 1, NULL, NULL, NULL, 0};
	struct pdspawn_attr a_neg = {neg, 1, NULL, NULL, NULL, 0}, a_cwd = {NULL, 0, NULL, NULL, "/nonexistent-dir", 0};
	struct pdspawn_attr a_flag = {NULL, 0, NULL, NULL, NULL, 0x80000000u};
	/* The last two rows are about pdspawn's own arguments (posix_spawn
	 * leaves a NULL path undefined and has no flags of this kind): they
	 * are not put to another API. */
	const struct {
		const char *name, *path;
		const struct pdspawn_attr *attr;
		int want, pdspawn_only;
	} cases[] = {
		{"no such file", "/nonexistent/pdspawn-check", &none, ENOENT, 0},
		{"mode 0644 file", file, &none, EACCES, 0},
		{"directory", "/tmp", &none, EACCES, 0},
		{"closed parent_fd (child-side)", "/bin/true", &a_closed, EBADF, 0},
		{"negative child_fd", "/bin/true", &a_neg, EBADF, 0},
		{"child_fd above RLIMIT_NOFILE (child-side)", "/bin/true", &a_dst, EBADF, 0},
		{"chdir to missing cwd (child-side)", "/bin/true", &a_cwd, ENOENT, 0},
		{"NULL path", NULL, &none, EINVAL, 1},
		{"unknown flag", "/bin/true", &a_flag, EINVAL, 1},
	};
	/* Every row runs; the reason lists each that failed, so that a
	 * comparison shows which part of the promise another API keeps. */
	enum res res = PASS;
	size_t used = 0;
	why[0] = 0;
	for (size_t i = 0; i < sizeof cases / sizeof *cases && res != SKIP; i++) {
		if (cases[i].pdspawn_only && api != &api_pdspawn)
			continue;
		char *argv[] = {"x", NULL};
		int before = count_fds();
		int pidfd = -1;
		errno = 4242;
		int r = spawn_tracked(api, &pidfd, cases[i].path, argv, cases[i].attr);
		int e = errno;
		if (r == 0)
			reap(api, pidfd, WAIT_MS, NULL);
		int after = count_fds();
		int clean = no_children();
		diag("%s: %s", cases[i].name, r ? strerror(r) : "spawned");
		char what[160] = "";
		if (r == ENOSYS) {
			res = SKIPPED("%s: ENOSYS", api->name);
			break;
		} else if (r != cases[i].want) {
			snprintf(what, sizeof what, "got %s, want %s", r ? strerror(r) : "success", strerror(cases[i].want));
		} else if (!clean) {
			snprintf(what, sizeof what, "a child remains");
		} else if (before != after) {
			snprintf(what, sizeof what, "%d fds before, %d after", before, after);
		} else if (e != 4242) {
			snprintf(what, sizeof what, "errno changed to %d", e);
		}
		if (what[0]) {
			res = FAIL;
			if (used < len)
				used += (size_t)snprintf(why + used, len - used, "%s%s: %s", used ? "; " : "",
							 cases[i].name, what);
		}
	}
	close(ok);
	unlink(file);
	return res;
}

static unsigned long long status_mask(const char *text, const char *key)
{
	const char *s = strstr(text, key);
	return s ? strtoull(s + strlen(key), NULL, 16) : ~0ULL;
}

static unsigned long long bit(int sig)
{
	return 1ULL << (sig - 1);
}

static void on_usr2(int sig)
{
	(void)sig;
}

/* 6. The child's signal state is the attr's, not the caller's: the
 * caller ignores USR1, a real-time signal and the two signals glibc
 * reserves (32 and 33, as a process started by glibc's posix_spawn before
 * 2.38 has them: its child sets them to SIG_IGN), handles USR2 and blocks
 * HUP.  Run in a
 * forked copy (isolated()), which may ignore the libc's own signals.
 * With PDSPAWN_INHERIT_IGNORED its ignored signals stay ignored and the
 * rest still holds. */
enum res t_signals(const struct check_api *api, char *why, size_t len)
{
	struct sigaction ign = {0}, hnd = {0}, old1, old2, old_rt;
	ign.sa_handler = SIG_IGN;
	hnd.sa_handler = on_usr2;
	sigset_t hup, old_mask;
	sigemptyset(&hup);
	sigaddset(&hup, SIGHUP);
	int rt = SIGRTMIN + 3;
	sigaction(SIGUSR1, &ign, &old1);
	sigaction(SIGUSR2, &hnd, &old2);
	sigaction(rt, &ign, &old_rt);
	rawsig_set(32, SIG_IGN);
	rawsig_set(33, SIG_IGN);
	sigprocmask(SIG_BLOCK, &hup, &old_mask);

	sigset_t pipe_set, term_set, usr1_set;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigemptyset(&term_set);
	sigaddset(&term_set, SIGTERM);
	sigemptyset(&usr1_set);
	sigaddset(&usr1_set, SIGUSR1);
	const struct {
		const char *name;
		const sigset_t *mask, *ignore;
		unsigned flags;
		unsigned long long blk, ign;
	} rows[] = {
		{"defaults", NULL, NULL, 0, 0, 0},
		{"ignore PIPE, block TERM", &term_set, &pipe_set, 0, bit(SIGTERM), bit(SIGPIPE)},
		{"ignore USR1 (ignored by the caller too)", NULL, &usr1_set, 0, 0, bit(SIGUSR1)},
		{"INHERIT_IGNORED, ignore PIPE", NULL, &pipe_set, PDSPAWN_INHERIT_IGNORED, 0, bit(SIGPIPE)},
	};
	/* What the caller ignores now (USR1, rt, and whatever it inherited:
	 * a test runner may start it with more ignored), which the
	 * INHERIT_IGNORED row must find again in the child. */
	unsigned long long caller_ign = ~0ULL;
	int sf = open("/proc/thread-self/status", O_RDONLY | O_CLOEXEC);
	if (sf >= 0) {
		char text[8192];
		ssize_t n = read_all(sf, text, sizeof text, WAIT_MS);
		close(sf);
		if (n > 0)
			caller_ign = status_mask(text, "SigIgn:");
	}
	enum res res = PASS;
	char noexpr[256] = "";
	size_t used = 0;
	int mismatch = 0;
	if (caller_ign == ~0ULL || !(caller_ign & bit(SIGUSR1)) || !(caller_ign & bit(rt)) || !(caller_ign & bit(32)) ||
	    !(caller_ign & bit(33)))
		res = FAILED("set-up: the caller's SigIgn %llx lacks USR1, SIGRTMIN+3, 32 or 33", caller_ign);
	for (size_t i = 0; i < sizeof rows / sizeof *rows && res == PASS; i++) {
		int p[2];
		if (pipe2(p, O_CLOEXEC) < 0) {
			res = FAILED("set-up: pipe2: %s", strerror(errno));
			break;
		}
		struct pdspawn_fd map[] = {{p[1], 1}};
		struct pdspawn_attr a = {map, 1, rows[i].mask, rows[i].ignore, NULL, rows[i].flags};
		char *argv[] = {"cat", "/proc/self/status", NULL};
		int pidfd;
		int r = spawn_tracked(api, &pidfd, "/bin/cat", argv, &a);
		close(p[1]);
		if (r == ENOTSUP) {
			/* Another API without this attribute: the other rows still run. */
			close(p[0]);
			size_t nx = strlen(noexpr);
			snprintf(noexpr + nx, sizeof noexpr - nx, "%s%s", nx ? "; " : "", rows[i].name);
			continue;
		}
		if (r) {
			close(p[0]);
			res = r == ENOSYS ? SKIP : FAIL;
			snprintf(why, len, "%s: %s", api->name, strerror(r));
			break;
		}
		char text[8192];
		ssize_t n = read_all(p[0], text, sizeof text, WAIT_MS);
		close(p[0]);
		siginfo_t si;
		int w = reap(api, pidfd, WAIT_MS, &si);
		if (n <= 0 || w || !exited_zero(&si)) {
			res = FAILED("%s: cat: read %zd, wait %s, si_code %d", rows[i].name, n, strerror(w),
				     si.si_code);
			break;
		}
		unsigned long long blk = status_mask(text, "SigBlk:"), ig = status_mask(text, "SigIgn:");
		unsigned long long cgt = status_mask(text, "SigCgt:");
		unsigned long long want_ign = rows[i].ign | (rows[i].flags & PDSPAWN_INHERIT_IGNORED ? caller_ign : 0);
		diag("%s: SigBlk %016llx SigIgn %016llx SigCgt %016llx", rows[i].name, blk, ig, cgt);
		if (blk != rows[i].blk || ig != want_ign || cgt != 0) {
			/* The other rows still run: a comparison shows which hold. */
			mismatch = 1;
			if (used < len)
				used += (size_t)snprintf(why + used, len - used,
							 "%s%s: SigBlk %llx SigIgn %llx SigCgt %llx, want %llx %llx 0",
							 used ? "; " : "", rows[i].name, blk, ig, cgt, rows[i].blk, want_ign);
		}
	}
	if (res == PASS && mismatch)
		res = FAIL;
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	sigaction(SIGUSR1, &old1, NULL);
	sigaction(SIGUSR2, &old2, NULL);
	sigaction(rt, &old_rt, NULL);
	if (res == FAIL && mismatch && noexpr[0] && used < len)
		snprintf(why + used, len - used, "; not expressible: %s", noexpr);
	if (res == PASS && noexpr[0])
		return NOT_EXPRESSIBLE("no way to make a signal ignored in the child (rows: %s); the other rows hold",
				       noexpr);
	return res;
}

static void itimer_ms(int ms)
{
	struct itimerval it = {{0, ms * 1000}, {0, ms * 1000}};
	setitimer(ITIMER_REAL, &it, NULL);
}

/* 7. No EINTR, with a signal without SA_RESTART every millisecond. */
enum res t_no_eintr(const struct check_api *api, char *why, size_t len)
{
	char *sleep_argv[] = {"sleep", "0.2", NULL}, *true_argv[] = {"true", NULL};
	int pidfd;
	sig_atomic_t t0 = check_ticks;
	itimer_ms(1); /* replaces the guard's alarm; on_alarm still checks it */
	int r = spawn_tracked(api, &pidfd, "/bin/sleep", sleep_argv, NULL);
	int w = -1;
	siginfo_t si = {0};
	if (r == 0)
		w = reap(api, pidfd, WAIT_MS, &si);
	int during_wait = check_ticks - t0;
	int spawn_eintr = 0, wait_eintr = 0, other = 0, first_err = 0;
	for (int i = 0; i < 200 && r == 0; i++) {
		int e = spawn_tracked(api, &pidfd, "/bin/true", true_argv, NULL);
		if (e) {
			spawn_eintr += e == EINTR;
			other += e != EINTR;
			first_err = first_err ? first_err : e;
			continue;
		}
		int we = reap(api, pidfd, WAIT_MS, NULL);
		wait_eintr += we == EINTR;
		other += we && we != EINTR;
		first_err = first_err ? first_err : we;
	}
	itimer_ms(0);
	diag("%d SIGALRMs during the 0.2 s wait, %d in all; spawn EINTR %d, wait EINTR %d, other errors %d",
	     during_wait, (int)(check_ticks - t0), spawn_eintr, wait_eintr, other);
	ENOSYS_SKIP(r);
	if (r)
		return FAILED("%s: %s", api->name, strerror(r));
	if (w || !exited_zero(&si))
		return FAILED("wait under SIGALRM: %s, si_code %d", strerror(w), si.si_code);
	if (during_wait <= 0)
		return FAILED("the timer never interrupted the wait: nothing was tested");
	if (spawn_eintr || wait_eintr || other)
		return FAILED("EINTR %d/%d, other errors %d (first %s)", spawn_eintr, wait_eintr, other,
			      strerror(first_err));
	return PASS;
}

/* 8. A wait that times out leaves the child running. */
enum res t_timeout(const struct check_api *api, char *why, size_t len)
{
	if (!api->timed_wait)
		return NOT_EXPRESSIBLE("%s has no wait with a timeout (poll(2) on the pidfd, then waitid, does it)",
				       api->name);
	char *argv[] = {"sleep", "30", NULL};
	int pidfd;
	int r = spawn_tracked(api, &pidfd, "/bin/sleep", argv, NULL);
	ENOSYS_SKIP(r);
	if (r)
		return FAILED("%s: %s", api->name, strerror(r));
	int64_t t = now_ns();
	siginfo_t si;
	int w = api->wait(pidfd, 100, &si);
	int64_t ms = (now_ns() - t) / 1000000;
	int alive = api->kill(pidfd, 0);
	int k = api->kill(pidfd, SIGKILL);
	int w2 = reap(api, pidfd, WAIT_MS, &si);
	diag("wait(100 ms): %s after %lld ms; kill(0) %s", strerror(w), (long long)ms, strerror(alive));
	if (w != ETIMEDOUT)
		return FAILED("api->wait(100 ms): %s, want ETIMEDOUT", strerror(w));
	if (ms < 100 || ms > 2000)
		return FAILED("timed out after %lld ms", (long long)ms);
	if (alive)
		return FAILED("child not alive after the timeout: %s", strerror(alive));
	if (k || w2 || si.si_code != CLD_KILLED || si.si_status != SIGKILL)
		return FAILED("kill %s, reap %s, si_code %d", strerror(k), strerror(w2), si.si_code);
	return PASS;
}

/* 9. attr->cwd is the child's cwd; NULL inherits the caller's. */
enum res t_cwd(const struct check_api *api, char *why, size_t len)
{
	char tmp[PATH_MAX], here[PATH_MAX];
	if (!realpath("/tmp", tmp) || !getcwd(here, sizeof here))
		return FAILED("set-up: realpath/getcwd: %s", strerror(errno));
	const char *cwds[] = {"/tmp", NULL};
	const char *want[] = {tmp, here};
	for (int i = 0; i < 2; i++) {
		int p[2];
		if (pipe2(p, O_CLOEXEC) < 0)
			return FAILED("set-up: pipe2: %s", strerror(errno));
		struct pdspawn_fd map[] = {{p[1], 3}};
		struct pdspawn_attr a = {map, 1, NULL, NULL, cwds[i], 0};
		char *argv[] = {check_self, "--child-cwd", "3", NULL};
		int pidfd;
		int r = spawn_tracked(api, &pidfd, check_self, argv, &a);
		close(p[1]);
		if (r) {
			close(p[0]);
			ENOSYS_SKIP(r);
			return FAILED("%s: %s", api->name, strerror(r));
		}
		char got[PATH_MAX];
		ssize_t n = read_all(p[0], got, sizeof got, WAIT_MS);
		close(p[0]);
		siginfo_t si;
		int w = reap(api, pidfd, WAIT_MS, &si);
		diag("cwd %s: child in \"%s\"", cwds[i] ? cwds[i] : "NULL", n >= 0 ? got : "?");
		if (n < 0 || w || !exited_zero(&si) || strcmp(got, want[i]) != 0)
			return FAILED("cwd %s: child in \"%s\", want \"%s\"", cwds[i] ? cwds[i] : "NULL",
				      n >= 0 ? got : "?", want[i]);
	}
	return PASS;
}

