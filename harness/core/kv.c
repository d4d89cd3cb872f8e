/* kv.c: see kv.h. */
#include "core/kv.h"

#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

void kv_init(struct kv *m)
{
	memset(m, 0, sizeof *m);
}

void kv_free(struct kv *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->key[i]);
		free(m->val[i]);
	}
	free(m->key);
	free(m->val);
	kv_init(m);
}

void kv_set(struct kv *m, const char *key, const char *val)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->key[i], key) == 0) {
			free(m->val[i]);
			m->val[i] = xstrdup(val);
			return;
		}
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 32;
		m->key = xrealloc(m->key, m->cap * sizeof *m->key);
		m->val = xrealloc(m->val, m->cap * sizeof *m->val);
	}
	m->key[m->n] = xstrdup(key);
	m->val[m->n] = xstrdup(val);
	m->n++;
}

const char *kv_get(const struct kv *m, const char *key)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->key[i], key) == 0)
			return m->val[i];
	return NULL;
}

void kv_parse(struct kv *m, const char *text)
{
	const char *p = text;
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		const char *sp = memchr(p, ' ', len);
		size_t klen = sp ? (size_t)(sp - p) : len;
		if (klen > 0) {
			char *k = xmalloc(klen + 1), *v;
			memcpy(k, p, klen);
			k[klen] = 0;
			size_t vlen = sp ? len - klen - 1 : 0;
			v = xmalloc(vlen + 1);
			if (vlen)
				memcpy(v, sp + 1, vlen);
			v[vlen] = 0;
			kv_set(m, k, v);
			free(k);
			free(v);
		}
		p += len;
		if (*p == '\n')
			p++;
	}
}
