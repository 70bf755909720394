/*
 * Host names of requests and of MARKR_ALLOWED_HOSTS (host.h). One splitting of "name:port"
 * serves both, so a listed entry and a request's Host are read alike.
 */
#include "host.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int name_char(unsigned char c)
{
    return isalnum(c) || c == '.' || c == '-' || c == '_';
}

/* The host part of the len bytes at s: [*name, *name + *name_len). Returns 0 when s is
 * "name" or "name:port" (name of name_char), or "[v6]" or "[v6]:port" (v6 of hex digits,
 * ':' and '.'), with a port of 1 to 5 digits; -1 otherwise. */
static int split_host(const char *s, size_t len, const char **name, size_t *name_len)
{
    size_t i = 0, end;

    if (len == 0)
        return -1;
    if (s[0] == '[') {
        for (i = 1; i < len && s[i] != ']'; ++i)
            if (!isxdigit((unsigned char)s[i]) && s[i] != ':' && s[i] != '.')
                return -1;
        if (i == len || i == 1)
            return -1;
        end = ++i; /* past ']' */
    } else {
        while (i < len && name_char((unsigned char)s[i]))
            ++i;
        if (i == 0)
            return -1;
        end = i;
    }
    if (i < len) {
        size_t digits = 0;

        if (s[i++] != ':')
            return -1;
        for (; i < len; ++i, ++digits)
            if (!isdigit((unsigned char)s[i]))
                return -1;
        if (digits == 0 || digits > 5)
            return -1;
    }
    *name = s;
    *name_len = end;
    return 0;
}

static void add_name(struct markr_allowed_hosts *out, const char *name, size_t len)
{
    char *dst = out->names[out->count++];

    for (size_t i = 0; i < len; ++i)
        dst[i] = (char)tolower((unsigned char)name[i]);
    dst[len] = '\0';
}

int markr_allowed_hosts_parse(const char *text, struct markr_allowed_hosts *out, char *errbuf, size_t errlen)
{
    const char *p = text;

    memset(out, 0, sizeof(*out));
    for (;;) {
        const char *comma = strchr(p, ','), *end = comma != NULL ? comma : p + strlen(p), *name;
        size_t name_len;

        while (p < end && (*p == ' ' || *p == '\t'))
            ++p;
        while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
            --end;
        if (split_host(p, (size_t)(end - p), &name, &name_len) != 0 || name_len > MARKR_HOST_NAME_MAX) {
            snprintf(errbuf, errlen, "'%.*s' is not a host name, HOST:PORT or [IPv6]:PORT",
                     (int)((size_t)(end - p) > 64 ? 64 : (size_t)(end - p)), p);
            return -1;
        }
        if (out->count == MARKR_ALLOWED_HOSTS_MAX) {
            snprintf(errbuf, errlen, "more than %d host names", MARKR_ALLOWED_HOSTS_MAX);
            return -1;
        }
        add_name(out, name, name_len);
        if (comma == NULL)
            return 0;
        p = comma + 1;
    }
}

int markr_host_is_loopback(const char *bind_host)
{
    struct in_addr v4;
    struct in6_addr v6;

    if (strcasecmp(bind_host, "localhost") == 0)
        return 1;
    if (inet_pton(AF_INET, bind_host, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, bind_host, &v6) == 1 && memcmp(&v6, &in6addr_loopback, sizeof(v6)) == 0;
}

void markr_allowed_hosts_default(struct markr_allowed_hosts *out, const char *bind_host)
{
    static const char *const loopback_names[] = {"localhost", "127.0.0.1", "[::1]"};

    memset(out, 0, sizeof(*out));
    if (!markr_host_is_loopback(bind_host)) {
        out->any = 1;
        return;
    }
    for (size_t i = 0; i < sizeof(loopback_names) / sizeof(loopback_names[0]); ++i)
        add_name(out, loopback_names[i], strlen(loopback_names[i]));
}

int markr_host_allowed(const struct markr_allowed_hosts *hosts, const char *value, size_t len)
{
    const char *name;
    size_t name_len;

    if (hosts->any)
        return 1;
    if (value == NULL || split_host(value, len, &name, &name_len) != 0)
        return 0;
    for (size_t i = 0; i < hosts->count; ++i)
        if (strlen(hosts->names[i]) == name_len && strncasecmp(hosts->names[i], name, name_len) == 0)
            return 1;
    return 0;
}
