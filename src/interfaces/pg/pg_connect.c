/*
 * Opening and closing the adapter's connection (pg_conn.h): the defaults markr connects
 * with, the notice receiver set before the server can send anything, the password kept
 * only to scrub it from messages, and the cancel object that abandon uses at shutdown.
 * Statements run in pg_conn.c.
 */
#include "pg_conn.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg_internal.h"

/* The cancel object follows the backend: made again after every (re)connection. */
void markr_pg_refresh_cancel(struct markr_pg *pg)
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
    markr_pg_reads_abandon(pg->reads); /* a read may be running on a standby */
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

/* connect_timeout of conn in milliseconds as libpq reads it (2 s at least; 0 or none: no
 * limit, -1). */
static int connect_timeout_ms(PGconn *conn)
{
    PQconninfoOption *options = PQconninfo(conn);
    int seconds = 0;

    for (PQconninfoOption *o = options; o != NULL && o->keyword != NULL; ++o)
        if (strcmp(o->keyword, "connect_timeout") == 0 && o->val != NULL)
            seconds = atoi(o->val);
    PQconninfoFree(options);
    return seconds <= 0 ? -1 : (seconds < 2 ? 2 : seconds > 3600 ? 3600 : seconds) * 1000;
}

/* Completes a connection from PQconnectStartParams as PQconnectdbParams would, so that its
 * notice receiver is set before the server can send a notice (a collation-version warning
 * at start-up, say). The whole attempt is bounded by connect_timeout. Returns 0 when
 * connected, -1 when it failed (PQerrorMessage says why) or timed out (*timed_out set). */
static int connect_wait(PGconn *conn, int *timed_out)
{
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    int timeout_ms = connect_timeout_ms(conn);
    struct timespec deadline;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    *timed_out = 0;
    while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED && PQstatus(conn) != CONNECTION_BAD) {
        struct pollfd p = {.fd = PQsocket(conn), .events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT};
        long left = timeout_ms < 0 ? -1 : markr_pg_ms_until(&deadline);
        int n;

        if (timeout_ms >= 0 && left <= 0)
            return *timed_out = 1, -1;
        do
            n = poll(&p, 1, (int)left);
        while (n < 0 && errno == EINTR);
        if (n == 0)
            return *timed_out = 1, -1;
        st = PQconnectPoll(conn);
    }
    return st == PGRES_POLLING_OK && PQstatus(conn) == CONNECTION_OK ? 0 : -1;
}

struct markr_pg *markr_pg_connect(const char *conninfo, struct markr_error *err)
{
    return markr_pg_connect_within(conninfo, "10", err);
}

struct markr_pg *markr_pg_connect_within(const char *conninfo, const char *timeout_s, struct markr_error *err)
{
    /* Later keywords win over earlier ones, and the conninfo expands where "dbname" stands:
     * the defaults before it can be overridden by the operator, the encoding after it not,
     * because every string we send and read is UTF-8. */
    static const char *const keywords[] = {"connect_timeout", "fallback_application_name", "options", "dbname",
                                           "client_encoding", NULL};
    /* work_mem: an aggregate sorts every percentage of a test; 64 MB keeps a one-million-
     * student sort in memory instead of spilling to disk (1.6x slower). At most one sort per
     * worker connection, so MARKR_WORKERS x 64 MB at worst. jit: markr's statements are
     * planned above jit_above_cost by their arrays and unnests, not by long computations,
     * and compiling them costs more than it saves (the item analysis, the imports of large
     * documents; ADR 0026). An operator's `options` wins over both, except in an import's
     * transaction, which always turns JIT off itself (pg_store.c). */
    const char *values[] = {timeout_s, "markr", "-c work_mem=64MB -c jit=off", conninfo, "UTF8", NULL};
    struct markr_pg *pg;
    char *parse_error = NULL;
    PQconninfoOption *parsed = PQconninfoParse(conninfo, &parse_error);
    int timed_out;

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
    pg->conn = PQconnectStartParams(keywords, values, 1);
    if (pg->conn == NULL || remember_password(pg) != 0) {
        markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
        markr_pg_close(pg);
        return NULL;
    }
    pg->notices.name = "markr";
    markr_pg_log_notices(pg->conn, &pg->notices);
    if (connect_wait(pg->conn, &timed_out) != 0) {
        if (timed_out)
            markr_error_set(err, MARKR_ERR_UNAVAILABLE, "database_unavailable",
                            "the database is unavailable while connecting: timeout expired");
        else
            markr_pg_fail(pg, NULL, "connecting", err);
        markr_pg_close(pg);
        return NULL;
    }
    markr_pg_refresh_cancel(pg);
    return pg;
}

void markr_pg_close(struct markr_pg *pg)
{
    if (pg == NULL)
        return;
    markr_pg_reads_free(pg->reads);
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

