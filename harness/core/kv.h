/* kv.h: an observation: ordered "key value" pairs, as the probe and the
 * spawner write them, one per line. */
#ifndef SPAWNLAB_KV_H
#define SPAWNLAB_KV_H

#include <stddef.h>

struct kv {
	char **key, **val;
	size_t n, cap;
};

void kv_init(struct kv *m);
void kv_free(struct kv *m);
/* Add or replace. */
void kv_set(struct kv *m, const char *key, const char *val);
const char *kv_get(const struct kv *m, const char *key);
/* Parse "key value\n" lines (value may be empty); lines without a key are
 * ignored.  Later keys replace earlier ones. */
void kv_parse(struct kv *m, const char *text);

#endif
