/*
 * Decoding the change feed's notifications (markr_pg_report_change), without a database:
 * the payloads the writers send arrive as the struct of the port, bytes of the test ids
 * exact; every payload is reported exactly once, and one that cannot be decoded as a flush
 * (naming its import when it can), never dropped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "interfaces/pg/pg_listen.h"

#define MAX_TESTS 8

/* What the sink was told, copied. */
struct heard {
    int calls;
    int64_t import_id;
    int flush;
    size_t test_count;
    char tests[MAX_TESTS][64];
};

static void on_changed(void *ctx, const struct markr_change_event *ev)
{
    struct heard *h = ctx;

    h->calls++;
    h->import_id = ev->import_id;
    h->flush = ev->flush;
    h->test_count = ev->test_count;
    assert_true(ev->test_count <= MAX_TESTS);
    for (size_t i = 0; i < ev->test_count; ++i) {
        assert_true(strlen(ev->tests[i]) < sizeof(h->tests[i]));
        strcpy(h->tests[i], ev->tests[i]);
    }
}

/* Reports the len bytes of payload; says what the sink heard, once. */
static struct heard report_bytes(const char *payload, size_t len)
{
    struct heard h;
    struct markr_change_sink sink = {.ctx = &h, .changed = on_changed};

    memset(&h, 0, sizeof(h));
    markr_pg_report_change(&sink, payload, len);
    assert_int_equal(h.calls, 1);
    return h;
}

static struct heard report(const char *payload)
{
    return report_bytes(payload, strlen(payload));
}

static void expect_flush(const char *payload, int64_t import_id)
{
    struct heard h = report(payload);

    assert_true(h.flush);
    assert_int_equal(h.test_count, 0);
    assert_int_equal(h.import_id, import_id);
}

static void the_tests_of_an_import_arrive_as_sent(void **state)
{
    /* As json_build_object writes it, with json_agg's spacing. */
    static const char payload[] =
        "{\"import_id\" : 42, \"tests\" : [\"1234\", \"maths 1/B %\", \"\\u00e9t\\u00e9\", \"a\\\"b\"]}";
    struct heard h = report(payload);

    assert_int_equal(h.import_id, 42);
    assert_false(h.flush);
    assert_int_equal(h.test_count, 4);
    assert_string_equal(h.tests[0], "1234");
    assert_string_equal(h.tests[1], "maths 1/B %");
    assert_string_equal(h.tests[2], "\xc3\xa9t\xc3\xa9");
    assert_string_equal(h.tests[3], "a\"b");
}

static void an_import_that_changed_no_marks_names_no_test(void **state)
{
    struct heard h = report("{\"import_id\" : 7, \"tests\" : []}");

    assert_int_equal(h.import_id, 7);
    assert_false(h.flush);
    assert_int_equal(h.test_count, 0);
}

static void flushes_arrive_as_flushes(void **state)
{
    expect_flush("{\"import_id\" : 9, \"flush\" : true}", 9); /* the list did not fit */
    expect_flush("{\"import_id\":0,\"flush\":true}", 0);      /* a rebuild, or an operator */
    expect_flush("{\"import_id\":3,\"tests\":[\"x\"],\"flush\":true}", 3);
}

static void the_payload_is_pointer_and_length(void **state)
{
    static const char payload[] = "{\"import_id\":5,\"tests\":[\"a\"]}, and then some";
    struct heard h = report_bytes(payload, strlen("{\"import_id\":5,\"tests\":[\"a\"]}"));

    assert_int_equal(h.import_id, 5);
    assert_int_equal(h.test_count, 1);
    assert_string_equal(h.tests[0], "a");
}

static void what_cannot_be_decoded_is_a_flush(void **state)
{
    struct heard h;

    expect_flush("", -1);
    expect_flush("not json", -1);
    expect_flush("{\"import_id\":5,\"tests\":[\"a\"", -1); /* cut short */
    expect_flush("[\"a\"]", -1);
    expect_flush("42", -1);
    expect_flush("{\"import_id\":8}", 8);                  /* no list */
    expect_flush("{\"import_id\":8,\"tests\":\"a\"}", 8);  /* not a list */
    expect_flush("{\"import_id\":8,\"tests\":[\"a\",1]}", 8); /* not a test id */
    expect_flush("{\"import_id\":8,\"tests\":[null]}", 8);
    expect_flush("{\"import_id\":8,\"tests\":[\"a\\u0000b\"]}", 8); /* no test id holds a NUL */
    /* The change still applies when the import cannot be named. */
    h = report("{\"tests\":[\"x\"]}");
    assert_int_equal(h.import_id, -1);
    assert_int_equal(h.test_count, 1);
    h = report("{\"import_id\":\"12\",\"tests\":[\"x\"]}");
    assert_int_equal(h.import_id, -1);
    assert_int_equal(h.test_count, 1);
    expect_flush("{\"import_id\":-4,\"flush\":true}", -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_tests_of_an_import_arrive_as_sent),
        cmocka_unit_test(an_import_that_changed_no_marks_names_no_test),
        cmocka_unit_test(flushes_arrive_as_flushes),
        cmocka_unit_test(the_payload_is_pointer_and_length),
        cmocka_unit_test(what_cannot_be_decoded_is_a_flush),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
