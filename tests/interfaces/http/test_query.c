/*
 * Query parameters and numeric ids of request targets (query.h), without a server: the
 * last occurrence wins, escapes are decoded, and every malformed shape is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "interfaces/http/query.h"

static int get(const char *target, const char *name, char *dst, size_t cap, size_t *len)
{
    return markr_query_get(target, strlen(target), name, dst, cap, len);
}

static void values_are_found_and_decoded(void **state)
{
    char v[16];
    size_t len = 99;

    assert_int_equal(get("/imports?limit=10&status=accepted", "status", v, sizeof(v) - 1, &len), 1);
    assert_string_equal(v, "accepted");
    assert_int_equal(len, 8);
    assert_int_equal(get("/imports?test_id=a%2Fb%C3%A9c+d", "test_id", v, sizeof(v) - 1, &len), 1);
    assert_int_equal(len, 8);
    assert_memory_equal(v, "a/b\xc3\xa9" "c+d", 8); /* decoded bytes; '+' is not a space */
    assert_int_equal(get("/x?a=1&a=2", "a", v, sizeof(v) - 1, &len), 1);
    assert_string_equal(v, "2"); /* the last one wins */
    assert_int_equal(get("/x?a=", "a", v, sizeof(v) - 1, &len), 1);
    assert_int_equal(len, 0);
    assert_string_equal(v, "");
}

static void absent_values_are_absent(void **state)
{
    char v[16];
    size_t len = 99;

    assert_int_equal(get("/imports", "limit", v, sizeof(v) - 1, &len), 0);
    assert_int_equal(get("/imports?", "limit", v, sizeof(v) - 1, &len), 0);
    assert_int_equal(get("/imports?limits=3&xlimit=4", "limit", v, sizeof(v) - 1, &len), 0);
    assert_int_equal(get("/imports?limit", "limit", v, sizeof(v) - 1, &len), 0); /* no '=': no value */
    assert_int_equal(len, 99);
}

static void malformed_or_long_values_are_refused(void **state)
{
    char v[4];
    size_t len;

    assert_int_equal(get("/x?a=%4", "a", v, sizeof(v) - 1, &len), -1);
    assert_int_equal(get("/x?a=%zz", "a", v, sizeof(v) - 1, &len), -1);
    assert_int_equal(get("/x?a=5%00", "a", v, sizeof(v) - 1, &len), -1); /* read as a string, it would be "5" */
    assert_int_equal(get("/x?a=abcd", "a", v, sizeof(v) - 1, &len), -1); /* 4 bytes, room for 3 */
    assert_int_equal(get("/x?a=abc", "a", v, sizeof(v) - 1, &len), 1);
    assert_int_equal(get("/x?b=%zz&a=1", "a", v, sizeof(v) - 1, &len), 1); /* other names are not decoded */
}

static int check(const char *target, const char *const *allowed, char *message, size_t cap)
{
    return markr_query_check(target, strlen(target), allowed, message, cap);
}

static void only_known_names_pass(void **state)
{
    static const char *const known[] = {"limit", "cursor", NULL};
    const char *ok[] = {"/imports", "/imports?", "/imports?limit=1", "/imports?limit=1&&cursor=2&", "/imports?&",
                        "/imports?cursor=&limit=%zz"}; /* values are the handlers' to judge */
    const char *bad[] = {"/imports?limit=1&sort=x", "/imports?limit", "/imports?=1", "/imports?LIMIT=1",
                         "/imports?limit=1&limit=2", "/imports?cursor=a&limit=1&cursor=a"};
    char message[256];

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); ++i) {
        assert_int_equal(check(ok[i], known, message, sizeof(message)), 0);
        assert_string_equal(message, "");
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        assert_int_equal(check(bad[i], known, message, sizeof(message)), -1);
        assert_true(strlen(message) > 0);
    }
}

/* The refusal names the parameter and says what the route takes. */
static void refusals_name_the_parameter(void **state)
{
    static const char *const known[] = {"limit", "cursor", NULL};
    static const char *const one[] = {"bins", NULL};
    char message[256], longname[200];

    assert_int_equal(check("/r?bin=4", one, message, sizeof(message)), -1);
    assert_string_equal(message, "unknown parameter 'bin': this resource takes bins");
    assert_int_equal(check("/r?limit=1&sort=x", known, message, sizeof(message)), -1);
    assert_string_equal(message, "unknown parameter 'sort': this resource takes limit and cursor");
    assert_int_equal(check("/health?x=1", NULL, message, sizeof(message)), -1);
    assert_string_equal(message, "unknown parameter 'x': this resource takes no parameters");
    assert_int_equal(check("/r?limit=1&limit=2", known, message, sizeof(message)), -1);
    assert_string_equal(message, "parameter 'limit' is given more than once: give it once");
    assert_int_equal(check("/r?cursor", known, message, sizeof(message)), -1);
    assert_string_equal(message, "parameter 'cursor' has no value: write cursor=...");
    assert_int_equal(check("/health", NULL, message, sizeof(message)), 0);
    /* A long name is quoted cut, and the sentence always fits its buffer. */
    memset(longname, 'n', sizeof(longname));
    memcpy(longname, "/r?", 3);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(check(longname, known, message, sizeof(message)), -1);
    assert_non_null(strstr(message, "'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn'"));
    assert_int_equal(check(longname, known, message, 16), -1);
    assert_int_equal(strlen(message), 15);
}

static void numbers_and_ids(void **state)
{
    assert_int_equal(markr_parse_uint("0", 1, 100), 0);
    assert_int_equal(markr_parse_uint("100", 3, 100), 100);
    assert_int_equal(markr_parse_uint("101", 3, 100), -1);
    assert_int_equal(markr_parse_uint("007", 3, 100), 7);
    assert_int_equal(markr_parse_uint("9223372036854775807", 19, INT64_MAX), INT64_MAX);
    assert_int_equal(markr_parse_uint("9223372036854775808", 19, INT64_MAX), -1);
    assert_int_equal(markr_parse_uint("", 0, 100), -1);
    assert_int_equal(markr_parse_uint("-1", 2, 100), -1);
    assert_int_equal(markr_parse_uint(" 1", 2, 100), -1);
    assert_int_equal(markr_parse_uint("1x", 2, 100), -1);
    assert_int_equal(markr_parse_uint("00000000000000000001", 20, 100), -1); /* more than 19 digits */

    assert_int_equal(markr_parse_id("42", 2), 42);
    assert_int_equal(markr_parse_id("0", 1), -1);
    assert_int_equal(markr_parse_id("042", 3), -1);
    assert_int_equal(markr_parse_id("", 0), -1);
    assert_int_equal(markr_parse_id("4\0", 2), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(values_are_found_and_decoded),
        cmocka_unit_test(absent_values_are_absent),
        cmocka_unit_test(malformed_or_long_values_are_refused),
        cmocka_unit_test(only_known_names_pass),
        cmocka_unit_test(refusals_name_the_parameter),
        cmocka_unit_test(numbers_and_ids),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
