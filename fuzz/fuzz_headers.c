/*
 * libFuzzer target: the request headers markr reads itself. The same bytes are read as a
 * Content-Type (formats.h: the strict rule, the lenient match, the canonical type to
 * serve), as a Host value and as a MARKR_ALLOWED_HOSTS list (host.h), as text for the
 * UTF-8 rule every JSON answer passes (domain/utf8.h), as an Accept value (negotiate.h), an
 * If-None-Match value (etag.h), an Origin and a MARKR_CORS_ORIGINS list (cors.h), and as
 * a CSV cell (csv.h), decoded again as a spreadsheet would. The input sits in a buffer of its
 * exact size, so a read past len is a sanitizer report. Any crash, report or broken
 * invariant below is a finding.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "application/formats.h"
#include "domain/utf8.h"
#include "interfaces/http/cors.h"
#include "interfaces/http/csv.h"
#include "interfaces/http/etag.h"
#include "interfaces/http/host.h"
#include "interfaces/http/negotiate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct markr_format items[] = {{.media_type = "text/xml+markr"}, {.media_type = "application/x-other"}};
static const struct markr_formats formats = {.items = items, .count = 2};

static int allowed_charset(const char *charset)
{
    return strcmp(charset, "") == 0 || strcmp(charset, "utf-8") == 0 || strcmp(charset, "us-ascii") == 0 ||
           strcmp(charset, "iso-8859-1") == 0;
}

static void content_type(const char *value, size_t size, const char *text)
{
    const struct markr_format *format, *again;
    char charset[MARKR_CHARSET_MAX], charset2[MARKR_CHARSET_MAX], served[64];
    enum markr_content_type_verdict v = markr_formats_parse(&formats, value, size, &format, charset, sizeof(charset));
    const char *canonical;

    if (v != MARKR_CONTENT_TYPE_OK) {
        if (format != NULL || charset[0] != '\0')
            abort();
    } else {
        /* Accepted: a known format, an allowed charset, nothing a browser reads as a list
         * or another header, and the lenient match agrees. */
        if (format != &items[0] && format != &items[1])
            abort();
        if (!allowed_charset(charset) || memchr(value, ',', size) != NULL)
            abort();
        for (size_t i = 0; i < size; ++i)
            if (((unsigned char)value[i] < 0x20 && value[i] != '\t') || (unsigned char)value[i] >= 0x7f)
                abort();
        if (markr_formats_find(&formats, value, size) != format)
            abort();
    }
    /* What is served for a stored value is a known media type that the strict rule accepts
     * as the same format and charset: serving it again changes nothing. */
    canonical = markr_formats_canonical(&formats, text, served, sizeof(served));
    if (canonical == NULL) {
        if (v == MARKR_CONTENT_TYPE_OK && strlen(text) == size)
            abort(); /* an accepted value without NUL bytes always has a canonical form */
        return;
    }
    if (markr_formats_parse(&formats, canonical, strlen(canonical), &again, charset2, sizeof(charset2)) !=
            MARKR_CONTENT_TYPE_OK ||
        strncmp(canonical, again->media_type, strlen(again->media_type)) != 0)
        abort();
    if (v == MARKR_CONTENT_TYPE_OK && strlen(text) == size && (again != format || strcmp(charset, charset2) != 0))
        abort();
}

static void hosts(const char *value, size_t size, const char *text)
{
    struct markr_allowed_hosts loopback, list;
    char err[160];

    markr_allowed_hosts_default(&loopback, "127.0.0.1");
    if (markr_host_allowed(&loopback, value, size)) {
        /* Only the three loopback names, whatever the case and port. */
        const char *end = size != 0 && value[0] == '[' ? memchr(value, ']', size) : memchr(value, ':', size);
        size_t name = end == NULL ? size : (size_t)(end - value) + (value[0] == '[');

        if (!(name == 9 && strncasecmp(value, "localhost", 9) == 0) &&
            !(name == 9 && memcmp(value, "127.0.0.1", 9) == 0) && !(name == 5 && memcmp(value, "[::1]", 5) == 0))
            abort();
    }
    if (markr_allowed_hosts_parse(text, &list, err, sizeof(err)) == 0) {
        if (list.any || list.count == 0 || list.count > MARKR_ALLOWED_HOSTS_MAX)
            abort();
        /* Every listed name is allowed as a Host, and nothing is allowed by an empty value. */
        for (size_t i = 0; i < list.count; ++i)
            if (!markr_host_allowed(&list, list.names[i], strlen(list.names[i])))
                abort();
        if (markr_host_allowed(&list, "", 0))
            abort();
    } else if (memchr(err, '\0', sizeof(err)) == NULL) {
        abort();
    }
}

static void utf8(const char *value, size_t size)
{
    size_t len, cut;
    char *fixed = markr_utf8_copy(value, size, &len);

    if (fixed == NULL)
        return;
    if (!markr_utf8_valid(fixed, len) || len < size || (markr_utf8_valid(value, size) && memcmp(fixed, value, size)))
        abort();
    cut = markr_utf8_cut(fixed, len, size / 2);
    if (cut > size / 2 || (len > size / 2 && cut + 3 < size / 2) || !markr_utf8_valid(fixed, cut))
        abort();
    free(fixed);
}

static void negotiation(const char *value, size_t size)
{
    int q = markr_accept_quality(value, size, "text/csv"), form = markr_negotiate_format(NULL, 0, value, size);
    char tag[MARKR_ETAG_MAX];

    if (q < -1 || q > 1000 || (form != MARKR_FORM_JSON && form != MARKR_FORM_CSV) || (form == MARKR_FORM_CSV && q <= 0))
        abort();
    /* Any value is safe to compare; a tag names itself. */
    markr_etag_of(value, size, tag);
    (void)markr_etag_matches(value, size, tag);
    if (!markr_etag_matches(tag, strlen(tag), tag))
        abort();
}

static void cors(const char *value, size_t size, const char *text)
{
    struct markr_cors list;
    char err[160];

    memset(&list, 0, sizeof(list));
    if (markr_cors_parse(text, &list, err, sizeof(err)) == 0) {
        if (list.any == (list.count != 0) || list.count > MARKR_CORS_ORIGINS_MAX)
            abort();
        /* Every origin listed is allowed, and is one a header may echo: no separator, no
         * white space, no path. */
        for (size_t i = 0; i < list.count; ++i) {
            const char *host = strstr(list.origins[i], "://");

            if (!markr_cors_origin_allowed(&list, list.origins[i], strlen(list.origins[i])) ||
                strpbrk(list.origins[i], "\r\n\t ,;\"") != NULL || host == NULL || strchr(host + 3, '/') != NULL)
                abort();
        }
        if (markr_cors_origin_allowed(&list, "", 0))
            abort();
    } else if (memchr(err, '\0', sizeof(err)) == NULL) {
        abort();
    }
    /* An Origin a list allows is one of its entries, so never holds a line break. */
    if (!list.any && markr_cors_origin_allowed(&list, value, size) &&
        (memchr(value, '\r', size) != NULL || memchr(value, '\n', size) != NULL))
        abort();
}

/* The cell decoded as RFC 4180 reads it is the input, after the formula prefix. */
static void csv_cell(const char *value, size_t size)
{
    struct markr_csv csv;
    size_t at, out_len = 0;
    char *out;

    markr_csv_init(&csv);
    markr_csv_text(&csv, value, size);
    if (csv.failed || (out = malloc(csv.len + 1)) == NULL)
        abort();
    if (csv.len != 0 && csv.text[0] == '"') {
        if (csv.len < 2 || csv.text[csv.len - 1] != '"')
            abort();
        for (at = 1; at + 1 < csv.len; ++at) {
            if (csv.text[at] == '"') {
                if (csv.text[at + 1] != '"' || at + 2 >= csv.len)
                    abort(); /* a lone quote inside a quoted cell */
                ++at;
            }
            out[out_len++] = csv.text[at];
        }
    } else {
        for (at = 0; at < csv.len; ++at) {
            if (csv.text[at] == ',' || csv.text[at] == '"' || csv.text[at] == '\r' || csv.text[at] == '\n')
                abort(); /* unquoted, a cell holds nothing that ends or quotes it */
            out[out_len++] = csv.text[at];
        }
    }
    if (size > 0 && memchr("=+-@\t\r", value[0], 6) != NULL) {
        if (out_len != size + 1 || out[0] != '\'' || memcmp(out + 1, value, size) != 0)
            abort();
    } else if (out_len != size || memcmp(out, value, size) != 0) {
        abort();
    }
    free(out);
    markr_csv_free(&csv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *value = malloc(size != 0 ? size : 1), *text = malloc(size + 1);

    if (value == NULL || text == NULL)
        abort();
    memcpy(value, data, size);
    memcpy(text, data, size);
    text[size] = '\0';
    content_type(value, size, text);
    hosts(value, size, text);
    utf8(value, size);
    negotiation(value, size);
    cors(value, size, text);
    csv_cell(value, size);
    free(value);
    free(text);
    return 0;
}
