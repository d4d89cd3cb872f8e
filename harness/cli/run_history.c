/* run_history.c: how long each case took last time, for the time left on
 * the status line.  Read from the newest earlier result in the runs folder,
 * else from the newest committed baseline; only the pairs of a case's
 * "id" and the "duration_us" that result_json.c writes after it (before
 * its units') are looked at, so a result of another schema version serves
 * as well, and a file that is not one gives nothing. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/run.h"
#include "lib/util.h"

#define HISTORY_MAX (64u << 20)

/* The newest (by name: runs and baselines are named by time or version)
 * DIR/NAME/result.json (SUB) or DIR/NAME ending in .json (no SUB). */
static char *newest(const char *dir, const char *sub)
{
	DIR *d = dir ? opendir(dir) : NULL;
	char *best = NULL, *best_name = NULL;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		size_t l = strlen(e->d_name);
		if (!sub && (l < 5 || strcmp(e->d_name + l - 5, ".json") != 0))
			continue;
		char *p = sub ? xasprintf("%s/%s/%s", dir, e->d_name, sub) : xasprintf("%s/%s", dir, e->d_name);
		struct stat st;
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && (!best_name || strcmp(e->d_name, best_name) > 0)) {
			free(best);
			free(best_name);
			best = p;
			best_name = xstrdup(e->d_name);
		} else {
			free(p);
		}
	}
	if (d)
		closedir(d);
	free(best_name);
	return best;
}

static int cmp_id(const void *a, const void *b)
{
	const struct case_run *const *x = a, *const *y = b;
	return strcmp((*x)->c->id, (*y)->c->id);
}

static size_t load(struct run *r, const char *path)
{
	char *text = read_file(path, HISTORY_MAX, NULL);
	if (!text)
		return 0;
	struct case_run **by = xcalloc(r->n + 1, sizeof *by);
	for (size_t i = 0; i < r->n; i++)
		by[i] = &r->cr[i];
	qsort(by, r->n, sizeof *by, cmp_id);
	size_t got = 0;
	static const char idk[] = "\"id\": \"", durk[] = "\"duration_us\": ";
	for (char *p = strstr(text, idk); p; p = strstr(p, idk)) {
		p += sizeof idk - 1;
		char *q = strchr(p, '"'), *d = q ? strstr(q, durk) : NULL;
		char *next = q ? strstr(q, idk) : NULL;
		if (!q || !d || (next && next < d))
			continue;
		*q = 0;
		struct sl_case key = {.id = p};
		struct case_run kr = {.c = &key}, *kp = &kr;
		struct case_run **hit = bsearch(&kp, by, r->n, sizeof *by, cmp_id);
		unsigned long long us = strtoull(d + sizeof durk - 1, NULL, 10);
		if (hit && !(*hit)->expect_us && us)
			(*hit)->expect_us = us, got++;
		p = q + 1;
	}
	free(by);
	free(text);
	return got;
}

size_t run_history(struct run *r, const char *runs_dir, const char *baselines_dir)
{
	char *p = newest(runs_dir, "result.json");
	size_t got = p ? load(r, p) : 0;
	free(p);
	if (got < r->n / 2) {
		p = newest(baselines_dir, NULL);
		got += p ? load(r, p) : 0;
		free(p);
	}
	return got;
}
