/* case_check.c: judge an observation against a case's expectations.
 * A backend-specific expectation (expect[pdspawn] KEY ...) replaces the
 * general ones on KEY and on its sub-keys (KEY.*) for that backend: once
 * pdspawn is expected to have fd 10 closed, fd.10.cloexec means nothing. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "util.h"

static int applies(const struct sl_case *c, size_t i, size_t b)
{
	const struct expect *e = &c->expects[i];
	unsigned long bit = 1UL << b;
	if (e->backends)
		return (e->backends & bit) != 0;
	for (size_t j = 0; j < c->nexpects; j++) {
		const char *k = c->expects[j].key;
		size_t kl = strlen(k);
		if ((c->expects[j].backends & bit) && strncmp(k, e->key, kl) == 0 &&
		    (e->key[kl] == 0 || e->key[kl] == '.'))
			return 0;
	}
	return 1;
}

static int is_fd_key(const char *k)
{
	if (strncmp(k, "fd.", 3) != 0 || !k[3])
		return 0;
	for (k += 3; *k; k++)
		if (*k < '0' || *k > '9')
			return 0;
	return 1;
}

/* Keys the runner writes itself; every other key comes from the probe. */
static int is_runner_key(const char *k)
{
	static const char *const prefixes[] = {"spawn.", "exit.", "spawner.", "child.", "setup.", "num.", "experiment"};
	for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
		if (strncmp(k, prefixes[i], strlen(prefixes[i])) == 0)
			return 1;
	return 0;
}

static int as_long(const char *s, long *v)
{
	char *end;
	if (!*s)
		return 0;
	*v = strtol(s, &end, 10);
	return *end == 0;
}

static int compare(enum expect_op op, const char *actual, const char *want, int *ok)
{
	long a, w;
	int nums = as_long(actual, &a) && as_long(want, &w);
	switch (op) {
	case OP_EQ:
	case OP_NE: {
		int eq = nums ? a == w : strcmp(actual, want) == 0;
		*ok = op == OP_EQ ? eq : !eq;
		return 0;
	}
	case OP_MATCH:
	case OP_NOMATCH: {
		int m = fnmatch(want, actual, 0) == 0;
		*ok = op == OP_MATCH ? m : !m;
		return 0;
	}
	default:
		if (!nums)
			return -1;
		*ok = op == OP_LT ? a < w : op == OP_LE ? a <= w : op == OP_GT ? a > w : a >= w;
		return 0;
	}
}

/* Expand "$key" (the whole value) and "${key}" (anywhere) from the
 * observation; *missing names the first variable with no value. */
static char *expand(const struct kv *obs, const char *v, char **missing)
{
	if (v[0] == '$' && v[1] != '{') {
		const char *x = kv_get(obs, v + 1);
		if (!x)
			*missing = xstrdup(v);
		return xstrdup(x ? x : v);
	}
	struct sbuf b;
	sb_init(&b);
	for (const char *p = v; *p;) {
		const char *close;
		if (p[0] == '$' && p[1] == '{' && (close = strchr(p + 2, '}'))) {
			char *name = xmalloc((size_t)(close - p - 2) + 1);
			memcpy(name, p + 2, (size_t)(close - p - 2));
			name[close - p - 2] = 0;
			const char *x = kv_get(obs, name);
			if (!x && !*missing)
				*missing = xasprintf("${%s}", name);
			sb_adds(&b, x ? x : "");
			free(name);
			p = close + 1;
		} else {
			sb_addn(&b, p, 1);
			p++;
		}
	}
	return b.s;
}

void check_unit(const struct sl_case *c, size_t b, struct unit_result *u)
{
	/* An experiment reports its own keys; only a probe spawn can "not
	 * report". */
	int probed = kv_get(&u->obs, "probe.end") != NULL || kv_get(&u->obs, "experiment") != NULL;
	int failed = 0;
	struct sbuf why;
	sb_init(&why);
	u->exps = xcalloc(c->nexpects, sizeof *u->exps);
	u->nexps = 0;
	for (size_t i = 0; i < c->nexpects; i++) {
		if (!applies(c, i, b))
			continue;
		const struct expect *e = &c->expects[i];
		struct exp_result *r = &u->exps[u->nexps++];
		r->e = e;
		char *missing = NULL;
		r->want = expand(&u->obs, e->value, &missing);
		if (missing) {
			r->actual = xasprintf("(no observed value for variable %s)", missing);
			free(missing);
			r->ok = 0;
			goto judged;
		}
		const char *actual = kv_get(&u->obs, e->key);
		if (!actual && !probed && !is_runner_key(e->key)) {
			const char *er = kv_get(&u->obs, "spawn.errno"), *ec = kv_get(&u->obs, "exit.code");
			r->actual = xasprintf("(the probe did not report: spawn.errno=%s exit.code=%s)", er ? er : "?",
					      ec ? ec : "?");
			r->ok = 0;
			goto judged;
		}
		r->actual = xstrdup(actual ? actual : is_fd_key(e->key) ? "closed" : "absent");
		if (compare(e->op, r->actual, r->want, &r->ok) < 0) {
			char *a = r->actual;
			r->actual = xasprintf("%s (not a number)", a);
			free(a);
			r->ok = 0;
		}
	judged:
		if (!r->ok) {
			sb_addf(&why, "%sline %d: expected %s %s %s, got %s", failed ? "; " : "", e->line, e->key,
				expect_op_name(e->op), r->want, r->actual);
			failed++;
		}
	}
	if (u->nexps == 0) {
		u->outcome = OUT_ERROR;
		u->reason = xstrdup("no expectation applies to this backend");
		sb_free(&why);
		return;
	}
	u->outcome = failed ? OUT_FAIL : OUT_PASS;
	u->reason = failed ? xstrdup(why.s) : NULL;
	if (c->finding && failed) {
		u->outcome = OUT_XFAIL;
		free(u->reason);
		u->reason = xasprintf("known finding (%s): %s", c->finding, why.s);
	} else if (c->finding) {
		u->outcome = OUT_XPASS;
		u->reason = xasprintf("the known finding no longer reproduces: %s", c->finding);
	}
	sb_free(&why);
}
