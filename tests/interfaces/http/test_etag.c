/*
 * Entity tags alone (etag.h): equal bytes give equal strong tags, other bytes other tags,
 * and If-None-Match is read as RFC 9110 writes it (a list, weak tags compared weakly, "*").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "interfaces/http/etag.h"

static int matches(const char *value, const char *tag)
{
    return markr_etag_matches(value, strlen(value), tag);
}

static void tags_follow_the_bytes(void **state)
{
    char a[MARKR_ETAG_MAX], b[MARKR_ETAG_MAX], c[MARKR_ETAG_MAX], empty[MARKR_ETAG_MAX];

    markr_etag_of("{\"count\":1}", 11, a);
    markr_etag_of("{\"count\":1}", 11, b);
    markr_etag_of("{\"count\":2}", 11, c);
    markr_etag_of("", 0, empty);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_string_not_equal(a, empty);
    assert_true(a[0] == '"' && a[strlen(a) - 1] == '"'); /* strong: quoted, no W/ */
    assert_ptr_equal(strchr(a + 1, '"'), a + strlen(a) - 1);
    /* The length is part of the tag: a body and its prefix differ even if their hashes met. */
    markr_etag_of("ab", 1, b);
    markr_etag_of("a", 1, c);
    assert_string_equal(b, c);
}

static void if_none_match_lists_weak_tags_and_star(void **state)
{
    const char *tag = "\"5f0c\"";

    assert_true(matches("\"5f0c\"", tag));
    assert_true(matches("W/\"5f0c\"", tag));
    assert_true(matches("\"a\", \"5f0c\"", tag));
    assert_true(matches("\"a\",\"b\" ,\t\"5f0c\" ", tag));
    assert_true(matches("*", tag));
    assert_true(matches(" *", tag));
    assert_false(matches("", tag));
    assert_false(matches("\"5f0\"", tag));
    assert_false(matches("\"5f0c", tag));         /* unterminated */
    assert_false(matches("5f0c", tag));           /* unquoted */
    assert_false(matches("\"5f0c\"x", tag));      /* more in the member */
    assert_false(matches("w/\"5f0c\"", tag));     /* W is upper case */
    assert_false(matches("\"5f0c,\"", tag));
    assert_false(matches(",,,", tag));
    assert_false(markr_etag_matches("\"5f0c\"", 5, tag)); /* never past len */
    assert_true(matches("\"x\", W/\"5f0c-gzip\", \"5f0c\"", tag));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tags_follow_the_bytes),
        cmocka_unit_test(if_none_match_lists_weak_tags_and_star),
    };

    return cmocka_run_group_tests_name("http_etag", tests, NULL, NULL);
}
