/* fuzz_util.c: see fuzz_util.h. */
#include "fuzz_util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fuzz_replay_mode;
unsigned long fuzz_findings;

uint8_t fz_u8(struct fz *f)
{
	return f->i < f->n ? f->p[f->i++] : 0;
}

uint32_t fz_u32(struct fz *f)
{
	uint32_t v = 0;
	for (int k = 0; k < 4; k++)
		v |= (uint32_t)fz_u8(f) << (8 * k);
	return v;
}

uint64_t fz_u64(struct fz *f)
{
	uint64_t lo = fz_u32(f);
	return lo | (uint64_t)fz_u32(f) << 32;
}

int fz_more(const struct fz *f)
{
	return f->i < f->n;
}

#define MAX_SIGS 256
static char *seen[MAX_SIGS];
static size_t nseen;

static int seen_before(const char *key)
{
	for (size_t i = 0; i < nseen; i++)
		if (strcmp(seen[i], key) == 0)
			return 1;
	if (nseen < MAX_SIGS) {
		char *c = strdup(key);
		if (c)
			seen[nseen++] = c;
	}
	return 0;
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static int write_all(const char *path, const uint8_t *d, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	while (n) {
		ssize_t w = write(fd, d, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			return -1;
		}
		d += w;
		n -= (size_t)w;
	}
	return close(fd);
}

void fuzz_finding(const char *target, const char *sig, const uint8_t *data, size_t len, const char *detail)
{
	fuzz_finding_case(target, sig, data, len, detail, NULL,
			  "this kind of finding has no translation to the case language: replay the .bin");
}

/* DIR/cases/TARGET/KEY.case, the folders made as needed; 0 or -1. */
static int write_case(const char *dir, const char *target, const char *key, const char *text, char *path,
		      size_t plen)
{
	snprintf(path, plen, "%s/cases", dir);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -1;
	snprintf(path, plen, "%s/cases/%s", dir, target);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -1;
	snprintf(path, plen, "%s/cases/%s/%s.case", dir, target, key);
	return write_all(path, (const uint8_t *)text, strlen(text));
}

void fuzz_finding_case(const char *target, const char *sig, const uint8_t *data, size_t len, const char *detail,
		       const char *case_text, const char *no_case)
{
	fuzz_findings++;
	char key[256];
	snprintf(key, sizeof key, "%s-%s", target, sig);
	int first = !seen_before(key);
	if (first || fuzz_replay_mode)
		fprintf(stderr, "FINDING %s: %s\n", key, detail);
	if (first && !fuzz_replay_mode) {
		const char *dir = getenv("SPAWNLAB_FINDINGS");
		if (!dir || !*dir)
			dir = "reports/findings";
		char path[PATH_MAX];
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			fprintf(stderr, "fuzz: mkdir %s: %s\n", dir, strerror(errno));
		snprintf(path, sizeof path, "%s/%s.bin", dir, key);
		if (write_all(path, data, len) < 0)
			fprintf(stderr, "fuzz: cannot write %s: %s\n", path, strerror(errno));
		snprintf(path, sizeof path, "%s/%s.json", dir, key);
		FILE *f = fopen(path, "we");
		if (!f) {
			fprintf(stderr, "fuzz: cannot write %s: %s\n", path, strerror(errno));
		} else {
			fprintf(f, "{\n  \"target\": ");
			json_str(f, target);
			fprintf(f, ",\n  \"kind\": ");
			json_str(f, sig);
			fprintf(f, ",\n  \"detail\": ");
			json_str(f, detail);
			fprintf(f, ",\n  \"reproducer\": ");
			json_str(f, key);
			fprintf(f, ",\n  \"replay\": \"build/fuzz/%s-replay %s/%s.bin\"", target, dir, key);
			char cpath[PATH_MAX];
			if (case_text && write_case(dir, target, key, case_text, cpath, sizeof cpath) == 0) {
				fprintf(f, ",\n  \"case\": ");
				json_str(f, cpath);
				fprintf(f, ",\n  \"replay_case\": \"build/spawnlab run --cases %s/cases %s\"", dir, target);
			} else {
				if (case_text)
					fprintf(stderr, "fuzz: cannot write %s: %s\n", cpath, strerror(errno));
				fprintf(f, ",\n  \"case\": null,\n  \"no_case\": ");
				json_str(f, case_text ? "the case file could not be written" : no_case ? no_case : "");
			}
			fprintf(f, "\n}\n");
			if (fclose(f) != 0)
				fprintf(stderr, "fuzz: write %s: %s\n", path, strerror(errno));
		}
	}
	const char *trap = getenv("SPAWNLAB_FUZZ_TRAP");
	if (!fuzz_replay_mode && trap && strcmp(trap, "1") == 0)
		__builtin_trap();
}

void fuzz_note(const char *target, const char *msg)
{
	char key[256];
	snprintf(key, sizeof key, "note:%s-%s", target, msg);
	if (!seen_before(key))
		fprintf(stderr, "fuzz %s: %s\n", target, msg);
}

static int env_flag(const char *name, int *cache)
{
	if (*cache < 0) {
		const char *v = getenv(name);
		*cache = v && *v && strcmp(v, "0") != 0;
	}
	return *cache;
}

int fuzz_outcomes_on(void)
{
	static int on = -1;
	return env_flag("SPAWNLAB_FUZZ_OUTCOMES", &on);
}

int fuzz_verbose(void)
{
	static int on = -1;
	return env_flag("SPAWNLAB_FUZZ_VERBOSE", &on);
}

void fuzz_outcome(const char *fmt, ...)
{
	if (!fuzz_outcomes_on())
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("OUTCOME ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
}
