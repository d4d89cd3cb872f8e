/* experiment.h: what an experiment (a step kind run in place of the
 * probe's spawn) may call besides the observation API (step_ctx.h). */
#ifndef SPAWNLAB_EXPERIMENT_H
#define SPAWNLAB_EXPERIMENT_H

#include <stddef.h>

#include "core/step_ctx.h"

/* The program NAME of the build the probe is in (tiny, pidfd-child,
 * waiter): beside the probe.  malloc'd. */
char *exp_program(const struct step_ctx *ctx, const char *name);
/* Sort and summarise microsecond samples into num.<prefix>_{min,median,p99,max,iqr,mean}_us. */
void exp_summarise(struct step_ctx *ctx, const char *prefix, double *us, size_t n);
/* A set-up call of an experiment failed: that is a broken unit, not a
 * kernel observation (LTP's TBROK).  Writes "FILE:LINE: WHAT: strerror" to
 * ERR and returns -1, so `return EXP_BROKE(err, errlen, "pipe2");` reads as
 * the scenario.  errno is taken as it was on entry. */
int exp_broke_at(const char *file, int line, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
#define EXP_BROKE(err, errlen, ...) exp_broke_at(__FILE__, __LINE__, (err), (errlen), __VA_ARGS__)

/* The row called NAME of a table whose rows start with `const char *name`
 * (N rows of SIZE bytes); NULL with "KIND: no row NAME" in ERR when there
 * is none.  Use: `const struct my_row *r = EXP_ROW(rows, sv[ARG], "kind", err, errlen);` */
const void *exp_find_row(const void *table, size_t n, size_t size, const char *name, const char *kind, char *err,
			 size_t errlen);
#define EXP_ROW(rows, name, kind, err, errlen) \
	exp_find_row((rows), sizeof(rows) / sizeof *(rows), sizeof *(rows), (name), (kind), (err), (errlen))

/* One scenario of an experiment that has several (`scenario=NAME`): its
 * run function, and the feature it needs (a skip naming the feature's
 * probe where it is missing), or NULL. */
struct exp_scenario {
	const char *name;
	int (*run)(struct step_ctx *ctx, char *err, size_t errlen);
	const char *needs;
};
/* Run the scenario called NAME among the N rows of TABLE, after recording
 * KEY = NAME; STEP_UNSUPPORTED when its feature is missing, -1 for a name
 * not in the table. */
int exp_run_scenario(const struct exp_scenario *table, size_t n, const char *key, const char *name,
		     struct step_ctx *ctx, char *err, size_t errlen);

#endif
