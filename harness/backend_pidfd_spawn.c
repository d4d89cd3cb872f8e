/* backend_pidfd_spawn.c: glibc's pidfd_spawn (2.39+), looked up at run
 * time so that one binary works on glibc 2.36 (unavailable) and later. */
#include <dlfcn.h>
#include <sys/auxv.h>
#include <errno.h>
#include <spawn.h>
#include <stdio.h>

#include "backend_child.h"
#include "sys.h"

typedef int (*pidfd_spawn_fn)(int *, const char *, const posix_spawn_file_actions_t *,
			      const posix_spawnattr_t *, char *const[], char *const[]);

static pidfd_spawn_fn lookup(void)
{
	static int done;
	static pidfd_spawn_fn fn;
	if (!done) {
		void *sym = dlsym(RTLD_DEFAULT, "pidfd_spawn");
		*(void **)&fn = sym;
		done = 1;
	}
	return fn;
}

static int pfs_available(char *why, size_t len)
{
	if (lookup())
		return 1;
#ifdef __GLIBC__
	if (getauxval(AT_BASE) == 0)
		snprintf(why, len, "static build: pidfd_spawn cannot be looked up at run time (glibc %d.%d)",
			 __GLIBC__, __GLIBC_MINOR__);
	else
		snprintf(why, len, "glibc %d.%d has no pidfd_spawn (added in 2.39)", __GLIBC__, __GLIBC_MINOR__);
#else
	snprintf(why, len, "this libc has no pidfd_spawn (a glibc 2.39 extension)");
#endif
	return 0;
}

static int pfs_spawn(const struct spawn_req *req, struct spawn_res *res)
{
	pidfd_spawn_fn fn = lookup();
	if (!fn) {
		errno = ENOSYS;
		return -1;
	}
	posix_spawn_file_actions_t fa;
	int r = backend_file_actions(req, &fa);
	if (r) {
		errno = r;
		return -1;
	}
	int pidfd = -1;
	r = fn(&pidfd, req->path, &fa, NULL, req->argv, req->envp);
	posix_spawn_file_actions_destroy(&fa);
	res->exit_signal_is_sigchld = 1;
	res->pidfd = r ? -1 : pidfd;
	res->pid = r ? -1 : sl_pidfd_pid(pidfd);
	res->err = r;
	return 0;
}

const struct backend backend_pidfd_spawn = {
	.name = "pidfd_spawn",
	.summary = "glibc's pidfd_spawn() (2.39+), found at run time",
	.traits = BT_PIDFD | BT_FILE_ACTIONS | BT_SHARES_MEMORY,
	.available = pfs_available,
	.spawn = pfs_spawn,
};
