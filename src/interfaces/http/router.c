/*
 * Route matching on the raw request target. h2o's normalised path decodes %2F before
 * splitting, which would let an id containing '/' reach the wrong route; so the raw path
 * is split on '/' first, literal segments are compared as written, and only the segment of
 * a {placeholder} is decoded, once its route is known.
 */
#include "router.h"

#include <string.h>

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long markr_percent_decode(const char *src, size_t len, char *dst, size_t cap)
{
    size_t out = 0;

    for (size_t i = 0; i < len; ++i) {
        char c = src[i];

        if (c == '%') {
            int hi, lo;

            if (i + 2 >= len || (hi = hex_value(src[i + 1])) < 0 || (lo = hex_value(src[i + 2])) < 0)
                return -1;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (out == cap)
            return -1;
        dst[out++] = c;
    }
    return (long)out;
}

size_t markr_route_count(const struct markr_route *table)
{
    size_t n = 0;

    while (table[n].template_ != NULL)
        ++n;
    return n;
}

const char *markr_route_template(const struct markr_route *table, int number)
{
    if (number == MARKR_ROUTE_BAD_PATH)
        return "bad_path";
    if (number >= MARKR_ROUTE_FIRST && (size_t)(number - MARKR_ROUTE_FIRST) < markr_route_count(table))
        return table[number - MARKR_ROUTE_FIRST].template_;
    return "unmatched";
}

static int method_is(const char *method, size_t len, const char *name)
{
    return len == strlen(name) && memcmp(method, name, len) == 0;
}

int markr_route_allows(const struct markr_route *route, const char *method, size_t len)
{
    if (method_is(method, len, "OPTIONS"))
        return 1; /* every route: what it allows, and CORS preflights (server.c) */
    if ((route->methods & MARKR_METHOD_GET) && (method_is(method, len, "GET") || method_is(method, len, "HEAD")))
        return 1;
    return (route->methods & MARKR_METHOD_POST) && method_is(method, len, "POST");
}

/* The value of Allow for a set of methods: HEAD comes with GET, OPTIONS with every route. */
static const char *allow_of(unsigned methods)
{
    switch (methods & (MARKR_METHOD_GET | MARKR_METHOD_POST)) {
    case MARKR_METHOD_GET:
        return "GET, HEAD, OPTIONS";
    case MARKR_METHOD_POST:
        return "POST, OPTIONS";
    case MARKR_METHOD_GET | MARKR_METHOD_POST:
        return "GET, HEAD, POST, OPTIONS";
    default:
        return "OPTIONS";
    }
}

/* Whether path (no query, starting with '/') has the shape of template: as many segments,
 * and equal literals. The raw segments where the template has its {placeholders} go to
 * id[0] and id[1], in order. */
static int has_shape(const char *template_, const char *path, size_t len, const char *id[2], size_t id_len[2])
{
    const char *t = template_ + 1;
    size_t p = 1;
    int ids = 0;

    for (;;) {
        const char *t_end = strchr(t, '/');
        size_t t_len = t_end != NULL ? (size_t)(t_end - t) : strlen(t);
        const char *p_end = memchr(path + p, '/', len - p);
        size_t p_len = p_end != NULL ? (size_t)(p_end - (path + p)) : len - p;

        if (t_len >= 2 && t[0] == '{' && t[t_len - 1] == '}' && ids < 2) {
            id[ids] = path + p;
            id_len[ids++] = p_len;
        } else if (t_len != p_len || memcmp(t, path + p, p_len) != 0) {
            return 0;
        }
        if (t_end == NULL || p_end == NULL)
            return t_end == NULL && p_end == NULL; /* both end here, or the segment counts differ */
        t = t_end + 1;
        p += p_len + 1;
    }
}

int markr_route_match(const struct markr_route *table, const char *path, size_t len, struct markr_route_match *m)
{
    const char *query = memchr(path, '?', len);

    memset(m, 0, sizeof(*m));
    if (query != NULL)
        len = (size_t)(query - path);
    if (len == 0 || path[0] != '/')
        return m->number = MARKR_ROUTE_UNMATCHED;
    for (size_t i = 0; table[i].template_ != NULL; ++i) {
        const char *id[2] = {NULL, NULL};
        size_t id_len[2] = {0, 0};
        long decoded = 0, decoded2 = 0;

        if (!has_shape(table[i].template_, path, len, id, id_len))
            continue;
        /* The path is this route's: an id that cannot be decoded is the client's mistake. */
        if ((id[0] != NULL && (decoded = markr_percent_decode(id[0], id_len[0], m->id, MARKR_ROUTE_ID_MAX)) < 0) ||
            (id[1] != NULL && (decoded2 = markr_percent_decode(id[1], id_len[1], m->id2, MARKR_ROUTE_ID_MAX)) < 0))
            return m->number = MARKR_ROUTE_BAD_PATH;
        m->id_len = (size_t)decoded;
        m->id[m->id_len] = '\0';
        m->id2_len = (size_t)decoded2;
        m->id2[m->id2_len] = '\0';
        m->route = &table[i];
        m->allow = allow_of(table[i].methods);
        return m->number = MARKR_ROUTE_FIRST + (int)i;
    }
    return m->number = MARKR_ROUTE_UNMATCHED;
}
