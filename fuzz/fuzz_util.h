/* fuzz_util.h: what every spawnlab fuzz target shares: a byte decoder that
 * turns the raw input into a structured program (so mutations stay
 * meaningful), and the finding recorder. */
#ifndef SPAWNLAB_FUZZ_UTIL_H
#define SPAWNLAB_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* For loops over whole tables (128 fds) that decide nothing an engine
 * could learn from: libFuzzer traces every comparison (SanitizerCoverage
 * trace-cmp), which in such loops costs more than the work itself. */
#if defined(__clang__) && __clang_major__ >= 13
#define FUZZ_NO_COVERAGE __attribute__((no_sanitize("coverage")))
#else
#define FUZZ_NO_COVERAGE
#endif

/* Reads past the end give zeros: every input decodes to some program. */
struct fz {
	const uint8_t *p;
	size_t n, i;
};
uint8_t fz_u8(struct fz *f);
uint32_t fz_u32(struct fz *f);
uint64_t fz_u64(struct fz *f);
int fz_more(const struct fz *f);

/* 1 in the replay build (fuzz/replay_main.c): findings are printed, never
 * written, so replaying a reproducer does not create another one. */
extern int fuzz_replay_mode;
extern unsigned long fuzz_findings;

/* Record a finding of TARGET: a difference the model did not predict.
 * SIG names its kind (one file per kind and process, so a campaign does not
 * write thousands of copies of one difference); DETAIL says what was
 * expected and what was seen.  Writes DIR/TARGET-SIG.bin (the input, which
 * the replay build re-runs) and DIR/TARGET-SIG.json, DIR being
 * $SPAWNLAB_FINDINGS (default reports/findings).  Then: __builtin_trap()
 * when SPAWNLAB_FUZZ_TRAP=1 (so the engine keeps the input as a crash),
 * else it returns and the run goes on counting. */
void fuzz_finding(const char *target, const char *sig, const uint8_t *data, size_t len, const char *detail);

/* fuzz_finding with a reproducer in the case language: CASE_TEXT (one
 * case named after the finding) goes to DIR/cases/TARGET/TARGET-SIG.case,
 * which `spawnlab run --cases DIR/cases TARGET` replays.  CASE_TEXT NULL:
 * the finding cannot be expressed as a case; NO_CASE says why, in the
 * JSON ("case": null, "no_case": ...), and the .bin stays the reproducer. */
void fuzz_finding_case(const char *target, const char *sig, const uint8_t *data, size_t len, const char *detail,
		       const char *case_text, const char *no_case);

/* Something the harness could not do (not the kernel's fault): printed
 * once per message, counted, never a finding. */
void fuzz_note(const char *target, const char *msg);

/* With SPAWNLAB_FUZZ_OUTCOMES=1 (the cross-kernel replay, fuzz/kernel-replay),
 * print "OUTCOME " and the formatted text on stdout: what the kernel did
 * for this input, in words that can be compared between kernels.  The
 * replay build prints "INPUT path" before each input. */
void fuzz_outcome(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int fuzz_outcomes_on(void);

/* SPAWNLAB_FUZZ_VERBOSE is set: print the model's and the kernel's answer
 * for every input. */
int fuzz_verbose(void);

#endif
