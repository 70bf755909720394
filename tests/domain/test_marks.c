/*
 * Rule 2 within a document: one mark per (test, student), keeping the highest obtained and,
 * independently, the highest available; names from the last scan that carried one; ids
 * compared as opaque byte strings; marks and tests sorted in byte order, so that every
 * writer locks rows in the same order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "domain/document.h"

struct scan {
    const char *test_id;
    const char *student_number;
    const char *first_name; /* NULL: absent */
    const char *last_name;
    const char *available;
    const char *obtained;
};

struct fixture {
    struct markr_document doc;
    struct markr_marks marks;
};

static int setup(void **state)
{
    static struct fixture f;

    markr_document_init(&f.doc);
    memset(&f.marks, 0, sizeof(f.marks));
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    markr_marks_free(&f->marks);
    markr_document_free(&f->doc);
    return 0;
}

static void set_field(struct markr_raw_result *raw, enum markr_field field, const char *text)
{
    raw->text[field] = text;
    raw->len[field] = text != NULL ? strlen(text) : 0;
    raw->field_line[field] = text != NULL ? raw->line : 0;
}

/* Adds the scans to the document and computes its marks. */
static struct markr_marks *marks_of(struct fixture *f, const struct scan *scans, size_t n)
{
    struct markr_error err;

    for (size_t i = 0; i < n; ++i) {
        struct markr_raw_result raw;

        memset(&raw, 0, sizeof(raw));
        raw.line = 2 + 8 * i;
        set_field(&raw, MARKR_FIELD_TEST_ID, scans[i].test_id);
        set_field(&raw, MARKR_FIELD_STUDENT_NUMBER, scans[i].student_number);
        set_field(&raw, MARKR_FIELD_FIRST_NAME, scans[i].first_name);
        set_field(&raw, MARKR_FIELD_LAST_NAME, scans[i].last_name);
        set_field(&raw, MARKR_FIELD_AVAILABLE, scans[i].available);
        set_field(&raw, MARKR_FIELD_OBTAINED, scans[i].obtained);
        if (markr_document_add(&f->doc, &raw, &err) != 0)
            fail_msg("scan %zu refused: %s", i, err.message);
    }
    markr_error_clear(&err);
    assert_int_equal(markr_marks_from_document(&f->doc, &f->marks, &err), 0);
    assert_int_equal(err.code, MARKR_OK);
    return &f->marks;
}

static void assert_mark(const struct markr_mark *m, const char *test_id, const char *student, uint32_t obtained,
                        uint32_t available)
{
    assert_string_equal(m->test_id, test_id);
    assert_string_equal(m->student_number, student);
    assert_int_equal(m->obtained, obtained);
    assert_int_equal(m->available, available);
}

#define COUNT(a) (sizeof(a) / sizeof(*(a)))

static void single_result_gives_one_mark(void **state)
{
    const struct scan scans[] = {{"1234", "521585128", "Jane", "Austen", "20", "13"}};
    struct markr_marks *m = marks_of(*state, scans, COUNT(scans));

    assert_int_equal(m->count, 1);
    assert_mark(&m->marks[0], "1234", "521585128", 13, 20);
    assert_string_equal(m->marks[0].first_name, "Jane");
    assert_string_equal(m->marks[0].last_name, "Austen");
    assert_int_equal(m->students, 1);
    assert_int_equal(m->test_count, 1);
    assert_string_equal(m->tests[0], "1234");
}

static void duplicates_keep_highest_obtained_and_available_independently(void **state)
{
    const struct scan scans[] = {
        {"1234", "42", NULL, NULL, "20", "13"},
        {"1234", "42", NULL, NULL, "18", "15"},
    };
    struct markr_marks *m = marks_of(*state, scans, COUNT(scans));

    assert_int_equal(m->count, 1);
    assert_mark(&m->marks[0], "1234", "42", 15, 20);
    assert_int_equal(m->students, 1);
}

static void duplicates_in_any_order(void **state)
{
    /* The best of each figure arrives first, last and in the middle. */
    const struct scan scans[] = {
        {"T", "a", NULL, NULL, "30", "29"}, {"T", "a", NULL, NULL, "10", "1"}, {"T", "a", NULL, NULL, "10", "2"},
        {"T", "b", NULL, NULL, "10", "1"},  {"T", "b", NULL, NULL, "10", "2"}, {"T", "b", NULL, NULL, "40", "3"},
        {"T", "c", NULL, NULL, "5", "0"},   {"T", "c", NULL, NULL, "50", "0"}, {"T", "c", NULL, NULL, "6", "6"},
    };
    struct markr_marks *m = marks_of(*state, scans, COUNT(scans));

    assert_int_equal(m->count, 3);
    assert_mark(&m->marks[0], "T", "a", 29, 30);
    assert_mark(&m->marks[1], "T", "b", 3, 40);
    assert_mark(&m->marks[2], "T", "c", 6, 50);
    assert_int_equal(m->students, 3);
}

static void interleaved_duplicates_merge_per_pair(void **state)
{
    const struct scan scans[] = {
        {"A", "s1", NULL, NULL, "10", "5"}, {"B", "s1", NULL, NULL, "10", "9"}, {"A", "s2", NULL, NULL, "10", "1"},
        {"A", "s1", NULL, NULL, "10", "7"}, {"B", "s1", NULL, NULL, "12", "2"},
    };
    struct markr_marks *m = marks_of(*state, scans, COUNT(scans));

    assert_int_equal(m->count, 3);
    assert_mark(&m->marks[0], "A", "s1", 7, 10);
    assert_mark(&m->marks[1], "A", "s2", 1, 10);
    assert_mark(&m->marks[2], "B", "s1", 9, 12);
    assert_int_equal(m->students, 2);
    assert_int_equal(m->test_count, 2);
    assert_string_equal(m->tests[0], "A");
    assert_string_equal(m->tests[1], "B");
}

static void names_come_from_the_last_scan_that_carried_one(void **state)
{
    const struct scan scans[] = {
        {"1", "7", "Jane", "Austen", "20", "10"},
        {"1", "7", "Janet", NULL, "20", "11"},
        {"1", "7", NULL, NULL, "20", "12"},
        {"1", "8", NULL, NULL, "20", "12"},
        {"1", "9", "  ", "Brontë", "20", "12"}, /* an empty name is no name */
        {"1", "9", "Emily", "", "20", "12"},
    };
    struct markr_marks *m = marks_of(*state, scans, COUNT(scans));

    assert_int_equal(m->count, 3);
    assert_string_equal(m->marks[0].first_name, "Janet");
    assert_string_equal(m->marks[0].last_name, "Austen");
    assert_null(m->marks[1].first_name);
    assert_null(m->marks[1].last_name);
    assert_string_equal(m->marks[2].first_name, "Emily");
    assert_string_equal(m->marks[2].last_name, "Brontë");
}

static void leading_zeros_make_different_students(void **state)
{
    const struct scan scans[] = {
        {"9863", "002299", NULL, NULL, "20", "5"},
        {"9863", "2299", NULL, NULL, "20", "15"},
        {"09863", "2299", NULL, NULL, "20", "10"},
    };
    struct markr_marks *m = marks_of(*state, scans, COUNT(scans));

    assert_int_equal(m->count, 3);
    assert_mark(&m->marks[0], "09863", "2299", 10, 20);
    assert_mark(&m->marks[1], "9863", "002299", 5, 20);
    assert_mark(&m->marks[2], "9863", "2299", 15, 20);
    assert_int_equal(m->students, 2);
    assert_int_equal(m->test_count, 2);
    assert_string_equal(m->tests[0], "09863");
    assert_string_equal(m->tests[1], "9863");
}

static void marks_sorted_by_test_then_student_in_byte_order(void **state)
{
    const struct scan scans[] = {
        {"b", "2", NULL, NULL, "1", "1"},  {"a", "b", NULL, NULL, "1", "1"},
        {"\xc3\xa9", "1", NULL, NULL, "1", "1"}, /* é: byte 0xc3 sorts after every ASCII byte */
        {"B", "1", NULL, NULL, "1", "1"},  {"10", "1", NULL, NULL, "1", "1"}, {"9", "1", NULL, NULL, "1", "1"},
        {"a", "B", NULL, NULL, "1", "1"},  {"a", "10", NULL, NULL, "1", "1"}, {"a", "9", NULL, NULL, "1", "1"},
        {"a", "a", NULL, NULL, "1", "1"},  {"b", "10", NULL, NULL, "1", "1"},
    };
    const char *const expected[][2] = {
        {"10", "1"}, {"9", "1"}, {"B", "1"}, {"a", "10"}, {"a", "9"}, {"a", "B"},
        {"a", "a"},  {"a", "b"}, {"b", "10"}, {"b", "2"}, {"\xc3\xa9", "1"},
    };
    const char *const tests[] = {"10", "9", "B", "a", "b", "\xc3\xa9"};
    struct markr_marks *m = marks_of(*state, scans, COUNT(scans));

    assert_int_equal(m->count, COUNT(expected));
    for (size_t i = 0; i < COUNT(expected); ++i) {
        assert_string_equal(m->marks[i].test_id, expected[i][0]);
        assert_string_equal(m->marks[i].student_number, expected[i][1]);
    }
    assert_int_equal(m->test_count, COUNT(tests));
    for (size_t i = 0; i < COUNT(tests); ++i)
        assert_string_equal(m->tests[i], tests[i]);
    /* Distinct student numbers across tests: 1, 2, 10, 9, B, a, b. */
    assert_int_equal(m->students, 7);
}

static void students_are_counted_once_across_tests(void **state)
{
    const struct scan scans[] = {
        {"maths", "1", NULL, NULL, "10", "1"},   {"physics", "1", NULL, NULL, "10", "1"},
        {"history", "1", NULL, NULL, "10", "1"}, {"maths", "2", NULL, NULL, "10", "1"},
        {"maths", "2", NULL, NULL, "10", "1"},
    };
    struct markr_marks *m = marks_of(*state, scans, COUNT(scans));

    assert_int_equal(m->count, 4);
    assert_int_equal(m->students, 2);
    assert_int_equal(m->test_count, 3);
    assert_string_equal(m->tests[0], "history");
    assert_string_equal(m->tests[1], "maths");
    assert_string_equal(m->tests[2], "physics");
}

static void many_scans_of_many_students(void **state)
{
    static char numbers[500][8];
    static struct scan scans[1500];
    struct markr_marks *m;

    /* Three scans per student, the best obtained in the second and the best available in
     * the third; students given in descending order. */
    for (size_t i = 0; i < 500; ++i) {
        snprintf(numbers[i], sizeof(numbers[i]), "%04zu", 499 - i);
        scans[3 * i] = (struct scan){"t", numbers[i], NULL, NULL, "50", "10"};
        scans[3 * i + 1] = (struct scan){"t", numbers[i], NULL, NULL, "50", "40"};
        scans[3 * i + 2] = (struct scan){"t", numbers[i], NULL, NULL, "60", "20"};
    }
    m = marks_of(*state, scans, COUNT(scans));
    assert_int_equal(m->count, 500);
    assert_int_equal(m->students, 500);
    for (size_t i = 0; i < 500; ++i) {
        char expected[8];

        snprintf(expected, sizeof(expected), "%04zu", i);
        assert_mark(&m->marks[i], "t", expected, 40, 60);
    }
}

static void empty_document_gives_no_marks(void **state)
{
    struct fixture *f = *state;
    struct markr_error err;

    markr_error_clear(&err);
    assert_int_equal(markr_marks_from_document(&f->doc, &f->marks, &err), 0);
    assert_int_equal(f->marks.count, 0);
    assert_int_equal(f->marks.students, 0);
    assert_int_equal(f->marks.test_count, 0);
}

static void marks_free_is_idempotent(void **state)
{
    const struct scan scans[] = {{"1", "1", NULL, NULL, "1", "1"}};
    struct markr_marks *m = marks_of(*state, scans, COUNT(scans));

    markr_marks_free(m);
    assert_null(m->marks);
    assert_null(m->tests);
    assert_int_equal(m->count, 0);
    assert_int_equal(m->test_count, 0);
    markr_marks_free(m);
}

#define MARKS_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        MARKS_TEST(single_result_gives_one_mark),
        MARKS_TEST(duplicates_keep_highest_obtained_and_available_independently),
        MARKS_TEST(duplicates_in_any_order),
        MARKS_TEST(interleaved_duplicates_merge_per_pair),
        MARKS_TEST(names_come_from_the_last_scan_that_carried_one),
        MARKS_TEST(leading_zeros_make_different_students),
        MARKS_TEST(marks_sorted_by_test_then_student_in_byte_order),
        MARKS_TEST(students_are_counted_once_across_tests),
        MARKS_TEST(many_scans_of_many_students),
        MARKS_TEST(empty_document_gives_no_marks),
        MARKS_TEST(marks_free_is_idempotent),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
