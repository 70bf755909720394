/*
 * Entity tags (etag.h).
 */
#include "etag.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

void markr_etag_of(const char *body, size_t len, char tag[MARKR_ETAG_MAX])
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a, 64 bits */

    for (size_t i = 0; i < len; ++i)
        h = (h ^ (unsigned char)body[i]) * 1099511628211ull;
    snprintf(tag, MARKR_ETAG_MAX, "\"%016llx%llx\"", (unsigned long long)h, (unsigned long long)len);
}

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

int markr_etag_matches(const char *value, size_t len, const char *tag)
{
    size_t tag_len = strlen(tag), i = 0;

    while (i < len) {
        size_t start, end;

        while (i < len && (is_space(value[i]) || value[i] == ','))
            ++i;
        if (i == len)
            break;
        if (value[i] == '*')
            return 1;
        if (len - i >= 2 && value[i] == 'W' && value[i + 1] == '/')
            i += 2; /* If-None-Match compares weakly: W/"x" names "x" too */
        start = i;
        if (i < len && value[i] == '"') { /* a quoted tag holds no comma */
            ++i;
            while (i < len && value[i] != '"')
                ++i;
            if (i < len)
                ++i;
        }
        end = i;
        while (i < len && is_space(value[i]))
            ++i;
        /* The member must be the tag alone: a malformed one names nothing. */
        if ((i == len || value[i] == ',') && end - start == tag_len && memcmp(value + start, tag, tag_len) == 0)
            return 1;
        while (i < len && value[i] != ',') /* whatever else is in this member */
            ++i;
    }
    return 0;
}
