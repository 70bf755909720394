/*
 * The application error type: filling and locating it. Kept tiny and allocation-free so
 * that it can be used on any failure path, including out-of-memory ones.
 */
#include "error.h"

#include "utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Write into buf (cap bytes) what snprintf would, except that text which does not fit is cut
 * before a character it would split, so that a message stays valid UTF-8 (a JSON answer and
 * a stored refusal quote it). */
static void copy_text(char *buf, size_t cap, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));
static void copy_text(char *buf, size_t cap, const char *fmt, va_list ap)
{
    int wanted = vsnprintf(buf, cap, fmt, ap);

    if (wanted < 0)
        buf[0] = '\0';
    else if ((size_t)wanted >= cap)
        buf[markr_utf8_cut(buf, (size_t)wanted, cap - 1)] = '\0';
}

static void copy_string(char *buf, size_t cap, const char *text)
{
    size_t n = markr_utf8_cut(text, strlen(text), cap - 1);

    memcpy(buf, text, n);
    buf[n] = '\0';
}

void markr_error_clear(struct markr_error *err)
{
    memset(err, 0, sizeof(*err));
    err->code = MARKR_OK;
}

int markr_error_setv(struct markr_error *err, enum markr_error_code code, const char *reason, const char *fmt,
                     va_list ap)
{
    markr_error_clear(err);
    err->code = code;
    copy_string(err->reason, sizeof(err->reason), reason);
    copy_text(err->message, sizeof(err->message), fmt, ap);
    return -1;
}

int markr_error_set(struct markr_error *err, enum markr_error_code code, const char *reason, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    markr_error_setv(err, code, reason, fmt, ap);
    va_end(ap);
    return -1;
}

void markr_error_locate(struct markr_error *err, size_t result_index, unsigned long line, const char *field)
{
    err->result_index = result_index;
    err->line = line;
    copy_string(err->field, sizeof(err->field), field != NULL ? field : "");
}
