/* run.h: one `spawnlab run`: the selected cases, their units, and the
 * writers that present them (text, TAP, JSON). */
#ifndef SPAWNLAB_RUN_H
#define SPAWNLAB_RUN_H

#include <stdio.h>
#include <time.h>

#include "runner.h"

struct case_run {
	const struct sl_case *c;
	struct unit_result u[CASE_MAX_BACKENDS];
	size_t nu;
	enum outcome outcome;
	uint64_t duration_us;
};

struct run {
	struct case_run *cr;
	size_t n, done;
	unsigned long backends; /* selected by --backend */
	const char *const *patterns;
	int npatterns;
	int timeout_s;
	const char *out_dir;
	const char *probe;
	const char *cases_dir;
	struct timespec start, end;
	int complete;
	size_t count[OUT_N]; /* per outcome, over cases */
};

/* The case's outcome from its units: fail or error if any unit did,
 * skip if every unit skipped, else pass. */
enum outcome case_outcome(const struct case_run *cr);

void out_text_case(FILE *f, const struct run *r, const struct case_run *cr, size_t idx);
void out_text_summary(FILE *f, const struct run *r, const char *result_path);
void out_tap_header(FILE *f, const struct run *r);
void out_tap_case(FILE *f, const struct run *r, const struct case_run *cr, size_t idx);
void out_tap_footer(FILE *f, const struct run *r);
/* `spawnlab bench`'s table (out_bench.c). */
void out_bench_table(FILE *f, const struct run *r);
/* The whole result document. */
void result_json(FILE *f, const struct run *r);
/* The environment object (also used by `spawnlab features --json`). */
struct json;
void env_json(struct json *j);

#endif
