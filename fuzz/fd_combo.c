/* fd_combo.c (fuzz target): a short program of fd and signal operations,
 * then one spawn through one backend; the program's results, the fd table
 * and signal state it leaves, and what the child has after exec are
 * compared with model_fd.c.
 *
 * The program runs in the executor (executor.h, exec_fd.c), a small
 * long-lived process whose fd table at rest is its stdio and one control
 * socket above the window; this process decodes, predicts and compares.
 * The fd-creating calls are the fdmake step's table (harness/
 * step_fdmake.c): an op names a row by index, so a call added there is
 * fuzzed here too.  The child is spawn-observer (observer.c), which
 * reports its fds, ignored signals and mask and exits.
 *
 * What one input costs: one round trip on a socket, up to 12 calls, and
 * one spawn + exec + exit + wait of a program without a libc.  The bare
 * clone3+exit+waitid loop (bare_loop.c) makes one child per iteration and
 * execs nothing, so an input costs at least one of its iterations plus an
 * exec.
 *
 * Input: backend byte, options byte (bit 0 PDSPAWN_INHERIT_IGNORED, bits
 * 1-2 map entries, bits 3-4 close actions, bit 5 closefrom), 3 map
 * entries (2 bytes), 3 close selectors, a closefrom byte, then ops of 4
 * bytes (opcode, option, operand a, operand b); see decode_op.  An fd
 * operand byte with bit 7 set names the k-th fd the program owns;
 * otherwise a number in 3..63.  No op ever names one of the executor's
 * own fds, and no op changes SIGCHLD's disposition. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "executor_client.h"
#include "fuzz_util.h"
#include "model_fd.h"
#include "lib/names.h"
#include "families/fd/step_fdmake.h"
#include "sys/sys.h"
#include <linux/close_range.h>

#define TARGET "fd_combo"
#define HEADER 12
#define WIN_LO 3
#define WIN_HI 64
#define WAIT_MS 10000
/* A wrong return value or fd state in the spawner is not a case: set-up
 * steps fail or succeed, the case language cannot expect their results. */
#define NO_CASE_OP "not expressible as a case: the case language cannot expect a set-up call's return value or the spawner's own state; replay the .bin"

static struct exec_client ex = {.pid = -1, .fd = -1};
static int ready, usable;
static struct fd_model rest; /* the executor at rest, from its hello */

/* Backend traits the model needs, by the names backends.c gives them. */
static const char *const descriptor_backends[] = {"pdspawn", NULL};
/* glibc's posix_spawn child sets the libc's own signals 32 and 33 to
 * SIG_IGN before execve (sysdeps/unix/sysv/linux/spawni.c __spawni_child,
 * is_internal_signal); spawnlab records it as a finding
 * (cases/libc/posix_spawn.case reserved_signals_default_in_program), so
 * the model expects it rather than finding it again.  musl does not. */
static const char *const glibc_spawn_backends[] = {"posix_spawn", "pidfd_spawn", NULL};

static int named(const char *name, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(name, *list) == 0)
			return 1;
	return 0;
}

static void setup(void)
{
	ready = 1;
	usable = exec_start(&ex, EXEC_FD) == 0 && ex.hello.nbackends > 0 && ex.hello.ncalls > 0;
	for (int fd = 0; fd < FDM_N; fd++)
		rest.st[fd] = ex.hello.baseline[fd];
	struct utsname u;
	int major = 0, minor = 0;
	if (uname(&u) == 0 && sscanf(u.release, "%d.%d", &major, &minor) == 2)
		rest.kver = major * 1000 + minor;
	if (!usable)
		fuzz_note(TARGET, "no executor or no backend: every input is skipped");
}

struct prog {
	struct fd_model m;       /* the model after the ops decoded so far */
	struct exec_fd_req q;    /* what the executor runs */
	int want[EXEC_MAX_OPS];  /* the model's return value per op */
	int want_cx[EXEC_MAX_OPS];
	int skipped_unsupported; /* fdmake ops dropped: the call is refused here */
	char unsupported[256];   /* their names */
	uint32_t backend;        /* the backend the input names, available or not */
};

/* Resolve an operand byte to an fd number, or -1: bit 7 set, the k-th fd
 * the program owns; else a number of the window, unless the executor's. */
FUZZ_NO_COVERAGE static int operand(const struct fd_model *m, uint8_t v)
{
	const uint8_t *base = ex.hello.baseline;
	if (v & 0x80) {
		uint64_t own[2] = {0, 0};
		for (int w = 0; w < 2; w++)
			for (int i = 0; i < 64; i++)
				own[w] |= (uint64_t)(m->st[64 * w + i] != FD_CLOSED && !base[64 * w + i]) << i;
		int n0 = __builtin_popcountll(own[0]), n = n0 + __builtin_popcountll(own[1]);
		if (!n)
			return -1;
		int k = (v & 0x7f) % n, w = k >= n0;
		uint64_t x = own[w];
		for (k -= w ? n0 : 0; k > 0; k--)
			x &= x - 1;
		return 64 * w + __builtin_ctzll(x);
	}
	int fd = WIN_LO + v % (WIN_HI - WIN_LO);
	return base[fd] ? -1 : fd;
}

/* Signals a handler may not be put on: the libc's reserved ones (its
 * sigaction refuses them) and the synchronous ones (a no-op handler would
 * loop on a fault of the executor). */
static int no_handler(int sig)
{
	return (sig >= 32 && sig <= 34) || sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL ||
	       sig == SIGTRAP || sig == SIGSYS || sig == SIGABRT;
}

/* Decode one op into P; 0 when the bytes make no op here. */
static int decode_op(struct fz *f, struct prog *p, struct fd_op *op)
{
	uint8_t code = fz_u8(f), opt = fz_u8(f), a = fz_u8(f), b = fz_u8(f);
	const struct fd_model *m = &p->m;
	memset(op, 0, sizeof *op);
	op->code = (enum fd_opcode)(code % FOP_COUNT);
	op->cloexec = opt & 1;
	switch (op->code) {
	case FOP_MAKE: {
		size_t n = ex.hello.ncalls;
		op->call = (int)((opt >> 1) % n);
		op->a = operand(m, a);
		op->b = sl_fdcall_pair((size_t)op->call) && !(b & 0x40) ? operand(m, b) : -1;
		if (op->b == op->a)
			op->b = -1;
		if (op->a >= 0 && !ex.hello.call_ok[op->call]) {
			size_t u = strlen(p->unsupported);
			snprintf(p->unsupported + u, sizeof p->unsupported - u, "%s%s", u ? "," : "",
				 sl_fdcall_name((size_t)op->call));
			p->skipped_unsupported++;
			return 0;
		}
		return op->a >= 0;
	}
	case FOP_SIGNAL:
		op->a = 1 + a % 64;
		op->sigact = (enum sig_act)(opt % SA_COUNT);
		if (op->sigact <= SA_HANDLE && op->a == SIGCHLD)
			return 0;
		return !(op->sigact == SA_HANDLE && no_handler(op->a));
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
			if (fd < FDM_N && ex.hello.baseline[fd])
				return 0; /* never close or mark the executor's own fds */
		return 1;
	default:
		return 1;
	}
}

static void decode(struct fz *f, struct prog *p)
{
	memset(p, 0, sizeof *p);
	p->m = rest;
	uint8_t hdr[HEADER];
	for (int i = 0; i < HEADER; i++)
		hdr[i] = fz_u8(f);
	while (p->q.nops < EXEC_MAX_OPS && fz_more(f)) {
		struct fd_op op;
		if (!decode_op(f, p, &op))
			continue;
		int k = (int)p->q.nops++;
		p->q.ops[k] = op;
		p->want[k] = model_fd_apply(&p->m, &op, &p->want_cx[k]);
	}
	/* The backend by its place in the whole table, so that an input is
	 * the same program wherever the same backends exist; one not available
	 * here gives way to the next available one (the outcome says so), so
	 * that every input spawns: an input that spawned nothing would be
	 * cheaper, and an engine would learn to prefer it. */
	p->backend = hdr[0] % ex.hello.nbackends;
	p->q.backend = EXEC_NO_SPAWN;
	for (uint32_t k = 0; k < ex.hello.nbackends && p->q.backend == EXEC_NO_SPAWN; k++)
		if (ex.hello.backend_ok[(p->backend + k) % ex.hello.nbackends])
			p->q.backend = (p->backend + k) % ex.hello.nbackends;
	p->q.inherit_ignored = hdr[1] & 1;
	/* The map: sources the program's own and open, destinations unique. */
	for (int i = 0; i < ((hdr[1] >> 1) & 3) && i < EXEC_MAX_MAP; i++) {
		int src = operand(&p->m, (uint8_t)(hdr[2 + 2 * i] | 0x80)), dst = operand(&p->m, hdr[3 + 2 * i] & 0x7f);
		int dup_dst = 0;
		for (uint32_t j = 0; j < p->q.nmap; j++)
			dup_dst |= p->q.map[j].dst == dst;
		if (src >= 0 && dst >= 0 && !dup_dst)
			p->q.map[p->q.nmap++] = (struct fd_map){src, dst};
	}
	/* close actions: fds the child has after the map, never the stdio */
	unsigned char vis[FDM_N];
	for (int fd = 0; fd < FDM_N; fd++)
		vis[fd] = p->m.st[fd] != FD_CLOSED && !ex.hello.baseline[fd];
	for (uint32_t i = 0; i < p->q.nmap; i++)
		vis[p->q.map[i].dst] = 1;
	int cand[FDM_N], nc = 0;
	for (int fd = 0; fd < FDM_N; fd++)
		if (vis[fd])
			cand[nc++] = fd;
	for (int i = 0; i < ((hdr[1] >> 3) & 3) && nc > 0; i++) {
		int fd = cand[hdr[8 + i] % nc], seen = 0;
		for (uint32_t j = 0; j < p->q.nclose; j++)
			seen |= p->q.close[j] == fd;
		if (!seen)
			p->q.close[p->q.nclose++] = fd;
	}
	if (hdr[1] & 0x20)
		p->q.closefrom = WIN_LO + hdr[11] % (WIN_HI - WIN_LO);
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

/* Signals as the probe names them (harness/probe/probe.c put_siglist). */
static void sigset_str(uint64_t set, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = 0;
	for (int s = 1; s <= 64 && o + 16 < len; s++)
		if ((set & SIGBIT(s)) && s != SIGKILL && s != SIGSTOP) {
			const char *n = sig_name(s);
			o += (size_t)(n ? snprintf(buf + o, len - o, "%s%s", o ? "," : "", n)
					: snprintf(buf + o, len - o, "%sSIG%d", o ? "," : "", s));
		}
	if (!o)
		snprintf(buf, len, "none");
}

static const char *rname(int r)
{
	static char b[4][16];
	static int k;
	k = (k + 1) % 4;
	if (r < 0)
		return errno_name(-r);
	snprintf(b[k], sizeof b[k], "%d", r);
	return b[k];
}

static void prog_str(const struct prog *p, const struct exec_fd_res *a, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = 0;
	for (uint32_t i = 0; i < p->q.nops && o + 96 < len; i++) {
		const struct fd_op *op = &p->q.ops[i];
		if (op->code == FOP_MAKE)
			o += (size_t)snprintf(buf + o, len - o, "fdmake(%s,%d,%d,cloexec=%d)=%s ", sl_fdcall_name((size_t)op->call),
					      op->a, op->b, op->cloexec, rname(a->ret[i]));
		else if (op->code == FOP_SIGNAL)
			o += (size_t)snprintf(buf + o, len - o, "%s(%d)=%s ", sig_act_names[op->sigact], op->a,
					      rname(a->ret[i]));
		else
			o += (size_t)snprintf(buf + o, len - o, "%s(%d,%d,%#x,%d)=%s ", fd_op_names[op->code], op->a, op->b,
					      op->flags, op->cloexec, rname(a->ret[i]));
	}
}

/* ---- the program as a case (cases/README.md), where it can be one ---- */

/* One set-up line for op I, or "" when it changed nothing (failed); -1
 * when the case language cannot say it. */
static int step_line(const struct fd_op *op, int got, char *l, size_t len)
{
	const char *yn[2] = {"no", "yes"};
	static const char *const act[SA_COUNT] = {"ignore", "default", "handle"};
	l[0] = 0;
	if (got < 0)
		return 0;
	switch (op->code) {
	case FOP_MAKE: {
		int n = snprintf(l, len, "setup   fdmake call=%s fd=%d cloexec=%s", sl_fdcall_name((size_t)op->call), op->a,
				 yn[op->cloexec]);
		if (op->b >= 0 && sl_fdcall_pair((size_t)op->call))
			snprintf(l + n, len - (size_t)n, " fd2=%d", op->b);
		return 0;
	}
	case FOP_DUP: snprintf(l, len, "setup   dup from=%d to=%d", op->a, got); return 0;
	case FOP_DUP2:
		if (op->a != op->b) /* dup2(fd, fd) changes nothing */
			snprintf(l, len, "setup   dup from=%d to=%d", op->a, op->b);
		return 0;
	case FOP_DUP3:
		snprintf(l, len, "setup   dup from=%d to=%d cloexec=%s", op->a, op->b, yn[!!(op->flags & O_CLOEXEC)]);
		return 0;
	case FOP_DUPFD: snprintf(l, len, "setup   dup from=%d to=%d cloexec=%s", op->a, got, yn[op->cloexec]); return 0;
	case FOP_SETFD: snprintf(l, len, "setup   fdflag fd=%d cloexec=%s", op->a, yn[!!(op->flags & FD_CLOEXEC)]); return 0;
	case FOP_FIOCLEX: snprintf(l, len, "setup   fdioctl fd=%d cloexec=yes", op->a); return 0;
	case FOP_FIONCLEX: snprintf(l, len, "setup   fdioctl fd=%d cloexec=no", op->a); return 0;
	case FOP_CLOSE: snprintf(l, len, "setup   close fd=%d", op->a); return 0;
	case FOP_CLOSE_RANGE:
		snprintf(l, len, "setup   closerange first=%d last=%d flags=%s", op->a, op->b,
			 op->flags & CLOSE_RANGE_CLOEXEC ? "cloexec" : "none");
		return 0;
	case FOP_SIGNAL:
		/* The case's signal steps go through the libc, which refuses
		 * or drops its reserved signals. */
		if (op->a >= 32 && op->a <= 34)
			return -1;
		if (op->sigact <= SA_HANDLE)
			snprintf(l, len, "setup   signal sig=%d action=%s", op->a, act[op->sigact]);
		else
			snprintf(l, len, "setup   %s sig=%d", op->sigact == SA_BLOCK ? "block" : "unblock", op->a);
		return 0;
	case FOP_COUNT: break;
	}
	return -1;
}

/* A case for BE's child that expects what the model expects of WHAT
 * ("fds", "sigignored", "sigmask"), and always the model's fds too: the
 * positive control, which a probe that reported nothing cannot pass (a
 * missing observation fails; pdspawn's empty table reads "none", as in
 * cases/exec/fds.case no_stdio).  Returns NULL, or why the case language
 * cannot say it. */
static const char *case_text(char *buf, size_t len, const char *key, const char *be, const struct prog *p,
			     const struct exec_fd_res *a, const char *what, const char *want,
			     const unsigned char fds[FDM_N])
{
	char steps[4096] = "", l[160];
	size_t o = 0;
	if (p->q.inherit_ignored && named(be, descriptor_backends))
		return "PDSPAWN_INHERIT_IGNORED has no spelling in the case language; replay the .bin";
	for (uint32_t i = 0; i < p->q.nops; i++) {
		if (step_line(&p->q.ops[i], a->ret[i], l, sizeof l) < 0)
			return "a signal step on the libc's reserved signals has no spelling in the case language; replay the .bin";
		if (l[0] && o + strlen(l) + 2 < sizeof steps)
			o += (size_t)snprintf(steps + o, sizeof steps - o, "%s\n", l);
	}
	char sp[256] = "spawn";
	size_t so = strlen(sp);
	for (uint32_t i = 0; i < p->q.nmap; i++)
		so += (size_t)snprintf(sp + so, sizeof sp - so, "%s%d:%d", i ? "," : "   map=", p->q.map[i].src,
				       p->q.map[i].dst);
	/* pdspawn as the fuzzer ran it: its map is the whole table */
	if (named(be, descriptor_backends))
		so += (size_t)snprintf(sp + so, sizeof sp - so, " stdio=no");
	for (uint32_t i = 0; i < p->q.nclose; i++)
		so += (size_t)snprintf(sp + so, sizeof sp - so, "%s%d", i ? "," : " close=", p->q.close[i]);
	if (p->q.closefrom)
		snprintf(sp + so, sizeof sp - so, " closefrom=%d", p->q.closefrom);
	char fl[512], extra[600] = "";
	fdset_str(fds, fl, sizeof fl);
	if (strcmp(what, "fds") != 0)
		snprintf(extra, sizeof extra, "expect  %s = %s\n", what, want);
	snprintf(buf, len,
		 "# Written by fuzz/fd_combo for the finding %s (the .json beside it).\n"
		 "# The expectation is the model's (fuzz/model_fd.c); the run found otherwise.\n"
		 "case    %s\n"
		 "desc    fd_combo finding: the %s child's %s after this program differ from the model\n"
		 "source  execve(2): fds without FD_CLOEXEC stay open, ignored signals stay ignored, the mask is kept\n"
		 "source  fuzz/model_fd.c (model_fd_child); harness/pdspawn.h promises 2 and 6\n"
		 "backends %s\n%s%s\n"
		 "expect  fds = %s\n%s",
		 key, key, be, what, be, steps, sp, fl, extra);
	return NULL;
}

/* ---- comparing ---- */

static void finding_child(const char *kind, const char *be, const struct prog *p, const struct exec_fd_res *a,
			  const char *what, const char *want, const char *got, const unsigned char fds[FDM_N],
			  const char *prog, const uint8_t *data, size_t len)
{
	char sig[96], key[160], detail[4096], ctext[8192];
	snprintf(sig, sizeof sig, "%s-%s", kind, be);
	snprintf(key, sizeof key, "%s-%s", TARGET, sig);
	snprintf(detail, sizeof detail, "%s child %s: model %s, kernel %s; map %u, close %u, closefrom %d%s; program %s",
		 be, what, want, got, p->q.nmap, p->q.nclose, p->q.closefrom,
		 p->q.inherit_ignored ? ", PDSPAWN_INHERIT_IGNORED" : "", prog);
	const char *no = case_text(ctext, sizeof ctext, key, be, p, a, what, want, fds);
	fuzz_finding_case(TARGET, sig, data, len, detail, no ? NULL : ctext, no);
}

static void compare(const struct prog *p, const struct exec_fd_res *a, const uint8_t *data, size_t len)
{
	/* The program in words, made only when something is reported. */
#define PROG (prog[0] ? prog : (prog_str(p, a, prog, sizeof prog), prog))
	char prog[2048] = "", detail[4096], sig[128];
	for (uint32_t i = 0; i < p->q.nops; i++) {
		const struct fd_op *op = &p->q.ops[i];
		const char *name = op->code == FOP_MAKE ? sl_fdcall_name((size_t)op->call) : fd_op_names[op->code];
		if (a->ret[i] != p->want[i]) {
			snprintf(sig, sizeof sig, "op-%s-model-%s-kernel-%s", name,
				 p->want[i] < 0 ? errno_name(-p->want[i]) : "ok", a->ret[i] < 0 ? errno_name(-a->ret[i]) : "ok");
			snprintf(detail, sizeof detail, "op %u %s: model %d, kernel %d; program %s", i, name, p->want[i],
				 a->ret[i], PROG);
			fuzz_finding_case(TARGET, sig, data, len, detail, NULL, NO_CASE_OP);
			return; /* the model's table is no longer the kernel's */
		}
		if (a->call_cloexec[i] != p->want_cx[i]) {
			snprintf(sig, sizeof sig, "op-%s-cloexec", name);
			snprintf(detail, sizeof detail,
				 "op %u %s (cloexec option %s): model leaves FD_CLOEXEC %d, the call left %d; program %s", i,
				 name, op->cloexec ? "given" : "not given", p->want_cx[i], a->call_cloexec[i], PROG);
			fuzz_finding_case(TARGET, sig, data, len, detail, NULL, NO_CASE_OP);
			return;
		}
	}
	for (int fd = 0; memcmp(a->table, p->m.st, FDM_N) != 0 && fd < FDM_N; fd++)
		if (a->table[fd] != p->m.st[fd]) {
			snprintf(detail, sizeof detail, "fd %d: model state %d, kernel %d (0 closed, 1 open, 2 cloexec); program %s",
				 fd, p->m.st[fd], a->table[fd], PROG);
			fuzz_finding_case(TARGET, "table", data, len, detail, NULL, NO_CASE_OP);
			return;
		}
	if (a->ign != p->m.ign || a->handled != p->m.handled || a->mask != p->m.mask) {
		snprintf(detail, sizeof detail,
			 "signal state: model ignored %#llx handled %#llx mask %#llx, kernel %#llx %#llx %#llx; program %s",
			 (unsigned long long)p->m.ign, (unsigned long long)p->m.handled, (unsigned long long)p->m.mask,
			 (unsigned long long)a->ign, (unsigned long long)a->handled, (unsigned long long)a->mask, PROG);
		fuzz_finding_case(TARGET, "sigstate", data, len, detail, NULL, NO_CASE_OP);
		return;
	}
	if (p->q.backend == EXEC_NO_SPAWN)
		return;
	const char *be = ex.hello.backends[p->q.backend];
	if (a->spawn == SPAWN_HARNESS) {
		char note[256];
		snprintf(note, sizeof note, "%s (not a finding)", a->why);
		fuzz_note(TARGET, note);
		return;
	}
	struct spawn_model sm = {named(be, descriptor_backends), (int)p->q.inherit_ignored,
				 ex.hello.glibc && named(be, glibc_spawn_backends) ? SIGBIT(32) | SIGBIT(33) : 0,
				 p->q.map, (int)p->q.nmap, p->q.close, (int)p->q.nclose, p->q.closefrom};
	unsigned char want[FDM_N];
	uint64_t wign, wmask;
	model_fd_child(&p->m, &sm, want, &wign, &wmask);
	char ws[1024], gs[1024];
	if (a->spawn != SPAWN_OK) {
		snprintf(sig, sizeof sig, "spawn-%s", be);
		snprintf(detail, sizeof detail, "%s; program %s", a->why, PROG);
		fuzz_finding_case(TARGET, sig, data, len, detail, NULL,
				  "the spawn itself failed: replay the .bin (the case language has no expectation on set-up)");
		return;
	}
	if (memcmp(a->child_fds, want, FDM_N) != 0) {
		fdset_str(want, ws, sizeof ws);
		fdset_str(a->child_fds, gs, sizeof gs);
		finding_child("inherit", be, p, a, "fds", ws, gs, want, PROG, data, len);
	}
	if (a->child_ign != wign) {
		sigset_str(wign, ws, sizeof ws);
		sigset_str(a->child_ign, gs, sizeof gs);
		finding_child("sigignored", be, p, a, "sigignored", ws, gs, want, PROG, data, len);
	}
	if (a->child_mask != wmask) {
		sigset_str(wmask, ws, sizeof ws);
		sigset_str(a->child_mask, gs, sizeof gs);
		finding_child("sigmask", be, p, a, "sigmask", ws, gs, want, PROG, data, len);
	}
	if (fuzz_verbose()) {
		fdset_str(want, ws, sizeof ws);
		fdset_str(a->child_fds, gs, sizeof gs);
		fprintf(stderr, "%s: model %s kernel %s; program %s\n", be, ws, gs, PROG);
	}
}
#undef PROG

/* What this kernel did, for the cross-kernel replay: every op's result,
 * and what the child saw. */
static void outcome(const struct prog *p, const struct exec_fd_res *a)
{
	if (!fuzz_outcomes_on())
		return;
	char ops[2048] = "", fds[512];
	size_t o = 0;
	for (uint32_t i = 0; i < p->q.nops && o + 64 < sizeof ops; i++) {
		const struct fd_op *op = &p->q.ops[i];
		const char *name = op->code == FOP_MAKE ? sl_fdcall_name((size_t)op->call)
				   : op->code == FOP_SIGNAL ? sig_act_names[op->sigact]
							    : fd_op_names[op->code];
		o += (size_t)snprintf(ops + o, sizeof ops - o, "%s%s%s=%s%s", i ? "," : "", op->code == FOP_CLOSE_RANGE &&
				      (op->flags & CLOSE_RANGE_CLOEXEC) ? "cloexec_" : "", name, rname(a->ret[i]),
				      a->call_cloexec[i] == 1 ? "+ce" : "");
	}
	fdset_str(a->child_fds, fds, sizeof fds);
	int none = p->q.backend == EXEC_NO_SPAWN;
	char be[64];
	if (none || p->q.backend != p->backend)
		snprintf(be, sizeof be, "%s(%s unavailable)", none ? "none" : ex.hello.backends[p->q.backend],
			 ex.hello.backends[p->backend]);
	else
		snprintf(be, sizeof be, "%s", ex.hello.backends[p->backend]);
	fuzz_outcome("backend=%s unsupported=%s ops=%s spawn=%s fds=%s ign=%#llx mask=%#llx", be,
		     p->skipped_unsupported ? p->unsupported : "none", o ? ops : "none",
		     none ? "-" : a->spawn == SPAWN_OK ? "ok" : rname(-a->spawn_err), a->spawn == SPAWN_OK ? fds : "-",
		     (unsigned long long)a->child_ign, (unsigned long long)a->child_mask);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	if (!ready)
		setup();
	if (!usable)
		return 0;
	static struct prog p;
	static struct exec_fd_res a;
	struct fz f = {data, len, 0};
	decode(&f, &p);
	int death;
	if (exec_call(&ex, &p.q, sizeof p.q, &a, sizeof a, WAIT_MS, &death) < 0) {
		char note[128];
		snprintf(note, sizeof note, "the executor died (signal %d) or hung: input skipped", death);
		fuzz_note(TARGET, note);
		return 0;
	}
	outcome(&p, &a);
	compare(&p, &a, data, len);
	return 0;
}
