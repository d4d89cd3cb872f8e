/* cmd_info.c: the commands that describe rather than run: list, backends,
 * features, check. */
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/backend.h"
#include "cli/cmd.h"
#include "lib/feature.h"
#include "lib/util.h"

char *path_beside_exe(const char *rel)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return xstrdup(rel);
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	return xasprintf("%s/%s", exe, rel);
}

const char *cases_dir(const char *given)
{
	static char *found;
	struct stat st;
	if (given)
		return given;
	if (getenv("SPAWNLAB_CASES"))
		return getenv("SPAWNLAB_CASES");
	if (!found) {
		found = path_beside_exe("../cases");
		if (stat(found, &st) < 0 || !S_ISDIR(st.st_mode)) {
			free(found);
			found = xstrdup("cases");
		}
	}
	return found;
}

static int match_one(const char *id, const char *pat)
{
	if (strpbrk(pat, "*?["))
		return fnmatch(pat, id, 0) == 0;
	size_t l = strlen(pat);
	return strcmp(id, pat) == 0 || (strncmp(id, pat, l) == 0 && id[l] == '/');
}

/* A pattern is an id, a family, or a glob; "family.rest" is also accepted
 * for "family/rest", so that 'fd.*' selects the fd family. */
int case_matches(const char *id, const char *pat)
{
	if (match_one(id, pat))
		return 1;
	const char *dot = strchr(pat, '.');
	if (!dot || strchr(pat, '/'))
		return 0;
	char *alt = xstrdup(pat);
	alt[dot - pat] = '/';
	int r = match_one(id, alt);
	free(alt);
	return r;
}

/* Hand every case matching the patterns of ARGV (all without one) to EACH;
 * exit status 2 when a pattern matched nothing or the cases do not load. */
static int each_case(int argc, char **argv, void (*each)(const struct sl_case *c))
{
	struct case_list cl = {0};
	for (int i = 1; i < argc; i++)
		if (argv[i][0] == '-') {
			char fmt[64];
			snprintf(fmt, sizeof fmt, "%s: unknown option '%%s'", argv[0]);
			return cmd_usage_error(fmt, argv[i]);
		}
	if (case_load_dir(cases_dir(NULL), &cl) < 0) {
		case_list_free(&cl); /* the cases before the bad one */
		return 2;
	}
	int shown = 0;
	for (size_t i = 0; i < cl.n; i++) {
		int ok = argc < 2;
		for (int p = 1; p < argc && !ok; p++)
			ok = case_matches(cl.v[i]->id, argv[p]);
		if (ok) {
			each(cl.v[i]);
			shown++;
		}
	}
	case_list_free(&cl);
	if (argc >= 2 && shown == 0) {
		fprintf(stderr, "spawnlab: no case matches the given patterns\n");
		return 2;
	}
	return 0;
}

static void list_one(const struct sl_case *c)
{
	printf("%-40s %s%s\n", c->id, c->explicit_only ? "[explicit] " : "", c->desc);
}

int cmd_list(int argc, char **argv)
{
	return each_case(argc, argv, list_one);
}

/* spawnlab keys [PATTERN...]: per case, the key patterns it can observe
 * (the registry the loader checks expectations against). */
static void keys_one(const struct sl_case *c)
{
	struct sbuf b;
	sb_init(&b);
	case_key_patterns(c, &b);
	printf("%s\t%s\n", c->id, b.s);
	sb_free(&b);
}

int cmd_keys(int argc, char **argv)
{
	return each_case(argc, argv, keys_one);
}

int cmd_backends(int argc, char **argv)
{
	if (argc > 1)
		return cmd_usage_error("backends: unexpected argument '%s'", argv[1]);
	for (size_t i = 0; sl_backends[i]; i++) {
		char why[256] = "";
		int ok = sl_backends[i]->available(why, sizeof why);
		if (ok)
			printf("%-12s available     %s\n", sl_backends[i]->name, sl_backends[i]->summary);
		else
			printf("%-12s unavailable   %s\n", sl_backends[i]->name, why);
	}
	return 0;
}

int cmd_features(int argc, char **argv)
{
	if (argc > 1)
		return cmd_usage_error("features: unexpected argument '%s'", argv[1]);
	static const char *const st[] = {"yes", "no", "unknown"};
	for (size_t i = 0; i < sl_nfeatures; i++) {
		const char *d = "";
		enum feat_state s = feature_state(&sl_features[i], &d);
		printf("%-28s %-8s %s\n", sl_features[i].name, st[s], d);
	}
	return 0;
}

int cmd_check(int argc, char **argv)
{
	struct case_list cl = {0};
	int r = 0;
	if (argc < 2)
		r = case_load_dir(cases_dir(NULL), &cl);
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-')
			return cmd_usage_error("check: unknown option '%s'", argv[i]);
		if (case_parse_file(argv[i], &cl) < 0)
			r = -1;
	}
	if (r == 0)
		printf("%zu cases parsed, no errors\n", cl.n);
	case_list_free(&cl);
	return r < 0 ? 2 : 0;
}
