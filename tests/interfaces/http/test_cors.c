/*
 * The CORS rule alone (cors.h): what MARKR_CORS_ORIGINS may say, which origins match, and
 * which routes are shared at all (reads; imports only when switched on; admin never).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "interfaces/http/cors.h"
#include "interfaces/http/router.h"

static int parses(const char *text, struct markr_cors *cors)
{
    char err[160];

    memset(cors, 0, sizeof(*cors));
    return markr_cors_parse(text, cors, err, sizeof(err)) == 0;
}

static void origins_are_scheme_host_and_port(void **state)
{
    struct markr_cors c;

    assert_true(parses("https://dash.example.org", &c));
    assert_true(parses("http://localhost:3000, https://[::1]:8443,http://10.0.0.7", &c));
    assert_int_equal(c.count, 3);
    assert_string_equal(c.origins[1], "https://[::1]:8443");
    assert_true(parses("*", &c));
    assert_true(c.any);
    assert_false(parses("", &c));
    assert_false(parses("https://a.example,,https://b.example", &c));
    assert_false(parses("https://dash.example.org/", &c));       /* a path */
    assert_false(parses("https://dash.example.org/app", &c));
    assert_false(parses("ftp://dash.example.org", &c));          /* not a web origin */
    assert_false(parses("dash.example.org", &c));                /* no scheme */
    assert_false(parses("https://", &c));
    assert_false(parses("https://a.example:", &c));
    assert_false(parses("https://a.example:123456", &c));
    assert_false(parses("https://[]", &c));
    assert_false(parses("https://a b.example", &c));
    assert_false(parses("*, https://a.example", &c));            /* * stands alone */
    assert_false(parses("null", &c));                            /* sandboxed pages: never */
    {
        char many[2048] = "";

        for (int i = 0; i <= MARKR_CORS_ORIGINS_MAX; ++i)
            strcat(many, i == 0 ? "https://a.example" : ",https://a.example");
        assert_false(parses(many, &c));
    }
}

static void origins_match_exactly_in_any_case(void **state)
{
    struct markr_cors c;

    assert_true(parses("https://dash.example.org,http://localhost:3000", &c));
    assert_true(markr_cors_origin_allowed(&c, "https://dash.example.org", 24));
    assert_true(markr_cors_origin_allowed(&c, "HTTPS://DASH.example.org", 24));
    assert_true(markr_cors_origin_allowed(&c, "http://localhost:3000", 21));
    assert_false(markr_cors_origin_allowed(&c, "http://localhost:3001", 21));
    assert_false(markr_cors_origin_allowed(&c, "http://dash.example.org", 23)); /* another scheme */
    assert_false(markr_cors_origin_allowed(&c, "https://dash.example.org.evil", 29));
    assert_false(markr_cors_origin_allowed(&c, "https://dash.example.or", 23));
    assert_false(markr_cors_origin_allowed(&c, "https://dash.example.org\0x", 26));
    assert_false(markr_cors_origin_allowed(&c, "null", 4));
    assert_false(markr_cors_origin_allowed(&c, "", 0));
    assert_true(parses("*", &c));
    assert_true(markr_cors_origin_allowed(&c, "https://anyone.example", 22));
    assert_false(markr_cors_origin_allowed(&c, "", 0));
}

static void reads_are_shared_imports_when_asked_admin_never(void **state)
{
    struct markr_cors c;

    memset(&c, 0, sizeof(c)); /* unset: nothing at all */
    assert_false(markr_cors_route_shared(&c, MARKR_METHOD_GET, MARKR_ACCESS_OPEN, 1));
    assert_true(parses("https://dash.example.org", &c));
    assert_true(markr_cors_route_shared(&c, MARKR_METHOD_GET, MARKR_ACCESS_OPEN, 0));
    /* Personal data only once reader tokens protect it; the vault and the feed never. */
    assert_false(markr_cors_route_shared(&c, MARKR_METHOD_GET, MARKR_ACCESS_READER, 0));
    assert_true(markr_cors_route_shared(&c, MARKR_METHOD_GET, MARKR_ACCESS_READER, 1));
    assert_false(markr_cors_route_shared(&c, MARKR_METHOD_GET, MARKR_ACCESS_OPERATOR, 0));
    assert_false(markr_cors_route_shared(&c, MARKR_METHOD_GET, MARKR_ACCESS_OPERATOR, 1));
    assert_false(markr_cors_route_shared(&c, MARKR_METHOD_POST, MARKR_ACCESS_IMPORT, 1));
    assert_false(markr_cors_route_shared(&c, MARKR_METHOD_POST, MARKR_ACCESS_ADMIN, 1));
    assert_false(markr_cors_route_shared(&c, MARKR_METHOD_GET, MARKR_ACCESS_ADMIN, 1));
    c.import = 1;
    assert_true(markr_cors_route_shared(&c, MARKR_METHOD_POST, MARKR_ACCESS_IMPORT, 0));
    assert_false(markr_cors_route_shared(&c, MARKR_METHOD_POST, MARKR_ACCESS_ADMIN, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(origins_are_scheme_host_and_port),
        cmocka_unit_test(origins_match_exactly_in_any_case),
        cmocka_unit_test(reads_are_shared_imports_when_asked_admin_never),
    };

    return cmocka_run_group_tests_name("http_cors", tests, NULL, NULL);
}
