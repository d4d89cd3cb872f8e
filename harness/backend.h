/* backend.h: one way to create a process running a new program.
 *
 * Every backend gets the same request and fills the same result; what it
 * does with the request is the mechanism under test.  Classic backends
 * (fork, vfork, clone3, posix_spawn, pidfd_spawn) leave every fd without
 * FD_CLOEXEC open, as their callers would; pdspawn passes only the fds in
 * the request's map. */
#ifndef SPAWNLAB_BACKEND_H
#define SPAWNLAB_BACKEND_H

#include <stddef.h>
#include <sys/types.h>

#define SL_MAX_FDMAP 32

struct sl_fdmap {
	int src; /* fd in the spawner */
	int dst; /* fd in the child */
};

struct spawn_req {
	const char *path;
	char *const *argv;
	char *const *envp;
	/* dup2(src, dst) actions, done in the child before exec by the classic
	 * backends (posix_spawn: file actions).  For pdspawn, the child's whole
	 * fd table (stdio is not implied). */
	struct sl_fdmap map[SL_MAX_FDMAP];
	size_t nmap;
	/* The classic backends' other fd actions, done in this order after the
	 * map (posix_spawn and pidfd_spawn: as file actions in this order).
	 * pdspawn ignores them: its map is the child's whole table, and the
	 * runner turns keep entries into identity map entries for it.
	 * keep: dup2(fd, fd).  In a forked child that is a no-op which leaves
	 *   FD_CLOEXEC set (dup2(2)); as a posix_spawn file action it clears
	 *   FD_CLOEXEC (POSIX.1-2024 posix_spawn_file_actions_adddup2).
	 * close: close(fd) (posix_spawn_file_actions_addclose).
	 * closefrom: when > 0, close every fd >= closefrom (close_range(2);
	 *   posix_spawn_file_actions_addclosefrom_np). */
	int keep[SL_MAX_FDMAP];
	size_t nkeep;
	int close[SL_MAX_FDMAP];
	size_t nclose;
	int closefrom;
	/* pdspawn only: keep the caller's ignored signals ignored
	 * (PDSPAWN_INHERIT_IGNORED), as every other backend does anyway. */
	int inherit_ignored;
};

struct spawn_res {
	pid_t pid;   /* the child's pid as the backend knows it, or -1 */
	int pidfd;   /* a pidfd when the backend hands one back, else -1 */
	int err;     /* errno reported synchronously by the spawn call, or 0 */
	int exit_signal_is_sigchld; /* 1 when the child will raise SIGCHLD */
};

struct backend {
	const char *name;
	const char *summary;
	/* 1 if usable here; else 0 with the reason in WHY. */
	int (*available)(char *why, size_t whylen);
	/* Spawn per REQ.  Returns 0 when the call reported success or a
	 * synchronous failure (res->err), -1 with errno when the harness could
	 * not even try (a set-up failure, not an observation). */
	int (*spawn)(const struct spawn_req *req, struct spawn_res *res);
};

/* A request for PATH with ARGV and ENVP whose child keeps stdio: the
 * classic backends inherit fds 0-2, pdspawn gets them as identity map
 * entries.  Zeroes everything else. */
void spawn_req_stdio(struct spawn_req *req, const struct backend *be, const char *path, char *const *argv,
		     char *const *envp);

extern const struct backend backend_fork, backend_vfork, backend_posix_spawn,
	backend_clone3, backend_pidfd_spawn, backend_pdspawn;

/* All backends in presentation order, NULL-terminated. */
extern const struct backend *const sl_backends[];
const struct backend *backend_find(const char *name);
size_t backend_count(void);

#endif
