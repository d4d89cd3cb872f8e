/* check_api.c: the spawn APIs pdspawn-check puts its promises to.
 *
 * pdspawn, and glibc's pidfd_spawn (2.39+) where the headers declare it.
 * pidfd_spawn is driven through the same struct pdspawn_attr, translated
 * into what posix_spawn(3) offers, as a careful caller would:
 *  - the fd map becomes dup2 file actions in the order pdspawn's child
 *    uses, a cycle broken by a copy at a number free in the caller and no
 *    child_fd (file actions cannot ask for "the lowest free fd"), then
 *    every other number is closed (addclose below the highest child_fd,
 *    addclosefrom_np above it, glibc 2.34+);
 *  - the mask with POSIX_SPAWN_SETSIGMASK, every signal to SIG_DFL with
 *    POSIX_SPAWN_SETSIGDEF unless PDSPAWN_INHERIT_IGNORED; a signal to be
 *    ignored in the child cannot be expressed (ENOTSUP);
 *  - cwd with addchdir_np (2.29+).
 * Waiting is the caller's business with glibc: waitid(P_PIDFD), after a
 * poll(2) when a timeout is wanted; EINTR is passed on, as waitid does. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pdspawn/check.h"

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 39))
#define HAVE_PIDFD_SPAWN 1
#include <spawn.h>
#include <sys/pidfd.h>
#endif

static int pd_spawn(int *pidfd, const char *path, char *const argv[], const struct pdspawn_attr *a)
{
	return pdspawn(pidfd, path, argv, NULL, a);
}

const struct check_api api_pdspawn = {"pdspawn", 1, 1, pd_spawn, pdspawn_wait, pdspawn_kill, pdspawn_pid};

#ifdef HAVE_PIDFD_SPAWN

extern char **environ;

static int in_map(const struct pdspawn_attr *a, int fd)
{
	for (size_t i = 0; i < a->nfds; i++)
		if (a->fds[i].child_fd == fd)
			return 1;
	return 0;
}

/* Whether an entry other than SKIP, not yet written, still reads FD. */
static int still_read(const int *src, size_t n, size_t skip, int fd)
{
	for (size_t i = 0; i < n; i++)
		if (i != skip && src[i] == fd)
			return 1;
	return 0;
}

/* The fd map as file actions, ordered as pdspawn's child orders it: a
 * number is written once no remaining entry reads it, and a cycle's
 * source is first copied to a number that is free here now and no
 * child_fd (it is free in the child too: its table is copied from this
 * one; file actions cannot ask for "the lowest free fd").  0 or an errno. */
static int map_actions(const struct pdspawn_attr *a, posix_spawn_file_actions_t *fa)
{
	struct rlimit rl;
	int limit = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536 ? (int)rl.rlim_cur : 65536;
	int src[256], top = -1, next_free = 0, r;
	size_t n = a->nfds;
	if (n > sizeof src / sizeof *src)
		return ENOTSUP;
	for (size_t i = 0; i < n; i++) {
		src[i] = a->fds[i].parent_fd;
		if (a->fds[i].child_fd > top)
			top = a->fds[i].child_fd;
		/* Same number: dup2 to itself clears FD_CLOEXEC (POSIX.1-2024,
		 * glibc 2.29+). */
		if (src[i] == a->fds[i].child_fd) {
			if ((r = posix_spawn_file_actions_adddup2(fa, src[i], src[i])))
				return r;
			src[i] = -1;
		}
	}
	for (size_t round = 0; round <= 2 * n + 1; round++) {
		int pending = 0, progress = 0;
		for (size_t i = 0; i < n; i++) {
			if (src[i] < 0)
				continue;
			if (still_read(src, n, i, a->fds[i].child_fd)) {
				pending = 1;
				continue;
			}
			if ((r = posix_spawn_file_actions_adddup2(fa, src[i], a->fds[i].child_fd)))
				return r;
			src[i] = -1;
			progress = 1;
		}
		if (!pending)
			break;
		if (!progress) {
			size_t i = 0;
			while (src[i] < 0)
				i++;
			while (next_free < limit && (fcntl(next_free, F_GETFD) >= 0 || in_map(a, next_free)))
				next_free++;
			if (next_free >= limit)
				return EMFILE;
			int busy = a->fds[i].child_fd;
			if ((r = posix_spawn_file_actions_adddup2(fa, busy, next_free)))
				return r;
			for (size_t k = 0; k < n; k++)
				if (src[k] == busy)
					src[k] = next_free;
			next_free++;
		}
	}
	/* Everything else closed: each number up to the highest child_fd,
	 * then the rest (closefrom only below the limit, where glibc takes
	 * it as a valid fd). */
	for (int fd = 0; fd <= top; fd++)
		if (!in_map(a, fd) && (r = posix_spawn_file_actions_addclose(fa, fd)))
			return r;
	return top + 1 < limit ? posix_spawn_file_actions_addclosefrom_np(fa, top + 1) : 0;
}

static int pfs_spawn(int *pidfd, const char *path, char *const argv[], const struct pdspawn_attr *a)
{
	static const struct pdspawn_attr none;
	if (!a)
		a = &none;
	if (a->sigignore && !sigisemptyset(a->sigignore))
		return ENOTSUP;
	if (a->flags & ~PDSPAWN_INHERIT_IGNORED)
		return EINVAL;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t sa;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&sa);
	sigset_t mask, all;
	sigemptyset(&mask);
	if (a->sigmask)
		mask = *a->sigmask;
	sigfillset(&all);
	short flags = POSIX_SPAWN_SETSIGMASK;
	int r = map_actions(a, &fa);
	if (!r && a->cwd)
		r = posix_spawn_file_actions_addchdir_np(&fa, a->cwd);
	if (!r)
		r = posix_spawnattr_setsigmask(&sa, &mask);
	if (!r && !(a->flags & PDSPAWN_INHERIT_IGNORED)) {
		flags |= POSIX_SPAWN_SETSIGDEF;
		r = posix_spawnattr_setsigdefault(&sa, &all);
	}
	if (!r)
		r = posix_spawnattr_setflags(&sa, flags);
	if (!r)
		r = pidfd_spawn(pidfd, path, &fa, &sa, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&sa);
	return r;
}

static int pfs_wait(int pidfd, int timeout_ms, siginfo_t *info)
{
	if (timeout_ms >= 0) {
		struct pollfd p = {pidfd, POLLIN, 0};
		int n = poll(&p, 1, timeout_ms);
		if (n == 0)
			return ETIMEDOUT;
		if (n < 0)
			return errno;
	}
	memset(info, 0, sizeof *info);
	return waitid((idtype_t)P_PIDFD, (id_t)pidfd, info, WEXITED) < 0 ? errno : 0;
}

static int pfs_kill(int pidfd, int sig)
{
	return pidfd_send_signal(pidfd, sig, NULL, 0) < 0 ? errno : 0;
}

static pid_t pfs_pid(int pidfd)
{
	return pidfd_getpid(pidfd);
}

static const struct check_api api_pfs = {"pidfd_spawn", 0, 0, pfs_spawn, pfs_wait, pfs_kill, pfs_pid};

const struct check_api *api_pidfd_spawn(char *why, size_t len)
{
	(void)why;
	(void)len;
	return &api_pfs;
}

#else

const struct check_api *api_pidfd_spawn(char *why, size_t len)
{
#ifdef __GLIBC__
	snprintf(why, len, "built against glibc %d.%d, which has no pidfd_spawn (glibc 2.39+)", __GLIBC__,
		 __GLIBC_MINOR__);
#else
	snprintf(why, len, "built against a libc without pidfd_spawn (a glibc 2.39 extension)");
#endif
	return NULL;
}

#endif
