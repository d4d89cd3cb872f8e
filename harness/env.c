/* env.c: the environment a result was measured in. */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <gnu/libc-version.h>
#endif

#include "backend.h"
#include "feature.h"
#include "json.h"
#include "run.h"
#include "sandbox.h"

#ifndef SL_VERSION
#define SL_VERSION "0.0.0"
#endif
#ifndef SL_GITREV
#define SL_GITREV "unknown"
#endif

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

void env_json(struct json *j)
{
	struct utsname u;
	uname(&u);
	json_obj_begin(j, "environment");
	json_obj_begin(j, "kernel");
	json_str(j, "sysname", u.sysname);
	json_str(j, "release", u.release);
	json_str(j, "version", u.version);
	json_obj_end(j);
	json_str(j, "arch", u.machine);
	json_obj_begin(j, "libc");
	json_str(j, "name", libc_name());
	json_str(j, "version", libc_version());
	json_obj_end(j);
	json_str(j, "spawnlab_version", SL_VERSION);
	json_str(j, "spawnlab_revision", SL_GITREV);
	json_obj_begin(j, "privileges");
	json_int(j, "uid", (long long)getuid());
	json_int(j, "euid", (long long)geteuid());
	json_str(j, "sandbox", sandbox_kind_name(sandbox_kind()));
	json_str(j, "sandbox_note", sandbox_why()[0] ? sandbox_why() : NULL);
	json_obj_end(j);
	json_arr_begin(j, "features");
	for (size_t i = 0; i < sl_nfeatures; i++) {
		const char *d = "";
		enum feat_state s = feature_state(&sl_features[i], &d);
		json_obj_begin(j, NULL);
		json_str(j, "name", sl_features[i].name);
		json_str(j, "state", s == FEAT_YES ? "yes" : s == FEAT_NO ? "no" : "unknown");
		json_str(j, "detail", d);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_arr_begin(j, "backends");
	for (size_t i = 0; sl_backends[i]; i++) {
		char why[256] = "";
		int ok = sl_backends[i]->available(why, sizeof why);
		json_obj_begin(j, NULL);
		json_str(j, "name", sl_backends[i]->name);
		json_bool(j, "available", ok);
		json_str(j, "reason", ok ? NULL : why);
		json_arr_begin(j, "traits");
		for (size_t t = 0; sl_trait_names[t].name; t++)
			if (backend_has(sl_backends[i], sl_trait_names[t].bit))
				json_str(j, NULL, sl_trait_names[t].name);
		json_arr_end(j);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}
