/*
 * The request target in absolute form (RFC 9112, section 3.2.2: "http://host:port/path?q"),
 * which a server must accept although clients send it only to proxies. h2o 2.2.5 hands it
 * over as the path, scheme and authority included, and keeps the Host header's value as the
 * authority; the router matches paths. Parsing only, without h2o, so the rule is
 * unit-tested alone; the server reads every target with it before routing (server.c).
 */
#ifndef MARKR_INTERFACES_HTTP_TARGET_H
#define MARKR_INTERFACES_HTTP_TARGET_H

#include <stddef.h>

enum markr_target_form {
    MARKR_TARGET_AS_IS,    /* not absolute-form (origin-form "/path?q", or another form): routed as it is */
    MARKR_TARGET_ABSOLUTE, /* "http://" or "https://" (any case), an authority and the rest */
    MARKR_TARGET_BAD,      /* absolute-form with an empty authority or one with user info */
};

struct markr_target {
    /* For MARKR_TARGET_ABSOLUTE, spans of the target: the authority (host and optional
     * port, which takes the place of the Host header, RFC 9112 section 3.2.2) and the rest
     * from the first '/' or '?' on, possibly empty (an empty path is "/"). */
    const char *authority;
    size_t authority_len;
    const char *rest;
    size_t rest_len;
};

/* Reads the len bytes of a request target (not NUL-terminated). Never reads past len. */
enum markr_target_form markr_target_read(const char *target, size_t len, struct markr_target *out);

#endif
