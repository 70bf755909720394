/*
 * The aggregate cache's exactness rules (aggregate_cache.h, ADR 0012): a hash table of
 * entries by test id, versions and an epoch, and the decision of what a refresh's outcome
 * may be used for. Everything the answers are made of, and where refreshes run, belongs to
 * the host, reached through its table of operations; so this file needs only libc.
 *
 * An unknown test is remembered too: a refresh that finds no marks leaves the entry
 * "missing", so repeated requests for an id that names nothing cost no query. A missing
 * entry is exactly as stale as a figure would be (a change of its test, a flush, the feed
 * going down or up) and counts against the same bound.
 *
 * The bound is kept one entry at a time: every entry is in a recency list (newest first,
 * raised on each lookup), and room for a new one is made by evicting the least recently
 * used idle entry. So ids nobody asks for again are what goes, never a test read between
 * them, and never what a request or a stream is waiting on.
 */
#include "aggregate_cache.h"

#include <stdlib.h>
#include <string.h>

#define BUCKETS 4096

struct markr_aggregate_cache {
    struct markr_aggregate_cache_host host;
    struct markr_cache_entry *buckets[BUCKETS];
    struct markr_cache_entry *newest, *oldest; /* the recency list, through newer/older */
    size_t count, max_entries;
    uint64_t epoch; /* raised whenever the feed goes down or up */
    int up;         /* the feed is up: the cache may answer */
    int closed;
};

static uint64_t hash_of(enum markr_cache_kind kind, const char *s, size_t len)
{
    uint64_t h = (1469598103934665603ull ^ (uint64_t)kind) * 1099511628211ull; /* FNV-1a, kind first */

    for (size_t i = 0; i < len; ++i)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

struct markr_aggregate_cache *markr_aggregate_cache_create(const struct markr_aggregate_cache_host *host,
                                                           size_t max_entries)
{
    struct markr_aggregate_cache *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->host = *host;
    c->max_entries = max_entries;
    return c;
}

static void free_entry(struct markr_aggregate_cache *c, struct markr_cache_entry *e)
{
    free(e->body);
    free(e->id);
    c->host.destroy(c->host.ctx, e);
}

void markr_aggregate_cache_destroy(struct markr_aggregate_cache *c)
{
    if (c == NULL)
        return;
    for (size_t b = 0; b < BUCKETS; ++b)
        while (c->buckets[b] != NULL) {
            struct markr_cache_entry *e = c->buckets[b];

            c->buckets[b] = e->next;
            free_entry(c, e);
        }
    free(c);
}

/* --- entries ---------------------------------------------------------------------------------- */

static struct markr_cache_entry *find(const struct markr_aggregate_cache *c, enum markr_cache_kind kind,
                                      const char *id, size_t len)
{
    uint64_t h = hash_of(kind, id, len);

    for (struct markr_cache_entry *e = c->buckets[h % BUCKETS]; e != NULL; e = e->next)
        if (e->hash == h && e->kind == kind && e->id_len == len && memcmp(e->id, id, len) == 0)
            return e;
    return NULL;
}

static int idle(const struct markr_aggregate_cache *c, const struct markr_cache_entry *e)
{
    return !e->refreshing && c->host.interest(c->host.ctx, e) == 0;
}

static void unlink_recency(struct markr_aggregate_cache *c, struct markr_cache_entry *e)
{
    if (e->newer != NULL)
        e->newer->older = e->older;
    else
        c->newest = e->older;
    if (e->older != NULL)
        e->older->newer = e->newer;
    else
        c->oldest = e->newer;
    e->newer = e->older = NULL;
}

static void make_newest(struct markr_aggregate_cache *c, struct markr_cache_entry *e)
{
    e->older = c->newest;
    e->newer = NULL;
    if (c->newest != NULL)
        c->newest->newer = e;
    else
        c->oldest = e;
    c->newest = e;
}

/* Takes e out of the cache and frees it (what it held goes too). */
static void evict(struct markr_aggregate_cache *c, struct markr_cache_entry *e)
{
    struct markr_cache_entry **p = &c->buckets[e->hash % BUCKETS];

    while (*p != e)
        p = &(*p)->next;
    *p = e->next;
    unlink_recency(c, e);
    --c->count;
    if (c->host.evicted != NULL)
        c->host.evicted(c->host.ctx, e);
    free_entry(c, e);
}

/* Evicts the least recently used idle entry, if any. A busy entry met on the way is in use,
 * so it becomes the newest: the next search does not walk over it again, and each entry is
 * looked at most once per call. */
static void evict_oldest_idle(struct markr_aggregate_cache *c)
{
    for (size_t seen = 0; seen < c->count && c->oldest != NULL; ++seen) {
        struct markr_cache_entry *e = c->oldest;

        if (idle(c, e)) {
            evict(c, e);
            return;
        }
        unlink_recency(c, e);
        make_newest(c, e);
    }
}

struct markr_cache_entry *markr_aggregate_cache_entry(struct markr_aggregate_cache *c, const char *id, size_t len)
{
    return markr_aggregate_cache_entry_of(c, MARKR_CACHE_AGGREGATE, id, len);
}

struct markr_cache_entry *markr_aggregate_cache_entry_of(struct markr_aggregate_cache *c, enum markr_cache_kind kind,
                                                         const char *id, size_t len)
{
    struct markr_cache_entry *e = find(c, kind, id, len);
    char *copy;
    size_t b;

    if (e != NULL) {
        unlink_recency(c, e);
        make_newest(c, e);
        return e;
    }
    if (c->count >= c->max_entries)
        evict_oldest_idle(c);
    if ((copy = malloc(len + 1)) == NULL)
        return NULL;
    if ((e = c->host.create(c->host.ctx)) == NULL) {
        free(copy);
        return NULL;
    }
    memcpy(copy, id, len);
    copy[len] = '\0';
    e->id = copy;
    e->id_len = len;
    e->kind = kind;
    e->hash = hash_of(kind, id, len);
    b = e->hash % BUCKETS;
    e->next = c->buckets[b];
    c->buckets[b] = e;
    make_newest(c, e);
    ++c->count;
    return e;
}

/* The test changed (or may have): what is held of it is no longer the truth. */
static void invalidate(struct markr_cache_entry *e)
{
    ++e->version;
    free(e->body);
    e->body = NULL;
    e->body_len = 0;
    e->missing = 0;
}

/* --- answers ---------------------------------------------------------------------------------- */

int markr_aggregate_cache_serving(const struct markr_aggregate_cache *c)
{
    return c->up && !c->closed;
}

enum markr_cache_answer markr_aggregate_cache_answer(const struct markr_aggregate_cache *c,
                                                     const struct markr_cache_entry *e)
{
    /* Without the feed nothing could tell a held answer is stale (none is held then). */
    if (!markr_aggregate_cache_serving(c))
        return MARKR_CACHE_UNKNOWN;
    if (e->body != NULL)
        return MARKR_CACHE_FIGURES;
    return e->missing ? MARKR_CACHE_MISSING : MARKR_CACHE_UNKNOWN;
}

struct markr_cache_ticket markr_aggregate_cache_ticket(const struct markr_aggregate_cache *c,
                                                       const struct markr_cache_entry *e)
{
    return (struct markr_cache_ticket){.version = e->version, .epoch = c->epoch};
}

int markr_cache_ticket_covers(const struct markr_cache_ticket *ran, const struct markr_cache_ticket *asked)
{
    return asked->epoch < ran->epoch || (asked->epoch == ran->epoch && asked->version <= ran->version);
}

/* --- refreshes -------------------------------------------------------------------------------- */

void markr_aggregate_cache_refresh(struct markr_aggregate_cache *c, struct markr_cache_entry *e)
{
    if (e->refreshing || c->closed)
        return;
    /* Marked before the host is asked, so that an outcome reported at once finds it out. */
    e->refreshing = 1;
    e->ran = markr_aggregate_cache_ticket(c, e);
    if (c->host.refresh(c->host.ctx, e) != 0)
        e->refreshing = 0;
}

void markr_aggregate_cache_refreshed(struct markr_aggregate_cache *c, struct markr_cache_entry *e,
                                     const char *body, size_t len, const struct markr_error *err)
{
    struct markr_cache_ticket ran = e->ran;

    e->refreshing = 0;
    if (c->closed)
        return;
    if (ran.version != e->version || ran.epoch != c->epoch) {
        /* The test changed while this ran: the figures may predate the change, so they are
         * not kept and a new refresh runs. They are still exact for the requests that came
         * before the change was reported (as a held answer would have been), so those are
         * answered now: under steady imports nobody waits for ever. */
        if (body != NULL)
            c->host.deliver(c->host.ctx, e, &ran, body, len);
        if (c->host.interest(c->host.ctx, e) != 0)
            markr_aggregate_cache_refresh(c, e);
        return;
    }
    if (body == NULL) {
        if (err->code == MARKR_ERR_NOT_FOUND && markr_aggregate_cache_serving(c))
            e->missing = 1;
        c->host.fail(c->host.ctx, e, err);
        return;
    }
    c->host.deliver(c->host.ctx, e, NULL, body, len);
    free(e->body);
    e->body = NULL;
    e->body_len = 0;
    /* Kept only while serving; without memory for a copy, simply not kept. */
    if (markr_aggregate_cache_serving(c) && (e->body = malloc(len)) != NULL) {
        memcpy(e->body, body, len);
        e->body_len = len;
    }
}

/* --- the feed --------------------------------------------------------------------------------- */

static void invalidate_and_refresh_streams(struct markr_aggregate_cache *c, struct markr_cache_entry *e)
{
    invalidate(e);
    if (c->host.interest(c->host.ctx, e) & MARKR_CACHE_STREAMS)
        markr_aggregate_cache_refresh(c, e);
}

void markr_aggregate_cache_changed(struct markr_aggregate_cache *c, const struct markr_change_event *event)
{
    if (event->flush) {
        for (size_t b = 0; b < BUCKETS; ++b)
            for (struct markr_cache_entry *e = c->buckets[b]; e != NULL; e = e->next)
                invalidate_and_refresh_streams(c, e);
        return;
    }
    for (size_t i = 0; i < event->test_count; ++i)
        for (int kind = 0; kind < MARKR_CACHE_KINDS; ++kind) {
            struct markr_cache_entry *e = find(c, (enum markr_cache_kind)kind, event->tests[i], strlen(event->tests[i]));

            if (e != NULL)
                invalidate_and_refresh_streams(c, e);
        }
}

void markr_aggregate_cache_committed(struct markr_aggregate_cache *c, const char *const *tests, size_t count)
{
    for (size_t i = 0; i < count; ++i)
        for (int kind = 0; kind < MARKR_CACHE_KINDS; ++kind) {
            struct markr_cache_entry *e = find(c, (enum markr_cache_kind)kind, tests[i], strlen(tests[i]));

            if (e != NULL)
                invalidate(e);
        }
}

void markr_aggregate_cache_feed(struct markr_aggregate_cache *c, int up)
{
    ++c->epoch;
    c->up = up;
    for (size_t b = 0; b < BUCKETS; ++b)
        for (struct markr_cache_entry *e = c->buckets[b]; e != NULL; e = e->next) {
            invalidate(e);
            /* Back up: changes may have been missed meanwhile, so streams get fresh figures. */
            if (up && (c->host.interest(c->host.ctx, e) & MARKR_CACHE_STREAMS))
                markr_aggregate_cache_refresh(c, e);
        }
}

void markr_aggregate_cache_retry(struct markr_aggregate_cache *c)
{
    for (size_t b = 0; b < BUCKETS; ++b)
        for (struct markr_cache_entry *e = c->buckets[b]; e != NULL; e = e->next)
            if (e->body == NULL && !e->missing && !e->refreshing &&
                (c->host.interest(c->host.ctx, e) & MARKR_CACHE_STREAMS))
                markr_aggregate_cache_refresh(c, e);
}

void markr_aggregate_cache_close(struct markr_aggregate_cache *c, const struct markr_error *err)
{
    if (c->closed)
        return;
    for (size_t b = 0; b < BUCKETS; ++b)
        for (struct markr_cache_entry *e = c->buckets[b]; e != NULL; e = e->next)
            c->host.fail(c->host.ctx, e, err);
    c->closed = 1;
    c->up = 0;
}

int markr_aggregate_cache_closed(const struct markr_aggregate_cache *c)
{
    return c->closed;
}

size_t markr_aggregate_cache_count(const struct markr_aggregate_cache *c)
{
    return c->count;
}
