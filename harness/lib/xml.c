/* xml.c: see xml.h.  Character ranges: XML 1.0 (Fifth Edition) section
 * 2.2, production [2] Char. */
#include "lib/xml.h"

#include <stddef.h>

#include "lib/utf8.h"

/* Length of the UTF-8 sequence at P if it encodes an XML Char, else 0:
 * XML excludes U+FFFE and U+FFFF (EF BF BE, EF BF BF) besides what is not
 * UTF-8 at all. */
static size_t xml_char(const unsigned char *p)
{
	size_t n = utf8_seq(p);
	if (n == 3 && p[0] == 0xEF && p[1] == 0xBF && (p[2] == 0xBE || p[2] == 0xBF))
		return 0;
	return n;
}

static void put(FILE *f, const char *s, int attr)
{
	static const char hex[] = "0123456789abcdef";
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
		unsigned char c = *p;
		size_t n;
		if (c == '&')
			fputs("&amp;", f);
		else if (c == '<')
			fputs("&lt;", f);
		else if (c == '>')
			fputs("&gt;", f); /* also keeps "]]>" out of character data */
		else if (c == '"' && attr)
			fputs("&quot;", f);
		else if (c == '\r' || (attr && (c == '\n' || c == '\t')))
			fprintf(f, "&#%d;", c); /* a raw CR is read back as LF; in attributes all three become spaces */
		else if (c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7F))
			fputc(c, f);
		else if (c >= 0x80 && (n = xml_char(p)) > 0) {
			fwrite(p, 1, n, f);
			p += n - 1;
		} else {
			/* DEL is a legal but invisible XML character: shown like the rest. */
			char esc[5] = {'\\', 'x', hex[c >> 4], hex[c & 15], 0};
			fputs(esc, f);
		}
	}
}

void xml_text(FILE *f, const char *s)
{
	put(f, s, 0);
}

void xml_attr(FILE *f, const char *s)
{
	put(f, s, 1);
}
