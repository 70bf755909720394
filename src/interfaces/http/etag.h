/*
 * Entity tags of answers (ADR 0028), free of h2o so that they are unit-tested and fuzzed
 * alone: the strong tag of a body, and whether an If-None-Match value names it. The server
 * adds and checks them in representation.c.
 */
#ifndef MARKR_INTERFACES_HTTP_ETAG_H
#define MARKR_INTERFACES_HTTP_ETAG_H

#include <stddef.h>

/* Room for a tag, its quotes, a "-gzip" suffix and the NUL. */
#define MARKR_ETAG_MAX 48

/* The strong entity tag of a body: "<64-bit FNV-1a of the bytes><length>", hex, quoted,
 * NUL-terminated into tag. The same bytes always give the same tag, on every server and
 * after every restart. */
void markr_etag_of(const char *body, size_t len, char tag[MARKR_ETAG_MAX]);

/* Whether an If-None-Match value (len bytes: "*", or a comma-separated list of tags, weak
 * ones included, as RFC 9110 compares them weakly) names tag. Never reads past len. */
int markr_etag_matches(const char *if_none_match, size_t len, const char *tag);

#endif
