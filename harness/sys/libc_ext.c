/* libc_ext.c: see libc_ext.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "sys/libc_ext.h"

#include <dlfcn.h>
#include <stdio.h>
#include <sys/auxv.h>
#ifdef __GLIBC__
#include <gnu/libc-version.h>
#endif

/* Written by the Makefile (scripts/libc-have) into $(BUILD)/gen.  Builds
 * without it (the fuzz targets' own build script) find every function by
 * dlsym alone, and a static one of them cannot tell. */
#if defined(__has_include)
#if __has_include("libc_have.h")
#include "libc_have.h"
#define SL_LIBC_HAVE_KNOWN 1
#endif
#endif

typedef void (*any_fn)(void);

static const struct {
	const char *name;
	any_fn direct; /* NULL unless the build's headers declare it */
} ext[LIBC_EXT_N] = {
	[LIBC_PIDFD_SPAWN] = {"pidfd_spawn",
#ifdef SL_HAVE_PIDFD_SPAWN
			      (any_fn)pidfd_spawn
#else
			      NULL
#endif
	},
	[LIBC_ADDCLOSEFROM_NP] = {"posix_spawn_file_actions_addclosefrom_np",
#ifdef SL_HAVE_POSIX_SPAWN_FILE_ACTIONS_ADDCLOSEFROM_NP
				  (any_fn)posix_spawn_file_actions_addclosefrom_np
#else
				  NULL
#endif
	},
	[LIBC_ADDCHDIR_NP] = {"posix_spawn_file_actions_addchdir_np",
#ifdef SL_HAVE_POSIX_SPAWN_FILE_ACTIONS_ADDCHDIR_NP
			      (any_fn)posix_spawn_file_actions_addchdir_np
#else
			      NULL
#endif
	},
	[LIBC_ADDFCHDIR_NP] = {"posix_spawn_file_actions_addfchdir_np",
#ifdef SL_HAVE_POSIX_SPAWN_FILE_ACTIONS_ADDFCHDIR_NP
			       (any_fn)posix_spawn_file_actions_addfchdir_np
#else
			       NULL
#endif
	},
	[LIBC_SETCGROUP_NP] = {"posix_spawnattr_setcgroup_np",
#ifdef SL_HAVE_POSIX_SPAWNATTR_SETCGROUP_NP
			       (any_fn)posix_spawnattr_setcgroup_np
#else
			       NULL
#endif
	},
	[LIBC_ADDTCSETPGRP_NP] = {"posix_spawn_file_actions_addtcsetpgrp_np",
#ifdef SL_HAVE_POSIX_SPAWN_FILE_ACTIONS_ADDTCSETPGRP_NP
				  (any_fn)posix_spawn_file_actions_addtcsetpgrp_np
#else
				  NULL
#endif
	},
};

const char *libc_name(void)
{
#ifdef __GLIBC__
	return "glibc";
#else
	return "musl";
#endif
}

const char *libc_version(void)
{
#ifdef __GLIBC__
	return gnu_get_libc_version();
#elif defined(SL_LIBC_VERSION)
	/* musl has no run-time version call; the Makefile passes the musl-dev package version. */
	return SL_LIBC_VERSION;
#else
	return "unknown";
#endif
}

const char *libc_label(void)
{
	static char buf[64];
	if (!buf[0])
		snprintf(buf, sizeof buf, "%s %s", libc_name(), libc_version());
	return buf;
}

int libc_static_build(void)
{
	/* The kernel passes the interpreter's load address as AT_BASE; a
	 * static (or static-pie) executable has no interpreter. */
	return getauxval(AT_BASE) == 0;
}

static struct {
	int done;
	any_fn fn;
	const char *source; /* "linked", "dlsym", "none", "unknown" */
	char how[160];
} found[LIBC_EXT_N];

static void decide(enum libc_ext_id id)
{
	const char *name = ext[id].name;
	char *how = found[id].how;
	size_t len = sizeof found[id].how;
	const char *link = libc_static_build() ? "static" : "dynamic";
	found[id].done = 1;
	if (ext[id].direct) {
		found[id].fn = ext[id].direct;
		found[id].source = "linked";
		snprintf(how, len, "declared by %s's headers, linked (%s build)", libc_label(), link);
		return;
	}
	if (!libc_static_build()) {
		/* dlsym returns a data pointer; POSIX guarantees it converts. */
		*(void **)&found[id].fn = dlsym(RTLD_DEFAULT, name);
		found[id].source = found[id].fn ? "dlsym" : "none";
		snprintf(how, len, "%s by dlsym in %s (dynamic build; the build's headers declare none)",
			 found[id].fn ? "found" : "not found", libc_label());
		return;
	}
#ifdef SL_LIBC_HAVE_KNOWN
	found[id].source = "none";
	snprintf(how, len, "%s's headers declare no %s (static build: the libc linked in has none)", libc_label(),
		 name);
#else
	found[id].source = "unknown";
	snprintf(how, len, "static build without scripts/libc-have's answer: %s cannot be looked up", name);
#endif
}

int libc_ext_has(enum libc_ext_id id, const char **how)
{
	if ((unsigned)id >= LIBC_EXT_N) {
		if (how)
			*how = "not a known libc function";
		return 0;
	}
	if (!found[id].done)
		decide(id);
	if (how)
		*how = found[id].how;
	return found[id].fn != NULL;
}

const char *libc_ext_source(enum libc_ext_id id)
{
	if ((unsigned)id >= LIBC_EXT_N)
		return "unknown";
	libc_ext_has(id, NULL);
	return found[id].source;
}

const char *libc_ext_name(enum libc_ext_id id)
{
	return (unsigned)id < LIBC_EXT_N ? ext[id].name : "?";
}

#define TYPED(fn_name, type, id) \
	type fn_name(void) \
	{ \
		libc_ext_has(id, NULL); \
		return (type)found[id].fn; \
	}
TYPED(libc_pidfd_spawn, pidfd_spawn_fn, LIBC_PIDFD_SPAWN)
TYPED(libc_addclosefrom_np, addclosefrom_fn, LIBC_ADDCLOSEFROM_NP)
TYPED(libc_addchdir_np, addchdir_fn, LIBC_ADDCHDIR_NP)
TYPED(libc_addfchdir_np, addfchdir_fn, LIBC_ADDFCHDIR_NP)
TYPED(libc_setcgroup_np, setcgroup_fn, LIBC_SETCGROUP_NP)
TYPED(libc_addtcsetpgrp_np, addtcsetpgrp_fn, LIBC_ADDTCSETPGRP_NP)
