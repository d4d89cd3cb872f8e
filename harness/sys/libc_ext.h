/* libc_ext.h: the libc functions beyond POSIX that spawnlab uses where the
 * libc has them (glibc's pidfd_spawn and the posix_spawn file actions
 * addclosefrom_np, addchdir_np, addfchdir_np, addtcsetpgrp_np; glibc's
 * spawn attribute setcgroup_np).
 *
 * How one is found decides what a result means, so it is recorded:
 *  - the build's libc headers declare it and it links (scripts/libc-have,
 *    at build time): called directly.  A static binary then carries the
 *    function, and the same binary answers the same on every kernel;
 *  - the headers do not declare it, dynamic build: looked up by dlsym in
 *    the libc loaded at run time (a binary built on an older glibc still
 *    finds a newer one's);
 *  - the headers do not declare it, static build: the libc linked in has
 *    none, a definite no. */
#ifndef SPAWNLAB_LIBC_EXT_H
#define SPAWNLAB_LIBC_EXT_H

#include <spawn.h>
#include <stddef.h>

enum libc_ext_id {
	LIBC_PIDFD_SPAWN,
	LIBC_ADDCLOSEFROM_NP,
	LIBC_ADDCHDIR_NP,
	LIBC_ADDFCHDIR_NP,
	LIBC_SETCGROUP_NP,
	LIBC_ADDTCSETPGRP_NP,
	LIBC_EXT_N
};

typedef int (*pidfd_spawn_fn)(int *, const char *, const posix_spawn_file_actions_t *,
			      const posix_spawnattr_t *, char *const[], char *const[]);
typedef int (*addclosefrom_fn)(posix_spawn_file_actions_t *, int);
typedef int (*addchdir_fn)(posix_spawn_file_actions_t *, const char *);
typedef int (*addfchdir_fn)(posix_spawn_file_actions_t *, int);
typedef int (*setcgroup_fn)(posix_spawnattr_t *, int);
typedef int (*addtcsetpgrp_fn)(posix_spawn_file_actions_t *, int);

/* The function's name. */
const char *libc_ext_name(enum libc_ext_id id);
/* 1 when this build can call ID, 0 when not; HOW (if not NULL) says how
 * that was decided, e.g. "declared by the libc headers, linked in (static)"
 * or "static build: glibc 2.36's headers declare no pidfd_spawn". */
int libc_ext_has(enum libc_ext_id id, const char **how);

/* Typed pointers, NULL when the libc lacks them. */
pidfd_spawn_fn libc_pidfd_spawn(void);
addclosefrom_fn libc_addclosefrom_np(void);
addchdir_fn libc_addchdir_np(void);
addfchdir_fn libc_addfchdir_np(void);
setcgroup_fn libc_setcgroup_np(void);
addtcsetpgrp_fn libc_addtcsetpgrp_np(void);

/* How ID was found: "linked" (declared by the headers, called directly),
 * "dlsym" (found at run time), "none" (the libc has none) or "unknown" (a
 * static build made without scripts/libc-have's header: the fuzz build). */
const char *libc_ext_source(enum libc_ext_id id);

/* 1 when this process was linked statically (no dynamic loader). */
int libc_static_build(void);
/* "glibc" or "musl"; its version ("2.41"; for musl the musl-dev package
 * version the Makefile passes, else "unknown"); both as "glibc 2.41". */
const char *libc_name(void);
const char *libc_version(void);
const char *libc_label(void);

#endif
