/* case_template.h: tables and variants in the case language.
 *
 * A `table NAME COL...` block holds rows (zipped tuples) and may carry
 * `source` lines shared by every case made from it.  A case block with
 * `for TABLE...`, `vary NAME = v1 v2 ...` or `let NAME = TEXT` lines is a
 * template: those lines are evaluated in order into a list of bindings (a
 * `for` joins each binding with the table's rows on the columns they share,
 * so a second table can look values up; a `vary` is an inline one-column
 * table; a `let` computes a column), and every other line is instantiated
 * once per binding, with ${NAME} replaced (innermost first, so ${${mode}}
 * reads the column a variable names) and `[NAME=a|b]` or `[NAME!=a]`
 * filters in a keyword's bracket deciding whether the line applies.  The
 * parser (case_parse.c) reads the instantiated lines as plain case lines.
 */
#ifndef SPAWNLAB_CASE_TEMPLATE_H
#define SPAWNLAB_CASE_TEMPLATE_H

#include <stddef.h>

#define TMPL_MAX_COLS 16
#define TMPL_MAX_ROWS 512
#define TMPL_MAX_VARS 24
#define TMPL_MAX_SOURCES 8
#define TMPL_MAX_INSTANCES 512 /* per template: a file holds at most 512 cases anyway */

struct tmpl_table {
	char *name;
	int line;
	size_t ncols;
	char *cols[TMPL_MAX_COLS];
	size_t nrows;
	char **rows; /* nrows * ncols values */
	int *row_lines;
	size_t nsources;
	char *sources[TMPL_MAX_SOURCES];
};

struct tmpl_tables {
	struct tmpl_table *v;
	size_t n, cap;
};

struct tmpl_binding {
	size_t n;
	const char *name[TMPL_MAX_VARS]; /* borrowed from the tables or the directive */
	char *val[TMPL_MAX_VARS];        /* owned */
	unsigned used;                   /* tables used (bit per index), for their sources */
};

struct tmpl_bindings {
	struct tmpl_binding *v;
	size_t n;
};

/* A valid variable or column name: a letter or '_', then letters, digits, '_'. */
int tmpl_valid_name(const char *s);
struct tmpl_table *tmpl_find(const struct tmpl_tables *t, const char *name);
/* New table NAME with COLS; NULL with ERR when the name is taken or a column
 * is not a valid name or repeats. */
struct tmpl_table *tmpl_add_table(struct tmpl_tables *t, const char *name, char **cols, size_t ncols, int line,
				  char *err, size_t errlen);
int tmpl_add_row(struct tmpl_table *t, char **vals, size_t n, int line, char *err, size_t errlen);
void tmpl_tables_free(struct tmpl_tables *t);

void tmpl_bindings_init(struct tmpl_bindings *b); /* one empty binding */
void tmpl_bindings_free(struct tmpl_bindings *b);
/* The directives, applied to every binding in B.  0, or -1 with ERR. */
int tmpl_for(struct tmpl_bindings *b, const struct tmpl_tables *t, const char *table, char *err, size_t errlen);
int tmpl_vary(struct tmpl_bindings *b, const char *name, char **vals, size_t n, char *err, size_t errlen);
int tmpl_let(struct tmpl_bindings *b, const char *name, const char *text, char *err, size_t errlen);

const char *tmpl_get(const struct tmpl_binding *b, const char *name);
/* TEXT with every ${NAME} bound in B replaced, innermost first; other
 * ${...} (observation variables) are left for the run.  Allocated. */
char *tmpl_subst(const struct tmpl_binding *b, const char *text);
/* Apply the NAME=a|b and NAME!=a filters of a keyword's [LIST] whose NAME
 * is bound in B: 0 when the line does not apply to this binding, else 1 with
 * *OUT the keyword without those words (allocated; brackets dropped when
 * nothing is left). */
int tmpl_filter_keyword(const struct tmpl_binding *b, const char *kw, char **out);
/* "call=pipe_read mode=handler": the binding, for messages.  Allocated. */
char *tmpl_describe(const struct tmpl_binding *b);

#endif
