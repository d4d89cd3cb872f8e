/* experiments.h: the experiments' entry points and their table rows. */
#ifndef SPAWNLAB_EXPERIMENTS_H
#define SPAWNLAB_EXPERIMENTS_H

#include "case.h"
#include "step_ctx.h"

int exp_spawn_latency(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen);
#define EXPERIMENT_SPAWN_LATENCY                                                                              \
	{"spawn_latency",                                                                                     \
	 "spawn COUNT children through the backend, each waited for before the next: latency per spawn",     \
	 {{"count", ARG_INT, 0, "200", NULL}, {"program", ARG_CHOICE, 0, "probe", "probe|true"}},            \
	 exp_spawn_latency}

int exp_spawn_bench(const long *iv, char *const *sv, struct step_ctx *ctx, char *err, size_t errlen);
#define EXPERIMENT_SPAWN_BENCH                                                                                \
	{"spawn_bench",                                                                                       \
	 "spawn cost against parent size, each sample paired with the floor (bare vfork+execve)",             \
	 {{"rss_mib", ARG_INT, 0, "1", NULL},                                                                 \
	  {"layout", ARG_CHOICE, 0, "touched", "touched|fragmented"},                                        \
	  {"child", ARG_CHOICE, 0, "static", "static|dynamic"},                                              \
	  {"runs", ARG_INT, 0, "200", NULL},                                                                  \
	  {"threads", ARG_INT, 0, "1", NULL},                                                                 \
	  {"mode", ARG_CHOICE, 0, "latency", "latency|throughput"},                                          \
	  {"budget_ms", ARG_INT, 0, "10000", NULL}},                                                          \
	 exp_spawn_bench}

/* Helpers for experiments (experiment_util.c). */
/* Sort and summarise microsecond samples into num.<prefix>_{min,median,p99,max,iqr,mean}_us. */
void exp_summarise(struct step_ctx *ctx, const char *prefix, double *us, size_t n);

#endif
