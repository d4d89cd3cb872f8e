/* case.h: a parsed case file.  The language is documented for case authors
 * in cases/README.md; this is its in-memory form. */
#ifndef SPAWNLAB_CASE_H
#define SPAWNLAB_CASE_H

#include <stddef.h>

#include "backends/backend.h"

#define CASE_MAX_ARGS 8
#define CASE_MAX_STEPS 64
#define CASE_MAX_EXPECT 128
#define CASE_MAX_SOURCES 8
#define CASE_MAX_NEEDS 8
#define CASE_MAX_BACKENDS 16
#define CASE_MAX_SHOW 8
#define CASE_MAX_FINDINGS 8
#define CASE_TIMEOUT_MAX 300 /* seconds, per backend run */

enum arg_type {
	ARG_FD,     /* 0..1023 */
	ARG_SIG,    /* signal name or number */
	ARG_INT,    /* decimal integer >= 0 */
	ARG_OCTAL,  /* 0..07777 */
	ARG_PATH,   /* string, $tmp expanded at run time */
	ARG_OFLAGS, /* O_RDONLY|O_CLOEXEC... */
	ARG_BOOL,   /* yes/no, on/off */
	ARG_CHOICE, /* one word of the spec's choices */
};

struct arg_spec {
	const char *name;
	enum arg_type type;
	int required;
	const char *def;     /* default, in source form; NULL if none */
	const char *choices; /* ARG_CHOICE: "a|b|c" */
};

#define STEP_UNSUPPORTED (-2)

struct step_ctx; /* the spawner's state while set-up runs (case_step.c) */

/* A kind of set-up step or experiment.  Each is declared once, in its
 * own file, with its arguments (indexed by an enum there), the keys it
 * records and the backends it takes; the command line hands the sets to
 * the core (case_use_kinds), which names no family itself. */
#define KIND_ALONE 1u       /* measures time, rates or races: runs with nothing beside it */
#define KIND_PROBE_KEYS 2u  /* also records the probe's keys (its children are probes) */
struct step_kind {
	const char *name;
	const char *summary;
	struct arg_spec args[CASE_MAX_ARGS];
	/* Run in the spawner; 0, or -1 with a message in ERR (the set-up broke:
	 * the unit is an error), or STEP_UNSUPPORTED with the reason in ERR
	 * (this kernel or libc lacks what the step needs: the unit is a skip,
	 * e.g. "io_uring_setup: ENOSYS"). */
	int (*run)(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen);
	/* The keys it records: space-separated patterns, where {a,b} is a
	 * choice, # a number and * one word (the key registry: an expectation
	 * on a key nothing records does not load). */
	const char *keys;
	unsigned flags;
	/* NULL: any backend.  "none": it makes its own children (the case says
	 * `backends none`).  Else the backends whose own API it calls, "a,b". */
	const char *backends;
};

/* The sets of kinds the cases may use (arrays ended by one with no name,
 * lists ended by NULL); the command line calls this before loading cases. */
void case_use_kinds(const struct step_kind *const *step_sets, const struct step_kind *const *experiment_sets);
/* The kind called NAME among the experiments (EXPERIMENT) or the steps; NULL if none. */
const struct step_kind *case_kind(int experiment, const char *name);
/* Whether KEY is one of PATTERNS (a kind's keys). */
int case_key_matches(const char *patterns, const char *key);

struct step {
	const struct step_kind *kind;
	int line;
	long iv[CASE_MAX_ARGS];  /* parsed numbers, signals, flags, bools */
	char *sv[CASE_MAX_ARGS]; /* the source text of each argument */
};

enum expect_op { OP_EQ, OP_NE, OP_MATCH, OP_NOMATCH, OP_LT, OP_LE, OP_GT, OP_GE };

struct expect {
	int line;
	unsigned long backends; /* bit per sl_backends[] index; 0 = every backend */
	char *key;
	enum expect_op op;
	char *value;
};

/* Where an expectation comes from.  Typed, "man:signal.7 TEXT",
 * "linux:fs/exec.c de_thread", "posix:posix_spawn", "glibc:PATH",
 * "musl:PATH", "commit:SHA" (a Linux commit), "spawnlab:PATH" (this
 * repository): TYPE and REF are set, so
 * reports can link and diffs can name what a change touches.  Free text:
 * TYPE and REF are NULL. */
struct source {
	char *type;
	char *ref;
	char *text; /* the rest of the line; may be empty for a typed source */
};

/* A known finding: the machine disagrees with the documented expectation
 * on KEY for these backends, and does what KEY OP VALUE says instead
 * (kselftest's XFAIL_ADD granularity: one expectation, one backend or
 * group).  The unit is xfail only when the documented expectation fails
 * and this one holds; see case_check.c. */
struct finding {
	int line;
	unsigned long backends; /* bit per sl_backends[] index; 0 = every backend */
	char *libc;             /* "glibc", "musl", "glibc<2.38"...: only under that libc; NULL: any */
	char *kernel;           /* "<6.1", ">=6.9": only on a running kernel of such a release; NULL: any */
	char *key;
	enum expect_op op;
	char *value; /* what the machine does */
	char *why;   /* why, with its source */
};

struct spawn_spec {
	int line;
	struct sl_fdplan fds; /* map=, stdio=, keep=, close=, closefrom= (backend.h) */
	char *program;   /* NULL: the probe */
	int probe_exit;  /* exit code the probe ends with */
	int probe_sleep_ms; /* the probe sleeps this long after reporting */
	int block_sigchld;  /* block SIGCHLD before the spawn call, not after */
};

struct sl_case {
	char *id;     /* family/name */
	char *family;
	char *file;
	int line;
	char *desc;
	struct source sources[CASE_MAX_SOURCES];
	size_t nsources;
	unsigned long backends; /* bit per backend; by default all, or those its experiment takes */
	int backends_named;     /* the case has a `backends` line */
	char *needs[CASE_MAX_NEEDS];
	size_t nneeds;
	int needs_root;
	int explicit_only; /* run only when a pattern selects it (benchmarks) */
	int no_backend;    /* `backends none`: one unit, on backend_none (unit index backend_count()) */
	struct finding findings[CASE_MAX_FINDINGS];
	size_t nfindings;
	char *show[CASE_MAX_SHOW]; /* keys the text output shows per backend */
	size_t nshow;
	int timeout; /* seconds; 0: the run's default */
	struct step *steps; /* nsteps of them, at most CASE_MAX_STEPS (grown as parsed: a case
			     * is held by every forked unit, so it holds no unused room) */
	size_t nsteps;
	struct spawn_spec spawn;
	struct step experiment; /* kind NULL: spawn the probe */
	struct expect *expects; /* nexpects of them, at most CASE_MAX_EXPECT, grown as parsed */
	size_t nexpects;
};

struct case_list {
	struct sl_case **v;
	size_t n, cap;
};

/* Parse FILE (family taken from its folder name) and append its cases.
 * Returns 0, or -1 after printing "FILE:LINE: expected ..." to stderr. */
int case_parse_file(const char *path, struct case_list *out);
/* The same for LEN bytes of DATA, named PATH in messages (the fuzzer's). */
int case_parse_buffer(const char *path, const char *data, size_t len, struct case_list *out);
/* Parse every cases/<family>/ *.case under DIR, sorted by path. */
int case_load_dir(const char *dir, struct case_list *out);
void case_list_free(struct case_list *l);
/* The judge (case_check.c): operators, which expectations apply, and the
 * positive-control check the loader runs on every case. */
const char *expect_op_name(enum expect_op op);
/* The source types a typed 'source' line may start with, NULL-terminated. */
extern const char *const sl_source_types[];
/* Whether expectation I of C applies to backend B: a backend-specific line
 * replaces the general ones on its key and sub-keys (case_check.c). */
int case_expect_applies(const struct sl_case *c, size_t i, size_t b);
/* Whether C has a unit on backend index B: B is in its `backends` list, or
 * B is backend_count() and the case says `backends none`.  A backend the
 * case does not name gets no unit at all (not a skip). */
int case_has_unit(const struct sl_case *c, size_t b);
/* A finding's libc condition: "glibc" or "musl", optionally bounded by a
 * version ("glibc<2.38", "musl>=1.2.4").  Valid form; and whether LIBC at
 * VERSION satisfies it (an unknown version satisfies no bound). */
int libc_cond_valid(const char *cond);
int libc_cond_holds(const char *cond, const char *libc, const char *version);
/* A finding's kernel condition, "<6.1" or ">=6.9" (a bound on the running
 * kernel's release, compared numerically: 6.1.0-50-amd64 is 6.1.0). */
int kernel_cond_valid(const char *cond);
int kernel_cond_holds(const char *cond, const char *release);
/* Every case has a positive control: NULL when C's expectations for
 * backend B fail on an empty observation (a probe or experiment that
 * reported nothing) and its fd expectations fail when the probe sees no
 * fds; else what is missing (case_check.c). */
const char *case_positive_control_gap(const struct sl_case *c, size_t b);
/* The key registry (case_keys.c): the first key C expects, finds or shows
 * that nothing in C records (the runner, the probe for a spawn, its steps'
 * and experiment's declared keys), with its line in *LINE; else NULL. */
const char *case_unrecorded_key(const struct sl_case *c, int *line);
/* Every key pattern something in C records, space-separated, into OUT. */
struct sbuf;
void case_key_patterns(const struct sl_case *c, struct sbuf *out);
/* NULL when C's backends suit its experiment and steps (their .backends),
 * else what is wrong, written into BUF. */
const char *case_backend_gap(const struct sl_case *c, char *buf, size_t len);

#endif
