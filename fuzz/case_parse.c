/* case_parse.c (fuzz target): bytes into the case-language parser
 * (harness/core/case_parse.c, through case_parse_buffer).  Oracle: no crash, no
 * leak (ASan/LeakSanitizer, libFuzzer's -detect_leaks), no hang (the
 * engine's timeout), the result is 0 or -1, a success yields at least one
 * case, and a failure prints exactly one message, "NAME:LINE: ..." with
 * 1 <= LINE <= the input's line count + 1 (cases/README.md: "Any error
 * stops the whole load with FILE:LINE: expected ..."). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/case.h"
#include "families/families.h"
#include "fuzz_util.h"

#define NAME "fuzz/input.case"
#define MSG_MAX 8192

static int memfd = -1, saved_err = -1;

static void setup(void)
{
	memfd = memfd_create("case_parse-stderr", MFD_CLOEXEC);
	saved_err = fcntl(2, F_DUPFD_CLOEXEC, 3);
	if (memfd < 0 || saved_err < 0) {
		perror("case_parse fuzz: memfd_create/dup");
		abort(); /* the harness itself cannot run */
	}
}

static size_t count_lines(const uint8_t *d, size_t n)
{
	size_t lines = 1;
	for (size_t i = 0; i < n; i++)
		lines += d[i] == '\n';
	return lines;
}

static void check_message(const uint8_t *data, size_t len, int r, const char *msg, size_t mlen)
{
	char detail[512];
	if (r != 0 && r != -1) {
		snprintf(detail, sizeof detail, "case_parse_buffer returned %d (expected 0 or -1)", r);
		fuzz_finding("case_parse", "bad-return", data, len, detail);
		return;
	}
	if (r == 0) {
		if (mlen)
			fuzz_finding("case_parse", "message-on-success", data, len, "a successful parse printed to stderr");
		return;
	}
	const char *nl = memchr(msg, '\n', mlen);
	size_t prefix = strlen(NAME ":");
	char *end = NULL;
	long line = mlen > prefix && memcmp(msg, NAME ":", prefix) == 0 ? strtol(msg + prefix, &end, 10) : -1;
	if (!nl || nl != msg + mlen - 1 || !end || *end != ':' || end[1] != ' ' || line < 1 ||
	    (size_t)line > count_lines(data, len) + 1) {
		snprintf(detail, sizeof detail, "parse error without exactly one NAME:LINE: message: \"%.*s\"",
			 (int)(mlen > 200 ? 200 : mlen), msg);
		fuzz_finding("case_parse", "message-format", data, len, detail);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	if (memfd < 0) {
		setup();
		case_use_kinds(sl_step_sets, sl_experiment_sets); /* as the driver's main() does */
	}
	struct case_list cl = {0};
	static char msg[MSG_MAX];
	fflush(stderr);
	/* Truncating does not move the shared file offset: rewind too, or the
	 * next message lands after a hole of NULs and reads as empty. */
	if (ftruncate(memfd, 0) < 0 || lseek(memfd, 0, SEEK_SET) < 0 || dup2(memfd, 2) < 0) {
		perror("case_parse fuzz: capture stderr");
		abort();
	}
	int r = case_parse_buffer(NAME, (const char *)data, len, &cl);
	fflush(stderr);
	if (dup2(saved_err, 2) < 0)
		abort();
	ssize_t m = pread(memfd, msg, sizeof msg - 1, 0);
	if (m < 0) {
		perror("case_parse fuzz: pread");
		abort();
	}
	msg[m] = 0;
	if (r == 0 && cl.n == 0)
		fuzz_finding("case_parse", "empty-success", data, len, "parse succeeded without any case");
	check_message(data, len, r, msg, (size_t)m);
	case_list_free(&cl);
	return 0;
}
