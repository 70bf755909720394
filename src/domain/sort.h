/*
 * Sorting what usually arrives in order. Papers list their questions in order and documents
 * their students; checking that costs one comparison per element, where qsort (a merge sort
 * with a temporary copy in glibc) costs about log2(n) and an allocation: so the check comes
 * first, and qsort runs only when something is out of order.
 */
#ifndef MARKR_DOMAIN_SORT_H
#define MARKR_DOMAIN_SORT_H

#include <stddef.h>
#include <stdlib.h>

/* qsort(base, n, size, compare), unless the n elements are already in compare's order. */
static inline void markr_sort(void *base, size_t n, size_t size, int (*compare)(const void *, const void *))
{
    const char *p = base;

    for (size_t i = 1; i < n; ++i)
        if (compare(p + (i - 1) * size, p + i * size) > 0) {
            qsort(base, n, size, compare);
            return;
        }
}

#endif
