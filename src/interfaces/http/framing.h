/*
 * Whether a request's head frames its body one way only. h2o 2.2.5 keeps neither
 * Content-Length nor Transfer-Encoding in req->headers: it takes the first Content-Length
 * and lets a Transfer-Encoding win over it silently, so a second request hidden in a body
 * (request smuggling behind a proxy that frames it the other way) cannot be seen there.
 * This reads the head again as it arrived, without h2o, so the rule is unit-tested alone;
 * the server checks every request with it before routing (server.c, ADR 0023).
 */
#ifndef MARKR_INTERFACES_HTTP_FRAMING_H
#define MARKR_INTERFACES_HTTP_FRAMING_H

#include <stddef.h>

enum markr_framing_verdict {
    MARKR_FRAMING_OK,
    MARKR_FRAMING_DUPLICATE_LENGTH,     /* more than one Content-Length, equal or not */
    MARKR_FRAMING_LENGTH_AND_TRANSFER,  /* Content-Length and Transfer-Encoding together */
    MARKR_FRAMING_UNKNOWN_TRANSFER,     /* a Transfer-Encoding other than exactly one "chunked" */
    MARKR_FRAMING_FOLDED_HEADER,        /* a header line continued on the next (obs-fold) */
    MARKR_FRAMING_UNREADABLE,           /* no end of the head within len bytes */
};

/* Reads the request head at the start of the len bytes of raw (request line, header lines,
 * the blank line; bytes after it, the body and whatever follows, are not read). Names match
 * in any case; values are compared without the white space around them. Lines end in LF
 * with or without CR, as h2o's parser accepts them. Never reads past len. */
enum markr_framing_verdict markr_framing_check(const char *raw, size_t len);

/* One sentence for the 400 answer of a verdict other than MARKR_FRAMING_OK. */
const char *markr_framing_problem(enum markr_framing_verdict verdict);

#endif
