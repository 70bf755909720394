/*
 * Address ranges in CIDR notation (10.0.0.0/8, ::1/128), for MARKR_IMPORT_ALLOW: parsed once
 * by the settings, matched against a peer's address by the dispatcher. Free of h2o.
 */
#ifndef MARKR_INTERFACES_HTTP_CIDR_H
#define MARKR_INTERFACES_HTTP_CIDR_H

#include <stddef.h>
#include <sys/socket.h>

#define MARKR_CIDR_MAX 64 /* ranges in one list */

struct markr_cidr {
    int family;              /* AF_INET or AF_INET6 */
    unsigned char addr[16];  /* network order; 4 bytes used for IPv4; host bits cleared */
    unsigned prefix;         /* bits that must match: 0-32 or 0-128 */
};

struct markr_cidr_list {
    size_t count; /* 0: no list (everyone) */
    struct markr_cidr items[MARKR_CIDR_MAX];
};

/* Parses a comma-separated list of ADDRESS/PREFIX (a bare address is a single host; bits
 * past the prefix are ignored). Returns 0, or -1 with the offending entry copied (cut to
 * fit) into bad[0..cap) for the caller's message. */
int markr_cidr_list_parse(const char *text, struct markr_cidr_list *list, char *bad, size_t cap);

/* 1 when the address sa (len bytes, as getpeername gives it) is in one of list's ranges.
 * An IPv4 address mapped into IPv6 (::ffff:a.b.c.d, a dual-stack listener's view of an
 * IPv4 client) is matched as the IPv4 address. 0 for anything else, an empty list included. */
int markr_cidr_list_contains(const struct markr_cidr_list *list, const struct sockaddr *sa, size_t len);

#endif
