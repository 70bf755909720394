/*
 * CIDR ranges (cidr.h): inet_pton reads the address, the prefix is a decimal bounded by the
 * family, and a match compares whole bytes, then the leading bits of the last one.
 */
#include "cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One entry, text[0..len), into range. Returns 0 or -1. */
static int parse_one(const char *text, size_t len, struct markr_cidr *range)
{
    char address[INET6_ADDRSTRLEN + 1];
    const char *slash = memchr(text, '/', len);
    size_t address_len = slash != NULL ? (size_t)(slash - text) : len;
    unsigned max;

    if (address_len == 0 || address_len >= sizeof(address))
        return -1;
    memcpy(address, text, address_len);
    address[address_len] = '\0';
    memset(range, 0, sizeof(*range));
    if (inet_pton(AF_INET, address, range->addr) == 1)
        range->family = AF_INET, max = 32;
    else if (inet_pton(AF_INET6, address, range->addr) == 1)
        range->family = AF_INET6, max = 128;
    else
        return -1;
    range->prefix = max;
    if (slash != NULL) {
        const char *digits = slash + 1;
        size_t n = len - address_len - 1;
        unsigned prefix = 0;

        if (n == 0 || n > 3)
            return -1;
        for (size_t i = 0; i < n; ++i) {
            if (digits[i] < '0' || digits[i] > '9')
                return -1;
            prefix = prefix * 10 + (unsigned)(digits[i] - '0');
        }
        if (prefix > max)
            return -1;
        range->prefix = prefix;
    }
    /* Clear the host bits, so that a match compares the network part only. */
    for (unsigned bit = range->prefix; bit < max; ++bit)
        range->addr[bit / 8] &= (unsigned char)~(0x80u >> (bit % 8));
    return 0;
}

int markr_cidr_list_parse(const char *text, struct markr_cidr_list *list, char *bad, size_t cap)
{
    const char *p = text;

    memset(list, 0, sizeof(*list));
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);

        if (list->count == MARKR_CIDR_MAX || parse_one(p, len, &list->items[list->count]) != 0) {
            snprintf(bad, cap, "%.*s", (int)(len < 64 ? len : 64), p);
            return -1;
        }
        ++list->count;
        if (comma == NULL)
            return 0;
        p = comma + 1;
    }
}

static int in_range(const struct markr_cidr *range, int family, const unsigned char *addr)
{
    unsigned whole = range->prefix / 8, rest = range->prefix % 8;

    if (range->family != family || memcmp(range->addr, addr, whole) != 0)
        return 0;
    return rest == 0 || ((range->addr[whole] ^ addr[whole]) & (unsigned char)(0xff00u >> rest)) == 0;
}

int markr_cidr_list_contains(const struct markr_cidr_list *list, const struct sockaddr *sa, size_t len)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    unsigned char addr[16];
    int family;

    if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        memcpy(addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        family = AF_INET;
    } else if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        memcpy(addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        family = AF_INET6;
        if (memcmp(addr, mapped, sizeof(mapped)) == 0) {
            memmove(addr, addr + 12, 4);
            family = AF_INET;
        }
    } else {
        return 0;
    }
    for (size_t i = 0; i < list->count; ++i)
        if (in_range(&list->items[i], family, addr))
            return 1;
    return 0;
}
