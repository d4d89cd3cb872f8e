/* rawsig.c: see rawsig.h. */
#include "sys/rawsig.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The kernel's sigset_t: 64 bits on most architectures, 128 on mips.  The
 * libc sigset_t is larger but starts with the same words. */
#define KSIGSET_SIZE (_NSIG / 8)

/* The kernel's struct sigaction differs between architectures: a
 * restorer field or not, and where the layout is not known here the libc
 * call stands in. */
#if (defined(__x86_64__) && !defined(__ILP32__)) || defined(__i386__) || defined(__aarch64__) || \
	defined(__arm__) || defined(__powerpc__) || defined(__s390__)
#define K_SIGACTION 1
#define K_SIGACTION_RESTORER 1
#elif defined(__riscv) || defined(__loongarch__)
#define K_SIGACTION 1
#define K_SIGACTION_RESTORER 0
#endif

#ifdef K_SIGACTION
struct k_sigaction {
	void (*handler)(int);
	unsigned long flags;
#if K_SIGACTION_RESTORER
	void (*restorer)(void);
#endif
	unsigned long mask[KSIGSET_SIZE / sizeof(unsigned long)];
};
#endif

#ifndef K_SIGACTION
/* A signal a libc keeps for itself: between the last classic signal and
 * the SIGRTMIN it shows applications. */
static int reserved(int sig)
{
	return sig >= 32 && sig < SIGRTMIN;
}
#endif

int rawsig_set(int sig, void (*handler)(int))
{
#ifdef K_SIGACTION
	struct k_sigaction ka;
	memset(&ka, 0, sizeof ka);
	ka.handler = handler;
	return (int)syscall(SYS_rt_sigaction, sig, &ka, NULL, (size_t)KSIGSET_SIZE);
#else
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	if (sigaction(sig, &sa, NULL) < 0 && !(errno == EINVAL && reserved(sig)))
		return -1;
	return 0;
#endif
}

int rawsig_get(int sig, void (**handler)(int))
{
#ifdef K_SIGACTION
	struct k_sigaction old;
	memset(&old, 0, sizeof old);
	if (syscall(SYS_rt_sigaction, sig, NULL, &old, (size_t)KSIGSET_SIZE) < 0)
		return -1;
	*handler = old.handler;
	return 0;
#else
	struct sigaction old;
	if (sigaction(sig, NULL, &old) < 0) {
		if (!(errno == EINVAL && reserved(sig)))
			return -1;
		old.sa_handler = SIG_DFL;
	}
	*handler = old.sa_handler;
	return 0;
#endif
}

int rawsig_procmask(int how, const sigset_t *set, sigset_t *old)
{
	return (int)syscall(SYS_rt_sigprocmask, how, set, old, (size_t)KSIGSET_SIZE);
}

int rawsig_pending(sigset_t *set)
{
	memset(set, 0, sizeof *set);
	return (int)syscall(SYS_rt_sigpending, set, (size_t)KSIGSET_SIZE);
}

/* SIG's word in the kernel's part of SET, and its bit there; NULL for a
 * number the kernel does not have. */
static unsigned long *word_of(const sigset_t *set, int sig, unsigned long *bit)
{
	if (sig < 1 || sig >= _NSIG)
		return NULL;
	unsigned bits = (unsigned)(sizeof(unsigned long) * CHAR_BIT), i = (unsigned)(sig - 1);
	*bit = 1UL << (i % bits);
	return (unsigned long *)(uintptr_t)set + i / bits;
}

int rawsig_has(const sigset_t *set, int sig)
{
	unsigned long bit, *w = word_of(set, sig, &bit);
	return w && (*w & bit);
}

void rawsig_add(sigset_t *set, int sig)
{
	unsigned long bit, *w = word_of(set, sig, &bit);
	if (w)
		*w |= bit;
}

int rawsig_reset_all(void)
{
	int rc = 0;
	for (int sig = 1; sig < _NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP && rawsig_set(sig, SIG_DFL) < 0)
			rc = -1;
	sigset_t none;
	memset(&none, 0, sizeof none);
	if (rawsig_procmask(SIG_SETMASK, &none, NULL) < 0)
		rc = -1;
	return rc;
}
