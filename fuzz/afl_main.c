/* afl_main.c: AFL++ persistent mode around a target's
 * LLVMFuzzerTestOneInput (linked with the target, built by afl-clang-fast).
 * The input comes through shared memory; one process runs many inputs,
 * which each target must allow (it reaps what it starts and closes what it
 * opens). */
#include <stddef.h>
#include <stdint.h>
#include <unistd.h> /* read(), used by __AFL_FUZZ_TESTCASE_LEN */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

__AFL_FUZZ_INIT();

int main(int argc, char **argv)
{
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	__AFL_INIT();
	const unsigned char *buf = __AFL_FUZZ_TESTCASE_BUF;
	while (__AFL_LOOP(10000))
		LLVMFuzzerTestOneInput(buf, (size_t)__AFL_FUZZ_TESTCASE_LEN);
	return 0;
}
