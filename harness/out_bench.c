/* out_bench.c: the benchmark table `spawnlab bench` prints: one row per
 * bench case, one column per backend, "median us (x ratio to the floor)". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

static double num(const struct unit_result *u, const char *key)
{
	const char *v = kv_get(&u->obs, key);
	return v ? strtod(v, NULL) : -1;
}

void out_bench_table(FILE *f, const struct run *r)
{
	fprintf(f, "\nspawn-to-reap median in microseconds (ratio to the vfork+execve floor measured in the same unit)\n");
	fprintf(f, "%-34s %9s", "case", "floor");
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
			if (!(r->backends & (1UL << b)) || cr->u[b].outcome == OUT_SKIP)
				continue;
			if (kv_get(&cr->u[b].obs, "num.throughput_per_s"))
				throughput = 1;
			double fl = num(&cr->u[b], "num.floor_reaped_median_us");
			if (fl > 0)
				floor_sum += fl, floor_n++;
		}
		fprintf(f, "%-34s", id);
		if (throughput)
			fprintf(f, " %9s", "spawns/s");
		else if (floor_n)
			fprintf(f, " %9.0f", floor_sum / floor_n);
		else
			fprintf(f, " %9s", "-");
		for (size_t b = 0; b < cr->nu; b++) {
			if (!(r->backends & (1UL << b)))
				continue;
			const struct unit_result *u = &cr->u[b];
			char cell[64];
			if (u->outcome == OUT_SKIP)
				snprintf(cell, sizeof cell, "skip");
			else if (throughput)
				snprintf(cell, sizeof cell, "%.0f", num(u, "num.throughput_per_s"));
			else if (num(u, "num.reaped_median_us") >= 0)
				snprintf(cell, sizeof cell, "%.0f (x%.2f)", num(u, "num.reaped_median_us"),
					 num(u, "num.ratio_reaped"));
			else
				snprintf(cell, sizeof cell, "%s", outcome_name(u->outcome));
			fprintf(f, " %18s", cell);
		}
		fputc('\n', f);
	}
	fflush(f);
}
