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
 * "; charset=utf-8". NULL when no format has that media type. */
const struct markr_format *markr_formats_find(const struct markr_formats *formats, const char *content_type,
                                              size_t len);

#endif
