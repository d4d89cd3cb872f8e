/* utf8.c: see utf8.h. */
#include "lib/utf8.h"

size_t utf8_seq(const unsigned char *p)
{
	unsigned cp;
	size_t n;
	if (p[0] >= 0xC2 && p[0] <= 0xDF)
		n = 2, cp = p[0] & 0x1Fu;
	else if (p[0] >= 0xE0 && p[0] <= 0xEF)
		n = 3, cp = p[0] & 0x0Fu;
	else if (p[0] >= 0xF0 && p[0] <= 0xF4)
		n = 4, cp = p[0] & 0x07u;
	else
		return 0; /* ASCII, a continuation byte, C0/C1 (always overlong), F5..FF */
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3Fu);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	if (cp >= 0xD800 && cp <= 0xDFFF)
		return 0;
	return n;
}
