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

void markr_pg_array_begin(struct markr_pg_buffer *b, Oid element, size_t count, int has_nulls)
{
    markr_pg_buffer_put_u32(b, count != 0 ? 1 : 0);
    markr_pg_buffer_put_u32(b, has_nulls ? 1 : 0);
    markr_pg_buffer_put_u32(b, element);
    if (count != 0) {
        markr_pg_buffer_put_u32(b, (uint32_t)count);
        markr_pg_buffer_put_u32(b, 1);
    }
}

size_t markr_pg_value_open(struct markr_pg_buffer *b)
{
    size_t at = b->len;

    markr_pg_buffer_put_u32(b, 0);
    return at;
}

void markr_pg_value_close(struct markr_pg_buffer *b, size_t at)
{
    size_t n = b->len - at - 4;

    if (b->failed) /* nothing written since may be there: the buffer is dropped anyway */
        return;
    markr_pg_u32_at(b->bytes + at, (uint32_t)n);
}

void markr_pg_record_begin(struct markr_pg_buffer *b, uint32_t columns)
{
    markr_pg_buffer_put_u32(b, columns);
}

void markr_pg_record_column(struct markr_pg_buffer *b, Oid type)
{
    markr_pg_buffer_put_u32(b, type);
}
