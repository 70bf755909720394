/*
 * A lexer that runs over the body just ahead of libxml2 and counts the attributes of every
 * start tag (namespace declarations included), so that a tag with too many is refused
 * before libxml2 reads it. libxml2 2.9 checks a start tag's attributes for duplicates pair
 * by pair: a tag of n attributes costs n * n / 2 comparisons, and one element of 160,000
 * empty attributes (1.6 MB, well-formed, an extra element the format ignores) held a worker
 * for 15 s. It knows XML's markup only as far as needed to tell a start tag's `=` from any
 * other: comments, CDATA sections, processing instructions, end tags, quoted values, and the
 * document type declaration with its internal subset. (Attributes a DOCTYPE declares with
 * defaults, and namespaces declared by the open elements, are bounded by the SAX handlers:
 * xml_entities.c, xml_parser.c.)
 *
 * It reads code units, not bytes: one byte in UTF-8 and the ASCII-compatible single-byte
 * encodings, two in UTF-16, four in UCS-4, as libxml2 detects them from the first four
 * bytes. A unit is ASCII when all its bytes but one are zero. (xml_parser.c refuses the
 * encodings in which that is not so: EBCDIC, and those where ASCII bytes may be part of
 * another character.)
 */
#ifndef MARKR_INTERFACES_XML_TAGS_H
#define MARKR_INTERFACES_XML_TAGS_H

#include <stddef.h>

#include "xml_parser.h" /* MARKR_XML_MAX_ATTRIBUTES */

struct markr_xml_tags {
    unsigned width;    /* bytes per code unit: 1, 2 or 4 */
    unsigned ascii_at; /* which byte of a unit holds an ASCII character */
    int state;
    int quote;           /* the quote that closes the value being read */
    unsigned run;        /* '-', ']' or '?' just read, towards "-->", "]]>" or "?>" */
    unsigned attributes; /* of the start tag being read */
    size_t at;           /* offset in the body of the next byte to scan */
    size_t tag_at;       /* offset of the '<' of the tag being read */
    int prologue_seen;   /* the first processing instruction has ended */
};

enum markr_xml_tags_stop {
    MARKR_XML_TAGS_END,      /* every byte given was scanned */
    MARKR_XML_TAGS_PROLOGUE, /* the first processing instruction (the XML declaration) ended */
    MARKR_XML_TAGS_TOO_MANY, /* a start tag has more than MARKR_XML_MAX_ATTRIBUTES */
};

/* Starts a scan of a body whose first bytes are head (len of them, up to four are read). */
void markr_xml_tags_init(struct markr_xml_tags *t, const char *head, size_t len);

/* Scans the body (len bytes) from offset t->at until t->at reaches upto; it may pass upto,
 * as it reads ahead to the end of a tag. Stops early, and says why: at PROLOGUE t->at is the
 * offset just past the declaration, at TOO_MANY t->tag_at is the offset of the tag's '<'.
 * The next call goes on from t->at. */
enum markr_xml_tags_stop markr_xml_tags_scan(struct markr_xml_tags *t, const char *body, size_t len, size_t upto);

#endif
