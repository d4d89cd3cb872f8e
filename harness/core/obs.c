/* obs.c: the observation API (obs.h): how steps and experiments record
 * what they saw, one "key value" line each, into the unit's observation. */
#include "core/obs.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/step_ctx.h"
#include "lib/util.h"

void obs_put(struct step_ctx *ctx, const char *key, const char *fmt, ...)
{
	va_list ap;
	char *v;
	va_start(ap, fmt);
	int r = vasprintf(&v, fmt, ap);
	va_end(ap);
	if (r < 0)
		return;
	sb_addf(ctx->ob, "%s %s\n", key, v);
	free(v);
}

void obs_num(struct step_ctx *ctx, const char *key, double v)
{
	if (v == (double)(long long)v)
		sb_addf(ctx->ob, "num.%s %lld\n", key, (long long)v);
	else
		sb_addf(ctx->ob, "num.%s %.3f\n", key, v);
}
