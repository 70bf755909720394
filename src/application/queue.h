/*
 * Use cases of the asynchronous import queue (ADR 0011): put a document in it, and take the
 * next one out and judge it. The queue runners of `markr serve` loop over
 * markr_process_next_queued and markr_wait_for_queued; the HTTP adapter calls
 * markr_enqueue_import.
 */
#ifndef MARKR_APPLICATION_QUEUE_H
#define MARKR_APPLICATION_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "reprocess.h"

struct markr_queue_deps {
    struct markr_import_queue queue;
    struct markr_reprocess_deps reprocess; /* formats and the rebuild port: how it is judged */
};

/* Stores a decoded document as 'queued' (content_type NUL-terminated, as received;
 * content_encoding how it arrived, NULL: identity) and sets *import_id. A document that no
 * format reads is refused at once (MARKR_ERR_INVALID "unsupported_media_type"), not queued.
 * Returns 0, or -1 with err. */
int markr_enqueue_import(const struct markr_queue_deps *deps, const char *content_type,
                         const char *content_encoding, const char *body, size_t len, int64_t *import_id,
                         struct markr_error *err);

enum markr_queue_step {
    MARKR_QUEUE_EMPTY = 0,     /* nothing is waiting */
    MARKR_QUEUE_PROCESSED = 1, /* *import_id was judged; report says how */
    MARKR_QUEUE_TAKEN = 2,     /* *import_id was claimed, but another server had finished it */
};

/* Claims the oldest waiting import and processes it: verdict, marks and status in one
 * transaction. Returns an enum markr_queue_step, or -1 with err: *import_id is the import
 * whose processing failed (it stays claimable), or 0 when the queue could not be read.
 * Always call markr_reprocess_report_free afterwards. */
int markr_process_next_queued(const struct markr_queue_deps *deps, int64_t *import_id,
                              struct markr_reprocess_report *report, struct markr_error *err);

/* Waits up to timeout_ms for a new import to be queued (by any server). */
void markr_wait_for_queued(const struct markr_queue_deps *deps, int timeout_ms);

#endif
