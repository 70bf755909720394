/*
 * CSV encoding (csv.h).
 */
#include "csv.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void markr_csv_init(struct markr_csv *csv)
{
    memset(csv, 0, sizeof(*csv));
}

void markr_csv_free(struct markr_csv *csv)
{
    free(csv->text);
    markr_csv_init(csv);
}

char *markr_csv_take(struct markr_csv *csv, size_t *len)
{
    char *text = csv->text;

    *len = csv->len;
    csv->text = NULL;
    csv->len = csv->cap = 0;
    csv->row_started = 0;
    return text;
}

/* Room for n more bytes. */
static int reserve(struct markr_csv *csv, size_t n)
{
    size_t cap = csv->cap != 0 ? csv->cap : 4096;
    char *grown;

    if (csv->failed)
        return -1;
    if (csv->len + n <= csv->cap)
        return 0;
    while (cap < csv->len + n) {
        if (cap > SIZE_MAX / 2) {
            csv->failed = 1;
            return -1;
        }
        cap *= 2;
    }
    if ((grown = realloc(csv->text, cap)) == NULL) {
        csv->failed = 1;
        return -1;
    }
    csv->text = grown;
    csv->cap = cap;
    return 0;
}

static void put(struct markr_csv *csv, const char *bytes, size_t n)
{
    if (reserve(csv, n) != 0)
        return;
    memcpy(csv->text + csv->len, bytes, n);
    csv->len += n;
}

/* The comma before every cell but a row's first. */
static void begin_cell(struct markr_csv *csv)
{
    if (csv->row_started)
        put(csv, ",", 1);
    csv->row_started = 1;
}

static int needs_quotes(const char *text, size_t len)
{
    for (size_t i = 0; i < len; ++i)
        if (text[i] == ',' || text[i] == '"' || text[i] == '\r' || text[i] == '\n')
            return 1;
    return 0;
}

static int looks_like_formula(const char *text, size_t len)
{
    return len > 0 && (text[0] == '=' || text[0] == '+' || text[0] == '-' || text[0] == '@' || text[0] == '\t' ||
                       text[0] == '\r');
}

void markr_csv_text(struct markr_csv *csv, const char *text, size_t len)
{
    int quoted;

    begin_cell(csv);
    if (text == NULL)
        return;
    quoted = needs_quotes(text, len);
    if (quoted)
        put(csv, "\"", 1);
    if (looks_like_formula(text, len))
        put(csv, "'", 1);
    for (size_t i = 0; i < len;) {
        const char *quote = quoted ? memchr(text + i, '"', len - i) : NULL;
        size_t n = quote != NULL ? (size_t)(quote - (text + i)) + 1 : len - i;

        put(csv, text + i, n);
        if (quote != NULL)
            put(csv, "\"", 1); /* a quote inside quotes is doubled */
        i += n;
    }
    if (quoted)
        put(csv, "\"", 1);
}

void markr_csv_string(struct markr_csv *csv, const char *text)
{
    markr_csv_text(csv, text, text != NULL ? strlen(text) : 0);
}

static void number_cell(struct markr_csv *csv, const char *digits, int n)
{
    begin_cell(csv);
    if (n > 0)
        put(csv, digits, (size_t)n);
}

void markr_csv_int(struct markr_csv *csv, int64_t value)
{
    char digits[24];

    number_cell(csv, digits, snprintf(digits, sizeof(digits), "%" PRId64, value));
}

void markr_csv_uint(struct markr_csv *csv, uint64_t value)
{
    char digits[24];

    number_cell(csv, digits, snprintf(digits, sizeof(digits), "%" PRIu64, value));
}

void markr_csv_number(struct markr_csv *csv, double value)
{
    char digits[32];

    number_cell(csv, digits, snprintf(digits, sizeof(digits), "%.15g", value));
}

void markr_csv_end_row(struct markr_csv *csv)
{
    put(csv, "\r\n", 2);
    csv->row_started = 0;
}

void markr_csv_header(struct markr_csv *csv, const char *const *names)
{
    for (; *names != NULL; ++names) {
        begin_cell(csv);
        put(csv, *names, strlen(*names));
    }
    markr_csv_end_row(csv);
}
