/*
 * Answers for item analysis: which are valid (a trimmed, non-empty question; decimal marks
 * with awarded <= available; bounded text), a repeated question keeping its last
 * occurrence, the order of questions, and the kept sheet of a pair (the scan of the highest
 * obtained, the later one among equals) next to rule 2.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "domain/answers.h"
#include "domain/document.h"

static struct markr_raw_answer raw(const char *q, const char *av, const char *aw, const char *r)
{
    return (struct markr_raw_answer){.question = q, .question_len = q != NULL ? strlen(q) : 0,
                                     .available = av, .available_len = av != NULL ? strlen(av) : 0,
                                     .awarded = aw, .awarded_len = aw != NULL ? strlen(aw) : 0,
                                     .response = r, .response_len = strlen(r)};
}

static void invalid_answers_are_left_out(void **state)
{
    char long_text[300];
    struct markr_answer_sheet sheet;

    memset(long_text, 'x', sizeof(long_text) - 1);
    long_text[sizeof(long_text) - 1] = '\0';
    struct markr_raw_answer in[] = {
        raw(NULL, "1", "1", "A"),      raw("  ", "1", "1", "A"),        raw("1", NULL, "1", "A"),
        raw("2", "1", NULL, "A"),      raw("3", "1", "2", "A"),         raw("4", "-1", "0", "A"),
        raw("5", "1.0", "1", "A"),     raw("6", "1", "x", "A"),         raw("7", "2147483648", "0", "A"),
        raw(long_text, "1", "1", "A"), raw("8", "1", "1", long_text), raw(" 9 ", " 2 ", "\t1\n", "  B \n"),
    };

    assert_int_equal(markr_answer_sheet_build(in, sizeof(in) / sizeof(in[0]), &sheet), 0);
    assert_int_equal(sheet.count, 1);
    assert_string_equal(sheet.answers[0].question, "9");
    assert_string_equal(sheet.answers[0].response, "B");
    assert_int_equal(sheet.answers[0].available, 2);
    assert_int_equal(sheet.answers[0].awarded, 1);
    markr_answer_sheet_free(&sheet);
}

static void a_repeated_question_keeps_its_last_occurrence_and_blanks_count(void **state)
{
    struct markr_raw_answer in[] = {raw("2", "1", "0", "A"), raw("1", "1", "1", "C"), raw("2", "1", "1", "B"),
                                    raw("3", "2", "0", "   ")};
    struct markr_raw_answer too_long = raw("4", "1", "1", "A");
    struct markr_answer_sheet sheet;

    assert_int_equal(markr_answer_sheet_build(in, 4, &sheet), 0);
    assert_int_equal(sheet.count, 3);
    assert_string_equal(sheet.answers[0].question, "1");
    assert_string_equal(sheet.answers[1].question, "2");
    assert_string_equal(sheet.answers[1].response, "B");
    assert_int_equal(sheet.answers[1].awarded, 1);
    assert_string_equal(sheet.answers[2].response, ""); /* a blank */
    markr_answer_sheet_free(&sheet);
    too_long.too_long = 1;
    assert_int_equal(markr_answer_sheet_build(&too_long, 1, &sheet), 0);
    assert_int_equal(sheet.count, 0);
    assert_null(sheet.answers);
}

/* Sheets of every size up to 130 answers, questions repeated in a scrambled order: each
 * keeps, per question in the order of questions (markr_question_compare), its last valid
 * occurrence. The expected sheet is worked out here the slow way. */
static void sheets_of_every_size_keep_the_last_occurrence_of_each_question_in_order(void **state)
{
    static const char *const questions[] = {"10", "2", "1", "q", "10a", "3", "20", "0", "b", "11", "a", "9", "01"};
    enum { POOL = sizeof(questions) / sizeof(questions[0]), MOST = 130 };
    static char responses[MOST][8];
    struct markr_raw_answer in[MOST];

    for (size_t i = 0; i < MOST; ++i) {
        snprintf(responses[i], sizeof(responses[i]), "r%zu", i);
        /* A question of the pool in a scrambled order; every seventh answer is invalid. */
        in[i] = raw(questions[(i * 7 + i / 5) % POOL], "1", i % 7 == 3 ? "2" : "1", responses[i]);
    }
    for (size_t n = 1; n <= MOST; ++n) {
        const char *want_q[POOL], *want_r[POOL];
        size_t want = 0;
        struct markr_answer_sheet sheet;

        /* The questions present, in order, each with the response of its last valid
         * occurrence. */
        for (size_t i = 0; i < n; ++i) {
            size_t at = 0;

            if (i % 7 == 3)
                continue;
            while (at < want && markr_question_compare(want_q[at], in[i].question) < 0)
                ++at;
            if (at < want && strcmp(want_q[at], in[i].question) == 0) {
                want_r[at] = in[i].response;
                continue;
            }
            memmove(&want_q[at + 1], &want_q[at], (want - at) * sizeof(want_q[0]));
            memmove(&want_r[at + 1], &want_r[at], (want - at) * sizeof(want_r[0]));
            want_q[at] = in[i].question;
            want_r[at] = in[i].response;
            ++want;
        }
        assert_int_equal(markr_answer_sheet_build(in, n, &sheet), 0);
        assert_int_equal(sheet.count, want);
        for (size_t k = 0; k < want; ++k) {
            assert_string_equal(sheet.answers[k].question, want_q[k]);
            assert_string_equal(sheet.answers[k].response, want_r[k]);
            assert_int_equal(sheet.answers[k].question_len, strlen(want_q[k]));
            assert_int_equal(sheet.answers[k].response_len, strlen(want_r[k]));
        }
        markr_answer_sheet_free(&sheet);
    }
}

/* A paper lists its questions in order, each once: the sheet keeps that order as it is. A
 * sheet in order but with a question repeated keeps that question's last occurrence, and
 * one with "07" after "7" puts it first (equal values: byte order). */
static void sheets_already_in_order_and_nearly_so(void **state)
{
    static const char *const want[] = {"1", "2", "3", "9", "10", "11", "20", "q"};
    struct markr_raw_answer in[8];
    struct markr_answer_sheet sheet;

    (void)state;
    for (size_t i = 0; i < 8; ++i)
        in[i] = raw(want[i], "1", "1", want[i]);
    assert_int_equal(markr_answer_sheet_build(in, 8, &sheet), 0);
    assert_int_equal(sheet.count, 8);
    for (size_t i = 0; i < 8; ++i)
        assert_string_equal(sheet.answers[i].question, want[i]);
    markr_answer_sheet_free(&sheet);

    in[3] = raw("3", "1", "0", "last");
    assert_int_equal(markr_answer_sheet_build(in, 4, &sheet), 0);
    assert_int_equal(sheet.count, 3);
    assert_string_equal(sheet.answers[2].question, "3");
    assert_string_equal(sheet.answers[2].response, "last");
    assert_int_equal(sheet.total, 2);
    markr_answer_sheet_free(&sheet);

    in[0] = raw("7", "1", "1", "A");
    in[1] = raw("07", "1", "1", "B");
    assert_int_equal(markr_answer_sheet_build(in, 2, &sheet), 0);
    assert_int_equal(sheet.count, 2);
    assert_string_equal(sheet.answers[0].question, "07");
    assert_string_equal(sheet.answers[1].question, "7");
    markr_answer_sheet_free(&sheet);
}

/* A sheet in order with a question repeated, then out of order: the occurrence dropped while
 * the sheet was in order is one a later occurrence replaces, and the rest is sorted with the
 * last occurrence of each question kept, whichever part of the sheet it was in. */
static void a_repeat_before_the_first_answer_out_of_order(void **state)
{
    static const char *const want_q[] = {"0", "1", "2", "3"}, *const want_r[] = {"E", "A", "F", "D"};
    struct markr_raw_answer in[] = {raw("1", "1", "1", "A"), raw("2", "1", "1", "B"), raw("2", "1", "0", "C"),
                                    raw("3", "1", "1", "D"), raw("0", "1", "1", "E"), raw("2", "2", "2", "F")};
    struct markr_answer_sheet sheet;

    (void)state;
    assert_int_equal(markr_answer_sheet_build(in, 6, &sheet), 0);
    assert_int_equal(sheet.count, 4);
    for (size_t i = 0; i < 4; ++i) {
        assert_string_equal(sheet.answers[i].question, want_q[i]);
        assert_string_equal(sheet.answers[i].response, want_r[i]);
    }
    assert_int_equal(sheet.total, 5);
    assert_int_equal(sheet.question_bytes, 4);
    assert_int_equal(sheet.response_bytes, 4);
    markr_answer_sheet_free(&sheet);

    /* The same without the last answer: the occurrence kept is the one of the ordered part. */
    assert_int_equal(markr_answer_sheet_build(in, 5, &sheet), 0);
    assert_int_equal(sheet.count, 4);
    assert_string_equal(sheet.answers[2].question, "2");
    assert_string_equal(sheet.answers[2].response, "C");
    assert_int_equal(sheet.total, 3);
    markr_answer_sheet_free(&sheet);
}

static void questions_sort_numerically_then_in_byte_order(void **state)
{
    assert_true(markr_question_compare("2", "10") < 0);
    assert_true(markr_question_compare("10", "9") > 0);
    assert_true(markr_question_compare("7", "07") > 0); /* equal values: byte order */
    assert_true(markr_question_compare("007", "7") < 0);
    assert_true(markr_question_compare("99999999999999999999", "a") < 0);
    assert_true(markr_question_compare("Q1", "Q10") < 0);
    assert_true(markr_question_compare("b", "a") > 0);
    assert_int_equal(markr_question_compare("3", "3"), 0);
}

static void add(struct markr_document *doc, const char *student, const char *obtained,
                const struct markr_raw_answer *answers, size_t n)
{
    struct markr_raw_result r = {.line = 1};
    struct markr_error err;

    r.text[MARKR_FIELD_TEST_ID] = "t";
    r.len[MARKR_FIELD_TEST_ID] = 1;
    r.text[MARKR_FIELD_STUDENT_NUMBER] = student;
    r.len[MARKR_FIELD_STUDENT_NUMBER] = strlen(student);
    r.text[MARKR_FIELD_AVAILABLE] = "20";
    r.len[MARKR_FIELD_AVAILABLE] = 2;
    r.text[MARKR_FIELD_OBTAINED] = obtained;
    r.len[MARKR_FIELD_OBTAINED] = strlen(obtained);
    r.answers = answers;
    r.answer_count = n;
    assert_int_equal(markr_document_add(doc, &r, &err), 0);
}

static void the_kept_sheet_is_the_highest_obtained_and_the_last_among_equals(void **state)
{
    struct markr_raw_answer a = raw("1", "1", "1", "A"), b = raw("1", "1", "0", "B"), c = raw("1", "1", "1", "C");
    struct markr_document doc;
    struct markr_marks marks;
    struct markr_error err;

    markr_document_init(&doc);
    add(&doc, "s1", "5", &a, 1);
    add(&doc, "s1", "7", &b, 1); /* higher: kept */
    add(&doc, "s1", "6", &c, 1);
    add(&doc, "s2", "5", &a, 1);
    add(&doc, "s2", "5", &c, 1); /* equal, later: kept */
    add(&doc, "s3", "9", NULL, 0);
    add(&doc, "s3", "3", &a, 1); /* lower: the kept scan has no answers */
    assert_int_equal(markr_marks_from_document(&doc, &marks, &err), 0);
    assert_int_equal(marks.count, 3);
    assert_string_equal(marks.marks[0].sheet->sheet.answers[0].response, "B");
    assert_int_equal(marks.marks[0].sheet->obtained, 7);
    assert_string_equal(marks.marks[1].sheet->sheet.answers[0].response, "C");
    assert_int_equal(marks.marks[2].sheet->obtained, 9);
    assert_int_equal(marks.marks[2].sheet->sheet.count, 0);
    markr_marks_free(&marks);
    markr_document_free(&doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(invalid_answers_are_left_out),
        cmocka_unit_test(a_repeated_question_keeps_its_last_occurrence_and_blanks_count),
        cmocka_unit_test(sheets_of_every_size_keep_the_last_occurrence_of_each_question_in_order),
        cmocka_unit_test(sheets_already_in_order_and_nearly_so),
        cmocka_unit_test(a_repeat_before_the_first_answer_out_of_order),
        cmocka_unit_test(questions_sort_numerically_then_in_byte_order),
        cmocka_unit_test(the_kept_sheet_is_the_highest_obtained_and_the_last_among_equals),
    };

    return cmocka_run_group_tests_name("domain_answers", tests, NULL, NULL);
}
