/* names.h: signal, errno and flag names, both ways, from tables. */
#ifndef SPAWNLAB_NAMES_H
#define SPAWNLAB_NAMES_H

/* "SIGUSR1", "USR1" or "10" -> 10; -1 if unknown. */
int sig_byname(const char *s);
/* 10 -> "SIGUSR1"; realtime as "SIGRTMIN+n"; NULL if out of range. */
const char *sig_name(int sig);
/* "ENOENT" -> 2; -1 if unknown. */
int errno_byname(const char *s);
/* 2 -> "ENOENT"; numbers it does not know as "E<n>" in a static buffer. */
const char *errno_name(int e);
/* "O_RDONLY|O_CLOEXEC" -> flags; -1 with *bad set to the unknown word. */
long oflags_parse(const char *s, const char **bad, int *badlen);
/* open(2) status flags as "O_RDWR|O_NONBLOCK" into BUF. */
void oflags_format(int flags, char *buf, unsigned len);

/* The resource limits the case language knows: the rlimit step sets them
 * and the probe reports each as rlimit.NAME.soft and .hard.  The step's
 * resource= choices are SL_RLIMIT_CHOICES, in the table's order. */
struct sl_rlimit {
	const char *name;
	int resource;
};
extern const struct sl_rlimit sl_rlimits[];
#define SL_RLIMIT_CHOICES "nofile|nproc|core|stack|cpu|fsize"

#endif
