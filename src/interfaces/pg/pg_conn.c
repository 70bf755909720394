/*
 * One blocking libpq connection and the rules every statement of the adapter follows:
 * parameters always travel apart from the SQL, a broken connection is reset once before the
 * next operation, and a failure becomes a struct markr_error whose message never shows the
 * password of the connection string.
 */
#include "pg_internal.h"
#include "pg_store.h"

#include "interfaces/observe/log.h"
#include "interfaces/observe/metrics.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --- messages ------------------------------------------------------------------------------- */

/* Writes text into out (size bytes) on one line: runs of white space (libpq's messages end
 * in a newline and continue on tab-indented lines) become one space, and every occurrence of
 * secret becomes "***". */
static void one_line(char *out, size_t size, const char *text, const char *secret)
{
    size_t secret_len = secret != NULL ? strlen(secret) : 0;
    size_t n = 0;
    int space = 0;

    while (*text != '\0' && n + 1 < size) {
        if (secret_len != 0 && strncmp(text, secret, secret_len) == 0) {
            for (const char *s = "***"; *s != '\0' && n + 1 < size; ++s)
                out[n++] = *s;
            text += secret_len;
            space = 0;
            continue;
        }
        if (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r') {
            space = n != 0;
        } else {
            if (space && n + 2 < size)
                out[n++] = ' ';
            space = 0;
            out[n++] = *text;
        }
        ++text;
    }
    out[n] = '\0';
}

/* libpq quotes the part of a connection string it could not parse, and for a URI that part
 * can be the whole URI, password included: copies text into out with every quoted span
 * replaced by "...". */
static void drop_quoted(char *out, size_t size, const char *text)
{
    size_t n = 0;
    int quoted = 0;

    for (; *text != '\0' && n + 6 < size; ++text) {
        if (*text == '"') {
            if (!quoted) {
                memcpy(out + n, "\"...\"", 5);
                n += 5;
            }
            quoted = !quoted;
        } else if (!quoted) {
            out[n++] = *text;
        }
    }
    out[n] = '\0';
}

static int sqlstate_is(const char *state, const char *prefix)
{
    return strncmp(state, prefix, strlen(prefix)) == 0;
}

int markr_pg_fail(struct markr_pg *pg, const PGresult *res, const char *what, struct markr_error *err)
{
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *text = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char line[MARKR_ERROR_MESSAGE_MAX];

    if (text == NULL && res != NULL && PQresultErrorMessage(res)[0] != '\0')
        text = PQresultErrorMessage(res); /* raised by libpq itself, e.g. the connection died */
    if (text == NULL && res != NULL && PQresultStatus(res) != PGRES_FATAL_ERROR)
        text = PQresStatus(PQresultStatus(res)); /* a status we never asked for */
    if (text == NULL && atomic_load(&pg->abandoned))
        return pg->sqlstate[0] = '\0', markr_error_set(err, MARKR_ERR_UNAVAILABLE, "shutting_down",
                               "the server is shutting down; nothing more was stored");
    if (text == NULL)
        text = PQerrorMessage(pg->conn);
    one_line(line, sizeof(line), text, pg->password);
    if (state == NULL)
        state = "";
    snprintf(pg->sqlstate, sizeof(pg->sqlstate), "%s", state);

    if (PQstatus(pg->conn) != CONNECTION_OK || sqlstate_is(state, "08") || sqlstate_is(state, "53") ||
        sqlstate_is(state, "57P0"))
        return markr_error_set(err, MARKR_ERR_UNAVAILABLE, "database_unavailable",
                               "the database is unavailable while %s: %s", what, line);
    if (sqlstate_is(state, "40P01") || sqlstate_is(state, "40001") || sqlstate_is(state, "55P03") ||
        sqlstate_is(state, "57014"))
        return markr_error_set(err, MARKR_ERR_UNAVAILABLE, "database_busy", "the database is busy while %s: %s",
                               what, line);
    return markr_error_set(err, MARKR_ERR_INTERNAL, "database_error", "database error while %s: %s (SQLSTATE %s)",
                           what, line, state[0] != '\0' ? state : "none");
}

/* --- text ----------------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (1 to 4), or 0 when the bytes there are not one
 * (stray continuation, overlong form, surrogate, beyond U+10FFFF, or cut short). */
static size_t utf8_sequence(const unsigned char *s)
{
    uint32_t cp;
    size_t len;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2, cp = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        len = 3, cp = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4, cp = s[0] & 0x07;
    else
        return 0;
    for (size_t i = 1; i < len; ++i) {
        if ((s[i] & 0xc0) != 0x80) /* also stops at the terminating NUL */
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

char *markr_pg_utf8_copy(const char *text)
{
    static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */
    const unsigned char *s = (const unsigned char *)text;
    size_t len = strlen(text);
    char *out, *w;

    if (len > (SIZE_MAX - 1) / 3 || (out = malloc(len * 3 + 1)) == NULL)
        return NULL;
    w = out;
    while (*s != '\0') {
        size_t n = utf8_sequence(s);

        if (n == 0) {
            memcpy(w, replacement, 3);
            w += 3;
            ++s;
        } else {
            memcpy(w, s, n);
            w += n;
            s += n;
        }
    }
    *w = '\0';
    return out;
}

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

/* Runs one statement; one slower than MARKR_SLOW_QUERY_MS is logged as a warning that names
 * the operation (never its parameters) and counted. */
static PGresult *run(struct markr_pg *pg, const char *what, const char *sql, const struct markr_pg_params *p)
{
    struct timespec start;
    PGresult *res;
    long ms;

    /* Abandoned at the shutdown timeout: no statement is sent any more, so a transaction
     * between two statements never reaches its COMMIT. */
    if (atomic_load(&pg->abandoned))
        return NULL;

    clock_gettime(CLOCK_MONOTONIC, &start);
    /* Text results: float8 prints the shortest text that reads back to the same double. */
    if (p == NULL)
        res = PQexecParams(pg->conn, sql, 0, NULL, NULL, NULL, NULL, 0);
    else
        res = PQexecParams(pg->conn, sql, p->count, p->types, p->values, p->lengths, p->formats, 0);
    if ((ms = elapsed_ms(&start)) >= atomic_load(&slow_query_ms)) {
        char text[24];

        snprintf(text, sizeof(text), "%ld", ms);
        markr_metrics_slow_query();
        markr_log(MARKR_LOG_WARN, "slow database operation", "operation", what, "ms", text, NULL);
    }
    return res;
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
    if (PQtransactionStatus(pg->conn) != PQTRANS_IDLE)
        PQclear(PQexec(pg->conn, "ROLLBACK"));
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
        char text[MARKR_ERROR_MESSAGE_MAX], line[MARKR_ERROR_MESSAGE_MAX];

        one_line(text, sizeof(text), parse_error != NULL ? parse_error : "out of memory", NULL);
        drop_quoted(line, sizeof(line), text);
        PQfreemem(parse_error);
        markr_error_set(err, MARKR_ERR_UNAVAILABLE, "database_unavailable",
                        "the database connection string is not a valid libpq conninfo or URI: %s", line);
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
