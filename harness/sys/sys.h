/* sys.h: thin wrappers for the process-creation system calls that libcs
 * expose late or not at all, and the uapi constants that Debian 12's
 * kernel headers (6.1) do not have yet.  Everything here is a raw
 * syscall(2) so that glibc 2.36, newer glibc and musl builds behave the
 * same; whether the running kernel has a call is probed at run time
 * (features.c), never assumed from these definitions. */
#ifndef SPAWNLAB_SYS_H
#define SPAWNLAB_SYS_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/syscall.h>

#ifndef __NR_pidfd_send_signal
#define __NR_pidfd_send_signal 424
#endif
#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif
#ifndef __NR_clone3
#define __NR_clone3 435
#endif
#ifndef __NR_close_range
#define __NR_close_range 436
#endif
#ifndef __NR_pidfd_getfd
#define __NR_pidfd_getfd 438
#endif

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_CLEAR_SIGHAND
#define CLONE_CLEAR_SIGHAND 0x100000000ULL
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef __WALL
#define __WALL 0x40000000
#endif

#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* include/uapi/linux/pidfd.h, Linux 6.9+ (PIDFD_THREAD) */
#ifndef PIDFD_THREAD
#define PIDFD_THREAD 0x80 /* O_EXCL on x86 and most architectures */
#endif
#ifndef PIDFD_SIGNAL_THREAD
#define PIDFD_SIGNAL_THREAD (1UL << 0)
#endif
#ifndef PIDFD_SIGNAL_THREAD_GROUP
#define PIDFD_SIGNAL_THREAD_GROUP (1UL << 1)
#endif

/* clone_args as in include/uapi/linux/sched.h; VER2 (88 bytes, 5.7+). */
struct sl_clone_args {
	uint64_t flags;
	uint64_t pidfd;
	uint64_t child_tid;
	uint64_t parent_tid;
	uint64_t exit_signal;
	uint64_t stack;
	uint64_t stack_size;
	uint64_t tls;
	uint64_t set_tid;
	uint64_t set_tid_size;
	uint64_t cgroup;
};
#define SL_CLONE_ARGS_SIZE_VER0 64
#define SL_CLONE_ARGS_SIZE_VER1 80
#define SL_CLONE_ARGS_SIZE_VER2 88

/* struct pidfd_info, include/uapi/linux/pidfd.h (PIDFD_GET_INFO, 6.13+;
 * exit_code with PIDFD_INFO_EXIT, 6.15+).  The ioctl is extensible: the
 * size is encoded in the request, and VER0 is 64 bytes. */
struct sl_pidfd_info {
	uint64_t mask;
	uint64_t cgroupid;
	uint32_t pid;
	uint32_t tgid;
	uint32_t ppid;
	uint32_t ruid;
	uint32_t rgid;
	uint32_t euid;
	uint32_t egid;
	uint32_t suid;
	uint32_t sgid;
	uint32_t fsuid;
	uint32_t fsgid;
	int32_t exit_code;
};
#define SL_PIDFD_INFO_PID (1ULL << 0)
#define SL_PIDFD_INFO_CREDS (1ULL << 1)
#define SL_PIDFD_INFO_CGROUPID (1ULL << 2)
#define SL_PIDFD_INFO_EXIT (1ULL << 3)
/* _IOWR(PIDFS_IOCTL_MAGIC 0xFF, 11, struct pidfd_info) */
#define SL_PIDFD_GET_INFO \
	((3U << 30) | ((unsigned)sizeof(struct sl_pidfd_info) << 16) | (0xFFU << 8) | 11U)

int sl_pidfd_open(pid_t pid, unsigned flags);
int sl_pidfd_send_signal(int pidfd, int sig, siginfo_t *info, unsigned flags);
int sl_pidfd_getfd(int pidfd, int fd, unsigned flags);
int sl_close_range(unsigned first, unsigned last, unsigned flags);
long sl_clone3(struct sl_clone_args *args, size_t size);
/* pid of the process behind a pidfd, in the caller's pid namespace:
 * PIDFD_GET_INFO where the kernel has it, else the Pid: line of fdinfo
 * (which is in the pid namespace of the /proc mount).  -1 on error. */
pid_t sl_pidfd_pid(int pidfd);

#endif
