/* step_fdmake.h: the fd family's set-up steps (step_fdmake.c): make an fd
 * with one of many creating calls, with or without its close-on-exec
 * option, and change an fd's close-on-exec flag or offset by the other
 * routes the kernel offers.  Its steps (fd_steps, declared in
 * step_fdmake.c) are in the families' registry. */
#ifndef SPAWNLAB_STEP_FDMAKE_H
#define SPAWNLAB_STEP_FDMAKE_H

#include <stddef.h>

struct step_ctx;

/* The creating calls fdmake knows, "a|b|c" (for the call= choice list). */
extern const char sl_fdmake_calls[];

/* The same table by index, for code that draws calls from it (the fd
 * fuzzer) instead of naming them.  New calls are added at the end. */
enum sl_fdcx {
	CX_FLAG,  /* the call has a close-on-exec option of its own */
	CX_NONE,  /* it has none and leaves FD_CLOEXEC clear */
	CX_ALWAYS /* it always sets FD_CLOEXEC */
};
size_t sl_fdcall_count(void);
const char *sl_fdcall_name(size_t i); /* NULL past the end */
int sl_fdcall_index(const char *name); /* -1 when unknown */
enum sl_fdcx sl_fdcall_cx(size_t i);
int sl_fdcall_pair(size_t i); /* 1: makes two fds (pipe, socketpair) */
int sl_fdcall_opath(size_t i); /* 1: the fd is O_PATH (open_tree): ioctl(2) on it fails with EBADF */

struct sl_fdmade {
	int call_cloexec; /* FD_CLOEXEC as the call left it, before any fcntl */
	char how[256];    /* how the variant was made, in words */
};
/* The fdmake step without a case around it: make an fd with call CALL,
 * with its close-on-exec option when WANT (CX_NONE: then fcntl sets it;
 * CX_ALWAYS: fcntl clears it when !WANT), and move it to TARGET keeping
 * its FD_CLOEXEC bit; a pair's second fd goes to TARGET2, or is closed
 * when TARGET2 < 0.  Every other fd the call needed is closed again.  TMP
 * is a folder the calls may create files in; accept and accept4 bind a
 * socket in the current folder.  Returns 0; STEP_UNSUPPORTED when this
 * kernel lacks the call or refuses it here; -1 otherwise; ERR says why. */
int sl_fdmake(size_t call, int want, int target, int target2, const char *tmp, struct sl_fdmade *made, char *err,
	      size_t errlen);

#endif
