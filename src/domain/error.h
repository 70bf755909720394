/*
 * The one error type of Markr: a code that says what kind of failure it is
 * (adapters map it to a status: HTTP in one place, exit codes in the CLI), a
 * short machine-readable reason, a human sentence, and, for a refused document,
 * where in the document the problem is (result index, line, field).
 */
#ifndef MARKR_DOMAIN_ERROR_H
#define MARKR_DOMAIN_ERROR_H

#include <stdarg.h>
#include <stddef.h>

enum markr_error_code {
    MARKR_OK = 0,
    MARKR_ERR_MALFORMED,   /* the document is not well-formed XML (HTTP 400) */
    MARKR_ERR_INVALID,     /* well-formed, but breaks a rule of the brief (HTTP 422) */
    MARKR_ERR_BAD_REQUEST, /* a request parameter is malformed (HTTP 400) */
    MARKR_ERR_NOT_FOUND,   /* nothing under that id (HTTP 404) */
    MARKR_ERR_UNAVAILABLE, /* the database cannot be reached or is busy (HTTP 503) */
    MARKR_ERR_INTERNAL,    /* a bug or an unexpected answer (HTTP 500) */
};

#define MARKR_ERROR_REASON_MAX 48
#define MARKR_ERROR_MESSAGE_MAX 320
#define MARKR_ERROR_FIELD_MAX 40

struct markr_error {
    enum markr_error_code code;
    char reason[MARKR_ERROR_REASON_MAX];   /* short code, e.g. "missing_field" */
    char message[MARKR_ERROR_MESSAGE_MAX]; /* one human sentence */
    size_t result_index;                   /* 1-based position of the result; 0 when not about one */
    unsigned long line;                    /* line in the document; 0 when unknown */
    char field[MARKR_ERROR_FIELD_MAX];     /* e.g. "student-number" or "summary-marks/@obtained"; "" when none */
};

/* Resets err to MARKR_OK with every other member empty. */
void markr_error_clear(struct markr_error *err);

/* Fills err (code, reason, printf-style message) and clears the location. Returns -1 so that
 * callers can write `return markr_error_set(...)`. Over-long text is truncated, never inside
 * a UTF-8 character. */
int markr_error_set(struct markr_error *err, enum markr_error_code code, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* markr_error_set with the arguments as a va_list, for functions that pass theirs on. */
int markr_error_setv(struct markr_error *err, enum markr_error_code code, const char *reason, const char *fmt,
                     va_list ap) __attribute__((format(printf, 4, 0)));

/* Records where in the document the error is; field may be NULL. */
void markr_error_locate(struct markr_error *err, size_t result_index, unsigned long line, const char *field);

#endif
