/* pdspawn.h: a descriptor-based spawn for Linux.
 *
 * pdspawn() starts a program and hands back a pidfd, the process's handle.
 * It is the API that spawnlab measures the classic fork/exec/SIGCHLD model
 * against.  Its promises, each checked by spawnlab's tests:
 *
 *  1. The handle is a pidfd (close-on-exec).  The pid is secondary:
 *     pdspawn_pid() derives it from the pidfd when someone really needs it.
 *  2. The child inherits exactly the fds listed in the attribute's map, at
 *     the numbers the map gives, whatever their FD_CLOEXEC bit says.  No
 *     other fd reaches the program: each is marked close-on-exec before
 *     execve (or closed, on kernels without CLOSE_RANGE_CLOEXEC, 5.11).
 *     An empty map gives a child with no fds at all.
 *  3. Exit signal 0: the child is created so that its parent is not
 *     signalled when it exits (clone(2)), and a spawn that fails before
 *     exec raises no SIGCHLD.  Once the program runs, the kernel has
 *     reset the termination signal to SIGCHLD (execve(2): "The termination
 *     signal is reset to SIGCHLD"; fs/exec.c de_thread), so its exit does
 *     raise SIGCHLD, as with every backend.  The caller need not use it:
 *     it polls the pidfd (POLLIN) and reaps with pdspawn_wait(), which uses
 *     waitid(P_PIDFD, ..., __WALL).  A child that never signals its
 *     parent needs kernel help (CLONE_AUTOREAP: `spawnlab features`).
 *     Because of that reset, a caller whose SIGCHLD is SIG_IGN or has
 *     SA_NOCLDWAIT has its exec'd children reaped by the kernel: then
 *     pdspawn_wait() returns the status the kernel keeps with the pidfd
 *     (PIDFD_INFO_EXIT, Linux 6.15+; si_pid is 0), or ECHILD on older
 *     kernels, where the status is lost.  A wait() or waitpid(-1)
 *     anywhere in the process can take them too: the status goes there,
 *     and pdspawn_wait() returns ECHILD.  A child that failed before exec
 *     (exit signal 0) is seen by neither and is reaped by pdspawn().
 *  4. Signals go through the pidfd (pidfd_send_signal), so a recycled pid
 *     can never be hit: pdspawn_kill() on a reaped child fails with ESRCH.
 *  5. Exec failure comes back synchronously: pdspawn() returns the errno of
 *     the failed execve (or of the failed fd set-up) and no child remains.
 *  6. The child's signal state is explicit: its mask is attr->sigmask
 *     (empty when NULL), the signals in attr->sigignore are SIG_IGN and
 *     every other signal is SIG_DFL, whatever the caller had: ignored
 *     signals are reset too, which execve and posix_spawn do not do.  No
 *     handler of the caller ever runs in the child (CLONE_CLEAR_SIGHAND,
 *     5.5+; before that every signal is blocked until the reset).  With
 *     PDSPAWN_INHERIT_IGNORED the caller's ignored signals stay ignored.
 *  7. EINTR never reaches the caller: every call retries or accounts for
 *     interrupted waits itself.
 *
 * Threads: every function may be called from several threads at once.
 * pdspawn() is not a cancellation point (it disables cancellation, as
 * posix_spawn does); pdspawn_wait() is one while it waits, never once it
 * has reaped.  The child runs on a stack of its own, not the caller's:
 * pdspawn() and pdspawn_wait() need under 1 KiB of the caller's stack
 * (plus the dynamic linker's, for a first call bound lazily), so a thread
 * with a stack of PTHREAD_STACK_MIN can spawn.  A map with a
 * cycle (62 <-> 63) needs one free fd below RLIMIT_NOFILE for a copy,
 * besides the one the pidfd takes: EMFILE when there is none.
 *
 * All functions return 0 or a positive errno value (like posix_spawn), and
 * leave errno alone.  Needs Linux 5.4+ (CLONE_PIDFD, pidfd_send_signal,
 * waitid P_PIDFD); on an older kernel pdspawn() returns ENOSYS.  The man
 * page pdspawn(3) has the errors and which kernel each path needs. */
#ifndef PDSPAWN_H
#define PDSPAWN_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pdspawn_fd {
	int parent_fd; /* an open fd of the caller */
	int child_fd;  /* the number it gets in the child */
};

struct pdspawn_attr {
	const struct pdspawn_fd *fds; /* the child's whole fd table */
	size_t nfds;
	const sigset_t *sigmask;   /* child's signal mask; NULL: empty */
	const sigset_t *sigignore; /* SIG_IGN in the child; NULL: none */
	const char *cwd;           /* chdir before exec; NULL: inherit */
	unsigned flags;            /* PDSPAWN_* below */
};

/* Keep the caller's ignored signals ignored in the child, as execve and
 * posix_spawn do, instead of resetting them (promise 6 then holds for
 * handled signals and attr->sigignore only).  It saves the 62
 * rt_sigaction calls that the reset costs where the kernel resets handlers
 * itself (CLONE_CLEAR_SIGHAND, pdspawn_uses_clone3() == 1); `spawnlab
 * bench` measures the difference. */
#define PDSPAWN_INHERIT_IGNORED 1u

/* Start PATH with ARGV and ENVP (envp NULL: the caller's environ).  On
 * success stores the pidfd in *pidfd and returns 0.  ATTR NULL means: no
 * fds, empty mask, all signals default. */
int pdspawn(int *pidfd, const char *path, char *const argv[],
	    char *const envp[], const struct pdspawn_attr *attr);

/* Wait up to TIMEOUT_MS (negative: forever) for the child to exit, then
 * reap it and store its status in *info (si_code CLD_EXITED/CLD_KILLED/
 * CLD_DUMPED, si_status).  Returns 0, ETIMEDOUT (child still running, not
 * reaped), or an errno: ECHILD for a child already reaped, except one the
 * kernel reaped itself (promise 3).  Does not close the pidfd. */
int pdspawn_wait(int pidfd, int timeout_ms, siginfo_t *info);

/* Send SIG to the child through its pidfd.  ESRCH once it has been
 * reaped (a zombie still accepts signals, as with kill(2)). */
int pdspawn_kill(int pidfd, int sig);

/* The child's pid in the caller's pid namespace, or -1 if unknown (for
 * example after it was reaped on kernels without PIDFD_GET_INFO). */
pid_t pdspawn_pid(int pidfd);

/* How pdspawn() creates its children in this process: 1 clone3 with
 * CLONE_CLEAR_SIGHAND, 0 clone() with every signal blocked around it (no
 * clone3 or no CLONE_CLEAR_SIGHAND in the kernel, a seccomp filter that
 * refuses clone3, or no trampoline for the architecture), -1 not known
 * before the first pdspawn(). */
int pdspawn_uses_clone3(void);

#ifdef __cplusplus
}
#endif

#endif
