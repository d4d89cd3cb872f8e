/* observer.h: the record the observer (observer.c) writes: what crossed
 * exec into it, read before it opened anything.  The executor reuses one
 * report file; the sequence number tells this spawn's record from a stale
 * one. */
#ifndef SPAWNLAB_OBSERVER_H
#define SPAWNLAB_OBSERVER_H

#include <stdint.h>

#define OBSERVED_MAGIC 0x424f4c53u /* "SLOB" */
#define OBSERVED_FDS 128           /* fds 0..127, as FDM_N */

struct observed {
	uint32_t magic;
	uint32_t seq;  /* the sequence number the observer was given (argv[2]) */
	uint8_t fds[OBSERVED_FDS / 8]; /* bit fd%8 of byte fd/8: open */
	uint64_t ign;                  /* bit s-1: signal s is SIG_IGN */
	uint64_t mask;                 /* bit s-1: signal s is blocked */
};

#endif
