/* case_parse.c: the case language's parser.  Every error names the file,
 * the line and what was expected, and makes the whole load fail: a case
 * file that does not parse is never half-run. */
#include "core/case.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/case_template.h"
#include "lib/feature.h"
#include "lib/names.h"
#include "lib/util.h"

#define MAX_FILE_BYTES (1u << 20)
#define MAX_LINE 4096
#define MAX_CASES_PER_FILE 512

struct parser {
	const char *path;
	int line;
	const char *instance; /* a template's binding being read, for messages */
};

static int perr(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int perr(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	char msg[1024];
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* A message quotes the offending text: show control bytes as \xNN so
	 * that the line stays one line and the terminal stays sane. */
	fprintf(stderr, "%s:%d: ", p->path, p->line);
	for (const unsigned char *c = (const unsigned char *)msg; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			fprintf(stderr, "\\x%02x", *c);
		else
			fputc(*c, stderr);
	if (p->instance)
		fprintf(stderr, " (in the instance %s)", p->instance);
	fputc('\n', stderr);
	return -1;
}


/* Groups of backends, by the traits they have (have) or lack (lack). */
static const struct {
	const char *name;
	unsigned have, lack;
} backend_groups[] = {
	{"classic", 0, BT_EXACT_FDS},
	{"descriptor", BT_EXACT_FDS, 0},
	{"pidfd", BT_PIDFD, 0},
	{"file_actions", BT_FILE_ACTIONS, 0},
};

static int add_backend_word(struct parser *p, const char *w, unsigned long *mask)
{
	if (strcmp(w, "all") == 0) {
		for (size_t i = 0; i < backend_count(); i++)
			*mask |= 1UL << i;
		return 0;
	}
	for (size_t g = 0; g < sizeof backend_groups / sizeof *backend_groups; g++) {
		if (strcmp(w, backend_groups[g].name) != 0)
			continue;
		for (size_t i = 0; sl_backends[i]; i++)
			if (backend_has(sl_backends[i], backend_groups[g].have) &&
			    !(sl_backends[i]->traits & backend_groups[g].lack))
				*mask |= 1UL << i;
		return 0;
	}
	for (size_t i = 0; sl_backends[i]; i++)
		if (strcmp(sl_backends[i]->name, w) == 0) {
			*mask |= 1UL << i;
			return 0;
		}
	struct sbuf b;
	sb_init(&b);
	for (size_t i = 0; sl_backends[i]; i++)
		sb_addf(&b, "%s, ", sl_backends[i]->name);
	perr(p, "expected a backend name (%s) or group (all, classic, descriptor, pidfd, file_actions), got '%s'",
	     b.s, w);
	sb_free(&b);
	return -1;
}

static int parse_backend_list(struct parser *p, char *list, unsigned long *mask)
{
	char *save = NULL;
	int n = 0;
	*mask = 0;
	for (char *t = strtok_r(list, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save)) {
		if (add_backend_word(p, t, mask) < 0)
			return -1;
		n++;
	}
	if (n == 0)
		return perr(p, "expected a comma-separated list of backends");
	return 0;
}

static int parse_long(const char *s, int base, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, base);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_bool(const char *s, long *out)
{
	static const char *const yes[] = {"yes", "on", "true", "1"}, *const no[] = {"no", "off", "false", "0"};
	for (size_t i = 0; i < 4; i++) {
		if (strcmp(s, yes[i]) == 0)
			return *out = 1, 0;
		if (strcmp(s, no[i]) == 0)
			return *out = 0, 0;
	}
	return -1;
}

static int choice_index(const char *choices, const char *w)
{
	size_t wl = strlen(w);
	int i = 0;
	for (const char *c = choices; *c; i++) {
		const char *bar = strchr(c, '|');
		size_t cl = bar ? (size_t)(bar - c) : strlen(c);
		if (cl == wl && strncmp(c, w, wl) == 0)
			return i;
		c += cl;
		if (*c == '|')
			c++;
	}
	return -1;
}

/* Turn one argument's text into its value per its spec. */
static int parse_arg(struct parser *p, const struct step_kind *k, const struct arg_spec *a, const char *txt,
		     long *iv)
{
	switch (a->type) {
	case ARG_FD:
		if (parse_long(txt, 10, 0, 1023, iv) < 0)
			return perr(p, "%s: expected %s= an fd number 0..1023, got '%s'", k->name, a->name, txt);
		return 0;
	case ARG_SIG: {
		int s = sig_byname(txt);
		if (s <= 0)
			return perr(p, "%s: expected %s= a signal name (SIGUSR1, USR1 or a number), got '%s'",
				    k->name, a->name, txt);
		*iv = s;
		return 0;
	}
	case ARG_INT:
		if (parse_long(txt, 10, 0, LONG_MAX, iv) < 0)
			return perr(p, "%s: expected %s= a decimal number, got '%s'", k->name, a->name, txt);
		return 0;
	case ARG_OCTAL:
		if (parse_long(txt, 8, 0, 07777, iv) < 0)
			return perr(p, "%s: expected %s= an octal mode 0..07777, got '%s'", k->name, a->name, txt);
		return 0;
	case ARG_PATH:
		if (!*txt || strlen(txt) >= PATH_MAX)
			return perr(p, "%s: expected %s= a path", k->name, a->name);
		*iv = 0;
		return 0;
	case ARG_OFLAGS: {
		const char *bad = NULL;
		int badlen = 0;
		long f = oflags_parse(txt, &bad, &badlen);
		if (f < 0)
			return perr(p, "%s: expected %s= open flags like O_RDONLY|O_CLOEXEC, '%.*s' is not one",
				    k->name, a->name, badlen, bad ? bad : txt);
		*iv = f;
		return 0;
	}
	case ARG_BOOL:
		if (parse_bool(txt, iv) < 0)
			return perr(p, "%s: expected %s= yes or no, got '%s'", k->name, a->name, txt);
		return 0;
	case ARG_CHOICE: {
		int i = choice_index(a->choices, txt);
		if (i < 0)
			return perr(p, "%s: expected %s= one of %s, got '%s'", k->name, a->name, a->choices, txt);
		*iv = i;
		return 0;
	}
	}
	return perr(p, "expected a known argument type (internal error)");
}

/* Split the rest of a line into words; "double quotes" keep spaces. */
static int split_words(struct parser *p, char *s, char **w, int max)
{
	int n = 0;
	while (*s) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		if (n == max)
			return perr(p, "expected at most %d words on this line", max);
		char *start = s, *o = s;
		int quoted = 0;
		while (*s && (quoted || (*s != ' ' && *s != '\t'))) {
			if (*s == '"') {
				quoted = !quoted;
				s++;
				continue;
			}
			*o++ = *s++;
		}
		if (quoted)
			return perr(p, "expected a closing '\"'");
		if (*s)
			s++;
		*o = 0;
		w[n++] = start;
	}
	return n;
}

static int parse_step(struct parser *p, int experiment, const char *what, struct step *st, char *rest);

static int parse_setup(struct parser *p, struct sl_case *c, char *rest)
{
	if (c->nsteps == CASE_MAX_STEPS)
		return perr(p, "expected at most %d set-up steps in one case", CASE_MAX_STEPS);
	c->steps = xrealloc(c->steps, (c->nsteps + 1) * sizeof *c->steps);
	struct step *st = &c->steps[c->nsteps];
	memset(st, 0, sizeof *st);
	if (parse_step(p, 0, "a set-up step", st, rest) < 0) {
		/* Not counted in nsteps, so case_free would not see its strings. */
		for (int j = 0; j < CASE_MAX_ARGS; j++) {
			free(st->sv[j]);
			st->sv[j] = NULL;
		}
		return -1;
	}
	c->nsteps++;
	return 0;
}

static int parse_run(struct parser *p, struct sl_case *c, char *rest)
{
	if (c->experiment.kind)
		return perr(p, "expected one 'run' per case (first at line %d)", c->experiment.line);
	if (c->spawn.line)
		return perr(p, "expected 'run' or 'spawn', not both (spawn at line %d)", c->spawn.line);
	return parse_step(p, 1, "an experiment", &c->experiment, rest);
}

static const struct step_kind *const *kind_sets[2];

void case_use_kinds(const struct step_kind *const *step_sets, const struct step_kind *const *experiment_sets)
{
	kind_sets[0] = step_sets;
	kind_sets[1] = experiment_sets;
}

const struct step_kind *case_kind(int experiment, const char *name)
{
	const struct step_kind *const *sets = kind_sets[experiment != 0];
	for (size_t s = 0; sets && sets[s]; s++)
		for (const struct step_kind *k = sets[s]; k->name; k++)
			if (strcmp(k->name, name) == 0)
				return k;
	return NULL;
}

static int parse_step(struct parser *p, int experiment, const char *what, struct step *st, char *rest)
{
	char *w[CASE_MAX_ARGS + 2];
	int n = split_words(p, rest, w, CASE_MAX_ARGS + 1);
	if (n < 0)
		return -1;
	if (n == 0)
		return perr(p, "expected %s name (see cases/README.md for the list)", what);
	const struct step_kind *k = case_kind(experiment, w[0]);
	if (!k) {
		struct sbuf b;
		sb_init(&b);
		const struct step_kind *const *sets = kind_sets[experiment != 0];
		for (size_t s = 0; sets && sets[s]; s++)
			for (const struct step_kind *x = sets[s]; x->name; x++)
				sb_addf(&b, "%s%s", b.len ? ", " : "", x->name);
		perr(p, "expected %s (%s), got '%s'", what, b.s, w[0]);
		sb_free(&b);
		return -1;
	}
	memset(st, 0, sizeof *st);
	st->kind = k;
	st->line = p->line;
	for (int i = 1; i < n; i++) {
		char *eq = strchr(w[i], '=');
		if (!eq || eq == w[i])
			return perr(p, "%s: expected name=value, got '%s'", k->name, w[i]);
		*eq = 0;
		int a = -1;
		for (int j = 0; j < CASE_MAX_ARGS && k->args[j].name; j++)
			if (strcmp(k->args[j].name, w[i]) == 0)
				a = j;
		if (a < 0) {
			struct sbuf b;
			sb_init(&b);
			for (int j = 0; j < CASE_MAX_ARGS && k->args[j].name; j++)
				sb_addf(&b, "%s%s=", j ? ", " : "", k->args[j].name);
			perr(p, "%s: expected one of the arguments %s, got '%s'", k->name, b.len ? b.s : "(none)",
			     w[i]);
			sb_free(&b);
			return -1;
		}
		if (st->sv[a])
			return perr(p, "%s: expected each argument once, %s= is given twice", k->name, w[i]);
		if (parse_arg(p, k, &k->args[a], eq + 1, &st->iv[a]) < 0)
			return -1;
		st->sv[a] = xstrdup(eq + 1);
	}
	for (int j = 0; j < CASE_MAX_ARGS && k->args[j].name; j++) {
		if (st->sv[j])
			continue;
		if (k->args[j].required)
			return perr(p, "%s: expected argument %s=", k->name, k->args[j].name);
		if (k->args[j].def) {
			if (parse_arg(p, k, &k->args[j], k->args[j].def, &st->iv[j]) < 0)
				return -1;
			st->sv[j] = xstrdup(k->args[j].def);
		}
	}
	return 0;
}

/* map=0,1,2,10 or map=5:0,7:10 */
static int parse_map(struct parser *p, struct sl_fdplan *s, char *v)
{
	char *save = NULL;
	for (char *t = strtok_r(v, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		long src, dst;
		char *colon = strchr(t, ':');
		if (colon)
			*colon = 0;
		if (parse_long(t, 10, 0, 1023, &src) < 0 || (colon && parse_long(colon + 1, 10, 0, 1023, &dst) < 0))
			return perr(p, "spawn: expected map= a list of FD or SRC:DST (fds 0..1023)");
		if (!colon)
			dst = src;
		if (s->nmap == SL_MAX_FDMAP)
			return perr(p, "spawn: expected at most %d map entries", SL_MAX_FDMAP);
		for (size_t i = 0; i < s->nmap; i++)
			if (s->map[i].dst == dst)
				return perr(p, "spawn: expected each child fd once in map=, %ld is given twice", dst);
		s->map[s->nmap].src = (int)src;
		s->map[s->nmap].dst = (int)dst;
		s->nmap++;
	}
	return 0;
}

/* keep= and close=: a comma-separated list of fds. */
static int parse_fdlist(struct parser *p, const char *what, char *v, int *fds, size_t *n)
{
	char *save = NULL;
	for (char *t = strtok_r(v, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		long fd;
		if (parse_long(t, 10, 0, 1023, &fd) < 0)
			return perr(p, "spawn: expected %s= a list of fds 0..1023", what);
		if (*n == SL_MAX_FDMAP)
			return perr(p, "spawn: expected at most %d fds in %s=", SL_MAX_FDMAP, what);
		fds[(*n)++] = (int)fd;
	}
	return 0;
}

static int parse_spawn(struct parser *p, struct sl_case *c, char *rest)
{
	struct spawn_spec *s = &c->spawn;
	if (s->line)
		return perr(p, "expected one 'spawn' per case (first at line %d)", s->line);
	if (c->experiment.kind)
		return perr(p, "expected 'run' or 'spawn', not both (run at line %d)", c->experiment.line);
	s->line = p->line;
	char *w[SL_MAX_FDMAP];
	int n = split_words(p, rest, w, SL_MAX_FDMAP);
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		char *eq = strchr(w[i], '=');
		if (!eq)
			return perr(p, "spawn: expected name=value (map=, stdio=, program=, exit=, sleep=, sigchld=, keep=, close=, closefrom=), got '%s'", w[i]);
		*eq++ = 0;
		long v;
		if (strcmp(w[i], "map") == 0) {
			if (parse_map(p, &s->fds, eq) < 0)
				return -1;
		} else if (strcmp(w[i], "stdio") == 0) {
			if (parse_bool(eq, &v) < 0)
				return perr(p, "spawn: expected stdio= yes or no");
			s->fds.stdio = (int)v;
		} else if (strcmp(w[i], "program") == 0) {
			if (!*eq || strlen(eq) >= PATH_MAX)
				return perr(p, "spawn: expected program= a path");
			free(s->program);
			s->program = xstrdup(eq);
		} else if (strcmp(w[i], "exit") == 0) {
			if (parse_long(eq, 10, 0, 255, &v) < 0)
				return perr(p, "spawn: expected exit= a number 0..255");
			s->probe_exit = (int)v;
		} else if (strcmp(w[i], "sigchld") == 0) {
			if (strcmp(eq, "block") && strcmp(eq, "after"))
				return perr(p, "spawn: expected sigchld= block (before the spawn) or after");
			s->block_sigchld = strcmp(eq, "block") == 0;
		} else if (strcmp(w[i], "keep") == 0) {
			if (parse_fdlist(p, "keep", eq, s->fds.keep, &s->fds.nkeep) < 0)
				return -1;
		} else if (strcmp(w[i], "close") == 0) {
			if (parse_fdlist(p, "close", eq, s->fds.close, &s->fds.nclose) < 0)
				return -1;
		} else if (strcmp(w[i], "closefrom") == 0) {
			if (parse_long(eq, 10, 3, 1023, &v) < 0)
				return perr(p, "spawn: expected closefrom= an fd 3..1023");
			s->fds.closefrom = (int)v;
		} else if (strcmp(w[i], "sleep") == 0) {
			if (parse_long(eq, 10, 0, CASE_TIMEOUT_MAX * 1000L, &v) < 0)
				return perr(p, "spawn: expected sleep= milliseconds 0..%d", CASE_TIMEOUT_MAX * 1000);
			s->probe_sleep_ms = (int)v;
		} else {
			return perr(p, "spawn: expected map=, stdio=, program=, exit=, sleep=, sigchld=, keep=, close= or closefrom=, got '%s='", w[i]);
		}
	}
	return 0;
}

static int valid_key(const char *k)
{
	if (!*k)
		return 0;
	for (; *k; k++)
		if (!isalnum((unsigned char)*k) && !strchr("._-+", *k))
			return 0;
	return 1;
}

const char *const sl_source_types[] = {"man", "posix", "linux", "glibc", "musl", "commit", "spawnlab", NULL};

/* "man:signal.7 rest" is typed; anything else is free text.  A word that
 * looks typed (lower-case letters, a colon, no space) must use a known
 * type, so that a misspelt type is an error rather than free text. */
static int parse_source(struct parser *p, struct source *src, const char *rest)
{
	memset(src, 0, sizeof *src);
	size_t wl = strcspn(rest, " \t"), tl = strspn(rest, "abcdefghijklmnopqrstuvwxyz");
	if (tl > 0 && tl + 1 < wl && rest[tl] == ':') {
		size_t t = 0;
		while (sl_source_types[t] && (strlen(sl_source_types[t]) != tl || strncmp(sl_source_types[t], rest, tl)))
			t++;
		if (!sl_source_types[t])
			return perr(p, "expected a source type (man, posix, linux, glibc, musl, commit, spawnlab) before ':', "
				       "got '%.*s'", (int)tl, rest);
		if (strcmp(sl_source_types[t], "commit") == 0 &&
		    (wl - tl - 1 < 7 || strspn(rest + tl + 1, "0123456789abcdef") < wl - tl - 1))
			return perr(p, "expected commit: and a commit id of at least 7 hex digits");
		src->type = xstrdup(sl_source_types[t]);
		src->ref = xmalloc(wl - tl);
		memcpy(src->ref, rest + tl + 1, wl - tl - 1);
		src->ref[wl - tl - 1] = 0;
		rest += wl;
		while (*rest == ' ' || *rest == '\t')
			rest++;
	}
	src->text = xstrdup(rest);
	return 0;
}

/* "[LIST]" right after a keyword: the backends it applies to (0 if no
 * list), and, where LIBC is given, a libc= condition: glibc or musl, with
 * an optional version bound (<, <=, >, >= and a dotted version). */
static int parse_kw_backends(struct parser *p, const char *kw, const char *name, unsigned long *mask, char **libc,
			     char **kernel)
{
	*mask = 0;
	const char *br = strchr(kw, '[');
	if (!br)
		return 0;
	size_t l = strlen(br);
	if (l < 3 || br[l - 1] != ']')
		return perr(p, "expected %s[BACKENDS] with a closing ']'", name);
	char *list = xstrdup(br + 1), *save = NULL;
	list[l - 2] = 0;
	int r = 0, n = 0;
	for (char *t = strtok_r(list, ", \t", &save); t && r == 0; t = strtok_r(NULL, ", \t", &save)) {
		if (strncmp(t, "libc=", 5) == 0 && libc) {
			if (!libc_cond_valid(t + 5))
				r = perr(p, "%s: expected libc=glibc or libc=musl, optionally with a version bound "
					    "(libc=glibc<2.38, libc=musl>=1.2.4), got '%s'", name, t);
			else if (*libc)
				r = perr(p, "%s: expected one libc= condition", name);
			else
				*libc = xstrdup(t + 5);
			continue;
		}
		if (strncmp(t, "kernel", 6) == 0 && kernel) {
			if (!kernel_cond_valid(t + 6))
				r = perr(p, "%s: expected a kernel bound like kernel<6.1 or kernel>=6.9, got '%s'", name, t);
			else if (*kernel)
				r = perr(p, "%s: expected one kernel condition", name);
			else
				*kernel = xstrdup(t + 6);
			continue;
		}
		r = add_backend_word(p, t, mask);
		n++;
	}
	free(list);
	if (r == 0 && n == 0 && !(libc && *libc) && !(kernel && *kernel))
		r = perr(p, "expected a comma-separated list of backends in %s[...]", name);
	return r;
}

static char *next_word(char **rest)
{
	char *s = *rest;
	while (*s == ' ' || *s == '\t')
		s++;
	char *w = s;
	while (*s && *s != ' ' && *s != '\t')
		s++;
	if (*s)
		*s++ = 0;
	while (*s == ' ' || *s == '\t')
		s++;
	*rest = s;
	return w;
}

/* KEY OP at the start of *REST; the rest is left in *REST. */
static int parse_key_op(struct parser *p, const char *kw, char **rest, char **key, enum expect_op *op)
{
	*key = next_word(rest);
	if (!valid_key(*key))
		return perr(p, "expected '%s KEY OP VALUE', with KEY like fd.10 or sig.SIGUSR1 (see cases/README.md)",
			    kw);
	if (strncmp(*key, "fd.", 3) == 0 && strspn(*key + 3, "0123456789") > 0 &&
	    strcmp(*key + 3 + strspn(*key + 3, "0123456789"), ".cloexec") == 0)
		return perr(p, "expected a key that can fail: '%s' is true by construction (exec closed every "
			       "close-on-exec fd, so the probe sees only fds without the flag); expect spawner.%s (the "
			       "flag in the spawner before the spawn) or fdmake.N.call_cloexec, and the fd's presence "
			       "in the child", *key, *key);
	char *o = next_word(rest);
	int found = -1;
	for (int i = OP_EQ; i <= OP_GE; i++)
		if (strcmp(o, expect_op_name((enum expect_op)i)) == 0)
			found = i;
	if (found < 0)
		return perr(p, "expected an operator (= != ~ !~ < <= > >=) after '%s', got '%s'", *key, o);
	*op = (enum expect_op)found;
	return 0;
}

static int check_value(struct parser *p, const char *key, enum expect_op op, const char *v)
{
	if (!*v)
		return perr(p, "expected a value after '%s %s'", key, expect_op_name(op));
	if (op >= OP_LT && parse_long(v, 10, LONG_MIN, LONG_MAX, &(long){0}) < 0 && v[0] != '$')
		return perr(p, "expected a number after '%s', got '%s'", expect_op_name(op), v);
	return 0;
}

static int parse_expect(struct parser *p, struct sl_case *c, const char *kw, char *rest)
{
	struct expect e;
	memset(&e, 0, sizeof e);
	e.line = p->line;
	char *key;
	if (parse_kw_backends(p, kw, "expect", &e.backends, NULL, NULL) < 0 || parse_key_op(p, "expect", &rest, &key, &e.op) < 0 ||
	    check_value(p, key, e.op, rest) < 0)
		return -1;
	if (c->nexpects == CASE_MAX_EXPECT)
		return perr(p, "expected at most %d expectations in one case", CASE_MAX_EXPECT);
	for (size_t i = 0; i < c->nexpects; i++)
		if (c->expects[i].backends == e.backends && strcmp(c->expects[i].key, key) == 0 &&
		    c->expects[i].op == e.op && (e.op == OP_EQ || strcmp(c->expects[i].value, rest) == 0))
			return perr(p, "'%s %s' already expected for these backends at line %d", key,
				    expect_op_name(e.op), c->expects[i].line);
	e.key = xstrdup(key);
	e.value = xstrdup(rest);
	c->expects = xrealloc(c->expects, (c->nexpects + 1) * sizeof *c->expects);
	c->expects[c->nexpects++] = e;
	return 0;
}

/* finding[BACKENDS] KEY OP VALUE WHY: VALUE is one word or "quoted". */
static int parse_finding(struct parser *p, struct sl_case *c, const char *kw, char *rest)
{
	struct finding f;
	memset(&f, 0, sizeof f);
	f.line = p->line;
	char *key;
	if (parse_kw_backends(p, kw, "finding", &f.backends, &f.libc, &f.kernel) < 0 ||
	    parse_key_op(p, "finding", &rest, &key, &f.op) < 0) {
		free(f.libc);
		free(f.kernel);
		return -1;
	}
	char *v = rest;
	if (*v == '"') {
		char *q = strchr(v + 1, '"');
		if (!q)
			return perr(p, "finding: expected a closing '\"' after the value");
		*q = 0;
		v++;
		rest = q + 1;
	} else {
		next_word(&rest);
	}
	while (*rest == ' ' || *rest == '\t')
		rest++;
	int r = check_value(p, key, f.op, v);
	if (r == 0 && !*rest)
		r = perr(p, "finding: expected, after '%s %s %s', what the machine does and why, with its source",
			 key, expect_op_name(f.op), v);
	if (r == 0 && c->nfindings == CASE_MAX_FINDINGS)
		r = perr(p, "expected at most %d findings in one case", CASE_MAX_FINDINGS);
	for (size_t i = 0; r == 0 && i < c->nfindings; i++)
		if (strcmp(c->findings[i].key, key) == 0 && (c->findings[i].backends & f.backends) == f.backends)
			r = perr(p, "finding: expected one finding per key and backend; '%s' already has one at line %d",
				 key, c->findings[i].line);
	if (r < 0) {
		free(f.libc);
		free(f.kernel);
		return -1;
	}
	f.key = xstrdup(key);
	f.value = xstrdup(v);
	f.why = xstrdup(rest);
	c->findings[c->nfindings++] = f;
	return 0;
}

static void case_free(struct sl_case *c)
{
	if (!c)
		return;
	free(c->id);
	free(c->family);
	free(c->file);
	free(c->desc);
	for (size_t i = 0; i < c->nfindings; i++) {
		free(c->findings[i].key);
		free(c->findings[i].value);
		free(c->findings[i].why);
		free(c->findings[i].libc);
		free(c->findings[i].kernel);
	}
	for (size_t i = 0; i < c->nsources; i++) {
		free(c->sources[i].type);
		free(c->sources[i].ref);
		free(c->sources[i].text);
	}
	for (size_t i = 0; i < c->nneeds; i++)
		free(c->needs[i]);
	for (size_t i = 0; i < c->nshow; i++)
		free(c->show[i]);
	for (size_t i = 0; i < c->nsteps; i++)
		for (int j = 0; j < CASE_MAX_ARGS; j++)
			free(c->steps[i].sv[j]);
	free(c->spawn.program);
	for (int j = 0; j < CASE_MAX_ARGS; j++)
		free(c->experiment.sv[j]);
	for (size_t i = 0; i < c->nexpects; i++) {
		free(c->expects[i].key);
		free(c->expects[i].value);
	}
	free(c->steps);
	free(c->expects);
	free(c);
}

void case_list_free(struct case_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		case_free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

/* A finding is bound to a documented expectation: for every backend it
 * names, an expectation on exactly its key must apply. */
static int bind_finding(struct parser *p, const struct sl_case *c, const struct finding *f)
{
	p->line = f->line;
	if (f->backends & ~c->backends)
		return perr(p, "finding: expected backends that the case runs (see its 'backends' line)");
	unsigned long mask = f->backends ? f->backends : c->backends;
	for (size_t b = 0; b <= backend_count(); b++) {
		if (b < backend_count() ? !(mask & (1UL << b)) : !c->no_backend)
			continue;
		int bound = 0;
		for (size_t i = 0; i < c->nexpects && !bound; i++)
			bound = strcmp(c->expects[i].key, f->key) == 0 && case_expect_applies(c, i, b);
		if (!bound)
			return perr(p, "finding: expected an 'expect %s ...' line for backend %s that this finding "
				       "contradicts (a finding is bound to a documented expectation)",
				    f->key, backend_at(b)->name);
	}
	return 0;
}

static int finish_case(struct parser *p, struct sl_case *c, struct case_list *out)
{
	int save = p->line;
	p->line = c->line;
	int r = 0;
	if (!c->desc)
		r = perr(p, "case '%s': expected a 'desc' line", c->id);
	else if (c->nsources == 0)
		r = perr(p, "case '%s': expected at least one 'source' line naming where the expectations come from",
			 c->id);
	else if (c->nexpects == 0)
		r = perr(p, "case '%s': expected at least one 'expect' line", c->id);
	/* No `backends` line: the backends its experiment takes (its kind's
	 * .backends), else every backend. */
	const struct step_kind *ex = c->experiment.kind;
	if (r == 0 && !c->backends_named && ex && ex->backends) {
		if (strcmp(ex->backends, "none") == 0) {
			c->no_backend = 1;
			c->backends = 0;
		} else {
			char *list = xstrdup(ex->backends);
			r = parse_backend_list(p, list, &c->backends);
			free(list);
		}
	}
	for (size_t i = 0; r == 0 && i < c->nfindings; i++)
		r = bind_finding(p, c, &c->findings[i]);
	p->line = c->line;
	char why[256];
	const char *bgap = r == 0 ? case_backend_gap(c, why, sizeof why) : NULL;
	if (bgap)
		r = perr(p, "case '%s': %s", c->id, bgap);
	int kline = 0;
	const char *key = r == 0 ? case_unrecorded_key(c, &kline) : NULL;
	if (key) {
		p->line = kline;
		r = perr(p, "case '%s': expected a key that %s records, got '%s' (see 'spawnlab keys %s')", c->id,
			 c->experiment.kind ? c->experiment.kind->name : "the probe", key, c->id);
		p->line = c->line;
	}
	for (size_t b = 0; r == 0 && b <= backend_count(); b++) {
		const char *gap = case_has_unit(c, b) ? case_positive_control_gap(c, b) : NULL;
		if (gap)
			r = perr(p, "case '%s': expected a positive control for backend %s: %s", c->id,
				 sl_backends[b]->name, gap);
	}
	for (size_t i = 0; r == 0 && i < out->n; i++)
		if (strcmp(out->v[i]->id, c->id) == 0)
			r = perr(p, "expected a new case name: '%s' is already defined at %s:%d", c->id,
				 out->v[i]->file, out->v[i]->line);
	p->line = save;
	if (r < 0)
		return -1;
	if (out->n == out->cap) {
		out->cap = out->cap ? out->cap * 2 : 64;
		out->v = xrealloc(out->v, out->cap * sizeof *out->v);
	}
	out->v[out->n++] = c;
	return 0;
}

static int valid_name(const char *s)
{
	if (!*s || strlen(s) > 80)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return 0;
	return 1;
}

static char *family_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash || slash == path)
		return xstrdup("misc");
	const char *start = slash - 1;
	while (start > path && start[-1] != '/')
		start--;
	char *f = xmalloc((size_t)(slash - start) + 1);
	memcpy(f, start, (size_t)(slash - start));
	f[slash - start] = 0;
	return valid_name(f) ? f : (free(f), xstrdup("misc"));
}

/* One logical line: keyword and the rest. */
/* Split S into its keyword, with its [LIST] if any (which may hold
 * spaces), and the rest; S is modified. */
static char *split_keyword(char *s, char **rest)
{
	char *kw = s;
	int in_list = 0;
	while (*s && (in_list || (*s != ' ' && *s != '\t'))) {
		in_list = *s == '[' ? 1 : *s == ']' ? 0 : in_list;
		s++;
	}
	if (*s)
		*s++ = 0;
	while (*s == ' ' || *s == '\t')
		s++;
	*rest = s;
	return kw;
}

static int parse_line(struct parser *p, char *s, struct sl_case **cur, const char *family,
		      size_t *ncases)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t l = strlen(s);
	while (l && (s[l - 1] == ' ' || s[l - 1] == '\t' || s[l - 1] == '\r'))
		s[--l] = 0;
	if (!*s || *s == '#')
		return 0;
	char *rest, *kw = split_keyword(s, &rest);

	if (strcmp(kw, "case") == 0) {
		if (*cur)
			return perr(p, "expected one 'case' line per case block (internal error)");
		if (!valid_name(rest))
			return perr(p, "expected 'case NAME' with NAME of letters, digits, '_' and '-' (at most 80)");
		if (++*ncases > MAX_CASES_PER_FILE)
			return perr(p, "expected at most %d cases in one file", MAX_CASES_PER_FILE);
		struct sl_case *c = xcalloc(1, sizeof *c);
		c->id = xasprintf("%s/%s", family, rest);
		c->family = xstrdup(family);
		c->file = xstrdup(p->path);
		c->line = p->line;
		c->spawn.fds.stdio = 1;
		c->backends = 0;
		for (size_t i = 0; i < backend_count(); i++)
			c->backends |= 1UL << i;
		*cur = c;
		return 0;
	}
	struct sl_case *c = *cur;
	if (!c)
		return perr(p, "expected 'case NAME' before '%s'", kw);
	if (strcmp(kw, "desc") == 0) {
		if (c->desc)
			return perr(p, "expected one 'desc' per case");
		if (!*rest)
			return perr(p, "expected a one-line description after 'desc'");
		c->desc = xstrdup(rest);
	} else if (strcmp(kw, "source") == 0) {
		if (!*rest)
			return perr(p, "expected a reference after 'source' (man page section, kernel file)");
		if (c->nsources == CASE_MAX_SOURCES)
			return perr(p, "expected at most %d 'source' lines", CASE_MAX_SOURCES);
		return parse_source(p, &c->sources[c->nsources++], rest);
	} else if (strcmp(kw, "backends") == 0) {
		c->backends_named = 1;
		c->no_backend = strcmp(rest, "none") == 0;
		if (c->no_backend)
			c->backends = 0;
		else if (parse_backend_list(p, rest, &c->backends) < 0)
			return -1;
	} else if (strcmp(kw, "needs") == 0) {
		char *w[CASE_MAX_NEEDS + 1];
		int n = split_words(p, rest, w, CASE_MAX_NEEDS);
		if (n <= 0)
			return n < 0 ? -1 : perr(p, "expected feature names after 'needs' (see 'spawnlab features')");
		for (int i = 0; i < n; i++) {
			if (strcmp(w[i], "root") == 0) {
				c->needs_root = 1;
				continue;
			}
			if (!feature_find(w[i]))
				return perr(p, "expected a feature from 'spawnlab features' or 'root', got '%s'", w[i]);
			if (c->nneeds == CASE_MAX_NEEDS)
				return perr(p, "expected at most %d needs", CASE_MAX_NEEDS);
			c->needs[c->nneeds++] = xstrdup(w[i]);
		}
	} else if (strncmp(kw, "finding", 7) == 0 && (kw[7] == 0 || kw[7] == '[')) {
		return parse_finding(p, c, kw, rest);
	} else if (strcmp(kw, "explicit") == 0) {
		if (*rest)
			return perr(p, "expected nothing after 'explicit'");
		c->explicit_only = 1;
	} else if (strcmp(kw, "show") == 0) {
		char *w[CASE_MAX_SHOW + 1];
		int n = split_words(p, rest, w, CASE_MAX_SHOW);
		if (n <= 0)
			return n < 0 ? -1 : perr(p, "expected observation keys after 'show' (like num.leaks)");
		for (int i = 0; i < n; i++) {
			if (!valid_key(w[i]))
				return perr(p, "expected an observation key after 'show', got '%s'", w[i]);
			if (c->nshow == CASE_MAX_SHOW)
				return perr(p, "expected at most %d keys to show", CASE_MAX_SHOW);
			c->show[c->nshow++] = xstrdup(w[i]);
		}
	} else if (strcmp(kw, "timeout") == 0) {
		long t;
		if (parse_long(rest, 10, 1, CASE_TIMEOUT_MAX, &t) < 0)
			return perr(p, "expected 'timeout SECONDS' with 1..%d", CASE_TIMEOUT_MAX);
		c->timeout = (int)t;
	} else if (strcmp(kw, "setup") == 0) {
		return parse_setup(p, c, rest);
	} else if (strcmp(kw, "spawn") == 0) {
		return parse_spawn(p, c, rest);
	} else if (strcmp(kw, "run") == 0) {
		return parse_run(p, c, rest);
	} else if (strncmp(kw, "expect", 6) == 0 && (kw[6] == 0 || kw[6] == '[')) {
		return parse_expect(p, c, kw, rest);
	} else {
		return perr(p, "expected a keyword (case, desc, source, backends, needs, timeout, finding, explicit, "
			       "show, setup, spawn, run, expect), got '%s'",
			    kw);
	}
	return 0;
}

static int parse_text(const char *path, char *text, size_t len, struct case_list *out);

int case_parse_file(const char *path, struct case_list *out)
{
	struct parser p = {path, 0, NULL};
	size_t len;
	char *text = read_file(path, MAX_FILE_BYTES, &len);
	if (!text) {
		if (errno == EFBIG)
			return perr(&p, "expected a case file of at most %u bytes", MAX_FILE_BYTES);
		return perr(&p, "cannot read: %s", strerror(errno));
	}
	return parse_text(path, text, len, out);
}

int case_parse_buffer(const char *path, const char *data, size_t len, struct case_list *out)
{
	struct parser p = {path, 0, NULL};
	if (len > MAX_FILE_BYTES)
		return perr(&p, "expected a case file of at most %u bytes", MAX_FILE_BYTES);
	char *text = malloc(len + 1);
	if (!text)
		return perr(&p, "cannot parse: %s", strerror(errno));
	memcpy(text, data, len);
	text[len] = 0;
	return parse_text(path, text, len, out);
}

/* One statement of a file: its text (trimmed, writable) and line. */
struct stmt {
	char *s;
	int line;
};

/* The keyword of a statement, without its [LIST]: "expect[fork]" -> "expect". */
static int kw_is(const char *s, const char *kw)
{
	size_t l = strlen(kw);
	return strncmp(s, kw, l) == 0 && (s[l] == 0 || s[l] == ' ' || s[l] == '\t' || s[l] == '[');
}

static int is_directive(const char *s)
{
	return kw_is(s, "for") || kw_is(s, "vary") || kw_is(s, "let");
}

/* table NAME COL..., then row and source lines until the next case or table. */
static int parse_table(struct parser *p, struct stmt *st, size_t n, size_t *i, struct tmpl_tables *tabs)
{
	char err[256] = "";
	char *w[TMPL_MAX_COLS + 2];
	p->line = st[*i].line;
	char *rest;
	split_keyword(st[*i].s, &rest);
	int nw = split_words(p, rest, w, TMPL_MAX_COLS + 1);
	if (nw < 0)
		return -1;
	if (nw < 2)
		return perr(p, "expected 'table NAME COLUMN...' with at least one column");
	struct tmpl_table *t = tmpl_add_table(tabs, w[0], w + 1, (size_t)nw - 1, p->line, err, sizeof err);
	if (!t)
		return perr(p, "%s", err);
	for ((*i)++; *i < n && !kw_is(st[*i].s, "case") && !kw_is(st[*i].s, "table"); (*i)++) {
		p->line = st[*i].line;
		char *kw = split_keyword(st[*i].s, &rest);
		if (strcmp(kw, "row") == 0) {
			char *v[TMPL_MAX_COLS + 1];
			int nv = split_words(p, rest, v, TMPL_MAX_COLS);
			if (nv < 0 || tmpl_add_row(t, v, (size_t)nv, p->line, err, sizeof err) < 0)
				return nv < 0 ? -1 : perr(p, "%s", err);
		} else if (strcmp(kw, "source") == 0) {
			if (!*rest)
				return perr(p, "expected a reference after 'source'");
			if (t->nsources == TMPL_MAX_SOURCES)
				return perr(p, "expected at most %d 'source' lines for a table", TMPL_MAX_SOURCES);
			t->sources[t->nsources++] = xstrdup(rest);
		} else {
			return perr(p, "expected 'row VALUE...' or 'source' in table '%s', or 'case NAME', got '%s'",
				    t->name, kw);
		}
	}
	if (t->nrows == 0)
		return perr(p, "table '%s': expected at least one 'row'", t->name);
	return 0;
}

/* Read the statements of one case (a copy of each, since reading modifies
 * them) into a finished case. */
static int read_case(struct parser *p, struct stmt *st, size_t n, const struct tmpl_binding *b,
		     const struct tmpl_tables *tabs, struct case_list *out, const char *family, size_t *ncases)
{
	struct sl_case *cur = NULL;
	int r = 0;
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (is_directive(st[i].s))
			continue;
		p->line = st[i].line;
		char *line;
		if (b) {
			char *copy = xstrdup(st[i].s), *rest, *kw = split_keyword(copy, &rest), *fkw;
			int applies = tmpl_filter_keyword(b, kw, &fkw);
			char *joined = xasprintf("%s %s", fkw, rest);
			line = tmpl_subst(b, joined);
			free(joined);
			free(fkw);
			free(copy);
			if (!applies) {
				free(line);
				continue;
			}
		} else {
			line = xstrdup(st[i].s);
		}
		r = parse_line(p, line, &cur, family, ncases);
		free(line);
		/* A table's own sources go with every case made from it. */
		for (size_t t = 0; r == 0 && b && i == 0 && t < tabs->n; t++)
			for (size_t k = 0; r == 0 && (b->used & (1u << t)) && k < tabs->v[t].nsources; k++) {
				char *src = tmpl_subst(b, tabs->v[t].sources[k]);
				char *sl = xasprintf("source %s", src);
				r = parse_line(p, sl, &cur, family, ncases);
				free(sl);
				free(src);
			}
	}
	if (r == 0 && cur) {
		r = finish_case(p, cur, out);
		if (r == 0)
			cur = NULL;
	}
	case_free(cur);
	return r;
}

/* A case block: plain, or a template with for/vary/let lines. */
static int parse_block(struct parser *p, struct stmt *st, size_t n, const struct tmpl_tables *tabs,
		       struct case_list *out, const char *family, size_t *ncases)
{
	int tmpl = 0;
	for (size_t i = 0; i < n; i++)
		tmpl |= is_directive(st[i].s);
	if (!tmpl)
		return read_case(p, st, n, NULL, tabs, out, family, ncases);
	struct tmpl_bindings bs;
	tmpl_bindings_init(&bs);
	/* The directives' words must outlive the bindings that borrow names
	 * from them. */
	char **keep = xcalloc(n, sizeof *keep);
	int r = 0;
	char err[256] = "";
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (!is_directive(st[i].s))
			continue;
		p->line = st[i].line;
		keep[i] = xstrdup(st[i].s);
		char *rest, *kw = split_keyword(keep[i], &rest);
		char *w[TMPL_MAX_ROWS + 3];
		if (strcmp(kw, "let") == 0) {
			char *name = next_word(&rest), *eq = next_word(&rest);
			if (strcmp(eq, "=") != 0 || !*rest)
				r = perr(p, "expected 'let NAME = TEXT'");
			else if (tmpl_let(&bs, name, rest, err, sizeof err) < 0)
				r = perr(p, "%s", err);
			continue;
		}
		int nw = split_words(p, rest, w, TMPL_MAX_ROWS + 2);
		if (nw < 0) {
			r = -1;
		} else if (strcmp(kw, "for") == 0) {
			if (nw == 0)
				r = perr(p, "expected 'for TABLE...' naming tables defined above");
			for (int k = 0; r == 0 && k < nw; k++)
				if (tmpl_for(&bs, tabs, w[k], err, sizeof err) < 0)
					r = perr(p, "%s", err);
		} else if (nw < 3 || strcmp(w[1], "=") != 0) {
			r = perr(p, "expected 'vary NAME = VALUE...'");
		} else if (tmpl_vary(&bs, w[0], w + 2, (size_t)nw - 2, err, sizeof err) < 0) {
			r = perr(p, "%s", err);
		}
	}
	for (size_t k = 0; r == 0 && k < bs.n; k++) {
		char *what = tmpl_describe(&bs.v[k]);
		p->instance = what;
		r = read_case(p, st, n, &bs.v[k], tabs, out, family, ncases);
		p->instance = NULL;
		free(what);
	}
	tmpl_bindings_free(&bs);
	for (size_t i = 0; i < n; i++)
		free(keep[i]);
	free(keep);
	return r;
}

/* Parse TEXT (LEN bytes, writable, NUL after them), then free it. */
static int parse_text(const char *path, char *text, size_t len, struct case_list *out)
{
	struct parser p = {path, 0, NULL};
	char *family = family_of(path);
	struct stmt *st = NULL;
	size_t n = 0, cap = 0, ncases = 0, before = out->n;
	int r = 0;
	char *s = text;
	while (r == 0 && s < text + len) {
		p.line++;
		char *eol = memchr(s, '\n', (size_t)(text + len - s));
		size_t l = eol ? (size_t)(eol - s) : (size_t)(text + len - s);
		if (memchr(s, 0, l)) {
			r = perr(&p, "expected text, found a NUL byte");
			break;
		}
		if (l > MAX_LINE) {
			r = perr(&p, "expected a line of at most %d bytes", MAX_LINE);
			break;
		}
		s[l] = 0;
		char *t = s;
		s += l + 1;
		while (*t == ' ' || *t == '\t')
			t++;
		size_t tl = strlen(t);
		while (tl && (t[tl - 1] == ' ' || t[tl - 1] == '\t' || t[tl - 1] == '\r'))
			t[--tl] = 0;
		if (!*t || *t == '#')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			st = xrealloc(st, cap * sizeof *st);
		}
		st[n++] = (struct stmt){t, p.line};
	}
	struct tmpl_tables tabs = {0};
	for (size_t i = 0; r == 0 && i < n;) {
		p.line = st[i].line;
		if (kw_is(st[i].s, "table")) {
			r = parse_table(&p, st, n, &i, &tabs);
		} else if (kw_is(st[i].s, "case")) {
			size_t j = i + 1;
			while (j < n && !kw_is(st[j].s, "case") && !kw_is(st[j].s, "table"))
				j++;
			r = parse_block(&p, st + i, j - i, &tabs, out, family, &ncases);
			i = j;
		} else {
			char *rest, *kw = split_keyword(st[i].s, &rest);
			r = perr(&p, "expected 'case NAME' before '%s' (or 'table NAME COLUMN...')", kw);
		}
	}
	if (r == 0 && ncases == 0) {
		p.line = p.line ? p.line : 1;
		r = perr(&p, "expected at least one 'case NAME' in the file");
	}
	if (r < 0)
		while (out->n > before)
			case_free(out->v[--out->n]);
	tmpl_tables_free(&tabs);
	free(st);
	free(family);
	free(text);
	return r;
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a > b && strcmp(s + a - b, suf) == 0;
}

int case_load_dir(const char *dir, struct case_list *out)
{
	DIR *top = opendir(dir);
	if (!top) {
		fprintf(stderr, "spawnlab: cannot open case folder %s: %s\n", dir, strerror(errno));
		return -1;
	}
	char **paths = NULL;
	size_t n = 0, cap = 0;
	struct dirent *fam;
	while ((fam = readdir(top))) {
		if (fam->d_name[0] == '.')
			continue;
		char *fdir = xasprintf("%s/%s", dir, fam->d_name);
		DIR *d = opendir(fdir);
		if (!d && errno != ENOTDIR) {
			fprintf(stderr, "spawnlab: cannot open case folder %s: %s\n", fdir, strerror(errno));
			free(fdir);
			for (size_t i = 0; i < n; i++)
				free(paths[i]);
			free(paths);
			closedir(top);
			return -1;
		}
		if (d) {
			struct dirent *e;
			while ((e = readdir(d)))
				if (e->d_name[0] != '.' && has_suffix(e->d_name, ".case")) {
					if (n == cap) {
						cap = cap ? cap * 2 : 64;
						paths = xrealloc(paths, cap * sizeof *paths);
					}
					paths[n++] = xasprintf("%s/%s", fdir, e->d_name);
				}
			closedir(d);
		}
		free(fdir);
	}
	closedir(top);
	if (n)
		qsort(paths, n, sizeof *paths, cmpstr);
	int r = 0;
	for (size_t i = 0; i < n; i++) {
		if (r == 0 && case_parse_file(paths[i], out) < 0)
			r = -1;
		free(paths[i]);
	}
	free(paths);
	return r;
}
