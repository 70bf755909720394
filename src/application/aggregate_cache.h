/*
 * The exactness rules of the aggregate cache (ADR 0012), free of any I/O so that they are
 * tested with fakes: what is known of each test (its figures, or that it has no marks),
 * when a computed answer may be kept, and what a reported change or a feed that goes down
 * or up makes stale. The host (the HTTP adapter) owns everything else: the requests that
 * wait, the streams, the encoding of the figures, and where a refresh is computed. One
 * cache per event loop, used from that thread only.
 *
 * Each test has an entry with a version, raised by every change of the test that the feed
 * reports, and the cache an epoch, raised whenever the feed goes down or up. A refresh
 * remembers both when it starts (its ticket); its answer is kept only if neither moved
 * meanwhile, otherwise it is computed again. The cache answers only while the feed is up:
 * a change is then seen at most one notification delay after its commit. While it is
 * down, aggregates go to the database every time.
 *
 * A test has one entry per kind of figures (its aggregate, its item analysis): each is held,
 * refreshed and evicted on its own, and every change of the test makes all of them stale,
 * so the same rules and the same invalidation serve both.
 */
#ifndef MARKR_APPLICATION_AGGREGATE_CACHE_H
#define MARKR_APPLICATION_AGGREGATE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "../domain/error.h"
#include "change_feed.h"

/* Past this many entries, creating one first evicts the least recently used idle entry
 * (nobody waits on or streams it, no refresh out). */
#define MARKR_AGGREGATE_CACHE_MAX 65536

/* The kinds of figures of a test the cache holds. */
enum markr_cache_kind {
    MARKR_CACHE_AGGREGATE, /* GET /results/{test-id}/aggregate (and its stream) */
    MARKR_CACHE_ITEMS,     /* GET /results/{test-id}/items */
    MARKR_CACHE_KINDS
};

/* When an answer was asked for or computed: an answer computed under ticket t is exact for
 * whoever asked under a ticket that t covers (markr_cache_ticket_covers). */
struct markr_cache_ticket {
    uint64_t version; /* of the entry */
    uint64_t epoch;   /* of the cache */
};

/* One test. The host embeds it in a record of its own (see create below) and may read id,
 * id_len, version, body and body_len; every member is written by the cache only. */
struct markr_cache_entry {
    struct markr_cache_entry *next; /* in its bucket */
    struct markr_cache_entry *newer, *older; /* in the cache's recency list */
    char *id;                       /* NUL-terminated copy of the test id */
    enum markr_cache_kind kind;     /* which figures of the test */
    size_t id_len;
    uint64_t hash;
    uint64_t version; /* raised by every reported change of the test */
    char *body;       /* the figures at version as the host encoded them; NULL when not held */
    size_t body_len;
    int missing;                /* known, at version, to have no marks */
    int refreshing;             /* a refresh is out, started under `ran` */
    struct markr_cache_ticket ran;
};

/* What a host of the cache does; every operation runs on the loop's thread. */
struct markr_aggregate_cache_host {
    void *ctx;
    /* A new entry inside a record of the host's, all zero, or NULL when out of memory. */
    struct markr_cache_entry *(*create)(void *ctx);
    /* Frees the record of an entry the cache has let go (its id and body are freed). */
    void (*destroy)(void *ctx, struct markr_cache_entry *entry);
    /* May be NULL: told of each entry evicted to make room, just before its destroy. */
    void (*evicted)(void *ctx, const struct markr_cache_entry *entry);
    /* Who the entry serves now: MARKR_CACHE_WAITERS and/or MARKR_CACHE_STREAMS, or 0. */
    unsigned (*interest)(void *ctx, const struct markr_cache_entry *entry);
    /* Starts computing the entry's figures elsewhere; the outcome comes back through
     * markr_aggregate_cache_refreshed. Returns 0 when under way, -1 when it cannot start
     * (the host has then answered whoever waits, as overloaded). */
    int (*refresh)(void *ctx, struct markr_cache_entry *entry);
    /* Figures of the entry, body as the host encoded them (valid during the call): to every
     * waiter and stream when upto is NULL, else only to the waiters whose ticket upto
     * covers (they asked before the change that made the figures stale was reported). */
    void (*deliver)(void *ctx, struct markr_cache_entry *entry, const struct markr_cache_ticket *upto,
                    const char *body, size_t len);
    /* No figures: every waiter, and every stream that has not started, is answered err. */
    void (*fail)(void *ctx, struct markr_cache_entry *entry, const struct markr_error *err);
};

#define MARKR_CACHE_WAITERS 1u
#define MARKR_CACHE_STREAMS 2u

struct markr_aggregate_cache;

/* What the cache may answer for an entry now, without the database. */
enum markr_cache_answer {
    MARKR_CACHE_UNKNOWN, /* nothing exact is held: compute (markr_aggregate_cache_refresh) */
    MARKR_CACHE_FIGURES, /* entry->body is exact */
    MARKR_CACHE_MISSING, /* the test has no marks (answer as the use case would: 404) */
};

/* host is copied; max_entries is where idle entries start to be evicted. The feed starts
 * down: nothing is answered from the cache until markr_aggregate_cache_feed(c, 1). NULL
 * when out of memory. */
struct markr_aggregate_cache *markr_aggregate_cache_create(const struct markr_aggregate_cache_host *host,
                                                           size_t max_entries);
/* Lets go of every entry (host->destroy). Call when no refresh is out any more. */
void markr_aggregate_cache_destroy(struct markr_aggregate_cache *c);

/* Whether the cache answers at all: the feed is up and the cache not closed. */
int markr_aggregate_cache_serving(const struct markr_aggregate_cache *c);
/* The entry of a test id (any bytes), created when new, and now the most recently used.
 * Creating one when max_entries are held first evicts the least recently used idle entry
 * (what it held goes too); when none is idle the bound is passed, as busy entries are
 * bounded by the host's requests and streams. The host validates ids before asking: every
 * id asked for costs an entry. NULL when out of memory. */
struct markr_cache_entry *markr_aggregate_cache_entry(struct markr_aggregate_cache *c, const char *id, size_t len);
/* The same for the figures of another kind (markr_aggregate_cache_entry is the aggregate's). */
struct markr_cache_entry *markr_aggregate_cache_entry_of(struct markr_aggregate_cache *c, enum markr_cache_kind kind,
                                                         const char *id, size_t len);
enum markr_cache_answer markr_aggregate_cache_answer(const struct markr_aggregate_cache *c,
                                                     const struct markr_cache_entry *entry);
/* The ticket of whoever starts waiting on entry now. */
struct markr_cache_ticket markr_aggregate_cache_ticket(const struct markr_aggregate_cache *c,
                                                       const struct markr_cache_entry *entry);
/* Whether an answer computed under ran is exact for whoever asked under asked. */
int markr_cache_ticket_covers(const struct markr_cache_ticket *ran, const struct markr_cache_ticket *asked);

/* Starts a refresh of entry (host->refresh) unless one is out or the cache is closed. */
void markr_aggregate_cache_refresh(struct markr_aggregate_cache *c, struct markr_cache_entry *entry);
/* The outcome of entry's refresh: body (the figures as the host encoded them, valid during
 * the call) or, when body is NULL, err (MARKR_ERR_NOT_FOUND: the test has no marks). If
 * the test changed, or the feed went down or up, since the refresh started, the figures go
 * only to those who asked before (an error to nobody) and another refresh starts for
 * whoever is left. Otherwise everyone is answered, and while serving the answer is kept:
 * the figures, or that the test has none. */
void markr_aggregate_cache_refreshed(struct markr_aggregate_cache *c, struct markr_cache_entry *entry,
                                     const char *body, size_t len, const struct markr_error *err);

/* A change the feed reported: what is held of its tests (of every test, for a flush) is
 * stale; entries with streams are refreshed. */
void markr_aggregate_cache_changed(struct markr_aggregate_cache *c, const struct markr_change_event *event);
/* This instance has just committed a change of tests (count of them: an import it is about
 * to answer 201): what is held of them is stale from now on, before the feed reports the
 * change, so that every read this instance serves afterwards sees it (read-your-writes). A
 * refresh already out is not kept, as after any change. Streams are left to the feed's
 * report of the same change, which refreshes them (refreshing them here too would only send
 * the same figures twice); that later report is harmless to what is held. */
void markr_aggregate_cache_committed(struct markr_aggregate_cache *c, const char *const *tests, size_t count);
/* The feed went up (1) or down (0): either way what is held may have missed changes, so it
 * all goes; back up, entries with streams are refreshed. The cache serves only while up. */
void markr_aggregate_cache_feed(struct markr_aggregate_cache *c, int up);
/* Entries with streams that hold nothing exact and have no refresh out (the last one failed,
 * or its figures could not be kept) are refreshed: no stream stays stale for ever. */
void markr_aggregate_cache_retry(struct markr_aggregate_cache *c);
/* Shutdown: answers every entry with err (host->fail), then stops serving and refreshing;
 * outcomes that still come back are dropped. */
void markr_aggregate_cache_close(struct markr_aggregate_cache *c, const struct markr_error *err);
int markr_aggregate_cache_closed(const struct markr_aggregate_cache *c);
/* The entries held now (busy ones included). */
size_t markr_aggregate_cache_count(const struct markr_aggregate_cache *c);

#endif
