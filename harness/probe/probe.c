/* probe: the program every backend executes.  It observes what crossed
 * exec and writes it, one "key value" per line, to the file named by
 * --out.  The order matters: everything is observed first, with calls that
 * change nothing (fcntl F_GETFD/F_GETFL, sigaction with a NULL new action,
 * sigprocmask with a NULL set, prctl GET), and only then is the report file
 * opened, so the report channel never appears among the fds it reports.
 *
 * usage: probe --out FILE [--exit N] [--sleep-ms N]
 *        probe                 with SPAWNLAB_PROBE_OUT=FILE in the environment:
 *                              the same report, for a child started with an
 *                              empty argv (experiment_execargs.c)
 *        probe --exit-now      exit 0 at once (for latency measurements)
 *        probe --wait-fd R W OFFSET   barrier child: exit at EOF on fd R, time stamp to fd W
 *        probe --wait-eof      exit 0 at EOF on stdin (eintr's SIGCHLD source:
 *                              what cat(1) did, without a dynamic loader)
 *        probe --count-fds     exit with the number of open fds other than
 *                              0, 1 and 2 (at most 250): a cheap report
 *                              for fd/race
 * Exit: N (default 0) after reporting; 111 if it could not report. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/names.h"
#include "sys/rawsig.h"

#define MAX_FDS 1024
#define REPORT_MAX (256 * 1024)

struct fdinfo {
	int fd, fdflags, flflags;
	long long pos; /* lseek(fd, 0, SEEK_CUR), which moves nothing; -1: not seekable */
	char link[256];
	char kind[64];
};

static struct fdinfo fds[MAX_FDS];
static int nfds;
static char report[REPORT_MAX];
static size_t rlen;

static void put(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void put(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(report + rlen, sizeof report - rlen, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof report - rlen)
		rlen += (size_t)n;
}

static int cmpfd(const void *a, const void *b)
{
	return ((const struct fdinfo *)a)->fd - ((const struct fdinfo *)b)->fd;
}

/* The fd numbers that are open, without keeping anything open: the
 * directory fd used for /proc/self/fd is left out.  Without /proc, ask
 * every number up to 4096 with F_GETFD. */
static void list_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (d) {
		int self = dirfd(d);
		struct dirent *e;
		while ((e = readdir(d)) && nfds < MAX_FDS) {
			if (e->d_name[0] == '.')
				continue;
			int fd = atoi(e->d_name);
			if (fd != self)
				fds[nfds++].fd = fd;
		}
		closedir(d);
	} else {
		for (int fd = 0; fd < 4096 && nfds < MAX_FDS; fd++)
			if (fcntl(fd, F_GETFD) >= 0)
				fds[nfds++].fd = fd;
	}
	qsort(fds, (size_t)nfds, sizeof *fds, cmpfd);
}

static void classify(struct fdinfo *f)
{
	char path[64];
	struct stat st;
	f->fdflags = fcntl(f->fd, F_GETFD);
	f->flflags = fcntl(f->fd, F_GETFL);
	f->pos = (long long)lseek(f->fd, 0, SEEK_CUR);
	snprintf(path, sizeof path, "/proc/self/fd/%d", f->fd);
	ssize_t n = readlink(path, f->link, sizeof f->link - 1);
	f->link[n > 0 ? n : 0] = 0;
	const char *kind = "other";
	if (strncmp(f->link, "anon_inode:", 11) == 0) {
		const char *name = f->link + 11;
		size_t l = strlen(name);
		if (name[0] == '[' && l > 1 && name[l - 1] == ']')
			snprintf(f->kind, sizeof f->kind, "anon:%.*s", (int)(l - 2), name + 1);
		else
			snprintf(f->kind, sizeof f->kind, "anon:%s", name);
		return;
	}
	if (strncmp(f->link, "pidfd:", 6) == 0)
		kind = "pidfd";
	else if (fstat(f->fd, &st) == 0) {
		if (S_ISREG(st.st_mode))
			kind = "file";
		else if (S_ISDIR(st.st_mode))
			kind = "dir";
		else if (S_ISCHR(st.st_mode))
			kind = "chr";
		else if (S_ISBLK(st.st_mode))
			kind = "blk";
		else if (S_ISFIFO(st.st_mode))
			kind = strncmp(f->link, "pipe:", 5) == 0 ? "pipe" : "fifo";
		else if (S_ISSOCK(st.st_mode))
			kind = "socket";
		else if (S_ISLNK(st.st_mode))
			kind = "symlink";
	}
	snprintf(f->kind, sizeof f->kind, "%s", kind);
}

/* A signal list, names comma-separated.  A signal without a name is one
 * a libc reserves (glibc 32 and 33, musl 32 to 34): it is written SIGnn,
 * since names relative to SIGRTMIN differ between libcs. */
static void put_siglist(const char *key, const sigset_t *set)
{
	int first = 1;
	put("%s ", key);
	for (int s = 1; s < NSIG; s++)
		if (rawsig_has(set, s)) {
			const char *n = sig_name(s);
			if (n)
				put("%s%s", first ? "" : ",", n);
			else
				put("%sSIG%d", first ? "" : ",", s);
			first = 0;
		}
	put("%s\n", first ? "none" : "");
}

/* The whole signal state through the raw calls (rawsig.h): the libc's
 * own calls would hide the signals it reserves, and a program started by
 * glibc's posix_spawn has two of them ignored. */
static void observe_signals(void)
{
	sigset_t mask, pend, ign, cgt;
	memset(&mask, 0, sizeof mask);
	memset(&ign, 0, sizeof ign);
	memset(&cgt, 0, sizeof cgt);
	rawsig_procmask(SIG_BLOCK, NULL, &mask);
	rawsig_pending(&pend);
	for (int s = 1; s < NSIG; s++) {
		void (*h)(int);
		if (s == SIGKILL || s == SIGSTOP || rawsig_get(s, &h) < 0)
			continue;
		if (h == SIG_IGN)
			rawsig_add(&ign, s);
		else if (h != SIG_DFL)
			rawsig_add(&cgt, s);
	}
	put_siglist("sigmask", &mask);
	put_siglist("sigpending", &pend);
	put_siglist("sigignored", &ign);
	put_siglist("sigcaught", &cgt);
	for (int s = 1; s < 32; s++) {
		const char *n = sig_name(s);
		if (!n)
			continue;
		put("sig.%s %s\n", n, rawsig_has(&ign, s) ? "ignore" : rawsig_has(&cgt, s) ? "handle" : "default");
		put("sig.%s.blocked %s\n", n, rawsig_has(&mask, s) ? "yes" : "no");
		put("sig.%s.pending %s\n", n, rawsig_has(&pend, s) ? "yes" : "no");
	}
}

/* The umask from /proc/self/status (4.7+) so that it is read, not set;
 * without it, set and restore at once. */
static unsigned read_umask(void)
{
	char buf[4096];
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n > 0) {
			buf[n] = 0;
			char *u = strstr(buf, "\nUmask:");
			if (u)
				return (unsigned)strtoul(u + 7, NULL, 8);
		}
	}
	mode_t m = umask(022);
	umask(m);
	return (unsigned)m;
}

static void put_rlim(const char *key, rlim_t v)
{
	if (v == RLIM_INFINITY)
		put("%s unlimited\n", key);
	else
		put("%s %llu\n", key, (unsigned long long)v);
}

/* The cgroup v2 path from /proc/self/cgroup ("0::PATH"), or "none". */
static void put_cgroup(void)
{
	char buf[4096];
	int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = 0;
	char *line = strncmp(buf, "0::", 3) == 0 ? buf : strstr(buf, "\n0::");
	if (!line) {
		put("cgroup none\n");
		return;
	}
	line += line == buf ? 3 : 4;
	put("cgroup %.*s\n", (int)strcspn(line, "\n"), line);
}

/* What the program was given as argv[0]: argc 0 (argv[0] NULL) was possible
 * before Linux 5.18, which now passes "" instead (fs/exec.c). */
static void put_argv0(int argc, char **argv)
{
	put("argc %d\n", argc);
	if (argc < 1 || !argv[0]) {
		put("argv0.len none\n");
		return;
	}
	put("argv0.len %zu\n", strlen(argv[0]));
	put("argv0 %.*s\n", (int)strcspn(argv[0], "\n"), argv[0]);
}

/* Read FD until EOF: 0 at EOF, -1 on an error. */
static int read_to_eof(int fd)
{
	char b[64];
	ssize_t got;
	while ((got = read(fd, b, sizeof b)) > 0 || (got < 0 && errno == EINTR))
		;
	return got == 0 ? 0 : -1;
}

/* A barrier child (experiment_sigchld.c): block reading fd R until EOF,
 * write the CLOCK_MONOTONIC time (ns) at byte OFFSET of fd W, exit 0. */
static int wait_fd(int r, int w, off_t offset)
{
	int got = read_to_eof(r);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	return pwrite(w, &ns, sizeof ns, offset) == (ssize_t)sizeof ns && got == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--exit-now") == 0)
		return 0;
	if (argc == 2 && strcmp(argv[1], "--wait-eof") == 0)
		return read_to_eof(0) == 0 ? 0 : 1;
	if (argc == 5 && strcmp(argv[1], "--wait-fd") == 0)
		return wait_fd(atoi(argv[2]), atoi(argv[3]), (off_t)atoll(argv[4]));
	if (argc == 2 && strcmp(argv[1], "--count-fds") == 0) {
		list_fds();
		int extra = 0;
		for (int i = 0; i < nfds; i++)
			extra += fds[i].fd > 2;
		return extra > 250 ? 250 : extra;
	}
	const char *out = NULL;
	int exit_code = 0;
	long sleep_ms = 0;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--out") == 0)
			out = argv[i + 1];
		else if (strcmp(argv[i], "--exit") == 0)
			exit_code = atoi(argv[i + 1]) & 255;
		else if (strcmp(argv[i], "--sleep-ms") == 0)
			sleep_ms = atol(argv[i + 1]);
	}
	if (!out)
		out = getenv("SPAWNLAB_PROBE_OUT");
	if (!out) {
		fprintf(stderr, "usage: probe --out FILE [--exit N] [--sleep-ms N]\n");
		return 2;
	}

	list_fds();
	for (int i = 0; i < nfds; i++)
		classify(&fds[i]);

	put("probe.version 1\n");
	put_argv0(argc, argv);
	put("pid %ld\nppid %ld\npgid %ld\nsid %ld\n", (long)getpid(), (long)getppid(), (long)getpgid(0),
	    (long)getsid(0));
	char cwd[PATH_MAX];
	put("cwd %s\n", getcwd(cwd, sizeof cwd) ? cwd : "?");
	put("umask %04o\n", read_umask());
	struct rlimit rl;
	for (const struct sl_rlimit *r = sl_rlimits; r->name; r++)
		if (getrlimit(r->resource, &rl) == 0) {
			char key[48];
			snprintf(key, sizeof key, "rlimit.%s.soft", r->name);
			put_rlim(key, rl.rlim_cur);
			snprintf(key, sizeof key, "rlimit.%s.hard", r->name);
			put_rlim(key, rl.rlim_max);
		}
	put("no_new_privs %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	int pdeath = 0;
	prctl(PR_GET_PDEATHSIG, &pdeath, 0, 0, 0);
	put("pdeathsig %s\n", pdeath ? (sig_name(pdeath) ? sig_name(pdeath) : "?") : "none");

	put("fds ");
	for (int i = 0; i < nfds; i++)
		put("%s%d", i ? "," : "", fds[i].fd);
	put("%s\n", nfds ? "" : "none");
	put("fd.count %d\n", nfds);
	for (int i = 0; i < nfds; i++) {
		char fl[160];
		oflags_format(fds[i].flflags, fl, sizeof fl);
		put("fd.%d %s\n", fds[i].fd, fds[i].kind);
		put("fd.%d.path %s\n", fds[i].fd, fds[i].link);
		put("fd.%d.flags %s\n", fds[i].fd, fl);
		if (fds[i].pos >= 0)
			put("fd.%d.pos %lld\n", fds[i].fd, fds[i].pos);
		else
			put("fd.%d.pos none\n", fds[i].fd);
	}
	observe_signals();
	put_cgroup();
	put("probe.end 1\n");

	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return 111;
	for (size_t off = 0; off < rlen;) {
		ssize_t w = write(fd, report + off, rlen - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return 111;
		off += (size_t)w;
	}
	if (close(fd) < 0)
		return 111;
	if (sleep_ms > 0) {
		struct timespec ts = {sleep_ms / 1000, (sleep_ms % 1000) * 1000000L};
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	return exit_code;
}
