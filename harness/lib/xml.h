/* xml.h: text and attribute values for an XML 1.0 document (the JUnit
 * writer's).  Whatever the bytes, the output is well-formed: markup
 * characters become entities, and what XML 1.0 cannot carry at all (C0
 * controls other than tab, newline and carriage return, U+FFFE, U+FFFF,
 * invalid or overlong UTF-8, surrogates) becomes a visible "\xNN" per byte,
 * so nothing is lost without a trace. */
#ifndef SPAWNLAB_XML_H
#define SPAWNLAB_XML_H

#include <stdio.h>

/* S as character data (between tags); NULL writes nothing. */
void xml_text(FILE *f, const char *s);
/* S as the inside of a double-quoted attribute value; tab, newline and
 * carriage return are written as character references so that attribute
 * value normalisation keeps them. */
void xml_attr(FILE *f, const char *s);

#endif
