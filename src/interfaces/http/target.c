/*
 * The absolute-form rule of target.h. The authority ends at the first '/', '?' or '#' (RFC
 * 3986, section 3.2); h2o's parser has already refused control characters and spaces.
 */
#include "target.h"

#include <string.h>
#include <strings.h>

/* The length of the scheme and "://" that start target, or 0 when neither http nor https. */
static size_t scheme_len(const char *target, size_t len)
{
    static const char *const schemes[] = {"http://", "https://"};

    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); ++i) {
        size_t n = strlen(schemes[i]);

        if (len >= n && strncasecmp(target, schemes[i], n) == 0)
            return n;
    }
    return 0;
}

enum markr_target_form markr_target_read(const char *target, size_t len, struct markr_target *out)
{
    size_t start = scheme_len(target, len), end;

    memset(out, 0, sizeof(*out));
    if (start == 0)
        return MARKR_TARGET_AS_IS;
    for (end = start; end < len && target[end] != '/' && target[end] != '?' && target[end] != '#'; ++end)
        if (target[end] == '@')
            return MARKR_TARGET_BAD; /* user info: never sent in a request (RFC 9110, section 4.2.4) */
    if (end == start || (end < len && target[end] == '#'))
        return MARKR_TARGET_BAD; /* no host, or a fragment, which a request target never has */
    out->authority = target + start;
    out->authority_len = end - start;
    out->rest = target + end;
    out->rest_len = len - end;
    return MARKR_TARGET_ABSOLUTE;
}
