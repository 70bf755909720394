/*
 * Field rules of one result (rule 1): XML white space is trimmed and nothing else, and a
 * mark is a plain decimal integer that fits a signed 32-bit SQL `integer`. Inputs are
 * pointer and length, never assumed NUL-terminated. Short values are copied exactly
 * (markr_copy).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "domain/copy.h"
#include "domain/result.h"

/* Trims text (a C string) and checks what is left. */
static void check_trim(const char *text, const char *expected)
{
    const char *p = text;
    size_t len = strlen(text);

    markr_trim(&p, &len);
    assert_int_equal(len, strlen(expected));
    assert_memory_equal(p, expected, len);
    /* Trimming moves the pointer inside the same buffer, it never copies. */
    assert_true(p >= text && p + len <= text + strlen(text));
}

static void trim_removes_xml_white_space_only(void **state)
{
    check_trim("1234", "1234");
    check_trim("  1234  ", "1234");
    check_trim("\t\r\n 1234\n\r\t ", "1234");
    check_trim("  a b  ", "a b"); /* inner space is data */
    check_trim("", "");
    check_trim(" \t\r\n", "");
    /* Vertical tab, form feed and a non-breaking space are not XML white space. */
    check_trim("\v1\f", "\v1\f");
    check_trim("\xc2\xa0" "1", "\xc2\xa0" "1");
}

static void trim_respects_length(void **state)
{
    const char buf[] = "  12  XYZ";
    const char *p = buf;
    size_t len = 6; /* "  12  ": the bytes after it are not part of the text */

    markr_trim(&p, &len);
    assert_ptr_equal(p, buf + 2);
    assert_int_equal(len, 2);

    p = NULL;
    len = 0;
    markr_trim(&p, &len);
    assert_null(p);
    assert_int_equal(len, 0);
}

/* Parses text (a C string) as a mark and expects success with value. */
static void check_mark(const char *text, uint32_t value)
{
    uint32_t out = 0xdeadbeef;

    if (markr_parse_mark(text, strlen(text), &out) != 0)
        fail_msg("\"%s\" was refused, expected %u", text, (unsigned)value);
    assert_int_equal(out, value);
}

/* Parses len bytes of text (NULL when len is 0) as a mark and expects refusal, with *out
 * untouched. */
static void check_refused(const char *text, size_t len)
{
    uint32_t out = 0xdeadbeef;

    if (markr_parse_mark(text, len, &out) == 0)
        fail_msg("\"%.*s\" was accepted as %u", (int)len, text != NULL ? text : "", (unsigned)out);
    assert_int_equal(out, 0xdeadbeef);
}

static void parse_mark_accepts_decimal_integers(void **state)
{
    check_mark("0", 0);
    check_mark("13", 13);
    check_mark("007", 7);
    check_mark("000", 0);
    check_mark("2147483647", 2147483647u);
    check_mark("0000000000002147483647", 2147483647u); /* leading zeros do not overflow */
    check_mark(" 20 ", 20);
    check_mark("\n\t20\r\n", 20);
}

static void parse_mark_refuses_everything_else(void **state)
{
    const char *const refused[] = {
        "2147483648", /* INT32_MAX + 1 */
        "4294967295", "4294967296", "99999999999999999999999999", "",     "  ",  "\n",   "-1",
        "+1",         "-0",         "1.0",                        "1 2",  "0x10", "1e3", "abc", "1a",
        "a1",         "\xc2\xa0\x31", /* NO-BREAK SPACE, then 1 */
        "\xd9\xa1", /* ARABIC-INDIC DIGIT ONE */
    };

    for (size_t i = 0; i < sizeof(refused) / sizeof(*refused); ++i)
        check_refused(refused[i], strlen(refused[i]));
}

static void parse_mark_respects_length(void **state)
{
    uint32_t out = 0;

    /* Only the first two bytes are the text. */
    assert_int_equal(markr_parse_mark("12345", 2, &out), 0);
    assert_int_equal(out, 12);
    /* An embedded NUL is not a digit. */
    check_refused("1\0" "2", 3);
    check_refused("12", 0);
    check_refused(NULL, 0);
}

static void field_names_are_the_xml_names(void **state)
{
    assert_string_equal(markr_field_name(MARKR_FIELD_TEST_ID), "test-id");
    assert_string_equal(markr_field_name(MARKR_FIELD_STUDENT_NUMBER), "student-number");
    assert_string_equal(markr_field_name(MARKR_FIELD_FIRST_NAME), "first-name");
    assert_string_equal(markr_field_name(MARKR_FIELD_LAST_NAME), "last-name");
    assert_string_equal(markr_field_name(MARKR_FIELD_AVAILABLE), "summary-marks/@available");
    assert_string_equal(markr_field_name(MARKR_FIELD_OBTAINED), "summary-marks/@obtained");
}

/* markr_copy copies exactly n bytes for every n around its steps (0, 1, 2-3, 4-7, 8-16,
 * past 16), from and to every alignment, and writes nothing around them. */
static void copy_writes_exactly_n_bytes(void **state)
{
    unsigned char src[64], dst[80], want[80];

    (void)state;
    for (size_t i = 0; i < sizeof(src); ++i)
        src[i] = (unsigned char)(i * 7 + 1);
    for (size_t n = 0; n <= 40; ++n)
        for (size_t from = 0; from < 8; ++from)
            for (size_t to = 0; to < 8; ++to) {
                memset(dst, 0xEE, sizeof(dst));
                memcpy(want, dst, sizeof(want));
                memcpy(want + 8 + to, src + from, n);
                markr_copy(dst + 8 + to, src + from, n);
                assert_memory_equal(dst, want, sizeof(dst));
            }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(trim_removes_xml_white_space_only),
        cmocka_unit_test(trim_respects_length),
        cmocka_unit_test(parse_mark_accepts_decimal_integers),
        cmocka_unit_test(parse_mark_refuses_everything_else),
        cmocka_unit_test(parse_mark_respects_length),
        cmocka_unit_test(field_names_are_the_xml_names),
        cmocka_unit_test(copy_writes_exactly_n_bytes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
