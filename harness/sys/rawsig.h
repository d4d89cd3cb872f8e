/* rawsig.h: signal dispositions, mask and pending set through the raw
 * system calls, so that every signal the kernel has is reachable.
 *
 * A libc hides the signals it reserves for itself (glibc 32 and 33, musl
 * 32 to 34): sigaction() refuses them, sigaddset() and sigismember() fail
 * on them, sigprocmask() drops them from the set it applies.  Whoever must
 * see or reset a process's whole signal state (the probe, the runner's
 * reset, pdspawn's child) goes through here instead.  No libc interceptor
 * runs either, which a vfork-style child needs. */
#ifndef SL_RAWSIG_H
#define SL_RAWSIG_H

#include <signal.h>

/* Set SIG's disposition to SIG_DFL or SIG_IGN (no flags, empty mask).
 * 0, or -1 with errno. */
int rawsig_set(int sig, void (*handler)(int));

/* SIG's disposition: SIG_DFL, SIG_IGN, or a handler.  0, or -1 with errno.
 * Where the kernel's struct sigaction is not known here, the libc call is
 * used and a reserved signal reads as SIG_DFL. */
int rawsig_get(int sig, void (**handler)(int));

/* rt_sigprocmask and rt_sigpending on the kernel's words of a libc
 * sigset_t (which begins with them). */
int rawsig_procmask(int how, const sigset_t *set, sigset_t *old);
int rawsig_pending(sigset_t *set);

/* Whether SIG is in SET, read from the kernel's words: unlike sigismember
 * it answers for the libc's reserved signals too. */
int rawsig_has(const sigset_t *set, int sig);

/* Add SIG to SET in the kernel's words (sigaddset refuses reserved
 * signals). */
void rawsig_add(sigset_t *set, int sig);

/* Every disposition to SIG_DFL and an empty mask, reserved signals
 * included.  0, or -1 with errno. */
int rawsig_reset_all(void);

#endif
