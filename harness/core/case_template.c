/* case_template.c: tables, variants and substitution for case templates
 * (the language is described in cases/README.md, "Tables and variants"). */
#include "core/case_template.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

int tmpl_valid_name(const char *s)
{
	if (!*s || !(isalpha((unsigned char)*s) || *s == '_') || strlen(s) > 40)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

struct tmpl_table *tmpl_find(const struct tmpl_tables *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].name, name) == 0)
			return &t->v[i];
	return NULL;
}

struct tmpl_table *tmpl_add_table(struct tmpl_tables *t, const char *name, char **cols, size_t ncols, int line,
				  char *err, size_t errlen)
{
	if (!tmpl_valid_name(name)) {
		snprintf(err, errlen, "expected 'table NAME COLUMN...' with NAME of letters, digits and '_', got '%s'",
			 name);
		return NULL;
	}
	const struct tmpl_table *old = tmpl_find(t, name);
	if (old) {
		snprintf(err, errlen, "expected a new table name: '%s' is already defined at line %d", name, old->line);
		return NULL;
	}
	if (ncols == 0 || ncols > TMPL_MAX_COLS) {
		snprintf(err, errlen, "expected 1 to %d column names after 'table %s'", TMPL_MAX_COLS, name);
		return NULL;
	}
	for (size_t i = 0; i < ncols; i++) {
		if (!tmpl_valid_name(cols[i])) {
			snprintf(err, errlen, "expected a column name of letters, digits and '_', got '%s'", cols[i]);
			return NULL;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(cols[i], cols[j]) == 0) {
				snprintf(err, errlen, "expected each column once, '%s' is given twice", cols[i]);
				return NULL;
			}
	}
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 4;
		t->v = xrealloc(t->v, t->cap * sizeof *t->v);
	}
	struct tmpl_table *n = &t->v[t->n++];
	memset(n, 0, sizeof *n);
	n->name = xstrdup(name);
	n->line = line;
	n->ncols = ncols;
	for (size_t i = 0; i < ncols; i++)
		n->cols[i] = xstrdup(cols[i]);
	return n;
}

int tmpl_add_row(struct tmpl_table *t, char **vals, size_t n, int line, char *err, size_t errlen)
{
	if (n != t->ncols) {
		snprintf(err, errlen, "expected %zu values in a row of table '%s' (%s...), got %zu", t->ncols, t->name,
			 t->cols[0], n);
		return -1;
	}
	if (t->nrows == TMPL_MAX_ROWS) {
		snprintf(err, errlen, "expected at most %d rows in table '%s'", TMPL_MAX_ROWS, t->name);
		return -1;
	}
	t->rows = xrealloc(t->rows, (t->nrows + 1) * t->ncols * sizeof *t->rows);
	t->row_lines = xrealloc(t->row_lines, (t->nrows + 1) * sizeof *t->row_lines);
	for (size_t i = 0; i < n; i++)
		t->rows[t->nrows * t->ncols + i] = xstrdup(vals[i]);
	t->row_lines[t->nrows++] = line;
	return 0;
}

void tmpl_tables_free(struct tmpl_tables *t)
{
	for (size_t i = 0; i < t->n; i++) {
		struct tmpl_table *x = &t->v[i];
		free(x->name);
		for (size_t c = 0; c < x->ncols; c++)
			free(x->cols[c]);
		for (size_t r = 0; r < x->nrows * x->ncols; r++)
			free(x->rows[r]);
		free(x->rows);
		free(x->row_lines);
		for (size_t s = 0; s < x->nsources; s++)
			free(x->sources[s]);
	}
	free(t->v);
	memset(t, 0, sizeof *t);
}

static void binding_free(struct tmpl_binding *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->val[i]);
	b->n = 0;
}

static void binding_copy(struct tmpl_binding *dst, const struct tmpl_binding *src)
{
	*dst = *src;
	for (size_t i = 0; i < src->n; i++)
		dst->val[i] = xstrdup(src->val[i]);
}

void tmpl_bindings_init(struct tmpl_bindings *b)
{
	b->v = xcalloc(1, sizeof *b->v);
	b->n = 1;
}

void tmpl_bindings_free(struct tmpl_bindings *b)
{
	for (size_t i = 0; i < b->n; i++)
		binding_free(&b->v[i]);
	free(b->v);
	memset(b, 0, sizeof *b);
}

const char *tmpl_get(const struct tmpl_binding *b, const char *name)
{
	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->name[i], name) == 0)
			return b->val[i];
	return NULL;
}

static int bind(struct tmpl_binding *b, const char *name, const char *val, char *err, size_t errlen)
{
	if (b->n == TMPL_MAX_VARS) {
		snprintf(err, errlen, "expected at most %d variables in one template", TMPL_MAX_VARS);
		return -1;
	}
	b->name[b->n] = name;
	b->val[b->n++] = xstrdup(val);
	return 0;
}

/* Replace B's list by NEXT (N entries); bounded. */
static int take(struct tmpl_bindings *b, struct tmpl_binding *next, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < b->n; i++)
		binding_free(&b->v[i]);
	free(b->v);
	b->v = next;
	b->n = n;
	if (n == 0) {
		snprintf(err, errlen, "expected at least one instance: no row matches the variables bound so far");
		return -1;
	}
	return 0;
}

int tmpl_for(struct tmpl_bindings *b, const struct tmpl_tables *tabs, const char *table, char *err, size_t errlen)
{
	const struct tmpl_table *t = tmpl_find(tabs, table);
	if (!t) {
		snprintf(err, errlen, "expected the name of a table defined above, got '%s'", table);
		return -1;
	}
	unsigned bit = 1u << (unsigned)(t - tabs->v);
	struct tmpl_binding *next = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < b->n; i++) {
		for (size_t r = 0; r < t->nrows; r++) {
			char *const *row = &t->rows[r * t->ncols];
			int match = 1;
			for (size_t c = 0; c < t->ncols && match; c++) {
				const char *have = tmpl_get(&b->v[i], t->cols[c]);
				match = !have || strcmp(have, row[c]) == 0;
			}
			if (!match)
				continue;
			if (n == TMPL_MAX_INSTANCES) {
				snprintf(err, errlen, "expected at most %d instances of one template", TMPL_MAX_INSTANCES);
				take(b, next, n, err, 0);
				return -1;
			}
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				next = xrealloc(next, cap * sizeof *next);
			}
			binding_copy(&next[n], &b->v[i]);
			next[n].used |= bit;
			for (size_t c = 0; c < t->ncols; c++)
				if (!tmpl_get(&next[n], t->cols[c]) && bind(&next[n], t->cols[c], row[c], err, errlen) < 0) {
					binding_free(&next[n]);
					take(b, next, n, err, 0);
					return -1;
				}
			n++;
		}
	}
	return take(b, next, n, err, errlen);
}

int tmpl_vary(struct tmpl_bindings *b, const char *name, char **vals, size_t nv, char *err, size_t errlen)
{
	if (!tmpl_valid_name(name)) {
		snprintf(err, errlen, "expected 'vary NAME = VALUE...' with NAME of letters, digits and '_', got '%s'",
			 name);
		return -1;
	}
	if (nv == 0) {
		snprintf(err, errlen, "expected at least one value after 'vary %s ='", name);
		return -1;
	}
	struct tmpl_binding *next = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < b->n; i++)
		for (size_t v = 0; v < nv; v++) {
			const char *have = tmpl_get(&b->v[i], name);
			if (have && strcmp(have, vals[v]) != 0)
				continue;
			if (n == TMPL_MAX_INSTANCES) {
				snprintf(err, errlen, "expected at most %d instances of one template", TMPL_MAX_INSTANCES);
				take(b, next, n, err, 0);
				return -1;
			}
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				next = xrealloc(next, cap * sizeof *next);
			}
			binding_copy(&next[n], &b->v[i]);
			if (!have && bind(&next[n], name, vals[v], err, errlen) < 0) {
				binding_free(&next[n]);
				take(b, next, n, err, 0);
				return -1;
			}
			n++;
		}
	return take(b, next, n, err, errlen);
}

int tmpl_let(struct tmpl_bindings *b, const char *name, const char *text, char *err, size_t errlen)
{
	if (!tmpl_valid_name(name)) {
		snprintf(err, errlen, "expected 'let NAME = TEXT' with NAME of letters, digits and '_', got '%s'", name);
		return -1;
	}
	for (size_t i = 0; i < b->n; i++) {
		if (tmpl_get(&b->v[i], name)) {
			snprintf(err, errlen, "expected a new variable: '%s' is already bound", name);
			return -1;
		}
		char *v = tmpl_subst(&b->v[i], text);
		int r = bind(&b->v[i], name, v, err, errlen);
		free(v);
		if (r < 0)
			return -1;
	}
	return 0;
}

char *tmpl_subst(const struct tmpl_binding *b, const char *text)
{
	char *cur = xstrdup(text);
	/* Innermost first: each pass replaces the ${NAME}s that hold no other
	 * ${; nesting deeper than a few levels is a mistake, not a template. */
	for (int pass = 0; pass < 8; pass++) {
		struct sbuf o;
		sb_init(&o);
		int changed = 0;
		for (const char *p = cur; *p;) {
			const char *close;
			if (p[0] == '$' && p[1] == '{' && (close = strchr(p + 2, '}'))) {
				const char *inner = strstr(p + 2, "${");
				if (!inner || inner > close) {
					char name[64];
					size_t l = (size_t)(close - p - 2);
					const char *v = NULL;
					if (l < sizeof name) {
						memcpy(name, p + 2, l);
						name[l] = 0;
						v = tmpl_get(b, name);
					}
					if (v) {
						sb_adds(&o, v);
						changed = 1;
					} else {
						sb_addn(&o, p, (size_t)(close - p) + 1);
					}
					p = close + 1;
					continue;
				}
			}
			sb_addn(&o, p, 1);
			p++;
		}
		free(cur);
		cur = o.s ? o.s : xstrdup("");
		if (!changed)
			break;
	}
	return cur;
}

/* Whether VAL is one of the '|'-separated ALTS. */
static int one_of(const char *val, const char *alts)
{
	size_t vl = strlen(val);
	for (const char *a = alts; *a;) {
		size_t l = strcspn(a, "|");
		if (l == vl && strncmp(a, val, l) == 0)
			return 1;
		a += l;
		if (*a == '|')
			a++;
	}
	return 0;
}

int tmpl_filter_keyword(const struct tmpl_binding *b, const char *kw, char **out)
{
	const char *br = strchr(kw, '[');
	size_t l = strlen(kw);
	if (!br || kw[l - 1] != ']') {
		*out = xstrdup(kw);
		return 1;
	}
	struct sbuf kept;
	sb_init(&kept);
	char *list = xmalloc(l);
	memcpy(list, br + 1, (size_t)(kw + l - 1 - br - 1));
	list[kw + l - 1 - br - 1] = 0;
	int applies = 1;
	char *save = NULL;
	for (char *w = strtok_r(list, ", \t", &save); w; w = strtok_r(NULL, ", \t", &save)) {
		char *eq = strchr(w, '=');
		int neg = eq && eq > w && eq[-1] == '!';
		if (eq) {
			char name[64];
			size_t nl = (size_t)(eq - w - neg);
			const char *v = NULL;
			if (nl < sizeof name) {
				memcpy(name, w, nl);
				name[nl] = 0;
				v = tmpl_get(b, name);
			}
			if (v) {
				if (one_of(v, eq + 1) == neg)
					applies = 0;
				continue;
			}
		}
		sb_addf(&kept, "%s%s", kept.len ? "," : "", w);
	}
	free(list);
	if (kept.len)
		*out = xasprintf("%.*s[%s]", (int)(br - kw), kw, kept.s);
	else
		*out = xasprintf("%.*s", (int)(br - kw), kw);
	sb_free(&kept);
	return applies;
}

char *tmpl_describe(const struct tmpl_binding *b)
{
	struct sbuf o;
	sb_init(&o);
	for (size_t i = 0; i < b->n; i++)
		sb_addf(&o, "%s%s=%s", i ? " " : "", b->name[i], b->val[i]);
	return o.s ? o.s : xstrdup("");
}
