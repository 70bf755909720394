#include "query.h"

#include <stdio.h>
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
    /* No value of any parameter holds a NUL (no test id, student number, status or cursor
     * can), and a handler reading the value as a C string would see only what comes first. */
    if ((n = markr_percent_decode(value, value_len, g->dst, g->cap)) < 0 || memchr(g->dst, '\0', (size_t)n) != NULL)
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

#define ALLOWED_MAX 32 /* parameters one route may take: the bits of struct check's seen */

struct check {
    const char *const *allowed;
    uint32_t seen;
    char *message;
    size_t cap;
};

/* The names of allowed, as "a, b and c", into out. */
static void list_names(const char *const *allowed, char *out, size_t cap)
{
    size_t n = 0, count = 0;

    while (allowed[count] != NULL)
        ++count;
    out[0] = '\0';
    for (size_t i = 0; i < count && n < cap; ++i)
        n += (size_t)snprintf(out + n, cap - n, "%s%s", i == 0 ? "" : i + 1 == count ? " and " : ", ", allowed[i]);
}

static int check_visit(const char *name, size_t name_len, const char *value, size_t value_len, void *arg)
{
    struct check *c = arg;
    int quoted = name_len > MARKR_QUERY_NAME_QUOTED ? MARKR_QUERY_NAME_QUOTED : (int)name_len;
    size_t i = 0;

    (void)value_len;
    if (c->allowed != NULL)
        while (c->allowed[i] != NULL && (name_len != strlen(c->allowed[i]) || memcmp(name, c->allowed[i], name_len) != 0))
            ++i;
    if (c->allowed == NULL || c->allowed[i] == NULL) {
        char names[256];

        if (c->allowed == NULL || c->allowed[0] == NULL) {
            snprintf(c->message, c->cap, "unknown parameter '%.*s': this resource takes no parameters", quoted, name);
        } else {
            list_names(c->allowed, names, sizeof(names));
            snprintf(c->message, c->cap, "unknown parameter '%.*s': this resource takes %s", quoted, name, names);
        }
        return -1;
    }
    if (value == NULL) {
        snprintf(c->message, c->cap, "parameter '%.*s' has no value: write %.*s=...", quoted, name, quoted, name);
        return -1;
    }
    if (i < ALLOWED_MAX && (c->seen & (UINT32_C(1) << i)) != 0) {
        snprintf(c->message, c->cap, "parameter '%.*s' is given more than once: give it once", quoted, name);
        return -1;
    }
    if (i < ALLOWED_MAX)
        c->seen |= UINT32_C(1) << i;
    return 0;
}

int markr_query_check(const char *target, size_t target_len, const char *const *allowed, char *message, size_t cap)
{
    struct check c = {.allowed = allowed, .message = message, .cap = cap};

    if (cap > 0)
        message[0] = '\0';
    return each_pair(target, target_len, check_visit, &c) == 0 ? 0 : -1;
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
