/*
 * Rule 1 on a document: every way a result is refused (with the reason, the 1-based result
 * index, the line and the field a person needs to fix the paper), what an accepted result
 * keeps (trimmed text, optional names, opaque ids), and the refusal of an empty document.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "domain/document.h"

/* Lines of a result as the fixture lays it out. */
#define LINE_RESULT 10
#define LINE_FIRST 11
#define LINE_LAST 12
#define LINE_STUDENT 13
#define LINE_TEST 14
#define LINE_MARKS 15

static void set_field(struct markr_raw_result *raw, enum markr_field field, const char *text, unsigned long line)
{
    raw->text[field] = text;
    raw->len[field] = text != NULL ? strlen(text) : 0;
    raw->field_line[field] = text != NULL ? line : 0;
}

/* Jane Austen's result from the brief. */
static struct markr_raw_result jane(void)
{
    struct markr_raw_result raw;

    memset(&raw, 0, sizeof(raw));
    raw.line = LINE_RESULT;
    set_field(&raw, MARKR_FIELD_FIRST_NAME, "Jane", LINE_FIRST);
    set_field(&raw, MARKR_FIELD_LAST_NAME, "Austen", LINE_LAST);
    set_field(&raw, MARKR_FIELD_STUDENT_NUMBER, "521585128", LINE_STUDENT);
    set_field(&raw, MARKR_FIELD_TEST_ID, "1234", LINE_TEST);
    set_field(&raw, MARKR_FIELD_AVAILABLE, "20", LINE_MARKS);
    set_field(&raw, MARKR_FIELD_OBTAINED, "13", LINE_MARKS);
    return raw;
}

static int setup_doc(void **state)
{
    static struct markr_document doc;

    markr_document_init(&doc);
    *state = &doc;
    return 0;
}

static int teardown_doc(void **state)
{
    markr_document_free(*state);
    return 0;
}

/* Adds `accepted` more valid results, then bad; expects the refusal of the result after them
 * (1-based) with reason, line and field, and a document left as it was. */
static void expect_refusal(struct markr_document *doc, size_t accepted, const struct markr_raw_result *bad,
                           const char *reason, unsigned long line, const char *field)
{
    struct markr_raw_result good = jane();
    struct markr_error err;
    char where[64];
    size_t before = doc->count;

    for (size_t i = 0; i < accepted; ++i) {
        markr_error_clear(&err);
        assert_int_equal(markr_document_add(doc, &good, &err), 0);
        assert_int_equal(err.code, MARKR_OK);
    }
    markr_error_clear(&err);
    assert_int_equal(markr_document_add(doc, bad, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_INVALID);
    assert_string_equal(err.reason, reason);
    assert_int_equal(err.result_index, before + accepted + 1);
    assert_int_equal(err.line, line);
    assert_string_equal(err.field, field);
    /* The sentence names the place too, for the person re-typing the paper. */
    assert_non_null(strstr(err.message, field));
    snprintf(where, sizeof(where), "line %lu", line);
    assert_non_null(strstr(err.message, where));
    assert_int_equal(doc->count, before + accepted);
}

/* --- refusals ------------------------------------------------------------------------- */

static void refuses_missing_student_number(void **state)
{
    struct markr_raw_result raw = jane();

    set_field(&raw, MARKR_FIELD_STUDENT_NUMBER, NULL, 0);
    expect_refusal(*state, 2, &raw, "missing_field", LINE_RESULT, "student-number");
}

static void refuses_missing_test_id(void **state)
{
    struct markr_raw_result raw = jane();

    set_field(&raw, MARKR_FIELD_TEST_ID, NULL, 0);
    expect_refusal(*state, 0, &raw, "missing_field", LINE_RESULT, "test-id");
}

static void refuses_fields_empty_after_trimming(void **state)
{
    struct markr_raw_result raw = jane();

    set_field(&raw, MARKR_FIELD_STUDENT_NUMBER, " \n\t\r ", LINE_STUDENT);
    expect_refusal(*state, 1, &raw, "missing_field", LINE_STUDENT, "student-number");

    raw = jane();
    set_field(&raw, MARKR_FIELD_TEST_ID, "", LINE_TEST);
    expect_refusal(*state, 0, &raw, "missing_field", LINE_TEST, "test-id");

    raw = jane();
    set_field(&raw, MARKR_FIELD_AVAILABLE, "  ", LINE_MARKS);
    expect_refusal(*state, 0, &raw, "missing_field", LINE_MARKS, "summary-marks/@available");

    raw = jane();
    set_field(&raw, MARKR_FIELD_OBTAINED, "", LINE_MARKS);
    expect_refusal(*state, 0, &raw, "missing_field", LINE_MARKS, "summary-marks/@obtained");
}

static void refuses_missing_summary_marks(void **state)
{
    struct markr_raw_result raw = jane();

    set_field(&raw, MARKR_FIELD_AVAILABLE, NULL, 0);
    set_field(&raw, MARKR_FIELD_OBTAINED, NULL, 0);
    expect_refusal(*state, 3, &raw, "missing_field", LINE_RESULT, "summary-marks");
}

static void refuses_missing_available_alone(void **state)
{
    struct markr_raw_result raw = jane();

    set_field(&raw, MARKR_FIELD_AVAILABLE, NULL, 0);
    expect_refusal(*state, 1, &raw, "missing_field", LINE_RESULT, "summary-marks/@available");
}

static void refuses_missing_obtained_alone(void **state)
{
    struct markr_raw_result raw = jane();

    set_field(&raw, MARKR_FIELD_OBTAINED, NULL, 0);
    expect_refusal(*state, 1, &raw, "missing_field", LINE_RESULT, "summary-marks/@obtained");
}

static void refuses_marks_that_are_not_integers(void **state)
{
    const char *const bad[] = {"abc", "-1", "+1", "1.0", "1 2", "0x10", "2147483648"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); ++i) {
        struct markr_raw_result raw = jane();

        set_field(&raw, MARKR_FIELD_AVAILABLE, bad[i], LINE_MARKS + 1);
        expect_refusal(*state, 0, &raw, "not_an_integer", LINE_MARKS + 1, "summary-marks/@available");

        raw = jane();
        set_field(&raw, MARKR_FIELD_OBTAINED, bad[i], LINE_MARKS + 2);
        expect_refusal(*state, 0, &raw, "not_an_integer", LINE_MARKS + 2, "summary-marks/@obtained");
    }
}

static void refuses_zero_available(void **state)
{
    struct markr_raw_result raw = jane();

    set_field(&raw, MARKR_FIELD_AVAILABLE, "0", LINE_MARKS);
    set_field(&raw, MARKR_FIELD_OBTAINED, "0", LINE_MARKS);
    expect_refusal(*state, 1, &raw, "zero_available", LINE_MARKS, "summary-marks/@available");

    raw = jane();
    set_field(&raw, MARKR_FIELD_AVAILABLE, "000", LINE_MARKS);
    expect_refusal(*state, 0, &raw, "zero_available", LINE_MARKS, "summary-marks/@available");
}

static void refuses_obtained_above_available(void **state)
{
    struct markr_raw_result raw = jane();

    set_field(&raw, MARKR_FIELD_OBTAINED, "21", LINE_MARKS);
    expect_refusal(*state, 4, &raw, "obtained_exceeds_available", LINE_MARKS, "summary-marks/@obtained");

    raw = jane();
    set_field(&raw, MARKR_FIELD_AVAILABLE, "1", LINE_MARKS);
    set_field(&raw, MARKR_FIELD_OBTAINED, "2147483647", LINE_MARKS);
    expect_refusal(*state, 0, &raw, "obtained_exceeds_available", LINE_MARKS, "summary-marks/@obtained");
}

/* A text of n bytes of `c`, with optional white space around it. */
static const char *text_of(size_t n, char c, int padded)
{
    static char buf[2][600];
    static int which;
    char *p = buf[which ^= 1];
    size_t at = 0;

    assert_true(n + 4 < sizeof(buf[0]));
    if (padded) {
        p[at++] = ' ';
        p[at++] = '\n';
    }
    memset(p + at, c, n);
    at += n;
    if (padded) {
        p[at++] = '\t';
        p[at++] = ' ';
    }
    p[at] = '\0';
    return p;
}

static void refuses_fields_longer_than_255_bytes(void **state)
{
    static const struct {
        enum markr_field field;
        unsigned long line;
        const char *name;
    } fields[] = {
        {MARKR_FIELD_STUDENT_NUMBER, LINE_STUDENT, "student-number"},
        {MARKR_FIELD_TEST_ID, LINE_TEST, "test-id"},
        {MARKR_FIELD_FIRST_NAME, LINE_FIRST, "first-name"},
        {MARKR_FIELD_LAST_NAME, LINE_LAST, "last-name"},
    };

    for (size_t i = 0; i < sizeof(fields) / sizeof(*fields); ++i) {
        struct markr_raw_result raw = jane();

        set_field(&raw, fields[i].field, text_of(MARKR_TEXT_MAX + 1, 'x', 0), fields[i].line);
        expect_refusal(*state, 1, &raw, "field_too_long", fields[i].line, fields[i].name);
    }
    /* The last name is checked after the first name has been copied: nothing may leak. */
    {
        struct markr_raw_result raw = jane();

        set_field(&raw, MARKR_FIELD_FIRST_NAME, text_of(MARKR_TEXT_MAX, 'f', 0), LINE_FIRST);
        set_field(&raw, MARKR_FIELD_LAST_NAME, text_of(MARKR_TEXT_MAX + 1, 'l', 0), LINE_LAST);
        expect_refusal(*state, 0, &raw, "field_too_long", LINE_LAST, "last-name");
    }
}

static void accepts_255_bytes_after_trimming(void **state)
{
    struct markr_document *doc = *state;
    struct markr_raw_result raw = jane();
    struct markr_error err;

    set_field(&raw, MARKR_FIELD_STUDENT_NUMBER, text_of(MARKR_TEXT_MAX, '7', 1), LINE_STUDENT);
    set_field(&raw, MARKR_FIELD_TEST_ID, text_of(MARKR_TEXT_MAX, 't', 1), LINE_TEST);
    set_field(&raw, MARKR_FIELD_FIRST_NAME, "Jane", LINE_FIRST); /* text_of's buffers are both in use */
    assert_int_equal(markr_document_add(doc, &raw, &err), 0);
    assert_int_equal(doc->count, 1);
    assert_int_equal(strlen(doc->results[0].student_number), MARKR_TEXT_MAX);
    assert_int_equal(strlen(doc->results[0].test_id), MARKR_TEXT_MAX);
    assert_int_equal(doc->results[0].student_number[0], '7');
    assert_int_equal(doc->results[0].test_id[MARKR_TEXT_MAX - 1], 't');
}

static void refusal_does_not_disturb_accepted_results(void **state)
{
    struct markr_document *doc = *state;
    struct markr_raw_result raw = jane();
    struct markr_error err;

    assert_int_equal(markr_document_add(doc, &raw, &err), 0);
    set_field(&raw, MARKR_FIELD_OBTAINED, "99", LINE_MARKS);
    assert_int_equal(markr_document_add(doc, &raw, &err), -1);
    assert_int_equal(err.result_index, 2);
    /* A later valid result would be the second: the refused one took no slot. */
    raw = jane();
    set_field(&raw, MARKR_FIELD_STUDENT_NUMBER, "2", LINE_STUDENT);
    assert_int_equal(markr_document_add(doc, &raw, &err), 0);
    assert_int_equal(doc->count, 2);
    assert_string_equal(doc->results[0].student_number, "521585128");
    assert_string_equal(doc->results[1].student_number, "2");
}

/* --- what an accepted result keeps ------------------------------------------------------ */

static void keeps_a_valid_result(void **state)
{
    struct markr_document *doc = *state;
    struct markr_raw_result raw = jane();
    struct markr_error err;

    markr_error_clear(&err);
    assert_int_equal(markr_document_add(doc, &raw, &err), 0);
    assert_int_equal(err.code, MARKR_OK);
    assert_int_equal(doc->count, 1);
    assert_string_equal(doc->results[0].test_id, "1234");
    assert_string_equal(doc->results[0].student_number, "521585128");
    assert_string_equal(doc->results[0].first_name, "Jane");
    assert_string_equal(doc->results[0].last_name, "Austen");
    assert_int_equal(doc->results[0].available, 20);
    assert_int_equal(doc->results[0].obtained, 13);
    assert_int_equal(doc->results[0].line, LINE_RESULT);
}

static void accepts_edge_marks(void **state)
{
    struct markr_document *doc = *state;
    struct markr_raw_result raw = jane();
    struct markr_error err;

    set_field(&raw, MARKR_FIELD_AVAILABLE, "2147483647", LINE_MARKS);
    set_field(&raw, MARKR_FIELD_OBTAINED, "2147483647", LINE_MARKS);
    assert_int_equal(markr_document_add(doc, &raw, &err), 0);
    set_field(&raw, MARKR_FIELD_AVAILABLE, "1", LINE_MARKS);
    set_field(&raw, MARKR_FIELD_OBTAINED, "0", LINE_MARKS);
    assert_int_equal(markr_document_add(doc, &raw, &err), 0);
    set_field(&raw, MARKR_FIELD_AVAILABLE, " 020 ", LINE_MARKS);
    set_field(&raw, MARKR_FIELD_OBTAINED, "\n007\n", LINE_MARKS);
    assert_int_equal(markr_document_add(doc, &raw, &err), 0);
    assert_int_equal(doc->count, 3);
    assert_int_equal(doc->results[0].available, 2147483647u);
    assert_int_equal(doc->results[0].obtained, 2147483647u);
    assert_int_equal(doc->results[1].available, 1);
    assert_int_equal(doc->results[1].obtained, 0);
    assert_int_equal(doc->results[2].available, 20);
    assert_int_equal(doc->results[2].obtained, 7);
}

static void names_are_optional(void **state)
{
    struct markr_document *doc = *state;
    struct markr_raw_result raw = jane();
    struct markr_error err;

    set_field(&raw, MARKR_FIELD_FIRST_NAME, NULL, 0);
    set_field(&raw, MARKR_FIELD_LAST_NAME, NULL, 0);
    assert_int_equal(markr_document_add(doc, &raw, &err), 0);
    set_field(&raw, MARKR_FIELD_FIRST_NAME, "", LINE_FIRST);
    set_field(&raw, MARKR_FIELD_LAST_NAME, " \n ", LINE_LAST);
    assert_int_equal(markr_document_add(doc, &raw, &err), 0);
    set_field(&raw, MARKR_FIELD_FIRST_NAME, NULL, 0);
    set_field(&raw, MARKR_FIELD_LAST_NAME, "Austen", LINE_LAST);
    assert_int_equal(markr_document_add(doc, &raw, &err), 0);
    assert_int_equal(doc->count, 3);
    assert_null(doc->results[0].first_name);
    assert_null(doc->results[0].last_name);
    assert_null(doc->results[1].first_name);
    assert_null(doc->results[1].last_name);
    assert_null(doc->results[2].first_name);
    assert_string_equal(doc->results[2].last_name, "Austen");
}

static void trims_stored_text(void **state)
{
    struct markr_document *doc = *state;
    struct markr_raw_result raw = jane();
    struct markr_error err;

    set_field(&raw, MARKR_FIELD_TEST_ID, "\n    1234\n  ", LINE_TEST);
    set_field(&raw, MARKR_FIELD_STUDENT_NUMBER, " \t521585128\r\n", LINE_STUDENT);
    set_field(&raw, MARKR_FIELD_FIRST_NAME, "  Mary Ann  ", LINE_FIRST);
    set_field(&raw, MARKR_FIELD_LAST_NAME, "\tEvans\n", LINE_LAST);
    assert_int_equal(markr_document_add(doc, &raw, &err), 0);
    assert_string_equal(doc->results[0].test_id, "1234");
    assert_string_equal(doc->results[0].student_number, "521585128");
    assert_string_equal(doc->results[0].first_name, "Mary Ann");
    assert_string_equal(doc->results[0].last_name, "Evans");
}

static void ids_are_opaque_strings(void **state)
{
    struct markr_document *doc = *state;
    struct markr_raw_result raw = jane();
    struct markr_error err;

    set_field(&raw, MARKR_FIELD_STUDENT_NUMBER, "002299", LINE_STUDENT);
    set_field(&raw, MARKR_FIELD_TEST_ID, "0042", LINE_TEST);
    assert_int_equal(markr_document_add(doc, &raw, &err), 0);
    set_field(&raw, MARKR_FIELD_STUDENT_NUMBER, "AB-12/x \xc3\xa9", LINE_STUDENT);
    set_field(&raw, MARKR_FIELD_TEST_ID, "maths 101", LINE_TEST);
    assert_int_equal(markr_document_add(doc, &raw, &err), 0);
    assert_string_equal(doc->results[0].student_number, "002299");
    assert_string_equal(doc->results[0].test_id, "0042");
    assert_string_equal(doc->results[1].student_number, "AB-12/x \xc3\xa9");
    assert_string_equal(doc->results[1].test_id, "maths 101");
}

/* Raw text is pointer and length: the bytes after len are not part of it. */
static void copies_only_len_bytes(void **state)
{
    struct markr_document *doc = *state;
    struct markr_raw_result raw = jane();
    struct markr_error err;

    raw.text[MARKR_FIELD_TEST_ID] = "1234</test-id>";
    raw.len[MARKR_FIELD_TEST_ID] = 4;
    raw.text[MARKR_FIELD_STUDENT_NUMBER] = "99 trailing";
    raw.len[MARKR_FIELD_STUDENT_NUMBER] = 2;
    raw.text[MARKR_FIELD_AVAILABLE] = "205";
    raw.len[MARKR_FIELD_AVAILABLE] = 2;
    raw.text[MARKR_FIELD_OBTAINED] = "13\"";
    raw.len[MARKR_FIELD_OBTAINED] = 2;
    raw.text[MARKR_FIELD_FIRST_NAME] = "Janet";
    raw.len[MARKR_FIELD_FIRST_NAME] = 4;
    assert_int_equal(markr_document_add(doc, &raw, &err), 0);
    assert_string_equal(doc->results[0].test_id, "1234");
    assert_string_equal(doc->results[0].student_number, "99");
    assert_string_equal(doc->results[0].first_name, "Jane");
    assert_int_equal(doc->results[0].available, 20);
    assert_int_equal(doc->results[0].obtained, 13);
}

static void keeps_many_results_in_order(void **state)
{
    struct markr_document *doc = *state;
    struct markr_error err;
    char number[16];

    for (unsigned i = 0; i < 1000; ++i) {
        struct markr_raw_result raw = jane();

        snprintf(number, sizeof(number), "%u", i);
        set_field(&raw, MARKR_FIELD_STUDENT_NUMBER, number, LINE_STUDENT);
        raw.line = 10 + i;
        assert_int_equal(markr_document_add(doc, &raw, &err), 0);
    }
    assert_int_equal(doc->count, 1000);
    for (unsigned i = 0; i < 1000; ++i) {
        snprintf(number, sizeof(number), "%u", i);
        assert_string_equal(doc->results[i].student_number, number);
        assert_int_equal(doc->results[i].line, 10 + i);
    }
}

/* --- the whole document ----------------------------------------------------------------- */

static void refuses_a_document_without_results(void **state)
{
    struct markr_document *doc = *state;
    struct markr_error err;

    markr_error_clear(&err);
    assert_int_equal(markr_document_finish(doc, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_INVALID);
    assert_string_equal(err.reason, "no_results");
    assert_true(err.message[0] != '\0');
    assert_int_equal(err.result_index, 0);
}

static void finishes_a_document_with_results(void **state)
{
    struct markr_document *doc = *state;
    struct markr_raw_result raw = jane();
    struct markr_error err;

    assert_int_equal(markr_document_add(doc, &raw, &err), 0);
    markr_error_clear(&err);
    assert_int_equal(markr_document_finish(doc, &err), 0);
    assert_int_equal(err.code, MARKR_OK);
}

static void free_leaves_an_empty_document(void **state)
{
    struct markr_document *doc = *state;
    struct markr_raw_result raw = jane();
    struct markr_error err;

    assert_int_equal(markr_document_add(doc, &raw, &err), 0);
    markr_document_free(doc);
    assert_null(doc->results);
    assert_int_equal(doc->count, 0);
    markr_document_free(doc); /* twice is harmless */
}

#define DOC_TEST(f) cmocka_unit_test_setup_teardown(f, setup_doc, teardown_doc)

int main(void)
{
    const struct CMUnitTest tests[] = {
        DOC_TEST(refuses_missing_student_number),
        DOC_TEST(refuses_missing_test_id),
        DOC_TEST(refuses_fields_empty_after_trimming),
        DOC_TEST(refuses_missing_summary_marks),
        DOC_TEST(refuses_missing_available_alone),
        DOC_TEST(refuses_missing_obtained_alone),
        DOC_TEST(refuses_marks_that_are_not_integers),
        DOC_TEST(refuses_zero_available),
        DOC_TEST(refuses_obtained_above_available),
        DOC_TEST(refuses_fields_longer_than_255_bytes),
        DOC_TEST(accepts_255_bytes_after_trimming),
        DOC_TEST(refusal_does_not_disturb_accepted_results),
        DOC_TEST(keeps_a_valid_result),
        DOC_TEST(accepts_edge_marks),
        DOC_TEST(names_are_optional),
        DOC_TEST(trims_stored_text),
        DOC_TEST(ids_are_opaque_strings),
        DOC_TEST(copies_only_len_bytes),
        DOC_TEST(keeps_many_results_in_order),
        DOC_TEST(refuses_a_document_without_results),
        DOC_TEST(finishes_a_document_with_results),
        DOC_TEST(free_leaves_an_empty_document),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
