/*
 * The aggregate of one test, read from the results reader. Test ids are opaque: any string
 * is valid, but one that cannot have been stored cannot be found, so the store is not asked.
 */
#include "get_aggregate.h"

#include "ids.h"

int markr_aggregate_unknown(struct markr_error *err)
{
    return markr_error_set(err, MARKR_ERR_NOT_FOUND, "unknown_test", "no results for that test id");
}

int markr_get_aggregate(const struct markr_results_reader *reader, const char *test_id, size_t len,
                        struct markr_aggregate *out, struct markr_error *err)
{
    markr_error_clear(err);
    if (!markr_id_valid(test_id, len))
        return markr_aggregate_unknown(err);
    return reader->aggregate(reader->ctx, test_id, len, out, err);
}
