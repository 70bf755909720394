/*
 * Which Host (or :authority) a request may name: the defence against DNS rebinding, where
 * a page of another site reaches a server bound to localhost under a name of its own.
 * Parsing and matching only, without h2o, so the rule is unit-tested and fuzzed alone; the
 * server checks every request with markr_host_allowed before routing (server.c).
 */
#ifndef MARKR_INTERFACES_HTTP_HOST_H
#define MARKR_INTERFACES_HTTP_HOST_H

#include <stddef.h>

#define MARKR_ALLOWED_HOSTS_MAX 16
#define MARKR_HOST_NAME_MAX 255 /* a DNS name; a bracketed IPv6 literal fits too */

struct markr_allowed_hosts {
    int any;      /* every Host is accepted (no list, and not bound to a loopback address) */
    size_t count; /* names in use */
    /* Lower case, without a port; IPv6 literals keep their brackets ("[::1]"). */
    char names[MARKR_ALLOWED_HOSTS_MAX][MARKR_HOST_NAME_MAX + 1];
};

/* Reads a list of host names separated by commas (white space around each is ignored), each
 * optionally followed by ":PORT", which matching ignores; IPv6 literals in brackets
 * ("[::1]:8085"). A name is letters, digits, '.', '-' and '_' (a DNS name or IPv4 address).
 * Returns 0, or -1 with a message (naming no setting; the caller does) in errbuf when an
 * entry is empty or malformed, or there are more than MARKR_ALLOWED_HOSTS_MAX. */
int markr_allowed_hosts_parse(const char *text, struct markr_allowed_hosts *out, char *errbuf, size_t errlen);

/* 1 when bind_host (an address or name to listen on, IPv6 without brackets) is a loopback
 * one: localhost, 127.0.0.0/8 or ::1. */
int markr_host_is_loopback(const char *bind_host);

/* The rule without a list: bound to a loopback address, only localhost, 127.0.0.1 and
 * [::1] (any port), since no other name can reach it but a rebound one; bound elsewhere,
 * any Host, as a server behind a name we are not told. */
void markr_allowed_hosts_default(struct markr_allowed_hosts *out, const char *bind_host);

/* 1 when the len bytes of a Host value (not NUL-terminated; "name", "name:port",
 * "[v6]:port") name an allowed host, in any case, else 0 (a malformed value is not allowed
 * unless every Host is). Never reads past len. */
int markr_host_allowed(const struct markr_allowed_hosts *hosts, const char *value, size_t len);

#endif
