/*
 * The import vault as operators use it: browse stored documents, read one back
 * verbatim, list student numbers seen under several names, and rebuild the marks from the
 * stored documents under the current parsing rules. Ports are blocking tables of operations
 * plus a context pointer, like those of ports.h; the PostgreSQL adapter fills them in
 * (src/interfaces/pg: pg_vault.c, pg_rebuild.c, pg_queue.c), the unit tests with fakes.
 */
#ifndef MARKR_APPLICATION_VAULT_H
#define MARKR_APPLICATION_VAULT_H

#include <stddef.h>
#include <stdint.h>

#include "../domain/document.h"
#include "../domain/error.h"

/* The states of a stored import. Synchronous imports are born accepted or rejected;
 * asynchronous ones go queued -> processing -> accepted or rejected. */
#define MARKR_STATUS_MAX 16

/* What the vault says about one import. Strings are owned (markr_import_info_free). */
struct markr_import_info {
    int64_t id;
    char received_at[40];  /* ISO 8601, UTC */
    char processed_at[40]; /* "" unless an asynchronous import reached its verdict */
    char *content_type;    /* as received */
    char content_encoding[16]; /* "identity", "gzip" or "deflate": how the body arrived */
    int64_t size_bytes;        /* of the stored (decoded) body */
    char sha256[65]; /* lower-case hex */
    char status[MARKR_STATUS_MAX];
    int64_t result_count;
    struct markr_error reason; /* reason.reason[0] == '\0' unless rejected */
    char **tests;              /* distinct tests it touched, sorted (filled by `get` only): the
                                * first MARKR_IMPORT_TESTS_MAX of them */
    size_t test_count;         /* entries of tests */
    int64_t test_total;        /* how many tests it touched (filled by `get` only) */
};
/* At most this many tests of one import are listed by GET /imports/{id}; the full list is
 * reachable the other way round, through GET /imports?test_id=... */
#define MARKR_IMPORT_TESTS_MAX 1000
void markr_import_info_free(struct markr_import_info *info);

/* A page of GET /imports, newest first. */
struct markr_import_filter {
    const char *status;  /* NULL: any */
    const char *test_id; /* NULL: any; NUL-terminated */
    const char *sha256;  /* NULL: any; else the body's SHA-256, 64 lower-case hex digits */
    int64_t before_id;   /* keyset cursor: only ids below it; 0: from the newest */
    unsigned limit;      /* 1..MARKR_IMPORT_PAGE_MAX */
};
#define MARKR_IMPORT_PAGE_MAX 1000
#define MARKR_IMPORT_PAGE_DEFAULT 50
struct markr_import_page {
    struct markr_import_info *items; /* owned */
    size_t count;
    int64_t next_before_id; /* cursor of the next page; 0 when this one is the last */
};
void markr_import_page_free(struct markr_import_page *page);

/* One student number of a test seen under several names, each with the imports carrying it. */
struct markr_name_seen {
    char *first_name; /* NULL when the scan had none */
    char *last_name;
    int64_t *import_ids; /* ascending */
    size_t import_count;
};
struct markr_conflict {
    char *student_number;
    struct markr_name_seen *names; /* sorted by first, then last name (NULL last) */
    size_t name_count;
};
struct markr_conflicts {
    struct markr_conflict *items; /* sorted by student number */
    size_t count;
    int more; /* 1 when students follow the last item: its number is the next page's cursor */
};
/* One page of the conflicts of a test: at most limit students, those whose number sorts
 * after `after` (the keyset cursor: the last student number of the previous page) when it
 * is not NULL. */
struct markr_conflicts_page {
    unsigned limit; /* 1..MARKR_CONFLICTS_PAGE_MAX */
    const char *after;
    size_t after_len;
};
#define MARKR_CONFLICTS_PAGE_DEFAULT 100
#define MARKR_CONFLICTS_PAGE_MAX 1000
void markr_conflicts_free(struct markr_conflicts *c);

/* Reads of the vault. */
struct markr_vault_reader {
    void *ctx;
    int (*list)(void *ctx, const struct markr_import_filter *filter, struct markr_import_page *out,
                struct markr_error *err);
    /* MARKR_ERR_NOT_FOUND for an unknown id. */
    int (*get)(void *ctx, int64_t id, struct markr_import_info *out, struct markr_error *err);
    /* The verbatim body (*body malloc'd, *len bytes) and content type (malloc'd). */
    int (*raw)(void *ctx, int64_t id, char **content_type, char **body, size_t *len, struct markr_error *err);
    /* What a download of the body starts from: the stored content type (malloc'd) and the
     * body's size in bytes. MARKR_ERR_NOT_FOUND for an unknown id. */
    int (*head)(void *ctx, int64_t id, char **content_type, size_t *size, struct markr_error *err);
    /* Chunk seq (0, 1, 2, ...) of the body of import id: *bytes malloc'd, *len bytes. Returns
     * 1, 0 when the body has no such chunk, -1 with err. */
    int (*chunk)(void *ctx, int64_t id, int32_t seq, char **bytes, size_t *len, struct markr_error *err);
    /* At most limit student numbers of test_id seen under more than one (first, last) name,
     * in order, only those after `after` (after_len bytes) when it is not NULL. An unknown
     * test, or a cursor the store cannot compare (bytes that are not text), has none (not an
     * error). Leaves out->more alone. */
    int (*conflicts)(void *ctx, const char *test_id, size_t len, const char *after, size_t after_len,
                     size_t limit, struct markr_conflicts *out, struct markr_error *err);
};

/* Use cases of the vault's reads, for the HTTP adapter: each asks the reader once, except
 * for an id below 1, which names no import and is answered without a query. Return 0, or
 * -1 with err (MARKR_ERR_NOT_FOUND for an unknown import). markr_list_imports refuses a
 * limit outside 1..MARKR_IMPORT_PAGE_MAX (MARKR_ERR_BAD_REQUEST "bad_limit", as the views);
 * the other filters' forms are the caller's to check (the query parser says which is wrong). */
int markr_list_imports(const struct markr_vault_reader *v, const struct markr_import_filter *filter,
                       struct markr_import_page *out, struct markr_error *err);
int markr_get_import(const struct markr_vault_reader *v, int64_t id, struct markr_import_info *out,
                     struct markr_error *err);
int markr_get_raw_import(const struct markr_vault_reader *v, int64_t id, char **content_type, char **body,
                         size_t *len, struct markr_error *err);
/* A body read back a chunk at a time, so that a download holds one chunk, never the body:
 * markr_open_raw_import gives the content type (malloc'd) and size; markr_read_raw_chunk
 * gives chunk seq (*bytes malloc'd, *len bytes) of a body of which `remaining` bytes are
 * still to come. A chunk that is missing, empty or longer than what remains means the
 * stored chunks do not make the body: MARKR_ERR_INTERNAL "database_error". */
int markr_open_raw_import(const struct markr_vault_reader *v, int64_t id, char **content_type, size_t *size,
                          struct markr_error *err);
int markr_read_raw_chunk(const struct markr_vault_reader *v, int64_t id, int32_t seq, size_t remaining,
                         char **bytes, size_t *len, struct markr_error *err);
/* One page of conflicts: the reader is asked for one student more than the page holds, to
 * tell whether more follow (out->more). A limit out of bounds is MARKR_ERR_BAD_REQUEST
 * "bad_limit"; a cursor that is no id (markr_id_valid) "bad_cursor". */
int markr_list_conflicts(const struct markr_vault_reader *v, const char *test_id, size_t len,
                         const struct markr_conflicts_page *page, struct markr_conflicts *out,
                         struct markr_error *err);

/* A stored document, as the rebuild reads it. Owned: markr_stored_import_free. */
struct markr_stored_import {
    int64_t id;
    char status[MARKR_STATUS_MAX];
    char *content_type;
    char *body;
    size_t len;
};
void markr_stored_import_free(struct markr_stored_import *s);

/*
 * Writes of a rebuild, all inside one transaction opened by begin and closed by finish.
 * Used by `markr reprocess` and by the asynchronous queue (which processes one import).
 */
struct markr_vault_rebuild {
    void *ctx;
    /* Opens the transaction. all: every mark and every name row is cleared first (readers
     * keep the committed ones until finish commits), writers are held off until then, and a
     * snapshot of the marks is kept to tell which aggregates change. */
    int (*begin)(void *ctx, int all, struct markr_error *err);
    /* The first accepted or rejected import with an id above after_id, locked. Returns 1 and
     * fills out, 0 when there is none, -1 with err. */
    int (*next)(void *ctx, int64_t after_id, struct markr_stored_import *out, struct markr_error *err);
    /* Import id, locked (waits for whoever holds it); only when its status is want (NULL:
     * accepted or rejected). Returns 1, 0 when there is no such import in that state, -1. */
    int (*fetch)(void *ctx, int64_t id, const char *want, struct markr_stored_import *out, struct markr_error *err);
    /* The tests of marks whose available or obtained applying them would raise (before
     * applying; sorted, owned). */
    int (*would_raise)(void *ctx, const struct markr_marks *marks, char ***tests, size_t *count,
                       struct markr_error *err);
    /* Marks import id accepted and applies its marks by rule 2, replacing the record of its
     * tests and names. Names come from the latest import in order of receipt: alone (not in
     * a rebuild of all, which applies every import in that order), the import may be older
     * than others already applied, and a name that a newer import carried stays. */
    int (*apply_accepted)(void *ctx, int64_t id, const struct markr_marks *marks, size_t result_count, int alone,
                          struct markr_error *err);
    /* Marks import id rejected with reason; drops the record of its tests and names. */
    int (*apply_rejected)(void *ctx, int64_t id, const struct markr_error *reason, size_t result_count,
                          struct markr_error *err);
    /* After a rebuild of all: the tests whose set of (student, available, obtained) differs
     * from the snapshot (sorted, owned). */
    int (*changed_tests)(void *ctx, char ***tests, size_t *count, struct markr_error *err);
    /* Commits (commit != 0) or rolls back. A failed commit is reported (-1). */
    int (*finish)(void *ctx, int commit, struct markr_error *err);
};

/* The queue of asynchronous imports (ADR 0011). */
struct markr_import_queue {
    void *ctx;
    /* Stores the (decoded) document as 'queued', with the coding it arrived in (NULL:
     * identity), and sets *import_id. */
    int (*enqueue)(void *ctx, const char *content_type, const char *content_encoding, const char *body, size_t len,
                   int64_t *import_id, struct markr_error *err);
    /* Claims the oldest import that is queued, or processing with nobody working on it (its
     * server died), and marks it 'processing'. Returns 1 and sets *import_id, 0 when there is
     * none, -1 with err. */
    int (*claim)(void *ctx, int64_t *import_id, struct markr_error *err);
    /* Waits up to timeout_ms for a new import to be queued (by any server). Returns 0. */
    int (*wait)(void *ctx, int timeout_ms, struct markr_error *err);
};

#endif
