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

/* What a backend promises, so that code and cases test a promise, never a
 * backend's name.  The case language's groups derive from them: classic
 * (no BT_EXACT_FDS), descriptor (BT_EXACT_FDS), pidfd (BT_PIDFD),
 * file_actions (BT_FILE_ACTIONS). */
enum backend_trait {
	/* The child gets exactly the fds the request maps (stdio included only
	 * when mapped), whatever their FD_CLOEXEC bit; the other fd actions
	 * (keep, close, closefrom) mean nothing to it. */
	BT_EXACT_FDS = 1u << 0,
	/* Hands back a pidfd for the child. */
	BT_PIDFD = 1u << 1,
	/* Creates the child with exit signal 0: no SIGCHLD until exec resets it. */
	BT_EXIT_SIGNAL_0 = 1u << 2,
	/* The fd actions are the libc's file actions (posix_spawn_file_actions_*),
	 * with their own rules (an identity adddup2 clears FD_CLOEXEC). */
	BT_FILE_ACTIONS = 1u << 3,
	/* The child shares the parent's memory until exec (CLONE_VM). */
	BT_SHARES_MEMORY = 1u << 4,
};

/* The traits by name, as results show them; NULL-terminated. */
extern const struct backend_trait_name {
	const char *name;
	unsigned bit;
} sl_trait_names[];

/* What a case asks of the child's fd table, before any backend reads it:
 * the backend turns it into its request (backend_request). */
struct sl_fdplan {
	struct sl_fdmap map[SL_MAX_FDMAP]; /* dup2(src, dst); for BT_EXACT_FDS: the table */
	size_t nmap;
	int stdio;                /* BT_EXACT_FDS: 0, 1, 2 are added to the map */
	int keep[SL_MAX_FDMAP];   /* identity dup2(fd, fd) actions */
	size_t nkeep;
	int close[SL_MAX_FDMAP];  /* close(fd) actions */
	size_t nclose;
	int closefrom;            /* close every fd >= it; 0: none */
};

struct backend {
	const char *name;
	const char *summary;
	unsigned traits; /* enum backend_trait */
	/* 1 if usable here; else 0 with the reason in WHY. */
	int (*available)(char *why, size_t whylen);
	/* Spawn per REQ.  Returns 0 when the call reported success or a
	 * synchronous failure (res->err), -1 with errno when the harness could
	 * not even try (a set-up failure, not an observation). */
	int (*spawn)(const struct spawn_req *req, struct spawn_res *res);
};

/* A request for PATH with ARGV and ENVP whose child keeps stdio: the
 * classic backends inherit fds 0-2, a BT_EXACT_FDS backend gets them as
 * identity map entries.  Zeroes everything else. */
void spawn_req_stdio(struct spawn_req *req, const struct backend *be, const char *path, char *const *argv,
		     char *const *envp);

/* Fill REQ's fd actions from PLAN, as BE understands them: a BT_EXACT_FDS
 * backend gets the whole table as its map (stdio and keep= included, the
 * other actions dropped); the others get the dup2 actions that move an fd
 * (an identity entry would be a no-op for fork but clear FD_CLOEXEC as a
 * posix_spawn file action), then keep, close and closefrom. */
void backend_request(struct spawn_req *req, const struct backend *be, const struct sl_fdplan *plan);
int backend_has(const struct backend *be, unsigned traits);

extern const struct backend backend_fork, backend_vfork, backend_posix_spawn,
	backend_clone3, backend_pidfd_spawn, backend_pdspawn;

/* The pseudo-backend of a case that says `backends none`: its experiment
 * makes its own children, so no backend is compared (not in sl_backends;
 * its spawn fails with ENOSYS). */
extern const struct backend backend_none;
/* The backend of unit index B of a case: sl_backends[B], or backend_none
 * for B == backend_count(). */
const struct backend *backend_at(size_t b);

/* All backends in presentation order, NULL-terminated. */
extern const struct backend *const sl_backends[];
const struct backend *backend_find(const char *name);
size_t backend_count(void);

#endif
