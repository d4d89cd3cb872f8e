/* case_step.c: the set-up step kinds a case can use, as one table.  Each
 * runs in the spawner (the process that will call the backend), after the
 * spawner has reset itself to a known state (runner.c).  Adding a step
 * kind here makes it usable from every case file with no other change. */
#include "core/case.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/names.h"
#include "core/step_ctx.h"
#include "lib/util.h"

#define FAIL(...) (snprintf(err, errlen, __VA_ARGS__), -1)

/* Put FD at number TARGET with close-on-exec as asked; closes FD. */
static int fd_move(int fd, int target, int cloexec)
{
	if (fd == target)
		return fcntl(fd, F_SETFD, cloexec ? FD_CLOEXEC : 0);
	if (dup3(fd, target, cloexec ? O_CLOEXEC : 0) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	close(fd);
	return 0;
}

static void expand_path(const struct step_ctx *ctx, const char *in, char *out, size_t len)
{
	if (strncmp(in, "$tmp", 4) == 0 && (in[4] == 0 || in[4] == '/'))
		snprintf(out, len, "%s%s", ctx->tmp, in + 4);
	else
		snprintf(out, len, "%s", in);
}

static int st_open(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	char path[4096];
	expand_path(ctx, sv[1], path, sizeof path);
	int fd = open(path, (int)iv[2], (mode_t)iv[3]);
	if (fd < 0)
		return FAIL("open(%s): %s", path, strerror(errno));
	if (fd_move(fd, (int)iv[0], (iv[2] & O_CLOEXEC) != 0) < 0)
		return FAIL("moving fd to %ld: %s", iv[0], strerror(errno));
	return 0;
}

static int st_pipe(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)sv;
	(void)ctx;
	int p[2];
	if (iv[0] == iv[1])
		return FAIL("pipe: rfd and wfd must differ");
	if (pipe2(p, (int)iv[2]) < 0)
		return FAIL("pipe2: %s", strerror(errno));
	int cloexec = (iv[2] & O_CLOEXEC) != 0;
	/* Move the write end above both targets first, so that moving the read
	 * end onto its number cannot close it (and stay under RLIMIT_NOFILE). */
	int w = fcntl(p[1], cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, (int)(iv[0] > iv[1] ? iv[0] : iv[1]) + 1);
	if (w < 0)
		return FAIL("pipe: F_DUPFD: %s", strerror(errno));
	close(p[1]);
	if (fd_move(p[0], (int)iv[0], cloexec) < 0 || fd_move(w, (int)iv[1], cloexec) < 0)
		return FAIL("pipe: moving fds: %s", strerror(errno));
	return 0;
}

static int st_socketpair(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)sv;
	(void)ctx;
	static const int types[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET};
	int s[2];
	if (iv[0] == iv[1])
		return FAIL("socketpair: fd0 and fd1 must differ");
	if (socketpair(AF_UNIX, types[iv[2]] | (iv[3] ? SOCK_CLOEXEC : 0), 0, s) < 0)
		return FAIL("socketpair: %s", strerror(errno));
	int b = fcntl(s[1], iv[3] ? F_DUPFD_CLOEXEC : F_DUPFD, (int)(iv[0] > iv[1] ? iv[0] : iv[1]) + 1);
	if (b < 0)
		return FAIL("socketpair: F_DUPFD: %s", strerror(errno));
	close(s[1]);
	if (fd_move(s[0], (int)iv[0], (int)iv[3]) < 0 || fd_move(b, (int)iv[1], (int)iv[3]) < 0)
		return FAIL("socketpair: moving fds: %s", strerror(errno));
	return 0;
}

static int st_dup(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)sv;
	(void)ctx;
	int r = iv[2] ? dup3((int)iv[0], (int)iv[1], O_CLOEXEC) : dup2((int)iv[0], (int)iv[1]);
	if (r < 0)
		return FAIL("dup %ld -> %ld: %s", iv[0], iv[1], strerror(errno));
	return 0;
}

static int st_fdflag(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)sv;
	(void)ctx;
	int fl = fcntl((int)iv[0], F_GETFD);
	if (fl < 0 || fcntl((int)iv[0], F_SETFD, iv[1] ? (fl | FD_CLOEXEC) : (fl & ~FD_CLOEXEC)) < 0)
		return FAIL("fcntl(%ld, F_SETFD): %s", iv[0], strerror(errno));
	return 0;
}

static int st_close(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)sv;
	(void)ctx;
	if (close((int)iv[0]) < 0)
		return FAIL("close(%ld): %s", iv[0], strerror(errno));
	return 0;
}

static int st_file(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	char path[4096];
	expand_path(ctx, sv[0], path, sizeof path);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)iv[1]);
	if (fd < 0)
		return FAIL("creating %s: %s", path, strerror(errno));
	/* text=: the content, then a newline (a script without "#!", say). */
	if (sv[2] && (write_all(fd, sv[2], strlen(sv[2])) < 0 || write_all(fd, "\n", 1) < 0)) {
		int e = errno;
		close(fd);
		return FAIL("writing %s: %s", path, strerror(e));
	}
	close(fd);
	if (chmod(path, (mode_t)iv[1]) < 0)
		return FAIL("chmod %s: %s", path, strerror(errno));
	return 0;
}

static int st_symlink(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)iv;
	char path[4096], target[4096];
	expand_path(ctx, sv[0], path, sizeof path);
	expand_path(ctx, sv[1], target, sizeof target);
	if (symlink(target, path) < 0)
		return FAIL("symlink %s -> %s: %s", path, target, strerror(errno));
	return 0;
}

/* A copy of FROM ("probe": the probe itself) at TO with MODE, so that a case
 * can hold it open for writing (ETXTBSY) without touching the real one. */
static int st_copy(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	char from[4096], to[4096];
	expand_path(ctx, sv[0], to, sizeof to);
	if (strcmp(sv[1], "probe") == 0)
		snprintf(from, sizeof from, "%s", ctx->probe);
	else
		expand_path(ctx, sv[1], from, sizeof from);
	size_t len = 0;
	char *data = read_file(from, 64u << 20, &len);
	if (!data)
		return FAIL("reading %s: %s", from, strerror(errno));
	int fd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)iv[2]);
	int r = fd < 0 ? -1 : write_all(fd, data, len);
	int e = errno;
	free(data);
	if (fd >= 0)
		close(fd);
	if (r < 0)
		return FAIL("writing %s: %s", to, strerror(e));
	if (chmod(to, (mode_t)iv[2]) < 0)
		return FAIL("chmod %s: %s", to, strerror(errno));
	return 0;
}

static void noop_handler(int sig)
{
	(void)sig;
}

static int st_signal(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)sv;
	(void)ctx;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = iv[1] == 0 ? SIG_DFL : iv[1] == 1 ? SIG_IGN : noop_handler;
	sa.sa_flags = iv[1] == 2 ? SA_RESTART : 0;
	if (sigaction((int)iv[0], &sa, NULL) < 0)
		return FAIL("sigaction(%s): %s", sig_name((int)iv[0]), strerror(errno));
	return 0;
}

static int mask_one(int how, int sig, char *err, size_t errlen)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	if (sigprocmask(how, &s, NULL) < 0)
		return FAIL("sigprocmask(%s): %s", sig_name(sig), strerror(errno));
	return 0;
}

static int st_block(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)sv;
	(void)ctx;
	return mask_one(SIG_BLOCK, (int)iv[0], err, errlen);
}

static int st_unblock(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)sv;
	(void)ctx;
	return mask_one(SIG_UNBLOCK, (int)iv[0], err, errlen);
}

static int st_raise(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)sv;
	(void)ctx;
	if (kill(getpid(), (int)iv[0]) < 0)
		return FAIL("kill(self, %s): %s", sig_name((int)iv[0]), strerror(errno));
	return 0;
}

static int st_chdir(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)iv;
	char path[4096];
	expand_path(ctx, sv[0], path, sizeof path);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return FAIL("mkdir %s: %s", path, strerror(errno));
	if (chdir(path) < 0)
		return FAIL("chdir %s: %s", path, strerror(errno));
	return 0;
}

static int st_umask(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)sv;
	(void)ctx;
	(void)err;
	(void)errlen;
	umask((mode_t)(iv[0] & 0777));
	return 0;
}

static int st_rlimit(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)ctx;
	struct rlimit rl;
	if (getrlimit(sl_rlimits[iv[0]].resource, &rl) < 0)
		return FAIL("getrlimit: %s", strerror(errno));
	if (sv[1])
		rl.rlim_cur = (rlim_t)iv[1];
	if (sv[2])
		rl.rlim_max = (rlim_t)iv[2];
	if (setrlimit(sl_rlimits[iv[0]].resource, &rl) < 0)
		return FAIL("setrlimit(%s): %s", sv[0], strerror(errno));
	return 0;
}

static int st_no_new_privs(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)iv;
	(void)sv;
	(void)ctx;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return FAIL("PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	return 0;
}

static int st_pdeathsig(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)sv;
	(void)ctx;
	if (prctl(PR_SET_PDEATHSIG, iv[0], 0, 0, 0) < 0)
		return FAIL("PR_SET_PDEATHSIG: %s", strerror(errno));
	return 0;
}

static int st_setsid(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)iv;
	(void)sv;
	(void)ctx;
	if (setsid() < 0)
		return FAIL("setsid: %s", strerror(errno));
	return 0;
}

static int st_setpgid(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)iv;
	(void)sv;
	(void)ctx;
	if (setpgid(0, 0) < 0)
		return FAIL("setpgid(0, 0): %s", strerror(errno));
	return 0;
}

static int st_sleep(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen)
{
	(void)sv;
	(void)ctx;
	struct timespec ts = {iv[0] / 1000, (iv[0] % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0)
		if (errno != EINTR)
			return FAIL("nanosleep: %s", strerror(errno));
	return 0;
}

/* The basic set-up steps (the families' registry lists them). */
const struct step_kind base_steps[] = {
	{.name = "open",
	 .summary = "open PATH with FLAGS and put it at fd FD",
	 .args = {{"fd", ARG_FD, 1, NULL, NULL}, {"path", ARG_PATH, 1, NULL, NULL}, {"flags", ARG_OFLAGS, 0, "O_RDONLY", NULL}, {"mode", ARG_OCTAL, 0, "0644", NULL}},
	 .run = st_open},
	{.name = "pipe",
	 .summary = "pipe2(FLAGS), read end at RFD, write end at WFD",
	 .args = {{"rfd", ARG_FD, 1, NULL, NULL}, {"wfd", ARG_FD, 1, NULL, NULL}, {"flags", ARG_OFLAGS, 0, "0", NULL}},
	 .run = st_pipe},
	{.name = "socketpair",
	 .summary = "AF_UNIX socketpair at FD0 and FD1",
	 .args = {{"fd0", ARG_FD, 1, NULL, NULL}, {"fd1", ARG_FD, 1, NULL, NULL}, {"type", ARG_CHOICE, 0, "stream", "stream|dgram|seqpacket"}, {"cloexec", ARG_BOOL, 0, "no", NULL}},
	 .run = st_socketpair},
	{.name = "dup",
	 .summary = "dup2(FROM, TO), or dup3 with O_CLOEXEC when cloexec=yes",
	 .args = {{"from", ARG_FD, 1, NULL, NULL}, {"to", ARG_FD, 1, NULL, NULL}, {"cloexec", ARG_BOOL, 0, "no", NULL}},
	 .run = st_dup},
	{.name = "fdflag",
	 .summary = "fcntl(FD, F_SETFD) setting or clearing FD_CLOEXEC",
	 .args = {{"fd", ARG_FD, 1, NULL, NULL}, {"cloexec", ARG_BOOL, 1, NULL, NULL}},
	 .run = st_fdflag},
	{.name = "close",
	 .summary = "close(FD)",
	 .args = {{"fd", ARG_FD, 1, NULL, NULL}},
	 .run = st_close},
	{.name = "file",
	 .summary = "create a file PATH with MODE, empty or holding TEXT and a newline",
	 .args = {{"path", ARG_PATH, 1, NULL, NULL}, {"mode", ARG_OCTAL, 0, "0644", NULL}, {"text", ARG_PATH, 0, NULL, NULL}},
	 .run = st_file},
	{.name = "symlink",
	 .summary = "a symbolic link PATH pointing at TARGET",
	 .args = {{"path", ARG_PATH, 1, NULL, NULL}, {"target", ARG_PATH, 1, NULL, NULL}},
	 .run = st_symlink},
	{.name = "copy",
	 .summary = "copy FROM (a path, or \"probe\") to the new file TO with MODE",
	 .args = {{"to", ARG_PATH, 1, NULL, NULL}, {"from", ARG_PATH, 0, "probe", NULL}, {"mode", ARG_OCTAL, 0, "0755", NULL}},
	 .run = st_copy},
	{.name = "signal",
	 .summary = "sigaction(SIG): default, ignore, or a handler (SA_RESTART)",
	 .args = {{"sig", ARG_SIG, 1, NULL, NULL}, {"action", ARG_CHOICE, 1, NULL, "default|ignore|handle"}},
	 .run = st_signal},
	{.name = "block",
	 .summary = "add SIG to the signal mask",
	 .args = {{"sig", ARG_SIG, 1, NULL, NULL}},
	 .run = st_block},
	{.name = "unblock",
	 .summary = "remove SIG from the signal mask",
	 .args = {{"sig", ARG_SIG, 1, NULL, NULL}},
	 .run = st_unblock},
	{.name = "raise",
	 .summary = "send SIG to the spawner itself (pending if blocked)",
	 .args = {{"sig", ARG_SIG, 1, NULL, NULL}},
	 .run = st_raise},
	{.name = "chdir",
	 .summary = "mkdir -p one level and chdir to PATH",
	 .args = {{"path", ARG_PATH, 1, NULL, NULL}},
	 .run = st_chdir},
	{.name = "umask",
	 .summary = "umask(MASK)",
	 .args = {{"mask", ARG_OCTAL, 1, NULL, NULL}},
	 .run = st_umask},
	{.name = "rlimit",
	 .summary = "setrlimit(RESOURCE) soft and/or hard",
	 .args = {{"resource", ARG_CHOICE, 1, NULL, SL_RLIMIT_CHOICES}, {"soft", ARG_INT, 0, NULL, NULL}, {"hard", ARG_INT, 0, NULL, NULL}},
	 .run = st_rlimit},
	{.name = "no_new_privs",
	 .summary = "prctl(PR_SET_NO_NEW_PRIVS, 1)",
	 .args = {{0}},
	 .run = st_no_new_privs},
	{.name = "pdeathsig",
	 .summary = "prctl(PR_SET_PDEATHSIG, SIG)",
	 .args = {{"sig", ARG_SIG, 1, NULL, NULL}},
	 .run = st_pdeathsig},
	{.name = "setsid",
	 .summary = "setsid(): a new session and process group",
	 .args = {{0}},
	 .run = st_setsid},
	{.name = "setpgid",
	 .summary = "setpgid(0, 0): a new process group",
	 .args = {{0}},
	 .run = st_setpgid},
	{.name = "sleep",
	 .summary = "sleep MS milliseconds (bounded by the case timeout)",
	 .args = {{"ms", ARG_INT, 1, NULL, NULL}},
	 .run = st_sleep},
	{0},
};
