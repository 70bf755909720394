/*
 * Reading a Content-Type value against the formats' media types (RFC 9110 section 8.3:
 * the type, subtype and parameter names are case-insensitive; parameters follow a ';').
 * The strict reading (markr_formats_parse) decides what is accepted and stored; the lenient
 * match (markr_formats_find) only names the media type of what was stored before it.
 */
#include "formats.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The charsets a document may be declared in, by their canonical (IANA, lower-case) names;
 * MARKR_ALLOWED_CHARSETS_TEXT (formats.h) names the same ones in a sentence. */
static const char *const allowed_charsets[] = {"utf-8", "us-ascii", "iso-8859-1"};

const struct markr_format *markr_formats_find(const struct markr_formats *formats, const char *content_type,
                                              size_t len)
{
    const char *p = content_type, *semi, *end;

    if (content_type == NULL || len == 0)
        return NULL;
    semi = memchr(content_type, ';', len);
    end = semi != NULL ? semi : content_type + len;
    while (p < end && (*p == ' ' || *p == '\t'))
        ++p;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        --end;
    for (size_t i = 0; i < formats->count; ++i) {
        const char *type = formats->items[i].media_type;

        if ((size_t)(end - p) == strlen(type) && strncasecmp(p, type, strlen(type)) == 0)
            return &formats->items[i];
    }
    return NULL;
}

/* --- the strict reading -------------------------------------------------------------------- */

/* RFC 9110 tchar. */
static int is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static const unsigned char *skip_ows(const unsigned char *p, const unsigned char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        ++p;
    return p;
}

static const unsigned char *skip_token(const unsigned char *p, const unsigned char *end)
{
    while (p < end && is_tchar(*p))
        ++p;
    return p;
}

/* The canonical name of an allowed charset spelt as the len bytes at name, or NULL. */
static const char *allowed_charset(const unsigned char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(allowed_charsets) / sizeof(allowed_charsets[0]); ++i)
        if (strlen(allowed_charsets[i]) == len && strncasecmp((const char *)name, allowed_charsets[i], len) == 0)
            return allowed_charsets[i];
    return NULL;
}

/* A parameter value at *p (token or quoted-string without quoted-pairs): its bytes in
 * [*start, *start + *len), and *p moved past it. Returns 0, or -1 when it is malformed. */
static int read_value(const unsigned char **p, const unsigned char *end, const unsigned char **start, size_t *len)
{
    const unsigned char *q = *p;

    if (q < end && *q == '"') {
        *start = ++q;
        while (q < end && *q != '"') {
            if (*q == '\\')
                return -1; /* no name on the allow-list needs escaping */
            ++q;
        }
        if (q == end)
            return -1;
        *len = (size_t)(q - *start);
        *p = q + 1;
        return 0;
    }
    *start = q;
    q = skip_token(q, end);
    *len = (size_t)(q - *start);
    *p = q;
    return *len != 0 ? 0 : -1;
}

enum markr_content_type_verdict markr_formats_parse(const struct markr_formats *formats, const char *value,
                                                    size_t len, const struct markr_format **format,
                                                    char *charset, size_t cap)
{
    const unsigned char *p = (const unsigned char *)value, *end = p + (value != NULL ? len : 0);
    const unsigned char *type, *type_end;
    const char *canonical = NULL;
    int other_parameter = 0, bad_charset = 0, charsets = 0;

    *format = NULL;
    if (cap > 0)
        charset[0] = '\0';
    /* A comma makes a list a browser may pick another type from; control bytes and bytes
     * beyond ASCII have no place in a media type. Tabs are white space. */
    for (const unsigned char *c = p; c < end; ++c)
        if (*c == ',' || (*c < 0x20 && *c != '\t') || *c >= 0x7f)
            return MARKR_CONTENT_TYPE_MALFORMED;
    if ((p = skip_ows(p, end)) == end)
        return MARKR_CONTENT_TYPE_MISSING;
    type = p;
    p = skip_token(p, end);
    if (p == type || p == end || *p != '/')
        return MARKR_CONTENT_TYPE_MALFORMED;
    {
        const unsigned char *subtype = ++p;

        p = skip_token(p, end);
        if (p == subtype)
            return MARKR_CONTENT_TYPE_MALFORMED;
    }
    type_end = p;
    while ((p = skip_ows(p, end)) < end) {
        const unsigned char *name, *v;
        size_t name_len, v_len;

        if (*p != ';')
            return MARKR_CONTENT_TYPE_MALFORMED;
        p = skip_ows(p + 1, end);
        name = p;
        p = skip_token(p, end);
        name_len = (size_t)(p - name);
        if (name_len == 0 || p == end || *p != '=')
            return MARKR_CONTENT_TYPE_MALFORMED; /* an empty parameter, or one without a value */
        ++p;
        if (read_value(&p, end, &v, &v_len) != 0)
            return MARKR_CONTENT_TYPE_MALFORMED;
        if (name_len != 7 || strncasecmp((const char *)name, "charset", 7) != 0 || ++charsets > 1)
            other_parameter = 1;
        else if ((canonical = allowed_charset(v, v_len)) == NULL)
            bad_charset = 1;
    }
    for (size_t i = 0; i < formats->count && *format == NULL; ++i) {
        const char *media_type = formats->items[i].media_type;

        if ((size_t)(type_end - type) == strlen(media_type) &&
            strncasecmp((const char *)type, media_type, strlen(media_type)) == 0)
            *format = &formats->items[i];
    }
    if (*format == NULL)
        return MARKR_CONTENT_TYPE_UNKNOWN;
    if (other_parameter || bad_charset || (canonical != NULL && strlen(canonical) >= cap)) {
        *format = NULL;
        return other_parameter ? MARKR_CONTENT_TYPE_PARAMETER : MARKR_CONTENT_TYPE_CHARSET;
    }
    if (canonical != NULL)
        memcpy(charset, canonical, strlen(canonical) + 1);
    return MARKR_CONTENT_TYPE_OK;
}

const char *markr_content_type_problem(enum markr_content_type_verdict verdict)
{
    switch (verdict) {
    case MARKR_CONTENT_TYPE_OK:
        return "";
    case MARKR_CONTENT_TYPE_MISSING:
        return "the request has no Content-Type";
    case MARKR_CONTENT_TYPE_MALFORMED:
        return "the Content-Type is not one media type with parameters (no commas or control characters)";
    case MARKR_CONTENT_TYPE_UNKNOWN:
        return "no import format reads that media type";
    case MARKR_CONTENT_TYPE_PARAMETER:
        return "the Content-Type may have one parameter, charset, and no other";
    case MARKR_CONTENT_TYPE_CHARSET:
        return "the charset must be " MARKR_ALLOWED_CHARSETS_TEXT;
    }
    return "the Content-Type is not accepted";
}

const char *markr_formats_canonical(const struct markr_formats *formats, const char *content_type, char *out,
                                    size_t cap)
{
    const struct markr_format *format, *strict;
    char charset[MARKR_CHARSET_MAX];
    size_t len = content_type != NULL ? strlen(content_type) : 0;
    int n;

    if ((format = markr_formats_find(formats, content_type, len)) == NULL)
        return NULL;
    /* A value stored before the strict rule may carry anything after its media type: only
     * a charset that passes the rule is kept; the rest is never served. */
    if (markr_formats_parse(formats, content_type, len, &strict, charset, sizeof(charset)) != MARKR_CONTENT_TYPE_OK ||
        strict != format)
        charset[0] = '\0';
    n = charset[0] != '\0' ? snprintf(out, cap, "%s; charset=%s", format->media_type, charset)
                           : snprintf(out, cap, "%s", format->media_type);
    return n >= 0 && (size_t)n < cap ? out : NULL;
}
