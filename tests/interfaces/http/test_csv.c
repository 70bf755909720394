/*
 * CSV encoding alone (csv.h): RFC 4180 quoting, the formula prefix of text cells, numbers
 * as markr prints them, rows and headers, and a buffer that grows past its first size.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "interfaces/http/csv.h"

/* One row of one text cell, as text (static). */
static const char *cell(const char *text, size_t len)
{
    static char out[256];
    struct markr_csv csv;

    markr_csv_init(&csv);
    markr_csv_text(&csv, text, len);
    assert_false(csv.failed);
    assert_true(csv.len < sizeof(out));
    memcpy(out, csv.text != NULL ? csv.text : "", csv.len);
    out[csv.len] = '\0';
    markr_csv_free(&csv);
    return out;
}

#define CELL(s) cell(s, sizeof(s) - 1)

static void plain_text_stays_as_it_is(void **state)
{
    assert_string_equal(CELL("Austen"), "Austen");
    assert_string_equal(CELL(""), "");
    assert_string_equal(CELL("Zoë Ødegaard"), "Zoë Ødegaard");
    assert_string_equal(CELL("it's"), "it's");
    assert_string_equal(CELL("a=b"), "a=b"); /* only a leading sign makes a formula */
}

static void separators_quotes_and_line_breaks_are_quoted(void **state)
{
    assert_string_equal(CELL("Austen, Jane"), "\"Austen, Jane\"");
    assert_string_equal(CELL("say \"hi\""), "\"say \"\"hi\"\"\"");
    assert_string_equal(CELL("\""), "\"\"\"\"");
    assert_string_equal(CELL("two\nlines"), "\"two\nlines\"");
    assert_string_equal(CELL("cr\rhere"), "\"cr\rhere\"");
    assert_string_equal(CELL("a\r\nb"), "\"a\r\nb\"");
}

static void formulas_are_shown_never_run(void **state)
{
    assert_string_equal(CELL("=1+2"), "'=1+2");
    assert_string_equal(CELL("+61 2 9999"), "'+61 2 9999");
    assert_string_equal(CELL("-5"), "'-5");
    assert_string_equal(CELL("@SUM(A1:A9)"), "'@SUM(A1:A9)");
    assert_string_equal(CELL("\tx"), "'\tx");
    /* Prefixed and quoted: the prefix goes inside the quotes. */
    assert_string_equal(CELL("\rx"), "\"'\rx\"");
    assert_string_equal(CELL("=HYPERLINK(\"http://x\",\"y\")"), "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
    assert_string_equal(CELL("=a,b"), "\"'=a,b\"");
}

static void bytes_are_bounded_by_len(void **state)
{
    assert_string_equal(cell("abc,def", 3), "abc");
    {
        struct markr_csv csv;

        markr_csv_init(&csv);
        markr_csv_text(&csv, "a\0b", 3); /* a NUL is a byte like any other */
        assert_int_equal(csv.len, 3);
        assert_memory_equal(csv.text, "a\0b", 3);
        markr_csv_free(&csv);
    }
}

static void rows_numbers_and_headers(void **state)
{
    static const char *const header[] = {"student_number", "first_name", "obtained", "percent", NULL};
    struct markr_csv csv;
    size_t len;
    char *text;

    markr_csv_init(&csv);
    markr_csv_header(&csv, header);
    markr_csv_string(&csv, "002299");
    markr_csv_string(&csv, NULL); /* a name never received: an empty cell */
    markr_csv_int(&csv, -3);      /* numbers are never prefixed */
    markr_csv_number(&csv, 200.0 / 3);
    markr_csv_end_row(&csv);
    markr_csv_string(&csv, "2300");
    markr_csv_string(&csv, "KJ");
    markr_csv_uint(&csv, 20);
    markr_csv_number(&csv, 100);
    markr_csv_end_row(&csv);
    text = markr_csv_take(&csv, &len);
    assert_non_null(text);
    assert_memory_equal(text,
                        "student_number,first_name,obtained,percent\r\n"
                        "002299,,-3,66.6666666666667\r\n"
                        "2300,KJ,20,100\r\n",
                        len);
    assert_int_equal(len, strlen("student_number,first_name,obtained,percent\r\n002299,,-3,66.6666666666667\r\n"
                                 "2300,KJ,20,100\r\n"));
    free(text);
    assert_null(csv.text);
    assert_int_equal(csv.len, 0);
    markr_csv_free(&csv);
}

static void the_buffer_grows(void **state)
{
    struct markr_csv csv;

    markr_csv_init(&csv);
    for (int i = 0; i < 20000; ++i) {
        markr_csv_string(&csv, "a cell, quoted");
        markr_csv_end_row(&csv);
    }
    assert_false(csv.failed);
    assert_int_equal(csv.len, 20000 * strlen("\"a cell, quoted\"\r\n"));
    assert_memory_equal(csv.text + csv.len - 18, "\"a cell, quoted\"\r\n", 18);
    markr_csv_free(&csv);
    assert_null(csv.text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_text_stays_as_it_is),
        cmocka_unit_test(separators_quotes_and_line_breaks_are_quoted),
        cmocka_unit_test(formulas_are_shown_never_run),
        cmocka_unit_test(bytes_are_bounded_by_len),
        cmocka_unit_test(rows_numbers_and_headers),
        cmocka_unit_test(the_buffer_grows),
    };

    return cmocka_run_group_tests_name("http_csv", tests, NULL, NULL);
}
