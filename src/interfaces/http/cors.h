/*
 * Cross-origin reads (CORS, ADR 0028): which pages of other origins a browser lets read
 * Markr's answers. Parsing and the decision only, free of h2o, so that the rule is
 * unit-tested alone; the dispatcher (server.c) adds the headers and answers preflights.
 * Open reads are shared with the listed origins, reads of personal data only once reader
 * tokens protect them; POST /import only when MARKR_CORS_IMPORT is true; the operator and
 * admin routes never. Without a list nothing is shared and
 * no answer carries a CORS header.
 */
#ifndef MARKR_INTERFACES_HTTP_CORS_H
#define MARKR_INTERFACES_HTTP_CORS_H

#include <stddef.h>

#include "auth.h" /* enum markr_access */

#define MARKR_CORS_ORIGINS_MAX 16
#define MARKR_CORS_ORIGIN_MAX 270 /* "https://" + a DNS name + ":65535" */

/* How long a browser may keep a preflight's answer. */
#define MARKR_CORS_MAX_AGE_S 600

struct markr_cors {
    int any;      /* MARKR_CORS_ORIGINS=*: every origin */
    size_t count; /* origins listed */
    char origins[MARKR_CORS_ORIGINS_MAX][MARKR_CORS_ORIGIN_MAX + 1]; /* lower case */
    int import;   /* MARKR_CORS_IMPORT=true: POST /import too */
};

/* Reads MARKR_CORS_ORIGINS: "*", or origins separated by commas (white space around each
 * ignored), each scheme://host[:port] with scheme http or https and nothing after (no path,
 * no trailing '/'), as a browser's Origin header writes them. Returns 0, or -1 with a
 * message (naming no setting) in errbuf. cors->import is left as it was. */
int markr_cors_parse(const char *text, struct markr_cors *cors, char *errbuf, size_t errlen);

/* Whether answers of a route (its methods, MARKR_METHOD_*, and access level) are shared at
 * all: the open GET routes; the reader GET routes (names, marks) only when readers_protected
 * (reader tokens are configured, so a page needs one); POST /import when cors->import; never
 * an operator or admin route (the vault, the feed, reprocess). Nothing when no origin is
 * configured. */
int markr_cors_route_shared(const struct markr_cors *cors, unsigned methods, enum markr_access access,
                            int readers_protected);

/* Whether an Origin header's value (len bytes, not NUL-terminated) is allowed: listed (in
 * any case), or any origin with "*". */
int markr_cors_origin_allowed(const struct markr_cors *cors, const char *origin, size_t len);

#endif
