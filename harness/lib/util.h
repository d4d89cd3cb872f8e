/* util.h: small helpers shared by the driver: allocation that cannot
 * return NULL, a growable string, whole-file reads, clocks. */
#ifndef SPAWNLAB_UTIL_H
#define SPAWNLAB_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct sbuf {
	char *s;
	size_t len, cap;
};
void sb_init(struct sbuf *b);
void sb_addn(struct sbuf *b, const char *s, size_t n);
void sb_adds(struct sbuf *b, const char *s);
void sb_addf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_free(struct sbuf *b);

/* Read a whole file (at most MAX bytes) into a NUL-terminated buffer;
 * NULL with errno on error. */
char *read_file(const char *path, size_t max, size_t *len);
/* Remove a tree we created; never follows symlinks. 0 or -1. */
int rm_tree(const char *path);
uint64_t mono_ms(void);
uint64_t mono_us(void);
/* Open PATH for writing and write S (N bytes) in one call, as /proc and
 * /sys files want; 0, or -1 with errno (EIO for a short write). */
int write_path(const char *path, const char *s, size_t n);
/* Map root in the user namespace of PID to our euid and egid (65534 when
 * we are root), setgroups denied.  0, or -1 with the failing file in ERR. */
int userns_map_root(pid_t pid, char *err, size_t errlen);
/* "/PREFIX-" and 16 random hex digits: a name for an object of a shared
 * namespace (POSIX message queues, shm) that concurrent cases cannot both
 * pick; every case is pid 1 of its own pid namespace, so pids and clocks
 * do not make names unique.  0, or -1 with errno. */
int unique_name(char *out, size_t len, const char *prefix);
/* write(2) all of BUF, retrying short writes and EINTR. */
int write_all(int fd, const void *buf, size_t n);

#endif
