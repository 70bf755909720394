/*
 * The view use cases: parameter checks, then one call to the views reader. An id that
 * cannot have been stored (empty, untrimmed, too long, holding NUL) is not found without a
 * query, as for the aggregate.
 */
#include "views.h"

#include <string.h>

#include "ids.h"

int markr_list_tests(const struct markr_views_reader *reader, markr_test_visitor visit, void *arg,
                     struct markr_error *err)
{
    markr_error_clear(err);
    return reader->list_tests(reader->ctx, visit, arg, err);
}

int markr_list_results(const struct markr_views_reader *reader, const char *test_id, size_t len,
                       const struct markr_results_page *page, markr_row_visitor visit, void *arg, uint64_t *total,
                       struct markr_error *err)
{
    markr_error_clear(err);
    *total = 0;
    if (page->limit < 1 || page->limit > MARKR_PAGE_LIMIT_MAX)
        return markr_error_set(err, MARKR_ERR_BAD_REQUEST, "bad_limit", "limit must be an integer from 1 to %d",
                               MARKR_PAGE_LIMIT_MAX);
    if (page->offset > MARKR_PAGE_OFFSET_MAX)
        return markr_error_set(err, MARKR_ERR_BAD_REQUEST, "bad_offset", "offset must be an integer from 0 to %d",
                               MARKR_PAGE_OFFSET_MAX);
    if (!markr_id_valid(test_id, len))
        return markr_error_set(err, MARKR_ERR_NOT_FOUND, "unknown_test", "no results for that test id");
    return reader->list_results(reader->ctx, test_id, len, page, visit, arg, total, err);
}

int markr_get_student(const struct markr_views_reader *reader, const char *student, size_t len,
                      markr_row_visitor visit, void *arg, double *mean_percent, struct markr_error *err)
{
    markr_error_clear(err);
    if (!markr_id_valid(student, len))
        return markr_error_set(err, MARKR_ERR_NOT_FOUND, "unknown_student", "no results for that student number");
    return reader->student_results(reader->ctx, student, len, visit, arg, mean_percent, err);
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
