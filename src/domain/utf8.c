/*
 * UTF-8 validation, repair and cutting (utf8.h). One decoder, so that the database adapter,
 * the JSON answers and the truncation of messages agree on what a character is.
 */
#include "utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

size_t markr_utf8_sequence(const unsigned char *s, size_t avail)
{
    uint32_t cp;
    size_t len;

    if (avail == 0)
        return 0;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2, cp = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        len = 3, cp = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4, cp = s[0] & 0x07;
    else
        return 0;
    if (len > avail)
        return 0;
    for (size_t i = 1; i < len; ++i) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

int markr_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;

    while (len != 0) {
        size_t n = markr_utf8_sequence(p, len);

        if (n == 0)
            return 0;
        p += n;
        len -= n;
    }
    return 1;
}

char *markr_utf8_copy(const char *s, size_t len, size_t *out_len)
{
    static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */
    const unsigned char *p = (const unsigned char *)s;
    char *out, *w;

    /* Each byte becomes at most three. */
    if (len > (SIZE_MAX - 1) / 3 || (out = malloc(len * 3 + 1)) == NULL)
        return NULL;
    w = out;
    while (len != 0) {
        size_t n = markr_utf8_sequence(p, len);

        if (n == 0) {
            memcpy(w, replacement, 3);
            w += 3;
            n = 1;
        } else {
            memcpy(w, p, n);
            w += n;
        }
        p += n;
        len -= n;
    }
    *w = '\0';
    if (out_len != NULL)
        *out_len = (size_t)(w - out);
    return out;
}

size_t markr_utf8_cut(const char *s, size_t len, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t k, need;

    if (len <= max)
        return len;
    if (max == 0)
        return 0;
    /* Only the max bytes kept are read (a caller may have lost the rest, as vsnprintf does):
     * find where the last character of the prefix starts, at most three continuation bytes
     * back, and drop it when its lead byte asks for more bytes than the prefix holds. */
    k = max - 1;
    while (k > 0 && max - k < 4 && (p[k] & 0xc0) == 0x80)
        --k;
    if (p[k] >= 0xc2 && p[k] <= 0xdf)
        need = 2;
    else if (p[k] >= 0xe0 && p[k] <= 0xef)
        need = 3;
    else if (p[k] >= 0xf0 && p[k] <= 0xf4)
        need = 4;
    else
        return max; /* ASCII or a byte that starts no character: nothing to keep whole */
    return k + need > max ? k : max;
}
