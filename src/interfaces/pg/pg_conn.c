/*
 * One blocking libpq connection, and the only way the adapter runs a statement: parameters
 * (pg_params.c) always travel apart from the SQL, every statement passes the abandon check and the
 * slow-query log, a broken connection is reset once before the next operation (one the
 * server closed while idle is seen on the socket first), and a transaction is retried whole
 * after a deadlock or serialization failure, or once after a connection lost before its
 * COMMIT was sent. Connections are opened and closed in pg_connect.c.
 */
#include "pg_conn.h"

#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "interfaces/observe/log.h"
#include "interfaces/observe/metrics.h"
#include "pg_internal.h"

long markr_pg_ms_until(const struct timespec *at)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (at->tv_sec - now.tv_sec) * 1000 + (at->tv_nsec - now.tv_nsec) / 1000000;
}

/* --- statements ----------------------------------------------------------------------------- */

static atomic_long slow_query_ms = 400;

void markr_pg_set_slow_query_ms(long ms)
{
    atomic_store(&slow_query_ms, ms);
}

static long elapsed_ms(const struct timespec *since)
{
    return -markr_pg_ms_until(since);
}

static void log_if_slow(const char *what, const struct timespec *start)
{
    long ms = elapsed_ms(start);

    if (ms >= atomic_load(&slow_query_ms)) {
        char text[24];

        snprintf(text, sizeof(text), "%ld", ms);
        markr_metrics_slow_query();
        markr_log(MARKR_LOG_WARN, "slow database operation", "operation", what, "ms", text, NULL);
    }
}

void markr_pg_log_if_slow(const char *what, const struct timespec *start)
{
    log_if_slow(what, start);
}

/* Runs one statement (results in text, or binary when binary is set); one slower than
 * MARKR_SLOW_QUERY_MS is logged as a warning that names the operation (never its
 * parameters) and counted. */
static PGresult *run_as(struct markr_pg *pg, const char *what, const char *sql, const struct markr_pg_params *p,
                        int binary)
{
    struct timespec start;
    PGresult *res;

    /* Abandoned at the shutdown timeout: no statement is sent any more, so a transaction
     * between two statements never reaches its COMMIT. */
    if (atomic_load(&pg->abandoned))
        return NULL;

    clock_gettime(CLOCK_MONOTONIC, &start);
    /* Text results by default: float8 prints the shortest text that reads back to the same
     * double. Binary results give text and bytea columns as their raw bytes. */
    if (p == NULL)
        res = PQexecParams(pg->conn, sql, 0, NULL, NULL, NULL, NULL, binary);
    else
        res = PQexecParams(pg->conn, sql, p->count, p->types, p->values, p->lengths, p->formats, binary);
    log_if_slow(what, &start);
    return res;
}

static PGresult *run(struct markr_pg *pg, const char *what, const char *sql, const struct markr_pg_params *p)
{
    return run_as(pg, what, sql, p, 0);
}

static int succeeded(const PGresult *res)
{
    ExecStatusType status = PQresultStatus(res);

    return res != NULL && (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK);
}

PGresult *markr_pg_exec(struct markr_pg *pg, const char *what, const char *sql, const struct markr_pg_params *params,
                        struct markr_error *err)
{
    PGresult *res = run(pg, what, sql, params);

    if (succeeded(res))
        return res;
    markr_pg_fail(pg, res, what, err);
    PQclear(res);
    return NULL;
}

PGresult *markr_pg_exec_binary(struct markr_pg *pg, const char *what, const char *sql,
                               const struct markr_pg_params *params, struct markr_error *err)
{
    PGresult *res = run_as(pg, what, sql, params, 1);

    if (succeeded(res))
        return res;
    markr_pg_fail(pg, res, what, err);
    PQclear(res);
    return NULL;
}

int markr_pg_command(struct markr_pg *pg, const char *what, const char *sql, const struct markr_pg_params *params,
                     struct markr_error *err)
{
    PGresult *res = markr_pg_exec(pg, what, sql, params, err);

    PQclear(res);
    return res != NULL ? 0 : -1;
}

void markr_pg_rollback(struct markr_pg *pg)
{
    /* Sent even after abandon: a rollback stores nothing, and frees the backend's locks now. */
    if (PQstatus(pg->conn) == CONNECTION_OK && PQtransactionStatus(pg->conn) != PQTRANS_IDLE)
        PQclear(PQexec(pg->conn, "ROLLBACK"));
}

PGresult *markr_pg_run_script(struct markr_pg *pg, const char *what, const char *sql)
{
    struct timespec start;
    PGresult *res;

    if (atomic_load(&pg->abandoned))
        return NULL;
    clock_gettime(CLOCK_MONOTONIC, &start);
    res = PQexec(pg->conn, sql);
    log_if_slow(what, &start);
    return res;
}

int markr_pg_copy_in(struct markr_pg *pg, const char *what, const char *sql, struct markr_error *err)
{
    struct timespec start;
    PGresult *res;

    if (atomic_load(&pg->abandoned))
        return markr_pg_fail(pg, NULL, what, err);
    clock_gettime(CLOCK_MONOTONIC, &start);
    res = PQexec(pg->conn, sql);
    log_if_slow(what, &start);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        markr_pg_fail(pg, res, what, err);
        PQclear(res);
        return -1;
    }
    PQclear(res);
    return 0;
}

int markr_pg_send_single_rows(struct markr_pg *pg, const char *what, const char *sql,
                              const struct markr_pg_params *p, struct markr_error *err)
{
    if (atomic_load(&pg->abandoned) ||
        PQsendQueryParams(pg->conn, sql, p->count, p->types, p->values, p->lengths, p->formats, 1) != 1)
        return markr_pg_fail(pg, NULL, what, err);
    if (PQsetSingleRowMode(pg->conn) != 1) {
        /* The rows would come as one result, which the caller does not read: say so, and
         * drop whatever comes. */
        PGresult *res;

        while ((res = PQgetResult(pg->conn)) != NULL)
            PQclear(res);
        return markr_error_set(err, MARKR_ERR_INTERNAL, "database_error", "cannot read the rows of %s one by one",
                               what);
    }
    return 0;
}

/* Whether the connection the last statement ran on is gone: libpq saw the end of the
 * stream, or the server said it is terminating this backend (its FATAL, as the statement's
 * error or as a notice, may come before the end of the stream is read). */
int markr_pg_connection_lost(const struct markr_pg *pg)
{
    return PQstatus(pg->conn) != CONNECTION_OK || pg->notices.ended || strcmp(pg->sqlstate, "57P01") == 0 ||
           strcmp(pg->sqlstate, "57P02") == 0;
}

/* Could anything of the failed transaction have committed? Not before its COMMIT was sent:
 * a backend that goes away before that rolls the transaction back, so running it again
 * cannot apply it twice. After it, the server may have committed just before the
 * connection went, and only a later read can tell. This is the one rule the retry on a
 * lost connection follows; commit_sent is set only by markr_pg_before_send, which both
 * ways of sending a COMMIT call (send_commit below, and markr_pg_batch_run when it queues
 * a batch that carries the COMMIT), and cleared only by markr_pg_commit_not_run, when the
 * server has said that a statement queued before that COMMIT failed. */
static int could_have_committed(const struct markr_pg *pg)
{
    return pg->commit_sent;
}

static int server_closed(struct markr_pg *pg);

void markr_pg_commit_not_run(struct markr_pg *pg)
{
    pg->commit_sent = 0;
}

int markr_pg_before_send(struct markr_pg *pg, int commits, const char *what, struct markr_error *err)
{
    if (server_closed(pg))
        return markr_pg_fail(pg, NULL, what, err);
    if (commits)
        pg->commit_sent = 1;
    return 0;
}

/* A backend ended while the transaction was between statements (pg_terminate_backend of an
 * idle-in-transaction session) has said so on the socket already: then the COMMIT is not
 * sent, nothing committed, and the transaction may run again. One poll, no round trip. */
static int send_commit(struct markr_pg *pg, const char *what, struct markr_error *err)
{
    if (markr_pg_before_send(pg, 1, what, err) != 0)
        return -1;
    return markr_pg_command(pg, what, "COMMIT", NULL, err);
}

static int is_busy_failure(const struct markr_pg *pg)
{
    return PQstatus(pg->conn) == CONNECTION_OK &&
           (strcmp(pg->sqlstate, "40P01") == 0 || strcmp(pg->sqlstate, "40001") == 0);
}

int markr_pg_transaction_start(struct markr_pg *pg, struct markr_error *err)
{
    if (markr_pg_ensure(pg, err) != 0)
        return -1;
    pg->sqlstate[0] = '\0';
    pg->commit_sent = 0;
    return 0;
}

int markr_pg_run_transaction(struct markr_pg *pg, const char *what, int how,
                             int (*step)(struct markr_pg *pg, void *arg, struct markr_error *err), void *arg,
                             struct markr_error *err)
{
    int busy_retries = 0, reconnected = 0, batched = how & MARKR_PG_TX_BATCHED;
    /* Begun: the first run's start (and its first statements) already happened elsewhere,
     * on this connection, whose state (an open transaction, or the failure that ended it)
     * the first run continues from. Every later run starts afresh. */
    int started = (how & MARKR_PG_TX_BEGUN) != 0;

    for (;;) {
        int ok;

        if (!started && markr_pg_transaction_start(pg, err) != 0)
            return -1;
        started = 0;
        if (batched)
            ok = step(pg, arg, err) == 0; /* its batches carry BEGIN and COMMIT */
        else
            ok = markr_pg_command(pg, what, "BEGIN", NULL, err) == 0 && step(pg, arg, err) == 0 &&
                 send_commit(pg, what, err) == 0;
        if (ok) {
            markr_error_clear(err); /* what an earlier run left there is not this outcome */
            markr_pg_reads_committed(pg); /* reads must now reflect it (ADR 0030) */
            return 0;
        }
        if (markr_pg_connection_lost(pg) && !atomic_load(&pg->abandoned)) {
            if (could_have_committed(pg)) {
                markr_log(MARKR_LOG_WARN, "database connection lost during a commit: outcome unknown", "operation",
                          what, "error", err->message, NULL);
                return markr_error_set(err, MARKR_ERR_UNAVAILABLE, "outcome_unknown",
                                       "the database connection was lost while committing (%s), so whether it was "
                                       "stored is unknown: check GET /imports before sending it again",
                                       what);
            }
            if (reconnected++ == 0) {
                markr_log(MARKR_LOG_INFO, "database connection lost before the commit; running the transaction again",
                          "operation", what, "error", err->message, NULL);
                continue;
            }
            return -1;
        }
        if (busy_retries >= MARKR_PG_RETRIES || !is_busy_failure(pg)) {
            markr_pg_rollback(pg);
            return -1;
        }
        markr_pg_rollback(pg);
        markr_pg_pause_before_retry(busy_retries++);
    }
}

int markr_pg_transaction(struct markr_pg *pg, const char *what,
                         int (*step)(struct markr_pg *pg, void *arg, struct markr_error *err), void *arg,
                         struct markr_error *err)
{
    return markr_pg_run_transaction(pg, what, 0, step, arg, err);
}

char *markr_pg_value_copy(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return NULL;
    return strndup(PQgetvalue(res, row, col), (size_t)PQgetlength(res, row, col));
}

int markr_pg_read_with(struct markr_pg *pg, int (*read)(struct markr_pg *pg, void *arg, struct markr_error *err),
                       void *arg, struct markr_error *err)
{
    int rc = -1;

    for (int attempt = 0; attempt < 2; ++attempt) {
        if (markr_pg_ensure(pg, err) != 0)
            return -1;
        if ((rc = read(pg, arg, err)) >= 0) {
            markr_error_clear(err); /* the first run's failure, when this was the second */
            return rc;
        }
        if (PQstatus(pg->conn) == CONNECTION_OK)
            return rc;
    }
    return rc;
}

int markr_pg_statement_read(struct markr_pg *pg, void *arg, struct markr_error *err)
{
    struct markr_pg_statement_read *r = arg;

    return (r->res = markr_pg_exec(pg, r->what, r->sql, r->params, err)) != NULL ? 0 : -1;
}

PGresult *markr_pg_read(struct markr_pg *pg, const char *what, const char *sql, const struct markr_pg_params *params,
                        struct markr_error *err)
{
    struct markr_pg_statement_read r = {.what = what, .sql = sql, .params = params};

    return markr_pg_read_with(pg, markr_pg_statement_read, &r, err) == 0 ? r.res : NULL;
}

/* Waits 10, 20, 40 ms (plus up to half again, so that the writers that collided do not
 * collide again in step). */
void markr_pg_pause_before_retry(int attempt)
{
    struct timespec now, wait;
    long ms = 10L << attempt;

    clock_gettime(CLOCK_MONOTONIC, &now);
    ms += (long)((unsigned long)now.tv_nsec % (unsigned long)(ms / 2 + 1));
    wait.tv_sec = 0;
    wait.tv_nsec = ms * 1000000L;
    nanosleep(&wait, NULL);
}

PGresult *markr_pg_exec_retrying(struct markr_pg *pg, const char *what, const char *sql,
                                 const struct markr_pg_params *params, struct markr_error *err)
{
    for (int attempt = 0;; ++attempt) {
        PGresult *res = run(pg, what, sql, params);
        const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

        if (succeeded(res))
            return res;
        if (attempt < MARKR_PG_RETRIES && state != NULL &&
            (strcmp(state, "40P01") == 0 || strcmp(state, "40001") == 0) && PQstatus(pg->conn) == CONNECTION_OK &&
            PQtransactionStatus(pg->conn) == PQTRANS_IDLE) {
            PQclear(res);
            markr_pg_pause_before_retry(attempt);
            continue;
        }
        markr_pg_fail(pg, res, what, err);
        PQclear(res);
        return NULL;
    }
}

/* --- the connection ------------------------------------------------------------------------- */

/* Whether the server has closed this idle connection (pg_terminate_backend, a restart):
 * its FATAL message and the end of the stream are then waiting on the socket. Reads what
 * is there without waiting (poll with no timeout), so that the next statement is not sent
 * into a dead connection, and has libpq parse it (the FATAL reaches the notice log, which
 * records it: the end of the stream may come a moment after it). An idle connection is
 * sent nothing else but notices and parameter changes; the reads are bounded all the
 * same. */
static int server_closed(struct markr_pg *pg)
{
    for (int reads = 0; reads < 4; ++reads) {
        struct pollfd p = {.fd = PQsocket(pg->conn), .events = POLLIN};

        if (p.fd < 0 || poll(&p, 1, 0) != 1 || PQconsumeInput(pg->conn) == 0)
            break;
        (void)PQisBusy(pg->conn); /* parses what came: idle, it can only be notices */
    }
    return PQstatus(pg->conn) != CONNECTION_OK || pg->notices.ended;
}

int markr_pg_ensure(struct markr_pg *pg, struct markr_error *err)
{
    if (atomic_load(&pg->abandoned))
        return markr_error_set(err, MARKR_ERR_UNAVAILABLE, "shutting_down",
                               "the server is shutting down; nothing was stored");
    if (PQstatus(pg->conn) == CONNECTION_OK && PQtransactionStatus(pg->conn) == PQTRANS_IDLE &&
        server_closed(pg))
        markr_log(MARKR_LOG_INFO, "database connection closed by the server while idle; reconnecting", NULL);
    if (PQstatus(pg->conn) != CONNECTION_OK || pg->notices.ended) {
        long wait = pg->backoff_ms != 0 ? markr_pg_ms_until(&pg->retry_at) : 0;

        /* While the database is away, requests fail at once instead of each waiting for a
         * connection attempt; attempts are spaced 100 ms, 200 ms ... up to 2 s apart. */
        if (wait > 0)
            return markr_error_set(err, MARKR_ERR_UNAVAILABLE, "database_unavailable",
                                   "the database is unreachable; the next connection attempt is in %ld ms", wait);
        pg->notices.ended = 0; /* of the backend that is gone */
        pg->prepared = 0;      /* and its prepared statements (a new backend may reuse its pid) */
        pg->sheet_type = 0;    /* looked up again on the new connection */
        PQreset(pg->conn);
        if (PQstatus(pg->conn) != CONNECTION_OK) {
            pg->backoff_ms = pg->backoff_ms == 0 ? 100 : pg->backoff_ms >= 1000 ? 2000 : pg->backoff_ms * 2;
            clock_gettime(CLOCK_MONOTONIC, &pg->retry_at);
            pg->retry_at.tv_sec += pg->backoff_ms / 1000;
            pg->retry_at.tv_nsec += (long)(pg->backoff_ms % 1000) * 1000000L;
            if (pg->retry_at.tv_nsec >= 1000000000L) {
                pg->retry_at.tv_sec += 1;
                pg->retry_at.tv_nsec -= 1000000000L;
            }
            return markr_pg_fail(pg, NULL, "reconnecting", err);
        }
        if (pg->backoff_ms != 0)
            markr_log(MARKR_LOG_INFO, "database connection restored", NULL);
        pg->backoff_ms = 0;
        markr_pg_refresh_cancel(pg);
    }
    /* Every operation is one autocommit statement, or a transaction it closes itself; one left
     * open by a failure must not swallow the next operation. */
    markr_pg_rollback(pg);
    return 0;
}
