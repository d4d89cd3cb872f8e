/* check_api.c: the spawn APIs pdspawn-check puts its promises to.
 *
 * pdspawn, and glibc's pidfd_spawn (2.39+) where the headers declare it.
 * pidfd_spawn is driven through the same struct pdspawn_attr, translated
 * into what posix_spawn(3) offers, as a careful caller would:
 *  - the fd map becomes dup2 file actions; a source that another entry
 *    overwrites is first copied to a number that is free in the caller
 *    and no child_fd (file actions cannot ask for "the lowest free fd"),
 *    then every other number is closed (addclose below the highest
 *    child_fd, addclosefrom_np above it, glibc 2.34+);
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

#include "check.h"

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 39))
#define HAVE_PIDFD_SPAWN 1
#include <spawn.h>
#include <sys/pidfd.h>
#endif

static int pd_spawn(int *pidfd, const char *path, char *const argv[], const struct pdspawn_attr *a)
{
	return pdspawn(pidfd, path, argv, NULL, a);
}

const struct check_api api_pdspawn = {"pdspawn", 1, pd_spawn, pdspawn_wait, pdspawn_kill, pdspawn_pid};

#ifdef HAVE_PIDFD_SPAWN

extern char **environ;

static int is_target(const struct pdspawn_attr *a, int fd, size_t skip)
{
	for (size_t i = 0; i < a->nfds; i++)
		if (i != skip && a->fds[i].child_fd == fd && a->fds[i].parent_fd != fd)
			return 1;
	return 0;
}

static int in_map(const struct pdspawn_attr *a, int fd)
{
	for (size_t i = 0; i < a->nfds; i++)
		if (a->fds[i].child_fd == fd)
			return 1;
	return 0;
}

/* The fd map as file actions; 0 or an errno. */
static int map_actions(const struct pdspawn_attr *a, posix_spawn_file_actions_t *fa)
{
	struct rlimit rl;
	int limit = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536 ? (int)rl.rlim_cur : 65536;
	int src[256], top = -1, next_free = 0;
	if (a->nfds > sizeof src / sizeof *src)
		return ENOTSUP;
	for (size_t i = 0; i < a->nfds; i++) {
		const struct pdspawn_fd *m = &a->fds[i];
		src[i] = m->parent_fd;
		if (m->child_fd > top)
			top = m->child_fd;
		if (!is_target(a, m->parent_fd, i))
			continue;
		/* A free number that is no child_fd, for a copy. */
		while (next_free < limit && (fcntl(next_free, F_GETFD) >= 0 || in_map(a, next_free)))
			next_free++;
		if (next_free >= limit)
			return EMFILE;
		int r = posix_spawn_file_actions_adddup2(fa, m->parent_fd, next_free);
		if (r)
			return r;
		src[i] = next_free++;
	}
	for (size_t i = 0; i < a->nfds; i++) {
		int r = posix_spawn_file_actions_adddup2(fa, src[i], a->fds[i].child_fd);
		if (r)
			return r;
	}
	for (int fd = 0; fd <= top; fd++)
		if (!in_map(a, fd)) {
			int r = posix_spawn_file_actions_addclose(fa, fd);
			if (r)
				return r;
		}
	return posix_spawn_file_actions_addclosefrom_np(fa, top + 1);
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

static const struct check_api api_pfs = {"pidfd_spawn", 0, pfs_spawn, pfs_wait, pfs_kill, pfs_pid};

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
