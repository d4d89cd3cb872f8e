/* out_text.c: progress and summary for a person: every case's lines (a
 * log, --verbose), or on a terminal one status line that updates in place,
 * with only the cases that went wrong printed above it; then the summary
 * and the running time of each family. */
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/run.h"
#include "out/out.h"
#include "lib/util.h"

static const char *const label[] = {"PASS", "FAIL", "SKIP", "ERROR", "XFAIL", "XPASS"};

void out_text_case(FILE *f, const struct run *r, const struct case_run *cr, size_t idx)
{
	int w = r->n >= 1000 ? 4 : r->n >= 100 ? 3 : r->n >= 10 ? 2 : 1;
	fprintf(f, "[%*zu/%zu] %-5s %s", w, idx + 1, r->n, label[cr->outcome], cr->c->id);
	fprintf(f, "  (");
	int first = 1;
	for (size_t i = 0; i < cr->nu; i++) {
		const struct unit_result *u = &cr->u[i];
		if (!cr->u[i].backend)
			continue;
		fprintf(f, "%s%s:%s", first ? "" : " ", u->backend->name, outcome_name(u->outcome));
		first = 0;
	}
	fprintf(f, ")\n");
	for (size_t i = 0; i < cr->nu; i++) {
		const struct unit_result *u = &cr->u[i];
		if (!u->backend || !u->reason)
			continue;
		if (u->outcome == OUT_FAIL || u->outcome == OUT_ERROR || u->outcome == OUT_XFAIL ||
		    u->outcome == OUT_XPASS ||
		    (cr->outcome == OUT_SKIP && i == 0))
			fprintf(f, "        %s: %s\n", u->backend->name, u->reason);
	}
	/* The numbers the case asked to show, one line per backend that ran. */
	for (size_t i = 0; cr->c->nshow && i < cr->nu; i++) {
		const struct unit_result *u = &cr->u[i];
		if (!u->backend || u->outcome == OUT_SKIP)
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

/* Time left, in seconds, or -1 when there is nothing to go on yet.  Each
 * case left is weighed by its duration in an earlier result (run_history.c),
 * scaled by how this run compares on the cases done: for cases that run
 * alone, their own durations against the earlier ones; for cases that run
 * side by side, the wall-clock time their families took against the
 * earlier durations of their cases done (which folds in both the machine
 * and the concurrency).  A case with no earlier duration counts as the
 * mean of the cases done. */
static double time_left(const struct run *r)
{
	double was[2] = {0, 0}, now[2] = {0, 0}, left = 0, done_us = 0;
	size_t done = 0, known_left = 0;
	for (size_t i = 0; i < r->n; i++) {
		const struct case_run *cr = &r->cr[i];
		if (!cr->complete)
			continue;
		done++;
		done_us += (double)cr->duration_us;
		if (cr->expect_us) {
			was[cr->alone] += (double)cr->expect_us;
			if (cr->alone)
				now[1] += (double)cr->duration_us;
		}
	}
	uint64_t t = mono_us();
	for (size_t f = 0; f < r->nfam; f++)
		if (!r->fam[f].alone)
			now[0] += (double)family_wall_us(&r->fam[f], t);
	double scale[2];
	for (int k = 0; k < 2; k++) {
		scale[k] = was[k] > 0 && now[k] > 0 ? now[k] / was[k] : 0;
		if (scale[k] && scale[k] < 0.1)
			scale[k] = 0.1;
		if (scale[k] > 10)
			scale[k] = 10;
	}
	/* a class with nothing done yet borrows the other's (alone: unscaled) */
	if (!scale[0])
		scale[0] = scale[1] ? scale[1] / (r->jobs > 1 ? r->jobs : 1) : 1.0 / (r->jobs > 1 ? r->jobs : 1);
	if (!scale[1])
		scale[1] = 1;
	double mean = done ? done_us / (double)done : 0;
	for (size_t i = 0; i < r->n; i++) {
		const struct case_run *cr = &r->cr[i];
		if (cr->complete)
			continue;
		known_left += cr->expect_us != 0;
		left += cr->expect_us ? scale[cr->alone] * (double)cr->expect_us : mean;
	}
	if (!known_left && !done)
		return -1;
	return left / 1e6;
}

void out_text_status(FILE *f, const struct run *r, uint64_t start_us)
{
	struct winsize ws;
	int width = ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20 ? ws.ws_col - 1 : 79;
	const char *fam = r->done < r->n ? r->cr[r->done].c->family : "finishing";
	size_t bad = r->count[OUT_FAIL] + r->count[OUT_ERROR];
	char line[256], eta[48] = "";
	double left = time_left(r);
	if (left >= 0)
		snprintf(eta, sizeof eta, ", about %.0f s left", left + 0.5);
	int n = snprintf(line, sizeof line, "[%zu/%zu] %s, %zu failed%s, %.0f s so far", r->done, r->n, fam, bad,
			 eta, (double)(mono_us() - start_us) / 1e6);
	if (n > width)
		line[width] = 0;
	fprintf(f, "\r\033[K%s", line);
	fflush(f);
}

void out_text_status_clear(FILE *f)
{
	fputs("\r\033[K", f);
	fflush(f);
}

void out_text_families(FILE *f, const struct run *r)
{
	int any = 0;
	for (size_t i = 0; i < r->nfam; i++)
		any |= r->fam[i].ran;
	if (!any)
		return;
	fprintf(f, "time per family (wall clock while a unit of it ran; up to %d units at a time unless alone):\n",
		r->jobs);
	for (size_t i = 0; i < r->nfam; i++) {
		const struct family_time *t = &r->fam[i];
		if (!t->ran)
			continue;
		double wall = (double)t->wall_us / 1e6, units = (double)t->unit_us / 1e6;
		fprintf(f, "  %-10s %4zu cases %7.1f s", t->name, t->cases, wall);
		if (t->alone)
			fputs("  alone (measures time)\n", f);
		else
			fprintf(f, "  (%.1f s of units)\n", units);
	}
}

/* The cases that went wrong, once each, with their units' reasons. */
static void failures(FILE *f, const struct run *r)
{
	size_t shown = 0, total = 0;
	for (size_t i = 0; i < r->done; i++) {
		const struct case_run *cr = &r->cr[i];
		if (cr->outcome != OUT_FAIL && cr->outcome != OUT_ERROR && cr->outcome != OUT_XPASS)
			continue;
		if (total++ >= 20)
			continue;
		if (!shown++)
			fputs("\nwent wrong:\n", f);
		fprintf(f, "  %-5s %s\n", cr->outcome == OUT_FAIL ? "FAIL" : cr->outcome == OUT_ERROR ? "ERROR" : "XPASS",
			cr->c->id);
		for (size_t b = 0; b < cr->nu; b++) {
			const struct unit_result *u = &cr->u[b];
			if (u->backend && u->reason &&
			    (u->outcome == OUT_FAIL || u->outcome == OUT_ERROR || u->outcome == OUT_XPASS))
				fprintf(f, "        %s: %s\n", u->backend->name, u->reason);
		}
	}
	if (total > shown)
		fprintf(f, "  ... and %zu more (result.json has them all)\n", total - shown);
}

void out_text_summary(FILE *f, const struct run *r, const char *result_path)
{
	failures(f, r);
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
	out_text_families(f, r);
	if (result_path)
		fprintf(f, "result: %s\n", result_path);
	fflush(f);
}
