/* names.c: signal, errno and open-flag names, both ways, from tables.
 * Self-contained (libc headers only): the static probe links it too. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "lib/names.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

struct name {
	long v;
	const char *s;
};

#define N(x) {x, #x}
#define COUNT(a) (sizeof(a) / sizeof *(a))

/* ---- signals ---- */

/* Canonical names first: sig_name returns the first entry with a value. */
static const struct name sigs[] = {
	N(SIGHUP), N(SIGINT), N(SIGQUIT), N(SIGILL), N(SIGTRAP), N(SIGABRT), N(SIGBUS),
	N(SIGFPE), N(SIGKILL), N(SIGUSR1), N(SIGSEGV), N(SIGUSR2), N(SIGPIPE), N(SIGALRM),
	N(SIGTERM),
#ifdef SIGSTKFLT
	N(SIGSTKFLT),
#endif
	N(SIGCHLD), N(SIGCONT), N(SIGSTOP), N(SIGTSTP), N(SIGTTIN), N(SIGTTOU), N(SIGURG),
	N(SIGXCPU), N(SIGXFSZ), N(SIGVTALRM), N(SIGPROF), N(SIGWINCH), N(SIGIO),
#ifdef SIGPWR
	N(SIGPWR),
#endif
	N(SIGSYS),
	/* aliases, accepted by sig_byname only */
#ifdef SIGIOT
	N(SIGIOT),
#endif
#ifdef SIGPOLL
	N(SIGPOLL),
#endif
#ifdef SIGCLD
	N(SIGCLD),
#endif
};

/* Realtime names as literals, so that sig_name needs no buffer.  The kernel
 * has 64 signals; a libc reserves two or three, so the span is below 33. */
static const char *const rtmin_names[] = {
	"SIGRTMIN",    "SIGRTMIN+1",  "SIGRTMIN+2",  "SIGRTMIN+3",  "SIGRTMIN+4",  "SIGRTMIN+5",
	"SIGRTMIN+6",  "SIGRTMIN+7",  "SIGRTMIN+8",  "SIGRTMIN+9",  "SIGRTMIN+10", "SIGRTMIN+11",
	"SIGRTMIN+12", "SIGRTMIN+13", "SIGRTMIN+14", "SIGRTMIN+15", "SIGRTMIN+16", "SIGRTMIN+17",
	"SIGRTMIN+18", "SIGRTMIN+19", "SIGRTMIN+20", "SIGRTMIN+21", "SIGRTMIN+22", "SIGRTMIN+23",
	"SIGRTMIN+24", "SIGRTMIN+25", "SIGRTMIN+26", "SIGRTMIN+27", "SIGRTMIN+28", "SIGRTMIN+29",
	"SIGRTMIN+30", "SIGRTMIN+31", "SIGRTMIN+32",
};
static const char *const rtmax_names[] = {
	"SIGRTMAX",    "SIGRTMAX-1",  "SIGRTMAX-2",  "SIGRTMAX-3",  "SIGRTMAX-4",  "SIGRTMAX-5",
	"SIGRTMAX-6",  "SIGRTMAX-7",  "SIGRTMAX-8",  "SIGRTMAX-9",  "SIGRTMAX-10", "SIGRTMAX-11",
	"SIGRTMAX-12", "SIGRTMAX-13", "SIGRTMAX-14", "SIGRTMAX-15", "SIGRTMAX-16", "SIGRTMAX-17",
	"SIGRTMAX-18", "SIGRTMAX-19", "SIGRTMAX-20", "SIGRTMAX-21", "SIGRTMAX-22", "SIGRTMAX-23",
	"SIGRTMAX-24", "SIGRTMAX-25", "SIGRTMAX-26", "SIGRTMAX-27", "SIGRTMAX-28", "SIGRTMAX-29",
	"SIGRTMAX-30", "SIGRTMAX-31", "SIGRTMAX-32",
};
/* Kernel signals between 31 and SIGRTMIN that the libc keeps for itself. */
static const char *const libc_rt_names[] = {"SIG32", "SIG33", "SIG34", "SIG35"};

static int sig_max(void)
{
#ifdef _NSIG
	return _NSIG - 1;
#else
	return 64;
#endif
}

/* Whole string S is a decimal number in [lo, hi]: the number, else -1. */
static long dec_in(const char *s, long lo, long hi)
{
	char *end;
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	return v;
}

static int rt_byname(const char *s)
{
	int base, sign;
	if (strncasecmp(s, "RTMIN", 5) == 0)
		base = SIGRTMIN, sign = 1;
	else if (strncasecmp(s, "RTMAX", 5) == 0)
		base = SIGRTMAX, sign = -1;
	else
		return -1;
	s += 5;
	long n = 0;
	if (*s) {
		if (*s != (sign > 0 ? '+' : '-'))
			return -1;
		n = dec_in(s + 1, 0, SIGRTMAX - SIGRTMIN);
		if (n < 0)
			return -1;
	}
	int sig = base + sign * (int)n;
	return sig >= SIGRTMIN && sig <= SIGRTMAX ? sig : -1;
}

int sig_byname(const char *s)
{
	if (!s)
		return -1;
	long n = dec_in(s, 0, sig_max());
	if (n >= 0)
		return (int)n;
	const char *bare = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
	for (size_t i = 0; i < COUNT(sigs); i++)
		if (strcasecmp(bare, sigs[i].s + 3) == 0)
			return (int)sigs[i].v;
	n = dec_in(bare, 1, sig_max()); /* "SIG33" */
	if (n > 0 && bare != s)
		return (int)n;
	return rt_byname(bare);
}

const char *sig_name(int sig)
{
	if (sig <= 0 || sig > sig_max())
		return NULL;
	for (size_t i = 0; i < COUNT(sigs); i++)
		if (sigs[i].v == sig)
			return sigs[i].s;
	if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
		int up = sig - SIGRTMIN, down = SIGRTMAX - sig;
		if (up <= down && (size_t)up < COUNT(rtmin_names))
			return rtmin_names[up];
		if ((size_t)down < COUNT(rtmax_names))
			return rtmax_names[down];
		return NULL;
	}
	if (sig >= 32 && (size_t)(sig - 32) < COUNT(libc_rt_names))
		return libc_rt_names[sig - 32];
	return NULL;
}

/* ---- errno ---- */

/* Every errno of Linux x86_64, in value order; aliases after. */
static const struct name errnos[] = {
	N(EPERM), N(ENOENT), N(ESRCH), N(EINTR), N(EIO), N(ENXIO), N(E2BIG), N(ENOEXEC),
	N(EBADF), N(ECHILD), N(EAGAIN), N(ENOMEM), N(EACCES), N(EFAULT),
#ifdef ENOTBLK
	N(ENOTBLK),
#endif
	N(EBUSY), N(EEXIST), N(EXDEV), N(ENODEV), N(ENOTDIR), N(EISDIR), N(EINVAL), N(ENFILE),
	N(EMFILE), N(ENOTTY), N(ETXTBSY), N(EFBIG), N(ENOSPC), N(ESPIPE), N(EROFS), N(EMLINK),
	N(EPIPE), N(EDOM), N(ERANGE), N(EDEADLK), N(ENAMETOOLONG), N(ENOLCK), N(ENOSYS),
	N(ENOTEMPTY), N(ELOOP), N(ENOMSG), N(EIDRM),
#ifdef ECHRNG
	N(ECHRNG), N(EL2NSYNC), N(EL3HLT), N(EL3RST), N(ELNRNG), N(EUNATCH), N(ENOCSI),
	N(EL2HLT), N(EBADE), N(EBADR), N(EXFULL), N(ENOANO), N(EBADRQC), N(EBADSLT),
#endif
#ifdef EBFONT
	N(EBFONT),
#endif
	N(ENOSTR), N(ENODATA), N(ETIME), N(ENOSR),
#ifdef ENONET
	N(ENONET), N(ENOPKG),
#endif
	N(EREMOTE), N(ENOLINK),
#ifdef EADV
	N(EADV), N(ESRMNT), N(ECOMM),
#endif
	N(EPROTO), N(EMULTIHOP),
#ifdef EDOTDOT
	N(EDOTDOT),
#endif
	N(EBADMSG), N(EOVERFLOW),
#ifdef ENOTUNIQ
	N(ENOTUNIQ), N(EBADFD), N(EREMCHG), N(ELIBACC), N(ELIBBAD), N(ELIBSCN), N(ELIBMAX),
	N(ELIBEXEC),
#endif
	N(EILSEQ),
#ifdef ERESTART
	N(ERESTART),
#endif
#ifdef ESTRPIPE
	N(ESTRPIPE),
#endif
	N(EUSERS), N(ENOTSOCK), N(EDESTADDRREQ), N(EMSGSIZE), N(EPROTOTYPE), N(ENOPROTOOPT),
	N(EPROTONOSUPPORT), N(ESOCKTNOSUPPORT), N(EOPNOTSUPP), N(EPFNOSUPPORT), N(EAFNOSUPPORT),
	N(EADDRINUSE), N(EADDRNOTAVAIL), N(ENETDOWN), N(ENETUNREACH), N(ENETRESET),
	N(ECONNABORTED), N(ECONNRESET), N(ENOBUFS), N(EISCONN), N(ENOTCONN), N(ESHUTDOWN),
	N(ETOOMANYREFS), N(ETIMEDOUT), N(ECONNREFUSED), N(EHOSTDOWN), N(EHOSTUNREACH),
	N(EALREADY), N(EINPROGRESS), N(ESTALE),
#ifdef EUCLEAN
	N(EUCLEAN), N(ENOTNAM), N(ENAVAIL), N(EISNAM), N(EREMOTEIO),
#endif
	N(EDQUOT),
#ifdef ENOMEDIUM
	N(ENOMEDIUM), N(EMEDIUMTYPE),
#endif
	N(ECANCELED),
#ifdef ENOKEY
	N(ENOKEY), N(EKEYEXPIRED), N(EKEYREVOKED), N(EKEYREJECTED),
#endif
#ifdef EOWNERDEAD
	N(EOWNERDEAD), N(ENOTRECOVERABLE),
#endif
#ifdef ERFKILL
	N(ERFKILL),
#endif
#ifdef EHWPOISON
	N(EHWPOISON),
#endif
	/* aliases, accepted by errno_byname only */
	N(EWOULDBLOCK),
#ifdef EDEADLOCK
	N(EDEADLOCK),
#endif
#ifdef ENOTSUP
	N(ENOTSUP),
#endif
};

int errno_byname(const char *s)
{
	if (!s)
		return -1;
	for (size_t i = 0; i < COUNT(errnos); i++)
		if (strcmp(s, errnos[i].s) == 0)
			return (int)errnos[i].v;
	if (s[0] == 'E') /* "E200", as errno_name prints unknown numbers */
		return (int)dec_in(s + 1, 0, INT_MAX);
	return (int)dec_in(s, 0, INT_MAX);
}

const char *errno_name(int e)
{
	/* A few buffers in turn, so that one printf can name several. */
	static _Thread_local char buf[4][16];
	static _Thread_local unsigned turn;
	for (size_t i = 0; i < COUNT(errnos); i++)
		if (errnos[i].v == e)
			return errnos[i].s;
	char *b = buf[turn++ % 4];
	snprintf(b, sizeof buf[0], "E%d", e);
	return b;
}

/* ---- open(2) flags ---- */

/* The kernel sets O_LARGEFILE on every file of a 64-bit process and
 * /proc/PID/fdinfo shows it, but 64-bit libcs define O_LARGEFILE as 0;
 * use the kernel's value. */
#if defined(__x86_64__) || defined(__i386__)
#define SL_O_LARGEFILE 0100000
#elif defined(__aarch64__) || defined(__arm__)
#define SL_O_LARGEFILE 0400000
#elif defined(O_LARGEFILE)
#define SL_O_LARGEFILE O_LARGEFILE
#else
#define SL_O_LARGEFILE 0
#endif

/* Multi-bit flags (O_SYNC holds O_DSYNC, O_TMPFILE holds O_DIRECTORY) come
 * before their parts so that the formatter takes the whole first. */
static const struct name oflag_bits[] = {
	N(O_CREAT), N(O_EXCL), N(O_NOCTTY), N(O_TRUNC), N(O_APPEND), N(O_NONBLOCK),
	N(O_SYNC), N(O_DSYNC),
#ifdef O_DIRECT
	N(O_DIRECT),
#endif
	{SL_O_LARGEFILE, "O_LARGEFILE"},
#ifdef O_TMPFILE
	N(O_TMPFILE),
#endif
	N(O_DIRECTORY), N(O_NOFOLLOW),
#ifdef O_NOATIME
	N(O_NOATIME),
#endif
	N(O_CLOEXEC),
#ifdef O_ASYNC
	N(O_ASYNC),
#elif defined(FASYNC)
	{FASYNC, "O_ASYNC"},
#endif
};

/* Words oflags_parse accepts besides the bits: access modes and aliases. */
static const struct name oflag_words[] = {
	N(O_RDONLY), N(O_WRONLY), N(O_RDWR),
#ifdef O_PATH
	N(O_PATH),
#endif
#ifdef FASYNC
	N(FASYNC),
#endif
	N(O_NDELAY),
#ifdef O_RSYNC
	N(O_RSYNC),
#endif
#ifdef O_FSYNC
	N(O_FSYNC),
#endif
};

static long oflag_word(const char *w, size_t n)
{
	for (size_t i = 0; i < COUNT(oflag_bits); i++)
		if (strlen(oflag_bits[i].s) == n && strncmp(w, oflag_bits[i].s, n) == 0)
			return oflag_bits[i].v;
	for (size_t i = 0; i < COUNT(oflag_words); i++)
		if (strlen(oflag_words[i].s) == n && strncmp(w, oflag_words[i].s, n) == 0)
			return oflag_words[i].v;
	return -1;
}

long oflags_parse(const char *s, const char **bad, int *badlen)
{
	long flags = 0;
	if (bad)
		*bad = s;
	if (badlen)
		*badlen = 0;
	if (!s)
		return -1;
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		const char *w = s;
		size_t n = strcspn(s, "|");
		s += n;
		while (n > 0 && (w[n - 1] == ' ' || w[n - 1] == '\t'))
			n--;
		long v = -1;
		if (n > 0 && w[0] >= '0' && w[0] <= '9') { /* 0, 0100, 0x41, 65 */
			char *end;
			errno = 0;
			unsigned long u = strtoul(w, &end, 0);
			if (!errno && end == w + n && u <= UINT_MAX)
				v = (long)u;
		} else if (n > 0) {
			v = oflag_word(w, n);
		}
		if (v < 0) {
			if (bad)
				*bad = w;
			if (badlen)
				*badlen = n > INT_MAX ? INT_MAX : (int)n;
			return -1;
		}
		flags |= v;
		if (!*s)
			return flags;
		s++; /* the '|' */
	}
}

/* The kernel's access-mode bits.  Not O_ACCMODE: musl makes that
 * 03|O_SEARCH, and O_SEARCH is O_PATH. */
#define SL_ACCMODE 03

/* Append "|" (unless first) and S to BUF; AT counts what would have been
 * written, so once it reaches LEN the rest is dropped. */
static void put(char *buf, unsigned len, size_t *at, const char *s)
{
	if (*at + 1 >= len)
		return;
	int n = snprintf(buf + *at, len - *at, "%s%s", *at ? "|" : "", s);
	if (n > 0)
		*at = *at + (size_t)n < len ? *at + (size_t)n : len;
}

void oflags_format(int flags, char *buf, unsigned len)
{
	if (!buf || len == 0)
		return;
	buf[0] = '\0';
	unsigned long left = (unsigned)flags;
	size_t at = 0;
	const char *acc = NULL;
#ifdef O_PATH
	if ((left & O_PATH) && (left & SL_ACCMODE) == 0) {
		acc = "O_PATH";
		left &= ~(unsigned long)O_PATH;
	} else
#endif
		if ((left & SL_ACCMODE) == O_RDONLY)
			acc = "O_RDONLY";
		else if ((left & SL_ACCMODE) == O_WRONLY)
			acc = "O_WRONLY";
		else if ((left & SL_ACCMODE) == O_RDWR)
			acc = "O_RDWR";
	put(buf, len, &at, acc ? acc : "03"); /* mode 3: no name, but still first */
	left &= ~(unsigned long)SL_ACCMODE;
	for (size_t i = 0; i < COUNT(oflag_bits); i++) {
		unsigned long v = (unsigned long)oflag_bits[i].v;
		if (v && (left & v) == v) {
			put(buf, len, &at, oflag_bits[i].s);
			left &= ~v;
		}
	}
#ifdef O_PATH
	if (left & O_PATH) {
		put(buf, len, &at, "O_PATH");
		left &= ~(unsigned long)O_PATH;
	}
#endif
	if (left) {
		char num[32];
		snprintf(num, sizeof num, "0%lo", left);
		put(buf, len, &at, num);
	}
}

const struct sl_rlimit sl_rlimits[] = {
	{"nofile", RLIMIT_NOFILE}, {"nproc", RLIMIT_NPROC}, {"core", RLIMIT_CORE},
	{"stack", RLIMIT_STACK},   {"cpu", RLIMIT_CPU},     {"fsize", RLIMIT_FSIZE},
	{NULL, 0},
};
