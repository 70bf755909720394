/*
 * The CORS rule (cors.h): what a setting may say, and which requests it covers.
 */
#include "cors.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "router.h" /* MARKR_METHOD_* */

/* Whether text[0..len) is an origin a browser would send: http(s)://host[:port], the host
 * a DNS name or IPv4 address, or an IPv6 literal in brackets. */
static int origin_valid(const char *text, size_t len)
{
    size_t i;

    if (len > 7 && strncasecmp(text, "http://", 7) == 0)
        i = 7;
    else if (len > 8 && strncasecmp(text, "https://", 8) == 0)
        i = 8;
    else
        return 0;
    if (text[i] == '[') { /* an IPv6 literal */
        const char *close = memchr(text + i, ']', len - i);

        if (close == NULL || close == text + i + 1)
            return 0;
        for (const char *p = text + i + 1; p < close; ++p)
            if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
                return 0;
        i = (size_t)(close - text) + 1;
    } else {
        size_t start = i;

        while (i < len && (isalnum((unsigned char)text[i]) || text[i] == '-' || text[i] == '.'))
            ++i;
        if (i == start)
            return 0;
    }
    if (i < len && text[i] == ':') {
        size_t digits = 0;

        for (++i; i < len && isdigit((unsigned char)text[i]); ++i)
            ++digits;
        if (digits == 0 || digits > 5)
            return 0;
    }
    return i == len;
}

int markr_cors_parse(const char *text, struct markr_cors *cors, char *errbuf, size_t errlen)
{
    const char *p = text;

    cors->any = 0;
    cors->count = 0;
    for (;;) {
        const char *comma = strchr(p, ','), *end = comma != NULL ? comma : p + strlen(p);
        size_t len;

        while (p < end && isspace((unsigned char)*p))
            ++p;
        while (end > p && isspace((unsigned char)end[-1]))
            --end;
        len = (size_t)(end - p);
        if (len == 1 && *p == '*') {
            cors->any = 1;
        } else if (len == 0) {
            snprintf(errbuf, errlen, "an empty entry");
            return -1;
        } else if (len > MARKR_CORS_ORIGIN_MAX || !origin_valid(p, len)) {
            snprintf(errbuf, errlen, "'%.*s' is not an origin (scheme://host[:port], no path)",
                     (int)(len > 80 ? 80 : len), p);
            return -1;
        } else if (cors->count == MARKR_CORS_ORIGINS_MAX) {
            snprintf(errbuf, errlen, "more than %d origins", MARKR_CORS_ORIGINS_MAX);
            return -1;
        } else {
            for (size_t i = 0; i < len; ++i)
                cors->origins[cors->count][i] = (char)tolower((unsigned char)p[i]);
            cors->origins[cors->count++][len] = '\0';
        }
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    if (cors->any && cors->count != 0) {
        snprintf(errbuf, errlen, "'*' stands alone: it already allows every origin");
        return -1;
    }
    return 0;
}

int markr_cors_route_shared(const struct markr_cors *cors, unsigned methods, enum markr_access access,
                            int readers_protected)
{
    if (!cors->any && cors->count == 0)
        return 0;
    switch (access) {
    case MARKR_ACCESS_OPEN:
        return (methods & MARKR_METHOD_GET) != 0;
    case MARKR_ACCESS_READER:
        /* Open while no reader token exists: sharing it would hand names and marks to any
         * page a user of the network visits. With tokens, a page needs one to read. */
        return readers_protected && (methods & MARKR_METHOD_GET) != 0;
    case MARKR_ACCESS_IMPORT:
        return cors->import;
    case MARKR_ACCESS_OPERATOR: /* the vault and the feed: an operator's tools are not pages */
    case MARKR_ACCESS_ADMIN:
        break;
    }
    return 0;
}

int markr_cors_origin_allowed(const struct markr_cors *cors, const char *origin, size_t len)
{
    if (cors->any)
        return len != 0;
    for (size_t i = 0; i < cors->count; ++i)
        if (strlen(cors->origins[i]) == len && strncasecmp(cors->origins[i], origin, len) == 0)
            return 1;
    return 0;
}
