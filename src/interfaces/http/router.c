/*
 * Route matching on the raw request target. h2o's normalised path decodes %2F before
 * splitting, which would let an id containing '/' reach the wrong route; so we split the
 * raw path on '/' first and decode each segment afterwards.
 */
#include "router.h"

#include <string.h>

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long markr_percent_decode(const char *src, size_t len, char *dst, size_t cap)
{
    size_t out = 0;

    for (size_t i = 0; i < len; ++i) {
        char c = src[i];

        if (c == '%') {
            int hi, lo;

            if (i + 2 >= len || (hi = hex_value(src[i + 1])) < 0 || (lo = hex_value(src[i + 2])) < 0)
                return -1;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (out == cap)
            return -1;
        dst[out++] = c;
    }
    return (long)out;
}

const char *markr_route_template(enum markr_route route)
{
    /* One line per route: a route added without one fails the router's unit test. */
    static const char *const templates[MARKR_ROUTE_COUNT] = {
        [MARKR_ROUTE_NONE] = "unmatched",
        [MARKR_ROUTE_BAD_PATH] = "bad_path",
        [MARKR_ROUTE_HEALTH] = "/health",
        [MARKR_ROUTE_READY] = "/ready",
        [MARKR_ROUTE_IMPORT] = "/import",
        [MARKR_ROUTE_AGGREGATE] = "/results/{test-id}/aggregate",
        [MARKR_ROUTE_IMPORTS] = "/imports",
        [MARKR_ROUTE_IMPORT_INFO] = "/imports/{id}",
        [MARKR_ROUTE_IMPORT_RAW] = "/imports/{id}/raw",
        [MARKR_ROUTE_IMPORT_REPROCESS] = "/imports/{id}/reprocess",
        [MARKR_ROUTE_TEST_CONFLICTS] = "/tests/{test-id}/conflicts",
        [MARKR_ROUTE_TESTS] = "/tests",
        [MARKR_ROUTE_RESULTS] = "/results/{test-id}",
        [MARKR_ROUTE_STUDENT] = "/students/{student-number}",
        [MARKR_ROUTE_HISTOGRAM] = "/results/{test-id}/histogram",
        [MARKR_ROUTE_AGGREGATE_STREAM] = "/results/{test-id}/aggregate/stream",
        [MARKR_ROUTE_EVENTS] = "/events",
        [MARKR_ROUTE_DASHBOARD] = "/",
        [MARKR_ROUTE_STATIC] = "/static/{name}",
        [MARKR_ROUTE_METRICS] = "/metrics",
    };

    return route >= 0 && route < MARKR_ROUTE_COUNT && templates[route] != NULL ? templates[route] : "unmatched";
}

static int segment_is(const char *seg, size_t len, const char *literal)
{
    return len == strlen(literal) && memcmp(seg, literal, len) == 0;
}

/* issue 3: decodes the {id} segment into m. */
static int decode_id(const char *seg, size_t len, struct markr_route_match *m)
{
    long id_len = markr_percent_decode(seg, len, m->id, MARKR_ROUTE_ID_MAX);

    if (id_len < 0)
        return -1;
    m->id[id_len] = '\0';
    m->id_len = (size_t)id_len;
    return 0;
}

enum markr_route markr_route_match(const char *path, size_t len, struct markr_route_match *m)
{
    const char *segs[4];
    size_t seg_len[4], n = 0;
    const char *query = memchr(path, '?', len);

    memset(m, 0, sizeof(*m));
    if (query != NULL)
        len = (size_t)(query - path);
    if (len == 0 || path[0] != '/')
        return m->route = MARKR_ROUTE_NONE;

    /* Split "/a/b/c" into at most four segments; a fifth means no route has that shape. */
    for (size_t start = 1, i = 1; i <= len; ++i) {
        if (i == len || path[i] == '/') {
            if (n == 4)
                return m->route = MARKR_ROUTE_NONE;
            segs[n] = path + start;
            seg_len[n++] = i - start;
            start = i + 1;
        }
    }

    if (n == 1 && segment_is(segs[0], seg_len[0], "metrics")) {
        m->allow = "GET, HEAD";
        return m->route = MARKR_ROUTE_METRICS;
    }
    if (n == 1 && segment_is(segs[0], seg_len[0], "health")) {
        m->allow = "GET, HEAD";
        return m->route = MARKR_ROUTE_HEALTH;
    }
    if (n == 1 && segment_is(segs[0], seg_len[0], "ready")) {
        m->allow = "GET, HEAD";
        return m->route = MARKR_ROUTE_READY;
    }
    if (n == 1 && segment_is(segs[0], seg_len[0], "import")) {
        m->allow = "POST";
        return m->route = MARKR_ROUTE_IMPORT;
    }
    if (n == 3 && segment_is(segs[0], seg_len[0], "results") && segment_is(segs[2], seg_len[2], "aggregate")) {
        long id_len = markr_percent_decode(segs[1], seg_len[1], m->id, MARKR_ROUTE_ID_MAX);

        if (id_len < 0)
            return m->route = MARKR_ROUTE_BAD_PATH;
        m->id[id_len] = '\0';
        m->id_len = (size_t)id_len;
        m->allow = "GET, HEAD";
        return m->route = MARKR_ROUTE_AGGREGATE;
    }
    /* issue 3: the import vault; {id} is decoded here and checked by its handler. */
    if (n == 1 && segment_is(segs[0], seg_len[0], "imports")) {
        m->allow = "GET, HEAD";
        return m->route = MARKR_ROUTE_IMPORTS;
    }
    if ((n == 2 || n == 3) && segment_is(segs[0], seg_len[0], "imports")) {
        enum markr_route route = MARKR_ROUTE_IMPORT_INFO;

        if (n == 3 && segment_is(segs[2], seg_len[2], "raw"))
            route = MARKR_ROUTE_IMPORT_RAW;
        else if (n == 3 && segment_is(segs[2], seg_len[2], "reprocess"))
            route = MARKR_ROUTE_IMPORT_REPROCESS;
        else if (n == 3)
            return m->route = MARKR_ROUTE_NONE;
        if (decode_id(segs[1], seg_len[1], m) != 0)
            return m->route = MARKR_ROUTE_BAD_PATH;
        m->allow = route == MARKR_ROUTE_IMPORT_REPROCESS ? "POST" : "GET, HEAD";
        return m->route = route;
    }
    if (n == 3 && segment_is(segs[0], seg_len[0], "tests") && segment_is(segs[2], seg_len[2], "conflicts")) {
        if (decode_id(segs[1], seg_len[1], m) != 0)
            return m->route = MARKR_ROUTE_BAD_PATH;
        m->allow = "GET, HEAD";
        return m->route = MARKR_ROUTE_TEST_CONFLICTS;
    }
    /* issue 4: dashboard views, streams and page */
    if (n == 1 && seg_len[0] == 0) {
        m->allow = "GET, HEAD";
        return m->route = MARKR_ROUTE_DASHBOARD;
    }
    if (n == 1 && (segment_is(segs[0], seg_len[0], "tests") || segment_is(segs[0], seg_len[0], "events"))) {
        m->allow = "GET, HEAD";
        return m->route = segs[0][0] == 't' ? MARKR_ROUTE_TESTS : MARKR_ROUTE_EVENTS;
    }
    {
        enum markr_route route = MARKR_ROUTE_NONE;

        if (n == 2 && segment_is(segs[0], seg_len[0], "results"))
            route = MARKR_ROUTE_RESULTS;
        else if (n == 2 && segment_is(segs[0], seg_len[0], "students"))
            route = MARKR_ROUTE_STUDENT;
        else if (n == 2 && segment_is(segs[0], seg_len[0], "static"))
            route = MARKR_ROUTE_STATIC;
        else if (n == 3 && segment_is(segs[0], seg_len[0], "results") && segment_is(segs[2], seg_len[2], "histogram"))
            route = MARKR_ROUTE_HISTOGRAM;
        else if (n == 4 && segment_is(segs[0], seg_len[0], "results") &&
                 segment_is(segs[2], seg_len[2], "aggregate") && segment_is(segs[3], seg_len[3], "stream"))
            route = MARKR_ROUTE_AGGREGATE_STREAM;
        if (route != MARKR_ROUTE_NONE) {
            long id_len = markr_percent_decode(segs[1], seg_len[1], m->id, MARKR_ROUTE_ID_MAX);

            if (id_len < 0)
                return m->route = MARKR_ROUTE_BAD_PATH;
            m->id[id_len] = '\0';
            m->id_len = (size_t)id_len;
            m->allow = "GET, HEAD";
            return m->route = route;
        }
    }
    return m->route = MARKR_ROUTE_NONE;
}
