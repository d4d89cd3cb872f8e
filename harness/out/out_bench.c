/* out_bench.c: the benchmark tables `spawnlab bench` prints, one row per
 * bench case and one column per backend: the spawn-to-reap median in
 * microseconds with its ratio to the floor, then the ratios to the floor
 * (spawn-to-reap and spawn-to-first-instruction) with their 95% intervals,
 * so that a goal such as "within 1.1x" can be read with its uncertainty. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/run.h"
#include "out/out.h"

static double num(const struct unit_result *u, const char *key)
{
	const char *v = kv_get(&u->obs, key);
	return v ? strtod(v, NULL) : -1;
}

/* One table: its title and which ratio its cells show (NULL: the
 * microsecond table). */
struct view {
	const char *title;
	const char *ratio;
};

static const struct view views[] = {
	{"spawn-to-reap median in microseconds (x ratio to the vfork+execve floor measured in the same unit)", NULL},
	{"ratio to the floor, spawn to reaped: median of paired samples [95% interval]", "num.ratio_reaped"},
	{"ratio to the floor, spawn to the child's first instruction: median [95% interval]", "num.ratio_exec"},
};

/* A ratio to three significant digits at most: 1.08, 27.9, 358. */
static const char *ratio_text(double v, char *buf, size_t len)
{
	snprintf(buf, len, v < 10 ? "%.2f" : v < 100 ? "%.1f" : "%.0f", v);
	return buf;
}

static void cell_for(const struct view *v, const struct unit_result *u, int throughput, char *cell, size_t len)
{
	char key[64], a[16], b[16], c[16];
	if (u->outcome == OUT_SKIP)
		snprintf(cell, len, "skip");
	else if (throughput && num(u, "num.ratio_throughput") >= 0)
		snprintf(cell, len, "%.0f (x%s)", num(u, "num.throughput_per_s"),
			 ratio_text(num(u, "num.ratio_throughput"), a, sizeof a));
	else if (throughput)
		snprintf(cell, len, "%.0f", num(u, "num.throughput_per_s"));
	else if (!v->ratio && num(u, "num.reaped_median_us") >= 0)
		snprintf(cell, len, "%.0f (x%s)", num(u, "num.reaped_median_us"),
			 ratio_text(num(u, "num.ratio_reaped"), a, sizeof a));
	else if (v->ratio && num(u, v->ratio) >= 0) {
		snprintf(key, sizeof key, "%s_ci_lo", v->ratio);
		double lo = num(u, key);
		snprintf(key, sizeof key, "%s_ci_hi", v->ratio);
		snprintf(cell, len, "%s [%s-%s]", ratio_text(num(u, v->ratio), a, sizeof a),
			 ratio_text(lo, b, sizeof b), ratio_text(num(u, key), c, sizeof c));
	} else
		snprintf(cell, len, "%s", outcome_name(u->outcome));
}

static void table(FILE *f, const struct run *r, const struct view *v)
{
	fprintf(f, "\n%s\n", v->title);
	fprintf(f, "%-34s %9s", "case", v->ratio ? "" : "floor");
	for (size_t b = 0; sl_backends[b]; b++)
		if (r->backends & (1UL << b))
			fprintf(f, " %18s", sl_backends[b]->name);
	fputc('\n', f);
	for (size_t i = 0; i < r->done; i++) {
		const struct case_run *cr = &r->cr[i];
		const char *id = strchr(cr->c->id, '/') ? strchr(cr->c->id, '/') + 1 : cr->c->id;
		int throughput = 0;
		double floor_sum = 0;
		int floor_n = 0;
		for (size_t b = 0; b < cr->nu; b++) {
			if (!cr->u[b].backend || cr->u[b].outcome == OUT_SKIP)
				continue;
			if (kv_get(&cr->u[b].obs, "num.throughput_per_s"))
				throughput = 1;
			double fl = num(&cr->u[b], "num.floor_reaped_median_us");
			if (fl > 0)
				floor_sum += fl, floor_n++;
		}
		if (throughput && v->ratio)
			continue;
		fprintf(f, "%-34s", id);
		if (v->ratio)
			fprintf(f, " %9s", "");
		else if (throughput)
			fprintf(f, " %9s", "spawns/s");
		else if (floor_n)
			fprintf(f, " %9.0f", floor_sum / floor_n);
		else
			fprintf(f, " %9s", "-");
		for (size_t b = 0; b < cr->nu; b++) {
			if (!cr->u[b].backend)
				continue;
			char cell[64];
			cell_for(v, &cr->u[b], throughput, cell, sizeof cell);
			fprintf(f, " %18s", cell);
		}
		fputc('\n', f);
	}
}

void out_bench_table(FILE *f, const struct run *r)
{
	for (size_t i = 0; i < sizeof views / sizeof *views; i++)
		table(f, r, &views[i]);
	fflush(f);
}
