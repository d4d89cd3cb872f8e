/* unit.c: see unit.h. */
#include "core/unit.h"

#include <stdlib.h>
#include <string.h>

const char *outcome_name(enum outcome o)
{
	static const char *const n[] = {"pass", "fail", "skip", "error", "xfail", "xpass"};
	return n[o];
}

void unit_result_free(struct unit_result *u)
{
	free(u->reason);
	kv_free(&u->obs);
	for (size_t i = 0; i < u->nexps; i++) {
		free(u->exps[i].want);
		free(u->exps[i].actual);
	}
	free(u->exps);
	for (size_t i = 0; i < u->nfinds; i++) {
		free(u->finds[i].want);
		free(u->finds[i].actual);
	}
	free(u->finds);
	memset(u, 0, sizeof *u);
}
