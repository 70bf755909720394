/*
 * The application error type: filling and locating it. Kept tiny and allocation-free so
 * that it can be used on any failure path, including out-of-memory ones.
 */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void markr_error_clear(struct markr_error *err)
{
    memset(err, 0, sizeof(*err));
    err->code = MARKR_OK;
}

int markr_error_set(struct markr_error *err, enum markr_error_code code, const char *reason, const char *fmt, ...)
{
    va_list ap;

    markr_error_clear(err);
    err->code = code;
    snprintf(err->reason, sizeof(err->reason), "%s", reason);
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return -1;
}

void markr_error_locate(struct markr_error *err, size_t result_index, unsigned long line, const char *field)
{
    err->result_index = result_index;
    err->line = line;
    snprintf(err->field, sizeof(err->field), "%s", field != NULL ? field : "");
}
