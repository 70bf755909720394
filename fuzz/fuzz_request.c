/*
 * libFuzzer target: what the HTTP adapter reads from a request target before any handler
 * runs: routing on the server's route table with percent-decoded ids (router.h, routes.c),
 * query parameters and numeric ids (query.h). The input is taken as the raw target
 * ("/results/x%2Fy/aggregate?bins=7"), then as an Authorization header value (auth.h) and as
 * a MARKR_IMPORT_ALLOW list (cidr.h). No handler runs. Any crash, sanitizer report or
 * broken invariant below is a finding.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "interfaces/http/auth.h"
#include "interfaces/http/cidr.h"
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

/* Every level decided for the input as an Authorization value, with every kind of token
 * configured: a verdict of the enum, and nothing allowed on a guarded level without a
 * bearer token of the policy. */
static void check_access(const char *value, size_t size)
{
    static struct markr_access_policy policy = {.admin_token = "fuzz-admin-token-0001"};
    static const char *const tokens[] = {"fuzz-reader-token-0001", "fuzz-operator-token-0001"};
    const char *problem;

    if (policy.readers.count == 0 && (markr_token_list_parse(tokens[0], &policy.readers, &problem) != 0 ||
                                      markr_token_list_parse(tokens[1], &policy.operators, &problem) != 0))
        abort();
    for (int level = MARKR_ACCESS_OPEN; level <= MARKR_ACCESS_ADMIN; ++level) {
        enum markr_access_verdict v = markr_access_decide(&policy, (enum markr_access)level, value, size);

        if (v < MARKR_ACCESS_ALLOWED || v > MARKR_ACCESS_FORBIDDEN)
            abort();
        if (level >= MARKR_ACCESS_READER && v == MARKR_ACCESS_ALLOWED && memmem(value, size, "-token-0001", 11) == NULL)
            abort();
    }
}

/* The input as MARKR_IMPORT_ALLOW: parsed or refused, never beyond its bounds. */
static void check_cidr(const char *value, size_t size)
{
    char text[512], bad[72];
    struct markr_cidr_list list;

    if (size >= sizeof(text) || memchr(value, '\0', size) != NULL)
        return;
    memcpy(text, value, size);
    text[size] = '\0';
    if (markr_cidr_list_parse(text, &list, bad, sizeof(bad)) == 0) {
        if (list.count == 0 || list.count > MARKR_CIDR_MAX)
            abort();
        for (size_t i = 0; i < list.count; ++i)
            if (list.items[i].prefix > (list.items[i].family == AF_INET ? 32u : 128u))
                abort();
    } else if (strlen(bad) >= sizeof(bad)) {
        abort();
    }
}

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
    {
        char message[256];

        /* A refusal is a sentence that fits; a pass leaves it empty. */
        if (markr_query_check(target, size, names, message, sizeof(message)) == 0 ? message[0] != '\0'
                                                                                  : strlen(message) == 0)
            abort();
    }
    check_access(target, size);
    check_cidr(target, size);
    return 0;
}
