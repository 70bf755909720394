/*
 * The framing rule of framing.h. The head has already been accepted by h2o's parser, so
 * every header line is a token, a colon and a value, or a continuation of the line before;
 * this only needs to find the lines, compare two names and read one length.
 */
#include "framing.h"

#include <string.h>
#include <strings.h>

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

static int name_is(const char *name, size_t len, const char *want)
{
    return len == strlen(want) && strncasecmp(name, want, len) == 0;
}

/* At most 19 digits, as h2o's own reading of the value (h2o_strtosize) allows: below 10^19,
 * so the value always fits in 64 bits. */
#define PLAIN_LENGTH_DIGITS 19

/* Whether the len bytes of v are a decimal number that every parser reads the same way:
 * only digits, 1 to PLAIN_LENGTH_DIGITS of them (leading zeros are digits too), no sign, no
 * list, no white space inside. Sets *value when they are. */
static int plain_length(const char *v, size_t len, uint64_t *value)
{
    uint64_t n = 0;

    if (len == 0 || len > PLAIN_LENGTH_DIGITS)
        return 0;
    for (size_t i = 0; i < len; ++i) {
        if (v[i] < '0' || v[i] > '9')
            return 0;
        n = n * 10 + (uint64_t)(v[i] - '0');
    }
    *value = n;
    return 1;
}

/* The verdict of a complete head, and how it delimits its body. */
static enum markr_framing_verdict decide(size_t lengths, int plain, uint64_t length, size_t transfers, int chunked,
                                         struct markr_framing_body *body)
{
    if (transfers != 0 && lengths != 0)
        return MARKR_FRAMING_LENGTH_AND_TRANSFER;
    if (lengths > 1)
        return MARKR_FRAMING_DUPLICATE_LENGTH;
    if (transfers > 1 || (transfers == 1 && !chunked))
        return MARKR_FRAMING_UNKNOWN_TRANSFER;
    if (lengths == 1 && plain) {
        body->kind = MARKR_FRAMING_PLAIN_LENGTH;
        body->length = length;
    } else if (lengths == 0 && transfers == 0) {
        body->kind = MARKR_FRAMING_NO_BODY;
    }
    return MARKR_FRAMING_OK;
}

enum markr_framing_verdict markr_framing_check(const char *raw, size_t len, struct markr_framing_body *body)
{
    const char *p = raw, *end = raw + len;
    size_t lengths = 0, transfers = 0;
    uint64_t length = 0;
    int chunked = 0, plain = 0, first = 1;

    body->kind = MARKR_FRAMING_OTHER_BODY; /* until a complete head says otherwise */
    body->length = 0;

    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *line_end, *colon, *v, *ve;

        if (eol == NULL)
            break;
        line_end = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
        if (first) { /* the request line */
            first = 0;
            p = eol + 1;
            continue;
        }
        if (line_end == p) /* the blank line: the head is complete */
            return decide(lengths, plain, length, transfers, chunked, body);
        /* A continuation line may hide a header from one parser and show it to another. */
        if (is_space(*p))
            return MARKR_FRAMING_FOLDED_HEADER;
        if ((colon = memchr(p, ':', (size_t)(line_end - p))) != NULL) {
            for (v = colon + 1; v < line_end && is_space(*v); ++v)
                ;
            for (ve = line_end; ve > v && is_space(ve[-1]); --ve)
                ;
            if (name_is(p, (size_t)(colon - p), "content-length")) {
                ++lengths; /* a second one is refused: only the value of a single one matters */
                plain = plain_length(v, (size_t)(ve - v), &length);
            } else if (name_is(p, (size_t)(colon - p), "transfer-encoding")) {
                ++transfers;
                chunked = (size_t)(ve - v) == 7 && strncasecmp(v, "chunked", 7) == 0;
            }
        }
        p = eol + 1;
    }
    return MARKR_FRAMING_UNREADABLE;
}

const char *markr_framing_problem(enum markr_framing_verdict verdict)
{
    switch (verdict) {
    case MARKR_FRAMING_DUPLICATE_LENGTH:
        return "the request has more than one Content-Length header";
    case MARKR_FRAMING_LENGTH_AND_TRANSFER:
        return "the request has both Content-Length and Transfer-Encoding";
    case MARKR_FRAMING_UNKNOWN_TRANSFER:
        return "the only Transfer-Encoding accepted is a single \"chunked\"";
    case MARKR_FRAMING_FOLDED_HEADER:
        return "a header line is continued on the next line (obsolete line folding)";
    case MARKR_FRAMING_UNREADABLE:
        return "the request head could not be read";
    case MARKR_FRAMING_OK:
        break;
    }
    return "the request is framed correctly";
}
