/* out.h: the writers that present a run (text, TAP, JSON, JUnit, the
 * bench table); they read struct run (core/run.h) and never change it. */
#ifndef SPAWNLAB_OUT_H
#define SPAWNLAB_OUT_H

#include <stdint.h>
#include <stdio.h>

#include "core/run.h"

/* out_text.c: the status line on a terminal (cases done of total,
 * failures, current family, time left) and the per-family times. */
void out_text_status(FILE *f, const struct run *r, uint64_t start_us);
void out_text_status_clear(FILE *f);
void out_text_families(FILE *f, const struct run *r);

void out_text_case(FILE *f, const struct run *r, const struct case_run *cr, size_t idx);
void out_text_summary(FILE *f, const struct run *r, const char *result_path);
void out_tap_header(FILE *f, const struct run *r);
void out_tap_case(FILE *f, const struct run *r, const struct case_run *cr, size_t idx);
void out_tap_footer(FILE *f, const struct run *r);
/* JUnit XML (out_junit.c): to F, or to DIR/junit.xml (0, or -1 after a
 * message on stderr). */
void out_junit(FILE *f, const struct run *r);
int out_junit_file(const struct run *r, const char *dir);
/* `spawnlab bench`'s table (out_bench.c). */
void out_bench_table(FILE *f, const struct run *r);
/* The whole result document. */
void result_json(FILE *f, const struct run *r);
/* The environment object (also used by `spawnlab features --json`). */
struct json;
void env_json(struct json *j);

#endif
