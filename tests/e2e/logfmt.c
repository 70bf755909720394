/*
 * The strict logfmt matcher of the e2e harness (logfmt.h). It follows what log.c writes,
 * not every dialect of logfmt: a raw line (libpq's "FATAL:  terminating connection", a
 * forgotten fprintf) fails it, and so does a line whose values break the quoting rules.
 */
#include "logfmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_key_start(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int is_key_char(unsigned char c)
{
    return is_key_start(c) || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

/* Reads key=value at *at; returns 0 and moves *at past it, or -1. The key is copied into
 * key (cap bytes, truncated) and the value's span into *value / *value_len. */
static int pair(const char *s, size_t len, size_t *at, char *key, size_t cap, const char **value, size_t *value_len)
{
    size_t i = *at, k = 0;

    if (i >= len || !is_key_start((unsigned char)s[i]))
        return -1;
    while (i < len && is_key_char((unsigned char)s[i])) {
        if (k + 1 < cap)
            key[k++] = s[i];
        ++i;
    }
    key[k] = '\0';
    if (i >= len || s[i] != '=')
        return -1;
    *value = s + ++i;
    if (i < len && s[i] == '"') {
        for (++i; i < len && s[i] != '"'; ++i) {
            unsigned char c = (unsigned char)s[i];

            if (c < 0x20 || c == 0x7f)
                return -1;
            if (c == '\\' && (i + 1 >= len || (s[i + 1] != '"' && s[i + 1] != '\\')))
                return -1;
            if (c == '\\')
                ++i;
        }
        if (i >= len)
            return -1; /* unterminated */
        ++i;
    } else {
        size_t start = i;

        for (; i < len && s[i] != ' '; ++i) {
            unsigned char c = (unsigned char)s[i];

            if (c < 0x20 || c == 0x7f || c == '=' || c == '"' || c == '\\')
                return -1;
        }
        if (i == start)
            return -1; /* an empty value is written "" */
    }
    *value_len = i - (size_t)(*value - s); /* quotes included, when quoted */
    *at = i;
    return 0;
}

/* 2026-12-01T10:53:03.123Z */
static int timestamp(const char *v, size_t n)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";

    if (n != sizeof(shape) - 1)
        return 0;
    for (size_t i = 0; i < n; ++i)
        if (shape[i] == 'd' ? (v[i] < '0' || v[i] > '9') : v[i] != shape[i])
            return 0;
    return 1;
}

static int level(const char *v, size_t n)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); ++i)
        if (n == strlen(names[i]) && memcmp(v, names[i], n) == 0)
            return 1;
    return 0;
}

int e2e_logfmt_line(const char *line, size_t len)
{
    static const char *const first[] = {"time", "level", "msg"};
    size_t at = 0;

    for (int n = 0; at < len || n < 3; ++n) {
        char key[64];
        const char *value;
        size_t value_len;

        if (n > 0 && (at >= len || line[at++] != ' '))
            return 0;
        if (pair(line, len, &at, key, sizeof(key), &value, &value_len) != 0)
            return 0;
        if (n < 3 && strcmp(key, first[n]) != 0)
            return 0;
        if ((n == 0 && !timestamp(value, value_len)) || (n == 1 && !level(value, value_len)))
            return 0;
    }
    return 1;
}

int e2e_logfmt_check_file(const char *path, int max)
{
    FILE *f = fopen(path, "rb");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int bad = 0;
    long number = 0;

    if (f == NULL)
        return -1;
    while ((n = getline(&line, &cap, f)) > 0) {
        size_t len = (size_t)n;

        ++number;
        if (line[len - 1] == '\n')
            --len;
        if (!e2e_logfmt_line(line, len) && bad++ < max)
            fprintf(stderr, "%s:%ld: not a logfmt line: %.*s\n", path, number, (int)(len > 300 ? 300 : len), line);
    }
    free(line);
    fclose(f);
    return bad;
}
