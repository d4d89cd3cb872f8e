/* fd_combo.c (fuzz target): a short program of fd operations, then the
 * probe spawned through two backends; each child's fd set is compared with
 * model_fd.c's prediction (classic backends: the fds without FD_CLOEXEC,
 * after the map's dup2 actions; pdspawn: exactly the mapped fds), and each
 * call's return value with the model's.
 *
 * Input: backend pair byte, then up to 24 ops of 4 bytes (opcode, option,
 * operand a, operand b), the last 4 bytes before the ops being up to 3 map
 * entries... see decode().  An fd operand byte with bit 7 set names the
 * k-th fd the program owns; otherwise a number in 3..63.  The program
 * never touches the fuzzer's own fds (the baseline snapshot taken before
 * each input): an op that would is skipped, and every fd it created is
 * closed afterwards. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend.h"
#include "child_wait.h"
#include "fuzz_util.h"
#include "model_fd.h"
#include "names.h"
#include "sys.h"
#include <linux/close_range.h>

#define TARGET "fd_combo"
#define MAX_OPS 24
#define WIN_LO 3
#define WIN_HI 64
#define WAIT_MS 5000
/* A wrong return value or fd state in the spawner is not a case: set-up
 * steps fail or succeed, the case language cannot expect their results. */
#define NO_CASE_OP "not expressible as a case: the case language cannot expect a set-up call's return value or the spawner's own fd table; replay the .bin"

extern char **environ;

static const struct backend *avail[8];
static int navail;
static char tmpdir[64];
static unsigned char baseline[FDM_N];

static void setup(void)
{
	char why[256];
	for (size_t i = 0; sl_backends[i] && navail < 8; i++)
		if (sl_backends[i]->available(why, sizeof why))
			avail[navail++] = sl_backends[i];
	strcpy(tmpdir, "/tmp/spawnlab-fdcombo-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror(TARGET ": mkdtemp");
		abort();
	}
}

static void snapshot(struct fd_model *m)
{
	for (int fd = 0; fd < FDM_N; fd++) {
		int fl = fcntl(fd, F_GETFD);
		m->st[fd] = fl < 0 ? FD_CLOSED : (fl & FD_CLOEXEC) ? FD_OPEN_CLOEXEC : FD_OPEN;
		baseline[fd] = m->st[fd] != FD_CLOSED;
	}
}

/* Resolve an operand byte to an fd number, or -1 to skip the op. */
static int operand(const struct fd_model *m, uint8_t v)
{
	if (v & 0x80) {
		int owned[FDM_N], n = 0;
		for (int fd = 0; fd < FDM_N; fd++)
			if (m->st[fd] != FD_CLOSED && !baseline[fd])
				owned[n++] = fd;
		return n ? owned[(v & 0x7f) % n] : -1;
	}
	int fd = WIN_LO + v % (WIN_HI - WIN_LO);
	return baseline[fd] ? -1 : fd;
}

static int decode_op(struct fz *f, const struct fd_model *m, struct fd_op *op)
{
	uint8_t code = fz_u8(f), opt = fz_u8(f), a = fz_u8(f), b = fz_u8(f);
	memset(op, 0, sizeof *op);
	op->code = (enum fd_opcode)(code % FOP_COUNT);
	op->cloexec = opt & 1;
	switch (op->code) {
	case FOP_DUP3: op->flags = (opt & 1 ? O_CLOEXEC : 0) | (opt & 2 ? O_NONBLOCK : 0); break;
	case FOP_SETFD: op->flags = opt; break;
	case FOP_CLOSE_RANGE: op->flags = (opt & 1 ? CLOSE_RANGE_CLOEXEC : 0) | (opt & 2 ? 0x40 : 0); break;
	default: break;
	}
	op->a = operand(m, a);
	op->b = operand(m, b);
	switch (op->code) {
	case FOP_DUP: case FOP_SETFD: case FOP_FIOCLEX: case FOP_FIONCLEX: case FOP_CLOSE:
		return op->a >= 0;
	case FOP_DUP2: case FOP_DUP3:
		return op->a >= 0 && op->b >= 0;
	case FOP_DUPFD:
		op->b = WIN_LO + b % (WIN_HI - WIN_LO);
		return op->a >= 0;
	case FOP_CLOSE_RANGE:
		if (op->a < 0 || op->b < 0)
			return 0;
		for (int fd = op->a < op->b ? op->a : op->b; fd <= (op->a < op->b ? op->b : op->a); fd++)
			if (fd < FDM_N && baseline[fd])
				return 0; /* never close or mark the fuzzer's own fds */
		return 1;
	default:
		return 1;
	}
}

/* The real call; same return convention as model_fd_apply. */
static int kernel_op(const struct fd_op *op, int *second)
{
	int r = -1, p[2] = {-1, -1};
	*second = -1;
	switch (op->code) {
	case FOP_OPEN: r = open("/dev/null", O_RDONLY | (op->cloexec ? O_CLOEXEC : 0)); break;
	case FOP_PIPE2: r = pipe2(p, op->cloexec ? O_CLOEXEC : 0); break;
	case FOP_SOCKETPAIR: r = socketpair(AF_UNIX, SOCK_STREAM | (op->cloexec ? SOCK_CLOEXEC : 0), 0, p); break;
	case FOP_EVENTFD: r = eventfd(0, op->cloexec ? EFD_CLOEXEC : 0); break;
	case FOP_MEMFD: r = memfd_create("fd_combo", op->cloexec ? MFD_CLOEXEC : 0); break;
	case FOP_EPOLL: r = epoll_create1(op->cloexec ? EPOLL_CLOEXEC : 0); break;
	case FOP_PIDFD_OPEN: r = sl_pidfd_open(getpid(), 0); break;
	case FOP_DUP: r = dup(op->a); break;
	case FOP_DUP2: r = dup2(op->a, op->b); break;
	case FOP_DUP3: r = dup3(op->a, op->b, op->flags); break;
	case FOP_DUPFD: r = fcntl(op->a, op->cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, op->b); break;
	case FOP_SETFD: r = fcntl(op->a, F_SETFD, op->flags); break;
	case FOP_FIOCLEX: r = ioctl(op->a, FIOCLEX); break;
	case FOP_FIONCLEX: r = ioctl(op->a, FIONCLEX); break;
	case FOP_CLOSE: r = close(op->a); break;
	case FOP_CLOSE_RANGE: r = sl_close_range((unsigned)op->a, (unsigned)op->b, (unsigned)op->flags); break;
	case FOP_COUNT: errno = ENOSYS; break;
	}
	if (r < 0)
		return -errno;
	if (op->code == FOP_PIPE2 || op->code == FOP_SOCKETPAIR) {
		*second = p[1];
		return p[0];
	}
	return r;
}

static void cleanup(void)
{
	for (int fd = 0; fd < FDM_N; fd++)
		if (!baseline[fd] && fcntl(fd, F_GETFD) >= 0)
			close(fd);
}

/* Spawn the probe through BE; fill GOT[fd] from its "fds" line.  Returns
 * 0, or -1 with a reason in WHY. */
static int spawn_probe(const struct backend *be, const struct fd_map *map, int nmap, unsigned char got[FDM_N],
		       char *why, size_t whylen)
{
	char out[128];
	snprintf(out, sizeof out, "%s/out", tmpdir);
	unlink(out);
	char *argv[] = {(char *)"probe", (char *)"--out", out, NULL};
	struct spawn_req req;
	memset(&req, 0, sizeof req);
	req.path = fuzz_probe_path();
	req.argv = argv;
	req.envp = environ;
	for (int i = 0; i < nmap; i++)
		req.map[i] = (struct sl_fdmap){map[i].src, map[i].dst};
	req.nmap = (size_t)nmap;
	struct spawn_res res = {-1, -1, 0, 0};
	if (be->spawn(&req, &res) < 0)
		return snprintf(why, whylen, "%s: harness could not spawn: %s", be->name, strerror(errno)), -1;
	if (res.err)
		return snprintf(why, whylen, "%s: spawn failed: %s", be->name, errno_name(res.err)), -1;
	struct child_status st;
	child_wait(&res, WAIT_MS, &st);
	if (res.pidfd >= 0)
		close(res.pidfd);
	if (st.end != CHILD_EXITED || st.code != 0)
		return snprintf(why, whylen, "%s: probe did not exit 0 (end %d code %d)", be->name, (int)st.end, st.code), -1;
	FILE *f = fopen(out, "re");
	if (!f)
		return snprintf(why, whylen, "%s: no probe report", be->name), -1;
	char line[4096];
	memset(got, 0, FDM_N);
	int found = 0;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, "fds ", 4) == 0) {
			found = 1;
			for (char *s = strtok(line + 4, ",\n"); s; s = strtok(NULL, ",\n"))
				if (strcmp(s, "none") != 0) {
					int fd = atoi(s);
					if (fd >= 0 && fd < FDM_N)
						got[fd] = 1;
				}
		}
	fclose(f);
	unlink(out);
	return found ? 0 : (snprintf(why, whylen, "%s: report without fds", be->name), -1);
}

static void fdset_str(const unsigned char s[FDM_N], char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = 0;
	for (int fd = 0; fd < FDM_N && o + 8 < len; fd++)
		if (s[fd])
			o += (size_t)snprintf(buf + o, len - o, "%s%d", o ? "," : "", fd);
	if (!o)
		snprintf(buf, len, "none");
}

/* The program as set-up steps of the case language (cases/README.md), one
 * line per call that succeeded in the kernel, with the fd numbers the
 * kernel chose, so `spawnlab run` rebuilds the same table.  Failed calls
 * change nothing and are left out. */
static char steps[4096];
static size_t nsteps;

static const char *const fdmake_call[FOP_COUNT] = {
	[FOP_OPEN] = "open",   [FOP_PIPE2] = "pipe2",	       [FOP_SOCKETPAIR] = "socketpair",
	[FOP_EVENTFD] = "eventfd", [FOP_MEMFD] = "memfd_create", [FOP_EPOLL] = "epoll_create1",
	[FOP_PIDFD_OPEN] = "pidfd_open",
};

static void add_step(const struct fd_op *op, int got, int second)
{
	char l[160];
	const char *yn[2] = {"no", "yes"};
	l[0] = 0;
	if (got < 0)
		return;
	switch (op->code) {
	case FOP_OPEN: case FOP_PIPE2: case FOP_SOCKETPAIR: case FOP_EVENTFD: case FOP_MEMFD: case FOP_EPOLL:
	case FOP_PIDFD_OPEN: {
		/* pidfd_open(2): "The close-on-exec flag is set on the file descriptor" */
		int ce = op->code == FOP_PIDFD_OPEN ? 1 : op->cloexec;
		int n = snprintf(l, sizeof l, "setup   fdmake call=%s fd=%d cloexec=%s", fdmake_call[op->code], got, yn[ce]);
		if (second >= 0)
			snprintf(l + n, sizeof l - (size_t)n, " fd2=%d", second);
		break;
	}
	case FOP_DUP: snprintf(l, sizeof l, "setup   dup from=%d to=%d", op->a, got); break;
	case FOP_DUP2:
		if (op->a != op->b) /* dup2(fd, fd) changes nothing */
			snprintf(l, sizeof l, "setup   dup from=%d to=%d", op->a, op->b);
		break;
	case FOP_DUP3:
		snprintf(l, sizeof l, "setup   dup from=%d to=%d cloexec=%s", op->a, op->b, yn[!!(op->flags & O_CLOEXEC)]);
		break;
	case FOP_DUPFD: snprintf(l, sizeof l, "setup   dup from=%d to=%d cloexec=%s", op->a, got, yn[op->cloexec]); break;
	case FOP_SETFD: snprintf(l, sizeof l, "setup   fdflag fd=%d cloexec=%s", op->a, yn[!!(op->flags & FD_CLOEXEC)]); break;
	case FOP_FIOCLEX: snprintf(l, sizeof l, "setup   fdflag fd=%d cloexec=yes", op->a); break;
	case FOP_FIONCLEX: snprintf(l, sizeof l, "setup   fdflag fd=%d cloexec=no", op->a); break;
	case FOP_CLOSE: snprintf(l, sizeof l, "setup   close fd=%d", op->a); break;
	case FOP_CLOSE_RANGE:
		snprintf(l, sizeof l, "setup   closerange first=%d last=%d flags=%s", op->a, op->b,
			 op->flags & CLOSE_RANGE_CLOEXEC ? "cloexec" : "none");
		break;
	case FOP_COUNT: break;
	}
	if (l[0] && nsteps + strlen(l) + 2 < sizeof steps)
		nsteps += (size_t)snprintf(steps + nsteps, sizeof steps - nsteps, "%s\n", l);
}

/* One case for BE's child: the program, the map, and the model's fds.  The
 * spawner starts with 0, 1 and 2 only (and pdspawn adds them to its map), so
 * the expected set is those and the program's own fds. */
static void case_text(char *buf, size_t len, const char *key, const struct backend *be, const struct fd_map *map,
		      int nmap, const unsigned char want[FDM_N])
{
	char m[64] = "", w[512] = "0,1,2";
	size_t o = 0, wo = strlen(w);
	for (int i = 0; i < nmap; i++)
		o += (size_t)snprintf(m + o, sizeof m - o, "%s%d:%d", i ? "," : " map=", map[i].src, map[i].dst);
	for (int fd = 3; fd < FDM_N && wo + 8 < sizeof w; fd++)
		if (want[fd] && !baseline[fd])
			wo += (size_t)snprintf(w + wo, sizeof w - wo, ",%d", fd);
	snprintf(buf, len,
		 "# Written by fuzz/fd_combo for the finding %s (reports/findings/%s.json).\n"
		 "# The expectation is the model's (fuzz/model_fd.c); the run found otherwise.\n"
		 "case    %s\n"
		 "desc    fd_combo finding: the %s child's fds after this program differ from the model\n"
		 "source  execve(2): fds without FD_CLOEXEC stay open; fcntl(2), dup(2), close_range(2)\n"
		 "source  fuzz/model_fd.c (model_fd_child)\n"
		 "backends %s\n%s"
		 "spawn  %s\n"
		 "expect  fds = %s\n",
		 key, key, key, be->name, be->name, steps, m, w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	if (!navail)
		setup();
	if (navail < 1)
		return 0;
	struct fz f = {data, len, 0};
	struct fd_model m;
	snapshot(&m);
	uint8_t pair = fz_u8(&f), mapn = fz_u8(&f);
	uint8_t mapb[6];
	for (int i = 0; i < 6; i++)
		mapb[i] = fz_u8(&f);
	char detail[4096], sig[128], prog[512], ctext[8192], key[160];
	size_t plen = 0;
	prog[0] = 0;
	nsteps = 0;
	steps[0] = 0;
	for (int n = 0; n < MAX_OPS && fz_more(&f); n++) {
		struct fd_op op;
		if (!decode_op(&f, &m, &op))
			continue;
		int msec, ksec;
		int want = model_fd_apply(&m, &op, &msec);
		int got = kernel_op(&op, &ksec);
		add_step(&op, got, ksec);
		if (plen < sizeof prog - 64)
			plen += (size_t)snprintf(prog + plen, sizeof prog - plen, "%s(%d,%d,%#x,%d)=%d ",
						 fd_op_names[op.code], op.a, op.b, op.flags, op.cloexec, got);
		if (want != got || msec != ksec) {
			snprintf(sig, sizeof sig, "op-%s-model-%s-kernel-%s", fd_op_names[op.code],
				 want < 0 ? errno_name(-want) : "fd", got < 0 ? errno_name(-got) : "fd");
			snprintf(detail, sizeof detail, "%s: model %d/%d, kernel %d/%d; program %s", fd_op_names[op.code],
				 want, msec, got, ksec, prog);
			fuzz_finding_case(TARGET, sig, data, len, detail, NULL, NO_CASE_OP);
			snapshot(&m); /* go on from what the kernel has */
			cleanup();
			return 0;
		}
	}
	/* The table after the program, flag by flag. */
	for (int fd = 0; fd < FDM_N; fd++) {
		int fl = fcntl(fd, F_GETFD);
		int k = fl < 0 ? FD_CLOSED : (fl & FD_CLOEXEC) ? FD_OPEN_CLOEXEC : FD_OPEN;
		if (k != m.st[fd]) {
			snprintf(detail, sizeof detail, "fd %d: model state %d, kernel %d; program %s", fd, m.st[fd], k, prog);
			fuzz_finding_case(TARGET, "table", data, len, detail, NULL, NO_CASE_OP);
			cleanup();
			return 0;
		}
	}
	/* The map: sources open and the program's own, destinations unique. */
	struct fd_map map[3];
	int nmap = 0;
	for (int i = 0; i < (mapn % 4); i++) {
		int src = operand(&m, (uint8_t)(mapb[2 * i] | 0x80)), dst = operand(&m, mapb[2 * i + 1] & 0x7f);
		int dup_dst = 0;
		for (int j = 0; j < nmap; j++)
			dup_dst |= map[j].dst == dst;
		if (src >= 0 && dst >= 0 && !dup_dst)
			map[nmap++] = (struct fd_map){src, dst};
	}
	const struct backend *be[2] = {avail[pair % navail], avail[(pair / 8) % navail]};
	if (be[0] == be[1])
		be[1] = avail[(pair % navail + 1) % navail];
	unsigned char got[2][FDM_N], want[2][FDM_N];
	for (int i = 0; i < 2; i++) {
		char why[256];
		int descriptor = strcmp(be[i]->name, "pdspawn") == 0;
		model_fd_child(&m, map, nmap, descriptor, want[i]);
		if (spawn_probe(be[i], map, nmap, got[i], why, sizeof why) < 0) {
			snprintf(detail, sizeof detail, "%s; program %s", why, prog);
			snprintf(sig, sizeof sig, "spawn-%s", be[i]->name);
			snprintf(key, sizeof key, "%s-%s", TARGET, sig);
			case_text(ctext, sizeof ctext, key, be[i], map, nmap, want[i]);
			fuzz_finding_case(TARGET, sig, data, len, detail, ctext, NULL);
			continue;
		}
		if (getenv("SPAWNLAB_FUZZ_VERBOSE")) {
			char ws[512], gs[512];
			fdset_str(want[i], ws, sizeof ws);
			fdset_str(got[i], gs, sizeof gs);
			fprintf(stderr, "%s: model %s kernel %s; program %s\n", be[i]->name, ws, gs, prog);
		}
		if (memcmp(got[i], want[i], FDM_N) != 0) {
			char ws[512], gs[512];
			fdset_str(want[i], ws, sizeof ws);
			fdset_str(got[i], gs, sizeof gs);
			snprintf(sig, sizeof sig, "inherit-%s", be[i]->name);
			snprintf(key, sizeof key, "%s-%s", TARGET, sig);
			case_text(ctext, sizeof ctext, key, be[i], map, nmap, want[i]);
			snprintf(detail, sizeof detail, "%s child fds: model %s, kernel %s; map %d entries; program %s",
				 be[i]->name, ws, gs, nmap, prog);
			fuzz_finding_case(TARGET, sig, data, len, detail, ctext, NULL);
		}
	}
	cleanup();
	return 0;
}
