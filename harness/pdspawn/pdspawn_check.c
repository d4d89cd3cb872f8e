/* pdspawn_check.c: checks every promise of pdspawn.h, and the defects
 * found in it, against the running kernel.  Output is TAP 13 (readable as
 * KTAP); exit 0 when every check passes or skips, 1 when one fails or the
 * run bails out, 2 for bad usage.
 *
 *   pdspawn-check [--only NAME,...] [--json FILE]
 *
 * The checks run one after another in this process, or in a forked copy
 * of it when they change process-wide state or must survive a crash
 * (isolated()); each restores what it changes and reaps every child it
 * starts, and the runner verifies after each check that no child is left
 * (this process is a child subreaper, so orphans come back to it).  A
 * last-resort SIGALRM guard kills the children still tracked and prints
 * "Bail out!".
 *
 * Where the libc has glibc's pidfd_spawn (2.39+), every check is run
 * against it too, through the same attributes (check_api.c): the result,
 * which of pdspawn's promises glibc's API keeps, is printed as diagnostics,
 * summed up in one test point, and written with --json.
 *
 * Observers are exec'd as children: this program itself in a child mode
 * (--child-fds, --child-cwd), and /bin/cat reading its own
 * /proc/self/status for the signal state, because a sanitizer runtime
 * installs handlers in this program before main() and would blur it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pdspawn/check.h"
#include "sys/libc_ext.h"
#include "sys/sys.h"

#define GUARD_S 60 /* bound on one check, then "Bail out!" */

char check_self[PATH_MAX];
static const char *diag_prefix = "";

void diag(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("# %s", diag_prefix);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
}

int64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* ---- children: tracking, reaping, the guard ---- */

#define MAX_LIVE 8
static volatile int live[MAX_LIVE] = {-1, -1, -1, -1, -1, -1, -1, -1};
volatile sig_atomic_t check_ticks;
static struct timespec guard_deadline;
static const char *volatile current = "start";

void track(int pidfd, int on)
{
	for (int i = 0; i < MAX_LIVE; i++)
		if (live[i] == (on ? -1 : pidfd)) {
			live[i] = on ? pidfd : -1;
			return;
		}
}

static void bail(void)
{
	for (int i = 0; i < MAX_LIVE; i++)
		if (live[i] >= 0)
			sl_pidfd_send_signal(live[i], SIGKILL, NULL, 0);
	static const char msg[] = "Bail out! a check overran its time: ";
	if (write(1, msg, sizeof msg - 1) < 0 || write(1, current, strlen(current)) < 0 || write(1, "\n", 1) < 0)
		_exit(1);
	_exit(1);
}

/* The one SIGALRM handler, installed without SA_RESTART: it counts ticks
 * for the EINTR check and is the guard.  alarm() and the 1 ms itimer share
 * ITIMER_REAL, so the guard is a deadline checked on every tick. */
static void on_alarm(int sig)
{
	(void)sig;
	int e = errno;
	check_ticks++;
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	if (t.tv_sec > guard_deadline.tv_sec ||
	    (t.tv_sec == guard_deadline.tv_sec && t.tv_nsec >= guard_deadline.tv_nsec))
		bail();
	errno = e;
}

static void guard(unsigned secs)
{
	clock_gettime(CLOCK_MONOTONIC, &guard_deadline);
	guard_deadline.tv_sec += secs;
	alarm(secs);
}

int spawn_tracked(const struct check_api *api, int *pidfd, const char *path, char *const argv[],
		  const struct pdspawn_attr *a)
{
	int r = api->spawn(pidfd, path, argv, a);
	if (r == 0)
		track(*pidfd, 1);
	return r;
}

int reap(const struct check_api *api, int pidfd, int timeout_ms, siginfo_t *si)
{
	siginfo_t local;
	if (!si)
		si = &local;
	int r = api->wait(pidfd, timeout_ms, si);
	if (r == ETIMEDOUT) {
		api->kill(pidfd, SIGKILL);
		api->wait(pidfd, WAIT_MS, &local);
	}
	track(pidfd, 0);
	close(pidfd);
	return r;
}

int exited_zero(const siginfo_t *si)
{
	return si->si_code == CLD_EXITED && si->si_status == 0;
}

ssize_t read_all(int fd, char *buf, size_t len, int timeout_ms)
{
	size_t used = 0;
	int64_t end = now_ns() + (int64_t)timeout_ms * 1000000;
	while (used + 1 < len) {
		int left = (int)((end - now_ns()) / 1000000);
		struct pollfd p = {fd, POLLIN, 0};
		if (left <= 0 || poll(&p, 1, left) <= 0)
			return -1;
		ssize_t n = read(fd, buf + used, len - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	buf[used] = 0;
	return (ssize_t)used;
}

int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own fd */
}

int no_children(void)
{
	siginfo_t si;
	return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT | __WALL) < 0 && errno == ECHILD;
}

int reap_leftovers(void)
{
	int n = 0;
	for (int k = 0; k < MAX_LIVE; k++)
		if (live[k] >= 0)
			sl_pidfd_send_signal(live[k], SIGKILL, NULL, 0);
	siginfo_t si;
	for (int k = 0; k < 200 && !no_children(); k++) {
		memset(&si, 0, sizeof si);
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | __WALL) == 0 && si.si_pid > 0)
			n++;
		else
			usleep(20 * 1000);
	}
	for (int k = 0; k < MAX_LIVE; k++)
		if (live[k] >= 0) {
			close(live[k]);
			live[k] = -1;
		}
	return n;
}

/* ---- isolation ---- */

struct shared_res {
	enum res r;
	char why[512];
};

enum res isolated(check_fn fn, const struct check_api *api, char *why, size_t len, int timeout_ms)
{
	struct shared_res *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return FAILED("set-up: mmap: %s", strerror(errno));
	sh->r = FAIL;
	snprintf(sh->why, sizeof sh->why, "the check's process ended without a result");
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		munmap(sh, sizeof *sh);
		return FAILED("set-up: fork: %s", strerror(errno));
	}
	if (pid == 0) {
		/* Its own process group, so that a timeout kills whatever it
		 * started, and the stress check's group signals stay inside. */
		setpgid(0, 0);
		alarm(0);
		char w[sizeof sh->why] = "";
		enum res r = fn(api, w, sizeof w);
		memcpy(sh->why, w, sizeof w);
		sh->r = r;
		fflush(stdout);
		_exit(0);
	}
	int pidfd = sl_pidfd_open(pid, 0);
	int st = 0, timed_out = 0;
	if (pidfd >= 0) {
		struct pollfd p = {pidfd, POLLIN, 0};
		int64_t end = now_ns() + (int64_t)timeout_ms * 1000000;
		int n;
		do {
			int left = (int)((end - now_ns()) / 1000000);
			n = left > 0 ? poll(&p, 1, left) : 0;
		} while (n < 0 && errno == EINTR);
		if (n == 0) {
			timed_out = 1;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
		}
		close(pidfd);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	enum res r = sh->r;
	snprintf(why, len, "%s", sh->why);
	munmap(sh, sizeof *sh);
	if (timed_out)
		return FAILED("the check did not finish within %d ms", timeout_ms);
	if (WIFSIGNALED(st))
		return FAILED("the check's process died of signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
	return r;
}

/* ---- the kernel's exit-status keeping, probed without pdspawn ---- */

int kernel_keeps_exit_status(void)
{
	static int known = -1;
	if (known >= 0)
		return known;
	known = 0;
	pid_t pid = fork();
	if (pid == 0)
		_exit(5);
	if (pid < 0)
		return known;
	int pidfd = sl_pidfd_open(pid, 0);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (pidfd < 0)
		return known;
	struct sl_pidfd_info pi;
	memset(&pi, 0, sizeof pi);
	pi.mask = SL_PIDFD_INFO_EXIT;
	if (ioctl(pidfd, SL_PIDFD_GET_INFO, &pi) == 0 && (pi.mask & SL_PIDFD_INFO_EXIT) && WIFEXITED(pi.exit_code) &&
	    WEXITSTATUS(pi.exit_code) == 5)
		known = 1;
	close(pidfd);
	return known;
}

/* ---- child modes ---- */

/* Write "fd dev ino" for every open fd but the listing's own to OUT (if
 * OUT >= 0); exit with the number of fds. */
static int child_fds(int out)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return 126;
	char buf[4096];
	size_t used = 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		int fd = atoi(e->d_name);
		struct stat st;
		if (fd == dirfd(d) || fstat(fd, &st) < 0)
			continue;
		n++;
		if (used < sizeof buf)
			used += (size_t)snprintf(buf + used, sizeof buf - used, "%d %llu %llu\n", fd,
						 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	}
	closedir(d);
	if (used > sizeof buf)
		used = sizeof buf;
	if (out >= 0 && write(out, buf, used) != (ssize_t)used)
		return 125;
	return n > 100 ? 100 : n;
}

static int child_cwd(int out)
{
	char buf[PATH_MAX];
	if (!getcwd(buf, sizeof buf))
		return 126;
	size_t n = strlen(buf);
	return write(out, buf, n) == (ssize_t)n ? 0 : 125;
}

int parse_fds(const char *text, struct seen_fd *v, int max)
{
	int n = 0;
	while (n < max && *text) {
		if (sscanf(text, "%d %llu %llu", &v[n].fd, &v[n].dev, &v[n].ino) != 3)
			return -1;
		n++;
		text = strchr(text, '\n');
		if (!text)
			break;
		text++;
	}
	return n;
}

int spawn_and_compare_fds(const struct check_api *api, const struct pdspawn_fd *map, size_t n,
			  const struct pdspawn_fd *want, int report_r, char *why, size_t len)
{
	struct pdspawn_attr a = {map, n, NULL, NULL, NULL, 0};
	char outs[16];
	snprintf(outs, sizeof outs, "%d", map[n - 1].child_fd);
	char *argv[] = {check_self, "--child-fds", outs, NULL};
	int pidfd;
	int e = spawn_tracked(api, &pidfd, check_self, argv, &a);
	close(map[n - 1].parent_fd); /* the child's copy is the last writer */
	if (e)
		return e;
	char text[4096];
	ssize_t got = read_all(report_r, text, sizeof text, WAIT_MS);
	siginfo_t si;
	int w = reap(api, pidfd, WAIT_MS, &si);
	struct seen_fd seen[64];
	int nseen = got >= 0 ? parse_fds(text, seen, 64) : -1;
	for (int i = 0; i < nseen; i++)
		diag("child fd %d: ino %llu", seen[i].fd, seen[i].ino);
	if (w || si.si_code != CLD_EXITED || nseen < 0) {
		snprintf(why, len, "child: wait %s, si_code %d status %d, report %zd bytes", strerror(w), si.si_code,
			 si.si_status, got);
		return -1;
	}
	if ((size_t)nseen != n || si.si_status != nseen) {
		snprintf(why, len, "child has %d fds (exit %d), %zu mapped", nseen, si.si_status, n);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (fstat(want[i].parent_fd, &st) < 0) {
			snprintf(why, len, "set-up: fstat %d: %s", want[i].parent_fd, strerror(errno));
			return -1;
		}
		int k = 0;
		while (k < nseen && seen[k].fd != want[i].child_fd)
			k++;
		if (k == nseen) {
			snprintf(why, len, "child fd %d missing", want[i].child_fd);
			return -1;
		}
		if (seen[k].ino != (unsigned long long)st.st_ino || seen[k].dev != (unsigned long long)st.st_dev) {
			snprintf(why, len, "child fd %d is ino %llu, parent fd %d is ino %llu", want[i].child_fd,
				 seen[k].ino, want[i].parent_fd, (unsigned long long)st.st_ino);
			return -1;
		}
	}
	return 0;
}

/* ---- the run ---- */

static const struct {
	const char *name;
	check_fn fn;
	const char *what; /* the promise of pdspawn.h, or the defect it guards */
	int isolate;      /* in a forked copy: changes process state or may crash */
} checks[] = {
	{"returns_pidfd", t_pidfd, "promise 1", 0},
	{"exactly_mapped_fds", t_exact_fds, "promise 2", 0},
	{"exit_signal_0_until_exec", t_no_sigchld, "promise 3", 0},
	{"signals_via_pidfd", t_kill, "promise 4", 0},
	{"exec_failure_synchronous", t_exec_errors, "promise 5", 0},
	{"explicit_signal_state", t_signals, "promise 6", 1},
	{"no_eintr", t_no_eintr, "promise 7", 0},
	{"wait_timeout", t_timeout, "pdspawn_wait", 0},
	{"cwd", t_cwd, "attr->cwd", 0},
	{"cancellation_disabled", t_cancel, "defect: cancellation", 1},
	{"copies_below_nofile", t_nofile, "defect: temporary copies near RLIMIT_NOFILE", 1},
	{"thread_stack_min", t_small_stack, "defect: small thread stacks", 1},
	{"status_when_reaped_elsewhere", t_sigchld_elsewhere, "defect: SIGCHLD ignored, waitpid(-1)", 1},
	{"threads_stress", t_stress, "threads, fds and signals at once", 1},
};
#define NCHECKS (sizeof checks / sizeof *checks)

static const char *const res_name[] = {"pass", "fail", "skip", "not_expressible"};

struct outcome {
	enum res r;
	char why[512];
};

static enum res run_one(size_t i, const struct check_api *api, char *why, size_t len)
{
	current = checks[i].name;
	guard(GUARD_S);
	enum res r = checks[i].isolate ? isolated(checks[i].fn, api, why, len, 45000) : checks[i].fn(api, why, len);
	alarm(0);
	if (!no_children()) {
		int n = reap_leftovers();
		if (r != FAIL)
			snprintf(why, len, "left %d child%s behind", n, n == 1 ? "" : "ren");
		r = FAIL;
	}
	return r;
}

static void put_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static int write_json(const char *path, const int *selected, const struct outcome *pd, const struct check_api *pfs,
		      const char *pfs_why, const struct outcome *pf)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	struct utsname u;
	uname(&u);
	const char *libc = libc_label(); /* "glibc 2.36", "musl 1.2.5" */
	int how = pdspawn_uses_clone3();
	fprintf(f, "{\n  \"schema\": \"pdspawn-check/1\",\n  \"kernel\": ");
	put_string(f, u.release);
	fprintf(f, ",\n  \"arch\": ");
	put_string(f, u.machine);
	fprintf(f, ",\n  \"libc\": ");
	put_string(f, libc);
	fprintf(f, ",\n  \"pdspawn_path\": \"%s\",\n  \"apis\": [\n",
		how > 0 ? "clone3" : how == 0 ? "clone" : "none");
	for (int a = 0; a < 2; a++) {
		const struct outcome *o = a ? pf : pd;
		fprintf(f, "    {\"api\": \"%s\", \"available\": %s", a ? "pidfd_spawn" : "pdspawn",
			a && !pfs ? "false" : "true");
		if (a && !pfs) {
			fprintf(f, ", \"why\": ");
			put_string(f, pfs_why);
		}
		fprintf(f, ", \"checks\": [");
		int first = 1;
		for (size_t i = 0; i < NCHECKS && (!a || pfs); i++) {
			if (!selected[i])
				continue;
			fprintf(f, "%s\n      {\"name\": \"%s\", \"what\": ", first ? "" : ",", checks[i].name);
			put_string(f, checks[i].what);
			fprintf(f, ", \"result\": \"%s\", \"why\": ", res_name[o[i].r]);
			put_string(f, o[i].why);
			fputc('}', f);
			first = 0;
		}
		fprintf(f, "%s]}%s\n", first ? "" : "\n    ", a ? "" : ",");
	}
	fprintf(f, "  ]\n}\n");
	return fclose(f);
}

static int usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [--only NAME,...] [--json FILE]\n", argv0);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--child-fds") == 0)
		return child_fds(atoi(argv[2]));
	if (argc == 3 && strcmp(argv[1], "--child-cwd") == 0)
		return child_cwd(atoi(argv[2]));
	const char *only = NULL, *json = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
			only = argv[++i];
		else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc)
			json = argv[++i];
		else
			return usage(argv[0]);
	}
	int selected[NCHECKS];
	size_t total = 0;
	for (size_t i = 0; i < NCHECKS; i++) {
		selected[i] = 1;
		if (only) {
			const char *s = strstr(only, checks[i].name);
			size_t n = strlen(checks[i].name);
			selected[i] = s && (s == only || s[-1] == ',') && (s[n] == 0 || s[n] == ',');
		}
		total += (size_t)selected[i];
	}
	if (total == 0) {
		fprintf(stderr, "%s: --only %s names no check\n", argv[0], only);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	ssize_t n = readlink("/proc/self/exe", check_self, PATH_MAX - 1);
	if (n <= 0) {
		printf("Bail out! readlink /proc/self/exe: %s\n", strerror(errno));
		return 1;
	}
	check_self[n] = 0;
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	struct sigaction sa = {0};
	sa.sa_handler = on_alarm; /* no SA_RESTART: the EINTR check needs EINTR-prone waits */
	sigaction(SIGALRM, &sa, NULL);

	static struct outcome pd[NCHECKS], pf[NCHECKS];
	int failed = 0, num = 0;
	printf("TAP version 13\n1..%zu\n", total + 1);
	for (size_t i = 0; i < NCHECKS; i++) {
		if (!selected[i])
			continue;
		enum res r = run_one(i, &api_pdspawn, pd[i].why, sizeof pd[i].why);
		pd[i].r = r;
		num++;
		if (r == PASS)
			printf("ok %d %s\n", num, checks[i].name);
		else if (r == SKIP)
			printf("ok %d %s # SKIP %s\n", num, checks[i].name, pd[i].why);
		else {
			diag("%s", pd[i].why);
			printf("not ok %d %s\n", num, checks[i].name);
			failed++;
		}
	}
	int how = pdspawn_uses_clone3();
	printf("# children created by %s\n", how > 0 ? "clone3 with CLONE_CLEAR_SIGHAND"
					 : how == 0 ? "clone with every signal blocked"
						    : "nothing in this process (no spawn here succeeded)");

	/* The same checks against glibc's pidfd_spawn: which promises its
	 * API keeps.  The positive control: it returns a pidfd, which is
	 * what it is for; if that check does not pass, the comparison is
	 * broken, not glibc. */
	char pfs_why[256] = "";
	const struct check_api *pfs = api_pidfd_spawn(pfs_why, sizeof pfs_why);
	num++;
	if (!pfs) {
		printf("ok %d pidfd_spawn_comparison # SKIP %s\n", num, pfs_why);
	} else {
		diag_prefix = "pidfd_spawn: ";
		int kept = 0, asked = 0;
		for (size_t i = 0; i < NCHECKS; i++) {
			if (!selected[i])
				continue;
			pf[i].r = run_one(i, pfs, pf[i].why, sizeof pf[i].why);
			asked++;
			kept += pf[i].r == PASS;
			static const char *const verdict[] = {"keeps", "does not keep", "could not check", "cannot express"};
			diag("%s %s (%s)%s%s", verdict[pf[i].r], checks[i].name, checks[i].what,
			     pf[i].r == PASS ? "" : ": ", pf[i].r == PASS ? "" : pf[i].why);
		}
		diag_prefix = "";
		diag("glibc's pidfd_spawn keeps %d of the %d checks pdspawn passes", kept, asked);
		if (selected[0] && pf[0].r != PASS) {
			printf("not ok %d pidfd_spawn_comparison\n", num);
			failed++;
		} else {
			printf("ok %d pidfd_spawn_comparison\n", num);
		}
	}
	if (json && write_json(json, selected, pd, pfs, pfs_why, pf) < 0) {
		printf("Bail out! %s: %s\n", json, strerror(errno));
		return 1;
	}
	printf("# %zu checks, %d failed\n", total + 1, failed);
	return failed ? 1 : 0;
}
