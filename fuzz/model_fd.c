/* model_fd.c: see model_fd.h.  Sources, each rule at its use:
 * dup(2), fcntl(2), ioctl(2) FIOCLEX, close(2), close_range(2), execve(2),
 * sigaction(2), sigprocmask(2), signal(7); the order of the EINVAL/EBADF
 * checks is fs/file.c (ksys_dup3, close_range).  The creating calls and
 * what each promises about close-on-exec are the fdmake table's
 * (harness/families/fd/step_fdmake.c), read through sl_fdcall_cx/sl_fdcall_pair. */
#include "model_fd.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>

#include "fuzz_util.h"
#include "families/fd/step_fdmake.h"

const char *const fd_op_names[FOP_COUNT] = {
	"fdmake", "dup", "dup2", "dup3", "fcntl_dupfd", "fcntl_setfd", "fioclex", "fionclex", "close", "close_range",
	"signal",
};

const char *const sig_act_names[SA_COUNT] = {"ignore", "default", "handle", "block", "unblock"};

/* "The file descriptor returned by a successful call will be the
 * lowest-numbered file descriptor not currently open" (open(2); dup(2)
 * says the same); F_DUPFD: ">= arg". */
static int lowest_free(const struct fd_model *m, int from)
{
	for (int fd = from < 0 ? 0 : from; fd < FDM_N; fd++)
		if (m->st[fd] == FD_CLOSED)
			return fd;
	return -EMFILE;
}

static int is_open(const struct fd_model *m, int fd)
{
	return fd >= 0 && fd < FDM_N && m->st[fd] != FD_CLOSED;
}

/* A duplicate of A (open file shared): lowest free >= FROM. */
static int dup_at(struct fd_model *m, int a, int from, int cloexec)
{
	int fd = lowest_free(m, from);
	if (fd >= 0) {
		m->st[fd] = cloexec ? FD_OPEN_CLOEXEC : FD_OPEN;
		m->opath[fd] = m->opath[a];
	}
	return fd;
}

static int signal_op(struct fd_model *m, int sig, enum sig_act act)
{
	uint64_t bit = SIGBIT(sig);
	int unchangeable = sig == SIGKILL || sig == SIGSTOP;
	switch (act) {
	case SA_IGNORE:
	case SA_DEFAULT:
	case SA_HANDLE:
		/* sigaction(2) EINVAL: "An attempt was made to change the
		 * action for SIGKILL or SIGSTOP". */
		if (unchangeable)
			return -EINVAL;
		m->ign = act == SA_IGNORE ? m->ign | bit : m->ign & ~bit;
		m->handled = act == SA_HANDLE ? m->handled | bit : m->handled & ~bit;
		return 0;
	case SA_BLOCK:
		/* sigprocmask(2): "It is not possible to block SIGKILL or
		 * SIGSTOP.  Attempts to do so are silently ignored." */
		if (!unchangeable)
			m->mask |= bit;
		return 0;
	case SA_UNBLOCK:
		m->mask &= ~bit;
		return 0;
	case SA_COUNT:
		break;
	}
	return -EINVAL;
}

int model_fd_apply(struct fd_model *m, const struct fd_op *op, int *call_cloexec)
{
	int a = op->a, b = op->b;
	*call_cloexec = -1;
	switch (op->code) {
	case FOP_MAKE: {
		/* The fdmake step (cases/README.md): the fd lands at A with
		 * FD_CLOEXEC as asked whatever the call's kind (a call without
		 * an option gets fcntl(F_SETFD) after it, one that always sets
		 * the flag gets it cleared); a pair's second end goes to B or
		 * is closed; nothing else changes.  The call itself leaves the
		 * flag as its kind says: its option (CX_FLAG), clear (CX_NONE),
		 * set (CX_ALWAYS; e.g. pidfd_open(2): "The close-on-exec flag
		 * is set on the file descriptor"). */
		enum sl_fdcx cx = sl_fdcall_cx((size_t)op->call);
		unsigned char st = op->cloexec ? FD_OPEN_CLOEXEC : FD_OPEN;
		*call_cloexec = cx == CX_FLAG ? !!op->cloexec : cx == CX_ALWAYS;
		m->st[a] = st;
		m->opath[a] = (unsigned char)sl_fdcall_opath((size_t)op->call);
		if (sl_fdcall_pair((size_t)op->call) && b >= 0) {
			m->st[b] = st;
			m->opath[b] = 0;
		}
		return 0;
	}
	case FOP_DUP:
		/* dup(2): "The close-on-exec flag (FD_CLOEXEC) for the
		 * duplicate descriptor is off". */
		if (!is_open(m, a))
			return -EBADF;
		return dup_at(m, a, 0, 0);
	case FOP_DUP2:
		/* dup2(2): "If oldfd is a valid file descriptor, and newfd has
		 * the same value as oldfd, then dup2() does nothing, and returns
		 * newfd"; otherwise newfd is closed silently and reused. */
		if (!is_open(m, a))
			return -EBADF;
		if (a != b) {
			m->st[b] = FD_OPEN;
			m->opath[b] = m->opath[a];
		}
		return b;
	case FOP_DUP3:
		/* dup3(2): EINVAL for flags other than O_CLOEXEC, then for
		 * oldfd == newfd (fs/file.c ksys_dup3 checks in this order),
		 * then EBADF. */
		if (op->flags & ~O_CLOEXEC)
			return -EINVAL;
		if (a == b)
			return -EINVAL;
		if (!is_open(m, a))
			return -EBADF;
		m->st[b] = (op->flags & O_CLOEXEC) ? FD_OPEN_CLOEXEC : FD_OPEN;
		m->opath[b] = m->opath[a];
		return b;
	case FOP_DUPFD:
		/* fcntl(2) F_DUPFD / F_DUPFD_CLOEXEC: lowest free >= arg. */
		if (!is_open(m, a))
			return -EBADF;
		return dup_at(m, a, b, op->cloexec);
	case FOP_SETFD:
		/* fcntl(2) F_SETFD: only FD_CLOEXEC is defined; the kernel
		 * takes arg & FD_CLOEXEC (fs/fcntl.c set_close_on_exec). */
		if (!is_open(m, a))
			return -EBADF;
		m->st[a] = (op->flags & FD_CLOEXEC) ? FD_OPEN_CLOEXEC : FD_OPEN;
		return 0;
	case FOP_FIOCLEX:
	case FOP_FIONCLEX:
		/* ioctl(2) FIOCLEX / FIONCLEX: set / clear close-on-exec; on an
		 * O_PATH fd ioctl fails with EBADF (open(2), O_PATH). */
		if (!is_open(m, a) || m->opath[a])
			return -EBADF;
		m->st[a] = op->code == FOP_FIOCLEX ? FD_OPEN_CLOEXEC : FD_OPEN;
		return 0;
	case FOP_CLOSE:
		if (!is_open(m, a))
			return -EBADF;
		m->st[a] = FD_CLOSED;
		return 0;
	case FOP_CLOSE_RANGE:
		/* close_range(2): EINVAL for unknown flags or first > last;
		 * CLOSE_RANGE_CLOEXEC ("since Linux 5.11"; an unknown flag before)
		 * sets the flag instead of closing; fds not open are skipped. */
		if (op->flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC))
			return -EINVAL;
		if ((op->flags & CLOSE_RANGE_CLOEXEC) && m->kver && m->kver < 5011)
			return -EINVAL;
		if (a > b)
			return -EINVAL;
		for (int fd = a; fd <= b && fd < FDM_N; fd++)
			if (m->st[fd] != FD_CLOSED)
				m->st[fd] = (op->flags & CLOSE_RANGE_CLOEXEC) ? FD_OPEN_CLOEXEC : FD_CLOSED;
		return 0;
	case FOP_SIGNAL:
		return signal_op(m, a, op->sigact);
	case FOP_COUNT:
		break;
	}
	return -ENOSYS;
}

FUZZ_NO_COVERAGE void model_fd_child(const struct fd_model *m, const struct spawn_model *s, unsigned char out[FDM_N],
				      uint64_t *ign, uint64_t *mask)
{
	if (s->descriptor) {
		/* pdspawn.h promise 2: "The child inherits exactly the fds
		 * listed in the attribute's map ... whatever their FD_CLOEXEC
		 * bit says"; promise 6: "its mask is attr->sigmask (empty when
		 * NULL), the signals in attr->sigignore are SIG_IGN and every
		 * other signal is SIG_DFL ... With PDSPAWN_INHERIT_IGNORED the
		 * caller's ignored signals stay ignored". */
		for (int fd = 0; fd < FDM_N; fd++)
			out[fd] = 0;
		for (int i = 0; i < s->nmap; i++)
			out[s->map[i].dst] = 1;
		*ign = s->inherit_ignored ? m->ign : 0;
		*mask = 0;
		return;
	}
	unsigned char t[FDM_N];
	memcpy(t, m->st, FDM_N);
	/* The backends' actions in the child, in order (backend.h): dup2 of
	 * each map entry, close, closefrom. */
	for (int i = 0; i < s->nmap; i++)
		if (s->map[i].src != s->map[i].dst && t[s->map[i].src] != FD_CLOSED)
			t[s->map[i].dst] = FD_OPEN;
	for (int i = 0; i < s->nclose; i++)
		t[s->close[i]] = FD_CLOSED;
	for (int fd = s->closefrom > 0 ? s->closefrom : FDM_N; fd < FDM_N; fd++)
		t[fd] = FD_CLOSED;
	/* execve(2): "By default, file descriptors remain open across an
	 * execve().  File descriptors that are marked close-on-exec are
	 * closed"; "The dispositions of any signals that are being caught
	 * are reset to the default ... the dispositions of ignored signals
	 * are left unchanged"; "The signal mask is preserved"; fork(2):
	 * "The child inherits copies of the parent's set of open file
	 * descriptors" and its signal mask.  A libc's posix_spawn may set
	 * its own reserved signals ignored (libc_ignores, fd_combo.c). */
	for (int fd = 0; fd < FDM_N; fd++)
		out[fd] = t[fd] == FD_OPEN;
	*ign = m->ign | s->libc_ignores;
	*mask = m->mask;
}
