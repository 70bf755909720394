/*
 * One blocking libpq connection, and the only way the adapter runs a statement: parameters
 * always travel apart from the SQL, every statement passes the abandon check and the
 * slow-query log, a broken connection is reset once before the next operation, and a
 * transaction is retried whole after a deadlock or serialization failure.
 */
#include "pg_conn.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "interfaces/observe/log.h"
#include "interfaces/observe/metrics.h"
#include "pg_internal.h"

/* --- parameters ----------------------------------------------------------------------------- */

static int param_add(struct markr_pg_params *p, Oid type, const char *value, int length, int format)
{
    /* The statements of the adapter are fixed: more parameters than the arrays hold is a bug. */
    assert(p->count < (int)(sizeof(p->values) / sizeof(p->values[0])));
    p->types[p->count] = type;
    p->values[p->count] = value;
    p->lengths[p->count] = length;
    p->formats[p->count] = format;
    return ++p->count;
}

int markr_pg_param_text(struct markr_pg_params *p, Oid type, const char *value)
{
    return param_add(p, type, value, 0, 0);
}

int markr_pg_param_binary(struct markr_pg_params *p, Oid type, const char *value, size_t len)
{
    /* The protocol carries lengths as int32; callers bound their bodies far below that. */
    assert(len <= INT32_MAX);
    return param_add(p, type, value, (int)len, 1);
}

/* Integers travel as text, formatted into the parameters' own storage. */
static int param_integer(struct markr_pg_params *p, Oid type, long long value)
{
    assert(p->count < (int)(sizeof(p->numbers) / sizeof(p->numbers[0])));
    snprintf(p->numbers[p->count], sizeof(p->numbers[p->count]), "%lld", value);
    return param_add(p, type, p->numbers[p->count], 0, 0);
}

int markr_pg_param_int8(struct markr_pg_params *p, int64_t value)
{
    return param_integer(p, MARKR_PG_INT8, (long long)value);
}

int markr_pg_param_int4(struct markr_pg_params *p, int64_t value)
{
    /* Counts of results and positions in a document are far below 2^31 (bodies are bounded). */
    return param_integer(p, MARKR_PG_INT4, (long long)value);
}

int markr_pg_param_bool(struct markr_pg_params *p, int value)
{
    return param_add(p, MARKR_PG_BOOL, value ? "true" : "false", 0, 0);
}

static long ms_until(const struct timespec *at)
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
    return -ms_until(since);
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

int markr_pg_retryable(const struct markr_pg *pg, int attempt)
{
    return attempt < MARKR_PG_RETRIES && PQstatus(pg->conn) == CONNECTION_OK &&
           (strcmp(pg->sqlstate, "40P01") == 0 || strcmp(pg->sqlstate, "40001") == 0);
}

int markr_pg_transaction(struct markr_pg *pg, const char *what,
                         int (*step)(struct markr_pg *pg, void *arg, struct markr_error *err), void *arg,
                         struct markr_error *err)
{
    for (int attempt = 0;; ++attempt) {
        int retry;

        if (markr_pg_ensure(pg, err) != 0)
            return -1;
        pg->sqlstate[0] = '\0';
        if (markr_pg_command(pg, what, "BEGIN", NULL, err) == 0 && step(pg, arg, err) == 0 &&
            markr_pg_command(pg, what, "COMMIT", NULL, err) == 0)
            return 0;
        retry = markr_pg_retryable(pg, attempt);
        markr_pg_rollback(pg);
        if (!retry)
            return -1;
        markr_pg_pause_before_retry(attempt);
    }
}

char *markr_pg_value_copy(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return NULL;
    return strndup(PQgetvalue(res, row, col), (size_t)PQgetlength(res, row, col));
}

PGresult *markr_pg_read(struct markr_pg *pg, const char *what, const char *sql, const struct markr_pg_params *params,
                        struct markr_error *err)
{
    PGresult *res;

    for (int attempt = 0; attempt < 2; ++attempt) {
        if (markr_pg_ensure(pg, err) != 0)
            return NULL;
        if ((res = markr_pg_exec(pg, what, sql, params, err)) != NULL || PQstatus(pg->conn) == CONNECTION_OK)
            return res;
    }
    return NULL;
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

/* The cancel object follows the backend: made again after every (re)connection. */
static void refresh_cancel(struct markr_pg *pg)
{
    pthread_mutex_lock(&pg->cancel_lock);
    if (pg->cancel != NULL)
        PQfreeCancel(pg->cancel);
    pg->cancel = PQstatus(pg->conn) == CONNECTION_OK ? PQgetCancel(pg->conn) : NULL;
    pthread_mutex_unlock(&pg->cancel_lock);
}

void markr_pg_abandon(struct markr_pg *pg)
{
    char reason[256];

    atomic_store(&pg->abandoned, 1);
    pthread_mutex_lock(&pg->cancel_lock);
    if (pg->cancel != NULL)
        PQcancel(pg->cancel, reason, (int)sizeof(reason)); /* nothing to do if it fails: exit is next */
    pthread_mutex_unlock(&pg->cancel_lock);
}

int markr_pg_ensure(struct markr_pg *pg, struct markr_error *err)
{
    if (atomic_load(&pg->abandoned))
        return markr_error_set(err, MARKR_ERR_UNAVAILABLE, "shutting_down",
                               "the server is shutting down; nothing was stored");
    /* A backend killed while we were idle (pg_terminate_backend, a restart) has said so on
     * the socket: read it now, so that the statement is not sent into a dead connection and
     * failed, but the connection is made again first. One non-blocking read. */
    if (PQstatus(pg->conn) == CONNECTION_OK && PQtransactionStatus(pg->conn) == PQTRANS_IDLE)
        (void)PQconsumeInput(pg->conn);
    if (PQstatus(pg->conn) != CONNECTION_OK) {
        long wait = pg->backoff_ms != 0 ? ms_until(&pg->retry_at) : 0;

        /* While the database is away, requests fail at once instead of each waiting for a
         * connection attempt; attempts are spaced 100 ms, 200 ms ... up to 2 s apart. */
        if (wait > 0)
            return markr_error_set(err, MARKR_ERR_UNAVAILABLE, "database_unavailable",
                                   "the database is unreachable; the next connection attempt is in %ld ms", wait);
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
        refresh_cancel(pg);
    }
    /* Every operation is one autocommit statement, or a transaction it closes itself; one left
     * open by a failure must not swallow the next operation. */
    markr_pg_rollback(pg);
    return 0;
}

/* Keeps a copy of the password the connection uses (from the conninfo, or from PGPASSWORD),
 * so that it can be scrubbed from messages. */
static int remember_password(struct markr_pg *pg)
{
    PQconninfoOption *options = PQconninfo(pg->conn);
    int rc = 0;

    if (options == NULL)
        return -1;
    for (PQconninfoOption *o = options; o->keyword != NULL; ++o)
        if (strcmp(o->keyword, "password") == 0 && o->val != NULL && o->val[0] != '\0')
            rc = (pg->password = strdup(o->val)) != NULL ? 0 : -1;
    PQconninfoFree(options);
    return rc;
}

struct markr_pg *markr_pg_connect(const char *conninfo, struct markr_error *err)
{
    /* Later keywords win over earlier ones, and the conninfo expands where "dbname" stands:
     * the defaults before it can be overridden by the operator, the encoding after it not,
     * because every string we send and read is UTF-8. */
    static const char *const keywords[] = {"connect_timeout", "fallback_application_name", "options", "dbname",
                                           "client_encoding", NULL};
    /* work_mem: an aggregate sorts every percentage of a test; 64 MB keeps a one-million-
     * student sort in memory instead of spilling to disk (1.6x slower). At most one sort per
     * worker connection, so MARKR_WORKERS x 64 MB at worst. An operator's `options` wins. */
    const char *values[] = {"10", "markr", "-c work_mem=64MB", conninfo, "UTF8", NULL};
    struct markr_pg *pg;
    char *parse_error = NULL;
    PQconninfoOption *parsed = PQconninfoParse(conninfo, &parse_error);

    if (parsed == NULL) {
        markr_pg_fail_conninfo(parse_error, err);
        PQfreemem(parse_error);
        return NULL;
    }
    PQconninfoFree(parsed);

    if ((pg = calloc(1, sizeof(*pg))) == NULL) {
        markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
        return NULL;
    }
    pthread_mutex_init(&pg->cancel_lock, NULL);
    pg->conn = PQconnectdbParams(keywords, values, 1);
    if (pg->conn == NULL || remember_password(pg) != 0) {
        markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
        markr_pg_close(pg);
        return NULL;
    }
    if (PQstatus(pg->conn) != CONNECTION_OK) {
        markr_pg_fail(pg, NULL, "connecting", err);
        markr_pg_close(pg);
        return NULL;
    }
    refresh_cancel(pg);
    return pg;
}

void markr_pg_close(struct markr_pg *pg)
{
    if (pg == NULL)
        return;
    if (pg->cancel != NULL)
        PQfreeCancel(pg->cancel);
    pthread_mutex_destroy(&pg->cancel_lock);
    PQfinish(pg->conn);
    if (pg->password != NULL) {
        explicit_bzero(pg->password, strlen(pg->password));
        free(pg->password);
    }
    free(pg);
}

