/* families.h: the registry the command line hands to the core. */
#ifndef SPAWNLAB_FAMILIES_H
#define SPAWNLAB_FAMILIES_H

#include "core/case.h"

extern const struct step_kind *const sl_step_sets[];
extern const struct step_kind *const sl_experiment_sets[];

#endif
