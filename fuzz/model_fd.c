/* model_fd.c: see model_fd.h.  Sources, each rule at its use:
 * open(2), pipe(2), socketpair(2), eventfd(2), memfd_create(2),
 * epoll_create(2), pidfd_open(2), dup(2), fcntl(2), ioctl_fionbio/FIOCLEX
 * (ioctl(2) generic requests), close(2), close_range(2), execve(2); the
 * order of the EINVAL/EBADF checks is fs/file.c (ksys_dup3, close_range). */
#include "model_fd.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>

const char *const fd_op_names[FOP_COUNT] = {
	"open", "pipe2", "socketpair", "eventfd", "memfd_create", "epoll_create1", "pidfd_open",
	"dup", "dup2", "dup3", "fcntl_dupfd", "fcntl_setfd", "fioclex", "fionclex", "close", "close_range",
};

/* "The file descriptor returned by a successful call will be the
 * lowest-numbered file descriptor not currently open" (open(2); dup(2),
 * pipe(2) and the others say the same); F_DUPFD: ">= arg". */
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

static int create(struct fd_model *m, int from, int cloexec)
{
	int fd = lowest_free(m, from);
	if (fd >= 0)
		m->st[fd] = cloexec ? FD_OPEN_CLOEXEC : FD_OPEN;
	return fd;
}

int model_fd_apply(struct fd_model *m, const struct fd_op *op, int *second)
{
	int a = op->a, b = op->b;
	*second = -1;
	switch (op->code) {
	case FOP_OPEN:     /* O_CLOEXEC */
	case FOP_EVENTFD:  /* EFD_CLOEXEC */
	case FOP_MEMFD:    /* MFD_CLOEXEC */
	case FOP_EPOLL:    /* EPOLL_CLOEXEC */
		return create(m, 0, op->cloexec);
	case FOP_PIPE2:      /* O_CLOEXEC "on the two new file descriptors" */
	case FOP_SOCKETPAIR: /* SOCK_CLOEXEC, both */
	{
		int r = create(m, 0, op->cloexec);
		if (r >= 0)
			*second = create(m, 0, op->cloexec);
		return r;
	}
	case FOP_PIDFD_OPEN:
		/* pidfd_open(2): "The close-on-exec flag is set on the file
		 * descriptor" (there is no flag to ask otherwise). */
		return create(m, 0, 1);
	case FOP_DUP:
		/* dup(2): "The close-on-exec flag (FD_CLOEXEC) for the
		 * duplicate descriptor is off". */
		if (!is_open(m, a))
			return -EBADF;
		return create(m, 0, 0);
	case FOP_DUP2:
		/* dup2(2): "If oldfd is a valid file descriptor, and newfd has
		 * the same value as oldfd, then dup2() does nothing, and returns
		 * newfd"; otherwise newfd is closed silently and reused. */
		if (!is_open(m, a))
			return -EBADF;
		if (a != b)
			m->st[b] = FD_OPEN;
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
		return b;
	case FOP_DUPFD:
		/* fcntl(2) F_DUPFD / F_DUPFD_CLOEXEC: lowest free >= arg. */
		if (!is_open(m, a))
			return -EBADF;
		return create(m, b, op->cloexec);
	case FOP_SETFD:
		/* fcntl(2) F_SETFD: only FD_CLOEXEC is defined; the kernel
		 * takes arg & FD_CLOEXEC (fs/fcntl.c set_close_on_exec). */
		if (!is_open(m, a))
			return -EBADF;
		m->st[a] = (op->flags & FD_CLOEXEC) ? FD_OPEN_CLOEXEC : FD_OPEN;
		return 0;
	case FOP_FIOCLEX:
	case FOP_FIONCLEX:
		/* ioctl(2) FIOCLEX / FIONCLEX: set / clear close-on-exec. */
		if (!is_open(m, a))
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
		 * CLOSE_RANGE_CLOEXEC sets the flag instead of closing; fds not
		 * open are skipped. */
		if (op->flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC))
			return -EINVAL;
		if (a > b)
			return -EINVAL;
		for (int fd = a; fd <= b && fd < FDM_N; fd++)
			if (m->st[fd] != FD_CLOSED)
				m->st[fd] = (op->flags & CLOSE_RANGE_CLOEXEC) ? FD_OPEN_CLOEXEC : FD_CLOSED;
		return 0;
	case FOP_COUNT:
		break;
	}
	return -ENOSYS;
}

void model_fd_child(const struct fd_model *m, const struct fd_map *map, int nmap, int descriptor,
		    unsigned char out[FDM_N])
{
	if (descriptor) {
		/* pdspawn.h promise 2: "The child inherits exactly the fds
		 * listed in the attribute's map ... whatever their FD_CLOEXEC
		 * bit says". */
		for (int fd = 0; fd < FDM_N; fd++)
			out[fd] = 0;
		for (int i = 0; i < nmap; i++)
			out[map[i].dst] = 1;
		return;
	}
	unsigned char t[FDM_N];
	for (int fd = 0; fd < FDM_N; fd++)
		t[fd] = m->st[fd];
	/* The backends' dup2 actions in the child, in order (backend.h). */
	for (int i = 0; i < nmap; i++)
		if (map[i].src != map[i].dst && t[map[i].src] != FD_CLOSED)
			t[map[i].dst] = FD_OPEN;
	/* execve(2): "By default, file descriptors remain open across an
	 * execve().  File descriptors that are marked close-on-exec are
	 * closed". */
	for (int fd = 0; fd < FDM_N; fd++)
		out[fd] = t[fd] == FD_OPEN;
}
