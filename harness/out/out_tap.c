/* out_tap.c: KTAP/TAP 13 as kselftest prints it: one test per case, the
 * backends as an indented KTAP subtest, "# SKIP reason" for skips, and the
 * kselftest totals line at the end. */
#include <stdio.h>
#include <string.h>

#include "core/run.h"
#include "out/out.h"

/* A TAP line must not contain a newline, and '#' would start a directive. */
static void put_clean(FILE *f, const char *s)
{
	for (; s && *s; s++)
		fputc(*s == '\n' ? ' ' : *s == '#' ? '_' : *s, f);
}

void out_tap_header(FILE *f, const struct run *r)
{
	fprintf(f, "TAP version 13\n1..%zu\n", r->n);
	fflush(f);
}

/* The case's units: the backends it names that the run selected. */
static size_t nunits(const struct case_run *cr)
{
	size_t n = 0;
	for (size_t b = 0; b < cr->nu; b++)
		n += cr->u[b].backend != NULL;
	return n;
}

static void tap_line(FILE *f, const char *indent, size_t num, const char *name, enum outcome o, const char *reason)
{
	fprintf(f, "%s%s %zu %s", indent, (o == OUT_FAIL || o == OUT_ERROR) ? "not ok" : "ok", num, name);
	/* kselftest's directives: SKIP, and XFAIL for a known failure. */
	if (o == OUT_SKIP || o == OUT_XFAIL || o == OUT_XPASS) {
		fputs(o == OUT_SKIP ? " # SKIP " : o == OUT_XFAIL ? " # XFAIL " : " # XPASS ", f);
		put_clean(f, reason);
	}
	fputc('\n', f);
}

void out_tap_case(FILE *f, const struct run *r, const struct case_run *cr, size_t idx)
{
	(void)r; /* the case's units are those the run made (run_has_unit) */
	fprintf(f, "# Subtest: %s\n", cr->c->id);
	fprintf(f, "    KTAP version 1\n    # %s\n    1..%zu\n", cr->c->desc, nunits(cr));
	size_t k = 0;
	const char *skip_reason = NULL;
	for (size_t i = 0; i < cr->nu; i++) {
		const struct unit_result *u = &cr->u[i];
		if (!cr->u[i].backend)
			continue;
		if (u->outcome == OUT_FAIL || u->outcome == OUT_ERROR) {
			fprintf(f, "    # %s: %s: ", u->backend->name, u->outcome == OUT_ERROR ? "broken" : "failed");
			put_clean(f, u->reason);
			fputc('\n', f);
		}
		if (u->outcome == cr->outcome && !skip_reason)
			skip_reason = u->reason;
		tap_line(f, "    ", ++k, u->backend->name, u->outcome, u->reason);
	}
	tap_line(f, "", idx + 1, cr->c->id, cr->outcome, skip_reason);
	fflush(f);
}

void out_tap_footer(FILE *f, const struct run *r)
{
	fprintf(f, "# Totals: pass:%zu fail:%zu xfail:%zu xpass:%zu skip:%zu error:%zu\n", r->count[OUT_PASS],
		r->count[OUT_FAIL], r->count[OUT_XFAIL], r->count[OUT_XPASS], r->count[OUT_SKIP], r->count[OUT_ERROR]);
	fflush(f);
}
