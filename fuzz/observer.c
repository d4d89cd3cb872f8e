/* observer.c: what the fd fuzzer's children exec.  It reports what
 * crossed exec into it (its open fds 0..127, its ignored signals, its
 * mask) as one record (observer.h) in the file named by its first
 * argument, then exits 0; 111 when it could not report.
 *
 * usage: spawnlab-observer FILE SEQ   (SEQ: a decimal number written back)
 *
 * Why not the probe: the probe observes everything (ids, limits, offsets)
 * and its static glibc start-up alone costs about a millisecond here,
 * which would make every fuzz input cost five bare clones.  On x86_64
 * this is built without a libc (-nostdlib -ffreestanding): _start, raw
 * system calls and nothing else, so that exec is most of what an input
 * costs.  Elsewhere the same observation is made through the libc.
 *
 * It observes first, then opens the report, so that the report is never
 * among the fds reported: fcntl(F_GETFD) on each number 0..127 (it sees
 * O_PATH fds too; poll(2) would list them in one call but reports O_PATH
 * fds as not open), rt_sigaction with no new action on each signal and
 * rt_sigprocmask with no set.  No /proc: in a process this new, the first
 * look at /proc/self/fd and /proc/self/status makes the kernel build the
 * process's /proc entries (a dentry and an inode per open fd, per file)
 * and drop them again at exit; measured here (kernel 6.18, vfork + exec +
 * exit + wait of this program in a loop) that cost 71 us a child against
 * 57 us for the 193 plain calls, and the bare vfork + exec + exit of an
 * empty program 41 us. */
#include <fcntl.h>
#include <stdint.h>

#include "observer.h"

#define SIG_IGN_VALUE 1
#define NSIGS 64

#if defined(__x86_64__) && defined(SL_OBSERVER_NOLIBC)

#define NR_write 1
#define NR_open 2
#define NR_close 3
#define NR_rt_sigaction 13
#define NR_rt_sigprocmask 14
#define NR_fcntl 72
#define NR_exit_group 231

static long sc(long n, long a, long b, long c, long d)
{
	long r;
	register long r10 __asm__("r10") = d;
	__asm__ volatile("syscall" : "=a"(r) : "0"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
	return r;
}
#define sys_open(p, f, m) sc(NR_open, (long)(p), (f), (m), 0)
#define sys_close(fd) sc(NR_close, (fd), 0, 0, 0)
#define sys_write(fd, b, n) sc(NR_write, (fd), (long)(b), (long)(n), 0)
#define sys_getfd(fd) sc(NR_fcntl, (fd), F_GETFD, 0, 0)
#define sys_sigaction_old(s, old) sc(NR_rt_sigaction, (s), 0, (long)(old), 8)
#define sys_sigmask_old(set) sc(NR_rt_sigprocmask, 0 /* SIG_BLOCK */, 0, (long)(set), 8)

#else

#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>
#define sys_open(p, f, m) open((p), (f), (m))
#define sys_close(fd) close(fd)
#define sys_write(fd, b, n) write((fd), (b), (n))
#define sys_getfd(fd) fcntl((fd), F_GETFD)
/* Raw calls: the libc hides its reserved signals (harness/rawsig.h). */
#define sys_sigaction_old(s, old) syscall(SYS_rt_sigaction, (s), NULL, (old), 8)
#define sys_sigmask_old(set) syscall(SYS_rt_sigprocmask, 0 /* SIG_BLOCK */, NULL, (set), 8)

#endif

/* The kernel's struct sigaction: the handler comes first on the
 * architectures this is built for. */
struct ksigaction {
	unsigned long handler, flags, restorer;
	uint64_t mask;
};

static int observe(int argc, char **argv)
{
	struct observed o;
	volatile unsigned char *z = (volatile unsigned char *)&o; /* no memset: there may be no libc */
	for (unsigned i = 0; i < sizeof o; i++)
		z[i] = 0;
	o.magic = OBSERVED_MAGIC;
	for (int fd = 0; fd < OBSERVED_FDS; fd++)
		if (sys_getfd(fd) >= 0)
			o.fds[fd / 8] |= (uint8_t)(1u << (fd % 8));
	for (int s = 1; s <= NSIGS; s++) {
		struct ksigaction old;
		if (sys_sigaction_old(s, &old) == 0 && old.handler == SIG_IGN_VALUE)
			o.ign |= 1ULL << (s - 1);
	}
	if (sys_sigmask_old(&o.mask) < 0)
		return 111;
	if (argc < 3)
		return 111;
	for (const char *d = argv[2]; *d >= '0' && *d <= '9'; d++)
		o.seq = o.seq * 10 + (uint32_t)(*d - '0');
	/* No O_TRUNC: every record has the same size and overwrites the last
	 * whole (truncating costs a page-cache walk); the executor checks the
	 * magic and this spawn's sequence number. */
	long fd = sys_open(argv[1], O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || sys_write(fd, &o, sizeof o) != (long)sizeof o || sys_close(fd) < 0)
		return 111;
	return 0;
}

#if defined(__x86_64__) && defined(SL_OBSERVER_NOLIBC)

__attribute__((noreturn, used)) void observer_main(long *sp)
{
	int code = observe((int)sp[0], (char **)(sp + 1));
	for (;;)
		sc(NR_exit_group, code, 0, 0, 0);
}

/* The stack pointer at entry points at argc; the call needs it aligned. */
__asm__(".text\n"
	".globl _start\n"
	"_start:\n"
	"\txor %rbp, %rbp\n"
	"\tmov %rsp, %rdi\n"
	"\tand $-16, %rsp\n"
	"\tcall observer_main\n"
	"\thlt\n");

#else

int main(int argc, char **argv)
{
	return observe(argc, argv);
}

#endif
