/*
 * Batches of statements in pipeline mode (pg_batch.h, ADR 0024). libpq queues every
 * message (Parse of a statement not yet prepared on this backend, Bind/Execute of each
 * statement, one Sync) and sends them in one write; the results come back in order, one
 * PQgetResult sequence per message ended by NULL, then PGRES_PIPELINE_SYNC.
 */
#include "pg_batch.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sys/socket.h>

void markr_pg_batch_add(struct markr_pg_batch *b, const char *what, const struct markr_pg_statement *statement,
                        const char *sql, const struct markr_pg_params *params)
{
    /* The batches of the adapter are fixed: more statements than the array holds is a bug. */
    assert(b->count < MARKR_PG_BATCH_MAX);
    assert(statement == NULL || (statement->slot >= 0 && statement->slot < 32));
    b->items[b->count].what = what;
    b->items[b->count].statement = statement;
    b->items[b->count].sql = statement != NULL ? statement->sql : sql;
    b->items[b->count].params = params;
    /* A COMMIT is sent only this way, as unnamed SQL: how the batch knows it carries one. */
    b->items[b->count].commits = statement == NULL && strcmp(sql, "COMMIT") == 0;
    b->results[b->count] = NULL;
    b->count++;
}

void markr_pg_batch_clear(struct markr_pg_batch *b)
{
    for (int i = 0; i < b->count; ++i) {
        PQclear(b->results[i]);
        b->results[i] = NULL;
    }
    b->count = 0;
}

static void statement_name(char name[16], const struct markr_pg_statement *s)
{
    snprintf(name, 16, "markr_%d", s->slot);
}

/* Queues statement i (and its Parse first when its backend has not prepared it: *preparing
 * says so). Returns 0, or -1 when libpq refused (the connection is gone or out of memory). */
static int queue_one(struct markr_pg *pg, const struct markr_pg_batch *b, int i, int *preparing)
{
    static const struct markr_pg_params none = {0};
    const struct markr_pg_params *p = b->items[i].params != NULL ? b->items[i].params : &none;
    const struct markr_pg_statement *s = b->items[i].statement;
    char name[16];

    *preparing = 0;
    if (s == NULL)
        return PQsendQueryParams(pg->conn, b->items[i].sql, p->count, p->types, p->values, p->lengths, p->formats,
                                 0) == 1
                   ? 0
                   : -1;
    statement_name(name, s);
    if (!(pg->prepared & (UINT32_C(1) << s->slot))) {
        if (PQsendPrepare(pg->conn, name, s->sql, p->count, p->types) != 1)
            return -1;
        *preparing = 1;
    }
    return PQsendQueryPrepared(pg->conn, name, p->count, p->values, p->lengths, p->formats, 0) == 1 ? 0 : -1;
}

static int succeeded(ExecStatusType st)
{
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

/* Reads the results of one message of the pipeline (until NULL). Returns its first result
 * when keep is set and it succeeded (the caller owns it), else NULL; the first failure of
 * the batch becomes err (*failed set), later ones (skipped statements) are dropped. */
static PGresult *read_one(struct markr_pg *pg, const char *what, int keep, int *ok, int *failed,
                          struct markr_error *err)
{
    PGresult *res, *kept = NULL;
    int seen = 0;

    *ok = 0;
    while ((res = PQgetResult(pg->conn)) != NULL) {
        ExecStatusType st = PQresultStatus(res);

        if (!seen && succeeded(st)) {
            *ok = 1;
            if (keep && st == PGRES_TUPLES_OK) {
                kept = res;
                res = NULL;
            }
        } else if (st != PGRES_PIPELINE_ABORTED && !*failed && !succeeded(st)) {
            markr_pg_fail(pg, res, what, err);
            *failed = 1;
        }
        seen = 1;
        PQclear(res);
    }
    if (!seen && !*failed) { /* nothing at all came back: the connection went away */
        markr_pg_fail(pg, NULL, what, err);
        *failed = 1;
    }
    return kept;
}

/* Pipeline mode can be left only once every result was read. A lost connection leaves it
 * when markr_pg_ensure resets the connection; one still up with results unread (which
 * reading every message in order should never leave) is drained, and if even that fails it
 * is shut down, so that the next operation finds it broken and makes a new one instead of
 * reading another batch's results. */
static void leave_pipeline(struct markr_pg *pg, int count)
{
    for (int i = 0; i < 2 * count + 4 && PQexitPipelineMode(pg->conn) != 1; ++i) {
        if (PQstatus(pg->conn) != CONNECTION_OK)
            return;
        PQclear(PQgetResult(pg->conn));
    }
    if (PQpipelineStatus(pg->conn) != PQ_PIPELINE_OFF && PQstatus(pg->conn) == CONNECTION_OK) {
        shutdown(PQsocket(pg->conn), SHUT_RDWR);
        pg->notices.ended = 1; /* markr_pg_ensure makes a new one before the next statement */
    }
}

int markr_pg_batch_run(struct markr_pg *pg, struct markr_pg_batch *b, struct markr_error *err)
{
    int preparing[MARKR_PG_BATCH_MAX] = {0}, failed = 0, queued = 0, sync_ok = 0, commits = 0, failed_at = -1;
    struct timespec start;
    PGresult *res;

    b->committed = 0;
    if (atomic_load(&pg->abandoned))
        return markr_pg_fail(pg, NULL, b->count > 0 ? b->items[0].what : "a batch", err);
    /* Prepared statements belong to a backend: a new one (after a reconnection) has none. */
    if (PQbackendPID(pg->conn) != pg->prepared_pid) {
        pg->prepared_pid = PQbackendPID(pg->conn);
        pg->prepared = 0;
    }
    /* Nothing is sent into a connection the server has closed meanwhile (then nothing of
     * this batch ran, and the transaction may run again). A batch that carries the COMMIT
     * counts as having sent it from here on: libpq may flush a long pipeline before its
     * Sync, and the server runs each Execute as it arrives. */
    for (int i = 0; i < b->count; ++i)
        commits |= b->items[i].commits;
    if (markr_pg_before_send(pg, commits, b->items[0].what, err) != 0)
        return -1;
    clock_gettime(CLOCK_MONOTONIC, &start);
    if (PQenterPipelineMode(pg->conn) != 1)
        return markr_pg_fail(pg, NULL, b->items[0].what, err);
    for (; queued < b->count; ++queued)
        if (queue_one(pg, b, queued, &preparing[queued]) != 0)
            break;
    /* The one point where the batch leaves the process (libpq flushes what it has queued). */
    if (queued == b->count && PQpipelineSync(pg->conn) != 1)
        queued = -1;
    if (queued != b->count) {
        int commit_queued = 0;

        markr_pg_fail(pg, NULL, b->items[queued >= 0 && queued < b->count ? queued : 0].what, err);
        failed = 1;
        /* A COMMIT that libpq never queued was never sent: it did not run, whether the
         * connection is lost or not (libpq refused the message because it was lost). */
        for (int i = 0; i < queued; ++i)
            commit_queued |= b->items[i].commits;
        if (queued >= 0 && !commit_queued)
            markr_pg_commit_not_run(pg);
        /* libpq refused a message (out of memory) on a connection still up: what it holds or
         * sent has no Sync, so the server would answer none of it, and draining it would wait
         * for ever. The connection is ended instead (markr_pg_ensure makes a new one). */
        if (PQstatus(pg->conn) == CONNECTION_OK) {
            shutdown(PQsocket(pg->conn), SHUT_RDWR);
            pg->notices.ended = 1;
        }
    }
    for (int i = 0; i < b->count && queued == b->count && PQstatus(pg->conn) == CONNECTION_OK; ++i) {
        int ok, before = failed;

        if (preparing[i]) {
            PQclear(read_one(pg, b->items[i].what, 0, &ok, &failed, err));
            if (ok)
                pg->prepared |= UINT32_C(1) << b->items[i].statement->slot;
        }
        b->results[i] = read_one(pg, b->items[i].what, 1, &ok, &failed, err);
        if (failed && !before)
            failed_at = i;
        /* The server said a statement before the COMMIT failed (its SQLSTATE: not libpq's
         * own words for a lost connection). It skips everything after a failure up to the
         * Sync, and a backend that ends stops there: the COMMIT has not run. */
        if (b->items[i].commits && failed && failed_at < i && pg->sqlstate[0] != '\0')
            markr_pg_commit_not_run(pg);
        if (b->items[i].commits && !failed)
            b->committed = 1;
    }
    if (queued == b->count && PQstatus(pg->conn) == CONNECTION_OK) {
        res = PQgetResult(pg->conn);
        sync_ok = res != NULL && PQresultStatus(res) == PGRES_PIPELINE_SYNC;
        PQclear(res);
    }
    markr_pg_log_if_slow(b->items[0].what, &start);
    leave_pipeline(pg, b->count);
    if (!failed && !sync_ok) {
        markr_pg_fail(pg, NULL, b->items[0].what, err);
        failed = 1;
    }
    return failed ? -1 : 0;
}

int markr_pg_batch_transaction(struct markr_pg *pg, const char *what,
                               int (*step)(struct markr_pg *pg, void *arg, struct markr_error *err), void *arg,
                               struct markr_error *err)
{
    return markr_pg_run_transaction(pg, what, MARKR_PG_TX_BATCHED, step, arg, err);
}

int markr_pg_batch_transaction_begun(struct markr_pg *pg, const char *what,
                                     int (*step)(struct markr_pg *pg, void *arg, struct markr_error *err), void *arg,
                                     struct markr_error *err)
{
    return markr_pg_run_transaction(pg, what, MARKR_PG_TX_BATCHED | MARKR_PG_TX_BEGUN, step, arg, err);
}
