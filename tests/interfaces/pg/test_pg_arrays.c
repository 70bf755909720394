/*
 * The binary array writer (pg_arrays.c), without a database: appends grow the buffer and
 * keep every byte, a failed buffer (out of memory, or past the protocol's limit for one
 * parameter) takes nothing more even where it still has room, and the array format is the
 * one array_recv reads (the statements that send it are tested against the server).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "interfaces/pg/pg_arrays.h"

static void appends_keep_every_byte_as_the_buffer_grows(void **state)
{
    struct markr_pg_buffer b = {0};
    char piece[300];

    /* One byte at a time past several doublings, then pieces longer than the first size. */
    for (int i = 0; i < 5000; ++i)
        markr_pg_buffer_put(&b, &"0123456789"[i % 10], 1);
    memset(piece, 'x', sizeof(piece));
    for (int i = 0; i < 20; ++i)
        markr_pg_buffer_put(&b, piece, sizeof(piece));
    assert_false(b.failed);
    assert_int_equal(b.len, 5000 + 20 * sizeof(piece));
    assert_true(b.cap >= b.len);
    for (int i = 0; i < 5000; ++i)
        assert_int_equal(b.bytes[i], '0' + i % 10);
    for (size_t i = 5000; i < b.len; ++i)
        assert_int_equal(b.bytes[i], 'x');
    free(b.bytes);
}

static void a_failed_buffer_takes_nothing_more(void **state)
{
    struct markr_pg_buffer b = {0};

    markr_pg_buffer_put(&b, "ab", 2);
    assert_true(b.cap - b.len >= 1); /* room left for what follows */
    markr_pg_buffer_reserve(&b, SIZE_MAX / 2); /* past the limit of one parameter */
    assert_true(b.failed);
    markr_pg_buffer_put(&b, "c", 1); /* fits, yet refused */
    markr_pg_array_int4(&b, 7);
    assert_true(b.failed);
    assert_int_equal(b.len, 2);
    assert_memory_equal(b.bytes, "ab", 2);
    free(b.bytes);
}

static void arrays_are_written_in_the_binary_format(void **state)
{
    static const unsigned char want[] = {
        0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 25, /* one dimension, has nulls, text */
        0, 0, 0, 3, 0, 0, 0, 1,              /* 3 elements from 1 */
        0, 0, 0, 2, 'a', 'b',                /* "ab" */
        0xff, 0xff, 0xff, 0xff,              /* NULL */
        0, 0, 0, 0,                          /* "" */
    };
    static const unsigned char numbers[] = {
        0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 23, 0, 0, 0, 1, 0, 0, 0, 1, /* one int4 */
        0, 0, 0, 4, 0x12, 0x34, 0x56, 0x78,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 20,                         /* an empty int8[] */
    };
    struct markr_pg_buffer b = {0};

    markr_pg_array_begin(&b, MARKR_PG_TEXT, 3, 1);
    markr_pg_array_bytes(&b, "ab", 2);
    markr_pg_array_null(&b);
    markr_pg_array_bytes(&b, "", 0);
    assert_false(b.failed);
    assert_int_equal(b.len, sizeof(want));
    assert_memory_equal(b.bytes, want, sizeof(want));
    b.len = 0;
    markr_pg_array_begin(&b, MARKR_PG_INT4, 1, 0);
    markr_pg_array_int4(&b, 0x12345678);
    markr_pg_array_begin(&b, MARKR_PG_INT8, 0, 0);
    assert_int_equal(b.len, sizeof(numbers));
    assert_memory_equal(b.bytes, numbers, sizeof(numbers));
    free(b.bytes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(appends_keep_every_byte_as_the_buffer_grows),
        cmocka_unit_test(a_failed_buffer_takes_nothing_more),
        cmocka_unit_test(arrays_are_written_in_the_binary_format),
    };

    return cmocka_run_group_tests_name("pg_arrays", tests, NULL, NULL);
}
