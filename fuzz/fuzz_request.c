/*
 * libFuzzer target: what the HTTP adapter reads from a request target before any handler
 * runs: routing with percent-decoded ids (router.h), query parameters and numeric ids
 * (query.h). The input is taken as the raw target ("/results/x%2Fy/aggregate?bins=7").
 * Any crash, sanitizer report or broken invariant below is a finding.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "interfaces/http/query.h"
#include "interfaces/http/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every parameter name a handler reads. */
static const char *const names[] = {"limit", "cursor", "status", "test_id", "dry_run",
                                    "offset", "sort", "order", "bins", NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *target = (const char *)data;
    struct markr_route_match m;
    enum markr_route route = markr_route_match(target, size, &m);
    char value[MARKR_ROUTE_ID_MAX + 1];

    /* A decoded id never grows: each escape is three bytes for one. */
    if (m.id_len > MARKR_ROUTE_ID_MAX || m.id_len > size || m.route != route)
        abort();
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
