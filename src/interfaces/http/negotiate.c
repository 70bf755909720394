/*
 * Content negotiation of the reads that have a CSV form (negotiate.h).
 */
#include "negotiate.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* A qvalue (RFC 9110: 0, 0.x.., 1, 1.000) in thousandths, or -1 when malformed. */
static int qvalue(const char *p, size_t len)
{
    int q, scale = 100;

    if (len == 0 || (p[0] != '0' && p[0] != '1'))
        return -1;
    q = (p[0] - '0') * 1000;
    if (len == 1)
        return q;
    if (p[1] != '.' || len > 5)
        return -1;
    for (size_t i = 2; i < len; ++i, scale /= 10) {
        if (!isdigit((unsigned char)p[i]))
            return -1;
        q += (p[i] - '0') * scale;
    }
    return q > 1000 ? -1 : q;
}

/* The q parameter of one media range's parameters (after its first ';'), 1000 without. */
static int range_quality(const char *p, const char *end)
{
    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p)), *stop = semi != NULL ? semi : end;

        while (p < stop && is_ows(*p))
            ++p;
        if (stop - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
            const char *v = p + 2, *v_end = stop;
            int q;

            while (v_end > v && is_ows(v_end[-1]))
                --v_end;
            q = qvalue(v, (size_t)(v_end - v));
            return q < 0 ? 0 : q; /* a malformed q accepts nothing */
        }
        p = stop + (semi != NULL);
    }
    return 1000;
}

int markr_accept_quality(const char *accept, size_t len, const char *type)
{
    size_t type_len = strlen(type);
    const char *p = accept, *end = accept + len;
    int best = -1;

    while (accept != NULL && p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p)), *stop = comma != NULL ? comma : end;
        const char *semi = memchr(p, ';', (size_t)(stop - p)), *name_end = semi != NULL ? semi : stop;

        while (p < name_end && is_ows(*p))
            ++p;
        while (name_end > p && is_ows(name_end[-1]))
            --name_end;
        if ((size_t)(name_end - p) == type_len && strncasecmp(p, type, type_len) == 0) {
            int q = semi != NULL ? range_quality(semi + 1, stop) : 1000;

            if (q > best)
                best = q;
        }
        p = stop + (comma != NULL);
    }
    return best;
}

int markr_negotiate_format(const char *format, size_t format_len, const char *accept, size_t accept_len)
{
    int csv, json;

    if (format != NULL) {
        if (format_len == 4 && memcmp(format, "json", 4) == 0)
            return MARKR_FORM_JSON;
        if (format_len == 3 && memcmp(format, "csv", 3) == 0)
            return MARKR_FORM_CSV;
        return -1;
    }
    csv = markr_accept_quality(accept, accept_len, "text/csv");
    json = markr_accept_quality(accept, accept_len, "application/json");
    return csv > 0 && csv > json ? MARKR_FORM_CSV : MARKR_FORM_JSON;
}
