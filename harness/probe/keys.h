/* keys.h: the keys the probe (probe.c) reports, as key patterns for the
 * case loader's registry (case_key_matches in core/case.h: {a,b} or {a|b}
 * a choice, # a number, * one word).  probe.c and this list change together;
 * tests/test_keys.py checks every key a default run observes against it. */
#ifndef SPAWNLAB_PROBE_KEYS_H
#define SPAWNLAB_PROBE_KEYS_H

#include "lib/names.h"

#define SL_PROBE_KEYS                                                                       \
	"probe.{version,end} {pid,ppid,pgid,sid,cwd,umask,no_new_privs,pdeathsig,cgroup} "  \
	"rlimit.{" SL_RLIMIT_CHOICES "}.{soft,hard} "                                      \
	"{sigmask,sigpending,sigignored,sigcaught} sig.* sig.*.{blocked,pending} "          \
	"fds fd.count fd.# fd.#.{path,flags,pos} argc argv0 argv0.len"

#endif
