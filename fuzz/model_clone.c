/* model_clone.c: the clone3/clone model.  Each rule cites where it comes
 * from; the order of the checks is the kernel's, because when a request
 * breaks two rules the first check decides the errno:
 *   1. copy_clone_args_from_user (kernel/fork.c): size, set_tid, exit
 *      signal, cgroup index  [clone3 only]
 *   2. clone3_args_valid: unknown flags, CSIGNAL/CLONE_DETACHED bits,
 *      CLONE_CLEAR_SIGHAND with CLONE_SIGHAND, exit signal with
 *      CLONE_THREAD/CLONE_PARENT, the stack  [clone3 only]
 *   3. kernel_clone: CLONE_PIDFD with CLONE_PARENT_SETTID on one pointer
 *   4. copy_process: the flag combinations, then namespaces
 *      (copy_namespaces), set_tid (alloc_pid), the pidfd store (put_user),
 *      the cgroup (cgroup_can_fork).
 * Citations are to Linux 6.x and 7.x kernel/fork.c and to clone(2)
 * (man-pages 6.x, ERRORS).  Rules that changed between kernels carry the
 * version they changed in and follow the running kernel (env->kver), so
 * that a replay on an older or newer kernel gives no false findings.
 * Where a rule depends on state the model does not track, it answers
 * MODEL_UNKNOWN and only the clone/clone3 comparison applies. */
#include "model_clone.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>

#include "sys/sys.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#define M_CLEAR_SIGHAND 0x100000000ULL
#define M_INTO_CGROUP 0x200000000ULL
/* Linux 7.1 (include/uapi/linux/sched.h of Debian's linux-libc-dev 7.2):
 * bits 34 to 37. */
#define M_AUTOREAP (1ULL << 34)
#define M_NNP (1ULL << 35)
#define M_PIDFD_AUTOKILL (1ULL << 36)
#define M_EMPTY_MNTNS (1ULL << 37)
#define M_V71_FLAGS (M_AUTOREAP | M_NNP | M_PIDFD_AUTOKILL | M_EMPTY_MNTNS)
#define KV(a, b) ((a) * 1000 + (b))
#define M_CSIGNAL 0xffULL
#define M_DETACHED 0x00400000ULL
#define M_LEGACY 0xffffffffULL
#define M_MAX_PID_NS_LEVEL 32
#define M_NSIG 64
#define M_PAGE 4096
#define NS_FLAGS (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP | CLONE_NEWTIME)

#define HAS(f, x) (((f) & (uint64_t)(x)) == (uint64_t)(x))

/* copy_process's checks, shared by both calls.  LEGACY: the request came
 * through clone(2) (exit signal in the flags, no set_tid, no cgroup). */
static int copy_process_rules(uint64_t f, const struct clone_req *r, const struct clone_env *e, int legacy,
			      int pid_in_use[4], const char **why)
{
	/* clone(2) EINVAL: "Both CLONE_FS and CLONE_NEWNS were specified". */
	if (HAS(f, CLONE_NEWNS | CLONE_FS))
		return *why = "CLONE_NEWNS with CLONE_FS", EINVAL;
	/* clone(2) EINVAL: "Both CLONE_NEWUSER and CLONE_FS were specified". */
	if (HAS(f, CLONE_NEWUSER | CLONE_FS))
		return *why = "CLONE_NEWUSER with CLONE_FS", EINVAL;
	/* clone(2) EINVAL: "CLONE_THREAD was specified, but CLONE_SIGHAND was not". */
	if ((f & CLONE_THREAD) && !(f & CLONE_SIGHAND))
		return *why = "CLONE_THREAD without CLONE_SIGHAND", EINVAL;
	/* clone(2) EINVAL: "CLONE_SIGHAND was specified, but CLONE_VM was not". */
	if ((f & CLONE_SIGHAND) && !(f & CLONE_VM))
		return *why = "CLONE_SIGHAND without CLONE_VM", EINVAL;
	/* fork.c: CLONE_THREAD with CLONE_NEWUSER or CLONE_NEWPID (a thread
	 * cannot live in another pid or user namespace than its group). */
	if ((f & CLONE_THREAD) && (f & (CLONE_NEWUSER | CLONE_NEWPID)))
		return *why = "CLONE_THREAD with CLONE_NEWUSER/CLONE_NEWPID", EINVAL;
	/* fork.c: CLONE_PIDFD with CLONE_DETACHED (clone(2) EINVAL:
	 * "CLONE_PIDFD was specified together with CLONE_DETACHED").  Before
	 * 6.9 CLONE_THREAD too ("CLONE_THREAD is blocked until someone really
	 * needs it"); since 6.9 it makes a thread pidfd (PIDFD_THREAD). */
	if ((f & CLONE_PIDFD) && (f & M_DETACHED))
		return *why = "CLONE_PIDFD with CLONE_DETACHED", EINVAL;
	if ((f & CLONE_PIDFD) && (f & CLONE_THREAD) && e->kver && e->kver < KV(6, 9))
		return *why = "CLONE_PIDFD with CLONE_THREAD before Linux 6.9", EINVAL;
	/* Linux 7.1 copy_process: CLONE_AUTOREAP refuses CLONE_THREAD,
	 * CLONE_PARENT and an exit signal; CLONE_NNP refuses CLONE_THREAD
	 * ("threads share credentials"); CLONE_PIDFD_AUTOKILL needs
	 * CLONE_PIDFD and CLONE_AUTOREAP, refuses CLONE_THREAD, and without
	 * CLONE_NNP needs CAP_SYS_ADMIN (EPERM).  Only clone3 has these bits. */
	if (f & M_AUTOREAP) {
		if (f & (CLONE_THREAD | CLONE_PARENT))
			return *why = "CLONE_AUTOREAP with CLONE_THREAD or CLONE_PARENT", EINVAL;
		if (r->exit_signal)
			return *why = "CLONE_AUTOREAP with an exit signal", EINVAL;
	}
	if ((f & M_NNP) && (f & CLONE_THREAD))
		return *why = "CLONE_NNP with CLONE_THREAD", EINVAL;
	if (f & M_PIDFD_AUTOKILL) {
		if (!(f & CLONE_PIDFD) || !(f & M_AUTOREAP) || (f & CLONE_THREAD))
			return *why = "CLONE_PIDFD_AUTOKILL without CLONE_PIDFD and CLONE_AUTOREAP, or with CLONE_THREAD",
			       EINVAL;
		if (!(f & M_NNP) && !e->privileged)
			return *why = "CLONE_PIDFD_AUTOKILL without CLONE_NNP or CAP_SYS_ADMIN", EPERM;
	}
	/* copy_namespaces (kernel/nsproxy.c): namespace flags need
	 * CAP_SYS_ADMIN, unless CLONE_NEWUSER makes the child privileged in
	 * its new user namespace (clone(2) EPERM). */
	if ((f & NS_FLAGS) && !e->privileged && !(f & CLONE_NEWUSER))
		return *why = "namespace flag without CAP_SYS_ADMIN", EPERM;
	/* nsproxy.c: "CLONE_NEWIPC must detach from the undolist" (clone(2)
	 * EINVAL: "Both CLONE_NEWIPC and CLONE_SYSVSEM were specified"). */
	if (HAS(f, CLONE_NEWIPC | CLONE_SYSVSEM))
		return *why = "CLONE_NEWIPC with CLONE_SYSVSEM", EINVAL;
	if (!legacy && r->set_tid_size) {
		/* alloc_pid (kernel/pid.c): one entry per level of the child's
		 * pid namespace at most; each in 1..pid_max-1; a level without
		 * an init (a new pid namespace) takes only 1; EEXIST when used. */
		int child_level = e->ns_level + !!(f & CLONE_NEWPID);
		if (r->set_tid_size > (uint64_t)child_level + 1)
			return *why = "set_tid_size larger than the pid namespace depth", EINVAL;
		if (r->set_tid_size > 4)
			return *why = "set_tid beyond the modelled entries", MODEL_UNKNOWN;
		for (uint64_t i = 0; i < r->set_tid_size; i++) {
			int tid = r->set_tid[i];
			if (tid < 1 || tid >= e->pid_max)
				return *why = "set_tid entry out of 1..pid_max-1", EINVAL;
			if (i == 0 && (f & CLONE_NEWPID) && tid != 1)
				return *why = "set_tid[0] != 1 in a new pid namespace", EINVAL;
			if (!e->privileged)
				return *why = "set_tid without CAP_CHECKPOINT_RESTORE", EPERM;
			/* set_tid[0] is the child's own namespace; which pids are
			 * in use is known for ours only, not for outer ones. */
			uint64_t own = (f & CLONE_NEWPID) ? 1 : 0;
			if (i > own)
				return *why = "set_tid in an outer namespace", MODEL_UNKNOWN;
			if (i == own && pid_in_use[i])
				return *why = "set_tid names a pid in use", EEXIST;
		}
	}
	/* copy_process: put_user(pidfd, args->pidfd) fails on NULL. */
	if ((f & CLONE_PIDFD) && r->pidfd_null)
		return *why = "CLONE_PIDFD with a NULL pidfd pointer", EFAULT;
	if (!legacy && (f & M_INTO_CGROUP)) {
		/* cgroup_css_set_fork (kernel/cgroup/cgroup.c): the fd must be
		 * a cgroup2 directory; a thread cannot change cgroup. */
		if (r->cgroup == CG_BADFD || r->cgroup == CG_NOT_CGROUP)
			return *why = "CLONE_INTO_CGROUP with an fd that is not a cgroup2 directory", EBADF;
		if (!e->have_cgroup2)
			return *why = "no cgroup2 here", MODEL_UNKNOWN;
		if (f & CLONE_THREAD)
			return *why = "CLONE_INTO_CGROUP with CLONE_THREAD", MODEL_UNKNOWN;
	}
	return *why = "allowed", 0;
}

int model_clone3(const struct clone_req *r, const struct clone_env *e, int pid_in_use[4], const char **why)
{
	uint64_t f = r->flags;
	/* copy_clone_args_from_user: size > PAGE_SIZE is E2BIG, below VER0
	 * EINVAL; bytes past the known struct must be zero, else E2BIG
	 * (copy_struct_from_user; clone(2) E2BIG / EINVAL "size too small"). */
	if (r->size > M_PAGE)
		return *why = "size larger than a page", E2BIG;
	if (r->size < SL_CLONE_ARGS_SIZE_VER0)
		return *why = "size smaller than CLONE_ARGS_SIZE_VER0", EINVAL;
	if (r->size > SL_CLONE_ARGS_SIZE_VER2 && r->tail_nonzero)
		return *why = "non-zero bytes past the kernel's clone_args", E2BIG;
	/* A field the size does not cover reads as zero: set_tid is at
	 * offset 64, set_tid_size at 72 (include/uapi/linux/sched.h).  A size
	 * that covers part of a field copies those bytes as they are
	 * (copy_struct_from_user): set_tid_size (< 256 here) lives in its
	 * first byte, so any size > 72 carries it; a size of 65..71 carries
	 * the low bytes of the set_tid pointer, which the model does not know. */
	uint64_t sts = r->size > 72 ? r->set_tid_size : 0;
	if (r->size > 64 && r->size < 72 && !r->set_tid_null)
		return *why = "size covers part of the set_tid pointer", MODEL_UNKNOWN;
	int stnull = r->size > 64 ? r->set_tid_null : 1;
	if (sts > M_MAX_PID_NS_LEVEL)
		return *why = "set_tid_size > MAX_PID_NS_LEVEL", EINVAL;
	if (stnull && sts > 0)
		return *why = "set_tid NULL with set_tid_size > 0", EINVAL;
	if (!stnull && sts == 0)
		return *why = "set_tid given with set_tid_size 0", EINVAL;
	/* "Verify that higher 32bits of exit_signal are unset and that it is
	 * a valid signal" (clone(2) EINVAL: exit_signal invalid, clone3). */
	if ((r->exit_signal & ~M_CSIGNAL) || r->exit_signal > M_NSIG)
		return *why = "exit_signal not a valid signal", EINVAL;
	/* The cgroup field exists from VER2 on; below it CLONE_INTO_CGROUP is
	 * EINVAL, as is an fd above INT_MAX. */
	if ((f & M_INTO_CGROUP) && (r->cgroup == CG_HUGE || r->size < SL_CLONE_ARGS_SIZE_VER2))
		return *why = "CLONE_INTO_CGROUP without VER2 or with cgroup > INT_MAX", EINVAL;
	/* clone3_args_valid: the flags this kernel knows (CLONE_CLEAR_SIGHAND
	 * 5.5, CLONE_INTO_CGROUP 5.7, bits 34-37 7.1). */
	uint64_t known = M_LEGACY | M_CLEAR_SIGHAND | M_INTO_CGROUP;
	if (e->kver >= KV(7, 1))
		known |= M_V71_FLAGS;
	if (f & ~known)
		return *why = "unknown flag bits", EINVAL;
	if (f & (M_DETACHED | (M_CSIGNAL & ~(uint64_t)CLONE_NEWTIME)))
		return *why = "CLONE_DETACHED or CSIGNAL bits in clone3 flags", EINVAL;
	if (HAS(f, CLONE_SIGHAND | M_CLEAR_SIGHAND))
		return *why = "CLONE_CLEAR_SIGHAND with CLONE_SIGHAND", EINVAL;
	if ((f & (CLONE_THREAD | CLONE_PARENT)) && r->exit_signal)
		return *why = "exit_signal with CLONE_THREAD or CLONE_PARENT", EINVAL;
	/* clone3_stack_valid: stack 0 needs stack_size 0 (CLONE_VM requests
	 * always get a stack from the target, so this applies without it). */
	if (r->stack_size_only && !(f & CLONE_VM))
		return *why = "stack_size without stack", EINVAL;
	/* kernel_clone: "if CLONE_PIDFD and CLONE_PARENT_SETTID point to the
	 * same location, -EINVAL". */
	if ((f & CLONE_PIDFD) && (f & CLONE_PARENT_SETTID) && r->pidfd_is_parent_tid && !r->pidfd_null)
		return *why = "CLONE_PIDFD and CLONE_PARENT_SETTID on one pointer", EINVAL;
	/* kernel_clone (7.1): "Creating an empty mount namespace implies
	 * creating a new mount namespace", set before copy_process so that the
	 * CLONE_NEWNS|CLONE_FS check applies. */
	if (f & M_EMPTY_MNTNS)
		f |= CLONE_NEWNS;
	struct clone_req rr = *r;
	rr.set_tid_size = sts;
	return copy_process_rules(f, &rr, e, 0, pid_in_use, why);
}

int clone_legacy_applies(const struct clone_req *r)
{
	uint64_t f = r->flags;
	return r->size >= SL_CLONE_ARGS_SIZE_VER0 && r->size <= M_PAGE &&
	       !(r->size > SL_CLONE_ARGS_SIZE_VER2 && r->tail_nonzero) && !(f & ~M_LEGACY) &&
	       !(f & (M_DETACHED | M_CSIGNAL)) && r->exit_signal <= M_NSIG &&
	       !((f & (CLONE_THREAD | CLONE_PARENT)) && r->exit_signal) && !(r->stack_size_only && !(f & CLONE_VM)) &&
	       (r->size <= 64 || r->set_tid_null) && (r->size <= 72 || !r->set_tid_size) &&
	       (!HAS(f, CLONE_PIDFD | CLONE_PARENT_SETTID) || r->pidfd_is_parent_tid || r->pidfd_null);
}

uint64_t clone_legacy_flags(const struct clone_req *r)
{
	return (r->flags & M_LEGACY) | (r->exit_signal & M_CSIGNAL);
}

int model_clone_legacy(const struct clone_req *r, const struct clone_env *e, const char **why)
{
	/* SYSCALL_DEFINE5(clone): flags = lower_32_bits(clone_flags) & ~CSIGNAL,
	 * exit_signal = the CSIGNAL byte, not validated (clone(2): "the low
	 * byte of flags contains the number of the termination signal").  The
	 * pidfd goes to parent_tid, so CLONE_PIDFD with CLONE_PARENT_SETTID is
	 * always one pointer: EINVAL (clone(2) EINVAL, CLONE_PIDFD). */
	uint64_t f = clone_legacy_flags(r) & ~M_CSIGNAL;
	if (HAS(f, CLONE_PIDFD | CLONE_PARENT_SETTID))
		return *why = "legacy CLONE_PIDFD with CLONE_PARENT_SETTID", EINVAL;
	return copy_process_rules(f, r, e, 1, NULL, why);
}
