/*
 * The feed lock (pg_feed.h). The advisory lock's key is (MARKR_FEED_LOCK_CLASS, hashtext of
 * the feed), two int4s, so that it cannot meet another application's single-bigint keys; a
 * hash collision between two feeds would only make them share one consumer. The lock holds
 * as long as the session does, so check() compares the backend's pid with the one that took
 * it: the connection layer reconnects by itself, and a new session holds nothing. A try
 * that fails drops its connection, so that the next one runs on a new session.
 */
#include "pg_feed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_conn.h"
#include "pg_internal.h"

#define MARKR_FEED_LOCK_CLASS 1298231915 /* "Mark" as a big-endian int4 */

struct pg_feed_lock {
    struct markr_feed_lock port;
    char *conninfo;
    struct markr_pg *pg;
    char pid[16]; /* the backend that holds the lock; "" when not held */
};

static const char try_lock_sql[] = "SELECT pg_try_advisory_lock($1::int4, hashtext($2)), pg_backend_pid()";

/* Under the lock: a new generation for this holder, and the stored position. */
static const char claim_sql[] =
    "INSERT INTO feed_positions AS f (feed, generation) VALUES ($1, 1)\n"
    "ON CONFLICT (feed) DO UPDATE SET generation = f.generation + 1, updated_at = now()\n"
    "RETURNING generation, last_event_id";

static void drop_connection(struct pg_feed_lock *l)
{
    if (l->pg != NULL)
        markr_pg_close(l->pg);
    l->pg = NULL;
    l->pid[0] = '\0';
}

static int lock_acquire(void *ctx, const char *feed, int64_t *generation, char *last_event_id, size_t cap,
                        struct markr_error *err)
{
    struct pg_feed_lock *l = ctx;
    struct markr_pg_params params = {0}, claim = {0};
    PGresult *res;
    int held;

    if (l->pg == NULL && (l->pg = markr_pg_connect(l->conninfo, err)) == NULL)
        return -1;
    markr_pg_param_int4(&params, MARKR_FEED_LOCK_CLASS);
    markr_pg_param_text(&params, MARKR_PG_TEXT, feed);
    if ((res = markr_pg_exec(l->pg, "taking the feed lock", try_lock_sql, &params, err)) == NULL) {
        /* Nothing is held on this connection; it may be dead (a restart, a terminated
         * backend, an idle-session timeout) and the connection layer does not reconnect it:
         * the next try opens a new one, or a standby could never take over. */
        drop_connection(l);
        return -1;
    }
    held = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    if (held)
        snprintf(l->pid, sizeof(l->pid), "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    if (!held)
        return 0;
    markr_pg_param_text(&claim, MARKR_PG_TEXT, feed);
    if ((res = markr_pg_exec(l->pg, "claiming the feed", claim_sql, &claim, err)) == NULL) {
        drop_connection(l); /* the lock goes with its session */
        return -1;
    }
    *generation = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    snprintf(last_event_id, cap, "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    return 1;
}

static int lock_check(void *ctx, struct markr_error *err)
{
    struct pg_feed_lock *l = ctx;
    struct markr_pg_params none = {0};
    PGresult *res;
    int same;

    if (l->pg == NULL || l->pid[0] == '\0')
        return markr_error_set(err, MARKR_ERR_UNAVAILABLE, "feed_lost", "the feed lock is not held");
    if ((res = markr_pg_exec(l->pg, "checking the feed lock", "SELECT pg_backend_pid()", &none, err)) == NULL) {
        drop_connection(l);
        return -1;
    }
    same = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), l->pid) == 0;
    PQclear(res);
    if (!same) {
        drop_connection(l); /* a new session: the lock went with the old one */
        return markr_error_set(err, MARKR_ERR_UNAVAILABLE, "feed_lost", "the feed lock's connection was lost");
    }
    return 0;
}

static void lock_release(void *ctx)
{
    drop_connection(ctx);
}

struct markr_feed_lock *markr_pg_feed_lock_create(const char *conninfo)
{
    struct pg_feed_lock *l = calloc(1, sizeof(*l));

    if (l == NULL || (l->conninfo = strdup(conninfo)) == NULL) {
        free(l);
        return NULL;
    }
    l->port = (struct markr_feed_lock){.ctx = l, .acquire = lock_acquire, .check = lock_check, .release = lock_release};
    return &l->port;
}

void markr_pg_feed_lock_destroy(struct markr_feed_lock *lock)
{
    struct pg_feed_lock *l = (struct pg_feed_lock *)lock;

    if (l == NULL)
        return;
    drop_connection(l);
    free(l->conninfo);
    free(l);
}
