/*
 * The aggregate use case through a fake reader: ids that cannot have been stored (empty,
 * padded with white space, longer than 255 bytes, holding a NUL) are unknown without a
 * query; any other byte string reaches the reader exactly, and the reader's answer and
 * errors come back unchanged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "application/get_aggregate.h"
#include "application/ids.h"
#include "fakes.h"

struct fixture {
    struct fake_reader reader;
    struct markr_results_reader port;
};

static int setup(void **state)
{
    static struct fixture f;

    memset(&f, 0, sizeof(f));
    f.reader.answer = (struct markr_aggregate){
        .mean = 65, .stddev = 0, .min = 65, .max = 65, .p25 = 65, .p50 = 65, .p75 = 65, .count = 1};
    f.port = fake_reader_port(&f.reader);
    *state = &f;
    return 0;
}

/* Expects NOT_FOUND for the id without the reader being asked. */
static void expect_unknown(struct fixture *f, const char *id, size_t len)
{
    struct markr_aggregate out;
    struct markr_error err;

    memset(&out, 0, sizeof(out));
    assert_int_equal(markr_get_aggregate(&f->port, id, len, &out, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_NOT_FOUND);
    assert_true(err.reason[0] != '\0');
    assert_true(err.message[0] != '\0');
    assert_int_equal(f->reader.calls, 0);
}

/* Expects the reader to be asked for exactly these bytes, and its answer back. */
static void expect_asked(struct fixture *f, const char *id, size_t len)
{
    struct markr_aggregate out;
    struct markr_error err;
    int before = f->reader.calls;

    memset(&err, 0x5a, sizeof(err)); /* junk: the use case must clear it */
    memset(&out, 0, sizeof(out));
    assert_int_equal(markr_get_aggregate(&f->port, id, len, &out, &err), 0);
    assert_int_equal(err.code, MARKR_OK);
    assert_int_equal(f->reader.calls, before + 1);
    assert_int_equal(f->reader.test_id_len, len);
    assert_memory_equal(f->reader.test_id, id, len);
    assert_memory_equal(&out, &f->reader.answer, sizeof(out));
}

static void empty_id_is_unknown(void **state)
{
    expect_unknown(*state, "", 0);
    expect_unknown(*state, "1234", 0);
}

static void padded_id_is_unknown(void **state)
{
    expect_unknown(*state, " 1234", 5);
    expect_unknown(*state, "1234 ", 5);
    expect_unknown(*state, "\t1234\n", 6);
    expect_unknown(*state, "\r\n", 2);
    expect_unknown(*state, " ", 1);
}

static void over_long_id_is_unknown(void **state)
{
    char id[MARKR_TEXT_MAX + 2];

    memset(id, 'x', sizeof(id));
    expect_unknown(*state, id, MARKR_TEXT_MAX + 1);
    expect_unknown(*state, id, MARKR_TEXT_MAX + 2);
}

static void id_with_nul_is_unknown(void **state)
{
    expect_unknown(*state, "12\0" "34", 5);
    expect_unknown(*state, "1234\0", 5);
    expect_unknown(*state, "\0", 1);
}

static void any_other_id_reaches_the_reader(void **state)
{
    struct fixture *f = *state;
    char longest[MARKR_TEXT_MAX];

    memset(longest, 'y', sizeof(longest));
    expect_asked(f, "1234", strlen("1234"));
    expect_asked(f, "002299", strlen("002299"));
    expect_asked(f, "maths 101", strlen("maths 101"));       /* inner space is part of the id */
    expect_asked(f, "a/b?c=d&e%20", strlen("a/b?c=d&e%20")); /* URL decoding is the adapter's job */
    expect_asked(f, "\xc3\xa9t\xc3\xa9", 5);                 /* UTF-8 */
    expect_asked(f, "\xff\xfe", 2);                         /* any bytes */
    expect_asked(f, longest, sizeof(longest));                /* 255 bytes is the longest stored id */
}

/* The rule the adapters apply before a cache entry or a stream exists is this one. */
static void the_rule_is_markr_id_valid(void **state)
{
    char longest[MARKR_TEXT_MAX + 1];

    memset(longest, 'z', sizeof(longest));
    assert_true(markr_id_valid("1234", 4));
    assert_true(markr_id_valid("maths 101", 9));
    assert_true(markr_id_valid("\xff\xfe", 2));
    assert_true(markr_id_valid(longest, MARKR_TEXT_MAX));
    assert_false(markr_id_valid(longest, MARKR_TEXT_MAX + 1));
    assert_false(markr_id_valid("", 0));
    assert_false(markr_id_valid(" 1234", 5));
    assert_false(markr_id_valid("1234\n", 5));
    assert_false(markr_id_valid("12\0" "34", 5));
    assert_false(markr_id_valid(NULL, 0));
}

static void id_is_pointer_and_length(void **state)
{
    /* Only "1234" is the id: the reader must not see the rest. */
    expect_asked(*state, "1234/aggregate", 4);
}

static void reader_errors_pass_through(void **state)
{
    struct fixture *f = *state;
    struct markr_aggregate out;
    struct markr_error err;

    f->reader.fail = true;
    markr_error_set(&f->reader.fail_error, MARKR_ERR_NOT_FOUND, "unknown_test", "no results for test 9999");
    assert_int_equal(markr_get_aggregate(&f->port, "9999", 4, &out, &err), -1);
    assert_int_equal(f->reader.calls, 1);
    assert_int_equal(err.code, MARKR_ERR_NOT_FOUND);
    assert_string_equal(err.reason, "unknown_test");
    assert_string_equal(err.message, "no results for test 9999");

    markr_error_set(&f->reader.fail_error, MARKR_ERR_UNAVAILABLE, "database_unavailable", "the database is down");
    assert_int_equal(markr_get_aggregate(&f->port, "1234", 4, &out, &err), -1);
    assert_int_equal(f->reader.calls, 2);
    assert_int_equal(err.code, MARKR_ERR_UNAVAILABLE);
    assert_string_equal(err.reason, "database_unavailable");

    markr_error_set(&f->reader.fail_error, MARKR_ERR_INTERNAL, "unexpected_answer", "odd reply");
    assert_int_equal(markr_get_aggregate(&f->port, "1234", 4, &out, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_INTERNAL);
    assert_string_equal(err.reason, "unexpected_answer");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(empty_id_is_unknown, setup),
        cmocka_unit_test_setup(padded_id_is_unknown, setup),
        cmocka_unit_test_setup(over_long_id_is_unknown, setup),
        cmocka_unit_test_setup(id_with_nul_is_unknown, setup),
        cmocka_unit_test_setup(any_other_id_reaches_the_reader, setup),
        cmocka_unit_test_setup(the_rule_is_markr_id_valid, setup),
        cmocka_unit_test_setup(id_is_pointer_and_length, setup),
        cmocka_unit_test_setup(reader_errors_pass_through, setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
