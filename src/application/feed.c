/*
 * The live feed's batches (feed.h): every event is judged through the one acceptance path
 * before it joins a batch, and every batch and refused event is stored through it.
 */
#include "feed.h"

#include <stdlib.h>
#include <string.h>

int markr_get_feed_status(const struct markr_feed_monitor *monitor, struct markr_feed_status *out,
                          struct markr_error *err)
{
    markr_error_clear(err);
    memset(out, 0, sizeof(*out));
    if (monitor == NULL || monitor->read(monitor->ctx, out) != 0)
        return markr_error_set(err, MARKR_ERR_NOT_FOUND, "no_feed", "no feed is configured (MARKR_FEED_URL)");
    return 0;
}

void markr_feed_batch_init(struct markr_feed_batch *b)
{
    memset(b, 0, sizeof(*b));
}

void markr_feed_batch_free(struct markr_feed_batch *b)
{
    free(b->body);
    markr_feed_batch_init(b);
}

void markr_feed_batch_clear(struct markr_feed_batch *b)
{
    b->len = 0;
    b->events = 0;
}

static int append(struct markr_feed_batch *b, const char *bytes, size_t len, struct markr_error *err)
{
    if (b->len + len > b->cap) {
        size_t cap = b->cap != 0 ? b->cap : 16384;
        char *grown;

        while (cap < b->len + len)
            cap *= 2;
        if ((grown = realloc(b->body, cap)) == NULL)
            return markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
        b->body = grown;
        b->cap = cap;
    }
    memcpy(b->body + b->len, bytes, len);
    b->len += len;
    return 0;
}

/* Stores body (len bytes) as one entry at the position of b. Counts `events` as accepted or
 * refused by the verdict. */
static int store(const struct markr_feed_deps *deps, const struct markr_feed_batch *b, const char *body, size_t len,
                 size_t events, struct markr_feed_counts *counts, struct markr_error *err)
{
    struct markr_stream_position position = {
        .feed = deps->feed, .last_event_id = b->last_event_id, .generation = deps->generation};
    struct markr_import_outcome outcome;
    int rc = markr_import_document_at(deps->import, deps->content_type, body, len, &position, &outcome);

    if (rc == 0 || outcome.import_id > 0) {
        memcpy(counts->stored_id, b->last_event_id, sizeof(counts->stored_id));
        counts->stored_id_set = 1;
    }
    if (rc == 0) {
        counts->accepted += events;
        ++counts->batches;
    } else if (outcome.import_id > 0) {
        counts->refused += events; /* kept in the vault, refused with its reason */
        rc = 0;
    } else {
        *err = outcome.error; /* nothing stored */
    }
    markr_import_outcome_free(&outcome);
    return rc;
}

int markr_feed_flush(const struct markr_feed_deps *deps, struct markr_feed_batch *b, struct markr_feed_counts *counts,
                     struct markr_error *err)
{
    int rc = 0;

    markr_error_clear(err);
    if (b->events != 0)
        rc = store(deps, b, b->body, b->len, b->events, counts, err);
    markr_feed_batch_clear(b);
    return rc;
}

int markr_feed_due(const struct markr_feed_batch *b, int64_t now_ms)
{
    return b->events >= MARKR_FEED_BATCH_EVENTS || (b->events != 0 && now_ms - b->opened_ms >= MARKR_FEED_BATCH_MS);
}

int markr_feed_take(const struct markr_feed_deps *deps, struct markr_feed_batch *b,
                    const struct markr_event_stream_event *event, int64_t now_ms, struct markr_feed_counts *counts,
                    struct markr_error *err)
{
    struct markr_judgement j;
    int accepted;

    markr_error_clear(err);
    /* An event too long has no type that could be trusted: it is judged (and so refused:
     * its block passes the parser's bound again) and kept alone, so the position moves past
     * it instead of the stream stopping on it and getting it again. */
    if (!event->too_long &&
        (event->type_len != strlen(deps->result_type) || memcmp(event->type, deps->result_type, event->type_len) != 0)) {
        /* not a result: its id moves the position, stored with the next entry */
        memcpy(b->last_event_id, event->last_id, strlen(event->last_id) + 1);
        ++counts->ignored;
        return 0;
    }
    if (markr_judge_document(&deps->import->formats, deps->content_type, event->block, event->block_len, &j, err) !=
        0) {
        markr_judgement_free(&j);
        return -1;
    }
    accepted = j.accepted;
    markr_judgement_free(&j);
    if (!accepted) {
        /* The batch before it first, at the position before it; then the event alone. */
        if (markr_feed_flush(deps, b, counts, err) != 0)
            return -1;
        memcpy(b->last_event_id, event->last_id, strlen(event->last_id) + 1);
        return store(deps, b, event->block, event->block_len, 1, counts, err);
    }
    if (append(b, event->block, event->block_len, err) != 0)
        return -1;
    if (b->events++ == 0)
        b->opened_ms = now_ms;
    memcpy(b->last_event_id, event->last_id, strlen(event->last_id) + 1);
    if (b->events >= MARKR_FEED_BATCH_EVENTS || b->len >= MARKR_FEED_BATCH_BYTES)
        return markr_feed_flush(deps, b, counts, err);
    return 0;
}
