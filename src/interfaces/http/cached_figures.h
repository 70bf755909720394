/*
 * The figures a cache entry holds (application/aggregate_cache.h), computed and encoded as
 * JSON text on a worker thread: the same answer as the plain handlers give.
 */
#ifndef MARKR_INTERFACES_HTTP_CACHED_FIGURES_H
#define MARKR_INTERFACES_HTTP_CACHED_FIGURES_H

#include <stddef.h>

#include "application/aggregate_cache.h"
#include "application/services.h"

/* The figures of kind for test id (len bytes) as JSON text (malloc'd, *out_len bytes), or
 * NULL with err (MARKR_ERR_NOT_FOUND for a test without marks). */
char *markr_cached_figures(struct markr_services *services, enum markr_cache_kind kind, const char *id, size_t len,
                           size_t *out_len, struct markr_error *err);

#endif
