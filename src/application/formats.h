/*
 * Import formats: which parser reads a document, chosen by its media type. Every path that
 * accepts a document (the synchronous import, the queue, reprocessing) judges it through
 * the same table, so a new format is one more entry here and one more parser adapter, not
 * a second acceptance path.
 */
#ifndef MARKR_APPLICATION_FORMATS_H
#define MARKR_APPLICATION_FORMATS_H

#include <stddef.h>

#include "ports.h"

struct markr_format {
    const char *media_type; /* "type/subtype", lower case */
    struct markr_document_parser parser;
};

struct markr_formats {
    const struct markr_format *items;
    size_t count;
};

/* The format of a Content-Type value (len bytes; not NUL-terminated): its media type, in
 * any case and with optional white space around it, before any parameters such as
 * "; charset=utf-8". NULL when no format has that media type. Lenient: it reads no
 * parameter. Only markr_formats_canonical uses it, for content types stored before the
 * strict rule; a document is accepted by markr_formats_parse. */
const struct markr_format *markr_formats_find(const struct markr_formats *formats, const char *content_type,
                                              size_t len);

/* What markr_formats_parse found wrong with a Content-Type, or MARKR_CONTENT_TYPE_OK. */
enum markr_content_type_verdict {
    MARKR_CONTENT_TYPE_OK = 0,
    MARKR_CONTENT_TYPE_MISSING,   /* absent or only white space */
    MARKR_CONTENT_TYPE_MALFORMED, /* not type/subtype *(; name=value), a comma, a control byte */
    MARKR_CONTENT_TYPE_UNKNOWN,   /* well-formed, but no format reads that media type */
    MARKR_CONTENT_TYPE_PARAMETER, /* a parameter other than one charset */
    MARKR_CONTENT_TYPE_CHARSET,   /* a charset outside the allow-list */
};

/* The charsets markr_formats_parse allows, as a sentence names them (formats.c lists them). */
#define MARKR_ALLOWED_CHARSETS_TEXT "utf-8, us-ascii or iso-8859-1"

/* Longest canonical charset name (with its NUL) that markr_formats_parse writes. */
#define MARKR_CHARSET_MAX 16

/* The strict reading of a Content-Type value (len bytes, not NUL-terminated; NULL with len 0
 * is a missing one) that decides whether a document is accepted, on every path:
 *   [OWS] type "/" subtype [ OWS ";" OWS "charset=" (token / quoted-string) ] [OWS]
 * where the media type is a format's (any case), the only parameter allowed is one charset
 * (name in any case), and its value, once unquoted, is one of the allow-list, in any case:
 * utf-8, us-ascii, iso-8859-1 (the names of RFC 2046/IANA that a document of ours can be in;
 * an XML document still says its own encoding). A comma (a browser reads a list of types),
 * any control byte or byte above 0x7e, an empty parameter or a backslash in a quoted value
 * makes the value malformed: everything a browser might read as another media type is
 * refused rather than stored. Never reads past len.
 * On MARKR_CONTENT_TYPE_OK, *format is the format and charset (cap bytes, at least
 * MARKR_CHARSET_MAX) holds the canonical lower-case charset name, or "" when none was given.
 * Otherwise *format is NULL and charset "" (when cap > 0). */
enum markr_content_type_verdict markr_formats_parse(const struct markr_formats *formats, const char *value,
                                                    size_t len, const struct markr_format **format,
                                                    char *charset, size_t cap);

/* One sentence for a verdict, for a 415's message ("" for MARKR_CONTENT_TYPE_OK). */
const char *markr_content_type_problem(enum markr_content_type_verdict verdict);

/* The Content-Type markr would serve for a document stored with content_type (a
 * NUL-terminated string, possibly stored before the strict rule): the format's media type,
 * followed by "; charset=NAME" when the stored value passes markr_formats_parse with a
 * charset, else the media type alone. Written into out (cap bytes); returns out, or NULL when
 * no format has that media type (serve it as application/octet-stream, or not at all) or out
 * is too small. */
const char *markr_formats_canonical(const struct markr_formats *formats, const char *content_type, char *out,
                                    size_t cap);

#endif
