/*
 * The one rule of which ids can name something stored: test ids and student numbers are
 * stored trimmed, non-empty, at most MARKR_TEXT_MAX bytes and free of NUL, so any other
 * byte string names nothing and needs no query (nor a cache entry, nor a stream).
 */
#ifndef MARKR_APPLICATION_IDS_H
#define MARKR_APPLICATION_IDS_H

#include <stddef.h>

/* Whether id (len bytes, any bytes, not NUL-terminated) could have been stored: 1 or 0. */
int markr_id_valid(const char *id, size_t len);

#endif
