/*
 * The binary array writer (pg_arrays.h).
 */
#include "pg_arrays.h"

#include <stdlib.h>
#include <string.h>

void markr_pg_buffer_reserve(struct markr_pg_buffer *b, size_t n)
{
    size_t cap;
    char *grown;

    if (b->failed || b->cap - b->len >= n)
        return;
    if (n > MARKR_PG_PARAMETER_MAX - b->len) {
        b->failed = 1;
        return;
    }
    for (cap = b->cap != 0 ? b->cap : 256; cap - b->len < n;)
        cap *= 2;
    if (cap > MARKR_PG_PARAMETER_MAX)
        cap = MARKR_PG_PARAMETER_MAX;
    if ((grown = realloc(b->bytes, cap)) == NULL) {
        b->failed = 1;
        return;
    }
    b->bytes = grown;
    b->cap = cap;
}

/* Whether n more bytes can be written at b->bytes + b->len: at once when room was reserved
 * (the arrays' writers reserve their size first), else after growing the buffer. */
static int room(struct markr_pg_buffer *b, size_t n)
{
    if (!b->failed && b->cap - b->len < n)
        markr_pg_buffer_reserve(b, n);
    return !b->failed;
}

/* Every length, count and integer of the format is a big-endian 32-bit word: written in
 * place, as the arrays write several per element. */
static void put_u32(struct markr_pg_buffer *b, uint32_t v)
{
    unsigned char *p;

    if (!room(b, 4))
        return;
    p = (unsigned char *)b->bytes + b->len;
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
    b->len += 4;
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
    if (n > MARKR_PG_PARAMETER_MAX) {
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

size_t markr_pg_value_open(struct markr_pg_buffer *b)
{
    size_t at = b->len;

    put_u32(b, 0);
    return at;
}

void markr_pg_value_close(struct markr_pg_buffer *b, size_t at)
{
    size_t n = b->len - at - 4;

    if (b->failed) /* nothing written since may be there: the buffer is dropped anyway */
        return;
    b->bytes[at] = (char)(unsigned char)(n >> 24);
    b->bytes[at + 1] = (char)(unsigned char)(n >> 16);
    b->bytes[at + 2] = (char)(unsigned char)(n >> 8);
    b->bytes[at + 3] = (char)(unsigned char)n;
}

void markr_pg_record_begin(struct markr_pg_buffer *b, uint32_t columns)
{
    put_u32(b, columns);
}

void markr_pg_record_column(struct markr_pg_buffer *b, Oid type)
{
    put_u32(b, type);
}
