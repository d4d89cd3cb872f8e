/* step_ctx.h: what a set-up step may use of the spawner's state. */
#ifndef SPAWNLAB_STEP_CTX_H
#define SPAWNLAB_STEP_CTX_H

struct step_ctx {
	const char *tmp; /* this run's private folder; "$tmp" in paths */
};

#endif
