/*
 * Readiness (readiness.h): the storage's own check; nothing else makes an instance unready.
 */
#include "readiness.h"

int markr_check_readiness(const struct markr_readiness *readiness, struct markr_error *err)
{
    markr_error_clear(err);
    return readiness->check(readiness->ctx, err);
}

size_t markr_readiness_standbys(const struct markr_readiness *readiness, struct markr_standby_status *out, size_t max)
{
    if (readiness->standbys == NULL)
        return 0;
    return readiness->standbys(readiness->ctx, out, max);
}
