/*
 * The aggregate of one test, read from the results reader. Test ids are opaque: any string
 * is valid, but one that cannot have been stored cannot be found, so the store is not asked.
 */
#include "get_aggregate.h"

#include <string.h>

#include "domain/result.h"

int markr_aggregate_unknown(struct markr_error *err)
{
    return markr_error_set(err, MARKR_ERR_NOT_FOUND, "unknown_test", "no results for that test id");
}

int markr_get_aggregate(const struct markr_results_reader *reader, const char *test_id, size_t len,
                        struct markr_aggregate *out, struct markr_error *err)
{
    const char *trimmed = test_id;
    size_t trimmed_len = len;

    markr_error_clear(err);
    markr_trim(&trimmed, &trimmed_len);
    /* Stored ids are trimmed, non-empty, at most MARKR_TEXT_MAX bytes and free of NUL. */
    if (len == 0 || trimmed_len != len || len > MARKR_TEXT_MAX || memchr(test_id, '\0', len) != NULL)
        return markr_aggregate_unknown(err);
    return reader->aggregate(reader->ctx, test_id, len, out, err);
}
