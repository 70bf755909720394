/*
 * libFuzzer target: what the HTTP adapter reads from a request target before any handler
 * runs: routing on the server's route table with percent-decoded ids (router.h, routes.c),
 * query parameters and numeric ids (query.h). The input is taken as the raw target
 * ("/results/x%2Fy/aggregate?bins=7"). No handler runs. Any crash, sanitizer report or
 * broken invariant below is a finding.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "interfaces/http/query.h"
#include "interfaces/http/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Segments of a path up to its query ("/a/b?c/d": 2). */
static size_t segments(const char *path, size_t len)
{
    size_t n = 0;

    for (size_t i = 0; i < len && path[i] != '?'; ++i)
        n += path[i] == '/';
    return n;
}

/* Every parameter name a handler reads. */
static const char *const names[] = {"limit", "cursor", "status", "test_id", "dry_run",
                                    "offset", "sort", "order", "bins", NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *target = (const char *)data;
    struct markr_route_match m;
    int route = markr_route_match(markr_routes, target, size, &m);
    int routes = MARKR_ROUTE_FIRST + (int)markr_route_count(markr_routes);
    char value[MARKR_ROUTE_ID_MAX + 1];

    /* A decoded id never grows: each escape is three bytes for one. */
    if (m.id_len > MARKR_ROUTE_ID_MAX || m.id_len > size || m.number != route || route < 0 || route >= routes)
        abort();
    /* A route is an entry of the table, of the path's shape, with its Allow; the two other
     * answers carry neither, nor an id. */
    if (route >= MARKR_ROUTE_FIRST) {
        if (m.route != &markr_routes[route - MARKR_ROUTE_FIRST] || m.allow == NULL || m.route->handler == NULL ||
            segments(m.route->template_, strlen(m.route->template_)) != segments(target, size) ||
            markr_route_allows(m.route, "GET", 3) != markr_route_allows(m.route, "HEAD", 4))
            abort();
    } else if (m.route != NULL || m.allow != NULL || m.id_len != 0) {
        abort();
    }
    if (m.id_len > 0) {
        int64_t id = markr_parse_id(m.id, m.id_len);

        if (id == 0 || id < -1)
            abort();
    }
    for (const char *const *name = names; *name != NULL; ++name) {
        size_t len = SIZE_MAX;
        int rc = markr_query_get(target, size, *name, value, sizeof(value) - 1, &len);

        if (rc < -1 || rc > 1 || (rc == 1 && (len > size || len > sizeof(value) - 1 || value[len] != '\0')))
            abort();
        if (rc == 1) {
            int64_t n = markr_parse_uint(value, len, 100);
            char *end;
            long long expect;

            /* Agrees with strtoll on digit strings: the same number, or -1 past the bound. */
            if (n < -1 || n > 100)
                abort();
            if (n >= 0 && ((expect = strtoll(value, &end, 10)) != n || *end != '\0'))
                abort();
        }
    }
    (void)markr_query_only(target, size, names);
    return 0;
}
