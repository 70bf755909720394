/*
 * The Content-Encoding adapter: which values are read as which coding; gzip, zlib and raw
 * deflate bodies decoded; a decoded size exactly at the limit accepted and one byte over it
 * refused (and a bomb refused without inflating it whole); truncated, corrupt and trailing
 * data refused; several gzip members read as one body.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "interfaces/http/content_encoding.h"

#define GZIP_BITS (16 + MAX_WBITS)
#define ZLIB_BITS MAX_WBITS
#define RAW_BITS (-MAX_WBITS)

/* in compressed with window bits `bits` (malloc'd, *out_len bytes). */
static char *compress_with(int bits, const char *in, size_t len, size_t *out_len)
{
    z_stream z = {0};
    size_t cap = deflateBound(&z, (uLong)len) + 64;
    char *out = malloc(cap);

    assert_non_null(out);
    assert_int_equal(deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, bits, 9, Z_DEFAULT_STRATEGY), Z_OK);
    cap = deflateBound(&z, (uLong)len) + 64;
    assert_non_null(out = realloc(out, cap));
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *out_len = (size_t)z.total_out;
    deflateEnd(&z);
    return out;
}

static const char doc[] = "<mcq-test-results><mcq-test-result><test-id>9863</test-id></mcq-test-result>"
                          "</mcq-test-results>\n";

static enum markr_content_encoding parse(const char *value)
{
    return markr_content_encoding_parse(value, strlen(value));
}

static void values_are_read_strictly(void **state)
{
    (void)state;
    assert_int_equal(parse("identity"), MARKR_ENCODING_IDENTITY);
    assert_int_equal(parse(" GZip "), MARKR_ENCODING_GZIP);
    assert_int_equal(parse("x-gzip"), MARKR_ENCODING_GZIP);
    assert_int_equal(parse("Deflate\t"), MARKR_ENCODING_DEFLATE);
    assert_int_equal(parse("br"), MARKR_ENCODING_UNSUPPORTED);
    assert_int_equal(parse("compress"), MARKR_ENCODING_UNSUPPORTED);
    assert_int_equal(parse("gzip, deflate"), MARKR_ENCODING_UNSUPPORTED);
    assert_int_equal(parse("gzip,"), MARKR_ENCODING_UNSUPPORTED);
    assert_int_equal(parse(""), MARKR_ENCODING_UNSUPPORTED);
    assert_int_equal(parse("gzipx"), MARKR_ENCODING_UNSUPPORTED);
    /* Only the len bytes given are read. */
    assert_int_equal(markr_content_encoding_parse("gzip, br", 4), MARKR_ENCODING_GZIP);
    assert_string_equal(markr_content_encoding_name(MARKR_ENCODING_GZIP), "gzip");
    assert_string_equal(markr_content_encoding_name(MARKR_ENCODING_DEFLATE), "deflate");
    assert_string_equal(markr_content_encoding_name(MARKR_ENCODING_IDENTITY), "identity");
}

static void decoded(enum markr_content_encoding encoding, int bits)
{
    size_t len, out_len;
    char *packed = compress_with(bits, doc, sizeof(doc) - 1, &len), *out;

    assert_int_equal(markr_content_decode(encoding, packed, len, 1 << 20, &out, &out_len), MARKR_DECODE_OK);
    assert_int_equal(out_len, sizeof(doc) - 1);
    assert_memory_equal(out, doc, out_len);
    free(out);
    free(packed);
}

static void gzip_zlib_and_raw_deflate_are_decoded(void **state)
{
    (void)state;
    decoded(MARKR_ENCODING_GZIP, GZIP_BITS);
    decoded(MARKR_ENCODING_DEFLATE, ZLIB_BITS);
    decoded(MARKR_ENCODING_DEFLATE, RAW_BITS);
}

static void the_limit_is_on_the_decoded_size_exactly(void **state)
{
    size_t n = 300000, len, out_len;
    char *plain = malloc(n), *packed, *out;

    (void)state;
    assert_non_null(plain);
    for (size_t i = 0; i < n; ++i)
        plain[i] = (char)('a' + (i * 7919) % 26);
    packed = compress_with(GZIP_BITS, plain, n, &len);
    assert_int_equal(markr_content_decode(MARKR_ENCODING_GZIP, packed, len, n, &out, &out_len), MARKR_DECODE_OK);
    assert_int_equal(out_len, n);
    assert_memory_equal(out, plain, n);
    free(out);
    assert_int_equal(markr_content_decode(MARKR_ENCODING_GZIP, packed, len, n - 1, &out, &out_len),
                     MARKR_DECODE_TOO_LARGE);
    assert_null(out);
    assert_int_equal(out_len, 0);
    free(packed);
    /* An empty document fits a limit of 0; one byte does not. */
    packed = compress_with(GZIP_BITS, "", 0, &len);
    assert_int_equal(markr_content_decode(MARKR_ENCODING_GZIP, packed, len, 0, &out, &out_len), MARKR_DECODE_OK);
    assert_int_equal(out_len, 0);
    free(out);
    free(packed);
    packed = compress_with(GZIP_BITS, "x", 1, &len);
    assert_int_equal(markr_content_decode(MARKR_ENCODING_GZIP, packed, len, 0, &out, &out_len),
                     MARKR_DECODE_TOO_LARGE);
    free(packed);
    free(plain);
}

/* 256 MiB of zeros (about 250 kB packed) against a 1 MiB limit: refused, having inflated
 * no more than the limit. */
static void a_bomb_is_too_large(void **state)
{
    size_t n = 256u << 20, len, out_len;
    char *zeros = calloc(1, n), *packed, *out;

    (void)state;
    assert_non_null(zeros);
    packed = compress_with(GZIP_BITS, zeros, n, &len);
    free(zeros);
    assert_true(len < n / 500);
    assert_int_equal(markr_content_decode(MARKR_ENCODING_GZIP, packed, len, 1 << 20, &out, &out_len),
                     MARKR_DECODE_TOO_LARGE);
    assert_null(out);
    free(packed);
}

/* A budget of `left` bytes, counting what it was asked for. */
static int take_from(size_t n, void *ctx)
{
    size_t *left = ctx;

    if (n > *left)
        return -1;
    *left -= n;
    return 0;
}

/* Every growth of the output is asked of the budget first; a refusal ends the decode. */
static void the_output_is_taken_from_the_budget(void **state)
{
    size_t n = 1u << 20, len, out_len, left = 4u << 20;
    char *zeros = calloc(1, n), *packed, *out;
    struct markr_decode_budget budget = {.take = take_from, .ctx = &left};

    (void)state;
    assert_non_null(zeros);
    packed = compress_with(GZIP_BITS, zeros, n, &len);
    free(zeros);
    assert_int_equal(markr_content_decode_counted(MARKR_ENCODING_GZIP, packed, len, 2u << 20, &budget, &out,
                                                  &out_len),
                     MARKR_DECODE_OK);
    assert_int_equal(out_len, n);
    assert_true(budget.taken >= n && budget.taken <= (2u << 20) + 1);
    assert_int_equal(left + budget.taken, 4u << 20);
    free(out);
    left = n / 2; /* too little room: refused, and what was taken is said */
    budget.taken = 0;
    assert_int_equal(markr_content_decode_counted(MARKR_ENCODING_GZIP, packed, len, 2u << 20, &budget, &out,
                                                  &out_len),
                     MARKR_DECODE_NO_ROOM);
    assert_null(out);
    assert_true(budget.taken <= n / 2);
    assert_int_equal(left + budget.taken, n / 2);
    free(packed);
}

static void truncated_and_corrupt_data_are_refused(void **state)
{
    size_t len, out_len;
    char *packed = compress_with(GZIP_BITS, doc, sizeof(doc) - 1, &len), *out, *longer;

    (void)state;
    /* Cut anywhere: the header, the data, the trailer (CRC and size). */
    for (size_t cut = 0; cut < len; ++cut)
        assert_int_equal(markr_content_decode(MARKR_ENCODING_GZIP, packed, cut, 1 << 20, &out, &out_len),
                         MARKR_DECODE_CORRUPT);
    /* A flipped byte of the data or the CRC. */
    packed[len - 6] ^= 0x55;
    assert_int_equal(markr_content_decode(MARKR_ENCODING_GZIP, packed, len, 1 << 20, &out, &out_len),
                     MARKR_DECODE_CORRUPT);
    packed[len - 6] ^= 0x55;
    /* Plain XML sent as gzip, and as deflate. */
    assert_int_equal(markr_content_decode(MARKR_ENCODING_GZIP, doc, sizeof(doc) - 1, 1 << 20, &out, &out_len),
                     MARKR_DECODE_CORRUPT);
    assert_int_equal(markr_content_decode(MARKR_ENCODING_DEFLATE, doc, sizeof(doc) - 1, 1 << 20, &out, &out_len),
                     MARKR_DECODE_CORRUPT);
    /* Bytes after the stream that are no second member. */
    assert_non_null(longer = malloc(len + 3));
    memcpy(longer, packed, len);
    memcpy(longer + len, "abc", 3);
    assert_int_equal(markr_content_decode(MARKR_ENCODING_GZIP, longer, len + 3, 1 << 20, &out, &out_len),
                     MARKR_DECODE_CORRUPT);
    free(longer);
    /* Identity is not a coding to decode. */
    assert_int_equal(markr_content_decode(MARKR_ENCODING_IDENTITY, doc, 4, 1 << 20, &out, &out_len),
                     MARKR_DECODE_CORRUPT);
    free(packed);
}

static void gzip_members_follow_each_other(void **state)
{
    size_t a_len, b_len, out_len;
    char *a = compress_with(GZIP_BITS, "<mcq-test-results>", 18, &a_len);
    char *b = compress_with(GZIP_BITS, "</mcq-test-results>", 19, &b_len);
    char *both = malloc(a_len + b_len), *out;

    (void)state;
    assert_non_null(both);
    memcpy(both, a, a_len);
    memcpy(both + a_len, b, b_len);
    assert_int_equal(markr_content_decode(MARKR_ENCODING_GZIP, both, a_len + b_len, 37, &out, &out_len),
                     MARKR_DECODE_OK);
    assert_int_equal(out_len, 37);
    assert_memory_equal(out, "<mcq-test-results></mcq-test-results>", 37);
    free(out);
    /* The limit counts both members. */
    assert_int_equal(markr_content_decode(MARKR_ENCODING_GZIP, both, a_len + b_len, 36, &out, &out_len),
                     MARKR_DECODE_TOO_LARGE);
    free(both);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(values_are_read_strictly),
        cmocka_unit_test(gzip_zlib_and_raw_deflate_are_decoded),
        cmocka_unit_test(the_limit_is_on_the_decoded_size_exactly),
        cmocka_unit_test(a_bomb_is_too_large),
        cmocka_unit_test(the_output_is_taken_from_the_budget),
        cmocka_unit_test(truncated_and_corrupt_data_are_refused),
        cmocka_unit_test(gzip_members_follow_each_other),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
