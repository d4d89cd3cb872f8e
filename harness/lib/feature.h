/* feature.h (not features.h, which would shadow glibc's <features.h> under -Iharness): what this kernel and libc offer that cases depend on, each
 * probed at run time by trying it (never guessed from a version number). */
#ifndef SPAWNLAB_FEATURE_H
#define SPAWNLAB_FEATURE_H

#include <stddef.h>

enum feat_state { FEAT_YES, FEAT_NO, FEAT_UNKNOWN };

struct feature {
	const char *name;    /* stable id used by cases: `needs NAME` */
	const char *summary; /* one line for `spawnlab features` */
	/* Probe it: returns the state and writes a short detail (how it was
	 * decided, e.g. "clone3(NULL, 0) -> ENOSYS") into DETAIL. */
	enum feat_state (*probe)(char *detail, size_t len);
};

extern const struct feature sl_features[];
extern const size_t sl_nfeatures;

const struct feature *feature_find(const char *name);
/* Probed once per process and cached. */
enum feat_state feature_state(const struct feature *f, const char **detail);
/* Convenience: 1 when NAME is FEAT_YES. */
int feature_has(const char *name);

#endif
