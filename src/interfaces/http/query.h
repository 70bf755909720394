/*
 * Query strings and numeric ids of request targets, free of h2o (like router.h) so that
 * they are unit-tested and fuzzed alone. A target is "path?query"; pairs are separated by
 * '&'; names are compared as written (not decoded), values are percent-decoded ('+' stays
 * '+'). Every handler reads its
 * parameters through these functions, so all of them refuse the same malformed input.
 */
#ifndef MARKR_INTERFACES_HTTP_QUERY_H
#define MARKR_INTERFACES_HTTP_QUERY_H

#include <stddef.h>
#include <stdint.h>

/* The decoded value of parameter name in target into dst (room for cap bytes plus a NUL),
 * its length in *len. The last occurrence wins. Returns 1 when present, 0 when absent, -1
 * when its value is malformed (a bad %-escape) or longer than cap. */
int markr_query_get(const char *target, size_t target_len, const char *name, char *dst, size_t cap, size_t *len);

/* 1 when every parameter of target's query is named in known (NULL-terminated) and has a
 * value ("name=..."); empty pairs ("a=1&&b=2") are allowed. 0 otherwise. */
int markr_query_only(const char *target, size_t target_len, const char *const *known);

/* A decimal integer from 0 to max: digits only (no sign, no space), at most 19 of them.
 * Returns it, or -1 when text is anything else. */
int64_t markr_parse_uint(const char *text, size_t len, int64_t max);

/* An id as the vault writes them: markr_parse_uint without a leading zero, at least 1.
 * Returns it or -1. */
int64_t markr_parse_id(const char *text, size_t len);

#endif
