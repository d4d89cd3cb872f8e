/* obs.h: the observation API, for steps and experiments: record an
 * observed value, or a measured number (which also goes into the result's
 * "numbers", and is observable as num.KEY).  Keys are declared in the
 * kind's .keys (the registry, case_keys.c). */
#ifndef SPAWNLAB_OBS_H
#define SPAWNLAB_OBS_H

struct step_ctx;
void obs_put(struct step_ctx *ctx, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void obs_num(struct step_ctx *ctx, const char *key, double v);

#endif
