/*
 * Which representation a read asks for, free of h2o so that it is unit-tested alone:
 * ?format=json or ?format=csv wins; without it, Accept picks CSV when it names text/csv
 * with a quality above that of application/json (or without naming JSON at all); anything
 * else is JSON, the default. ADR 0028.
 */
#ifndef MARKR_INTERFACES_HTTP_NEGOTIATE_H
#define MARKR_INTERFACES_HTTP_NEGOTIATE_H

#include <stddef.h>

enum markr_answer_form { MARKR_FORM_JSON = 0, MARKR_FORM_CSV = 1 };

/* format: the decoded value of the format parameter (format_len bytes) or NULL when the
 * target has none; accept: the Accept header's value (accept_len bytes) or NULL. Returns a
 * markr_answer_form, or -1 when format is neither json nor csv (400 bad_format). */
int markr_negotiate_format(const char *format, size_t format_len, const char *accept, size_t accept_len);

/* The quality (0 to 1000, thousandths) that an Accept value gives the exact media type
 * type ("text/csv"), -1 when it does not name it (wildcards are not counted). */
int markr_accept_quality(const char *accept, size_t len, const char *type);

#endif
