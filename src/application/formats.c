/*
 * Matching a Content-Type value against the formats' media types (RFC 9110 section 8.3:
 * the type and subtype are case-insensitive; parameters follow a ';').
 */
#include "formats.h"

#include <string.h>
#include <strings.h>

const struct markr_format *markr_formats_find(const struct markr_formats *formats, const char *content_type,
                                              size_t len)
{
    const char *p = content_type, *semi, *end;

    if (content_type == NULL || len == 0)
        return NULL;
    semi = memchr(content_type, ';', len);
    end = semi != NULL ? semi : content_type + len;
    while (p < end && (*p == ' ' || *p == '\t'))
        ++p;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        --end;
    for (size_t i = 0; i < formats->count; ++i) {
        const char *type = formats->items[i].media_type;

        if ((size_t)(end - p) == strlen(type) && strncasecmp(p, type, strlen(type)) == 0)
            return &formats->items[i];
    }
    return NULL;
}
