/* case_check.c: judge an observation against a case's expectations.
 * A backend-specific expectation (expect[pdspawn] KEY ...) replaces the
 * general ones on KEY and on its sub-keys (KEY.*) for that backend: once
 * pdspawn is expected to have fd 10 closed, fd.10.cloexec means nothing. */
#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "sys/libc_ext.h"
#include "core/unit.h"
#include "lib/util.h"

const char *expect_op_name(enum expect_op op)
{
	static const char *const names[] = {"=", "!=", "~", "!~", "<", "<=", ">", ">="};
	return names[op];
}

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

/* Judge one expectation-shaped line (KEY OP VALUE) against the
 * observation: *want and *actual are set (allocated), the result is 1 when
 * it holds. */
static int judge(const struct kv *obs, int probed, const char *key, enum expect_op op, const char *value,
		 char **want, char **actual)
{
	char *missing = NULL;
	int ok = 0;
	*want = expand(obs, value, &missing);
	if (missing) {
		*actual = xasprintf("(no observed value for variable %s)", missing);
		free(missing);
		return 0;
	}
	const char *a = kv_get(obs, key);
	if (!a && !probed && !is_runner_key(key)) {
		const char *er = kv_get(obs, "spawn.errno"), *ec = kv_get(obs, "exit.code");
		*actual = xasprintf("(the probe did not report: spawn.errno=%s exit.code=%s)", er ? er : "?",
				    ec ? ec : "?");
		return 0;
	}
	*actual = xstrdup(a ? a : is_fd_key(key) ? "closed" : "absent");
	if (compare(op, *actual, *want, &ok) < 0) {
		char *x = *actual;
		*actual = xasprintf("%s (not a number)", x);
		free(x);
		return 0;
	}
	return ok;
}

static const char *kernel_release(void)
{
	static struct utsname u;
	if (!u.release[0] && uname(&u) < 0)
		snprintf(u.release, sizeof u.release, "unknown");
	return u.release;
}

static int finding_applies(const struct sl_case *c, const struct finding *f, size_t b)
{
	int on = f->backends ? (f->backends & (1UL << b)) != 0 : case_has_unit(c, b);
	return on && (!f->libc || libc_cond_holds(f->libc, libc_name(), libc_version())) &&
	       (!f->kernel || kernel_cond_holds(f->kernel, kernel_release()));
}

/* "glibc", "glibc<2.38", "musl>=1.2.4": the name, and the bound's operator
 * and version (empty when none).  0 when it is not of that form. */
static int libc_cond_split(const char *cond, char *name, size_t nl, char *op, char *ver, size_t vl)
{
	size_t n = strspn(cond, "abcdefghijklmnopqrstuvwxyz");
	if (n == 0 || n >= nl)
		return 0;
	memcpy(name, cond, n);
	name[n] = 0;
	if (strcmp(name, "glibc") && strcmp(name, "musl"))
		return 0;
	const char *p = cond + n;
	size_t o = strspn(p, "<>=");
	static const char *const ops[] = {"", "<", "<=", ">", ">="};
	int known = 0;
	for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
		known |= strlen(ops[i]) == o && strncmp(ops[i], p, o) == 0;
	if (!known)
		return 0;
	memcpy(op, p, o);
	op[o] = 0;
	p += o;
	if ((o == 0) != (*p == 0) || strlen(p) >= vl || strspn(p, "0123456789.") != strlen(p))
		return 0;
	strcpy(ver, p);
	return 1;
}

int libc_cond_valid(const char *cond)
{
	char name[16], op[3], ver[32];
	return libc_cond_split(cond, name, sizeof name, op, ver, sizeof ver);
}

/* Compare dotted versions numerically: <0, 0, >0. */
static int vercmp(const char *a, const char *b)
{
	while (*a || *b) {
		long x = strtol(a, (char **)&a, 10), y = strtol(b, (char **)&b, 10);
		if (x != y)
			return x < y ? -1 : 1;
		a += *a == '.';
		b += *b == '.';
		if (!isdigit((unsigned char)*a) && !isdigit((unsigned char)*b))
			break;
	}
	return 0;
}

int libc_cond_holds(const char *cond, const char *libc, const char *version)
{
	char name[16], op[3], ver[32];
	if (!libc_cond_split(cond, name, sizeof name, op, ver, sizeof ver) || strcmp(name, libc) != 0)
		return 0;
	if (!*op)
		return 1;
	if (!isdigit((unsigned char)*version))
		return 0; /* an unknown version satisfies no bound */
	int c = vercmp(version, ver);
	return strcmp(op, "<") == 0 ? c < 0 : strcmp(op, "<=") == 0 ? c <= 0 : strcmp(op, ">") == 0 ? c > 0 : c >= 0;
}

/* "<6.1": the operator and the version; 0 when it is not of that form. */
static int kernel_cond_split(const char *cond, char *op, char *ver, size_t vl)
{
	size_t o = strspn(cond, "<>=");
	static const char *const ops[] = {"<", "<=", ">", ">="};
	int known = 0;
	for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
		known |= strlen(ops[i]) == o && strncmp(ops[i], cond, o) == 0;
	const char *v = cond + o;
	if (!known || !isdigit((unsigned char)*v) || strlen(v) >= vl || strspn(v, "0123456789.") != strlen(v))
		return 0;
	memcpy(op, cond, o);
	op[o] = 0;
	strcpy(ver, v);
	return 1;
}

int kernel_cond_valid(const char *cond)
{
	char op[3], ver[32];
	return kernel_cond_split(cond, op, ver, sizeof ver);
}

int kernel_cond_holds(const char *cond, const char *release)
{
	char op[3], ver[32];
	if (!kernel_cond_split(cond, op, ver, sizeof ver) || !isdigit((unsigned char)*release))
		return 0;
	int c = vercmp(release, ver);
	return strcmp(op, "<") == 0 ? c < 0 : strcmp(op, "<=") == 0 ? c <= 0 : strcmp(op, ">") == 0 ? c > 0 : c >= 0;
}

int case_has_unit(const struct sl_case *c, size_t b)
{
	return b < backend_count() ? (c->backends & (1UL << b)) != 0 : c->no_backend;
}

int case_expect_applies(const struct sl_case *c, size_t i, size_t b)
{
	return applies(c, i, b);
}

/* The finding that covers a failed expectation on KEY: bound to KEY for
 * this backend, and what it records holds. */
static const struct finding_result *covering(const struct unit_result *u, const char *key)
{
	for (size_t i = 0; i < u->nfinds; i++)
		if (u->finds[i].holds && strcmp(u->finds[i].f->key, key) == 0)
			return &u->finds[i];
	return NULL;
}

void check_unit(const struct sl_case *c, size_t b, struct unit_result *u)
{
	/* An experiment reports its own keys; only a probe spawn can "not
	 * report". */
	int probed = kv_get(&u->obs, "probe.end") != NULL || kv_get(&u->obs, "experiment") != NULL;
	u->exps = xcalloc(c->nexpects, sizeof *u->exps);
	u->nexps = 0;
	for (size_t i = 0; i < c->nexpects; i++) {
		if (!applies(c, i, b))
			continue;
		const struct expect *e = &c->expects[i];
		struct exp_result *r = &u->exps[u->nexps++];
		r->e = e;
		r->ok = judge(&u->obs, probed, e->key, e->op, e->value, &r->want, &r->actual);
	}
	if (u->nexps == 0) {
		u->outcome = OUT_ERROR;
		u->reason = xstrdup("no expectation applies to this backend");
		return;
	}
	u->finds = c->nfindings ? xcalloc(c->nfindings, sizeof *u->finds) : NULL;
	u->nfinds = 0;
	for (size_t i = 0; i < c->nfindings; i++) {
		const struct finding *f = &c->findings[i];
		if (!finding_applies(c, f, b))
			continue;
		struct finding_result *r = &u->finds[u->nfinds++];
		r->f = f;
		r->holds = judge(&u->obs, probed, f->key, f->op, f->value, &r->want, &r->actual);
		r->documented_ok = 1;
		for (size_t j = 0; j < u->nexps; j++)
			if (strcmp(u->exps[j].e->key, f->key) == 0 && !u->exps[j].ok)
				r->documented_ok = 0;
	}

	/* A failed expectation is known only when a finding bound to its key
	 * holds; every other failure is a fail, whatever findings the case
	 * carries. */
	struct sbuf why, known;
	sb_init(&why);
	sb_init(&known);
	int failed = 0, covered = 0;
	for (size_t i = 0; i < u->nexps; i++) {
		const struct exp_result *r = &u->exps[i];
		if (r->ok)
			continue;
		const struct finding_result *k = covering(u, r->e->key);
		if (k) {
			sb_addf(&known, "%sline %d: expected %s %s %s, got %s as the finding at line %d records (%s %s %s)",
				covered ? "; " : "", r->e->line, r->e->key, expect_op_name(r->e->op), r->want,
				r->actual, k->f->line, k->f->key, expect_op_name(k->f->op), k->want);
			covered++;
			continue;
		}
		sb_addf(&why, "%sline %d: expected %s %s %s, got %s", failed ? "; " : "", r->e->line, r->e->key,
			expect_op_name(r->e->op), r->want, r->actual);
		for (size_t j = 0; j < u->nfinds; j++)
			if (strcmp(u->finds[j].f->key, r->e->key) == 0)
				sb_addf(&why, " (not the known finding either: line %d records %s %s %s)",
					u->finds[j].f->line, u->finds[j].f->key, expect_op_name(u->finds[j].f->op),
					u->finds[j].want);
		failed++;
	}
	const struct finding_result *gone = NULL;
	for (size_t i = 0; i < u->nfinds && !gone; i++)
		if (u->finds[i].documented_ok)
			gone = &u->finds[i];
	if (failed) {
		u->outcome = OUT_FAIL;
		u->reason = xstrdup(why.s);
	} else if (gone) {
		u->outcome = OUT_XPASS;
		u->reason = xasprintf("the known finding at line %d no longer reproduces: %s holds (got %s)",
				      gone->f->line, gone->f->key, gone->actual);
	} else if (covered) {
		u->outcome = OUT_XFAIL;
		u->reason = xasprintf("known finding: %s", known.s);
	} else {
		u->outcome = OUT_PASS;
		u->reason = NULL;
	}
	sb_free(&why);
	sb_free(&known);
}

static int is_fd_view_key(const char *k)
{
	return strcmp(k, "fds") == 0 || strcmp(k, "fd.count") == 0 || (strncmp(k, "fd.", 3) == 0 && k[3] >= '0' && k[3] <= '9');
}

/* Judge C's expectations for backend B that pass FILTER (all when NULL)
 * against OBS; 1 when at least one was judged and all held. */
static int all_hold(const struct sl_case *c, size_t b, const struct kv *obs, int (*filter)(const char *))
{
	int judged = 0, all = 1;
	for (size_t i = 0; i < c->nexpects && all; i++) {
		if (!applies(c, i, b) || (filter && !filter(c->expects[i].key)))
			continue;
		char *want, *actual;
		all = judge(obs, 1, c->expects[i].key, c->expects[i].op, c->expects[i].value, &want, &actual);
		judged++;
		free(want);
		free(actual);
	}
	return judged && all;
}

/* Whether C asserts for backend B that some fd is closed. */
static int asserts_closed(const struct sl_case *c, size_t b)
{
	for (size_t i = 0; i < c->nexpects; i++)
		if (applies(c, i, b) && is_fd_key(c->expects[i].key) && c->expects[i].op == OP_EQ &&
		    strcmp(c->expects[i].value, "closed") == 0)
			return 1;
	return 0;
}

const char *case_positive_control_gap(const struct sl_case *c, size_t b)
{
	struct kv obs;
	kv_init(&obs);
	if (c->experiment.kind)
		kv_set(&obs, "experiment", c->experiment.kind->name);
	else
		kv_set(&obs, "probe.end", "yes");
	const char *gap = NULL;
	if (all_hold(c, b, &obs, NULL))
		gap = "every expectation holds on an empty observation, so a probe that saw nothing would pass "
		      "(expect something that must be there, such as fds = 0,1,2)";
	kv_set(&obs, "fds", "none");
	kv_set(&obs, "fd.count", "0");
	if (!gap && !c->experiment.kind && asserts_closed(c, b) && all_hold(c, b, &obs, is_fd_view_key))
		gap = "it asserts that an fd is closed, and every fd expectation holds when the probe sees no fds at "
		      "all (expect an fd that must be open as well, such as fds = 0,1,2 or a passed fd)";
	kv_free(&obs);
	return gap;
}
