/*
 * Routing of request targets to endpoints, free of h2o so that it is unit-tested and fuzzed
 * alone. Path segments are percent-decoded after splitting, so an id may hold any byte,
 * including '/' written as %2F.
 */
#ifndef MARKR_INTERFACES_HTTP_ROUTER_H
#define MARKR_INTERFACES_HTTP_ROUTER_H

#include <stddef.h>

enum markr_route {
    MARKR_ROUTE_NONE = 0,  /* no such resource: 404 */
    MARKR_ROUTE_BAD_PATH,  /* malformed percent-encoding: 400 */
    MARKR_ROUTE_HEALTH,    /* GET /health */
    MARKR_ROUTE_READY,     /* GET /ready */
    MARKR_ROUTE_IMPORT,    /* POST /import */
    MARKR_ROUTE_AGGREGATE, /* GET /results/{test-id}/aggregate */
    /* issue 3: the import vault */
    MARKR_ROUTE_IMPORTS,           /* GET /imports */
    MARKR_ROUTE_IMPORT_INFO,       /* GET /imports/{id} */
    MARKR_ROUTE_IMPORT_RAW,        /* GET /imports/{id}/raw */
    MARKR_ROUTE_IMPORT_REPROCESS,  /* POST /imports/{id}/reprocess */
    MARKR_ROUTE_TEST_CONFLICTS,    /* GET /tests/{test-id}/conflicts */
    /* issue 4: dashboard views, streams and page */
    MARKR_ROUTE_TESTS,            /* GET /tests */
    MARKR_ROUTE_RESULTS,          /* GET /results/{test-id} */
    MARKR_ROUTE_STUDENT,          /* GET /students/{student-number} */
    MARKR_ROUTE_HISTOGRAM,        /* GET /results/{test-id}/histogram */
    MARKR_ROUTE_AGGREGATE_STREAM, /* GET /results/{test-id}/aggregate/stream */
    MARKR_ROUTE_EVENTS,           /* GET /events */
    MARKR_ROUTE_DASHBOARD,        /* GET / */
    MARKR_ROUTE_STATIC,           /* GET /static/{name}: a file of the dashboard */
    MARKR_ROUTE_METRICS,          /* GET /metrics (issue 5) */
    MARKR_ROUTE_COUNT
};

/* The route's template for logs and metrics ("/results/{test-id}/aggregate"): never the raw
 * path, so their label sets stay small whatever ids clients send. */
const char *markr_route_template(enum markr_route route);

/* Longest decoded id accepted in a path; longer ones are refused as a bad path. */
#define MARKR_ROUTE_ID_MAX 1024

struct markr_route_match {
    enum markr_route route;
    const char *allow; /* methods the resource accepts, for 405 and Allow */
    char id[MARKR_ROUTE_ID_MAX + 1]; /* decoded {test-id}; NUL-terminated, may hold NULs */
    size_t id_len;
};

/* Matches a request target (path with optional query) against the routes. The method is
 * not considered: compare it with match->allow. Returns match->route. */
enum markr_route markr_route_match(const char *path, size_t len, struct markr_route_match *match);

/* Decodes %XX escapes of src into dst (room for cap bytes). '+' stays '+'. Returns the
 * decoded length, or -1 when an escape is malformed or dst is too small. */
long markr_percent_decode(const char *src, size_t len, char *dst, size_t cap);

#endif
