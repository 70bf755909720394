/*
 * Routing and percent-decoding of request targets, without a server: every route, ids
 * holding any byte (including '/' as %2F), malformed escapes, and shapes that are not ours.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "interfaces/http/router.h"

static enum markr_route route_of(const char *path, struct markr_route_match *m)
{
    return markr_route_match(path, strlen(path), m);
}

static void fixed_routes(void **state)
{
    struct markr_route_match m;

    assert_int_equal(route_of("/health", &m), MARKR_ROUTE_HEALTH);
    assert_string_equal(m.allow, "GET, HEAD");
    assert_int_equal(route_of("/ready", &m), MARKR_ROUTE_READY);
    assert_int_equal(route_of("/import", &m), MARKR_ROUTE_IMPORT);
    assert_string_equal(m.allow, "POST");
    assert_int_equal(route_of("/import?source=scanner-7", &m), MARKR_ROUTE_IMPORT);
}

static void aggregate_ids_are_decoded_after_splitting(void **state)
{
    struct markr_route_match m;

    assert_int_equal(route_of("/results/1234/aggregate", &m), MARKR_ROUTE_AGGREGATE);
    assert_int_equal(m.id_len, 4);
    assert_memory_equal(m.id, "1234", 4);

    assert_int_equal(route_of("/results/Maths%201%2FB%25/aggregate?x=1", &m), MARKR_ROUTE_AGGREGATE);
    assert_int_equal(m.id_len, strlen("Maths 1/B%"));
    assert_memory_equal(m.id, "Maths 1/B%", m.id_len);

    assert_int_equal(route_of("/results/a+b/aggregate", &m), MARKR_ROUTE_AGGREGATE);
    assert_memory_equal(m.id, "a+b", 3); /* '+' is not a space in a path */

    assert_int_equal(route_of("/results/%00/aggregate", &m), MARKR_ROUTE_AGGREGATE);
    assert_int_equal(m.id_len, 1);
    assert_int_equal(m.id[0], '\0');

    assert_int_equal(route_of("/results//aggregate", &m), MARKR_ROUTE_AGGREGATE);
    assert_int_equal(m.id_len, 0);
}

/* issue 3: the vault's routes; ids are decoded here and checked by the handler. */
static void vault_routes(void **state)
{
    struct markr_route_match m;

    assert_int_equal(route_of("/imports", &m), MARKR_ROUTE_IMPORTS);
    assert_string_equal(m.allow, "GET, HEAD");
    assert_int_equal(route_of("/imports?limit=5&cursor=9", &m), MARKR_ROUTE_IMPORTS);
    assert_int_equal(route_of("/imports/42", &m), MARKR_ROUTE_IMPORT_INFO);
    assert_memory_equal(m.id, "42", 3);
    assert_int_equal(route_of("/imports/4%32/raw", &m), MARKR_ROUTE_IMPORT_RAW);
    assert_memory_equal(m.id, "42", 3);
    assert_int_equal(route_of("/imports/7/reprocess?dry_run=true", &m), MARKR_ROUTE_IMPORT_REPROCESS);
    assert_string_equal(m.allow, "POST");
    assert_int_equal(route_of("/imports/7/other", &m), MARKR_ROUTE_NONE);
    assert_int_equal(route_of("/imports/%zz", &m), MARKR_ROUTE_BAD_PATH);
    assert_int_equal(route_of("/tests/Maths%2F1/conflicts", &m), MARKR_ROUTE_TEST_CONFLICTS);
    assert_memory_equal(m.id, "Maths/1", 8);
    assert_int_equal(route_of("/tests/1/aggregate", &m), MARKR_ROUTE_NONE);
}

static void malformed_escapes_are_bad_paths(void **state)
{
    struct markr_route_match m;

    assert_int_equal(route_of("/results/%zz/aggregate", &m), MARKR_ROUTE_BAD_PATH);
    assert_int_equal(route_of("/results/%4/aggregate", &m), MARKR_ROUTE_BAD_PATH);
    assert_int_equal(route_of("/results/abc%/aggregate", &m), MARKR_ROUTE_BAD_PATH);
}

static void over_long_ids_are_bad_paths(void **state)
{
    static char path[3 * MARKR_ROUTE_ID_MAX + 64];
    struct markr_route_match m;
    size_t off = (size_t)sprintf(path, "/results/");

    memset(path + off, 'x', MARKR_ROUTE_ID_MAX);
    strcpy(path + off + MARKR_ROUTE_ID_MAX, "/aggregate");
    assert_int_equal(route_of(path, &m), MARKR_ROUTE_AGGREGATE);
    assert_int_equal(m.id_len, MARKR_ROUTE_ID_MAX);

    strcpy(path + off + MARKR_ROUTE_ID_MAX, "y/aggregate");
    assert_int_equal(route_of(path, &m), MARKR_ROUTE_BAD_PATH);
}

static void other_shapes_match_nothing(void **state)
{
    struct markr_route_match m;
    const char *paths[] = {"", "health", "//", "/health/", "/healthz", "/results/1/aggregate/x",
                           "/results", "/results/1/aggregates", "/a/b/c/d/e/f", "/import/1", "/results/1/2/aggregate"};

    for (size_t i = 0; i < sizeof(paths) / sizeof(*paths); ++i)
        if (route_of(paths[i], &m) != MARKR_ROUTE_NONE)
            fail_msg("'%s' should match no route", paths[i]);
}

/* issue 4: the dashboard's views, streams and page */
static void dashboard_routes(void **state)
{
    struct markr_route_match m;

    assert_int_equal(route_of("/", &m), MARKR_ROUTE_DASHBOARD);
    assert_int_equal(route_of("/?screen=wall", &m), MARKR_ROUTE_DASHBOARD);
    assert_int_equal(route_of("/tests", &m), MARKR_ROUTE_TESTS);
    assert_int_equal(route_of("/events", &m), MARKR_ROUTE_EVENTS);
    assert_int_equal(route_of("/results/a%2Fb?limit=5", &m), MARKR_ROUTE_RESULTS);
    assert_int_equal(m.id_len, 3);
    assert_memory_equal(m.id, "a/b", 3);
    assert_int_equal(route_of("/students/002299", &m), MARKR_ROUTE_STUDENT);
    assert_memory_equal(m.id, "002299", 6);
    assert_int_equal(route_of("/results/t/histogram?bins=5", &m), MARKR_ROUTE_HISTOGRAM);
    assert_int_equal(route_of("/results/t%20x/aggregate/stream", &m), MARKR_ROUTE_AGGREGATE_STREAM);
    assert_memory_equal(m.id, "t x", 3);
    assert_int_equal(route_of("/static/app.js", &m), MARKR_ROUTE_STATIC);
    assert_string_equal(m.allow, "GET, HEAD");
    assert_int_equal(route_of("/students/%zz", &m), MARKR_ROUTE_BAD_PATH);
    assert_int_equal(route_of("/results/t/aggregate/streams", &m), MARKR_ROUTE_NONE);
    assert_int_equal(route_of("/students", &m), MARKR_ROUTE_NONE);
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

    for (int r = MARKR_ROUTE_HEALTH; r < MARKR_ROUTE_COUNT; ++r) {
        const char *t = markr_route_template((enum markr_route)r);

        assert_string_not_equal(t, "unmatched");
        for (int other = MARKR_ROUTE_HEALTH; other < r; ++other)
            assert_string_not_equal(t, markr_route_template((enum markr_route)other));
    }
    assert_int_equal(route_of("/metrics", &m), MARKR_ROUTE_METRICS);
    assert_string_equal(m.allow, "GET, HEAD");
    assert_int_equal(route_of("/results/secret-id-123/aggregate", &m), MARKR_ROUTE_AGGREGATE);
    assert_string_equal(markr_route_template(m.route), "/results/{test-id}/aggregate");
    assert_string_equal(markr_route_template(MARKR_ROUTE_NONE), "unmatched");
    assert_string_equal(markr_route_template(MARKR_ROUTE_COUNT), "unmatched");
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
    };

    return cmocka_run_group_tests_name("http_router", tests, NULL, NULL);
}
