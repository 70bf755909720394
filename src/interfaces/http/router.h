/*
 * Routing of request targets to endpoints. An endpoint is one entry of a route table (the
 * server's is markr_routes, in routes.c): its path template, the methods it accepts and its
 * handler. Matching is free of h2o and never calls a handler, so that it is unit-tested and
 * fuzzed alone. Path segments are percent-decoded after splitting, so an id may hold any
 * byte, including '/' written as %2F.
 */
#ifndef MARKR_INTERFACES_HTTP_ROUTER_H
#define MARKR_INTERFACES_HTTP_ROUTER_H

#include <stddef.h>

#include "auth.h" /* enum markr_access */

struct st_h2o_req_t;       /* h2o_req_t: handlers see h2o, the matcher does not */
struct markr_http_handler; /* what every handler is given (handlers.h) */
struct markr_route_match;

/* The methods of a route. GET also accepts HEAD (h2o sends the headers only); every route
 * accepts OPTIONS (the dispatcher answers it: Allow, and CORS preflights). */
enum {
    MARKR_METHOD_GET = 1 << 0,
    MARKR_METHOD_POST = 1 << 1,
};

struct markr_route {
    /* The path, one segment per '/': each a literal or a {placeholder} (at most two per
     * route; the second is decoded into id2), e.g. "/results/{test-id}/aggregate". It is
     * also the route's name in logs and metrics: never the raw path, so their label sets
     * stay small whatever ids clients send. NULL ends a table. */
    const char *template_;
    unsigned methods; /* MARKR_METHOD_* */
    /* Who may call it (auth.h): checked by the dispatcher once the route and method match,
     * before the handler runs, so that no handler decides access on its own. */
    enum markr_access access;
    /* Answers the request (h2o's on_req convention): 0 once it has answered or queued its
     * work, -1 when it could not start (the dispatcher then answers 500). */
    int (*handler)(struct markr_http_handler *handler, struct st_h2o_req_t *req, const struct markr_route_match *match);
    /* The query parameters it takes (query.h: MARKR_PARAMS("limit", "cursor")), NULL for
     * none: checked by the dispatcher before the handler runs, so that an unknown, repeated
     * or valueless parameter is the same 400 bad_query on every route. */
    const char *const *params;
};

/* The server's routes (routes.c). */
extern const struct markr_route markr_routes[];

/* Route numbers count the requests of logs and metrics: two for requests no route takes,
 * then MARKR_ROUTE_FIRST + i for entry i of the table. */
enum {
    MARKR_ROUTE_UNMATCHED = 0, /* no route has this path: 404, "unmatched" */
    MARKR_ROUTE_BAD_PATH = 1,  /* a route's path with a malformed escape or over-long id: 400 */
    MARKR_ROUTE_FIRST = 2,
};

/* Longest decoded id accepted in a path; longer ones are refused as a bad path. */
#define MARKR_ROUTE_ID_MAX 1024

struct markr_route_match {
    int number;                      /* MARKR_ROUTE_UNMATCHED, MARKR_ROUTE_BAD_PATH or the entry's */
    const struct markr_route *route; /* the entry; NULL for the two others */
    const char *allow;               /* the entry's methods, for 405 and Allow; NULL without one */
    char id[MARKR_ROUTE_ID_MAX + 1]; /* decoded {placeholder}; NUL-terminated, may hold NULs */
    size_t id_len;
    char id2[MARKR_ROUTE_ID_MAX + 1]; /* the second one, as id; empty when the route has one */
    size_t id2_len;
};

/* Matches a request target (path with optional query) against table: the first entry
 * whose template has the path's shape (same segments, literals equal as written). The
 * method is not considered: see markr_route_allows. Returns match->number. */
int markr_route_match(const struct markr_route *table, const char *path, size_t len, struct markr_route_match *match);

/* 1 when route accepts the method (exactly as sent: "GET", never "get"), OPTIONS included,
 * else 0: a 405. */
int markr_route_allows(const struct markr_route *route, const char *method, size_t len);

/* The number of entries of table. */
size_t markr_route_count(const struct markr_route *table);

/* The name of route number `number` of table in logs and metrics: the entry's template,
 * "bad_path", or "unmatched" (also for a number beyond the table). */
const char *markr_route_template(const struct markr_route *table, int number);

/* Decodes %XX escapes of src into dst (room for cap bytes). '+' stays '+'. Returns the
 * decoded length, or -1 when an escape is malformed or dst is too small. */
long markr_percent_decode(const char *src, size_t len, char *dst, size_t cap);

#endif
