/*
 * The binary array writer (pg_arrays.h).
 */
#include "pg_arrays.h"

#include <stdlib.h>
#include <string.h>

#define PARAMETER_MAX 1000000000 /* bytes: the protocol's limit for one value, with margin */

void markr_pg_buffer_reserve(struct markr_pg_buffer *b, size_t n)
{
    size_t cap;
    char *grown;

    if (b->failed || b->cap - b->len >= n)
        return;
    if (n > PARAMETER_MAX - b->len) {
        b->failed = 1;
        return;
    }
    for (cap = b->cap != 0 ? b->cap : 256; cap - b->len < n;)
        cap *= 2;
    if (cap > PARAMETER_MAX)
        cap = PARAMETER_MAX;
    if ((grown = realloc(b->bytes, cap)) == NULL) {
        b->failed = 1;
        return;
    }
    b->bytes = grown;
    b->cap = cap;
}

static void put_u32(struct markr_pg_buffer *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
                          (unsigned char)v};

    markr_pg_buffer_put(b, x, 4);
}

void markr_pg_array_begin(struct markr_pg_buffer *b, Oid element, size_t count, int has_nulls)
{
    put_u32(b, count != 0 ? 1 : 0);
    put_u32(b, has_nulls ? 1 : 0);
    put_u32(b, element);
    if (count != 0) {
        put_u32(b, (uint32_t)count);
        put_u32(b, 1);
    }
}

void markr_pg_array_bytes(struct markr_pg_buffer *b, const char *bytes, size_t n)
{
    if (n > PARAMETER_MAX) {
        b->failed = 1;
        return;
    }
    put_u32(b, (uint32_t)n);
    markr_pg_buffer_put(b, bytes, n);
}

void markr_pg_array_int4(struct markr_pg_buffer *b, uint32_t v)
{
    put_u32(b, 4);
    put_u32(b, v);
}

void markr_pg_array_int8(struct markr_pg_buffer *b, uint64_t v)
{
    put_u32(b, 8);
    put_u32(b, (uint32_t)(v >> 32));
    put_u32(b, (uint32_t)v);
}

void markr_pg_array_null(struct markr_pg_buffer *b)
{
    put_u32(b, UINT32_MAX); /* -1: NULL */
}
