/* result_json.c: the result document, schema reports/result.schema.json
 * (version 2: typed sources, findings bound to an expectation).  Written with libc alone. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/json.h"
#include "core/run.h"
#include "out/out.h"

#define RESULT_SCHEMA_VERSION 2

static void iso_time(const struct timespec *ts, char *buf, size_t len)
{
	struct tm tm;
	time_t t = ts->tv_sec;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void finding_json(struct json *j, const struct finding *f)
{
	json_obj_begin(j, NULL);
	json_int(j, "line", f->line);
	json_arr_begin(j, "backends");
	for (size_t b = 0; sl_backends[b]; b++)
		if (f->backends & (1UL << b))
			json_str(j, NULL, sl_backends[b]->name);
	json_arr_end(j);
	json_str(j, "libc", f->libc);
	if (f->kernel)
		json_str(j, "kernel", f->kernel);
	json_str(j, "key", f->key);
	json_str(j, "op", expect_op_name(f->op));
	json_str(j, "value", f->value);
	json_str(j, "why", f->why);
	json_obj_end(j);
}

static void unit_json(struct json *j, const struct unit_result *u)
{
	json_obj_begin(j, NULL);
	json_str(j, "backend", u->backend->name);
	json_str(j, "outcome", outcome_name(u->outcome));
	json_str(j, "reason", u->reason);
	json_uint(j, "duration_us", u->duration_us);
	json_obj_begin(j, "numbers");
	const char *sp = kv_get(&u->obs, "spawn.us");
	if (sp)
		json_auto(j, "spawn_us", sp);
	for (size_t i = 0; i < u->obs.n; i++)
		if (strncmp(u->obs.key[i], "num.", 4) == 0)
			json_number(j, u->obs.key[i] + 4, u->obs.val[i]);
	json_obj_end(j);
	json_arr_begin(j, "expectations");
	for (size_t i = 0; i < u->nexps; i++) {
		const struct exp_result *e = &u->exps[i];
		json_obj_begin(j, NULL);
		json_int(j, "line", e->e->line);
		json_str(j, "key", e->e->key);
		json_str(j, "op", expect_op_name(e->e->op));
		json_str(j, "expected", e->want);
		json_str(j, "actual", e->actual);
		json_bool(j, "ok", e->ok);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_arr_begin(j, "findings");
	for (size_t i = 0; i < u->nfinds; i++) {
		const struct finding_result *f = &u->finds[i];
		json_obj_begin(j, NULL);
		json_int(j, "line", f->f->line);
		json_str(j, "key", f->f->key);
		json_str(j, "op", expect_op_name(f->f->op));
		json_str(j, "expected", f->want);
		json_str(j, "actual", f->actual);
		json_bool(j, "holds", f->holds);
		json_bool(j, "documented_ok", f->documented_ok);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_begin(j, "observation");
	for (size_t i = 0; i < u->obs.n; i++)
		json_str(j, u->obs.key[i], u->obs.val[i]);
	json_obj_end(j);
	json_obj_end(j);
}

/* Running time per family (run_sched.c): wall clock and units' sum. */
static void families_json(struct json *j, const struct run *r)
{
	json_obj_begin(j, "families");
	for (size_t i = 0; i < r->nfam; i++) {
		const struct family_time *t = &r->fam[i];
		json_obj_begin(j, t->name);
		json_uint(j, "cases", t->cases);
		json_uint(j, "wall_ms", t->wall_us / 1000);
		json_uint(j, "units_ms", t->unit_us / 1000);
		json_bool(j, "alone", t->alone);
		json_obj_end(j);
	}
	json_obj_end(j);
}

void result_json(FILE *f, const struct run *r)
{
	struct json j;
	char t0[32], t1[32];
	json_init(&j, f, 1);
	json_obj_begin(&j, NULL);
	json_str(&j, "schema", "spawnlab-result");
	json_int(&j, "schema_version", RESULT_SCHEMA_VERSION);
	json_bool(&j, "complete", r->complete);
	env_json(&j);
	iso_time(&r->start, t0, sizeof t0);
	iso_time(&r->end, t1, sizeof t1);
	json_obj_begin(&j, "run");
	json_str(&j, "start_time", t0);
	json_str(&j, "end_time", t1);
	long long ms = (long long)(r->end.tv_sec - r->start.tv_sec) * 1000 + (r->end.tv_nsec - r->start.tv_nsec) / 1000000;
	json_int(&j, "duration_ms", ms);
	json_int(&j, "timeout_s", r->timeout_s);
	json_str(&j, "planted", run_plant());
	json_str(&j, "cases_dir", r->cases_dir);
	json_arr_begin(&j, "patterns");
	for (int i = 0; i < r->npatterns; i++)
		json_str(&j, NULL, r->patterns[i]);
	json_arr_end(&j);
	json_arr_begin(&j, "backends");
	for (size_t b = 0; sl_backends[b]; b++)
		if (r->backends & (1UL << b))
			json_str(&j, NULL, sl_backends[b]->name);
	json_arr_end(&j);
	json_int(&j, "jobs", r->jobs);
	families_json(&j, r);
	json_obj_end(&j);
	json_obj_begin(&j, "summary");
	json_uint(&j, "cases", r->n);
	json_uint(&j, "run", r->done);
	json_uint(&j, "pass", r->count[OUT_PASS]);
	json_uint(&j, "fail", r->count[OUT_FAIL]);
	json_uint(&j, "skip", r->count[OUT_SKIP]);
	json_uint(&j, "error", r->count[OUT_ERROR]);
	json_uint(&j, "xfail", r->count[OUT_XFAIL]);
	json_uint(&j, "xpass", r->count[OUT_XPASS]);
	json_obj_end(&j);
	json_arr_begin(&j, "cases");
	for (size_t i = 0; i < r->done; i++) {
		const struct case_run *cr = &r->cr[i];
		const struct sl_case *c = cr->c;
		json_obj_begin(&j, NULL);
		json_str(&j, "id", c->id);
		json_str(&j, "family", c->family);
		json_str(&j, "file", c->file);
		json_int(&j, "line", c->line);
		json_str(&j, "description", c->desc);
		json_arr_begin(&j, "sources");
		for (size_t s = 0; s < c->nsources; s++) {
			json_obj_begin(&j, NULL);
			json_str(&j, "type", c->sources[s].type);
			json_str(&j, "ref", c->sources[s].ref);
			json_str(&j, "text", c->sources[s].text);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_arr_begin(&j, "findings");
		for (size_t k = 0; k < c->nfindings; k++)
			finding_json(&j, &c->findings[k]);
		json_arr_end(&j);
		json_str(&j, "outcome", outcome_name(cr->outcome));
		json_uint(&j, "duration_us", cr->duration_us);
		json_arr_begin(&j, "backends");
		for (size_t b = 0; b < cr->nu; b++)
			if (cr->u[b].backend)
				unit_json(&j, &cr->u[b]);
		json_arr_end(&j);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
}
