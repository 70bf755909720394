/*
 * The view use cases through a fake views reader: every out-of-range parameter is
 * a MARKR_ERR_BAD_REQUEST naming the parameter, ids that cannot have been stored are unknown,
 * and in both cases the reader is never asked; valid requests reach it unchanged, and its
 * rows and errors come back as it gave them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "application/views.h"

struct fake {
    int calls;
    struct markr_results_page page; /* as the reader received it */
    unsigned bins;
    char id[300];
    size_t id_len;
    int fail; /* answer MARKR_ERR_UNAVAILABLE */
    unsigned tests;       /* the store holds tests "t001" to this one (1 when 0) */
    uint64_t tests_limit; /* as the reader received them */
    int tests_after;      /* the number of the cursor's test, 0 without a cursor */
    unsigned student_tests; /* the student's tests, t001 to this one; 0: unknown student */
};

/* Tests t001, t002... in id order, those after the cursor, at most limit of them. */
static int fake_tests(void *ctx, const char *after, size_t after_len, uint64_t limit, markr_test_visitor visit,
                      void *arg, struct markr_error *err)
{
    struct fake *f = ctx;
    unsigned n = f->tests != 0 ? f->tests : 1;
    char id[8];

    ++f->calls;
    f->tests_limit = limit;
    f->tests_after = after != NULL ? atoi(after + 1) : 0;
    if (f->fail)
        return markr_error_set(err, MARKR_ERR_UNAVAILABLE, "database_unavailable", "down");
    for (unsigned i = (unsigned)f->tests_after + 1; i <= n && limit-- > 0; ++i) {
        struct markr_test_summary t = {.test_id = id, .students = 3, .last_change = "2026-01-01T00:00:00.000000Z"};

        snprintf(id, sizeof(id), "t%03u", i);
        visit(arg, &t);
    }
    return 0;
}

static int fake_results(void *ctx, const char *id, size_t len, const struct markr_results_page *page,
                        markr_row_visitor visit, void *arg, uint64_t *total, struct markr_error *err)
{
    struct fake *f = ctx;
    struct markr_result_row row = {.student_number = "s1", .obtained = 1, .available = 2, .percent = 50};

    ++f->calls;
    f->page = *page;
    memcpy(f->id, id, len);
    f->id_len = len;
    visit(arg, &row);
    *total = 7;
    return 0;
}

/* Unknown, unless the store holds student_tests tests for them (t001, t002...). */
static int fake_student(void *ctx, const char *id, size_t len, const char *after, size_t after_len, uint64_t limit,
                        markr_row_visitor visit, void *arg, double *mean, struct markr_error *err)
{
    struct fake *f = ctx;
    char test[8];

    ++f->calls;
    memcpy(f->id, id, len);
    f->id_len = len;
    f->tests_limit = limit;
    f->tests_after = after != NULL ? atoi(after + 1) : 0;
    *mean = 42.5;
    if (f->student_tests == 0)
        return markr_error_set(err, MARKR_ERR_NOT_FOUND, "unknown_student", "no results for that student number");
    for (unsigned i = (unsigned)f->tests_after + 1; i <= f->student_tests && limit-- > 0; ++i) {
        struct markr_result_row row = {.test_id = test, .student_number = "s1", .obtained = 1, .available = 2};

        snprintf(test, sizeof(test), "t%03u", i);
        visit(arg, &row);
    }
    return 0;
}

static int fake_histogram(void *ctx, const char *id, size_t len, unsigned bins, uint64_t *counts, uint64_t *total,
                          struct markr_error *err)
{
    struct fake *f = ctx;

    ++f->calls;
    f->bins = bins;
    counts[bins - 1] = 4;
    *total = 4;
    return 0;
}

static int fake_students(void *ctx, uint64_t limit, uint64_t offset, markr_student_visitor visit, void *arg,
                         uint64_t *total, struct markr_error *err)
{
    struct fake *f = ctx;
    struct markr_student_summary s = {.student_number = "s1", .tests = 2, .mean_percent = 75};

    ++f->calls;
    f->page.limit = limit;
    f->page.offset = offset;
    if (f->fail)
        return markr_error_set(err, MARKR_ERR_UNAVAILABLE, "database_unavailable", "down");
    visit(arg, &s);
    *total = 9;
    return 0;
}

static struct fake fake;
static struct markr_views_reader port;

static int setup(void **state)
{
    memset(&fake, 0, sizeof(fake));
    port = (struct markr_views_reader){.ctx = &fake, .list_tests = fake_tests, .list_results = fake_results,
                                       .student_results = fake_student, .histogram = fake_histogram,
                                       .list_students = fake_students};
    return 0;
}

static int rows;
static void count_row(void *arg, const struct markr_result_row *row)
{
    ++rows;
}
static void count_test(void *arg, const struct markr_test_summary *t)
{
    ++rows;
}

static void results_page_limits(void **state)
{
    struct markr_results_page page = {.limit = 0};
    struct markr_error err;
    uint64_t total = 99;

    assert_int_equal(markr_list_results(&port, "t", 1, &page, count_row, NULL, &total, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_BAD_REQUEST);
    assert_string_equal(err.reason, "bad_limit");
    assert_int_equal(total, 0);
    page.limit = MARKR_PAGE_LIMIT_MAX + 1;
    assert_int_equal(markr_list_results(&port, "t", 1, &page, count_row, NULL, &total, &err), -1);
    assert_string_equal(err.reason, "bad_limit");
    page.limit = 1;
    page.offset = MARKR_PAGE_OFFSET_MAX + 1;
    assert_int_equal(markr_list_results(&port, "t", 1, &page, count_row, NULL, &total, &err), -1);
    assert_string_equal(err.reason, "bad_offset");
    assert_int_equal(fake.calls, 0);

    page = (struct markr_results_page){.limit = MARKR_PAGE_LIMIT_MAX, .offset = MARKR_PAGE_OFFSET_MAX,
                                       .sort = MARKR_SORT_PERCENT, .descending = 1};
    rows = 0;
    assert_int_equal(markr_list_results(&port, "t 1", 3, &page, count_row, NULL, &total, &err), 0);
    assert_int_equal(fake.calls, 1);
    assert_int_equal(rows, 1);
    assert_int_equal(total, 7);
    assert_int_equal(fake.page.limit, MARKR_PAGE_LIMIT_MAX);
    assert_int_equal(fake.page.offset, MARKR_PAGE_OFFSET_MAX);
    assert_int_equal(fake.page.sort, MARKR_SORT_PERCENT);
    assert_true(fake.page.descending);
    assert_memory_equal(fake.id, "t 1", 3);
}

static void count_student(void *arg, const struct markr_student_summary *s)
{
    ++rows;
}

static void students_page_limits(void **state)
{
    struct markr_error err;
    uint64_t total = 99;

    assert_int_equal(markr_list_students(&port, 0, 0, count_student, NULL, &total, &err), -1);
    assert_string_equal(err.reason, "bad_limit");
    assert_int_equal(total, 0);
    assert_int_equal(markr_list_students(&port, MARKR_PAGE_LIMIT_MAX + 1, 0, count_student, NULL, &total, &err), -1);
    assert_string_equal(err.reason, "bad_limit");
    assert_int_equal(markr_list_students(&port, 1, MARKR_PAGE_OFFSET_MAX + 1, count_student, NULL, &total, &err), -1);
    assert_string_equal(err.reason, "bad_offset");
    assert_int_equal(err.code, MARKR_ERR_BAD_REQUEST);
    assert_int_equal(fake.calls, 0);
    rows = 0;
    assert_int_equal(markr_list_students(&port, MARKR_PAGE_LIMIT_MAX, MARKR_PAGE_OFFSET_MAX, count_student, NULL,
                                         &total, &err), 0);
    assert_int_equal(rows, 1);
    assert_int_equal(total, 9);
    assert_int_equal(fake.page.limit, MARKR_PAGE_LIMIT_MAX);
    assert_int_equal(fake.page.offset, MARKR_PAGE_OFFSET_MAX);
    fake.fail = 1;
    assert_int_equal(markr_list_students(&port, 1, 0, count_student, NULL, &total, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_UNAVAILABLE);
}

static void unstorable_ids_are_unknown_without_a_query(void **state)
{
    struct markr_results_page page = {.limit = 10};
    struct markr_error err;
    uint64_t total, counts[10];
    double mean;
    char long_id[300], next[MARKR_TEXT_MAX + 1];
    struct markr_tests_page tests_page = {.limit = MARKR_PAGE_LIMIT_DEFAULT};

    memset(long_id, 'x', sizeof(long_id));
    assert_int_equal(markr_list_results(&port, "", 0, &page, count_row, NULL, &total, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_NOT_FOUND);
    assert_int_equal(markr_list_results(&port, " t", 2, &page, count_row, NULL, &total, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_NOT_FOUND);
    assert_int_equal(markr_get_student(&port, "a\0b", 3, &tests_page, count_row, NULL, &mean, next, &err), -1);
    assert_string_equal(err.reason, "unknown_student");
    assert_int_equal(markr_get_student(&port, long_id, 256, &tests_page, count_row, NULL, &mean, next, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_NOT_FOUND);
    assert_int_equal(markr_get_histogram(&port, "t ", 2, 10, counts, &total, &err), -1);
    assert_string_equal(err.reason, "unknown_test");
    assert_int_equal(fake.calls, 0);
    /* 255 bytes is the longest storable id: asked. */
    assert_int_equal(markr_get_student(&port, long_id, 255, &tests_page, count_row, NULL, &mean, next, &err), -1);
    assert_int_equal(fake.calls, 1);
    assert_int_equal(fake.id_len, 255);
}

static void histogram_bins_range(void **state)
{
    struct markr_error err;
    uint64_t total, counts[MARKR_HISTOGRAM_BINS_MAX];

    assert_int_equal(markr_get_histogram(&port, "t", 1, 0, counts, &total, &err), -1);
    assert_string_equal(err.reason, "bad_bins");
    assert_int_equal(err.code, MARKR_ERR_BAD_REQUEST);
    assert_int_equal(markr_get_histogram(&port, "t", 1, MARKR_HISTOGRAM_BINS_MAX + 1, counts, &total, &err), -1);
    assert_string_equal(err.reason, "bad_bins");
    assert_int_equal(fake.calls, 0);
    memset(counts, 0xff, sizeof(counts));
    assert_int_equal(markr_get_histogram(&port, "t", 1, 1, counts, &total, &err), 0);
    assert_int_equal(counts[0], 4);
    assert_int_equal(markr_get_histogram(&port, "t", 1, MARKR_HISTOGRAM_BINS_MAX, counts, &total, &err), 0);
    assert_int_equal(fake.bins, MARKR_HISTOGRAM_BINS_MAX);
    for (int i = 0; i < MARKR_HISTOGRAM_BINS_MAX - 1; ++i)
        assert_int_equal(counts[i], 0); /* cleared before the reader fills them */
    assert_int_equal(counts[MARKR_HISTOGRAM_BINS_MAX - 1], 4);
}

static void tests_pages_follow_the_cursor(void **state)
{
    struct markr_tests_page page = {.limit = 2};
    struct markr_error err;
    char next[MARKR_TEXT_MAX + 1];

    fake.tests = 5;
    rows = 0;
    assert_int_equal(markr_list_tests(&port, &page, count_test, NULL, next, &err), 0);
    assert_int_equal(rows, 2);
    assert_int_equal(fake.tests_limit, 3); /* one more, to know whether a next page exists */
    assert_int_equal(fake.tests_after, 0);
    assert_string_equal(next, "t002");
    page.after = "t004";
    page.after_len = 4;
    rows = 0;
    assert_int_equal(markr_list_tests(&port, &page, count_test, NULL, next, &err), 0);
    assert_int_equal(rows, 1);
    assert_int_equal(fake.tests_after, 4);
    assert_string_equal(next, ""); /* the last page */
    /* A page that ends exactly at the last test has no next page either. */
    page.after = "t003";
    rows = 0;
    assert_int_equal(markr_list_tests(&port, &page, count_test, NULL, next, &err), 0);
    assert_int_equal(rows, 2);
    assert_string_equal(next, "");
}

static void tests_page_limits_and_cursors(void **state)
{
    static const char nul[] = {'a', '\0', 'b'};
    char long_id[MARKR_TEXT_MAX + 2], next[MARKR_TEXT_MAX + 1];
    struct markr_tests_page page = {.limit = 0};
    struct markr_error err;

    assert_int_equal(markr_list_tests(&port, &page, count_test, NULL, next, &err), -1);
    assert_string_equal(err.reason, "bad_limit");
    page.limit = MARKR_PAGE_LIMIT_MAX + 1;
    assert_int_equal(markr_list_tests(&port, &page, count_test, NULL, next, &err), -1);
    assert_string_equal(err.reason, "bad_limit");
    page.limit = MARKR_PAGE_LIMIT_MAX;
    page.after = "";
    assert_int_equal(markr_list_tests(&port, &page, count_test, NULL, next, &err), -1);
    assert_string_equal(err.reason, "bad_cursor");
    assert_int_equal(err.code, MARKR_ERR_BAD_REQUEST);
    page.after = nul;
    page.after_len = sizeof(nul);
    assert_int_equal(markr_list_tests(&port, &page, count_test, NULL, next, &err), -1);
    assert_string_equal(err.reason, "bad_cursor");
    memset(long_id, 'x', sizeof(long_id));
    page.after = long_id;
    page.after_len = MARKR_TEXT_MAX + 1;
    assert_int_equal(markr_list_tests(&port, &page, count_test, NULL, next, &err), -1);
    assert_string_equal(err.reason, "bad_cursor");
    assert_int_equal(fake.calls, 0); /* never asked */
    page.after_len = MARKR_TEXT_MAX;
    assert_int_equal(markr_list_tests(&port, &page, count_test, NULL, next, &err), 0);
    assert_int_equal(fake.tests_limit, MARKR_PAGE_LIMIT_MAX + 1);
}

static void student_pages_follow_the_cursor(void **state)
{
    struct markr_tests_page page = {.limit = 2};
    struct markr_error err;
    char next[MARKR_TEXT_MAX + 1];
    double mean = 0;

    fake.student_tests = 5;
    rows = 0;
    assert_int_equal(markr_get_student(&port, "s1", 2, &page, count_row, NULL, &mean, next, &err), 0);
    assert_int_equal(rows, 2);
    assert_int_equal(fake.tests_limit, 3);
    assert_string_equal(next, "t002");
    assert_true(mean == 42.5); /* the reader's mean, of all the student's tests */
    page.after = "t004";
    page.after_len = 4;
    rows = 0;
    assert_int_equal(markr_get_student(&port, "s1", 2, &page, count_row, NULL, &mean, next, &err), 0);
    assert_int_equal(rows, 1);
    assert_int_equal(fake.tests_after, 4);
    assert_string_equal(next, "");
    /* The same checks as the list of tests, before the reader is asked. */
    fake.calls = 0;
    page.limit = 0;
    assert_int_equal(markr_get_student(&port, "s1", 2, &page, count_row, NULL, &mean, next, &err), -1);
    assert_string_equal(err.reason, "bad_limit");
    page.limit = 1;
    page.after_len = 0;
    assert_int_equal(markr_get_student(&port, "s1", 2, &page, count_row, NULL, &mean, next, &err), -1);
    assert_string_equal(err.reason, "bad_cursor");
    assert_int_equal(fake.calls, 0);
}

static void reader_answers_and_errors_pass_through(void **state)
{
    struct markr_tests_page page = {.limit = MARKR_PAGE_LIMIT_DEFAULT};
    struct markr_error err;
    char next[MARKR_TEXT_MAX + 1];
    double mean = 0;

    rows = 0;
    assert_int_equal(markr_list_tests(&port, &page, count_test, NULL, next, &err), 0);
    assert_int_equal(rows, 1);
    assert_string_equal(next, "");
    fake.fail = 1;
    assert_int_equal(markr_list_tests(&port, &page, count_test, NULL, next, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_UNAVAILABLE);
    assert_int_equal(markr_get_student(&port, "s1", 2, &page, count_row, NULL, &mean, next, &err), -1);
    assert_string_equal(err.reason, "unknown_student");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(results_page_limits, setup),
        cmocka_unit_test_setup(students_page_limits, setup),
        cmocka_unit_test_setup(unstorable_ids_are_unknown_without_a_query, setup),
        cmocka_unit_test_setup(histogram_bins_range, setup),
        cmocka_unit_test_setup(tests_pages_follow_the_cursor, setup),
        cmocka_unit_test_setup(tests_page_limits_and_cursors, setup),
        cmocka_unit_test_setup(student_pages_follow_the_cursor, setup),
        cmocka_unit_test_setup(reader_answers_and_errors_pass_through, setup),
    };

    return cmocka_run_group_tests_name("views_use_cases", tests, NULL, NULL);
}
