/*
 * Content-Encoding of a request body: which codings POST /import reads (identity, gzip,
 * deflate) and their decoding with zlib, bounded by the decoded size, so that a small body
 * that inflates without end (a "gzip bomb") costs at most the limit. h2o-free, so it is
 * unit-tested alone; the import handlers decode on the worker, never on the loop (ADR 0023).
 */
#ifndef MARKR_INTERFACES_HTTP_CONTENT_ENCODING_H
#define MARKR_INTERFACES_HTTP_CONTENT_ENCODING_H

#include <stddef.h>

enum markr_content_encoding {
    MARKR_ENCODING_IDENTITY,
    MARKR_ENCODING_GZIP,
    MARKR_ENCODING_DEFLATE, /* zlib (RFC 1950), or raw deflate (RFC 1951) as some clients send */
    MARKR_ENCODING_UNSUPPORTED,
};

/* Reads the len bytes of one Content-Encoding value: "identity", "gzip" (or "x-gzip") or
 * "deflate", in any case, with white space around it. Anything else is unsupported: br,
 * compress, an unknown token, an empty value, a list of several codings. */
enum markr_content_encoding markr_content_encoding_parse(const char *value, size_t len);

/* "identity", "gzip" or "deflate": the name the vault records. */
const char *markr_content_encoding_name(enum markr_content_encoding encoding);

enum markr_decode_result {
    MARKR_DECODE_OK,
    MARKR_DECODE_TOO_LARGE, /* the decoded body would pass the limit */
    MARKR_DECODE_CORRUPT,   /* not data of that coding, truncated, or followed by other bytes */
    MARKR_DECODE_NO_MEMORY,
    MARKR_DECODE_NO_ROOM, /* the budget refused the output more room */
};

/* Who pays for the output buffer as it grows: take(n, ctx) is asked before each growth by n
 * bytes and returns 0 to allow it, -1 to refuse (the decode ends with MARKR_DECODE_NO_ROOM).
 * *taken sums what was allowed, for the caller to give back or keep. */
struct markr_decode_budget {
    int (*take)(size_t n, void *ctx);
    void *ctx;
    size_t taken;
};

/* Decodes the len bytes at in (gzip or deflate) into *out (malloc'd, *out_len bytes; the
 * caller frees it). Never allocates more than limit + 1 bytes of output, whatever the
 * input. A gzip body may hold several members one after the other, as gzip allows. On any
 * result but MARKR_DECODE_OK, *out is NULL. */
enum markr_decode_result markr_content_decode(enum markr_content_encoding encoding, const char *in, size_t len,
                                              size_t limit, char **out, size_t *out_len);

/* As markr_content_decode, each growth of the output first taken from budget (NULL: none). */
enum markr_decode_result markr_content_decode_counted(enum markr_content_encoding encoding, const char *in,
                                                      size_t len, size_t limit, struct markr_decode_budget *budget,
                                                      char **out, size_t *out_len);

#endif
