/* experiment_cloneshare.c: the clone(2) mechanics that vfork-style spawns
 * rely on, observed.  CLONE_VFORK holds the parent until the child has
 * exec'd or exited (and a control without it does not); CLONE_VM,
 * CLONE_FS, CLONE_FILES and CLONE_SIGHAND each make one change the child
 * makes visible to the parent, with the flag and without it; the signal
 * mask is never shared; and the flag combinations clone(2) refuses.
 *
 * The children are made with the libc's clone() (the flags here are all
 * below bit 32) on a stack of their own, and every sharing row adds
 * CLONE_VFORK, so that the parent is stopped while a child that shares its
 * memory runs.  The backend is not used (cases/exec/clone_share.case). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "families/experiments.h"
#include "core/kv.h"
#include "lib/names.h"
#include "lib/reap.h"
#include "lib/util.h"

enum kind { K_SHARE, K_VFORK, K_INVALID };
enum probe_what { W_VM, W_CWD, W_UMASK, W_FILES, W_SIGHAND, W_SIGMASK, W_EXEC, W_EXIT, W_NONE };

struct cs_row {
	const char *name;
	enum kind kind;
	enum probe_what what;
	int with;    /* flags for share=yes (or the row's only flags) */
	int without; /* flags for share=no */
};

#define SHARED_FD 30

static const struct cs_row rows[] = {
	{"vm", K_SHARE, W_VM, CLONE_VM, 0},
	{"fs_cwd", K_SHARE, W_CWD, CLONE_FS, 0},
	{"fs_umask", K_SHARE, W_UMASK, CLONE_FS, 0},
	{"files", K_SHARE, W_FILES, CLONE_FILES, 0},
	/* CLONE_SIGHAND needs CLONE_VM: both sides of the row share memory. */
	{"sighand", K_SHARE, W_SIGHAND, CLONE_VM | CLONE_SIGHAND, CLONE_VM},
	{"sigmask", K_SHARE, W_SIGMASK, CLONE_VM | CLONE_SIGHAND, CLONE_VM},
	{"vfork_exec", K_VFORK, W_EXEC, CLONE_VFORK, 0},
	{"vfork_vm_exec", K_VFORK, W_EXEC, CLONE_VM | CLONE_VFORK, 0},
	{"vfork_exit", K_VFORK, W_EXIT, CLONE_VFORK, 0},
	{"no_vfork", K_VFORK, W_EXIT, 0, 0},
	{"sighand_without_vm", K_INVALID, W_NONE, CLONE_SIGHAND, 0},
	{"thread_without_sighand", K_INVALID, W_NONE, CLONE_THREAD | CLONE_VM, 0},
	{"fs_with_newns", K_INVALID, W_NONE, CLONE_FS | CLONE_NEWNS, 0},
	{"newuser_with_fs", K_INVALID, W_NONE, CLONE_NEWUSER | CLONE_FS, 0},
	{"newpid_with_thread", K_INVALID, W_NONE, CLONE_NEWPID | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM, 0},
};

/* What the child changes; with CLONE_VM the parent sees this very variable. */
static volatile int marker;

struct cs_child {
	const struct cs_row *row;
	volatile int *stage; /* in a MAP_SHARED page: seen whether or not memory is shared */
	int release;         /* no_vfork: the child waits for a byte here */
	const char *dir;     /* W_CWD: where the child goes */
	char *const *argv;   /* W_EXEC */
	char *const *envp;
	int wait_fd;         /* W_EXEC: the probe's --wait-fd read end */
};

static void nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The child: one change per row, then exec or exit.  It uses system calls
 * only: with CLONE_VM it runs on the parent's memory. */
static int child_main(void *p)
{
	struct cs_child *c = p;
	sigset_t set;
	struct sigaction sa;
	*c->stage = 1;
	switch (c->row->what) {
	case W_VM:
		marker = 1234;
		break;
	case W_CWD:
		if (chdir(c->dir) < 0)
			return 2;
		break;
	case W_UMASK:
		umask(077);
		break;
	case W_FILES:
		if (dup2(0, SHARED_FD) < 0)
			return 2;
		break;
	case W_SIGHAND:
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = SIG_IGN;
		if (sigaction(SIGUSR1, &sa, NULL) < 0)
			return 2;
		break;
	case W_SIGMASK:
		sigemptyset(&set);
		sigaddset(&set, SIGUSR2);
		if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
			return 2;
		break;
	case W_EXEC:
	case W_EXIT:
		if (c->release >= 0) {
			char b;
			while (read(c->release, &b, 1) < 0 && errno == EINTR)
				;
		} else {
			nap_ms(50); /* the parent, held by CLONE_VFORK, must still be waiting */
		}
		break;
	case W_NONE:
		break;
	}
	*c->stage = 2;
	if (c->row->what == W_EXEC) {
		if (dup2(c->wait_fd, 20) < 0)
			return 126;
		execve(c->argv[0], c->argv, c->envp);
		return 127;
	}
	return c->row->what == W_EXIT ? 7 : 0;
}

static const char *disposition(int sig)
{
	struct sigaction sa;
	if (sigaction(sig, NULL, &sa) < 0)
		return "?";
	return sa.sa_handler == SIG_IGN ? "ignore" : sa.sa_handler == SIG_DFL ? "default" : "handle";
}

/* The state a sharing row looks at, as text. */
static void state(const struct cs_row *r, char *buf, size_t len)
{
	sigset_t now;
	switch (r->what) {
	case W_VM:
		snprintf(buf, len, "%d", marker);
		break;
	case W_CWD:
		if (!getcwd(buf, len))
			snprintf(buf, len, "?");
		break;
	case W_UMASK: {
		mode_t m = umask(0);
		umask(m);
		snprintf(buf, len, "%04o", (unsigned)m);
		break;
	}
	case W_FILES:
		snprintf(buf, len, "%s", fcntl(SHARED_FD, F_GETFD) < 0 ? "closed" : "open");
		break;
	case W_SIGHAND:
		snprintf(buf, len, "%s", disposition(SIGUSR1));
		break;
	case W_SIGMASK:
		sigprocmask(SIG_SETMASK, NULL, &now);
		snprintf(buf, len, "%s", sigismember(&now, SIGUSR2) ? "blocked" : "unblocked");
		break;
	default:
		snprintf(buf, len, "-");
	}
}


#define STACK_SIZE (256 * 1024)

/* The arguments of `run clone_share`, named where the spec below declares them. */
enum { CLONE_SHARE_ROW, CLONE_SHARE_SHARE };

static int exp_clone_share(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	const struct cs_row *r = EXP_ROW(rows, sv[CLONE_SHARE_ROW], "clone_share", err, errlen);
	if (!r)
		return -1;
	int share = iv[CLONE_SHARE_SHARE] == 0;
	int flags = r->kind == K_SHARE ? (share ? r->with : r->without) | CLONE_VFORK : r->with;
	if (r->kind == K_SHARE)
		obs_put(ctx, "clone.share", "%s", share ? "yes" : "no");

	volatile int *stage = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char *stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stage == MAP_FAILED || stack == MAP_FAILED) {
		snprintf(err, errlen, "mmap: %s", strerror(errno));
		return -1;
	}
	char dir[4200], out[4200], ts[4200];
	snprintf(dir, sizeof dir, "%s/sub", ctx->tmp);
	snprintf(out, sizeof out, "%s/probe.out", ctx->tmp);
	snprintf(ts, sizeof ts, "%s/stamp", ctx->tmp);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "mkdir %s: %s", dir, strerror(errno));
		return -1;
	}
	/* W_EXEC: the probe blocks reading fd 20 until the parent closes the
	 * write end, so it is certainly alive when the parent looks at it. */
	int barrier[2] = {-1, -1}, release[2] = {-1, -1};
	int stampfd = -1;
	char *argv[] = {(char *)ctx->probe, "--wait-fd", "20", "21", "0", NULL};
	char *envp[] = {"PATH=/usr/bin:/bin", "LC_ALL=C", NULL};
	if (r->what == W_EXEC) {
		stampfd = open(ts, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (pipe2(barrier, O_CLOEXEC) < 0 || stampfd < 0 || dup2(stampfd, 21) < 0) {
			snprintf(err, errlen, "barrier set-up: %s", strerror(errno));
			return -1;
		}
	}
	if (r->kind == K_VFORK && !(flags & CLONE_VFORK) && pipe2(release, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe2: %s", strerror(errno));
		return -1;
	}
	char before[4200], after[4200];
	state(r, before, sizeof before);
	struct cs_child c = {r, stage, release[0], dir, argv, envp, barrier[0]};
	*stage = 0;
	pid_t pid = clone(child_main, stack + STACK_SIZE, flags | SIGCHLD, &c);
	int clone_errno = pid < 0 ? errno : 0;
	/* With CLONE_VFORK we run again only once the child has exec'd or exited. */
	int stage_at_return = *stage;
	obs_put(ctx, "clone.errno", "%s", clone_errno ? errno_name(clone_errno) : "0");
	if (r->kind == K_VFORK && pid > 0) {
		obs_put(ctx, "vfork.stage_at_return", "%d", stage_at_return);
		if (r->what == W_EXEC) {
			/* The release comes from exec_mm_release(), which exec_mmap()
			 * calls before it installs the new mm (fs/exec.c): the child is
			 * past exec's point of no return, but /proc/PID/exe may still
			 * name the old image, ours, for a moment. */
			char link[64], exe[4096], self[4096];
			snprintf(link, sizeof link, "/proc/%d/exe", (int)pid);
			ssize_t n = readlink(link, exe, sizeof exe - 1);
			exe[n > 0 ? n : 0] = 0;
			ssize_t m = readlink("/proc/self/exe", self, sizeof self - 1);
			self[m > 0 ? m : 0] = 0;
			obs_put(ctx, "vfork.exe_at_return", "%s",
				n <= 0			   ? "gone"
				: strcmp(exe, ctx->probe) == 0 ? "new_image"
				: m > 0 && strcmp(exe, self) == 0 ? "old_image"
								  : "other");
		}
	}
	if (release[1] >= 0 && write(release[1], "g", 1) != 1)
		obs_put(ctx, "vfork.release", "failed");
	if (barrier[1] >= 0)
		close(barrier[1]);
	if (barrier[0] >= 0)
		close(barrier[0]);
	int status = 0;
	if (pid > 0 && sl_reap_by(pid, &status, ctx->deadline_ms) != SL_REAPED) {
		snprintf(err, errlen, "waiting for the clone child: %s", strerror(errno));
		return -1;
	}
	if (pid > 0)
		obs_put(ctx, "child.exit", "%d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	if (r->kind == K_SHARE) {
		state(r, after, sizeof after);
		obs_put(ctx, "share.before", "%s", before);
		obs_put(ctx, "share.after", "%s", after);
		obs_put(ctx, "share.seen", "%s", pid > 0 && strcmp(before, after) != 0 ? "yes" : "no");
	}
	if (r->what == W_EXEC) {
		uint64_t ns = 0;
		obs_put(ctx, "probe.stamped", "%s", pread(stampfd, &ns, sizeof ns, 0) == (ssize_t)sizeof ns && ns ? "yes" : "no");
		close(stampfd);
		close(21);
	}
	if (release[0] >= 0)
		close(release[0]), close(release[1]);
	munmap((void *)stage, 4096);
	munmap(stack, STACK_SIZE);
	return 0;
}

/* The experiment kinds of this file (the families' registry lists them). */
const struct step_kind cloneshare_kinds[] = {
	{.name = "clone_share",
	 .summary = "a clone() child changes one thing (with the sharing flag or without), or execs/exits under CLONE_VFORK",
	 .args = {[CLONE_SHARE_ROW] = {"row", ARG_CHOICE, 1, NULL, "vm|fs_cwd|fs_umask|files|sighand|sigmask|vfork_exec|vfork_vm_exec|vfork_exit|no_vfork|" 
	   "sighand_without_vm|thread_without_sighand|fs_with_newns|newuser_with_fs|newpid_with_thread"},
		  [CLONE_SHARE_SHARE] = {"share", ARG_CHOICE, 0, "yes", "yes|no"}},
	 .run = exp_clone_share,
	 .backends = "none",
	 .keys = "vfork.release child.exit clone.{errno,share} probe.stamped share.{after,before,seen} "
		 "vfork.{exe_at_return,stage_at_return}"},
	{0},
};
