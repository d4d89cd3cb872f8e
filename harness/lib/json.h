/* json.h: a streaming JSON writer with libc alone (the driver must build
 * static and against musl).  Commas and nesting are tracked for you. */
#ifndef SPAWNLAB_JSON_H
#define SPAWNLAB_JSON_H

#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

struct json {
	FILE *f;
	int depth;
	int first[JSON_MAX_DEPTH]; /* nothing written yet at this level */
	int pretty;
};

void json_init(struct json *j, FILE *f, int pretty);
void json_obj_begin(struct json *j, const char *key); /* key NULL in arrays/top */
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j, const char *key);
void json_arr_end(struct json *j);
void json_str(struct json *j, const char *key, const char *val); /* NULL -> null */
void json_int(struct json *j, const char *key, long long v);
void json_uint(struct json *j, const char *key, unsigned long long v);
void json_bool(struct json *j, const char *key, int v);
void json_null(struct json *j, const char *key);
/* A number from its text (integer or decimal); null if it is not one. */
void json_number(struct json *j, const char *key, const char *text);
/* A value that looks like an integer is written as a number, else a string. */
void json_auto(struct json *j, const char *key, const char *val);

#endif
