/*
 * CSV text as spreadsheets read it (RFC 4180), free of h2o and of any I/O so that it is
 * unit-tested alone: cells separated by commas, rows ended by CRLF, a cell quoted (its
 * quotes doubled) when it holds a comma, a quote, CR or LF. A text cell that a spreadsheet
 * would run as a formula (it begins with '=', '+', '-', '@', tab or CR) is written with a
 * leading "'" so that it is shown, never evaluated (CSV injection). Numbers are never
 * prefixed: they are markr's own.
 */
#ifndef MARKR_INTERFACES_HTTP_CSV_H
#define MARKR_INTERFACES_HTTP_CSV_H

#include <stddef.h>
#include <stdint.h>

/* A growing buffer of CSV text, malloc'd. After running out of memory it keeps what it had
 * and sets failed; every later call does nothing. */
struct markr_csv {
    char *text;
    size_t len, cap;
    int row_started; /* a cell is already in the current row: the next needs a comma */
    int failed;
};

void markr_csv_init(struct markr_csv *csv);
/* Frees the text; the buffer is empty and usable again. */
void markr_csv_free(struct markr_csv *csv);
/* Hands the text over to the caller (malloc'd; NULL when empty), *len its bytes; the buffer
 * is empty afterwards. */
char *markr_csv_take(struct markr_csv *csv, size_t *len);

/* One text cell of len bytes, quoted and prefixed as the rule says. NULL is an empty cell. */
void markr_csv_text(struct markr_csv *csv, const char *text, size_t len);
/* A text cell of a NUL-terminated string (NULL: empty). */
void markr_csv_string(struct markr_csv *csv, const char *text);
void markr_csv_int(struct markr_csv *csv, int64_t value);
void markr_csv_uint(struct markr_csv *csv, uint64_t value);
/* A percentage with 15 significant digits, as the JSON answers print it (65, 66.6666666666667). */
void markr_csv_number(struct markr_csv *csv, double value);
/* Ends the current row (CRLF). */
void markr_csv_end_row(struct markr_csv *csv);
/* A header row of names separated by commas (NUL-terminated list); names are written as
 * they are (they are markr's). */
void markr_csv_header(struct markr_csv *csv, const char *const *names);

#endif
