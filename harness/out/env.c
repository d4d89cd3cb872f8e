/* env.c: the environment a result was measured in. */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "backends/backend.h"
#include "lib/feature.h"
#include "lib/json.h"
#include "sys/libc_ext.h"
#include "core/run.h"
#include "out/out.h"
#include "core/sandbox.h"

#include "out/version.h"

/* How this binary was built: the result's environment.build.  A kernel
 * comparison is only about the kernel when both sides ran the same build
 * (scripts/diff and scripts/history check these fields). */
static void build_json(struct json *j)
{
	json_obj_begin(j, "build");
	json_str(j, "linkage", libc_static_build() ? "static" : "dynamic");
	json_str(j, "libc", libc_label());
#ifdef __GLIBC__
	char hdr[16];
	snprintf(hdr, sizeof hdr, "%d.%d", __GLIBC__, __GLIBC_MINOR__);
	json_str(j, "libc_headers", hdr); /* a dynamic build may run on a newer glibc */
#else
	json_str(j, "libc_headers", libc_version());
#endif
#if defined(__clang__)
	json_str(j, "compiler", "clang " __clang_version__);
#elif defined(__GNUC__)
	json_str(j, "compiler", "gcc " __VERSION__);
#endif
	json_obj_begin(j, "libc_functions");
	for (int i = 0; i < LIBC_EXT_N; i++)
		json_str(j, libc_ext_name((enum libc_ext_id)i), libc_ext_source((enum libc_ext_id)i));
	json_obj_end(j);
	json_obj_end(j);
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
	build_json(j);
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
