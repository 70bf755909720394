/*
 * The ports of Markr: what the use cases need from the outside world, as small tables of
 * operations plus a context pointer. Adapters in src/interfaces fill them in; the unit tests
 * fill them with fakes. Every operation is blocking: use cases run on worker threads (ADR
 * 0002), never on the HTTP event loop. Strings cross as pointer and length unless the name
 * says otherwise. No operation keeps a pointer it was given after it returns.
 */
#ifndef MARKR_APPLICATION_PORTS_H
#define MARKR_APPLICATION_PORTS_H

#include <stddef.h>
#include <stdint.h>

#include "../domain/aggregate.h"
#include "../domain/document.h"
#include "../domain/error.h"

struct markr_items;         /* items.h */
struct markr_student_sheet; /* items.h */

/* Reads a document of results. */
struct markr_document_parser {
    void *ctx;
    /* Parses body into doc (which the caller has initialised and frees). Each result goes
     * through markr_document_add as soon as it is complete, so a broken result stops the
     * parse. Returns 0, or -1 with err: MARKR_ERR_MALFORMED for XML that is not well-formed,
     * MARKR_ERR_INVALID for a well-formed document that breaks a rule. */
    int (*parse)(void *ctx, const char *body, size_t len, struct markr_document *doc, struct markr_error *err);
};

/* Where a live feed stands, stored in the transaction of the entry that carries it: the
 * feed (its URL without credentials), the id of its last event stored, and the generation
 * under which this instance holds the feed (ports below: the entry is stored only while it
 * is still the feed's current generation). */
struct markr_stream_position {
    const char *feed;          /* NUL-terminated */
    const char *last_event_id; /* NUL-terminated; "" when the stream gave none */
    int64_t generation;
};

/* What the vault keeps of every document received. */
struct markr_vault_entry {
    const char *content_type; /* NUL-terminated, as received */
    /* How the body came over the wire: "identity", "gzip" or "deflate" (NULL: identity). The
     * body itself is always the decoded document. */
    const char *content_encoding;
    const char *body; /* verbatim bytes (decoded, when content_encoding says it was encoded) */
    size_t body_len;
    size_t result_count; /* results read before acceptance or refusal */
    /* NULL for a document; for a batch of a feed, the position after it. A store that
     * finds the feed taken by another generation stores nothing and fails with
     * MARKR_ERR_UNAVAILABLE "feed_lost". */
    const struct markr_stream_position *position;
    /* What the store's begin returned for this entry (NULL: nothing begun, or a store
     * without begin): save_accepted, save_rejected and abandon finish or drop it. */
    void *begun;
};

/* The import vault and the marks table. */
struct markr_import_store {
    void *ctx;
    /* Stores entry as accepted and upserts marks (highest obtained and highest available,
     * independently), all in one transaction. Sets *import_id. Returns 0, or -1 with err
     * (MARKR_ERR_UNAVAILABLE when the database cannot be reached; nothing is stored). */
    int (*save_accepted)(void *ctx, const struct markr_vault_entry *entry, const struct markr_marks *marks,
                         int64_t *import_id, struct markr_error *err);
    /* Stores entry as rejected with the structured reason. Sets *import_id. Returns 0, or -1
     * with err. */
    int (*save_rejected)(void *ctx, const struct markr_vault_entry *entry, const struct markr_error *reason,
                         int64_t *import_id, struct markr_error *err);
    /* Optional, with abandon (either NULL: not offered). Starts storing entry's body before the verdict is known,
     * so that it travels while the document is judged (ADR 0033). Returns a handle for
     * entry->begun, which save_accepted or save_rejected then finish with the verdict (one
     * transaction, as without it), or which abandon drops; or NULL when nothing was begun
     * (a small body, no thread to spare), and the saves store everything themselves. The
     * one exception to "no pointer kept": until the handle is finished or abandoned, the
     * entry's strings and body must stay valid and unchanged, and ctx is busy (nothing else
     * may use it). Never fails: whatever goes wrong is reported by the save. */
    void *(*begin)(void *ctx, const struct markr_vault_entry *entry);
    /* Drops what begin started (no verdict: the judgement itself failed): nothing of it is
     * stored, and ctx is free again. */
    void (*abandon)(void *ctx, void *begun);
};

/* Reads of the marks. */
struct markr_results_reader {
    void *ctx;
    /* Computes the aggregate of a test. Returns 0, or -1 with err: MARKR_ERR_NOT_FOUND when
     * the test has no marks. */
    int (*aggregate)(void *ctx, const char *test_id, size_t test_id_len, struct markr_aggregate *out,
                     struct markr_error *err);
    /* Computes the item analysis of a test from its kept sheets into out (zeroed by the
     * caller, which frees it with markr_items_free, also after a failure). Returns 0, or -1
     * with err: MARKR_ERR_NOT_FOUND "unknown_test" when the test has no marks. */
    int (*items)(void *ctx, const char *test_id, size_t test_id_len, struct markr_items *out,
                 struct markr_error *err);
    /* A student's mark and kept sheet in a test, as items does (markr_student_sheet_free);
     * MARKR_ERR_NOT_FOUND "unknown_student" when there is no such mark. */
    int (*student_sheet)(void *ctx, const char *test_id, size_t test_id_len, const char *student,
                         size_t student_len, struct markr_student_sheet *out, struct markr_error *err);
};

/* What readiness says of one read replica of the storage. */
struct markr_standby_status {
    char name[128];    /* host and port, or socket directory and port: never a password */
    const char *state; /* "up", "down", "lagging", "not_in_recovery", "unknown"; static */
    double lag_seconds; /* replay lag when last probed; 0 when caught up or unknown */
};

/* Readiness of the storage: reachable, and its schema is the one this build expects. */
struct markr_readiness {
    void *ctx;
    /* Returns 0 when ready, or -1 with err (MARKR_ERR_UNAVAILABLE) saying why not. */
    int (*check)(void *ctx, struct markr_error *err);
    /* Probes the read replicas and reports up to max of them to out; returns how many. A
     * replica never makes the storage unready: reads go elsewhere. NULL: no replicas. */
    size_t (*standbys)(void *ctx, struct markr_standby_status *out, size_t max);
};

#endif
