/*
 * The codings of content_encoding.h, with zlib (Debian's zlib1g): inflate is the one
 * decoder every gzip and deflate producer is tested against, and writing our own would be
 * a second, untested one. The output buffer grows by doubling up to limit + 1 bytes: one
 * byte past the limit is enough to know the body is too large, and nothing more is ever
 * allocated.
 */
#include "content_encoding.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#define FIRST_OUTPUT (64 * 1024)

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

enum markr_content_encoding markr_content_encoding_parse(const char *value, size_t len)
{
    static const struct {
        const char *name;
        enum markr_content_encoding encoding;
    } known[] = {{"identity", MARKR_ENCODING_IDENTITY},
                 {"gzip", MARKR_ENCODING_GZIP},
                 {"x-gzip", MARKR_ENCODING_GZIP},
                 {"deflate", MARKR_ENCODING_DEFLATE}};

    while (len > 0 && is_space(*value)) {
        ++value;
        --len;
    }
    while (len > 0 && is_space(value[len - 1]))
        --len;
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); ++i)
        if (len == strlen(known[i].name) && strncasecmp(value, known[i].name, len) == 0)
            return known[i].encoding;
    return MARKR_ENCODING_UNSUPPORTED;
}

const char *markr_content_encoding_name(enum markr_content_encoding encoding)
{
    switch (encoding) {
    case MARKR_ENCODING_GZIP:
        return "gzip";
    case MARKR_ENCODING_DEFLATE:
        return "deflate";
    case MARKR_ENCODING_IDENTITY:
    case MARKR_ENCODING_UNSUPPORTED:
        break;
    }
    return "identity";
}

/* zlib's window bits for a coding: gzip's header and trailer (16 + 15); for deflate, a zlib
 * header when the first two bytes make one (RFC 1950: method 8, a multiple of 31), else raw
 * deflate (-15), which some clients send under that name. */
static int window_bits(enum markr_content_encoding encoding, const unsigned char *in, size_t len)
{
    if (encoding == MARKR_ENCODING_GZIP)
        return 16 + MAX_WBITS;
    if (len >= 2 && (in[0] & 0x0f) == Z_DEFLATED && (in[0] >> 4) <= 7 && ((in[0] << 8) | in[1]) % 31 == 0)
        return MAX_WBITS;
    return -MAX_WBITS;
}

/* Makes room for more output: doubles *cap, at most to limit + 1, once budget (may be NULL)
 * allows the growth. Returns 0, -1 when out of memory or -2 when the budget refuses (the old
 * buffer is kept, for the caller to free). */
static int grow(char **buf, size_t *cap, size_t limit, struct markr_decode_budget *budget)
{
    size_t want = *cap == 0 ? FIRST_OUTPUT : (*cap > SIZE_MAX / 2 ? SIZE_MAX : *cap * 2);
    char *bigger;

    if (want > limit + 1 || want < *cap)
        want = limit + 1;
    if (budget != NULL) {
        if (budget->take(want - *cap, budget->ctx) != 0)
            return -2;
        budget->taken += want - *cap;
    }
    if ((bigger = realloc(*buf, want)) == NULL)
        return -1;
    *buf = bigger;
    *cap = want;
    return 0;
}

/* Inflates all of z's input into *buf, growing it; *used is the output so far (zlib's own
 * count restarts with each gzip member). */
static enum markr_decode_result inflate_all(z_stream *z, enum markr_content_encoding encoding, size_t limit,
                                            struct markr_decode_budget *budget, char **buf, size_t *cap,
                                            size_t *used)
{
    for (;;) {
        int rc;

        if (z->avail_out == 0) {
            int grown;

            if (*used > limit)
                return MARKR_DECODE_TOO_LARGE;
            if ((grown = grow(buf, cap, limit, budget)) != 0)
                return grown == -2 ? MARKR_DECODE_NO_ROOM : MARKR_DECODE_NO_MEMORY;
            z->next_out = (Bytef *)*buf + *used;
            /* uInt: a buffer past 4 GiB is filled 1 GiB at a time. */
            z->avail_out = (uInt)((*cap - *used) > (1u << 30) ? (1u << 30) : (*cap - *used));
        }
        rc = inflate(z, Z_NO_FLUSH);
        *used = (size_t)((char *)z->next_out - *buf);
        if (*used > limit)
            return MARKR_DECODE_TOO_LARGE;
        if (rc == Z_STREAM_END) {
            if (z->avail_in == 0)
                return MARKR_DECODE_OK;
            /* Another gzip member may follow; anything after a deflate stream is not ours. */
            if (encoding != MARKR_ENCODING_GZIP || inflateReset2(z, 16 + MAX_WBITS) != Z_OK)
                return MARKR_DECODE_CORRUPT;
            continue;
        }
        if (rc == Z_MEM_ERROR)
            return MARKR_DECODE_NO_MEMORY;
        if (rc == Z_BUF_ERROR && z->avail_out != 0)
            return MARKR_DECODE_CORRUPT; /* no progress with room left: the input is truncated */
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            return MARKR_DECODE_CORRUPT;
    }
}

enum markr_decode_result markr_content_decode(enum markr_content_encoding encoding, const char *in, size_t len,
                                              size_t limit, char **out, size_t *out_len)
{
    return markr_content_decode_counted(encoding, in, len, limit, NULL, out, out_len);
}

enum markr_decode_result markr_content_decode_counted(enum markr_content_encoding encoding, const char *in,
                                                      size_t len, size_t limit, struct markr_decode_budget *budget,
                                                      char **out, size_t *out_len)
{
    z_stream z;
    char *buf = NULL;
    size_t cap = 0, used = 0;
    enum markr_decode_result result;

    *out = NULL;
    *out_len = 0;
    if (encoding != MARKR_ENCODING_GZIP && encoding != MARKR_ENCODING_DEFLATE)
        return MARKR_DECODE_CORRUPT;
    if (len > UINT32_MAX || limit >= SIZE_MAX - 1)
        return MARKR_DECODE_TOO_LARGE; /* zlib counts input in uInt; no body is that large here */
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, window_bits(encoding, (const unsigned char *)in, len)) != Z_OK)
        return MARKR_DECODE_NO_MEMORY;
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    result = inflate_all(&z, encoding, limit, budget, &buf, &cap, &used);
    if (result == MARKR_DECODE_OK) {
        *out_len = used;
        *out = buf;
    } else {
        free(buf);
    }
    inflateEnd(&z);
    return result;
}
