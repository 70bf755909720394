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

#include <string.h>

#include "application/views.h"

struct fake {
    int calls;
    struct markr_results_page page; /* as the reader received it */
    unsigned bins;
    char id[300];
    size_t id_len;
    int fail; /* answer MARKR_ERR_UNAVAILABLE */
};

static int fake_tests(void *ctx, markr_test_visitor visit, void *arg, struct markr_error *err)
{
    struct fake *f = ctx;
    struct markr_test_summary t = {.test_id = "t1", .students = 3, .last_change = "2026-01-01T00:00:00.000000Z"};

    ++f->calls;
    if (f->fail)
        return markr_error_set(err, MARKR_ERR_UNAVAILABLE, "database_unavailable", "down");
    visit(arg, &t);
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

static int fake_student(void *ctx, const char *id, size_t len, markr_row_visitor visit, void *arg, double *mean,
                        struct markr_error *err)
{
    struct fake *f = ctx;

    ++f->calls;
    memcpy(f->id, id, len);
    f->id_len = len;
    *mean = 42.5;
    return markr_error_set(err, MARKR_ERR_NOT_FOUND, "unknown_student", "no results for that student number");
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

static struct fake fake;
static struct markr_views_reader port;

static int setup(void **state)
{
    memset(&fake, 0, sizeof(fake));
    port = (struct markr_views_reader){.ctx = &fake, .list_tests = fake_tests, .list_results = fake_results,
                                       .student_results = fake_student, .histogram = fake_histogram};
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

static void unstorable_ids_are_unknown_without_a_query(void **state)
{
    struct markr_results_page page = {.limit = 10};
    struct markr_error err;
    uint64_t total, counts[10];
    double mean;
    char long_id[300];

    memset(long_id, 'x', sizeof(long_id));
    assert_int_equal(markr_list_results(&port, "", 0, &page, count_row, NULL, &total, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_NOT_FOUND);
    assert_int_equal(markr_list_results(&port, " t", 2, &page, count_row, NULL, &total, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_NOT_FOUND);
    assert_int_equal(markr_get_student(&port, "a\0b", 3, count_row, NULL, &mean, &err), -1);
    assert_string_equal(err.reason, "unknown_student");
    assert_int_equal(markr_get_student(&port, long_id, 256, count_row, NULL, &mean, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_NOT_FOUND);
    assert_int_equal(markr_get_histogram(&port, "t ", 2, 10, counts, &total, &err), -1);
    assert_string_equal(err.reason, "unknown_test");
    assert_int_equal(fake.calls, 0);
    /* 255 bytes is the longest storable id: asked. */
    assert_int_equal(markr_get_student(&port, long_id, 255, count_row, NULL, &mean, &err), -1);
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

static void reader_answers_and_errors_pass_through(void **state)
{
    struct markr_error err;
    double mean = 0;

    rows = 0;
    assert_int_equal(markr_list_tests(&port, count_test, NULL, &err), 0);
    assert_int_equal(rows, 1);
    fake.fail = 1;
    assert_int_equal(markr_list_tests(&port, count_test, NULL, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_UNAVAILABLE);
    assert_int_equal(markr_get_student(&port, "s1", 2, count_row, NULL, &mean, &err), -1);
    assert_string_equal(err.reason, "unknown_student");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(results_page_limits, setup),
        cmocka_unit_test_setup(unstorable_ids_are_unknown_without_a_query, setup),
        cmocka_unit_test_setup(histogram_bins_range, setup),
        cmocka_unit_test_setup(reader_answers_and_errors_pass_through, setup),
    };

    return cmocka_run_group_tests_name("views_use_cases", tests, NULL, NULL);
}
