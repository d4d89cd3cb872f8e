/* json.c: see json.h. */
#include "lib/json.h"

#include <stdlib.h>
#include <string.h>

#include "lib/utf8.h"

void json_init(struct json *j, FILE *f, int pretty)
{
	memset(j, 0, sizeof *j);
	j->f = f;
	j->first[0] = 1;
	j->pretty = pretty;
}

static void put_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(f, "\\u%04x", *p);
			else if (*p >= 0x80) {
				/* Pass well-formed UTF-8 through; replace anything else
				 * (overlong forms and surrogates too: readers reject them). */
				size_t n = utf8_seq(p);
				if (n) {
					fwrite(p, 1, n, f);
					p += n - 1;
				} else {
					fputs("\\ufffd", f);
				}
			} else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

static void lead(struct json *j, const char *key)
{
	if (!j->first[j->depth])
		fputc(',', j->f);
	j->first[j->depth] = 0;
	if (j->pretty && j->depth > 0) {
		fputc('\n', j->f);
		for (int i = 0; i < j->depth; i++)
			fputs("  ", j->f);
	}
	if (key) {
		put_string(j->f, key);
		fputs(j->pretty ? ": " : ":", j->f);
	}
}

static void open_(struct json *j, const char *key, char c)
{
	lead(j, key);
	fputc(c, j->f);
	if (j->depth + 1 < JSON_MAX_DEPTH)
		j->depth++;
	j->first[j->depth] = 1;
}

static void close_(struct json *j, char c)
{
	int empty = j->first[j->depth];
	if (j->depth > 0)
		j->depth--;
	if (j->pretty && !empty) {
		fputc('\n', j->f);
		for (int i = 0; i < j->depth; i++)
			fputs("  ", j->f);
	}
	fputc(c, j->f);
	if (j->depth == 0 && j->pretty)
		fputc('\n', j->f);
}

void json_obj_begin(struct json *j, const char *key)
{
	open_(j, key, '{');
}
void json_obj_end(struct json *j)
{
	close_(j, '}');
}
void json_arr_begin(struct json *j, const char *key)
{
	open_(j, key, '[');
}
void json_arr_end(struct json *j)
{
	close_(j, ']');
}

void json_str(struct json *j, const char *key, const char *val)
{
	lead(j, key);
	if (val)
		put_string(j->f, val);
	else
		fputs("null", j->f);
}

void json_int(struct json *j, const char *key, long long v)
{
	lead(j, key);
	fprintf(j->f, "%lld", v);
}

void json_uint(struct json *j, const char *key, unsigned long long v)
{
	lead(j, key);
	fprintf(j->f, "%llu", v);
}

void json_bool(struct json *j, const char *key, int v)
{
	lead(j, key);
	fputs(v ? "true" : "false", j->f);
}

void json_null(struct json *j, const char *key)
{
	lead(j, key);
	fputs("null", j->f);
}

void json_auto(struct json *j, const char *key, const char *val)
{
	char *end;
	if (val && *val && (val[0] != '0' || !val[1]) && (strtoll(val, &end, 10), *end == 0) && strlen(val) < 18 &&
	    !(val[0] == '-' && val[1] == '0'))
		json_int(j, key, strtoll(val, NULL, 10));
	else
		json_str(j, key, val);
}

void json_number(struct json *j, const char *key, const char *text)
{
	char *end;
	double d = strtod(text, &end);
	lead(j, key);
	if (end == text || *end || d != d || d > 1e300 || d < -1e300)
		fputs("null", j->f);
	else
		fputs(text, j->f);
}
