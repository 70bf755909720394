/*
 * The absolute-form rule (target.h): an origin-form target, or any other that does not start
 * with http:// or https://, is routed as it is; an absolute one is split into its authority
 * and the rest, whatever the case of its scheme; one without a host, with user info or with
 * a fragment in place of a path is refused. Spans never reach past the target's length.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "interfaces/http/target.h"

static enum markr_target_form read_(const char *target, struct markr_target *t)
{
    return markr_target_read(target, strlen(target), t);
}

static void assert_span(const char *base, size_t len, const char *want)
{
    assert_int_equal(len, strlen(want));
    assert_memory_equal(base, want, len);
}

static void other_forms_are_routed_as_they_are(void **state)
{
    static const char *const targets[] = {"/health", "/tests/x/aggregate?y=1", "*", "", "http:/health",
                                          "http:health", "ftp://host/x", "localhost:8085", "/http://h/x"};
    struct markr_target t;

    (void)state;
    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); ++i) {
        assert_int_equal(read_(targets[i], &t), MARKR_TARGET_AS_IS);
        assert_null(t.authority);
        assert_null(t.rest);
    }
}

static void an_absolute_target_names_its_authority_and_path(void **state)
{
    struct markr_target t;

    (void)state;
    assert_int_equal(read_("http://127.0.0.1:8085/tests/x/aggregate?y=1", &t), MARKR_TARGET_ABSOLUTE);
    assert_span(t.authority, t.authority_len, "127.0.0.1:8085");
    assert_span(t.rest, t.rest_len, "/tests/x/aggregate?y=1");
    assert_int_equal(read_("HTTPS://LocalHost/health", &t), MARKR_TARGET_ABSOLUTE);
    assert_span(t.authority, t.authority_len, "LocalHost");
    assert_span(t.rest, t.rest_len, "/health");
    assert_int_equal(read_("hTtP://[::1]:8085/", &t), MARKR_TARGET_ABSOLUTE);
    assert_span(t.authority, t.authority_len, "[::1]:8085");
    assert_span(t.rest, t.rest_len, "/");
}

/* An empty path is the root: the rest is empty, or starts with the query. */
static void an_absolute_target_may_leave_its_path_out(void **state)
{
    struct markr_target t;

    (void)state;
    assert_int_equal(read_("http://localhost", &t), MARKR_TARGET_ABSOLUTE);
    assert_span(t.authority, t.authority_len, "localhost");
    assert_int_equal(t.rest_len, 0);
    assert_int_equal(read_("http://localhost:8085?x=1", &t), MARKR_TARGET_ABSOLUTE);
    assert_span(t.authority, t.authority_len, "localhost:8085");
    assert_span(t.rest, t.rest_len, "?x=1");
}

static void a_malformed_absolute_target_is_refused(void **state)
{
    static const char *const targets[] = {"http://", "https:///health", "http://?x=1", "http://user@host/health",
                                          "http://@host/", "http://host#frag", "http://#"};
    struct markr_target t;

    (void)state;
    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); ++i)
        assert_int_equal(read_(targets[i], &t), MARKR_TARGET_BAD);
}

/* The length bounds every read: a target cut short inside its scheme is not absolute, and
 * one cut inside its authority ends there. */
static void nothing_past_the_length_is_read(void **state)
{
    static const char target[] = "http://host/path";
    struct markr_target t;

    (void)state;
    assert_int_equal(markr_target_read(target, 6, &t), MARKR_TARGET_AS_IS);
    assert_int_equal(markr_target_read(target, 7, &t), MARKR_TARGET_BAD);
    assert_int_equal(markr_target_read(target, 9, &t), MARKR_TARGET_ABSOLUTE);
    assert_span(t.authority, t.authority_len, "ho");
    assert_int_equal(t.rest_len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(other_forms_are_routed_as_they_are),
        cmocka_unit_test(an_absolute_target_names_its_authority_and_path),
        cmocka_unit_test(an_absolute_target_may_leave_its_path_out),
        cmocka_unit_test(a_malformed_absolute_target_is_refused),
        cmocka_unit_test(nothing_past_the_length_is_read),
    };

    return cmocka_run_group_tests_name("http_target", tests, NULL, NULL);
}
