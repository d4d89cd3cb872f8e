/* out_text.c: progress and summary for a person at a terminal. */
#include <stdio.h>
#include <string.h>

#include "run.h"

static const char *const label[] = {"PASS", "FAIL", "SKIP", "ERROR", "XFAIL", "XPASS"};

void out_text_case(FILE *f, const struct run *r, const struct case_run *cr, size_t idx)
{
	int w = r->n >= 1000 ? 4 : r->n >= 100 ? 3 : r->n >= 10 ? 2 : 1;
	fprintf(f, "[%*zu/%zu] %-5s %s", w, idx + 1, r->n, label[cr->outcome], cr->c->id);
	fprintf(f, "  (");
	int first = 1;
	for (size_t i = 0; i < cr->nu; i++) {
		const struct unit_result *u = &cr->u[i];
		if (!(r->backends & (1UL << i)))
			continue;
		fprintf(f, "%s%s:%s", first ? "" : " ", u->backend->name, outcome_name(u->outcome));
		first = 0;
	}
	fprintf(f, ")\n");
	for (size_t i = 0; i < cr->nu; i++) {
		const struct unit_result *u = &cr->u[i];
		if (!(r->backends & (1UL << i)) || !u->reason)
			continue;
		if (u->outcome == OUT_FAIL || u->outcome == OUT_ERROR || u->outcome == OUT_XFAIL ||
		    u->outcome == OUT_XPASS ||
		    (cr->outcome == OUT_SKIP && i == 0))
			fprintf(f, "        %s: %s\n", u->backend->name, u->reason);
	}
	/* The numbers the case asked to show, one line per backend that ran. */
	for (size_t i = 0; cr->c->nshow && i < cr->nu; i++) {
		const struct unit_result *u = &cr->u[i];
		if (!(r->backends & (1UL << i)) || u->outcome == OUT_SKIP)
			continue;
		fprintf(f, "        %-12s", u->backend->name);
		for (size_t k = 0; k < cr->c->nshow; k++) {
			const char *key = cr->c->show[k], *v = kv_get(&u->obs, key);
			fprintf(f, " %s=%s", strncmp(key, "num.", 4) == 0 ? key + 4 : key, v ? v : "-");
		}
		fputc('\n', f);
	}
	fflush(f);
}

void out_text_summary(FILE *f, const struct run *r, const char *result_path)
{
	double secs = (double)(r->end.tv_sec - r->start.tv_sec) + (double)(r->end.tv_nsec - r->start.tv_nsec) / 1e9;
	fprintf(f, "\n%zu cases in %.1f s: %zu passed, %zu failed, %zu skipped, %zu broken (set-up or harness error)%s\n",
		r->done, secs, r->count[OUT_PASS], r->count[OUT_FAIL], r->count[OUT_SKIP], r->count[OUT_ERROR],
		r->complete ? "" : " -- INCOMPLETE");
	if (r->count[OUT_XFAIL] || r->count[OUT_XPASS])
		fprintf(f, "%zu known findings reproduced (xfail: the machine disagrees with the documented "
			   "expectation), %zu no longer reproduce (xpass)\n",
			r->count[OUT_XFAIL], r->count[OUT_XPASS]);
	/* Skipped backends, once each, with their reason. */
	for (size_t b = 0; sl_backends[b]; b++) {
		char why[256] = "";
		if ((r->backends & (1UL << b)) && !sl_backends[b]->available(why, sizeof why))
			fprintf(f, "backend %s skipped everywhere: %s\n", sl_backends[b]->name, why);
	}
	if (result_path)
		fprintf(f, "result: %s\n", result_path);
	fflush(f);
}
