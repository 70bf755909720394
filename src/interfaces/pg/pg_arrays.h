/*
 * The one writer of PostgreSQL's binary array format (what array_send writes and array_recv
 * reads), for the arrays the marks statement sends as parameters (sheets included): no
 * text to escape and nothing for the server to parse but lengths (ADR 0003). The layout,
 * all integers big-endian:
 *   ndim (1, or 0 when empty), has-nulls flag, element type OID,
 *   per dimension: length, lower bound (1);
 *   per element: byte length (-1 for NULL), then the bytes (text as is; int4 and int8
 *   big-endian; a composite as record_send writes it: its column count, then per column
 *   the column's type OID, byte length (-1 for NULL) and bytes).
 * Private to the adapter.
 */
#ifndef MARKR_INTERFACES_PG_ARRAYS_H
#define MARKR_INTERFACES_PG_ARRAYS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>

#include "domain/copy.h"
#include "pg_internal.h"

/* The most bytes one parameter may have: the protocol's limit for one value, with margin. */
#define MARKR_PG_PARAMETER_MAX 1000000000

/* A growing byte buffer; `failed` once out of memory or past MARKR_PG_PARAMETER_MAX (every
 * later write is then ignored). Zero-initialise; free bytes when done. */
struct markr_pg_buffer {
    char *bytes;
    size_t len, cap;
    int failed;
};

/* Makes room for n more bytes at once (a writer that knows its size allocates once). */
void markr_pg_buffer_reserve(struct markr_pg_buffer *b, size_t n);

/* Room for n more bytes: returns where they go, or NULL once the buffer failed. A writer
 * that knows how many bytes a run of elements takes asks once, writes them through that
 * cursor (the _at functions below, which check nothing) and hands the cursor's end to
 * markr_pg_buffer_wrote; at most n bytes may be written so. */
static inline char *markr_pg_buffer_room(struct markr_pg_buffer *b, size_t n)
{
    if (b->failed || b->cap - b->len < n) {
        markr_pg_buffer_reserve(b, n);
        if (b->failed)
            return NULL;
    }
    return b->bytes + b->len;
}

static inline void markr_pg_buffer_wrote(struct markr_pg_buffer *b, const char *end)
{
    b->len = (size_t)(end - b->bytes);
}

/* Writes v as the format's integers are, a big-endian 32-bit word (every length, count and
 * integer of it), at p: one byte-swapped store. Returns the cursor past it. */
static inline char *markr_pg_u32_at(char *p, uint32_t v)
{
    v = htonl(v);
    memcpy(p, &v, 4);
    return p + 4;
}

/* An element of n bytes (n <= MARKR_PG_PARAMETER_MAX) at p: its length, then the bytes. */
static inline char *markr_pg_element_bytes_at(char *p, const char *bytes, size_t n)
{
    p = markr_pg_u32_at(p, (uint32_t)n);
    markr_copy(p, bytes, n);
    return p + n;
}

/* An int4 element at p: 8 bytes. */
static inline char *markr_pg_element_int4_at(char *p, uint32_t v)
{
    return markr_pg_u32_at(markr_pg_u32_at(p, 4), v);
}

/* Appends n bytes. Inline, with the room checked here: the statements' writers append a few
 * bytes at a time, thousands of times per import, and two calls per append (this one and
 * memcpy's, of an unknown length) were 7 % of a 30-result import's instructions. */
static inline void markr_pg_buffer_put(struct markr_pg_buffer *b, const void *bytes, size_t n)
{
    char *p = markr_pg_buffer_room(b, n);

    if (p != NULL) {
        memcpy(p, bytes, n);
        b->len += n;
    }
}

/* Appends a word (markr_pg_u32_at). Inline like markr_pg_buffer_put: the arrays write several
 * per element. */
static inline void markr_pg_buffer_put_u32(struct markr_pg_buffer *b, uint32_t v)
{
    char *p = markr_pg_buffer_room(b, 4);

    if (p != NULL)
        markr_pg_buffer_wrote(b, markr_pg_u32_at(p, v));
}

/* The header of a one-dimensional array of count elements of type element; has_nulls says
 * whether any element will be NULL. Then exactly count elements, each written by one of the
 * functions below (inline for the same reason) or by their _at forms. */
void markr_pg_array_begin(struct markr_pg_buffer *b, Oid element, size_t count, int has_nulls);

static inline void markr_pg_array_bytes(struct markr_pg_buffer *b, const char *bytes, size_t n)
{
    char *p;

    if (n > MARKR_PG_PARAMETER_MAX) {
        b->failed = 1;
        return;
    }
    if ((p = markr_pg_buffer_room(b, 4 + n)) != NULL)
        markr_pg_buffer_wrote(b, markr_pg_element_bytes_at(p, bytes, n));
}

static inline void markr_pg_array_int4(struct markr_pg_buffer *b, uint32_t v)
{
    char *p = markr_pg_buffer_room(b, 8);

    if (p != NULL)
        markr_pg_buffer_wrote(b, markr_pg_element_int4_at(p, v));
}

static inline void markr_pg_array_int8(struct markr_pg_buffer *b, uint64_t v)
{
    markr_pg_buffer_put_u32(b, 8);
    markr_pg_buffer_put_u32(b, (uint32_t)(v >> 32));
    markr_pg_buffer_put_u32(b, (uint32_t)v);
}

static inline void markr_pg_array_null(struct markr_pg_buffer *b)
{
    markr_pg_buffer_put_u32(b, UINT32_MAX); /* -1: NULL */
}

/* An element (or a composite's column) whose length is known only once it is written: open
 * writes a placeholder for its length and returns where it is, close (after the value's
 * bytes) fills it in. */
size_t markr_pg_value_open(struct markr_pg_buffer *b);
void markr_pg_value_close(struct markr_pg_buffer *b, size_t at);

/* A composite value of columns columns: then, for each column in order, its type OID
 * (markr_pg_record_column) followed by exactly one value (open ... close, or null). */
void markr_pg_record_begin(struct markr_pg_buffer *b, uint32_t columns);
void markr_pg_record_column(struct markr_pg_buffer *b, Oid type);

#endif
