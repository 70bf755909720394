/*
 * The binary array writer (pg_arrays.h) byte for byte, without a server (the integration
 * suites send what it writes to a real one): a one-dimensional array with a NULL, a
 * composite element whose lengths are filled in once its columns are written, and the rule
 * that a buffer past the parameter limit fails and ignores every later write.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "interfaces/pg/pg_arrays.h"

/* The next big-endian 32-bit word of b at *at. */
static uint32_t word(const struct markr_pg_buffer *b, size_t *at)
{
    const unsigned char *p = (const unsigned char *)b->bytes + *at;

    assert_true(*at + 4 <= b->len);
    *at += 4;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void an_array_of_text_with_a_null(void **state)
{
    struct markr_pg_buffer b = {0};
    size_t at = 0;

    (void)state;
    markr_pg_array_begin(&b, MARKR_PG_TEXT, 2, 1);
    markr_pg_array_bytes(&b, "ab", 2);
    markr_pg_array_null(&b);
    assert_false(b.failed);
    assert_int_equal(word(&b, &at), 1);             /* one dimension */
    assert_int_equal(word(&b, &at), 1);             /* with NULLs */
    assert_int_equal(word(&b, &at), MARKR_PG_TEXT); /* element type */
    assert_int_equal(word(&b, &at), 2);             /* length */
    assert_int_equal(word(&b, &at), 1);             /* lower bound */
    assert_int_equal(word(&b, &at), 2);
    assert_memory_equal(b.bytes + at, "ab", 2);
    at += 2;
    assert_int_equal(word(&b, &at), UINT32_MAX); /* NULL */
    assert_int_equal(at, b.len);
    free(b.bytes);
}

/* An element of a composite type (OID 12345 here) of two columns, an int4[] and a text
 * that is NULL: each length counts exactly the bytes written after it. */
static void a_composite_element_has_its_lengths_filled_in(void **state)
{
    struct markr_pg_buffer b = {0};
    size_t at = 0, element, column;

    (void)state;
    markr_pg_array_begin(&b, 12345, 1, 0);
    element = markr_pg_value_open(&b);
    markr_pg_record_begin(&b, 2);
    markr_pg_record_column(&b, MARKR_PG_INT4_ARRAY);
    column = markr_pg_value_open(&b);
    markr_pg_array_begin(&b, MARKR_PG_INT4, 1, 0);
    markr_pg_array_int4(&b, 7);
    markr_pg_value_close(&b, column);
    markr_pg_record_column(&b, MARKR_PG_TEXT);
    markr_pg_array_null(&b);
    markr_pg_value_close(&b, element);
    assert_false(b.failed);

    at = 5 * 4; /* the outer array's header */
    assert_int_equal(word(&b, &at), b.len - 24); /* the element: everything after its length */
    assert_int_equal(word(&b, &at), 2);          /* columns */
    assert_int_equal(word(&b, &at), MARKR_PG_INT4_ARRAY);
    assert_int_equal(word(&b, &at), 5 * 4 + 8); /* the int4[]: its header and one element */
    at += 5 * 4;
    assert_int_equal(word(&b, &at), 4);
    assert_int_equal(word(&b, &at), 7);
    assert_int_equal(word(&b, &at), MARKR_PG_TEXT);
    assert_int_equal(word(&b, &at), UINT32_MAX);
    assert_int_equal(at, b.len);
    free(b.bytes);
}

/* A buffer that would pass the limit fails, allocates nothing, and ignores what follows:
 * words, bytes and the lengths filled in at close. A value longer than the limit fails
 * alone. */
static void past_the_limit_the_buffer_fails_and_writes_nothing(void **state)
{
    struct markr_pg_buffer b = {.len = MARKR_PG_PARAMETER_MAX - 2, .cap = MARKR_PG_PARAMETER_MAX - 2};
    struct markr_pg_buffer small = {0};

    (void)state;
    markr_pg_array_int4(&b, 1); /* bytes is NULL: any write would crash */
    assert_true(b.failed);
    markr_pg_value_close(&b, 0);
    markr_pg_buffer_put(&b, "x", 1);
    markr_pg_array_begin(&b, MARKR_PG_TEXT, 1, 0);
    assert_null(b.bytes);
    assert_int_equal(b.len, MARKR_PG_PARAMETER_MAX - 2);

    markr_pg_array_bytes(&small, "x", (size_t)MARKR_PG_PARAMETER_MAX + 1);
    assert_true(small.failed);
    assert_int_equal(small.len, 0);
    free(small.bytes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_array_of_text_with_a_null),
        cmocka_unit_test(a_composite_element_has_its_lengths_filled_in),
        cmocka_unit_test(past_the_limit_the_buffer_fails_and_writes_nothing),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
