/*
 * The view use cases: parameter checks, then one call to the views reader. An id that
 * cannot have been stored (empty, untrimmed, too long, holding NUL) is not found without a
 * query, as for the aggregate.
 */
#include "views.h"

#include <string.h>

#include "ids.h"

/* Lists ordered by test id are asked for one item more than the page holds: when it comes,
 * more follow and the last test id of the page is the next cursor. */
struct pager {
    markr_test_visitor visit_test;
    markr_row_visitor visit_row;
    void *arg;
    uint64_t limit, seen;
    char *next;
};

/* Counts one item of test id test_id; returns whether it belongs to the page. */
static int paged(struct pager *pager, const char *test_id)
{
    size_t len = strlen(test_id);

    if (pager->seen++ >= pager->limit)
        return 0;
    /* Ids are stored at most MARKR_TEXT_MAX bytes long; a longer one cannot be a cursor. */
    len = len <= MARKR_TEXT_MAX ? len : 0;
    memcpy(pager->next, test_id, len);
    pager->next[len] = '\0';
    return 1;
}

static void visit_paged_test(void *arg, const struct markr_test_summary *test)
{
    struct pager *pager = arg;

    if (paged(pager, test->test_id))
        pager->visit_test(pager->arg, test);
}

static void visit_paged_row(void *arg, const struct markr_result_row *row)
{
    struct pager *pager = arg;

    if (paged(pager, row->test_id))
        pager->visit_row(pager->arg, row);
}

static int check_page(const struct markr_tests_page *page, struct markr_error *err)
{
    if (page->limit < 1 || page->limit > MARKR_PAGE_LIMIT_MAX)
        return markr_error_set(err, MARKR_ERR_BAD_REQUEST, "bad_limit", "limit must be an integer from 1 to %d",
                               MARKR_PAGE_LIMIT_MAX);
    if (page->after != NULL && (page->after_len == 0 || page->after_len > MARKR_TEXT_MAX ||
                                memchr(page->after, '\0', page->after_len) != NULL))
        return markr_error_set(err, MARKR_ERR_BAD_REQUEST, "bad_cursor",
                               "cursor must be the next_cursor of a previous page");
    return 0;
}

/* After the store has answered: no next page unless one item more came. */
static int end_page(int rc, const struct pager *pager)
{
    if (rc != 0 || pager->seen <= pager->limit)
        pager->next[0] = '\0';
    return rc;
}

int markr_list_tests(const struct markr_views_reader *reader, const struct markr_tests_page *page,
                     markr_test_visitor visit, void *arg, char *next, struct markr_error *err)
{
    struct pager pager = {.visit_test = visit, .arg = arg, .limit = page->limit, .next = next};

    markr_error_clear(err);
    next[0] = '\0';
    if (check_page(page, err) != 0)
        return -1;
    return end_page(reader->list_tests(reader->ctx, page->after, page->after_len, page->limit + 1, visit_paged_test,
                                       &pager, err),
                    &pager);
}

/* The range of a page asked for by limit and offset. */
static int check_offset_page(uint64_t limit, uint64_t offset, struct markr_error *err)
{
    if (limit < 1 || limit > MARKR_PAGE_LIMIT_MAX)
        return markr_error_set(err, MARKR_ERR_BAD_REQUEST, "bad_limit", "limit must be an integer from 1 to %d",
                               MARKR_PAGE_LIMIT_MAX);
    if (offset > MARKR_PAGE_OFFSET_MAX)
        return markr_error_set(err, MARKR_ERR_BAD_REQUEST, "bad_offset", "offset must be an integer from 0 to %d",
                               MARKR_PAGE_OFFSET_MAX);
    return 0;
}

int markr_list_results(const struct markr_views_reader *reader, const char *test_id, size_t len,
                       const struct markr_results_page *page, markr_row_visitor visit, void *arg, uint64_t *total,
                       struct markr_error *err)
{
    markr_error_clear(err);
    *total = 0;
    if (check_offset_page(page->limit, page->offset, err) != 0)
        return -1;
    if (page->after != NULL && (page->offset != 0 || !markr_id_valid(page->after, page->after_len)))
        return markr_error_set(err, MARKR_ERR_BAD_REQUEST, "bad_cursor",
                               "cursor must be the next_cursor of a previous page");
    if (!markr_id_valid(test_id, len))
        return markr_error_set(err, MARKR_ERR_NOT_FOUND, "unknown_test", "no results for that test id");
    return reader->list_results(reader->ctx, test_id, len, page, visit, arg, total, err);
}

int markr_list_students(const struct markr_views_reader *reader, uint64_t limit, uint64_t offset,
                        markr_student_visitor visit, void *arg, uint64_t *total, struct markr_error *err)
{
    markr_error_clear(err);
    *total = 0;
    if (check_offset_page(limit, offset, err) != 0)
        return -1;
    return reader->list_students(reader->ctx, limit, offset, visit, arg, total, err);
}

int markr_get_student(const struct markr_views_reader *reader, const char *student, size_t len,
                      const struct markr_tests_page *page, markr_row_visitor visit, void *arg, double *mean_percent,
                      char *next, struct markr_error *err)
{
    struct pager pager = {.visit_row = visit, .arg = arg, .limit = page->limit, .next = next};

    markr_error_clear(err);
    next[0] = '\0';
    if (check_page(page, err) != 0)
        return -1;
    if (!markr_id_valid(student, len))
        return markr_error_set(err, MARKR_ERR_NOT_FOUND, "unknown_student", "no results for that student number");
    return end_page(reader->student_results(reader->ctx, student, len, page->after, page->after_len, page->limit + 1,
                                            visit_paged_row, &pager, mean_percent, err),
                    &pager);
}

int markr_get_histogram(const struct markr_views_reader *reader, const char *test_id, size_t len, unsigned bins,
                        uint64_t *counts, uint64_t *total, struct markr_error *err)
{
    markr_error_clear(err);
    *total = 0;
    if (bins < 1 || bins > MARKR_HISTOGRAM_BINS_MAX)
        return markr_error_set(err, MARKR_ERR_BAD_REQUEST, "bad_bins", "bins must be an integer from 1 to %d",
                               MARKR_HISTOGRAM_BINS_MAX);
    if (!markr_id_valid(test_id, len))
        return markr_error_set(err, MARKR_ERR_NOT_FOUND, "unknown_test", "no results for that test id");
    memset(counts, 0, bins * sizeof(*counts));
    return reader->histogram(reader->ctx, test_id, len, bins, counts, total, err);
}
