/*
 * Copying the few bytes of a value. Most values markr keeps are a byte or two (a question's
 * number, a mark, a response's letter), copied several times per answer on their way from
 * the parser to the database; memcpy of a length the compiler cannot see is a call, which
 * costs more than such a copy. Header-only, like sort.h, for the domain and its adapters.
 */
#ifndef MARKR_DOMAIN_COPY_H
#define MARKR_DOMAIN_COPY_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* memcpy(dst, src, n) for buffers that do not overlap. Up to 16 bytes it is two fixed-size
 * copies of the largest power of two not above n, from the start and to the end (they
 * overlap in the middle), which the compiler writes as a few moves; longer values call
 * memcpy. */
static inline void markr_copy(void *dst, const void *src, size_t n)
{
    char *d = dst;
    const char *s = src;

    if (n > 16) {
        memcpy(d, s, n);
    } else if (n >= 8) {
        uint64_t head, tail;

        memcpy(&head, s, 8);
        memcpy(&tail, s + n - 8, 8);
        memcpy(d, &head, 8);
        memcpy(d + n - 8, &tail, 8);
    } else if (n >= 4) {
        uint32_t head, tail;

        memcpy(&head, s, 4);
        memcpy(&tail, s + n - 4, 4);
        memcpy(d, &head, 4);
        memcpy(d + n - 4, &tail, 4);
    } else if (n >= 2) {
        uint16_t head, tail;

        memcpy(&head, s, 2);
        memcpy(&tail, s + n - 2, 2);
        memcpy(d, &head, 2);
        memcpy(d + n - 2, &tail, 2);
    } else if (n == 1) {
        *d = *s;
    }
}

#endif
