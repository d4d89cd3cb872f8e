/* utf8.h: well-formed UTF-8 (RFC 3629 section 4), for the writers that
 * must not pass malformed bytes on (JSON, XML). */
#ifndef SPAWNLAB_UTF8_H
#define SPAWNLAB_UTF8_H

#include <stddef.h>

/* The length (2..4) of the well-formed sequence that encodes one non-ASCII
 * character at P, or 0 if the bytes there are not one: a stray
 * continuation byte, an overlong form, a UTF-16 surrogate, beyond U+10FFFF,
 * or cut short (by the terminating NUL too). */
size_t utf8_seq(const unsigned char *p);

#endif
