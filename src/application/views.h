/*
 * Use cases of the dashboard views: the tests, one test's students page by page,
 * one student across tests, and one test's histogram. The port streams rows to a visitor so
 * that no layer has to own a list; the use cases check the parameters before the store is
 * asked, so every bad parameter is a MARKR_ERR_BAD_REQUEST (400) with a clear message.
 */
#ifndef MARKR_APPLICATION_VIEWS_H
#define MARKR_APPLICATION_VIEWS_H

#include <stddef.h>
#include <stdint.h>

#include "../domain/error.h"
#include "../domain/result.h"

/* One test in the list of tests. Strings are valid only during the visit. */
struct markr_test_summary {
    const char *test_id;
    uint64_t students;
    const char *last_change; /* ISO 8601 timestamp of the last raise of a mark in that test */
};

/* One student's marks in one test; names are NULL when never received. */
struct markr_result_row {
    const char *test_id;
    const char *student_number;
    const char *first_name;
    const char *last_name;
    int64_t obtained;
    int64_t available;
    double percent;
};

/* One student in the list of students: how many tests they have a mark in, and the mean of
 * those percentages. The string is valid only during the visit. */
struct markr_student_summary {
    const char *student_number;
    uint64_t tests;
    double mean_percent;
};

enum markr_results_sort { MARKR_SORT_STUDENT = 0, MARKR_SORT_PERCENT };

#define MARKR_PAGE_LIMIT_DEFAULT 100
#define MARKR_PAGE_LIMIT_MAX 1000
#define MARKR_PAGE_OFFSET_MAX 100000000
#define MARKR_HISTOGRAM_BINS_DEFAULT 10
#define MARKR_HISTOGRAM_BINS_MAX 100

/* One page of a list ordered by test id (the tests, a student's tests): at most limit
 * items, after the test id `after` (the keyset cursor: the next_cursor of the previous page)
 * when it is not NULL. */
struct markr_tests_page {
    uint64_t limit; /* 1..MARKR_PAGE_LIMIT_MAX */
    const char *after;
    size_t after_len; /* 1..MARKR_TEXT_MAX when after is set */
};

struct markr_results_page {
    uint64_t limit;  /* 1..MARKR_PAGE_LIMIT_MAX */
    uint64_t offset; /* 0..MARKR_PAGE_OFFSET_MAX */
    enum markr_results_sort sort;
    int descending;
    /* Keyset paging (whole exports): when after is not NULL, only the rows that come after
     * the row with student number after (after_len bytes) and percentage after_percent in
     * this order, whatever was inserted before it since; offset is then 0. */
    const char *after;
    size_t after_len;
    double after_percent;
};

typedef void (*markr_test_visitor)(void *arg, const struct markr_test_summary *test);
typedef void (*markr_row_visitor)(void *arg, const struct markr_result_row *row);
typedef void (*markr_student_visitor)(void *arg, const struct markr_student_summary *student);

/* Reads of the views. Each returns 0, or -1 with err. */
struct markr_views_reader {
    void *ctx;
    /* At most limit tests ordered by test id, those after the id `after` (after_len bytes)
     * when after is not NULL. A cursor the store cannot compare (bytes that are not text) is
     * MARKR_ERR_BAD_REQUEST "bad_cursor". */
    int (*list_tests)(void *ctx, const char *after, size_t after_len, uint64_t limit, markr_test_visitor visit,
                      void *arg, struct markr_error *err);
    /* One page of a test's students in page order (ties by student number); *total is the
     * number of students of the test. MARKR_ERR_NOT_FOUND when it has none. */
    int (*list_results)(void *ctx, const char *test_id, size_t len, const struct markr_results_page *page,
                        markr_row_visitor visit, void *arg, uint64_t *total, struct markr_error *err);
    /* At most limit tests of a student ordered by test id, after the id `after` when it is
     * not NULL, and the mean of the percentages of all of them. MARKR_ERR_NOT_FOUND when the
     * student has no marks; a cursor that is not text is "bad_cursor" as for list_tests. */
    int (*student_results)(void *ctx, const char *student, size_t len, const char *after, size_t after_len,
                           uint64_t limit, markr_row_visitor visit, void *arg, double *mean_percent,
                           struct markr_error *err);
    /* At most limit students with at least one mark, from the offset-th on, in byte order of
     * student number; *total is the number of such students. */
    int (*list_students)(void *ctx, uint64_t limit, uint64_t offset, markr_student_visitor visit, void *arg,
                         uint64_t *total, struct markr_error *err);
    /* counts[i] = students whose percentage p is in band i of `bins` equal bands of 0..100
     * (band i is [100i/bins, 100(i+1)/bins), the last one includes 100). *total is their sum.
     * MARKR_ERR_NOT_FOUND when the test has no students. */
    int (*histogram)(void *ctx, const char *test_id, size_t len, unsigned bins, uint64_t *counts, uint64_t *total,
                     struct markr_error *err);
};

/* One page of tests. Checks page (limit, cursor) before asking: MARKR_ERR_BAD_REQUEST
 * "bad_limit" or "bad_cursor". next (room for MARKR_TEXT_MAX + 1 bytes) receives the cursor
 * of the next page, the last test id visited, NUL-terminated, when more tests follow; else
 * the empty string. */
int markr_list_tests(const struct markr_views_reader *reader, const struct markr_tests_page *page,
                     markr_test_visitor visit, void *arg, char *next, struct markr_error *err);
/* Checks page (limit, offset) before asking: MARKR_ERR_BAD_REQUEST when out of range. */
int markr_list_results(const struct markr_views_reader *reader, const char *test_id, size_t len,
                       const struct markr_results_page *page, markr_row_visitor visit, void *arg, uint64_t *total,
                       struct markr_error *err);
/* One page of a student's tests, checked and cut as markr_list_tests does (next as there). */
int markr_get_student(const struct markr_views_reader *reader, const char *student, size_t len,
                      const struct markr_tests_page *page, markr_row_visitor visit, void *arg, double *mean_percent,
                      char *next, struct markr_error *err);
/* One page of the students (limit 1..MARKR_PAGE_LIMIT_MAX, offset 0..MARKR_PAGE_OFFSET_MAX,
 * else MARKR_ERR_BAD_REQUEST bad_limit or bad_offset). By offset, not by cursor as the lists
 * in test id order: a page of students is asked for by its position (page 7 of the list). */
int markr_list_students(const struct markr_views_reader *reader, uint64_t limit, uint64_t offset,
                        markr_student_visitor visit, void *arg, uint64_t *total, struct markr_error *err);
/* bins must be 1..MARKR_HISTOGRAM_BINS_MAX (else MARKR_ERR_BAD_REQUEST); counts has room
 * for bins entries. */
int markr_get_histogram(const struct markr_views_reader *reader, const char *test_id, size_t len, unsigned bins,
                        uint64_t *counts, uint64_t *total, struct markr_error *err);

#endif
