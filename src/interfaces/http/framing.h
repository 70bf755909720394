/*
 * Whether a request's head frames its body one way only. h2o 2.2.5 keeps neither
 * Content-Length nor Transfer-Encoding in req->headers: it takes the first Content-Length
 * and lets a Transfer-Encoding win over it silently, so a second request hidden in a body
 * (request smuggling behind a proxy that frames it the other way) cannot be seen there.
 * This reads the head again as it arrived, without h2o, so the rule is unit-tested alone;
 * the server checks every request with it before routing, and keeps the connection after a
 * body only when its framing is plain (server.c, ADR 0023).
 */
#ifndef MARKR_INTERFACES_HTTP_FRAMING_H
#define MARKR_INTERFACES_HTTP_FRAMING_H

#include <stddef.h>
#include <stdint.h>

enum markr_framing_verdict {
    MARKR_FRAMING_OK,
    MARKR_FRAMING_DUPLICATE_LENGTH,     /* more than one Content-Length, equal or not */
    MARKR_FRAMING_LENGTH_AND_TRANSFER,  /* Content-Length and Transfer-Encoding together */
    MARKR_FRAMING_UNKNOWN_TRANSFER,     /* a Transfer-Encoding other than exactly one "chunked" */
    MARKR_FRAMING_FOLDED_HEADER,        /* a header line continued on the next (obs-fold) */
    MARKR_FRAMING_UNREADABLE,           /* no end of the head within len bytes */
};

/* How a head that is not refused delimits its body. */
enum markr_framing_kind {
    MARKR_FRAMING_NO_BODY,      /* neither Content-Length nor Transfer-Encoding */
    MARKR_FRAMING_PLAIN_LENGTH, /* one Content-Length of 1 to 19 decimal digits, nothing else */
    MARKR_FRAMING_OTHER_BODY,   /* a chunked body, or a Content-Length that is not plain digits */
};

struct markr_framing_body {
    enum markr_framing_kind kind;
    uint64_t length; /* the Content-Length's value for MARKR_FRAMING_PLAIN_LENGTH, else 0 */
};

/* Reads the request head at the start of the len bytes of raw (request line, header lines,
 * the blank line; bytes after it, the body and whatever follows, are not read). Names match
 * in any case; values are compared without the white space around them. Lines end in LF
 * with or without CR, as h2o's parser accepts them. Never reads past len. *body is set
 * whatever the verdict: for a refused or unreadable head it is MARKR_FRAMING_OTHER_BODY.
 * Only a plain length is a framing that no HTTP/1.1 parser reads differently: a connection
 * may be kept after such a body, and after no other (ADR 0023). */
enum markr_framing_verdict markr_framing_check(const char *raw, size_t len, struct markr_framing_body *body);

/* One sentence for the 400 answer of a verdict other than MARKR_FRAMING_OK. */
const char *markr_framing_problem(enum markr_framing_verdict verdict);

#endif
