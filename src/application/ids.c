/*
 * Which ids can name something stored (ids.h): the acceptance of a document stores them
 * trimmed and bounded (domain/result.h), so that is what a lookup may be given.
 */
#include "ids.h"

#include <string.h>

#include "domain/result.h"

int markr_id_valid(const char *id, size_t len)
{
    const char *trimmed = id;
    size_t trimmed_len = len;

    /* The length is checked first: nothing past MARKR_TEXT_MAX bytes is even scanned. */
    if (len == 0 || len > MARKR_TEXT_MAX || memchr(id, '\0', len) != NULL)
        return 0;
    markr_trim(&trimmed, &trimmed_len);
    return trimmed_len == len;
}
