/*
 * Query strings and numeric ids of request targets, free of h2o (like router.h) so that
 * they are unit-tested and fuzzed alone. A target is "path?query"; pairs are separated by
 * '&'; names are compared as written (not decoded), values are percent-decoded ('+' stays
 * '+'). Which parameters a route takes is declared once, in its entry of the route table
 * (routes.c, MARKR_PARAMS), and checked by the dispatcher with markr_query_check before the
 * handler runs: an unknown, repeated or valueless parameter is 400 bad_query naming it, the
 * same on every endpoint. Handlers then read the values through markr_query_get and check
 * their form (the bounds are the use cases').
 */
#ifndef MARKR_INTERFACES_HTTP_QUERY_H
#define MARKR_INTERFACES_HTTP_QUERY_H

#include <stddef.h>
#include <stdint.h>

/* The parameters of a route, for its entry of the route table: MARKR_PARAMS("limit",
 * "cursor"), or MARKR_NO_PARAMS (NULL) for a route that takes none. */
#define MARKR_PARAMS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define MARKR_NO_PARAMS NULL

/* Longest parameter name a refusal quotes; a longer one is cut (it is unknown anyway). */
#define MARKR_QUERY_NAME_QUOTED 64

/* 0 when every non-empty pair of target's query names a parameter of allowed (NULL-terminated,
 * or NULL for none), each at most once and each with a value ("name=..."; empty pairs such
 * as "a=1&&b=2" are skipped). Else -1, with a sentence naming the first offending parameter
 * written to message (cap bytes, NUL-terminated). */
int markr_query_check(const char *target, size_t target_len, const char *const *allowed, char *message, size_t cap);

/* The decoded value of parameter name in target into dst (room for cap bytes plus a NUL),
 * its length in *len. markr_query_check has refused a repeated one. Returns 1 when present, 0 when absent, -1
 * when its value is malformed (a bad %-escape, or one that decodes to a NUL) or longer than
 * cap. */
int markr_query_get(const char *target, size_t target_len, const char *name, char *dst, size_t cap, size_t *len);

/* A decimal integer from 0 to max: digits only (no sign, no space), at most 19 of them.
 * Returns it, or -1 when text is anything else. */
int64_t markr_parse_uint(const char *text, size_t len, int64_t max);

/* An id as the vault writes them: markr_parse_uint without a leading zero, at least 1.
 * Returns it or -1. */
int64_t markr_parse_id(const char *text, size_t len);

#endif
