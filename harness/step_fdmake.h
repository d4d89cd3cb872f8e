/* step_fdmake.h: the fd family's set-up steps (step_fdmake.c): make an fd
 * with one of many creating calls, with or without its close-on-exec
 * option, and change an fd's close-on-exec flag or offset by the other
 * routes the kernel offers.  STEP_KINDS_FD is spliced into sl_step_kinds
 * (case_step.c). */
#ifndef SPAWNLAB_STEP_FDMAKE_H
#define SPAWNLAB_STEP_FDMAKE_H

#include <stddef.h>

struct step_ctx;

/* The creating calls fdmake knows, "a|b|c" (for the call= choice list). */
extern const char sl_fdmake_calls[];

int st_fdmake(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen);
int st_fdioctl(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen);
int st_closerange(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen);
int st_fdseek(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen);

#define STEP_KINDS_FD                                                                                         \
	{"fdmake", "make an fd with creating call CALL (cloexec: its close-on-exec option) and put it at FD",  \
	 {{"call", ARG_CHOICE, 1, NULL, sl_fdmake_calls},                                                     \
	  {"fd", ARG_FD, 1, NULL, NULL},                                                                      \
	  {"cloexec", ARG_BOOL, 1, NULL, NULL},                                                               \
	  {"fd2", ARG_FD, 0, NULL, NULL}},                                                                    \
	 st_fdmake},                                                                                          \
	{"fdioctl", "ioctl(FD, FIOCLEX) (cloexec=yes) or ioctl(FD, FIONCLEX) (cloexec=no)",                   \
	 {{"fd", ARG_FD, 1, NULL, NULL}, {"cloexec", ARG_BOOL, 1, NULL, NULL}},                               \
	 st_fdioctl},                                                                                         \
	{"closerange", "close_range(FIRST, LAST, FLAGS) in the spawner",                                     \
	 {{"first", ARG_FD, 1, NULL, NULL},                                                                   \
	  {"last", ARG_FD, 1, NULL, NULL},                                                                    \
	  {"flags", ARG_CHOICE, 0, "none", "none|cloexec|unshare|unshare+cloexec"}},                          \
	 st_closerange},                                                                                      \
	{"fdseek", "write LEN bytes to FD (when len= is given), then lseek(FD, POS, SEEK_SET)",                \
	 {{"fd", ARG_FD, 1, NULL, NULL}, {"pos", ARG_INT, 1, NULL, NULL}, {"len", ARG_INT, 0, "0", NULL}},    \
	 st_fdseek}

#endif
