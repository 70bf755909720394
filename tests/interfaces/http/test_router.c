/*
 * Routing and percent-decoding of request targets, without a server: every route of the
 * table (its template, its methods and Allow, HEAD with GET), what the dispatcher answers
 * 404, 400 and 405, ids holding any byte (including '/' as %2F), malformed escapes, shapes
 * that are not ours, and the table itself (a handler and a unique template per entry).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "interfaces/http/router.h"
#include "interfaces/observe/metrics.h"

/* The name of the route path takes ("unmatched", "bad_path" or a template). */
static const char *route_of(const char *path, struct markr_route_match *m)
{
    return markr_route_template(markr_routes, markr_route_match(markr_routes, path, strlen(path), m));
}

static int allows(const struct markr_route_match *m, const char *method)
{
    return markr_route_allows(m->route, method, strlen(method));
}

static void fixed_routes(void **state)
{
    struct markr_route_match m;

    assert_string_equal(route_of("/health", &m), "/health");
    assert_string_equal(m.allow, "GET, HEAD, OPTIONS");
    assert_string_equal(route_of("/ready", &m), "/ready");
    assert_string_equal(route_of("/import", &m), "/import");
    assert_string_equal(m.allow, "POST, OPTIONS");
    assert_string_equal(route_of("/import?source=scanner-7", &m), "/import");
}

static void aggregate_ids_are_decoded_after_splitting(void **state)
{
    struct markr_route_match m;

    assert_string_equal(route_of("/results/1234/aggregate", &m), "/results/{test-id}/aggregate");
    assert_int_equal(m.id_len, 4);
    assert_memory_equal(m.id, "1234", 4);

    assert_string_equal(route_of("/results/Maths%201%2FB%25/aggregate?x=1", &m), "/results/{test-id}/aggregate");
    assert_int_equal(m.id_len, strlen("Maths 1/B%"));
    assert_memory_equal(m.id, "Maths 1/B%", m.id_len);

    assert_string_equal(route_of("/results/a+b/aggregate", &m), "/results/{test-id}/aggregate");
    assert_memory_equal(m.id, "a+b", 3); /* '+' is not a space in a path */

    assert_string_equal(route_of("/results/%00/aggregate", &m), "/results/{test-id}/aggregate");
    assert_int_equal(m.id_len, 1);
    assert_int_equal(m.id[0], '\0');

    assert_string_equal(route_of("/results//aggregate", &m), "/results/{test-id}/aggregate");
    assert_int_equal(m.id_len, 0);
}

/* The vault's routes; ids are decoded here and checked by the handler. */
static void vault_routes(void **state)
{
    struct markr_route_match m;

    assert_string_equal(route_of("/imports", &m), "/imports");
    assert_string_equal(m.allow, "GET, HEAD, OPTIONS");
    assert_string_equal(route_of("/imports?limit=5&cursor=9", &m), "/imports");
    assert_string_equal(route_of("/imports/42", &m), "/imports/{id}");
    assert_memory_equal(m.id, "42", 3);
    assert_string_equal(route_of("/imports/4%32/raw", &m), "/imports/{id}/raw");
    assert_memory_equal(m.id, "42", 3);
    assert_string_equal(route_of("/imports/7/reprocess?dry_run=true", &m), "/imports/{id}/reprocess");
    assert_string_equal(m.allow, "POST, OPTIONS");
    assert_string_equal(route_of("/imports/7/other", &m), "unmatched");
    assert_string_equal(route_of("/imports/%zz", &m), "bad_path");
    assert_string_equal(route_of("/tests/Maths%2F1/conflicts", &m), "/tests/{test-id}/conflicts");
    assert_memory_equal(m.id, "Maths/1", 8);
    assert_string_equal(route_of("/tests/1/aggregate", &m), "unmatched");
}

static void malformed_escapes_are_bad_paths(void **state)
{
    struct markr_route_match m;

    assert_string_equal(route_of("/results/%zz/aggregate", &m), "bad_path");
    assert_string_equal(route_of("/results/%4/aggregate", &m), "bad_path");
    assert_string_equal(route_of("/results/abc%/aggregate", &m), "bad_path");
}

static void over_long_ids_are_bad_paths(void **state)
{
    static char path[3 * MARKR_ROUTE_ID_MAX + 64];
    struct markr_route_match m;
    size_t off = (size_t)sprintf(path, "/results/");

    memset(path + off, 'x', MARKR_ROUTE_ID_MAX);
    strcpy(path + off + MARKR_ROUTE_ID_MAX, "/aggregate");
    assert_string_equal(route_of(path, &m), "/results/{test-id}/aggregate");
    assert_int_equal(m.id_len, MARKR_ROUTE_ID_MAX);

    strcpy(path + off + MARKR_ROUTE_ID_MAX, "y/aggregate");
    assert_string_equal(route_of(path, &m), "bad_path");
}

static void other_shapes_match_nothing(void **state)
{
    struct markr_route_match m;
    const char *paths[] = {"", "health", "//", "/health/", "/healthz", "/results/1/aggregate/x",
                           "/results", "/results/1/aggregates", "/a/b/c/d/e/f", "/import/1", "/results/1/2/aggregate"};

    for (size_t i = 0; i < sizeof(paths) / sizeof(*paths); ++i)
        if (markr_route_match(markr_routes, paths[i], strlen(paths[i]), &m) != MARKR_ROUTE_UNMATCHED)
            fail_msg("'%s' should match no route", paths[i]);
}

/* The dashboard's views, streams and page. */
static void dashboard_routes(void **state)
{
    struct markr_route_match m;

    assert_string_equal(route_of("/", &m), "/");
    assert_string_equal(route_of("/?screen=wall", &m), "/");
    assert_string_equal(route_of("/tests", &m), "/tests");
    assert_string_equal(route_of("/events", &m), "/events");
    assert_string_equal(route_of("/results/a%2Fb?limit=5", &m), "/results/{test-id}");
    assert_int_equal(m.id_len, 3);
    assert_memory_equal(m.id, "a/b", 3);
    assert_string_equal(route_of("/students/002299", &m), "/students/{student-number}");
    assert_memory_equal(m.id, "002299", 6);
    assert_string_equal(route_of("/results/t/histogram?bins=5", &m), "/results/{test-id}/histogram");
    assert_string_equal(route_of("/results/t%20x/aggregate/stream", &m), "/results/{test-id}/aggregate/stream");
    assert_memory_equal(m.id, "t x", 3);
    assert_string_equal(route_of("/static/app.js", &m), "/static/{name}");
    assert_string_equal(m.allow, "GET, HEAD, OPTIONS");
    assert_string_equal(route_of("/students/%zz", &m), "bad_path");
    assert_string_equal(route_of("/results/t/aggregate/streams", &m), "unmatched");
    assert_string_equal(route_of("/students", &m), "/students");
    assert_string_equal(route_of("/feed", &m), "/feed");
}

static void percent_decode_bounds(void **state)
{
    char out[4];

    assert_int_equal(markr_percent_decode("abcd", 4, out, sizeof(out)), 4);
    assert_int_equal(markr_percent_decode("abcde", 5, out, sizeof(out)), -1);
    assert_int_equal(markr_percent_decode("%41%42", 6, out, sizeof(out)), 2);
    assert_memory_equal(out, "AB", 2);
    assert_int_equal(markr_percent_decode("%4", 2, out, sizeof(out)), -1);
}

/* Every route has its own template, and a template is never a raw path: ids become
 * {placeholders}, so the label sets of logs and metrics stay small. */
static void every_route_has_a_template(void **state)
{
    struct markr_route_match m;
    int count = (int)markr_route_count(markr_routes);

    for (int r = MARKR_ROUTE_FIRST; r < MARKR_ROUTE_FIRST + count; ++r) {
        const char *t = markr_route_template(markr_routes, r);

        assert_string_not_equal(t, "unmatched");
        for (int other = MARKR_ROUTE_FIRST; other < r; ++other)
            assert_string_not_equal(t, markr_route_template(markr_routes, other));
    }
    assert_string_equal(route_of("/metrics", &m), "/metrics");
    assert_string_equal(m.allow, "GET, HEAD, OPTIONS");
    assert_string_equal(route_of("/results/secret-id-123/aggregate", &m), "/results/{test-id}/aggregate");
    assert_string_equal(markr_route_template(markr_routes, m.number), "/results/{test-id}/aggregate");
    assert_string_equal(markr_route_template(markr_routes, MARKR_ROUTE_UNMATCHED), "unmatched");
    assert_string_equal(markr_route_template(markr_routes, MARKR_ROUTE_FIRST + count), "unmatched");
}

/* The routes of today, each with its methods and who may call it: what is not allowed is
 * the dispatcher's 405 with this Allow, HEAD goes wherever GET does, and personal data by
 * student is for readers, the vault for operators. */
static void every_route_and_its_methods(void **state)
{
    static const struct {
        const char *path, *route_template, *allow;
        enum markr_access access;
    } routes[] = {
        {"/health", "/health", "GET, HEAD, OPTIONS", MARKR_ACCESS_OPEN},
        {"/ready", "/ready", "GET, HEAD, OPTIONS", MARKR_ACCESS_OPEN},
        {"/import", "/import", "POST, OPTIONS", MARKR_ACCESS_IMPORT},
        {"/results/t/aggregate", "/results/{test-id}/aggregate", "GET, HEAD, OPTIONS", MARKR_ACCESS_OPEN},
        {"/imports", "/imports", "GET, HEAD, OPTIONS", MARKR_ACCESS_OPERATOR},
        {"/imports/1", "/imports/{id}", "GET, HEAD, OPTIONS", MARKR_ACCESS_OPERATOR},
        {"/imports/1/raw", "/imports/{id}/raw", "GET, HEAD, OPTIONS", MARKR_ACCESS_OPERATOR},
        {"/imports/1/reprocess", "/imports/{id}/reprocess", "POST, OPTIONS", MARKR_ACCESS_ADMIN},
        {"/tests/t/conflicts", "/tests/{test-id}/conflicts", "GET, HEAD, OPTIONS", MARKR_ACCESS_READER},
        {"/tests", "/tests", "GET, HEAD, OPTIONS", MARKR_ACCESS_OPEN},
        {"/results/t", "/results/{test-id}", "GET, HEAD, OPTIONS", MARKR_ACCESS_READER},
        {"/students/s", "/students/{student-number}", "GET, HEAD, OPTIONS", MARKR_ACCESS_READER},
        {"/results/t/histogram", "/results/{test-id}/histogram", "GET, HEAD, OPTIONS", MARKR_ACCESS_OPEN},
        {"/results/t/aggregate/stream", "/results/{test-id}/aggregate/stream", "GET, HEAD, OPTIONS", MARKR_ACCESS_OPEN},
        {"/events", "/events", "GET, HEAD, OPTIONS", MARKR_ACCESS_OPEN},
        {"/", "/", "GET, HEAD, OPTIONS", MARKR_ACCESS_OPEN},
        {"/static/app.js", "/static/{name}", "GET, HEAD, OPTIONS", MARKR_ACCESS_OPEN},
        {"/metrics", "/metrics", "GET, HEAD, OPTIONS", MARKR_ACCESS_OPEN},
        {"/openapi.json", "/openapi.json", "GET, HEAD, OPTIONS", MARKR_ACCESS_OPEN},
    };
    struct markr_route_match m;

    for (size_t i = 0; i < sizeof(routes) / sizeof(*routes); ++i) {
        int get = strcmp(routes[i].allow, "POST, OPTIONS") != 0;

        assert_string_equal(route_of(routes[i].path, &m), routes[i].route_template);
        assert_ptr_equal(m.route, &markr_routes[m.number - MARKR_ROUTE_FIRST]);
        assert_string_equal(m.allow, routes[i].allow);
        assert_int_equal(m.route->access, routes[i].access);
        assert_int_equal(allows(&m, "GET"), get);
        assert_int_equal(allows(&m, "HEAD"), get);
        assert_int_equal(allows(&m, "POST"), !get);
        assert_true(allows(&m, "OPTIONS")); /* answered by the dispatcher on every route */
        assert_false(allows(&m, "options"));
        assert_false(allows(&m, "DELETE"));
        assert_false(allows(&m, "get")); /* methods are case-sensitive */
        assert_false(allows(&m, "GETS"));
        assert_false(allows(&m, ""));
    }
}

/* What the dispatcher answers before any handler: 404 without a route (and no Allow), 400
 * for a route's path whose id cannot be decoded. */
static void unmatched_and_bad_paths(void **state)
{
    struct markr_route_match m;

    assert_int_equal(markr_route_match(markr_routes, "/nothing", 8, &m), MARKR_ROUTE_UNMATCHED);
    assert_int_equal(m.number, MARKR_ROUTE_UNMATCHED);
    assert_null(m.route);
    assert_null(m.allow);
    assert_int_equal(markr_route_match(markr_routes, "/imports/%2", 11, &m), MARKR_ROUTE_BAD_PATH);
    assert_int_equal(m.number, MARKR_ROUTE_BAD_PATH);
    assert_null(m.route);
    assert_null(m.allow);
    assert_string_equal(markr_route_template(markr_routes, MARKR_ROUTE_BAD_PATH), "bad_path");
    /* Literals are compared as sent: an escaped letter is not the route's. */
    assert_string_equal(route_of("/h%65alth", &m), "unmatched");
}

/* Writes a path of template's shape into out: each {placeholder} segment becomes id. */
static void path_of(const char *route_template, const char *id, char *out, size_t cap)
{
    size_t n = 0;

    for (const char *seg = route_template + 1;; ++seg) {
        const char *end = strchr(seg, '/');
        int len = end != NULL ? (int)(end - seg) : (int)strlen(seg);
        int placeholder = len >= 2 && seg[0] == '{' && seg[len - 1] == '}';

        n += (size_t)snprintf(out + n, cap - n, "/%.*s", placeholder ? (int)strlen(id) : len, placeholder ? id : seg);
        assert_true(n < cap);
        if (end == NULL)
            return;
        seg = end;
    }
}

/* The table: every entry has a handler, methods and a template of its own, starting with
 * '/' and holding at most two placeholders; each is reached by a path of its own shape (no
 * earlier entry takes it); and there are counters in GET /metrics for every route. */
static void every_entry_has_a_handler_and_a_unique_template(void **state)
{
    size_t count = markr_route_count(markr_routes);

    assert_true(count > 0);
    assert_true(MARKR_ROUTE_FIRST + count <= MARKR_METRICS_ROUTES);
    for (size_t i = 0; i < count; ++i) {
        const struct markr_route *r = &markr_routes[i];
        const char *t = r->template_, *open = strchr(t, '{');
        char path[256];
        struct markr_route_match m;

        if (r->handler == NULL)
            fail_msg("route %s has no handler", t);
        assert_int_equal(t[0], '/');
        assert_int_not_equal(r->methods, 0);
        if (open != NULL && strchr(open + 1, '{') != NULL && strchr(strchr(open + 1, '{') + 1, '{') != NULL)
            fail_msg("route %s has more than two placeholders", t);
        for (size_t j = 0; j < i; ++j)
            if (strcmp(t, markr_routes[j].template_) == 0)
                fail_msg("template %s is used twice", t);

        assert_int_equal(markr_route_allows(r, "GET", 3), (r->methods & MARKR_METHOD_GET) != 0);
        assert_int_equal(markr_route_allows(r, "HEAD", 4), (r->methods & MARKR_METHOD_GET) != 0);
        assert_int_equal(markr_route_allows(r, "POST", 4), (r->methods & MARKR_METHOD_POST) != 0);

        path_of(t, "x%2Fy", path, sizeof(path));
        assert_int_equal(markr_route_match(markr_routes, path, strlen(path), &m), MARKR_ROUTE_FIRST + (int)i);
        assert_ptr_equal(m.route, r);
        if (open != NULL) {
            assert_int_equal(m.id_len, 3);
            assert_memory_equal(m.id, "x/y", 3);
        }
        if (open != NULL && strchr(open + 1, '{') != NULL) {
            assert_int_equal(m.id2_len, 3);
            assert_memory_equal(m.id2, "x/y", 3);
        } else {
            assert_int_equal(m.id2_len, 0);
        }
    }
}

/* A student's sheet has two ids, each decoded after splitting, each able to be a bad path. */
static void two_ids_are_decoded_apart(void **state)
{
    struct markr_route_match m;
    static const char ok[] = "/results/Maths%201%2FB/students/00%2F7?x=1";
    static const char bad[] = "/results/9863/students/00%2";

    assert_true(markr_route_match(markr_routes, ok, strlen(ok), &m) >= MARKR_ROUTE_FIRST);
    assert_string_equal(m.route->template_, "/results/{test-id}/students/{student-number}");
    assert_int_equal(m.id_len, 9);
    assert_memory_equal(m.id, "Maths 1/B", 9);
    assert_int_equal(m.id2_len, 4);
    assert_memory_equal(m.id2, "00/7", 4);
    assert_int_equal(markr_route_match(markr_routes, bad, strlen(bad), &m), MARKR_ROUTE_BAD_PATH);
}

/* The matcher takes any table and never calls a handler: literals and placeholders in any
 * place, the first entry that fits wins. */
static void a_table_of_its_own(void **state)
{
    static const struct markr_route table[] = {
        {"/a/latest", MARKR_METHOD_GET, MARKR_ACCESS_OPEN, NULL, NULL},
        {"/a/{x}", MARKR_METHOD_GET | MARKR_METHOD_POST, MARKR_ACCESS_OPEN, NULL, NULL},
        {"/{x}/b", MARKR_METHOD_POST, MARKR_ACCESS_OPEN, NULL, NULL},
        {NULL, 0, MARKR_ACCESS_OPEN, NULL, NULL},
    };
    struct markr_route_match m;

    assert_int_equal(markr_route_count(table), 3);
    assert_int_equal(markr_route_match(table, "/a/latest", 9, &m), MARKR_ROUTE_FIRST);
    assert_int_equal(m.id_len, 0);
    assert_int_equal(markr_route_match(table, "/a/7", 4, &m), MARKR_ROUTE_FIRST + 1);
    assert_string_equal(m.allow, "GET, HEAD, POST, OPTIONS");
    assert_memory_equal(m.id, "7", 2);
    assert_int_equal(markr_route_match(table, "/z%20/b", 7, &m), MARKR_ROUTE_FIRST + 2);
    assert_memory_equal(m.id, "z ", 3);
    assert_int_equal(markr_route_match(table, "/a/b", 4, &m), MARKR_ROUTE_FIRST + 1); /* the first that fits */
    assert_int_equal(markr_route_match(table, "/b", 2, &m), MARKR_ROUTE_UNMATCHED);
    assert_string_equal(markr_route_template(table, MARKR_ROUTE_FIRST + 2), "/{x}/b");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fixed_routes),
        cmocka_unit_test(aggregate_ids_are_decoded_after_splitting),
        cmocka_unit_test(vault_routes),
        cmocka_unit_test(malformed_escapes_are_bad_paths),
        cmocka_unit_test(over_long_ids_are_bad_paths),
        cmocka_unit_test(other_shapes_match_nothing),
        cmocka_unit_test(percent_decode_bounds),
        cmocka_unit_test(dashboard_routes),
        cmocka_unit_test(every_route_has_a_template),
        cmocka_unit_test(every_route_and_its_methods),
        cmocka_unit_test(unmatched_and_bad_paths),
        cmocka_unit_test(every_entry_has_a_handler_and_a_unique_template),
        cmocka_unit_test(two_ids_are_decoded_apart),
        cmocka_unit_test(a_table_of_its_own),
    };

    return cmocka_run_group_tests_name("http_router", tests, NULL, NULL);
}
