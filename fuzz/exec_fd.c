/* exec_fd.c: the executor's fd mode: run an fd program (the fdmake step's
 * calls, dup*, fcntl, ioctl, close, close_range, signal dispositions and
 * mask), read back the fd table and the signal state, spawn the observer
 * through one backend and read what it saw after exec, then restore the
 * executor's rest state (its own fds only, every signal default and
 * unblocked).
 *
 * The fuzz target resolved every fd operand against its model, so the
 * program only ever touches fds it made itself (never the executor's
 * own), and it never changes SIGCHLD's disposition (which decides whether
 * children can be waited for at all). */
#include "exec_modes.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backends/backend.h"
#include "core/case.h"
#include "backends/child_wait.h"
#include "observer.h"
#include "sys/rawsig.h"
#include "families/fd/step_fdmake.h"
#include "sys/sys.h"

#define WAIT_MS 5000
#define SWEEP_EVERY 64 /* mkstemp and mkostemp leave files in the folder */

static const struct backend *avail[EXEC_MAX_BACKENDS]; /* all, available or not */
static int navail;
static char tmpdir[128], outpath[160];
static const char *observer;
static unsigned char baseline[FDM_N];
static unsigned long runs;

static void handler(int sig)
{
	(void)sig;
}

static const char *const roots[] = {"/dev/shm", "/tmp"};

/* Empty and remove the folder DIR (files only: the executor makes no
 * sub-folders). */
static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, ".."))
			unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		closedir(d);
	rmdir(dir);
}

/* An executor killed with its fuzzer (a process group ended, a pid
 * namespace torn down) cannot remove its scratch folder.  Each holds a
 * flock on its folder's .lock for its whole life, whatever pid namespace
 * it is in: a folder whose lock can be taken belongs to nobody now. */
static void sweep_stale_tmpdirs(void)
{
	for (size_t i = 0; i < sizeof roots / sizeof *roots; i++) {
		DIR *d = opendir(roots[i]);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (strncmp(e->d_name, "spawnlab-exec-", 14) != 0)
				continue;
			char dir[512], lock[600];
			snprintf(dir, sizeof dir, "%s/%s", roots[i], e->d_name);
			snprintf(lock, sizeof lock, "%s/.lock", dir);
			int fd = open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
			if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
				remove_dir(dir);
			if (fd >= 0)
				close(fd);
		}
		if (d)
			closedir(d);
	}
}

static int make_tmpdir(void)
{
	sweep_stale_tmpdirs();
	for (size_t i = 0; i < sizeof roots / sizeof *roots; i++) {
		snprintf(tmpdir, sizeof tmpdir, "%s/spawnlab-exec-XXXXXX", roots[i]);
		if (!mkdtemp(tmpdir))
			continue;
		char lock[200];
		snprintf(lock, sizeof lock, "%s/.lock", tmpdir);
		int fd = open(lock, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0 && flock(fd, LOCK_EX) == 0 && fcntl(fd, F_DUPFD_CLOEXEC, EXEC_LOCK_FD) == EXEC_LOCK_FD) {
			close(fd);
			return 0;
		}
		if (fd >= 0)
			close(fd);
		remove_dir(tmpdir);
	}
	return -1;
}

int exec_fd_init(const char *obs, struct exec_hello *h, char *err, size_t errlen)
{
	observer = obs;
	if (access(observer, X_OK) < 0)
		return snprintf(err, errlen, "observer %s: %s", observer, strerror(errno)), -1;
	if (make_tmpdir() < 0 || chdir(tmpdir) < 0)
		return snprintf(err, errlen, "scratch folder: %s", strerror(errno)), -1;
	snprintf(outpath, sizeof outpath, "%s/observed", tmpdir);
	if (rawsig_reset_all() < 0)
		return snprintf(err, errlen, "signal reset: %s", strerror(errno)), -1;
	char why[256];
	for (size_t i = 0; sl_backends[i] && navail < EXEC_MAX_BACKENDS; i++) {
		snprintf(h->backends[navail], sizeof h->backends[navail], "%s", sl_backends[i]->name);
		h->backend_ok[navail] = (uint8_t)sl_backends[i]->available(why, sizeof why);
		avail[navail++] = sl_backends[i];
	}
	h->nbackends = (uint32_t)navail;
	/* Which creating calls this kernel and this sandbox allow: each is
	 * tried once, at the top of the window, and closed again. */
	size_t n = sl_fdcall_count();
	h->ncalls = (uint32_t)(n < EXEC_MAX_CALLS ? n : EXEC_MAX_CALLS);
	for (size_t i = 0; i < h->ncalls; i++) {
		struct sl_fdmade made;
		int r = sl_fdmake(i, 0, FDM_N - 1, FDM_N - 2, tmpdir, &made, why, sizeof why);
		h->call_ok[i] = r != STEP_UNSUPPORTED;
		close(FDM_N - 1);
		close(FDM_N - 2);
	}
	for (int fd = 0; fd < FDM_N; fd++)
		baseline[fd] = fcntl(fd, F_GETFD) >= 0;
	return 0;
}

void exec_fd_fini(void)
{
	if (chdir("/") == 0)
		remove_dir(tmpdir);
	close(EXEC_LOCK_FD);
}

static int sig_op(const struct fd_op *op)
{
	int sig = op->a;
	sigset_t set;
	switch (op->sigact) {
	case SA_IGNORE:
	case SA_DEFAULT:
		return rawsig_set(sig, op->sigact == SA_IGNORE ? SIG_IGN : SIG_DFL);
	case SA_HANDLE: {
		/* sigaction(2) with the libc's restorer: a raw handler would need one */
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = handler;
		return sigaction(sig, &sa, NULL);
	}
	case SA_BLOCK:
	case SA_UNBLOCK:
		sigemptyset(&set);
		rawsig_add(&set, sig);
		return rawsig_procmask(op->sigact == SA_BLOCK ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
	case SA_COUNT:
		break;
	}
	errno = EINVAL;
	return -1;
}

/* The real call; the return convention is model_fd_apply's. */
static int kernel_op(const struct fd_op *op, int *call_cloexec)
{
	int r = -1;
	*call_cloexec = -1;
	switch (op->code) {
	case FOP_MAKE: {
		struct sl_fdmade made;
		char why[256];
		r = sl_fdmake((size_t)op->call, op->cloexec, op->a, sl_fdcall_pair((size_t)op->call) ? op->b : -1, tmpdir,
			      &made, why, sizeof why);
		if (r == 0)
			*call_cloexec = made.call_cloexec;
		else if (errno == 0)
			errno = EIO;
		break;
	}
	case FOP_DUP: r = dup(op->a); break;
	case FOP_DUP2: r = dup2(op->a, op->b); break;
	case FOP_DUP3: r = dup3(op->a, op->b, op->flags); break;
	case FOP_DUPFD: r = fcntl(op->a, op->cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, op->b); break;
	case FOP_SETFD: r = fcntl(op->a, F_SETFD, op->flags); break;
	case FOP_FIOCLEX: r = ioctl(op->a, FIOCLEX); break;
	case FOP_FIONCLEX: r = ioctl(op->a, FIONCLEX); break;
	case FOP_CLOSE: r = close(op->a); break;
	case FOP_CLOSE_RANGE: r = sl_close_range((unsigned)op->a, (unsigned)op->b, (unsigned)op->flags); break;
	case FOP_SIGNAL: r = sig_op(op); break;
	case FOP_COUNT: errno = ENOSYS; break;
	}
	return r < 0 ? -errno : r;
}

/* Which of 0..FDM_N-1 are open: the names in /proc/self/fd (one open
 * and a getdents instead of FDM_N fcntl calls; poll(2) would do it in one
 * call but calls O_PATH fds not open), else F_GETFD on each. */
static void open_fds(unsigned char isopen[FDM_N])
{
	memset(isopen, 0, FDM_N);
	int d = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	long n = -1;
	if (d >= 0) {
		char buf[4096] __attribute__((aligned(8)));
		while ((n = syscall(SYS_getdents64, d, buf, sizeof buf)) > 0)
			for (long off = 0; off < n;) {
				struct dirent64 *e = (struct dirent64 *)(buf + off);
				off += e->d_reclen;
				char *end;
				long fd = strtol(e->d_name, &end, 10);
				if (end != e->d_name && !*end && fd != d && fd >= 0 && fd < FDM_N)
					isopen[fd] = 1;
			}
		close(d);
	}
	if (n < 0)
		for (int fd = 0; fd < FDM_N; fd++)
			isopen[fd] = fcntl(fd, F_GETFD) >= 0;
}

static void read_state(struct exec_fd_res *a, uint64_t touched)
{
	unsigned char isopen[FDM_N];
	open_fds(isopen);
	for (int fd = 0; fd < FDM_N; fd++) {
		int fl = isopen[fd] ? fcntl(fd, F_GETFD) : -1;
		a->table[fd] = fl < 0 ? FD_CLOSED : (fl & FD_CLOEXEC) ? FD_OPEN_CLOEXEC : FD_OPEN;
	}
	/* Signals the program did not touch are at rest: default. */
	for (int sig = 1; sig < 65; sig++) {
		void (*h)(int);
		if (!(touched & SIGBIT(sig)) || rawsig_get(sig, &h) < 0)
			continue;
		if (h == SIG_IGN)
			a->ign |= SIGBIT(sig);
		else if (h != SIG_DFL)
			a->handled |= SIGBIT(sig);
	}
	sigset_t cur;
	if (rawsig_procmask(SIG_BLOCK, NULL, &cur) == 0)
		for (int sig = 1; sig < 65; sig++)
			if (rawsig_has(&cur, sig))
				a->mask |= SIGBIT(sig);
}

/* The observer's record (observer.h), whole, with its magic and this
 * spawn's sequence number. */
static int read_observed(struct observed *o, uint32_t seq)
{
	int fd = open(outpath, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, o, sizeof *o);
	close(fd);
	return n == (ssize_t)sizeof *o && o->magic == OBSERVED_MAGIC && o->seq == seq ? 0 : -1;
}

static void spawn(const struct exec_fd_req *q, struct exec_fd_res *a, struct exec_stats *st)
{
	if (q->backend == EXEC_NO_SPAWN)
		return;
	if (q->backend >= (uint32_t)navail) {
		a->spawn = SPAWN_HARNESS;
		a->spawn_err = EINVAL;
		snprintf(a->why, sizeof a->why, "no backend %u", q->backend);
		return;
	}
	const struct backend *be = avail[q->backend];
	static uint32_t seq;
	char seqs[16];
	snprintf(seqs, sizeof seqs, "%u", ++seq);
	char *argv[] = {(char *)"observer", outpath, seqs, NULL}, *envp[] = {NULL};
	struct spawn_req req;
	memset(&req, 0, sizeof req);
	req.path = observer;
	req.argv = argv;
	req.envp = envp;
	for (uint32_t i = 0; i < q->nmap && i < EXEC_MAX_MAP; i++)
		req.map[req.nmap++] = (struct sl_fdmap){q->map[i].src, q->map[i].dst};
	for (uint32_t i = 0; i < q->nclose && i < EXEC_MAX_MAP; i++)
		req.close[req.nclose++] = q->close[i];
	req.closefrom = q->closefrom;
	req.inherit_ignored = (int)q->inherit_ignored;
	struct spawn_res res = {-1, -1, 0, 0};
	st->spawns++;
	if (be->spawn(&req, &res) < 0) {
		a->spawn = SPAWN_HARNESS;
		a->spawn_err = errno;
		snprintf(a->why, sizeof a->why, "%s: the harness could not spawn: %s", be->name, strerror(errno));
		return;
	}
	if (res.err) {
		a->spawn = SPAWN_FAILED;
		a->spawn_err = res.err;
		snprintf(a->why, sizeof a->why, "%s: spawn failed: %s", be->name, strerror(res.err));
		return;
	}
	struct child_status cs;
	child_wait(&res, WAIT_MS, &cs);
	if (res.pidfd >= 0)
		close(res.pidfd);
	if (cs.end != CHILD_EXITED || cs.code != 0) {
		a->spawn = SPAWN_CHILD;
		snprintf(a->why, sizeof a->why, "%s: the observer did not exit 0 (end %d, code %d)", be->name, (int)cs.end,
			 cs.code);
		return;
	}
	struct observed o;
	if (read_observed(&o, seq) < 0) {
		a->spawn = SPAWN_NOREPORT;
		snprintf(a->why, sizeof a->why, "%s: no observer report", be->name);
		return;
	}
	st->execs++;
	for (int fd = 0; fd < FDM_N; fd++)
		a->child_fds[fd] = (o.fds[fd / 8] >> (fd % 8)) & 1;
	a->child_ign = o.ign;
	a->child_mask = o.mask;
	a->spawn = SPAWN_OK;
}

static void sweep_tmpdir(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (strncmp(e->d_name, "fdmake.", 7) == 0)
			unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		closedir(d);
}

void exec_fd_run(const struct exec_fd_req *q, struct exec_fd_res *a, struct exec_stats *st)
{
	memset(a, 0, sizeof *a);
	uint64_t touched = 0;
	uint32_t n = q->nops < EXEC_MAX_OPS ? q->nops : EXEC_MAX_OPS;
	for (uint32_t i = 0; i < n; i++) {
		const struct fd_op *op = &q->ops[i];
		if (op->code == FOP_SIGNAL && op->a >= 1 && op->a <= 64)
			touched |= SIGBIT(op->a);
		errno = 0;
		a->ret[i] = kernel_op(op, &a->call_cloexec[i]);
		st->calls++;
	}
	read_state(a, touched);
	spawn(q, a, st);
	/* Back to rest: only the executor's own fds, signals default. */
	for (int lo = 0; lo < FDM_N; lo++) {
		if (baseline[lo])
			continue;
		int hi = lo;
		while (hi + 1 < FDM_N && !baseline[hi + 1])
			hi++;
		if (sl_close_range((unsigned)lo, (unsigned)hi, 0) < 0)
			for (int fd = lo; fd <= hi; fd++)
				close(fd);
		lo = hi;
	}
	for (int sig = 1; sig < 65; sig++)
		if (touched & SIGBIT(sig))
			rawsig_set(sig, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	rawsig_procmask(SIG_SETMASK, &none, NULL);
	if (++runs % SWEEP_EVERY == 0)
		sweep_tmpdir();
}
