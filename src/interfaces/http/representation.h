/*
 * What variant of an answer a request gets, and how a client revalidates it: gzip for
 * answers over MARKR_COMPRESS_MIN_BYTES when Accept-Encoding allows it (h2o's compress
 * filter does the work), and a strong ETag for the answers that carry one, so that
 * If-None-Match is answered 304 without a body. ADR 0028.
 */
#ifndef MARKR_INTERFACES_HTTP_REPRESENTATION_H
#define MARKR_INTERFACES_HTTP_REPRESENTATION_H

#include <stddef.h>
#include <stdint.h>

#include <h2o.h>

#include "etag.h"

/* Answers of at least this many bytes are compressed (smaller ones gain nothing). */
#define MARKR_COMPRESS_MIN_BYTES 1025

/* Registers the gzip filter on pathconf. Streams whose length is unknown (CSV exports) are
 * compressed too: h2o flushes the compressor at every send, so nothing waits in it. */
void markr_http_register_compression(h2o_pathconf_t *pathconf);

/* Never compress this answer: event streams (a proxy or client must see each event as it
 * comes, not a deflate block) and raw downloads (the stored bytes, with their length). */
void markr_http_no_compression(h2o_req_t *req);

/* For a 200 answer to GET or HEAD whose whole body is known: decides its content coding
 * now (so the tag can say which), adds its ETag (the gzip variant's ends in "-gzip", as a
 * strong tag names one exact sequence of bytes), and when If-None-Match names it, answers
 * 304 with no body and returns 1. 0 otherwise: the caller sends the 200. Other methods are
 * left alone (0). */
int markr_http_conditional(h2o_req_t *req, const char *body, size_t len);

/* As markr_http_conditional, for a body of len bytes whose identity tag (markr_etag_of) is
 * already known. */
int markr_http_conditional_tagged(h2o_req_t *req, size_t len, const char *identity_tag);

struct markr_asset;

/* Hashes the compiled-in files (dashboard_assets.h) once; markr_http_serve calls it at
 * start-up, and markr_http_conditional_asset at its first use (once, whatever the thread). */
void markr_http_hash_assets(void);

/* markr_http_conditional for a compiled-in file, with the tag hashed at start-up. */
int markr_http_conditional_asset(h2o_req_t *req, const struct markr_asset *asset);

#endif
