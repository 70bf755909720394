#include "query.h"

#include <string.h>

#include "router.h"

/* Calls visit for each non-empty pair of target's query, with the raw name and value (the
 * value is NULL when the pair has no '='). Stops when visit returns non-zero, and returns
 * that; 0 when every pair was visited. */
typedef int (*pair_visitor)(const char *name, size_t name_len, const char *value, size_t value_len, void *arg);

static int each_pair(const char *target, size_t target_len, pair_visitor visit, void *arg)
{
    const char *q = memchr(target, '?', target_len), *end = target + target_len;

    if (q == NULL)
        return 0;
    for (const char *p = q + 1; p < end;) {
        const char *amp = memchr(p, '&', (size_t)(end - p)), *pair_end = amp != NULL ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(pair_end - p));
        int rc;

        if (pair_end != p) {
            if (eq != NULL)
                rc = visit(p, (size_t)(eq - p), eq + 1, (size_t)(pair_end - eq - 1), arg);
            else
                rc = visit(p, (size_t)(pair_end - p), NULL, 0, arg);
            if (rc != 0)
                return rc;
        }
        p = pair_end + 1;
    }
    return 0;
}

struct get {
    const char *name;
    size_t name_len;
    char *dst;
    size_t cap, *len;
    int found;
};

static int get_visit(const char *name, size_t name_len, const char *value, size_t value_len, void *arg)
{
    struct get *g = arg;
    long n;

    if (value == NULL || name_len != g->name_len || memcmp(name, g->name, name_len) != 0)
        return 0;
    if ((n = markr_percent_decode(value, value_len, g->dst, g->cap)) < 0)
        return -1;
    g->dst[n] = '\0';
    *g->len = (size_t)n;
    g->found = 1;
    return 0;
}

int markr_query_get(const char *target, size_t target_len, const char *name, char *dst, size_t cap, size_t *len)
{
    struct get g = {.name = name, .name_len = strlen(name), .dst = dst, .cap = cap, .len = len};

    if (each_pair(target, target_len, get_visit, &g) != 0)
        return -1;
    return g.found;
}

static int known_visit(const char *name, size_t name_len, const char *value, size_t value_len, void *arg)
{
    for (const char *const *k = arg; *k != NULL; ++k)
        if (value != NULL && name_len == strlen(*k) && memcmp(name, *k, name_len) == 0)
            return 0;
    return 1;
}

int markr_query_only(const char *target, size_t target_len, const char *const *known)
{
    return each_pair(target, target_len, known_visit, (void *)known) == 0;
}

int64_t markr_parse_uint(const char *text, size_t len, int64_t max)
{
    int64_t v = 0;

    if (len == 0 || len > 19)
        return -1;
    for (size_t i = 0; i < len; ++i) {
        if (text[i] < '0' || text[i] > '9' || v > (max - (text[i] - '0')) / 10)
            return -1;
        v = v * 10 + (text[i] - '0');
    }
    return v;
}

int64_t markr_parse_id(const char *text, size_t len)
{
    if (len == 0 || text[0] == '0')
        return -1;
    return markr_parse_uint(text, len, INT64_MAX);
}
