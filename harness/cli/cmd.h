/* cmd.h: the subcommands of spawnlab, and what they share. */
#ifndef SPAWNLAB_CMD_H
#define SPAWNLAB_CMD_H

#include "core/case.h"

int cmd_list(int argc, char **argv);
int cmd_keys(int argc, char **argv);
int cmd_backends(int argc, char **argv);
int cmd_features(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* Prints "spawnlab: <fmt with arg>" and the help hint; returns 2. */
int cmd_usage_error(const char *fmt, const char *arg);
/* A path beside the spawnlab binary ("../cases", "probe"); malloc'd. */
char *path_beside_exe(const char *rel);
/* The case folder: CASES if given, else $SPAWNLAB_CASES, else ../cases
 * beside the binary, else ./cases. */
const char *cases_dir(const char *given);
/* Does case id ID match PATTERN (exact id, family, or glob)? */
int case_matches(const char *id, const char *pattern);

#endif
