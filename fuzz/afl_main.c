/* afl_main.c: AFL++ persistent mode around a target's
 * LLVMFuzzerTestOneInput (linked with the target, built by afl-clang-fast),
 * as AFL++'s instrumentation/README.persistent_mode.md describes it:
 * __AFL_FUZZ_INIT at file scope, set-up before the deferred fork server
 * (__AFL_INIT), the input through shared memory (__AFL_FUZZ_TESTCASE_BUF,
 * taken after __AFL_INIT), and a loop count of 1000: the guide's starting
 * point for targets that change process state, after which AFL++ starts a
 * fresh process.  These targets do: each starts an executor process on
 * its first input (so after the fork server forked) and their calls touch
 * the fd table and signal state; a fresh process every 1000 inputs bounds
 * what a slow leak could do. */
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
	while (__AFL_LOOP(1000))
		LLVMFuzzerTestOneInput(buf, (size_t)__AFL_FUZZ_TESTCASE_LEN);
	return 0;
}
