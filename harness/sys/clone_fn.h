/* clone_fn.h: clone3 with a child that runs a function on its own stack.
 *
 * glibc's clone() takes the flags as an int, so it cannot pass the flags
 * above bit 31 (CLONE_CLEAR_SIGHAND, CLONE_INTO_CGROUP), and glibc 2.36
 * exports no clone3 wrapper.  A raw clone3 with CLONE_VM cannot be made
 * from C either: the child returns from the system call on a new stack,
 * into a frame that does not exist there.  sl_clone3_fn() is the few
 * instructions that fill the gap, as the libcs' own clone() wrappers do. */
#ifndef SL_CLONE_FN_H
#define SL_CLONE_FN_H

#include <stddef.h>

#include "sys/sys.h"

/* clone3(ARGS, SIZE).  In the parent: the child's pid, or -1 with errno.
 * The child calls FN(ARG) on the stack ARGS gives (args->stack and
 * args->stack_size, which must be set) and exits with its return value;
 * it never returns from here.  FN must not return into code that expects
 * the parent's stack.  Where no implementation exists for the
 * architecture, returns -1 with errno ENOSYS and creates nothing. */
long sl_clone3_fn(struct sl_clone_args *args, size_t size, int (*fn)(void *), void *arg);

/* 1 if sl_clone3_fn() has an implementation on this architecture. */
int sl_clone3_fn_available(void);

#endif
