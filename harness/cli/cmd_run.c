/* cmd_run.c: `spawnlab run`: select cases, run each case with each
 * backend in its sandbox, stream text or TAP, write result.json. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backends/backend.h"
#include "cli/cmd.h"
#include "lib/feature.h"
#include "core/run.h"
#include "out/out.h"
#include "core/sandbox.h"
#include "lib/util.h"

enum fmt { FMT_TEXT, FMT_TAP, FMT_JSON, FMT_JUNIT };
/* Text output: every case's lines (not a terminal, or --verbose), one
 * status line on a terminal with only what went wrong above it, or only
 * the summary (--quiet). */
enum view { VIEW_LINES, VIEW_STATUS, VIEW_QUIET };

static volatile sig_atomic_t interrupted;
static int bench_table; /* set by cmd_bench */

static void on_stop(int sig)
{
	interrupted = sig;
	sandbox_interrupt(); /* wakes the running unit's wait: it is killed at once */
}

static int names_explicit(const struct case_list *cl, const struct sl_case *c, const char *pat)
{
	size_t fl = strlen(c->family);
	size_t lit = strcspn(pat, "*?[");
	if (lit > fl + 1 && (pat[fl] == '/' || pat[fl] == '.'))
		return 1; /* the id, or a glob naming something inside the family */
	for (size_t i = 0; i < cl->n; i++)
		if (strcmp(cl->v[i]->family, c->family) == 0 && !cl->v[i]->explicit_only)
			return 0;
	return 1; /* a family of explicit cases only */
}

static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			if (mkdir(buf, 0755) < 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	return mkdir(buf, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

/* Whether result.json can be created in DIR: 0, or -1 with errno. */
static int try_write_in(const char *dir)
{
	char *p = xasprintf("%s/result.json.tmp", dir);
	int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	int e = errno;
	if (fd >= 0) {
		close(fd);
		unlink(p);
	}
	free(p);
	errno = e;
	return fd < 0 ? -1 : 0;
}

static char *default_out_dir(void)
{
	char stamp[32];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
	/* reports/ beside the build is the repository's; runs/ under it is
	 * not tracked and is created by mkdir_p when the run starts. */
	char *reports = path_beside_exe("../reports"), *runs;
	struct stat st;
	if (stat(reports, &st) == 0 && S_ISDIR(st.st_mode))
		runs = xasprintf("%s/runs", reports);
	else
		runs = xstrdup("reports/runs");
	free(reports);
	/* Two runs in the same second get distinct folders. */
	for (int i = 0; i < 100; i++) {
		char *d = i ? xasprintf("%s/%s-%d", runs, stamp, i) : xasprintf("%s/%s", runs, stamp);
		struct stat s2;
		if (stat(d, &s2) < 0) {
			free(runs);
			return d;
		}
		free(d);
	}
	free(runs);
	return xasprintf("reports/runs/%s-%ld", stamp, (long)getpid());
}

/* Units at once by default: two per CPU this process may use (most units
 * wait far more than they compute), at most 8. */
static int default_jobs(void)
{
	cpu_set_t set;
	int n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
	return n < 1 ? 2 : n > 4 ? 8 : 2 * n;
}

struct out_ctx {
	enum fmt fmt;
	enum view view;
	uint64_t start_us, shown_us; /* run started, status line last drawn */
};

/* The status line, redrawn at most ten times a second. */
static void status(struct run *r, struct out_ctx *o, int now)
{
	uint64_t t = mono_us();
	if (!now && t < o->shown_us + 100000)
		return;
	o->shown_us = t;
	out_text_status(stdout, r, o->start_us);
}

static void emit_case(struct run *r, struct case_run *cr, size_t idx, void *arg)
{
	struct out_ctx *o = arg;
	if (o->fmt == FMT_TAP) {
		out_tap_case(stdout, r, cr, idx);
	} else if (o->fmt == FMT_TEXT && o->view == VIEW_LINES) {
		out_text_case(stdout, r, cr, idx);
	} else if (o->fmt == FMT_TEXT && o->view == VIEW_STATUS) {
		int bad = cr->outcome == OUT_FAIL || cr->outcome == OUT_ERROR || cr->outcome == OUT_XPASS;
		if (bad) {
			out_text_status_clear(stdout);
			out_text_case(stdout, r, cr, idx);
		}
		status(r, o, bad);
	}
}

static void tick(struct run *r, void *arg)
{
	struct out_ctx *o = arg;
	if (o->fmt == FMT_TEXT && o->view == VIEW_STATUS)
		status(r, o, 0);
}

static int parse_backends(const char *list, unsigned long *mask)
{
	char *copy = xstrdup(list), *save = NULL;
	*mask = 0;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int found = 0;
		for (size_t i = 0; sl_backends[i]; i++)
			if (strcmp(sl_backends[i]->name, t) == 0 || strcmp(t, "all") == 0)
				*mask |= 1UL << i, found = 1;
		if (!found) {
			cmd_usage_error("--backend: unknown backend '%s' (see 'spawnlab backends')", t);
			free(copy);
			return -1;
		}
	}
	free(copy);
	return *mask ? 0 : (cmd_usage_error("--backend: %s", "expected a comma-separated list"), -1);
}

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{"backend", required_argument, 0, 'b'}, {"format", required_argument, 0, 'f'},
		{"out", required_argument, 0, 'o'},     {"timeout", required_argument, 0, 't'},
		{"probe", required_argument, 0, 'p'},   {"cases", required_argument, 0, 'c'},
		{"jobs", required_argument, 0, 'j'},    {"verbose", no_argument, 0, 'v'},
		{"quiet", no_argument, 0, 'q'},         {"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	struct run r;
	memset(&r, 0, sizeof r);
	enum fmt fmt = FMT_TEXT;
	int verbose = 0, quiet = 0, jobs_given = 0;
	char room_why[160] = "";
	r.jobs = default_jobs();
	const char *out_dir = NULL, *probe = NULL, *cdir = NULL;
	r.timeout_s = 10;
	for (size_t i = 0; sl_backends[i]; i++)
		r.backends |= 1UL << i;
	opterr = 0;
	optind = 1;
	int ch;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end;
		long v;
		switch (ch) {
		case 'b':
			if (parse_backends(optarg, &r.backends) < 0)
				return 2;
			break;
		case 'f':
			if (strcmp(optarg, "text") == 0)
				fmt = FMT_TEXT;
			else if (strcmp(optarg, "tap") == 0 || strcmp(optarg, "ktap") == 0)
				fmt = FMT_TAP;
			else if (strcmp(optarg, "json") == 0)
				fmt = FMT_JSON;
			else if (strcmp(optarg, "junit") == 0)
				fmt = FMT_JUNIT;
			else
				return cmd_usage_error("--format: expected text, tap, json or junit, got '%s'", optarg);
			break;
		case 'o':
			out_dir = optarg;
			break;
		case 't':
			v = strtol(optarg, &end, 10);
			if (*end || end == optarg || v < 1 || v > CASE_TIMEOUT_MAX)
				return cmd_usage_error("--timeout: expected seconds 1..300, got '%s'", optarg);
			r.timeout_s = (int)v;
			break;
		case 'p':
			probe = optarg;
			break;
		case 'c':
			cdir = optarg;
			break;
		case 'j':
			v = strtol(optarg, &end, 10);
			if (*end || end == optarg || v < 1 || v > 64)
				return cmd_usage_error("--jobs: expected 1..64 units at once, got '%s'", optarg);
			r.jobs = (int)v;
			jobs_given = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			fputs("usage: spawnlab run [PATTERN...] [--backend LIST] [--format text|tap|json|junit] [--out DIR]\n"
			      "                    [--timeout SECONDS] [--probe PATH] [--cases DIR] [--jobs N]\n"
			      "                    [--verbose | --quiet]\n",
			      stdout);
			return 0;
		case ':':
			return cmd_usage_error("run: option '%s' needs a value", argv[optind - 1]);
		default:
			return cmd_usage_error("run: unknown option '%s'", argv[optind - 1]);
		}
	}
	if (verbose && quiet)
		return cmd_usage_error("run: %s", "--verbose and --quiet exclude each other");
	if (!jobs_given)
		r.jobs = run_room(r.jobs, room_why, sizeof room_why);
	const char *term = getenv("TERM");
	enum view view = quiet ? VIEW_QUIET
			 : !verbose && isatty(STDOUT_FILENO) && !(term && strcmp(term, "dumb") == 0) ? VIEW_STATUS
												   : VIEW_LINES;
	/* Patterns may be mixed with options: collect the non-options left. */
	r.patterns = (const char *const *)(argv + optind);
	r.npatterns = argc - optind;
	for (int i = 0; i < r.npatterns; i++)
		if (r.patterns[i][0] == '-')
			return cmd_usage_error("run: options must come before patterns; got '%s' after a pattern",
					       r.patterns[i]);

	/* Stop cleanly from here on: a signal before the first unit still
	 * gives a (empty, incomplete) result. */
	if (sandbox_interruptible() < 0)
		fprintf(stderr, "spawnlab: warning: interruption pipe: %s; a signal waits for the running unit\n",
			strerror(errno));
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	char *probe_path = probe ? realpath(probe, NULL) : NULL;
	if (probe && !probe_path)
		return cmd_usage_error("--probe: cannot find '%s'", probe);
	if (!probe_path) {
		char *p = path_beside_exe("probe");
		probe_path = realpath(p, NULL);
		free(p);
		if (!probe_path)
			return cmd_usage_error("%s", "no probe beside the spawnlab binary; give --probe PATH");
	}
	struct stat pst;
	if (stat(probe_path, &pst) < 0 || !S_ISREG(pst.st_mode) || access(probe_path, X_OK) < 0) {
		cmd_usage_error("--probe: '%s' is not an executable file", probe_path);
		free(probe_path);
		return 2;
	}
	r.probe = probe_path;
	r.cases_dir = cases_dir(cdir);

	struct case_list cl = {0};
	if (case_load_dir(r.cases_dir, &cl) < 0) {
		free(probe_path);
		case_list_free(&cl);
		return 2;
	}
	r.cr = xcalloc(cl.n ? cl.n : 1, sizeof *r.cr);
	for (int p = 0; p < r.npatterns; p++) {
		int any = 0;
		for (size_t i = 0; i < cl.n && !any; i++)
			any = case_matches(cl.v[i]->id, r.patterns[p]);
		if (!any) {
			cmd_usage_error("run: no case matches '%s' (see 'spawnlab list')", r.patterns[p]);
			free(r.cr);
			free(probe_path);
			case_list_free(&cl);
			return 2;
		}
	}
	for (size_t i = 0; i < cl.n; i++) {
		/* Explicit cases (benchmarks, long races) run only when a pattern
		 * names them: by id, by a glob that reaches into the family
		 * (fd/race_*), or by a family that has nothing else (bench). */
		int ok = r.npatterns == 0 && !cl.v[i]->explicit_only;
		for (int p = 0; p < r.npatterns && !ok; p++)
			ok = case_matches(cl.v[i]->id, r.patterns[p]) &&
			     (!cl.v[i]->explicit_only || names_explicit(&cl, cl.v[i], r.patterns[p]));
		/* A case none of whose backends the run selected has nothing to
		 * run here: it is left out, as not applicable, not skipped. */
		int units = 0;
		for (size_t b = 0; ok && b <= backend_count() && !units; b++)
			units = run_has_unit(&r, cl.v[i], b);
		if (ok && units)
			r.cr[r.n++].c = cl.v[i];
	}

	char *outd = out_dir ? xstrdup(out_dir) : default_out_dir();
	const char *bad = mkdir_p(outd) < 0 ? "cannot create output folder" :
			  try_write_in(outd) < 0 ? "cannot write in output folder" : NULL;
	if (bad) {
		/* Found out now, not after the whole run. */
		fprintf(stderr, "spawnlab: %s %s: %s\n", bad, outd, strerror(errno));
		free(outd);
		free(r.cr);
		free(probe_path);
		case_list_free(&cl);
		return 2;
	}
	r.out_dir = outd;
	/* $TMPDIR when set (the tests give each run its own), else /tmp. */
	const char *tdir = getenv("TMPDIR");
	char *tmpl = xasprintf("%s/spawnlab.XXXXXX", tdir && tdir[0] == '/' ? tdir : "/tmp");
	char *tmproot = mkdtemp(tmpl);
	if (!tmproot) {
		fprintf(stderr, "spawnlab: mkdtemp %s: %s\n", tmpl, strerror(errno));
		free(tmpl);
		free(outd);
		free(r.cr);
		free(probe_path);
		case_list_free(&cl);
		return 1;
	}
	struct run_opts ro = {probe_path, tmproot, r.timeout_s};

	/* Decide everything the environment reports before the clock starts
	 * and, above all, before result.json is open: feature probes fork, and
	 * a child must never inherit a half-written stdio buffer. */
	sandbox_kind();
	for (size_t i = 0; i < sl_nfeatures; i++)
		feature_state(&sl_features[i], &(const char *){NULL});
	fflush(NULL);
	clock_gettime(CLOCK_REALTIME, &r.start);
	run_families(&r);
	if (fmt == FMT_TEXT && view == VIEW_STATUS) {
		char *runs = xasprintf("%s/..", outd), *base = path_beside_exe("../reports/baselines");
		run_history(&r, runs, base);
		free(runs);
		free(base);
	}
	if (fmt == FMT_TAP)
		out_tap_header(stdout, &r);
	else if (fmt == FMT_TEXT && view != VIEW_QUIET)
		printf("spawnlab: %zu cases, sandbox %s, probe %s, up to %d unit%s at once%s%s%s\n", r.n,
		       sandbox_kind_name(sandbox_kind()), probe_path, r.jobs, r.jobs == 1 ? "" : "s",
		       room_why[0] ? " (" : "", room_why, room_why[0] ? ")" : "");
	r.complete = 1;
	struct out_ctx oc = {fmt, view, mono_us(), 0};
	run_cases(&r, &ro, &interrupted, emit_case, tick, &oc);
	if (fmt == FMT_TEXT && view == VIEW_STATUS)
		out_text_status_clear(stdout);
	clock_gettime(CLOCK_REALTIME, &r.end);
	rm_tree(tmproot);
	free(tmpl);

	char *rpath = xasprintf("%s/result.json", outd);
	char *tpath = xasprintf("%s/result.json.tmp", outd);
	FILE *f = fopen(tpath, "we");
	int wrote = 0;
	if (f) {
		result_json(f, &r);
		wrote = fclose(f) == 0 && rename(tpath, rpath) == 0;
	}
	if (!wrote)
		fprintf(stderr, "spawnlab: cannot write %s: %s\n", rpath, strerror(errno));
	else if (out_junit_file(&r, outd) < 0) /* junit.xml beside result.json, for CI test reports */
		wrote = 0;
	if (fmt == FMT_TAP) {
		if (!r.complete)
			printf("Bail out! interrupted by %s\n", strsignal(interrupted));
		out_tap_footer(stdout, &r);
	} else if (fmt == FMT_JSON) {
		result_json(stdout, &r);
	} else if (fmt == FMT_JUNIT) {
		out_junit(stdout, &r);
	} else {
		if (!r.complete)
			printf("interrupted by %s after %zu of %zu cases\n", strsignal(interrupted), r.done, r.n);
		if (bench_table)
			out_bench_table(stdout, &r);
		out_text_summary(stdout, &r, wrote ? rpath : NULL);
	}
	int code = (r.count[OUT_FAIL] || r.count[OUT_ERROR] || !r.complete || !wrote) ? 1 : 0;
	for (size_t i = 0; i < r.done; i++)
		for (size_t b = 0; b < r.cr[i].nu; b++)
			unit_result_free(&r.cr[i].u[b]);
	free(rpath);
	free(tpath);
	free(outd);
	free(r.cr);
	free(r.fam);
	free(probe_path);
	case_list_free(&cl);
	return code;
}

/* `spawnlab bench [PATTERN...] [OPTIONS]`: `run` over the bench family
 * (all of it unless patterns are given), then the cost table. */
int cmd_bench(int argc, char **argv)
{
	char **av = xcalloc((size_t)argc + 2, sizeof *av);
	int n = 0, patterns = 0;
	av[n++] = "run";
	for (int i = 1; i < argc; i++) {
		av[n++] = argv[i];
		if (argv[i][0] != '-' && (i == 1 || argv[i - 1][0] != '-' || strchr(argv[i - 1], '=')))
			patterns++;
	}
	if (!patterns)
		av[n++] = "bench";
	bench_table = 1;
	int r = cmd_run(n, av);
	free(av);
	return r;
}
