/*
 * Use cases of a live feed of results (a Server-Sent Events stream, ADR 0027): each event of
 * the result type is judged alone by the one acceptance path; valid ones gather in a batch
 * that is stored as one vault entry (its blocks verbatim) with its marks and the feed's
 * position, in one transaction, once it holds MARKR_FEED_BATCH_EVENTS events (or
 * MARKR_FEED_BATCH_BYTES) or is MARKR_FEED_BATCH_MS old; an event that is refused is stored alone as a refused entry (the
 * batch before it first, so positions only move forward), and so is an event too long for
 * the parser's bounds (the parser hands its truncated block over). Other event types are ignored,
 * their ids moving the position with the next entry stored.
 *
 * The ports: a lock that makes one instance among many the feed's only consumer, and a
 * monitor that tells GET /feed where the feed stands.
 */
#ifndef MARKR_APPLICATION_FEED_H
#define MARKR_APPLICATION_FEED_H

#include <stddef.h>
#include <stdint.h>

#include "event_stream.h"
#include "import_document.h"

#define MARKR_FEED_BATCH_EVENTS 500
#define MARKR_FEED_BATCH_MS 200
/* A batch also closes once its body reaches this many bytes (events may carry comments), so
 * that what it holds stays bounded: a score event is about 130 bytes, 500 of them 65 KB. */
#define MARKR_FEED_BATCH_BYTES (1024 * 1024)
#define MARKR_FEED_NAME_MAX 2048

/* The feed's exclusive lock, on a storage connection of its own. */
struct markr_feed_lock {
    void *ctx;
    /* Tries to take the feed. Returns 1 when this instance holds it now (then *generation is
     * its new generation and last_event_id, of cap bytes, the stored position, "" when
     * none), 0 when another instance holds it, -1 with err when the storage is away. */
    int (*acquire)(void *ctx, const char *feed, int64_t *generation, char *last_event_id, size_t cap,
                   struct markr_error *err);
    /* Whether the lock is still held (its connection alive). Returns 0, or -1 with err. */
    int (*check)(void *ctx, struct markr_error *err);
    /* Gives the feed up (closes the connection; the lock goes with it). */
    void (*release)(void *ctx);
};

/* Where the feed stands, for GET /feed. */
struct markr_feed_status {
    char url[MARKR_FEED_NAME_MAX + 1]; /* without credentials */
    int held;      /* this instance holds the lock */
    int connected; /* and its stream is open (200, text/event-stream) */
    char last_event_id[MARKR_EVENT_STREAM_ID_MAX + 1]; /* the stored position */
    uint64_t events_accepted, events_refused, events_ignored, reconnects;
    char last_event_at[40]; /* ISO 8601 UTC of the last event received; "" when none */
};

struct markr_feed_monitor {
    void *ctx;
    /* Copies the status; returns 0, or -1 when no feed is configured. */
    int (*read)(void *ctx, struct markr_feed_status *out);
};

/* GET /feed: the status, or MARKR_ERR_NOT_FOUND "no_feed" when none is configured (monitor
 * NULL or saying so). */
int markr_get_feed_status(const struct markr_feed_monitor *monitor, struct markr_feed_status *out,
                          struct markr_error *err);

/* What storing events needs: the acceptance path, the content type of the feed's format,
 * the type of the events that are results, and the position's feed and generation. */
struct markr_feed_deps {
    const struct markr_import_deps *import;
    const char *content_type; /* "text/event-stream" */
    const char *result_type;  /* "score" */
    const char *feed;
    int64_t generation;
};

struct markr_feed_counts {
    uint64_t accepted, refused, ignored, batches;
    char stored_id[MARKR_EVENT_STREAM_ID_MAX + 1]; /* the position last stored */
    int stored_id_set;
};

struct markr_feed_batch {
    char *body; /* the blocks of its events, verbatim */
    size_t len, cap;
    size_t events;
    int64_t opened_ms; /* when its first event came */
    char last_event_id[MARKR_EVENT_STREAM_ID_MAX + 1]; /* the position after it */
};

void markr_feed_batch_init(struct markr_feed_batch *b);
void markr_feed_batch_free(struct markr_feed_batch *b);
/* Forgets the events gathered (after a drop: they are sent again from the stored position);
 * last_event_id stays. */
void markr_feed_batch_clear(struct markr_feed_batch *b);

/* One event received at now_ms. Returns 0, or -1 with err when something could not be stored
 * (the storage is away, or the feed was lost: "feed_lost"): then the stream must be dropped,
 * the batch cleared, and the feed read again from the stored position. */
int markr_feed_take(const struct markr_feed_deps *deps, struct markr_feed_batch *b,
                    const struct markr_event_stream_event *event, int64_t now_ms, struct markr_feed_counts *counts,
                    struct markr_error *err);

/* Whether the batch is due at now_ms (events waiting for MARKR_FEED_BATCH_MS or more). */
int markr_feed_due(const struct markr_feed_batch *b, int64_t now_ms);

/* Stores the batch (when it holds events) and clears it. Returns as markr_feed_take. */
int markr_feed_flush(const struct markr_feed_deps *deps, struct markr_feed_batch *b, struct markr_feed_counts *counts,
                     struct markr_error *err);

#endif
