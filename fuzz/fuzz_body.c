/*
 * libFuzzer target: what markr reads of a request body's framing and coding itself. The
 * first byte chooses: the framing rule on a raw request head (framing.h), or the gzip or
 * deflate decoder (content_encoding.h) under a small limit. The input sits in a buffer of
 * its exact size, so a read past len is a sanitizer report. Invariants: a framing verdict
 * and the body's framing are decided by the head alone (bytes after it never change them),
 * and only a head that is not refused has a plain length; a decoding never passes its
 * limit, gives nothing on refusal, and gives the same bytes under a larger limit.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "interfaces/http/content_encoding.h"
#include "interfaces/http/framing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LIMIT 4096

static void framing(const char *head, size_t size)
{
    static const char after[] = "X: y\r\nContent-Length: 1\r\nContent-Length: 2\r\n \r\n\r\n";
    struct markr_framing_body body, again;
    enum markr_framing_verdict v = markr_framing_check(head, size, &body);
    char *longer;

    if (v == MARKR_FRAMING_UNREADABLE)
        return;
    if ((longer = malloc(size + sizeof(after))) == NULL)
        return;
    memcpy(longer, head, size);
    memcpy(longer + size, after, sizeof(after));
    if (markr_framing_check(longer, size + sizeof(after), &again) != v || again.kind != body.kind ||
        again.length != body.length)
        abort();
    /* A kept connection needs one plain length, in a head that is not refused. */
    if (body.kind == MARKR_FRAMING_PLAIN_LENGTH && v != MARKR_FRAMING_OK)
        abort();
    free(longer);
}

static void decode(enum markr_content_encoding encoding, const char *in, size_t size)
{
    char *out, *again;
    size_t len, again_len;
    enum markr_decode_result r = markr_content_decode(encoding, in, size, LIMIT, &out, &len);

    if (r != MARKR_DECODE_OK) {
        if (out != NULL || len != 0)
            abort();
        return;
    }
    if (out == NULL || len > LIMIT)
        abort();
    if (markr_content_decode(encoding, in, size, LIMIT * 4, &again, &again_len) != MARKR_DECODE_OK ||
        again_len != len || memcmp(again, out, len) != 0)
        abort();
    free(again);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy;

    if (size == 0)
        return 0;
    if ((copy = malloc(size - 1 != 0 ? size - 1 : 1)) == NULL)
        return 0;
    memcpy(copy, data + 1, size - 1);
    switch (data[0] % 3) {
    case 0:
        framing(copy, size - 1);
        break;
    case 1:
        decode(MARKR_ENCODING_GZIP, copy, size - 1);
        break;
    default:
        decode(MARKR_ENCODING_DEFLATE, copy, size - 1);
        break;
    }
    free(copy);
    return 0;
}
