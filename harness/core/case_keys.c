/* case_keys.c: the key registry.  An expectation, finding or `show` on a
 * key that nothing in its case records can only ever say "got absent", so
 * the loader refuses it: the runner's own keys, the probe's (probe/keys.h)
 * for a spawn, and the keys each step and experiment declares (.keys in
 * its step_kind).  Also the backends a kind takes (.backends). */
#include "core/case.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "lib/util.h"
#include "probe/keys.h"

/* What the runner records around every unit (runner.c). */
#define RUNNER_KEYS                                                                              \
	"experiment spawn.{errno,us} child.{pid,pidfd} exit.{code,signal,note,timeout} "          \
	"spawner.{pid,ppid,pgid,sid,tmp,sigchld} spawner.fd.note spawner.fd.#.cloexec "          \
	"setup.{error,unsupported}"

/* One key component character ('*' matches a run of them). */
static int word_char(char ch)
{
	return ch && ch != '.' && ch != ' ';
}

/* Whether the pattern P..PE matches all of KEY. */
static int match(const char *p, const char *pe, const char *key)
{
	while (p < pe) {
		if (*p == '{') {
			/* each alternative, then what follows the closing brace */
			const char *close = p + 1;
			int depth = 1;
			while (close < pe && depth) {
				depth += *close == '{' ? 1 : *close == '}' ? -1 : 0;
				if (depth)
					close++;
			}
			if (close >= pe)
				return 0;
			const char *alt = p + 1;
			for (const char *q = alt;; q++) {
				if (q == close || *q == ',' || *q == '|') {
					size_t al = (size_t)(q - alt), rl = (size_t)(pe - close - 1);
					char buf[512];
					if (al + rl < sizeof buf) {
						memcpy(buf, alt, al);
						memcpy(buf + al, close + 1, rl);
						if (match(buf, buf + al + rl, key))
							return 1;
					}
					if (q == close)
						return 0;
					alt = q + 1;
				}
			}
		}
		if (*p == '#' || *p == '*') {
			size_t n = 0;
			while (*p == '#' ? isdigit((unsigned char)key[n]) : word_char(key[n]))
				n++;
			if (n == 0)
				return 0;
			/* '*' and '#' stop at a component's end: nothing may follow
			 * within the component in the patterns used here */
			key += n;
			p++;
			continue;
		}
		if (*p != *key)
			return 0;
		p++;
		key++;
	}
	return *key == 0;
}

int case_key_matches(const char *patterns, const char *key)
{
	if (!patterns)
		return 0;
	const char *p = patterns;
	while (*p) {
		while (*p == ' ')
			p++;
		const char *e = p;
		int depth = 0;
		while (*e && (depth || *e != ' ')) {
			depth += *e == '{' ? 1 : *e == '}' ? -1 : 0;
			e++;
		}
		if (e > p && match(p, e, key))
			return 1;
		p = e;
	}
	return 0;
}

/* Whether something in C records KEY. */
static int recorded(const struct sl_case *c, const char *key)
{
	if (case_key_matches(RUNNER_KEYS, key))
		return 1;
	for (size_t i = 0; i < c->nsteps; i++)
		if (case_key_matches(c->steps[i].kind->keys, key))
			return 1;
	const struct step_kind *ex = c->experiment.kind;
	if (ex)
		return case_key_matches(ex->keys, key) ||
		       ((ex->flags & KIND_PROBE_KEYS) && case_key_matches(SL_PROBE_KEYS, key));
	return case_key_matches(SL_PROBE_KEYS, key);
}

void case_key_patterns(const struct sl_case *c, struct sbuf *out)
{
	sb_adds(out, RUNNER_KEYS);
	for (size_t i = 0; i < c->nsteps; i++)
		if (c->steps[i].kind->keys)
			sb_addf(out, " %s", c->steps[i].kind->keys);
	const struct step_kind *ex = c->experiment.kind;
	if (ex && ex->keys)
		sb_addf(out, " %s", ex->keys);
	if (!ex || (ex->flags & KIND_PROBE_KEYS))
		sb_addf(out, " %s", SL_PROBE_KEYS);
}

const char *case_unrecorded_key(const struct sl_case *c, int *line)
{
	for (size_t i = 0; i < c->nexpects; i++)
		if (!recorded(c, c->expects[i].key))
			return *line = c->expects[i].line, c->expects[i].key;
	for (size_t i = 0; i < c->nfindings; i++)
		if (!recorded(c, c->findings[i].key))
			return *line = c->findings[i].line, c->findings[i].key;
	for (size_t i = 0; i < c->nshow; i++)
		if (!recorded(c, c->show[i]))
			return *line = c->line, c->show[i];
	return NULL;
}

/* Whether backend NAME is in the comma-separated LIST. */
static int in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; *p;) {
		size_t l = strcspn(p, ",");
		if (l == n && strncmp(p, name, n) == 0)
			return 1;
		p += l + (p[l] == ',');
	}
	return 0;
}

/* KIND's backend rule against C's backends; NULL or what is wrong. */
static const char *kind_backend_gap(const struct sl_case *c, const struct step_kind *k, char *buf, size_t len)
{
	if (!k->backends)
		return NULL;
	if (strcmp(k->backends, "none") == 0) {
		if (c->no_backend)
			return NULL;
		snprintf(buf, len, "'%s' makes its own children: expected 'backends none'", k->name);
		return buf;
	}
	for (size_t b = 0; b < backend_count(); b++)
		if (case_has_unit(c, b) && !in_list(k->backends, sl_backends[b]->name)) {
			snprintf(buf, len, "'%s' calls the own API of %s only: expected 'backends' among them, got %s",
				 k->name, k->backends, sl_backends[b]->name);
			return buf;
		}
	return NULL;
}

const char *case_backend_gap(const struct sl_case *c, char *buf, size_t len)
{
	const struct step_kind *ex = c->experiment.kind;
	if (c->no_backend && !(ex && ex->backends && strcmp(ex->backends, "none") == 0)) {
		snprintf(buf, len, "'backends none' expected only with an experiment that makes its own children%s%s%s",
			 ex ? " ('" : "", ex ? ex->name : "", ex ? "' spawns through the backends)" : "");
		return buf;
	}
	const char *gap = ex ? kind_backend_gap(c, ex, buf, len) : NULL;
	for (size_t i = 0; !gap && i < c->nsteps; i++)
		gap = kind_backend_gap(c, c->steps[i].kind, buf, len);
	return gap;
}
