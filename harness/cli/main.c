/* main.c: the spawnlab command line.  Exit codes: 0 every case passed or
 * skipped, 1 a case failed or broke (or the run was interrupted), 2 bad
 * usage or a bad case file. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "families/families.h"

#include "out/version.h"

static const char usage[] =
	"usage: spawnlab COMMAND [ARGS]\n"
	"\n"
	"Characterise how Linux creates processes: run scripted cases against several\n"
	"spawn mechanisms (backends) side by side and compare what crossed exec.\n"
	"\n"
	"commands:\n"
	"  list [PATTERN...]        every case id with its one-line description\n"
	"  keys [PATTERN...]        per case, the observation keys it can record (the\n"
	"                           patterns its expectations are checked against)\n"
	"  backends                 each backend, available here or not, and why\n"
	"  features                 what this kernel and libc offer, probed now\n"
	"  check [FILE...]          parse case files (all by default) and report errors\n"
	"  run [PATTERN...] [OPTIONS]\n"
	"                           run the matching cases (all by default)\n"
	"      --backend LIST       comma-separated backends (default: all)\n"
	"      --format FMT         text (default), tap (KTAP/TAP 13), json or junit\n"
	"      --out DIR            where result.json and junit.xml go (default\n"
	"                           reports/runs/<time>/)\n"
	"      --timeout SECONDS    per case and backend, 1..300 (default 10)\n"
	"      --probe PATH         the probe program (default: beside spawnlab)\n"
	"      --cases DIR          the case folder (default: ../cases beside spawnlab)\n"
	"      --jobs N             units running at once, 1..64 (default: 2 per CPU, at\n"
	"                           most 8, fewer under a tight RLIMIT_NPROC or pids.max);\n"
	"                           a case that measures time runs alone\n"
	"      --verbose            every case's lines even on a terminal (the default\n"
	"                           when output is not a terminal)\n"
	"      --quiet              only the summary\n"
	"  bench [PATTERN...] [OPTIONS]\n"
	"                           run the benchmark cases (cases/bench, default all of\n"
	"                           them) like run, and print the cost table\n"
	"\n"
	"A PATTERN is a case id (exec/plain_fd_inherited), a family (exec) or a glob\n"
	"('exec/*sig*'; 'exec.*' works too).  Exit status: 0 all passed or skipped,\n"
	"1 a case failed or broke, 2 bad usage or a bad case file.\n"
	"options: --help, --version\n";

int cmd_usage_error(const char *fmt, const char *arg)
{
	fputs("spawnlab: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\n(see spawnlab --help)\n", stderr);
	return 2;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{"list", cmd_list}, {"keys", cmd_keys}, {"backends", cmd_backends}, {"features", cmd_features},
	{"check", cmd_check}, {"run", cmd_run}, {"bench", cmd_bench},
};

int main(int argc, char **argv)
{
	/* The core names no family: it is handed the registry's kinds. */
	case_use_kinds(sl_step_sets, sl_experiment_sets);
	if (argc < 2)
		return fputs(usage, stderr), 2;
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0)
		return fputs(usage, stdout), 0;
	if (strcmp(argv[1], "--version") == 0)
		return printf("spawnlab %s\n", SL_VERSION), 0;
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	if (argv[1][0] == '-')
		return cmd_usage_error("unknown option '%s'", argv[1]);
	return cmd_usage_error("unknown command '%s'", argv[1]);
}
