/* experiment_execsearch.c: what the libc does with a file the kernel
 * refuses with ENOEXEC (a script without "#!"), per calling function:
 * posix_spawn, posix_spawnp, execv and execvp, by path and by a bare name
 * found through PATH.  POSIX has execlp/execvp run such a file with the
 * shell; a libc may or may not do the same in posix_spawnp.  The script is
 * "exit 42", so a shell that ran it is seen in the exit status. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backends/child_wait.h"
#include "families/experiments.h"
#include "lib/names.h"
#include "lib/util.h"

#define SCRIPT_NAME "spawnlab-noexec"
#define SCRIPT_EXIT 42

enum search_call { SC_POSIX_SPAWN, SC_POSIX_SPAWNP, SC_EXECV, SC_EXECVP };

/* The exec call in a forked child; its errno goes back over an O_CLOEXEC
 * pipe (nothing arrives when the exec succeeded). */
static int exec_in_child(enum search_call call, const char *file, char *const argv[], pid_t *pid)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	*pid = fork();
	if (*pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (*pid == 0) {
		close(p[0]);
		if (call == SC_EXECV)
			execv(file, argv);
		else
			execvp(file, argv);
		int e = errno;
		if (write(p[1], &e, sizeof e) != (ssize_t)sizeof e)
			_exit(126);
		_exit(127);
	}
	close(p[1]);
	int e = 0;
	ssize_t n;
	while ((n = read(p[0], &e, sizeof e)) < 0 && errno == EINTR)
		;
	close(p[0]);
	return n == (ssize_t)sizeof e ? e : 0;
}

/* The arguments of `run exec_search`, named where the spec below declares them. */
enum { EXEC_SEARCH_CALL, EXEC_SEARCH_NAME };

static int exp_exec_search(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)sv;
	if (strcmp(ctx->be->name, "posix_spawn") != 0) {
		snprintf(err, errlen, "exec_search calls the libc itself: run it with backend posix_spawn only");
		return -1;
	}
	enum search_call call = (enum search_call)iv[EXEC_SEARCH_CALL];
	int bare = iv[EXEC_SEARCH_NAME] == 1;
	char dir[4096], path[4200];
	snprintf(dir, sizeof dir, "%s/bin", ctx->tmp);
	snprintf(path, sizeof path, "%s/%s", dir, SCRIPT_NAME);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "mkdir %s: %s", dir, strerror(errno));
		return -1;
	}
	static const char script[] = "exit 42\n";
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (fd < 0 || write_all(fd, script, sizeof script - 1) < 0 || close(fd) < 0 || chmod(path, 0755) < 0) {
		snprintf(err, errlen, "writing %s: %s", path, strerror(errno));
		return -1;
	}
	/* The p functions search the caller's PATH (glibc posix/execvpe.c and
	 * musl src/process/execvp.c read getenv("PATH")), not the child's envp. */
	if (setenv("PATH", dir, 1) < 0) {
		snprintf(err, errlen, "setenv PATH: %s", strerror(errno));
		return -1;
	}
	const char *file = bare ? SCRIPT_NAME : path;
	char *argv[] = {(char *)file, NULL};
	char *envp[] = {"LC_ALL=C", NULL};
	pid_t pid = -1;
	int e;
	if (call == SC_POSIX_SPAWN || call == SC_POSIX_SPAWNP)
		e = (call == SC_POSIX_SPAWN ? posix_spawn : posix_spawnp)(&pid, file, NULL, NULL, argv, envp);
	else
		e = exec_in_child(call, file, argv, &pid);
	if (e < 0) {
		snprintf(err, errlen, "pipe2 or fork: %s", strerror(errno));
		return -1;
	}
	obs_put(ctx, "search.errno", "%s", e ? errno_name(e) : "0");
	if (pid > 0) {
		struct spawn_res res = {pid, -1, 0, 1};
		struct child_status st;
		int budget = (int)(ctx->deadline_ms - mono_ms());
		child_wait(&res, budget > 0 ? budget : 1, &st);
		obs_put(ctx, "exit.code", "%d", st.end == CHILD_EXITED ? st.code : -1);
		obs_put(ctx, "shell.ran", "%s", st.end == CHILD_EXITED && st.code == SCRIPT_EXIT ? "yes" : "no");
	} else {
		obs_put(ctx, "exit.code", "none");
		obs_put(ctx, "shell.ran", "no");
	}
	return 0;
}

/* The experiment kinds of this file (the families' registry lists them). */
const struct step_kind execsearch_kinds[] = {
	{.name = "exec_search",
	 .summary = "a script without #! through posix_spawn, posix_spawnp, execv or execvp: ENOEXEC or the shell",
	 .args = {[EXEC_SEARCH_CALL] = {"call", ARG_CHOICE, 1, NULL, "posix_spawn|posix_spawnp|execv|execvp"},
		  [EXEC_SEARCH_NAME] = {"name", ARG_CHOICE, 0, "path", "path|bare"}},
	 .run = exp_exec_search,
	 .backends = "posix_spawn",
	 .keys = "search.errno shell.ran"},
	{0},
};
