/*
 * The read pool (pg_replica.h, ADR 0030): which connection a read port's statement runs on.
 * The decisions themselves are pg_replica_route.c; here is what they act on: the process's
 * shared state (atomics, so workers never wait on each other), each worker's standby
 * connections, and the probe. Every statement still runs through pg_conn.c.
 */
#include "pg_replica.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "interfaces/observe/log.h"
#include "interfaces/observe/metrics.h"
#include "pg_internal.h"
#include "pg_replica_route.h"

struct standby {
    int index; /* in MARKR_READ_DATABASE_URL, from 0 */
    char *conninfo;
    char name[128];
    atomic_int state;          /* enum markr_standby_state */
    atomic_llong retry_at_ms;  /* skipped before this; 0 when usable */
    atomic_uint backoff_ms;    /* the pause after the last failure; 0 after a success */
    atomic_llong lag_us;       /* replay lag at the last probe */
};

struct markr_pg_replicas {
    size_t count;
    struct standby standbys[MARKR_REPLICAS_MAX];
    long max_lag_ms;
    atomic_uint next;          /* round robin over the standbys */
    atomic_ullong position;    /* the highest WAL position a read must reflect */
    atomic_int feed_up;        /* the change feed is listening: other instances' changes are heard */
    atomic_ullong tokens;      /* raised by each pin (see pin_to_primary) */
    atomic_ullong pinned;      /* the token of an unresolved pin; 0: none */
};

/* One worker's connections to the standbys: each opened on first use and kept (a broken one
 * is reset in place), so that markr_pg_reads_abandon can reach it from another thread. */
struct markr_pg_reads {
    struct markr_pg_replicas *shared;
    _Atomic(struct markr_pg *) conns[MARKR_REPLICAS_MAX];
};

static int64_t now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* A name for logs, metrics and /ready: host (or socket directory) and port, no password. */
static void name_standby(struct standby *s, size_t index, const PQconninfoOption *options)
{
    const char *host = NULL, *port = NULL;

    for (const PQconninfoOption *o = options; o->keyword != NULL; ++o) {
        if (strcmp(o->keyword, "host") == 0 && o->val != NULL && o->val[0] != '\0')
            host = o->val;
        else if (strcmp(o->keyword, "port") == 0 && o->val != NULL && o->val[0] != '\0')
            port = o->val;
    }
    snprintf(s->name, sizeof(s->name), "%s:%s", host != NULL ? host : "default", port != NULL ? port : "default");
    /* A label value may hold neither a quote, a backslash nor a newline (metrics.c). */
    for (char *c = s->name; *c != '\0'; ++c)
        if (*c == '"' || *c == '\\' || *c == '\n')
            *c = '_';
    markr_metrics_name_replica((int)index, s->name);
}

struct markr_pg_replicas *markr_pg_replicas_create(const char *list, long max_lag_ms, struct markr_error *err)
{
    struct markr_pg_replicas *r = calloc(1, sizeof(*r));
    char *entries[MARKR_REPLICAS_MAX];
    char why[96];
    int n;

    if (r == NULL) {
        markr_pg_oom(err);
        return NULL;
    }
    if ((n = markr_replica_list_split(list, entries, MARKR_REPLICAS_MAX, why, sizeof(why))) < 0) {
        markr_error_set(err, MARKR_ERR_INVALID, "bad_setting", "MARKR_READ_DATABASE_URL: %s", why);
        free(r);
        return NULL;
    }
    r->max_lag_ms = max_lag_ms;
    for (int i = 0; i < n; ++i) {
        char *parse_error = NULL;
        PQconninfoOption *options = PQconninfoParse(entries[i], &parse_error);

        r->standbys[i].index = i;
        r->standbys[i].conninfo = entries[i];
        r->count = (size_t)i + 1;
        if (options == NULL) {
            /* libpq's words only: the entry may hold a password. */
            markr_error_set(err, MARKR_ERR_INVALID, "bad_setting",
                            "MARKR_READ_DATABASE_URL: standby %d is not a libpq conninfo string or URI", i + 1);
            PQfreemem(parse_error);
            for (int j = i + 1; j < n; ++j)
                free(entries[j]);
            markr_pg_replicas_destroy(r);
            return NULL;
        }
        name_standby(&r->standbys[i], (size_t)i, options);
        PQconninfoFree(options);
    }
    return r;
}

void markr_pg_replicas_destroy(struct markr_pg_replicas *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->count; ++i) {
        explicit_bzero(r->standbys[i].conninfo, strlen(r->standbys[i].conninfo));
        free(r->standbys[i].conninfo);
    }
    free(r);
}

int markr_pg_replicas_attach(struct markr_pg *pg, struct markr_pg_replicas *r, struct markr_error *err)
{
    if ((pg->reads = calloc(1, sizeof(*pg->reads))) == NULL)
        return markr_pg_oom(err);
    pg->reads->shared = r;
    return 0;
}

void markr_pg_reads_free(struct markr_pg_reads *reads)
{
    if (reads == NULL)
        return;
    for (size_t i = 0; i < MARKR_REPLICAS_MAX; ++i)
        markr_pg_close(atomic_load(&reads->conns[i]));
    free(reads);
}

void markr_pg_reads_abandon(struct markr_pg_reads *reads)
{
    for (size_t i = 0; reads != NULL && i < MARKR_REPLICAS_MAX; ++i) {
        struct markr_pg *conn = atomic_load(&reads->conns[i]);

        if (conn != NULL)
            markr_pg_abandon(conn);
    }
}

/* --- the position reads must reflect ---------------------------------------------------- */

static void raise_position(struct markr_pg_replicas *r, uint64_t lsn)
{
    uint64_t seen = atomic_load(&r->position);

    while (seen < lsn && !atomic_compare_exchange_weak(&r->position, &seen, lsn))
        ;
}

/* A commit whose position could not be read: reads go to the primary until a position read
 * after it (by the change feed) covers it. */
static void pin_to_primary(struct markr_pg_replicas *r)
{
    atomic_store(&r->pinned, atomic_fetch_add(&r->tokens, 1) + 1);
}

uint64_t markr_pg_replicas_token(struct markr_pg_replicas *r)
{
    return atomic_load(&r->tokens);
}

void markr_pg_replicas_seen(struct markr_pg_replicas *r, uint64_t lsn, uint64_t token)
{
    uint64_t pin = atomic_load(&r->pinned);

    raise_position(r, lsn);
    atomic_store(&r->feed_up, 1);
    /* The position was read after every pin up to token: those commits are covered. */
    if (pin != 0 && pin <= token)
        atomic_compare_exchange_strong(&r->pinned, &pin, 0);
}

void markr_pg_replicas_feed_down(struct markr_pg_replicas *r)
{
    atomic_store(&r->feed_up, 0);
}

void markr_pg_reads_committed(struct markr_pg *pg)
{
    struct markr_error err;
    PGresult *res;
    uint64_t lsn;

    if (pg->reads == NULL)
        return;
    /* Read on the connection that committed, after COMMIT returned: the position is then
     * past the commit record (MARKR_PG_POSITION_SQL). */
    res = markr_pg_read(pg, "reading the commit position", MARKR_PG_POSITION_SQL, NULL, &err);
    if (res != NULL && PQntuples(res) == 1 && markr_lsn_parse(PQgetvalue(res, 0, 0), &lsn) == 0)
        raise_position(pg->reads->shared, lsn);
    else
        pin_to_primary(pg->reads->shared);
    PQclear(res);
}

/* --- standby state ------------------------------------------------------------------------ */

static void set_state(struct standby *s, enum markr_standby_state state)
{
    int was = atomic_exchange(&s->state, (int)state);

    if (was != (int)state && (was != MARKR_STANDBY_UNKNOWN || state != MARKR_STANDBY_UP))
        markr_log(state == MARKR_STANDBY_UP ? MARKR_LOG_INFO : MARKR_LOG_WARN, "standby state changed", "replica",
                  s->name, "state", markr_standby_state_name(state), NULL);
}

static void standby_failed(struct standby *s, enum markr_standby_state state)
{
    unsigned pause = markr_replica_backoff(atomic_load(&s->backoff_ms));

    atomic_store(&s->backoff_ms, pause);
    atomic_store(&s->retry_at_ms, now_ms() + pause);
    set_state(s, state);
}

static void standby_usable(struct standby *s)
{
    atomic_store(&s->backoff_ms, 0);
    atomic_store(&s->retry_at_ms, 0);
    set_state(s, MARKR_STANDBY_UP);
}

/* The worker's connection to standby i, opened now if needed (within 2 s unless its
 * conninfo says otherwise: a read waits for it). NULL when it cannot be. */
static struct markr_pg *standby_conn(struct markr_pg_reads *rd, size_t i)
{
    struct markr_error err;
    struct markr_pg *conn = atomic_load(&rd->conns[i]);

    if (conn == NULL && (conn = markr_pg_connect_within(rd->shared->standbys[i].conninfo, "2", &err)) != NULL)
        atomic_store(&rd->conns[i], conn);
    return conn;
}

/* Whether the standby is in recovery, how far it has replayed, its replay lag (0 while it
 * has replayed all it received: an idle primary is no lag), and its WAL page size. */
static const char probe_sql[] =
    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text,\n"
    "       COALESCE(CASE WHEN pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()\n"
    "                     THEN extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END, 0),\n"
    "       current_setting('wal_block_size')::int";

struct probe {
    int in_recovery;
    uint64_t replayed;
    unsigned wal_block;
};

static int probe(struct markr_pg *conn, struct standby *s, struct probe *out)
{
    struct markr_error err;
    PGresult *res = markr_pg_read(conn, "probing a standby", probe_sql, NULL, &err);
    int rc = -1;

    if (res != NULL && PQntuples(res) == 1) {
        out->in_recovery = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        out->replayed = 0;
        if (!out->in_recovery || markr_lsn_parse(PQgetvalue(res, 0, 1), &out->replayed) == 0) {
            double lag = strtod(PQgetvalue(res, 0, 2), NULL);

            out->wal_block = (unsigned)strtoul(PQgetvalue(res, 0, 3), NULL, 10);
            atomic_store(&s->lag_us, (long long)(lag > 0 ? lag * 1e6 : 0));
            markr_metrics_replica_lag(s->index, lag > 0 ? lag : 0);
            rc = 0;
        }
    }
    PQclear(res);
    return rc;
}

static void pause_ms(long ms)
{
    struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

    nanosleep(&t, NULL);
}

/* Waits (probing) until standby i has replayed target, within the deadline. Returns the
 * connection to read on, or NULL with *reason saying why not. */
static struct markr_pg *wait_for_standby(struct markr_pg_reads *rd, size_t i, uint64_t target, int64_t deadline,
                                         const char **reason)
{
    struct standby *s = &rd->shared->standbys[i];
    struct markr_pg *conn = standby_conn(rd, i);
    struct probe p;

    for (int attempt = 0; conn != NULL && probe(conn, s, &p) == 0; ++attempt) {
        long left = (long)(deadline - now_ms());

        switch (markr_replica_judge(p.in_recovery, p.replayed, target, p.wal_block, left)) {
        case MARKR_PROBE_USE:
            standby_usable(s);
            return conn;
        case MARKR_PROBE_WAIT:
            pause_ms(markr_replica_poll_ms(attempt, left));
            continue;
        case MARKR_PROBE_LAGGING:
            standby_failed(s, MARKR_STANDBY_LAGGING);
            *reason = "lag";
            return NULL;
        case MARKR_PROBE_NOT_IN_RECOVERY:
            standby_failed(s, MARKR_STANDBY_NOT_IN_RECOVERY);
            *reason = "not_in_recovery";
            return NULL;
        }
    }
    standby_failed(s, MARKR_STANDBY_DOWN);
    *reason = "down";
    return NULL;
}

/* The standby a read runs on, or NULL (the primary) with *reason. */
static struct markr_pg *choose(struct markr_pg_reads *rd, int *index, const char **reason)
{
    struct markr_pg_replicas *r = rd->shared;
    struct markr_standby_view views[MARKR_REPLICAS_MAX];
    uint64_t target = atomic_load(&r->position); /* before anything is read */
    int64_t deadline = now_ms() + r->max_lag_ms;
    size_t start = atomic_fetch_add(&r->next, 1);
    size_t tried = 0;

    *reason = "position_unknown";
    if (!atomic_load(&r->feed_up) || atomic_load(&r->pinned) != 0)
        return NULL;
    for (size_t i = 0; i < r->count; ++i)
        views[i] = (struct markr_standby_view){.state = (enum markr_standby_state)atomic_load(&r->standbys[i].state),
                                               .retry_at_ms = atomic_load(&r->standbys[i].retry_at_ms)};
    *reason = markr_standby_skip_reason(views[start % r->count].state);
    while (tried++ < r->count) {
        int i = markr_replica_pick(views, r->count, start, now_ms());
        struct markr_pg *conn;

        if (i < 0)
            break;
        if ((conn = wait_for_standby(rd, (size_t)i, target, deadline, reason)) != NULL) {
            *index = i;
            return conn;
        }
        views[i].retry_at_ms = INT64_MAX; /* tried: not again for this read */
        start = (size_t)i + 1;
    }
    return NULL;
}

int markr_pg_on_reader(struct markr_pg *pg, int (*read)(struct markr_pg *conn, void *arg, struct markr_error *err),
                       void *arg, struct markr_error *err)
{
    const char *reason;
    struct markr_pg *conn;
    int index = -1;

    /* Once abandoned (the shutdown timeout), the primary's connection fails every read at
     * once; a standby's opened after the abandon would not. */
    if (pg->reads == NULL || atomic_load(&pg->abandoned))
        return read(pg, arg, err);
    if ((conn = choose(pg->reads, &index, &reason)) != NULL) {
        int rc;

        conn->sqlstate[0] = '\0';
        if ((rc = read(conn, arg, err)) >= 0 || strncmp(conn->sqlstate, "22", 2) == 0) {
            /* A data exception (bytes that are no text, say) is the primary's answer too. */
            memcpy(pg->sqlstate, conn->sqlstate, sizeof(pg->sqlstate));
            markr_metrics_replica_read(1);
            return rc;
        }
        /* A recovery conflict, a connection lost: the primary answers instead. */
        if (PQstatus(conn->conn) != CONNECTION_OK)
            standby_failed(&pg->reads->shared->standbys[index], MARKR_STANDBY_DOWN);
        reason = "error";
        markr_error_clear(err);
    }
    markr_metrics_replica_fallback(reason);
    markr_metrics_replica_read(0);
    return read(pg, arg, err);
}

static int read_one(struct markr_pg *conn, void *arg, struct markr_error *err)
{
    conn->sqlstate[0] = '\0';
    return markr_pg_read_with(conn, markr_pg_statement_read, arg, err) == 0 ? 0 : -1;
}

PGresult *markr_pg_read_replica(struct markr_pg *pg, const char *what, const char *sql,
                                const struct markr_pg_params *params, struct markr_error *err)
{
    struct markr_pg_statement_read s = {.what = what, .sql = sql, .params = params};

    return markr_pg_on_reader(pg, read_one, &s, err) == 0 ? s.res : NULL;
}

/* --- readiness -------------------------------------------------------------------------------- */

size_t markr_pg_reads_status(struct markr_pg *pg, struct markr_standby_status *out, size_t max)
{
    struct markr_pg_reads *rd = pg->reads;
    size_t n = 0;

    for (size_t i = 0; rd != NULL && i < rd->shared->count && n < max; ++i, ++n) {
        struct standby *s = &rd->shared->standbys[i];

        /* Probed without waiting for a position; a standby in its backoff is left alone. */
        if (atomic_load(&s->retry_at_ms) <= now_ms()) {
            const char *reason = NULL;

            (void)wait_for_standby(rd, i, 0, 0, &reason);
        }
        snprintf(out[n].name, sizeof(out[n].name), "%s", s->name);
        out[n].state = markr_standby_state_name((enum markr_standby_state)atomic_load(&s->state));
        out[n].lag_seconds = (double)atomic_load(&s->lag_us) / 1e6;
    }
    return n;
}
