/* clone_fn.c: see clone_fn.h.
 *
 * x86_64: the System V calling convention brings args, size, fn, arg in
 * rdi, rsi, rdx, rcx.  The syscall instruction clobbers rcx and r11 only,
 * so fn and arg are kept in r8 and r9, which the child inherits with every
 * other register.  The kernel starts the child at the instruction after
 * syscall with rax 0 and rsp at args->stack + args->stack_size
 * (kernel/fork.c clone3_stack_valid, arch/x86/kernel/process.c
 * copy_thread).  That top is 16-byte aligned by the caller, so the call
 * below meets the ABI's alignment; rbp is cleared so that a backtrace ends
 * there.  The parent gets rax back: the pid or -errno. */
#include "sys/clone_fn.h"

#include <errno.h>

#if defined(__x86_64__) && !defined(__ILP32__)

long sl_clone3_fn_raw(struct sl_clone_args *args, size_t size, int (*fn)(void *), void *arg);

__asm__(".text\n"
	".globl sl_clone3_fn_raw\n"
	".hidden sl_clone3_fn_raw\n"
	".type sl_clone3_fn_raw,@function\n"
	"sl_clone3_fn_raw:\n"
	"	mov %rdx, %r8\n"
	"	mov %rcx, %r9\n"
	"	mov $435, %eax\n" /* __NR_clone3 */
	"	syscall\n"
	"	test %rax, %rax\n"
	"	jz 1f\n"
	"	ret\n"
	"1:	xor %ebp, %ebp\n"
	"	mov %r9, %rdi\n"
	"	call *%r8\n"
	"	mov %eax, %edi\n"
	"	mov $60, %eax\n" /* __NR_exit */
	"	syscall\n"
	"	hlt\n"
	".size sl_clone3_fn_raw, .-sl_clone3_fn_raw\n");

long sl_clone3_fn(struct sl_clone_args *args, size_t size, int (*fn)(void *), void *arg)
{
	if (!args->stack || !args->stack_size || ((args->stack + args->stack_size) & 15)) {
		errno = EINVAL;
		return -1;
	}
	long r = sl_clone3_fn_raw(args, size, fn, arg);
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

int sl_clone3_fn_available(void)
{
	return 1;
}

#else

long sl_clone3_fn(struct sl_clone_args *args, size_t size, int (*fn)(void *), void *arg)
{
	(void)args;
	(void)size;
	(void)fn;
	(void)arg;
	errno = ENOSYS;
	return -1;
}

int sl_clone3_fn_available(void)
{
	return 0;
}

#endif
