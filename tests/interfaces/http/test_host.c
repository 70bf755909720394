/*
 * The Host rule: MARKR_ALLOWED_HOSTS as it is read (ports, brackets, white space, bad
 * entries), the default for a loopback address and for any other, and a request's Host
 * matched in any case with its port ignored, and refused when malformed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "interfaces/http/host.h"

static int allowed(const struct markr_allowed_hosts *h, const char *value)
{
    return markr_host_allowed(h, value, strlen(value));
}

static void a_list_is_read_with_ports_and_brackets(void **state)
{
    struct markr_allowed_hosts h;
    char err[160];

    assert_int_equal(markr_allowed_hosts_parse("Markr.Example.org, localhost:8085 ,[::1]:80,10.0.0.7", &h, err,
                                               sizeof(err)), 0);
    assert_false(h.any);
    assert_int_equal(h.count, 4);
    assert_string_equal(h.names[0], "markr.example.org");
    assert_string_equal(h.names[1], "localhost");
    assert_string_equal(h.names[2], "[::1]");
    assert_string_equal(h.names[3], "10.0.0.7");

    assert_true(allowed(&h, "markr.example.org"));
    assert_true(allowed(&h, "MARKR.example.ORG:443"));
    assert_true(allowed(&h, "localhost:1"));
    assert_true(allowed(&h, "[::1]:8085"));
    assert_true(allowed(&h, "[::1]"));
    assert_true(allowed(&h, "10.0.0.7:8085"));
    assert_false(allowed(&h, "evil.example"));
    assert_false(allowed(&h, "markr.example.org.evil.example"));
    assert_false(allowed(&h, "markr.example"));
    assert_false(allowed(&h, "127.0.0.1"));
    assert_false(allowed(&h, "[::2]:8085"));
    /* Malformed values are no name of ours. */
    assert_false(allowed(&h, ""));
    assert_false(allowed(&h, "localhost:"));
    assert_false(allowed(&h, "localhost:123456"));
    assert_false(allowed(&h, "localhost:80x"));
    assert_false(allowed(&h, "localhost:80:80"));
    assert_false(allowed(&h, "local host"));
    assert_false(allowed(&h, "localhost\r\n"));
    assert_false(allowed(&h, "user@localhost"));
    assert_false(allowed(&h, "[::1"));
    assert_false(allowed(&h, "[]"));
    assert_false(allowed(&h, "[::1]x"));
    assert_false(allowed(&h, "[::g]"));
    assert_false(markr_host_allowed(&h, NULL, 0));
    /* Only the len bytes given count. */
    assert_true(markr_host_allowed(&h, "localhost.evil", 9));
    assert_false(markr_host_allowed(&h, "localhost", 5));
}

static void bad_lists_are_refused(void **state)
{
    static const char *const bad[] = {"", " ", "a,,b", "a,", ",a", "a b", "a:", "a:x", "[::1", "[::1]]",
                                      "http://a", "a/b", "*", "a:1234567"};
    struct markr_allowed_hosts h;
    char err[160], many[256] = "";

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        err[0] = '\0';
        assert_int_equal(markr_allowed_hosts_parse(bad[i], &h, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "is not a host name"));
    }
    for (int i = 0; i <= MARKR_ALLOWED_HOSTS_MAX; ++i)
        strcat(many, i == 0 ? "h" : ",h");
    assert_int_equal(markr_allowed_hosts_parse(many, &h, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "more than 16"));
    many[strlen(many) - 2] = '\0'; /* exactly the most */
    assert_int_equal(markr_allowed_hosts_parse(many, &h, err, sizeof(err)), 0);
    assert_int_equal(h.count, MARKR_ALLOWED_HOSTS_MAX);
}

static void the_default_depends_on_the_address(void **state)
{
    static const char *const loopback[] = {"127.0.0.1", "127.1.2.3", "::1", "localhost", "LOCALHOST"};
    static const char *const others[] = {"0.0.0.0", "::", "10.0.0.7", "128.0.0.1", "::2", "example.org"};
    struct markr_allowed_hosts h;

    for (size_t i = 0; i < sizeof(loopback) / sizeof(loopback[0]); ++i) {
        assert_true(markr_host_is_loopback(loopback[i]));
        markr_allowed_hosts_default(&h, loopback[i]);
        assert_false(h.any);
        assert_true(allowed(&h, "localhost"));
        assert_true(allowed(&h, "127.0.0.1:8085"));
        assert_true(allowed(&h, "[::1]:8085"));
        assert_true(allowed(&h, "LocalHost:1"));
        assert_false(allowed(&h, "127.0.0.2"));
        assert_false(allowed(&h, "rebound.example:8085"));
        assert_false(allowed(&h, ""));
    }
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); ++i) {
        assert_false(markr_host_is_loopback(others[i]));
        markr_allowed_hosts_default(&h, others[i]);
        assert_true(h.any);
        assert_true(allowed(&h, "anything.example"));
        assert_true(allowed(&h, "not a host at all"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_list_is_read_with_ports_and_brackets),
        cmocka_unit_test(bad_lists_are_refused),
        cmocka_unit_test(the_default_depends_on_the_address),
    };

    return cmocka_run_group_tests_name("http_host", tests, NULL, NULL);
}
