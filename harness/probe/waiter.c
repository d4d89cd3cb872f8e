/* waiter: a child that only waits, for the cases where what the child is
 * does not matter, only when it exits: the SIGCHLD experiment's exec'd
 * children (sigchld_children.c) and eintr's SIGCHLD source (eintr_modes.c).
 *
 * usage: waiter --wait-fd R W OFFSET   read fd R until EOF, then write the
 *                                      CLOCK_MONOTONIC time (8 bytes, ns)
 *                                      to fd W at OFFSET
 *        waiter --wait-eof             read stdin until EOF
 * Exit: 0; 1 if a read or the write failed; 2 on bad usage.
 *
 * Built without libc where the system-call convention is written below
 * (x86-64, arm64; WAITER_RAW, see the Makefile), so that exec'ing it costs
 * the execve and nothing more.  The probe is static glibc, whose start-up
 * asks the CPU about itself (init_cpu_features, the cache sizes): each
 * cpuid is a trap to the hypervisor in a guest.  Measured from posix_spawn
 * to reap on the development guest: an empty main() linked statically with
 * glibc 2.36 1.75-2.0 ms, with musl 1.07 ms, with no libc 0.73-0.9 ms; the
 * SIGCHLD family's exec'd cases took 11.1-13.3 s with the probe as their
 * child and 6.2-8.0 s with this. */
#include <stdint.h>
#include <sys/syscall.h>

#ifdef WAITER_RAW
#if defined(__x86_64__)
static long sys4(long n, long a, long b, long c, long d)
{
	long ret;
	register long r10 __asm__("r10") = d;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
	return ret;
}
/* The kernel starts a program with argc at the stack pointer. */
__asm__(".text\n.globl _start\n_start:\n\txor %ebp, %ebp\n\tmov %rsp, %rdi\n\tand $-16, %rsp\n"
	"\tcall waiter_start\n\thlt\n");
#elif defined(__aarch64__)
static long sys4(long n, long a, long b, long c, long d)
{
	register long x8 __asm__("x8") = n, x0 __asm__("x0") = a, x1 __asm__("x1") = b, x2 __asm__("x2") = c,
			       x3 __asm__("x3") = d;
	__asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
	return x0;
}
__asm__(".text\n.globl _start\n_start:\n\tmov x29, #0\n\tmov x30, #0\n\tmov x0, sp\n\tand sp, x0, #-16\n"
	"\tbl waiter_start\n\tbrk #0\n");
#else
#error "WAITER_RAW: no system-call convention for this architecture (the Makefile builds with libc instead)"
#endif
#define EINTR_RET (-4L)
struct mono {
	long sec, nsec;
};
static long sys_read(int fd, void *b, unsigned long n)
{
	return sys4(SYS_read, fd, (long)b, (long)n, 0);
}
static long sys_pwrite(int fd, const void *b, unsigned long n, long off)
{
	return sys4(SYS_pwrite64, fd, (long)b, (long)n, off);
}
static uint64_t mono_ns(void)
{
	struct mono t = {0, 0};
	sys4(SYS_clock_gettime, 1 /* CLOCK_MONOTONIC */, (long)&t, 0, 0);
	return (uint64_t)t.sec * 1000000000u + (uint64_t)t.nsec;
}
#else
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#define EINTR_RET (-(long)EINTR)
static long sys_read(int fd, void *b, unsigned long n)
{
	long r = read(fd, b, n);
	return r < 0 ? -(long)errno : r;
}
static long sys_pwrite(int fd, const void *b, unsigned long n, long off)
{
	long r = pwrite(fd, b, n, off);
	return r < 0 ? -(long)errno : r;
}
static uint64_t mono_ns(void)
{
	struct timespec t = {0, 0};
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}
#endif

static int same(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/* A decimal number, or -1. */
static long number(const char *s)
{
	long v = 0;
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 100000000000L)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

/* 0 at EOF, 1 if a read failed. */
static int read_to_eof(int fd)
{
	char buf[64];
	long got;
	while ((got = sys_read(fd, buf, sizeof buf)) > 0 || got == EINTR_RET)
		;
	return got == 0 ? 0 : 1;
}

static int waiter(int argc, char **argv)
{
	if (argc == 2 && same(argv[1], "--wait-eof"))
		return read_to_eof(0);
	if (argc != 5 || !same(argv[1], "--wait-fd"))
		return 2;
	long r = number(argv[2]), w = number(argv[3]), off = number(argv[4]);
	if (r < 0 || r > 65535 || w < 0 || w > 65535 || off < 0)
		return 2;
	int rc = read_to_eof((int)r);
	uint64_t ns = mono_ns();
	return sys_pwrite((int)w, &ns, sizeof ns, off) == (long)sizeof ns ? rc : 1;
}

#ifdef WAITER_RAW
__attribute__((used, noreturn)) void waiter_start(long *sp);
__attribute__((used, noreturn)) void waiter_start(long *sp)
{
	int rc = waiter((int)sp[0], (char **)(sp + 1));
	for (;;)
		sys4(SYS_exit_group, rc, 0, 0, 0);
}
#else
int main(int argc, char **argv)
{
	return waiter(argc, argv);
}
#endif
