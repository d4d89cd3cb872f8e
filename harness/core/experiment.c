/* experiment.c: shared by the experiments (experiment.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/experiment.h"
#include "core/case.h"
#include "lib/feature.h"

char *exp_program(const struct step_ctx *ctx, const char *name)
{
	const char *slash = strrchr(ctx->probe, '/');
	return slash ? xasprintf("%.*s/%s", (int)(slash - ctx->probe), ctx->probe, name) : xstrdup(name);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted samples. */
static double pct(const double *v, size_t n, double p)
{
	size_t r = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (r < 1)
		r = 1;
	if (r > n)
		r = n;
	return v[r - 1];
}

void exp_summarise(struct step_ctx *ctx, const char *prefix, double *us, size_t n)
{
	char key[96];
	if (n == 0)
		return;
	qsort(us, n, sizeof *us, cmp_double);
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += us[i];
	static const struct {
		const char *name;
		double p;
	} rows[] = {{"min", 0}, {"median", 50}, {"p99", 99}, {"max", 100}};
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
		snprintf(key, sizeof key, "%s_%s_us", prefix, rows[i].name);
		obs_num(ctx, key, rows[i].p == 0 ? us[0] : pct(us, n, rows[i].p));
	}
	snprintf(key, sizeof key, "%s_iqr_us", prefix);
	obs_num(ctx, key, pct(us, n, 75) - pct(us, n, 25));
	snprintf(key, sizeof key, "%s_mean_us", prefix);
	obs_num(ctx, key, (double)(long long)(sum / (double)n * 1000) / 1000);
}

int exp_broke_at(const char *file, int line, char *err, size_t errlen, const char *fmt, ...)
{
	int e = errno;
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	const char *base = strrchr(file, '/');
	snprintf(err, errlen, "%s:%d: %s: %s", base ? base + 1 : file, line, what, e ? strerror(e) : "failed");
	return -1;
}

const void *exp_find_row(const void *table, size_t n, size_t size, const char *name, const char *kind, char *err,
			 size_t errlen)
{
	for (size_t i = 0; name && i < n; i++) {
		const char *const *row = (const char *const *)((const char *)table + i * size);
		if (strcmp(*row, name) == 0)
			return row;
	}
	snprintf(err, errlen, "%s: no row %s", kind, name ? name : "(none)");
	return NULL;
}

int exp_run_scenario(const struct exp_scenario *table, size_t n, const char *key, const char *name,
		     struct step_ctx *ctx, char *err, size_t errlen)
{
	const struct exp_scenario *sc = exp_find_row(table, n, sizeof *table, name, key, err, errlen);
	if (!sc)
		return -1;
	const char *why = NULL;
	if (sc->needs && feature_state(feature_find(sc->needs), &why) != FEAT_YES) {
		snprintf(err, errlen, "%s: %s", sc->needs, why ? why : "not available");
		return STEP_UNSUPPORTED;
	}
	obs_put(ctx, key, "%s", name);
	return sc->run(ctx, err, errlen);
}
