#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int threshold = MARKR_LOG_INFO;
static const char *const names[] = {"error", "warn", "info", "debug"};

int markr_log_parse_level(const char *text, enum markr_log_level *level)
{
    for (int i = 0; i < 4; ++i) {
        if (strcmp(text, names[i]) == 0) {
            *level = (enum markr_log_level)i;
            return 0;
        }
    }
    return -1;
}

void markr_log_set_level(enum markr_log_level level)
{
    atomic_store(&threshold, (int)level);
}

int markr_log_enabled(enum markr_log_level level)
{
    return (int)level <= atomic_load(&threshold);
}

/* Appends value to buf at *at, quoted and escaped when it holds a space, '=', '"' or a
 * control byte (logfmt); truncated, never overflowing. */
static void put_value(char *buf, size_t cap, size_t *at, const char *value)
{
    int quote = value[0] == '\0' || strpbrk(value, " =\"\\") != NULL;

    for (const char *c = value; !quote && *c != '\0'; ++c)
        quote = (unsigned char)*c < 0x20 || *c == 0x7f;
    if (quote && *at < cap)
        buf[(*at)++] = '"';
    for (const char *c = value; *c != '\0' && *at + 2 < cap; ++c) {
        unsigned char b = (unsigned char)*c;

        if (b == '"' || b == '\\') {
            buf[(*at)++] = '\\';
            buf[(*at)++] = (char)b;
        } else if (b < 0x20 || b == 0x7f) {
            buf[(*at)++] = '?'; /* a line stays one line */
        } else {
            buf[(*at)++] = (char)b;
        }
    }
    if (quote && *at < cap)
        buf[(*at)++] = '"';
}

static void put_text(char *buf, size_t cap, size_t *at, const char *text)
{
    size_t n = strlen(text);

    if (n > cap - *at)
        n = cap - *at;
    memcpy(buf + *at, text, n);
    *at += n;
}

void markr_log(enum markr_log_level level, const char *msg, ...)
{
    char line[2048], stamp[40];
    size_t at = 0, cap = sizeof(line) - 1; /* room for the newline */
    struct timespec now;
    struct tm tm;
    va_list ap;

    if (!markr_log_enabled(level))
        return;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    put_text(line, cap, &at, "time=");
    put_text(line, cap, &at, stamp);
    snprintf(stamp, sizeof(stamp), ".%03ldZ level=", now.tv_nsec / 1000000);
    put_text(line, cap, &at, stamp);
    put_text(line, cap, &at, names[level]);
    put_text(line, cap, &at, " msg=");
    put_value(line, cap, &at, msg);
    va_start(ap, msg);
    for (const char *key; (key = va_arg(ap, const char *)) != NULL;) {
        const char *value = va_arg(ap, const char *);

        put_text(line, cap, &at, " ");
        put_text(line, cap, &at, key);
        put_text(line, cap, &at, "=");
        put_value(line, cap, &at, value != NULL ? value : "");
    }
    va_end(ap);
    line[at++] = '\n';
    if (write(STDERR_FILENO, line, at) < 0) {
        /* stderr is gone: there is nowhere left to say so */
    }
}
