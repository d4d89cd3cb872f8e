/* step_ctx.h: what a set-up step or an experiment may use of the
 * spawner's state. */
#ifndef SPAWNLAB_STEP_CTX_H
#define SPAWNLAB_STEP_CTX_H

#include <stdint.h>

#include "backends/backend.h"
#include "core/obs.h"
#include "lib/util.h"

struct step_ctx {
	const char *tmp;            /* this unit's private folder; "$tmp" in paths */
	const char *probe;          /* absolute path of the probe */
	const struct backend *be;   /* the backend under test */
	struct sbuf *ob;            /* the observation being written */
	uint64_t deadline_ms;       /* mono_ms() by which the unit must be done */
};

#endif
