/* version.h: SL_VERSION and SL_GITREV, from $(BUILD)/gen/revision.h, which
 * the Makefile rewrites whenever they change (fuzz/build.sh passes its own
 * -D flags instead). */
#ifndef SPAWNLAB_VERSION_H
#define SPAWNLAB_VERSION_H

#if !defined(SL_GITREV) && __has_include("revision.h")
#include "revision.h"
#endif
#ifndef SL_VERSION
#define SL_VERSION "0.0.0"
#endif
#ifndef SL_GITREV
#define SL_GITREV "unknown"
#endif

#endif
