/* check.h: what the files of pdspawn-check share.
 *
 * A check runs against a spawn API: pdspawn itself, or glibc's pidfd_spawn
 * (2.39+) driven through the same struct pdspawn_attr (check_api.c), so
 * that every promise can be put to both.  Checks return PASS, FAIL, SKIP
 * (this kernel or libc cannot run it) or NOEXPR (the API cannot express
 * what the check asks for), with the reason in WHY. */
#ifndef PDSPAWN_CHECK_H
#define PDSPAWN_CHECK_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "pdspawn/pdspawn.h"

enum res { PASS, FAIL, SKIP, NOEXPR };

#define WAIT_MS 5000 /* bound on any wait for a child expected to end */

#define FAILED(...) (snprintf(why, len, __VA_ARGS__), FAIL)
#define SKIPPED(...) (snprintf(why, len, __VA_ARGS__), SKIP)
#define NOT_EXPRESSIBLE(...) (snprintf(why, len, __VA_ARGS__), NOEXPR)

/* A spawn API as the checks see it.  Every function returns 0 or an errno
 * value; spawn returns ENOTSUP for an attribute the API cannot express,
 * wait ETIMEDOUT when TIMEOUT_MS (>= 0) passed first. */
struct check_api {
	const char *name;
	int timed_wait;  /* the API itself has a wait with a timeout */
	int hides_eintr; /* it promises that EINTR never reaches the caller */
	int (*spawn)(int *pidfd, const char *path, char *const argv[], const struct pdspawn_attr *a);
	int (*wait)(int pidfd, int timeout_ms, siginfo_t *info);
	int (*kill)(int pidfd, int sig);
	pid_t (*pid)(int pidfd);
};

extern const struct check_api api_pdspawn;
/* glibc's pidfd_spawn, or NULL with the reason why not in WHY. */
const struct check_api *api_pidfd_spawn(char *why, size_t len);

typedef enum res (*check_fn)(const struct check_api *api, char *why, size_t len);

/* The checks (check_promises.c, check_defects.c, check_stress.c). */
enum res t_pidfd(const struct check_api *api, char *why, size_t len);
enum res t_exact_fds(const struct check_api *api, char *why, size_t len);
enum res t_no_sigchld(const struct check_api *api, char *why, size_t len);
enum res t_kill(const struct check_api *api, char *why, size_t len);
enum res t_exec_errors(const struct check_api *api, char *why, size_t len);
enum res t_signals(const struct check_api *api, char *why, size_t len);
enum res t_no_eintr(const struct check_api *api, char *why, size_t len);
enum res t_timeout(const struct check_api *api, char *why, size_t len);
enum res t_cwd(const struct check_api *api, char *why, size_t len);
enum res t_cancel(const struct check_api *api, char *why, size_t len);
enum res t_nofile(const struct check_api *api, char *why, size_t len);
enum res t_small_stack(const struct check_api *api, char *why, size_t len);
enum res t_sigchld_elsewhere(const struct check_api *api, char *why, size_t len);
enum res t_stress(const struct check_api *api, char *why, size_t len);

/* ---- helpers (pdspawn_check.c) ---- */

extern char check_self[]; /* this program, re-exec'd in a child mode */
extern volatile sig_atomic_t check_ticks; /* SIGALRMs seen */

void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int64_t now_ns(void);
/* Spawn through API and track the pidfd for the guard; reap() waits up to
 * TIMEOUT_MS, else kills, then reaps, forgets and closes in any case and
 * returns the first wait's answer. */
int spawn_tracked(const struct check_api *api, int *pidfd, const char *path, char *const argv[],
		  const struct pdspawn_attr *a);
int reap(const struct check_api *api, int pidfd, int timeout_ms, siginfo_t *si);
void track(int pidfd, int on);
int exited_zero(const siginfo_t *si);
/* Read FD until EOF, at most LEN-1 bytes, for at most TIMEOUT_MS. */
ssize_t read_all(int fd, char *buf, size_t len, int timeout_ms);
int count_fds(void);
/* No child of this process left, whatever its exit signal. */
int no_children(void);
/* Kill and reap every child left (bounded); returns how many there were. */
int reap_leftovers(void);

/* Run FN(API) in a forked copy of this process, which may change its
 * limits and signal dispositions or crash without harm to the others.  A
 * crash or a timeout (TIMEOUT_MS) is a FAIL that says so. */
enum res isolated(check_fn fn, const struct check_api *api, char *why, size_t len, int timeout_ms);

/* The fds a child re-exec'd as `check_self --child-fds OUT` reports. */
struct seen_fd {
	int fd;
	unsigned long long dev, ino;
};
int parse_fds(const char *text, struct seen_fd *v, int max);
/* Spawn check_self --child-fds with MAP, whose last entry is the write
 * end of a pipe whose read end is REPORT_R (closed here after the spawn),
 * and compare what the child has with
 * WANT: each want[i].parent_fd's file at want[i].child_fd, and nothing
 * else.  Returns the spawn's errno (0) or -1 with WHY for a mismatch. */
int spawn_and_compare_fds(const struct check_api *api, const struct pdspawn_fd *map, size_t n,
			  const struct pdspawn_fd *want, int report_r, char *why, size_t len);

/* Whether this kernel keeps a reaped child's exit status with its pidfd
 * (PIDFD_GET_INFO with PIDFD_INFO_EXIT, 6.15+), probed with a forked
 * child, independently of pdspawn. */
int kernel_keeps_exit_status(void);

#endif
