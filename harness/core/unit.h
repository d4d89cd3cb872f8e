/* unit.h: what one unit (one case on one backend) comes to: its outcome,
 * its observation, each expectation and finding as judged; and the judge
 * (case_check.c) that makes them from the observation. */
#ifndef SPAWNLAB_UNIT_H
#define SPAWNLAB_UNIT_H

#include <stddef.h>
#include <stdint.h>

#include "core/case.h"
#include "core/kv.h"

/* XFAIL: the documented expectation a known finding is bound to failed,
 * and the machine did what the finding records; XPASS: the documented
 * expectation held, so the finding no longer reproduces.  Any other
 * failure, the finding's own value included, is a FAIL.  Neither XFAIL nor
 * XPASS fails the run; both are reported (and scripts/diff shows XPASS and
 * a changed observed value as changes). */
enum outcome { OUT_PASS, OUT_FAIL, OUT_SKIP, OUT_ERROR, OUT_XFAIL, OUT_XPASS, OUT_N };
const char *outcome_name(enum outcome o);

struct exp_result {
	const struct expect *e;
	char *want;   /* the value after $variable expansion */
	char *actual; /* what was observed */
	int ok;
};

/* One known finding as judged for one unit. */
struct finding_result {
	const struct finding *f;
	char *want;        /* the finding's value after $variable expansion */
	char *actual;      /* the observed value of its key */
	int holds;         /* the machine did what the finding records */
	int documented_ok; /* the documented expectation(s) on the key held */
};

struct unit_result {
	const struct backend *backend;
	enum outcome outcome;
	char *reason; /* why it failed, skipped or broke; NULL on pass */
	struct kv obs;
	struct exp_result *exps;
	size_t nexps;
	struct finding_result *finds;
	size_t nfinds;
	uint64_t duration_us;
};

void unit_result_free(struct unit_result *u);

/* Judge U's observation against C's expectations for backend index B:
 * fills exps, finds and the outcome (case_check.c). */
void check_unit(const struct sl_case *c, size_t backend_idx, struct unit_result *u);

#endif
