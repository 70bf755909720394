/*
 * The import store port over one PostgreSQL connection (the results reader and readiness
 * are pg_results.c's). An accepted document is ONE transaction (vault row, its body streamed
 * as chunks, then the marks through pg_marks.c, as every path applies them), so it commits
 * whole or not at all. ADR 0003 explains the statements and what was measured, ADR 0018 the
 * chunks, ADR 0024 the batches, ADR 0033 how a large body is stored on a thread of its own
 * while the worker judges the document.
 */
#include "pg_store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_batch.h"
#include "pg_chunks.h"
#include "interfaces/observe/log.h"
#include "pg_internal.h"
#include "pg_listen.h"
#include "pg_marks.h"
#include "pg_sheets.h"

/* --- import store ------------------------------------------------------------------------------ */

/*
 * A vault row, the first statement of the import's transaction after BEGIN (ADR 0018, 0024),
 * with the body stored as chunk 0 in the same statement when it fits in one chunk. Its last
 * two parameters are the body's SHA-256 (NULL: not known yet, set by markr_pg_chunks_write)
 * and the body (NULL: streamed after this statement by COPY). An empty body has no chunk.
 */
#define VAULT_ROW(INSERT, BODY)                                                                                \
    "WITH vault AS (\n" INSERT "    RETURNING id\n"                                                            \
    "), chunk AS (\n"                                                                                         \
    "    INSERT INTO import_chunks (import_id, seq, bytes)\n"                                                 \
    "    SELECT id, 0, " BODY " FROM vault WHERE octet_length(" BODY ") > 0\n"                                \
    ")\n"                                                                                                     \
    "SELECT id FROM vault"

/* Accepted: $1 content type, $2 size in bytes, $3 result count, $4 the coding it arrived in
 * (ADR 0023), $5 SHA-256, $6 body. */
static const struct markr_pg_statement accepted_row = {
    MARKR_PG_SLOT_ACCEPTED_ROW,
    VAULT_ROW("    INSERT INTO imports (content_type, size_bytes, sha256, status, result_count, content_encoding)\n"
              "    VALUES ($1, $2, COALESCE($5, " MARKR_PG_SHA256_PENDING "), 'accepted', $3, $4)\n",
              "$6")};

/* Refused: $1 content type, $2 size, $3..$7 the reason (built by the server from plain
 * parameters, pg_marks.h), $8 result count, $9 the coding, $10 SHA-256, $11 body. */
static const struct markr_pg_statement rejected_row = {
    MARKR_PG_SLOT_REJECTED_ROW,
    VAULT_ROW("    INSERT INTO imports (content_type, size_bytes, sha256, status, reason, result_count,\n"
              "                         content_encoding)\n"
              "    VALUES ($1, $2, COALESCE($10, " MARKR_PG_SHA256_PENDING "), 'rejected',\n"
              "            " MARKR_PG_REASON_JSONB("$3", "$4", "$5", "$6", "$7") ", $8, $9)\n",
              "$11")};

/* The verdict of a vault row stored before it was known (ADR 0033): inserted by accepted_row
 * with no results and no SHA-256 yet, it gets them here, and a refusal its status and
 * reason, in the transaction's last batch. $1 id, $2 SHA-256, $3 result count; refused, $4..$8
 * the reason (as rejected_row's). */
static const struct markr_pg_statement accepted_verdict = {
    MARKR_PG_SLOT_ACCEPTED_VERDICT, "UPDATE imports SET sha256 = $2, result_count = $3 WHERE id = $1"};
static const struct markr_pg_statement rejected_verdict = {
    MARKR_PG_SLOT_REJECTED_VERDICT,
    "UPDATE imports SET sha256 = $2, result_count = $3, status = 'rejected',\n"
    "    reason = " MARKR_PG_REASON_JSONB("$4", "$5", "$6", "$7", "$8") "\n"
    "WHERE id = $1"};

/* A feed's position moves with the entry that carries it, and only while the generation that
 * stores it still holds the feed (migration 0007): 0 rows means another instance took it. */
static const char position_sql[] =
    "UPDATE feed_positions SET last_event_id = $2, updated_at = now()\n"
    "WHERE feed = $1 AND generation = $3 RETURNING 1";

/* Reads the id of the vault row from a one-row, one-column result. */
static int read_id(const PGresult *res, int64_t *id, struct markr_error *err)
{
    if (res == NULL || PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
        return markr_error_set(err, MARKR_ERR_INTERNAL, "database_error", "the database returned no import id");
    *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    return 0;
}

/* What the import's transaction needs (prepared once, sent again when it is retried). */
struct vault_step {
    const struct markr_vault_entry *entry;
    const char *what;                           /* for the slow-query log and errors */
    const struct markr_pg_statement *statement; /* accepted_row or rejected_row */
    struct markr_pg_params row, position;
    const struct markr_pg_marks_statement *apply; /* NULL for a refused document */
    int64_t id;
    /* For the first run only, when the body was stored while the document was judged: what
     * that did (store_begin), and the verdict that finishes it. NULL: the run does it all. */
    struct markr_pg_begun *begun;
    const struct markr_pg_statement *verdict;
    struct markr_pg_params verdict_params;
};

/* A large body's part of the import's transaction, begun before the verdict (ADR 0033): run
 * on a thread of its own, which owns the connection until it is joined. */
struct markr_pg_begun {
    struct markr_pg *pg;
    pthread_t thread;
    struct vault_step step; /* the vault row as accepted_row, with no results yet */
    char *content_type;
    unsigned char digest[32]; /* of the body, once it is stored */
    Oid sheet_type;           /* markr_pg_sheets_type's, looked up before the thread started */
    int started;              /* markr_pg_transaction_start succeeded */
    int rc;                   /* 0: the transaction is open with the row and the body */
    struct markr_error err;   /* when rc is not 0 */
};

/* Tells every instance (this one's change feed included) to drop every cached figure, on a
 * working connection if one can be had: for a change that may be committed but was not
 * announced. Best effort: a change feed that reconnects flushes too. */
static void announce_flush(struct markr_pg *pg)
{
    struct markr_error err;

    markr_error_clear(&err);
    if (markr_pg_ensure(pg, &err) != 0 ||
        markr_pg_command(pg, "announcing a flush", MARKR_PG_NOTIFY_FLUSH_SQL, NULL, &err) != 0)
        markr_log(MARKR_LOG_WARN, "a flush could not be announced", "error", err.message, NULL);
}

/* Runs what b holds so far and empties it; results[index] is then the vault row's id when
 * index is not negative. Returns 0, or -1 with err. */
static int run_batch(struct markr_pg *pg, struct markr_pg_batch *b, struct vault_step *s, int index,
                     struct markr_error *err)
{
    int rc = markr_pg_batch_run(pg, b, err);

    if (rc != 0 && b->committed) {
        /* Stored: only the announcement after the COMMIT failed (a lost connection, a cancel,
         * a full notification queue). The import is not failed for it, nor run again; every
         * instance is told to drop everything instead, on a working connection if one can be
         * had (a later change or a reconnection of the change feed would flush otherwise). */
        markr_log(MARKR_LOG_WARN, "import committed but not announced", "operation", s->what, "error", err->message,
                  NULL);
        announce_flush(pg);
        markr_error_clear(err);
        rc = 0;
    }
    if (rc == 0 && index >= 0)
        rc = read_id(b->results[index], &s->id, err);
    markr_pg_batch_clear(b);
    return rc;
}

/*
 * The start of the import's transaction: BEGIN, no JIT, a feed's position, the vault row.
 * When the body fits in a chunk, all of it stays queued in b for the batch that commits (one
 * round trip), and *row is the vault row's index there. A larger body is streamed by COPY,
 * which a pipeline cannot carry: this part is then run as a batch of its own and the chunks
 * sent after it (*row is -1). digest NULL: the COPY sets the row's SHA-256 itself; else it is
 * left in digest, for the verdict to store. A feed's position is checked (0 rows: the feed
 * was lost) before anything else is queued, so an entry of the change feed costs one round
 * trip more.
 */
static int open_vault(struct markr_pg *pg, struct vault_step *s, struct markr_pg_batch *b, int *row,
                      unsigned char *digest, struct markr_error *err)
{
    const struct markr_vault_entry *entry = s->entry;
    int held;

    s->id = 0;
    markr_pg_batch_add(b, s->what, NULL, "BEGIN", NULL);
    /* The marks statement (with the sheets) of a large document costs more than
     * jit_above_cost, and compiling it took longer (about 40 ms at 10,000 results) than it
     * saved: not for the import's transaction (bench/README.md). */
    markr_pg_batch_add(b, s->what, NULL, "SET LOCAL jit = off", NULL);
    if (entry->position != NULL) {
        markr_pg_batch_add(b, "storing the feed position", NULL, position_sql, &s->position);
        if (markr_pg_batch_run(pg, b, err) != 0) {
            markr_pg_batch_clear(b);
            return -1;
        }
        held = b->results[2] != NULL && PQntuples(b->results[2]) == 1;
        markr_pg_batch_clear(b);
        if (!held)
            return markr_error_set(err, MARKR_ERR_UNAVAILABLE, "feed_lost",
                                   "another instance holds the feed now: the batch was not stored");
    }
    *row = b->count;
    markr_pg_batch_add(b, s->what, s->statement, NULL, &s->row);
    if (entry->body_len <= MARKR_PG_CHUNK_BYTES)
        return 0;
    if (run_batch(pg, b, s, *row, err) != 0)
        return -1;
    *row = -1;
    if (digest != NULL)
        return markr_pg_chunks_copy(pg, s->id, entry->body, entry->body_len, digest, err);
    return markr_pg_chunks_write(pg, s->id, entry->body, entry->body_len, err);
}

/*
 * The import's transaction. One batch (one round trip) when the body fits in a chunk: BEGIN,
 * the vault row with its body, the marks with their kept sheets, COMMIT, then the announcement
 * of the changed tests (after the COMMIT, in a transaction of its own: pg_marks.h). Until
 * markr_pg_batch_run sends it, nothing that could commit has left the process; once it has,
 * whether the COMMIT ran is known only from its result. A larger body goes first (open_vault),
 * then the rest as one batch; when it went while the document was judged (the first run of a
 * begun import), that batch starts with the row's verdict, or this run reports how storing the
 * body failed. A refused document has no marks and nothing to announce.
 */
static int vault_step(struct markr_pg *pg, void *arg, struct markr_error *err)
{
    struct vault_step *s = arg;
    struct markr_pg_batch b = {0};
    int row;

    if (s->begun != NULL) {
        struct markr_pg_begun *g = s->begun;

        s->begun = NULL; /* a later run (after a deadlock or a lost connection) does it all */
        if (g->rc != 0) {
            *err = g->err;
            return -1;
        }
        s->id = g->step.id;
        row = -1;
        markr_pg_batch_add(&b, s->what, s->verdict, NULL, &s->verdict_params);
    } else if (open_vault(pg, s, &b, &row, NULL, err) != 0) {
        return -1;
    }
    if (s->apply != NULL)
        markr_pg_batch_add(&b, "storing the marks", s->apply->statement, NULL, &s->apply->params);
    markr_pg_batch_add(&b, s->what, NULL, "COMMIT", NULL);
    if (s->apply != NULL)
        markr_pg_batch_add(&b, "announcing the import", &markr_pg_notify_kept, NULL, NULL);
    return run_batch(pg, &b, s, row, err);
}

/* Appends the coding, SHA-256 and body parameters of a vault row: the SHA-256 and the body
 * when the body fits in one chunk (digest is then filled), both NULL when it goes by COPY.
 * Also the feed position's parameters, when the entry carries one. Returns 0, or -1 with
 * err. */
static int body_params(struct vault_step *s, unsigned char digest[32], struct markr_error *err)
{
    const struct markr_vault_entry *entry = s->entry;

    markr_pg_param_text(&s->row, MARKR_PG_TEXT, markr_pg_content_encoding(entry->content_encoding));
    if (entry->position != NULL) {
        markr_pg_param_text(&s->position, MARKR_PG_TEXT, entry->position->feed);
        markr_pg_param_text(&s->position, MARKR_PG_TEXT, entry->position->last_event_id);
        markr_pg_param_int8(&s->position, entry->position->generation);
    }
    if (entry->body_len > MARKR_PG_CHUNK_BYTES) {
        markr_pg_param_text(&s->row, MARKR_PG_BYTEA, NULL);
        markr_pg_param_text(&s->row, MARKR_PG_BYTEA, NULL);
        return 0;
    }
    if (markr_pg_sha256(entry->body, entry->body_len, digest, err) != 0)
        return -1;
    markr_pg_param_binary(&s->row, MARKR_PG_BYTEA, (const char *)digest, 32);
    markr_pg_param_binary(&s->row, MARKR_PG_BYTEA, entry->body != NULL ? entry->body : "", entry->body_len);
    return 0;
}

/* --- a large body stored while the document is judged (ADR 0033) --- */

/* The begun import's thread: starts the transaction (markr_pg_ensure: a usable connection)
 * and stores the vault row and the body, leaving the transaction open for the verdict. */
static void *store_body(void *arg)
{
    struct markr_pg_begun *g = arg;
    struct markr_pg_batch b = {0};
    int row;

    g->rc = -1;
    markr_error_clear(&g->err);
    if (markr_pg_transaction_start(g->pg, &g->err) != 0)
        return NULL;
    g->started = 1;
    g->rc = open_vault(g->pg, &g->step, &b, &row, g->digest, &g->err);
    return NULL;
}

/* Only a body larger than a chunk: a smaller one goes in the one round trip of its import,
 * which starting early could only lengthen. When no thread can be had, nothing is begun and
 * the save does it all, as it would have. */
static void *store_begin(void *ctx, const struct markr_vault_entry *entry)
{
    struct markr_pg_begun *g;
    struct markr_error err;
    unsigned char unused[32];

    if (entry->body_len <= MARKR_PG_CHUNK_BYTES || (g = calloc(1, sizeof(*g))) == NULL)
        return NULL;
    g->pg = ctx;
    /* The marks statement, which carries the sheets, is built once the thread is joined,
     * inside its transaction, where no look-up may run (its failure would end the
     * transaction without the state that says whether to run it again): the sheets' type is
     * known first, or nothing is begun. */
    if ((g->sheet_type = g->pg->sheet_type) == 0 && markr_pg_sheets_type(g->pg, 1, &g->sheet_type, &err) != 0) {
        free(g);
        return NULL;
    }
    g->step.entry = entry;
    g->step.what = "storing the import";
    g->step.statement = &accepted_row;
    if ((g->content_type = markr_pg_utf8_copy(entry->content_type)) == NULL) {
        free(g);
        return NULL;
    }
    markr_pg_param_text(&g->step.row, MARKR_PG_TEXT, g->content_type);
    markr_pg_param_int8(&g->step.row, (int64_t)entry->body_len);
    markr_pg_param_int4(&g->step.row, 0); /* the verdict sets the count */
    (void)body_params(&g->step, unused, &err); /* a large body: no digest, cannot fail */
    if (pthread_create(&g->thread, NULL, store_body, g) != 0) {
        free(g->content_type);
        free(g);
        return NULL;
    }
    return g;
}

/* Waits for the thread of a begun import (NULL: none): from here on the connection is the
 * caller's again. */
static struct markr_pg_begun *join_begun(void *begun)
{
    struct markr_pg_begun *g = begun;

    if (g != NULL)
        pthread_join(g->thread, NULL);
    return g;
}

/* Frees a joined begun import, rolling back the transaction it opened if it is still open
 * (abandoned, or no verdict could be built), so that the connection serves the next
 * operation. */
static void release_begun(struct markr_pg_begun *g)
{
    if (g == NULL)
        return;
    markr_pg_rollback(g->pg);
    free(g->content_type);
    free(g);
}

static void store_abandon(void *ctx, void *begun)
{
    (void)ctx;
    release_begun(join_begun(begun));
}

/* The verdict's first parameters (id, SHA-256, result count), when the body is stored. */
static void verdict_params(struct vault_step *s, struct markr_pg_begun *g,
                           const struct markr_pg_statement *verdict)
{
    s->verdict = verdict;
    markr_pg_param_int8(&s->verdict_params, g->step.id);
    markr_pg_param_binary(&s->verdict_params, MARKR_PG_BYTEA, (const char *)g->digest, sizeof(g->digest));
    markr_pg_param_int4(&s->verdict_params, (int64_t)s->entry->result_count);
}

/* Runs the import's transaction: continuing a begun one, or whole. A begun one whose start
 * failed (no connection then) sent nothing: it is run whole now, when the connection may be
 * back, as an import never begun would be. */
static int run_import(struct markr_pg *pg, struct vault_step *s, struct markr_pg_begun *g, struct markr_error *err)
{
    if (g == NULL || !g->started)
        return markr_pg_batch_transaction(pg, s->what, vault_step, s, err);
    s->begun = g;
    return markr_pg_batch_transaction_begun(pg, s->what, vault_step, s, err);
}

static int store_save_accepted(void *ctx, const struct markr_vault_entry *entry, const struct markr_marks *marks,
                               int64_t *import_id, struct markr_error *err)
{
    struct markr_pg *pg = ctx;
    struct markr_pg_begun *g = join_begun(entry->begun);
    struct markr_pg_marks_statement apply = {0};
    struct vault_step step = {.entry = entry, .what = "storing the import", .statement = &accepted_row,
                              .apply = &apply};
    char *content_type = markr_pg_utf8_copy(entry->content_type);
    unsigned char digest[32];
    Oid sheet_type = 0;
    int rc = -1;

    *import_id = 0;
    if (content_type == NULL) {
        markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
        goto out;
    }
    markr_pg_param_text(&step.row, MARKR_PG_TEXT, content_type);
    markr_pg_param_int8(&step.row, (int64_t)entry->body_len);
    markr_pg_param_int4(&step.row, (int64_t)entry->result_count);
    if (body_params(&step, digest, err) != 0)
        goto out;
    /* The marks follow the vault row: by its currval within the batch (id 0). */
    if (g != NULL)
        sheet_type = g->sheet_type;
    else if (markr_pg_sheets_type(pg, 1, &sheet_type, err) != 0)
        goto out;
    if (markr_pg_marks_statement(&apply, sheet_type, 0, marks, entry->result_count,
                                 MARKR_PG_APPLY_NOTIFY_KEPT | MARKR_PG_APPLY_ROW_WRITTEN, err) != 0)
        goto out;
    if (g != NULL && g->rc == 0)
        verdict_params(&step, g, &accepted_verdict);
    if ((rc = run_import(pg, &step, g, err)) == 0)
        *import_id = step.id;
    else if (strcmp(err->reason, "outcome_unknown") == 0)
        announce_flush(pg); /* it may be stored, and then nobody was told */
out:
    release_begun(g);
    markr_pg_marks_statement_free(&apply);
    free(content_type);
    return rc;
}

/* A refused document: its vault row with the reason, and its body, in one transaction. */
static int store_save_rejected(void *ctx, const struct markr_vault_entry *entry, const struct markr_error *reason,
                               int64_t *import_id, struct markr_error *err)
{
    struct markr_pg *pg = ctx;
    struct markr_pg_begun *g = join_begun(entry->begun);
    struct vault_step step = {.entry = entry, .what = "storing the refused import", .statement = &rejected_row};
    struct markr_pg_reason text = {0}, verdict_text = {0};
    char *content_type = markr_pg_utf8_copy(entry->content_type);
    unsigned char digest[32];
    int rc = -1;

    *import_id = 0;
    if (content_type == NULL) {
        markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
        goto out;
    }
    markr_pg_param_text(&step.row, MARKR_PG_TEXT, content_type);
    markr_pg_param_int8(&step.row, (int64_t)entry->body_len);
    if (markr_pg_reason_params(&step.row, &text, reason, err) != 0)
        goto out;
    markr_pg_param_int4(&step.row, (int64_t)entry->result_count);
    if (body_params(&step, digest, err) != 0)
        goto out;
    if (g != NULL && g->rc == 0) {
        verdict_params(&step, g, &rejected_verdict);
        if (markr_pg_reason_params(&step.verdict_params, &verdict_text, reason, err) != 0)
            goto out;
    }
    if ((rc = run_import(pg, &step, g, err)) == 0)
        *import_id = step.id;
out:
    release_begun(g);
    markr_pg_reason_free(&verdict_text);
    markr_pg_reason_free(&text);
    free(content_type);
    return rc;
}

struct markr_import_store markr_pg_import_store(struct markr_pg *pg)
{
    return (struct markr_import_store){.ctx = pg, .save_accepted = store_save_accepted,
                                       .save_rejected = store_save_rejected, .begin = store_begin,
                                       .abandon = store_abandon};
}
