/*
 * Statements sent together in libpq's pipeline mode: one round trip for a whole batch
 * (ADR 0024), through the same abandon check, slow-query log and failure mapping as every
 * other statement (pg_conn.c). The statements that run on every import are prepared once
 * per backend and then only bound and executed. Private to the adapter.
 */
#ifndef MARKR_INTERFACES_PG_BATCH_H
#define MARKR_INTERFACES_PG_BATCH_H

#include "domain/error.h"
#include "pg_internal.h"

/* A statement prepared once per backend: its slot names it ("markr_<slot>") and is its bit
 * in markr_pg's prepared set, so each statement has a slot of its own (below 32). */
struct markr_pg_statement {
    int slot;
    const char *sql;
};

#define MARKR_PG_BATCH_MAX 8

/* Up to MARKR_PG_BATCH_MAX statements, run in order; a statement's params must stay valid
 * until markr_pg_batch_run returns. After the run, results[i] holds the rows of statement i
 * when it returned any (the caller reads them; markr_pg_batch_clear frees them). */
struct markr_pg_batch {
    int count;
    struct {
        const char *what;
        const struct markr_pg_statement *statement; /* NULL: sent unnamed, parsed each time */
        const char *sql;
        const struct markr_pg_params *params; /* NULL: none */
        int commits;                          /* it is the transaction's COMMIT */
    } items[MARKR_PG_BATCH_MAX];
    PGresult *results[MARKR_PG_BATCH_MAX];
    /* After a run: the batch's COMMIT came back successful. The transaction is then stored
     * even if a statement after it (the announcement) failed. */
    int committed;
};

/* Appends a statement (sql when statement is NULL); more than MARKR_PG_BATCH_MAX is a bug. */
void markr_pg_batch_add(struct markr_pg_batch *b, const char *what, const struct markr_pg_statement *statement,
                        const char *sql, const struct markr_pg_params *params);

/*
 * Sends every statement of b and one Sync, then reads their results in order; first, as
 * before anything sent in a transaction, markr_pg_before_send (a batch that carries the
 * COMMIT counts as having sent it once it is being queued). Nothing of
 * the batch leaves the process before it is all queued: until markr_pg_batch_run is called,
 * nothing that could commit has been sent. The server runs the statements in order and, once
 * one fails, skips the rest up to the Sync, so a batch of BEGIN ... COMMIT commits whole or
 * not at all (the caller rolls back the transaction left open by a failure). Returns 0 when
 * every statement succeeded, or -1 with err describing the first that failed (see
 * markr_pg_fail; MARKR_ERR_UNAVAILABLE when the connection was lost or abandoned).
 */
int markr_pg_batch_run(struct markr_pg *pg, struct markr_pg_batch *b, struct markr_error *err);

/* Frees the results of a run and empties b for reuse. */
void markr_pg_batch_clear(struct markr_pg_batch *b);

/* As markr_pg_transaction (pg_internal.h), for a step whose batches carry their own BEGIN
 * and COMMIT: step is run after markr_pg_ensure, the transaction it leaves open on failure
 * is rolled back, and the whole step is run again after a deadlock or a serialization
 * failure, or once after a connection lost before any batch carrying the COMMIT was sent,
 * so step must be repeatable. A connection lost once such a batch was sent is
 * MARKR_ERR_UNAVAILABLE "outcome_unknown", never run again. Returns 0, or -1 with err. */
int markr_pg_batch_transaction(struct markr_pg *pg, const char *what,
                               int (*step)(struct markr_pg *pg, void *arg, struct markr_error *err), void *arg,
                               struct markr_error *err);

/* The same for a transaction begun before on pg (markr_pg_transaction_start, then its
 * first batches, possibly on another thread that has handed pg back): the first run of
 * step continues it, or returns how it failed, and the loop treats that failure as its own
 * (a connection lost before any COMMIT was sent: run again once, from the start). */
int markr_pg_batch_transaction_begun(struct markr_pg *pg, const char *what,
                                     int (*step)(struct markr_pg *pg, void *arg, struct markr_error *err),
                                     void *arg, struct markr_error *err);

#endif
