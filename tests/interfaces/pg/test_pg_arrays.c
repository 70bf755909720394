/*
 * The binary array writer (pg_arrays.h) byte for byte, without a server (the integration
 * suites send what it writes to a real one): appends that keep every byte as the buffer
 * grows, integers as big-endian words, a one-dimensional array with a NULL, a
 * composite element whose lengths are filled in once its columns are written, the rule
 * that a buffer past the parameter limit fails and ignores every later write, and the kept
 * sheets' shape (pg_sheets.h): sent once, and the columns it holds left out of each sheet
 * that has it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "interfaces/pg/pg_arrays.h"
#include "interfaces/pg/pg_sheets.h"

/* The next big-endian 32-bit word of b at *at. */
static uint32_t word(const struct markr_pg_buffer *b, size_t *at)
{
    const unsigned char *p = (const unsigned char *)b->bytes + *at;

    assert_true(*at + 4 <= b->len);
    *at += 4;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

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

static void integers_are_big_endian_words(void **state)
{
    static const unsigned char want[] = {
        0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 23, 0, 0, 0, 1, 0, 0, 0, 1, /* one int4 */
        0, 0, 0, 4, 0x12, 0x34, 0x56, 0x78,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 20,                         /* an empty int8[] */
    };
    struct markr_pg_buffer b = {0};

    markr_pg_array_begin(&b, MARKR_PG_INT4, 1, 0);
    markr_pg_array_int4(&b, 0x12345678);
    markr_pg_array_begin(&b, MARKR_PG_INT8, 0, 0);
    assert_false(b.failed);
    assert_int_equal(b.len, sizeof(want));
    assert_memory_equal(b.bytes, want, sizeof(want));
    free(b.bytes);
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

/* The lengths of a sheet composite's four columns at *at (-1: NULL), skipping their bytes. */
static void sheet_columns(const struct markr_pg_buffer *b, size_t *at, int32_t lengths[4])
{
    assert_int_equal(word(b, at), 4);
    for (int c = 0; c < 4; ++c) {
        (void)word(b, at); /* the column's type */
        lengths[c] = (int32_t)word(b, at);
        if (lengths[c] > 0)
            *at += (size_t)lengths[c];
    }
}

static struct markr_answer answer_of(const char *question, const char *response, uint32_t available)
{
    return (struct markr_answer){.question = question, .response = response, .question_len = (uint32_t)strlen(question),
                                 .response_len = (uint32_t)strlen(response), .awarded = 1, .available = available};
}

/* Marks 1 and 2 share the first sheet's questions and available marks, mark 3 has another
 * question, mark 4 another available mark: the shape holds the questions and available
 * marks alone; marks 1 and 2 send those two columns NULL, marks 3 and 4 all four. */
static void sheets_of_the_shape_leave_its_columns_to_it(void **state)
{
    struct markr_answer answers[4][2] = {
        {answer_of("q1", "A", 1), answer_of("q2", "B", 2)}, {answer_of("q1", "C", 1), answer_of("q2", "D", 2)},
        {answer_of("q1", "A", 1), answer_of("q9", "B", 2)}, {answer_of("q1", "A", 1), answer_of("q2", "B", 3)}};
    struct markr_result scans[4];
    struct markr_mark marks[4];
    struct markr_marks m = {.marks = marks, .count = 4};
    struct markr_pg_sheet_arrays a;
    struct markr_pg_buffer column, shape;
    struct markr_error err;
    int32_t lengths[4];
    size_t at;

    (void)state;
    for (int i = 0; i < 4; ++i) {
        scans[i] = (struct markr_result){.sheet = {.answers = answers[i], .count = 2, .total = 2}};
        marks[i] = (struct markr_mark){.sheet = &scans[i]};
    }
    assert_int_equal(markr_pg_sheet_arrays(&a, 12345, &m, &err), 0);
    shape = (struct markr_pg_buffer){.bytes = a.arrays[MARKR_PG_SHEET_SHAPE], .len = a.lengths[MARKR_PG_SHEET_SHAPE]};
    at = 0;
    assert_int_equal(word(&shape, &at), shape.len - 4); /* its length, which is not sent */
    sheet_columns(&shape, &at, lengths);
    assert_true(lengths[0] > 0 && lengths[3] > 0);
    assert_int_equal(lengths[1], -1);
    assert_int_equal(lengths[2], -1);
    assert_int_equal(at, shape.len);
    column = (struct markr_pg_buffer){.bytes = a.arrays[MARKR_PG_SHEET_COLUMN], .len = a.lengths[MARKR_PG_SHEET_COLUMN]};
    at = 5 * 4; /* the array's header */
    for (int i = 0; i < 4; ++i) {
        (void)word(&column, &at); /* the element's length */
        sheet_columns(&column, &at, lengths);
        assert_true(lengths[1] > 0 && lengths[2] > 0);
        if (i < 2) {
            assert_int_equal(lengths[0], -1);
            assert_int_equal(lengths[3], -1);
        } else {
            assert_true(lengths[0] > 0 && lengths[3] > 0);
        }
    }
    assert_int_equal(at, column.len);
    markr_pg_sheet_arrays_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(appends_keep_every_byte_as_the_buffer_grows),
        cmocka_unit_test(integers_are_big_endian_words),
        cmocka_unit_test(an_array_of_text_with_a_null),
        cmocka_unit_test(a_composite_element_has_its_lengths_filled_in),
        cmocka_unit_test(past_the_limit_the_buffer_fails_and_writes_nothing),
        cmocka_unit_test(sheets_of_the_shape_leave_its_columns_to_it),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
