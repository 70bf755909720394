/*
 * The sentences of the XML adapter's refusals that need the body itself: a body with no root
 * element (empty, or not XML at all), and a byte a UTF-8 document may not hold. libxml2's own
 * words for these ("Start tag expected, '<' not found", "Input is not proper UTF-8, indicate
 * encoding !") say neither what the body is nor which byte to fix; and the sentences of the
 * entity refusals. Pure functions over bytes, free of libxml2, so that they are unit-tested
 * alone.
 */
#ifndef MARKR_INTERFACES_XML_MESSAGES_H
#define MARKR_INTERFACES_XML_MESSAGES_H

#include <stddef.h>

/* For a body in which no root element started: the line of its first non-blank byte (the
 * last line for blanks only) to *line, and returns 0 when it is empty (nothing but XML white
 * space, after a byte order mark), 1 when its first non-blank byte is not '<' (it is not
 * XML), each with its sentence (no line prefix) in out (cap bytes); -1, with nothing written
 * to out, when it starts like XML. */
int markr_xml_describe_no_root(const char *body, size_t len, char *out, size_t cap, unsigned long *line);

/* For an encoding error of a document read as UTF-8 (declared is its declared encoding, NULL
 * when none): finds the first byte that starts no valid UTF-8 sequence, or is a control
 * character XML does not allow, and writes a sentence naming it, its offset (1-based) and
 * what to do to out, its line to *line. Returns 1, or 0 when no such byte is found (then
 * libxml2's own words are better than a guess). */
int markr_xml_describe_bad_byte(const char *body, size_t len, const char *declared, char *out, size_t cap,
                                unsigned long *line);

/* Whether libxml2 reads a body as UTF-8: no other encoding declared (declared NULL: none),
 * no UTF-16 byte order mark. */
int markr_xml_read_as_utf8(const char *body, size_t len, const char *declared);

/* How a document met an entity, for markr_xml_describe_entity. */
enum markr_xml_entity_use {
    MARKR_XML_ENTITY_DECLARED,   /* <!ENTITY name ...> */
    MARKR_XML_ENTITY_REFERENCED, /* &name; or %name; other than XML's five */
    MARKR_XML_ENTITY_LOADED,     /* an external resource (its system id in name) */
};

/* The sentence refusing an entity (no line prefix), quoting at most quote bytes of name (cut
 * between UTF-8 characters), into out (cap bytes). */
void markr_xml_describe_entity(enum markr_xml_entity_use use, const char *name, size_t quote, char *out, size_t cap);

#endif
