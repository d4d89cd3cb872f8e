/* out_junit.c: the run as JUnit XML, for the test reports of GitLab,
 * Jenkins and GitHub.  The shape is Jenkins' junit-10.xsd (the one pytest's
 * default xunit2 family follows): <testsuites>, one <testsuite> per family,
 * one <testcase> per case and backend (classname the family, name
 * "case-id/backend"), time in seconds.
 *
 * Outcomes, per unit:
 *   pass   an empty <testcase>
 *   fail   <failure>: the message quotes the first failed expectation
 *          (cases/FAMILY/FILE.case:LINE: expected KEY OP WANT, got ACTUAL),
 *          the text lists every one; a timeout has its reason instead
 *   error  <error> with the reason (the set-up or the sandbox broke)
 *   skip   <skipped> with the reason
 *   xfail  <skipped type="spawnlab.xfail" message="known finding (xfail):
 *          WHY">, the failed expectation and the finding that covers it in
 *          its text: pytest writes an xfail the same way (<skipped
 *          type="pytest.xfail">)
 *   xpass  a passed <testcase> whose <system-out> starts "known finding no
 *          longer reproduces (xpass):", as pytest counts a non-strict XPASS
 *          as passed; the schema has no per-testcase properties, so the mark
 *          is in <system-out>
 * A failure quotes only the failed expectations no holding finding covers
 * (case_check.c: those are what make the unit fail).
 * An interrupted run adds a testcase "spawnlab/run" with an <error>, so
 * that a partial report is never green. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "sys/libc_ext.h"
#include "core/run.h"
#include "out/out.h"
#include "core/sandbox.h"
#include "lib/util.h"
#include "lib/xml.h"

#include "out/version.h"

struct tally {
	size_t tests, failures, errors, skipped;
	uint64_t us;
};

static int selected(const struct run *r, const struct case_run *cr, size_t b)
{
	(void)r; /* a unit exists only where the run selected the backend and the case names it */
	return cr->u[b].backend != NULL;
}

static void count(const struct run *r, const struct case_run *cr, struct tally *t)
{
	for (size_t b = 0; b < cr->nu; b++) {
		if (!selected(r, cr, b))
			continue;
		enum outcome o = cr->u[b].outcome;
		t->tests++;
		t->failures += o == OUT_FAIL;
		t->errors += o == OUT_ERROR;
		t->skipped += o == OUT_SKIP || o == OUT_XFAIL;
	}
	t->us += cr->duration_us;
}

/* The case file as the user knows it: "cases/exec/exec_errors.case",
 * relative to the parent of the case folder. */
static const char *case_file(const struct run *r, const struct sl_case *c, char *buf, size_t len)
{
	const char *d = r->cases_dir ? r->cases_dir : "";
	size_t dl = strlen(d);
	while (dl > 1 && d[dl - 1] == '/')
		dl--;
	if (dl == 0 || strncmp(c->file, d, dl) != 0 || c->file[dl] != '/')
		return c->file;
	const char *base = d + dl;
	while (base > d && base[-1] != '/')
		base--;
	const char *rest = c->file + dl;
	while (*rest == '/')
		rest++;
	snprintf(buf, len, "%.*s/%s", (int)(d + dl - base), base, rest);
	return buf;
}

/* The finding that holds and is bound to KEY for this unit, if any: the
 * one that makes a failed expectation on KEY known (case_check.c). */
static const struct finding_result *covering(const struct unit_result *u, const char *key)
{
	for (size_t i = 0; i < u->nfinds; i++)
		if (u->finds[i].holds && strcmp(u->finds[i].f->key, key) == 0)
			return &u->finds[i];
	return NULL;
}

/* "FILE:LINE: expected KEY OP WANT, got ACTUAL" for each failed expectation
 * that a holding finding covers (KNOWN) or does not (!KNOWN), separated by
 * SEP; the count of them in *n.  A known one names its finding. */
static char *failed_exps(const struct run *r, const struct sl_case *c, const struct unit_result *u, int known,
			 size_t max, const char *sep, size_t *n)
{
	char fb[PATH_MAX];
	const char *file = case_file(r, c, fb, sizeof fb);
	struct sbuf b;
	sb_init(&b);
	*n = 0;
	for (size_t i = 0; i < u->nexps; i++) {
		const struct exp_result *e = &u->exps[i];
		const struct finding_result *k = e->ok ? NULL : covering(u, e->e->key);
		if (e->ok || known != (k != NULL) || ++*n > max)
			continue;
		sb_addf(&b, "%s%s:%d: expected %s %s %s, got %s", *n > 1 ? sep : "", file, e->e->line, e->e->key,
			expect_op_name(e->e->op), e->want, e->actual);
		if (k)
			sb_addf(&b, ", as the finding at line %d records (%s %s %s)", k->f->line, k->f->key,
				expect_op_name(k->f->op), k->want);
	}
	return b.s;
}

/* The WHY of the findings that KNOWN says: those covering a failed
 * expectation (xfail), or those whose documented expectation held (xpass). */
static char *findings_why(const struct unit_result *u, int xpass)
{
	struct sbuf b;
	sb_init(&b);
	for (size_t i = 0; i < u->nfinds; i++) {
		const struct finding_result *k = &u->finds[i];
		if (xpass ? k->documented_ok : (k->holds && !k->documented_ok))
			sb_addf(&b, "%s%s", b.len ? "; " : "", k->f->why);
	}
	return b.s;
}

static void element(FILE *f, const char *tag, const char *type, const char *message, const char *text)
{
	fprintf(f, "      <%s type=\"", tag);
	xml_attr(f, type);
	fputs("\" message=\"", f);
	xml_attr(f, message);
	fputs("\"", f);
	if (text && *text) {
		fputc('>', f);
		xml_text(f, text);
		fprintf(f, "</%s>\n", tag);
	} else {
		fputs("/>\n", f);
	}
}

static void testcase(FILE *f, const struct run *r, const struct case_run *cr, const struct unit_result *u)
{
	const struct sl_case *c = cr->c;
	fputs("    <testcase classname=\"", f);
	xml_attr(f, c->family);
	fputs("\" name=\"", f);
	xml_attr(f, c->id);
	fputc('/', f);
	xml_attr(f, u->backend->name);
	fprintf(f, "\" time=\"%.6f\"", (double)u->duration_us / 1e6);
	if (u->outcome == OUT_PASS) {
		fputs("/>\n", f);
		return;
	}
	fputs(">\n", f);
	size_t n;
	int known = u->outcome == OUT_XFAIL;
	char *first = failed_exps(r, c, u, known, 1, "", &n);
	char *all = failed_exps(r, c, u, known, SIZE_MAX, "\n", &n);
	char *why = findings_why(u, u->outcome == OUT_XPASS);
	char *msg = NULL, *out = NULL;
	switch (u->outcome) {
	case OUT_FAIL:
		if (n > 1)
			msg = xasprintf("%s (and %zu more)", first, n - 1);
		else
			msg = xstrdup(n ? first : u->reason ? u->reason : "failed");
		out = n ? xasprintf("%s\n", all) : NULL;
		element(f, "failure", "spawnlab.fail", msg, out);
		break;
	case OUT_ERROR:
		element(f, "error", "spawnlab.error", u->reason, NULL);
		break;
	case OUT_SKIP:
		element(f, "skipped", "spawnlab.skip", u->reason, NULL);
		break;
	case OUT_XFAIL:
		msg = xasprintf("known finding (xfail): %s", why);
		out = xasprintf("%s\n", n ? all : u->reason ? u->reason : "");
		element(f, "skipped", "spawnlab.xfail", msg, out);
		break;
	case OUT_XPASS:
		fputs("      <system-out>known finding no longer reproduces (xpass): ", f);
		xml_text(f, why);
		fputc('\n', f);
		xml_text(f, u->reason);
		fputs("</system-out>\n", f);
		break;
	default:
		break;
	}
	free(msg);
	free(out);
	free(why);
	free(first);
	free(all);
	fputs("    </testcase>\n", f);
}

static void property(FILE *f, const char *name, const char *value)
{
	fputs("      <property name=\"", f);
	xml_attr(f, name);
	fputs("\" value=\"", f);
	xml_attr(f, value);
	fputs("\"/>\n", f);
}

static void properties(FILE *f, const struct run *r)
{
	struct utsname un;
	uname(&un);
	struct sbuf be;
	sb_init(&be);
	for (size_t b = 0; sl_backends[b]; b++)
		if (r->backends & (1UL << b))
			sb_addf(&be, "%s%s", be.len ? "," : "", sl_backends[b]->name);
	fputs("    <properties>\n", f);
	property(f, "spawnlab.version", SL_VERSION);
	property(f, "spawnlab.revision", SL_GITREV);
	property(f, "kernel.release", un.release);
	property(f, "arch", un.machine);
	property(f, "libc", libc_name());
	property(f, "libc.version", libc_version());
	property(f, "sandbox", sandbox_kind_name(sandbox_kind()));
	property(f, "backends", be.s ? be.s : "");
	property(f, "complete", r->complete ? "yes" : "no");
	fputs("    </properties>\n", f);
	sb_free(&be);
}

static void suite_begin(FILE *f, const struct run *r, const char *name, const struct tally *t, const char *stamp,
			const char *host)
{
	fputs("  <testsuite name=\"", f);
	xml_attr(f, name);
	fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"%.6f\" timestamp=\"%s\" hostname=\"",
		t->tests, t->failures, t->errors, t->skipped, (double)t->us / 1e6, stamp);
	xml_attr(f, host);
	fputs("\">\n", f);
	properties(f, r);
}

void out_junit(FILE *f, const struct run *r)
{
	char stamp[32], host[256] = "";
	struct tm tm;
	time_t t0 = r->start.tv_sec;
	gmtime_r(&t0, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm); /* UTC, as the schema's timestamp has no zone */
	if (gethostname(host, sizeof host - 1) < 0)
		host[0] = 0;

	struct tally all = {0};
	for (size_t i = 0; i < r->done; i++)
		count(r, &r->cr[i], &all);
	if (!r->complete)
		all.tests++, all.errors++;
	double wall = (double)(r->end.tv_sec - r->start.tv_sec) + (double)(r->end.tv_nsec - r->start.tv_nsec) / 1e9;
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
	fprintf(f, "<testsuites name=\"spawnlab\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" time=\"%.6f\">\n",
		all.tests, all.failures, all.errors, wall > 0 ? wall : 0.0);
	/* One suite per family, in the order the families first ran. */
	for (size_t i = 0; i < r->done; i++) {
		const char *fam = r->cr[i].c->family;
		size_t k = 0;
		while (k < i && strcmp(r->cr[k].c->family, fam) != 0)
			k++;
		if (k < i)
			continue;
		struct tally t = {0};
		for (size_t j = i; j < r->done; j++)
			if (strcmp(r->cr[j].c->family, fam) == 0)
				count(r, &r->cr[j], &t);
		suite_begin(f, r, fam, &t, stamp, host);
		for (size_t j = i; j < r->done; j++)
			for (size_t b = 0; b < r->cr[j].nu; b++)
				if (strcmp(r->cr[j].c->family, fam) == 0 && selected(r, &r->cr[j], b))
					testcase(f, r, &r->cr[j], &r->cr[j].u[b]);
		fputs("  </testsuite>\n", f);
	}
	if (!r->complete) {
		struct tally t = {1, 0, 1, 0, 0};
		char *msg = xasprintf("the run was interrupted after %zu of %zu cases; the rest are not in this report",
				      r->done, r->n);
		suite_begin(f, r, "spawnlab", &t, stamp, host);
		fputs("    <testcase classname=\"spawnlab\" name=\"spawnlab/run\" time=\"0\">\n", f);
		element(f, "error", "spawnlab.interrupted", msg, NULL);
		fputs("    </testcase>\n  </testsuite>\n", f);
		free(msg);
	}
	fputs("</testsuites>\n", f);
	fflush(f);
}

int out_junit_file(const struct run *r, const char *dir)
{
	char *path = xasprintf("%s/junit.xml", dir), *tmp = xasprintf("%s/junit.xml.tmp", dir);
	FILE *f = fopen(tmp, "we");
	int ok = 0;
	if (f) {
		out_junit(f, r);
		ok = fclose(f) == 0 && rename(tmp, path) == 0;
	}
	if (!ok)
		fprintf(stderr, "spawnlab: cannot write %s: %m\n", path);
	free(path);
	free(tmp);
	return ok ? 0 : -1;
}
