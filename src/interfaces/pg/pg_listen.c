/*
 * LISTEN on a connection of its own, on a thread of its own. The thread waits in poll() on
 * the connection's socket and on a pipe that stop() writes to, so it never spins and stops
 * at once. A connection that breaks (EOF, an error, TCP keepalives that go unanswered on a
 * network connection) is reported down, closed, and opened again with a growing pause
 * (100 ms doubling to 2 s); up is reported only once LISTEN has succeeded, so nothing
 * committed after an up can be missed.
 *
 * The payloads are the JSON that the writers of marks build (pg_marks.c, pg_rebuild.c): they
 * are decoded here, next to the SQL that makes them, and cross the port as a struct. One
 * that cannot be decoded is reported as a flush (every test may have changed): a change is
 * never dropped.
 *
 * A payload cannot carry the commit's WAL position: the NOTIFY is sent inside the
 * transaction, before its commit record exists (or, for a synchronous import, in a small
 * transaction after its COMMIT). PostgreSQL delivers a notification only after the commit
 * of the change it announces has returned, so the position read here once it is received
 * (MARKR_PG_POSITION_SQL) is at or past that commit (ADR 0030). With read replicas, that
 * position is read on this connection before a batch of notifications is reported.
 */
#include "pg_listen.h"
#include "pg_internal.h"
#include "pg_replica.h"
#include "pg_replica_route.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <libpq-fe.h>

#include "pg_internal.h"

/* Its application_name, and the connection= of its log lines. */
#define LISTEN_NAME "markr-listen"

struct markr_pg_listener {
    char *conninfo;
    struct markr_pg_notices notices; /* of its connection (one at a time) */
    int wake[2]; /* stop() writes to wake[1]; run polls wake[0] */
    atomic_int stopping;
    struct markr_pg_replicas *replicas; /* NULL: no read replicas */
};

void markr_pg_listener_set_replicas(struct markr_pg_listener *l, struct markr_pg_replicas *replicas)
{
    l->replicas = replicas;
}

/* Reads the primary's position (PQexec blocks, also in non-blocking mode) and hands
 * it to the read pool. Notifications that come meanwhile stay queued in libpq, for the next
 * batch (and the next position). Returns 0, or -1 when the connection failed. */
static int read_position(struct markr_pg_listener *l, PGconn *conn)
{
    uint64_t token, lsn;
    PGresult *res;
    int rc = -1;

    if (l->replicas == NULL)
        return 0;
    token = markr_pg_replicas_token(l->replicas);
    res = PQexec(conn, MARKR_PG_POSITION_SQL);
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
        markr_lsn_parse(PQgetvalue(res, 0, 0), &lsn) == 0) {
        markr_pg_replicas_seen(l->replicas, lsn, token);
        rc = 0;
    }
    PQclear(res);
    return rc;
}

struct markr_pg_listener *markr_pg_listener_create(const char *conninfo)
{
    struct markr_pg_listener *l = calloc(1, sizeof(*l));

    if (l == NULL)
        return NULL;
    if ((l->conninfo = strdup(conninfo)) == NULL || pipe2(l->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        free(l->conninfo);
        free(l);
        return NULL;
    }
    return l;
}

void markr_pg_listener_destroy(struct markr_pg_listener *l)
{
    if (l == NULL)
        return;
    close(l->wake[0]);
    close(l->wake[1]);
    free(l->conninfo);
    free(l);
}

/* Waits until fd is ready for events (or the pipe is written) for at most timeout_ms.
 * Returns 1 when fd is ready, 0 on timeout, -1 when stopping. */
static int wait_for(struct markr_pg_listener *l, int fd, short events, int timeout_ms)
{
    struct pollfd fds[2] = {{.fd = l->wake[0], .events = POLLIN}, {.fd = fd, .events = events}};
    int n;

    do
        n = poll(fds, fd >= 0 ? 2 : 1, timeout_ms);
    while (n < 0 && errno == EINTR);
    if (atomic_load(&l->stopping) || (fds[0].revents & POLLIN))
        return -1;
    return n > 0 && (fds[1].revents & (events | POLLERR | POLLHUP)) != 0;
}

/* Opens the connection without blocking past a stop. Keepalives make a silent network
 * loss visible within about 10 s (they do not apply to Unix sockets, where the loss is an
 * EOF). Returns the connection, or NULL (failed or stopping). */
static PGconn *open_connection(struct markr_pg_listener *l)
{
    const char *keys[] = {"dbname", "application_name", "keepalives", "keepalives_idle", "keepalives_interval",
                          "keepalives_count", "tcp_user_timeout", "client_encoding", NULL};
    const char *values[] = {l->conninfo, LISTEN_NAME, "1", "5", "2", "2", "10000", "UTF8", NULL};
    PGconn *conn = PQconnectStartParams(keys, values, 1);
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;

    if (conn == NULL)
        return NULL;
    l->notices = (struct markr_pg_notices){.name = LISTEN_NAME};
    markr_pg_log_notices(conn, &l->notices);
    while (PQstatus(conn) != CONNECTION_BAD && st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
        int ready = wait_for(l, PQsocket(conn), st == PGRES_POLLING_READING ? POLLIN : POLLOUT, 10000);

        if (ready <= 0)
            break; /* stopping, or no progress in 10 s */
        st = PQconnectPoll(conn);
    }
    if (st != PGRES_POLLING_OK) {
        if (!atomic_load(&l->stopping))
            markr_pg_log_failure(conn, "change feed cannot connect", LISTEN_NAME);
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

static int start_listening(PGconn *conn)
{
    PGresult *res = PQexec(conn, "LISTEN " MARKR_PG_CHANGES_CHANNEL);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;

    PQclear(res);
    return ok && PQsetnonblocking(conn, 1) == 0 ? 0 : -1;
}

/* Fills ev from a decoded payload; *tests is allocated for its list (the caller frees it).
 * Returns 0, or -1 when the payload is not one the writers send (or there is no memory). */
static int decode_change(json_object *change, struct markr_change_event *ev, const char ***tests)
{
    json_object *id, *flush, *list;
    size_t count;

    if (!json_object_is_type(change, json_type_object))
        return -1;
    /* Without an import id the change is still applied; only the import is not named. */
    if (json_object_object_get_ex(change, "import_id", &id) && json_object_is_type(id, json_type_int) &&
        json_object_get_int64(id) >= 0)
        ev->import_id = json_object_get_int64(id);
    if ((json_object_object_get_ex(change, "flush", &flush) && json_object_get_boolean(flush)) ||
        !json_object_object_get_ex(change, "tests", &list) || !json_object_is_type(list, json_type_array)) {
        ev->flush = 1;
        return 0;
    }
    count = json_object_array_length(list);
    if (count > 0 && (*tests = calloc(count, sizeof(**tests))) == NULL)
        return -1;
    for (size_t i = 0; i < count; ++i) {
        json_object *test = json_object_array_get_idx(list, i);

        /* A test id is text without NUL: anything else cannot name a test of ours. */
        if (!json_object_is_type(test, json_type_string) ||
            strlen(json_object_get_string(test)) != (size_t)json_object_get_string_len(test))
            return -1;
        (*tests)[i] = json_object_get_string(test);
    }
    ev->tests = *tests;
    ev->test_count = count;
    return 0;
}

void markr_pg_report_change(const struct markr_change_sink *sink, const char *payload, size_t len)
{
    struct markr_change_event ev = {.import_id = -1};
    json_tokener *tok = len <= INT_MAX ? json_tokener_new() : NULL;
    json_object *change = tok != NULL ? json_tokener_parse_ex(tok, payload, (int)len) : NULL;
    const char **tests = NULL;

    if (change == NULL || decode_change(change, &ev, &tests) != 0)
        ev = (struct markr_change_event){.import_id = ev.import_id, .flush = 1};
    sink->changed(sink->ctx, &ev);
    free(tests);
    json_object_put(change);
    if (tok != NULL)
        json_tokener_free(tok);
}

/* Reports the notifications libpq holds. With read replicas they are taken out first, the
 * position is read, and only then are they reported: each was committed before that read.
 * Returns 0, or -1 when the position could not be read (the connection is then broken; the
 * notifications are still reported). */
static int report_batch(struct markr_pg_listener *l, PGconn *conn, const struct markr_change_sink *sink)
{
    PGnotify *batch[64], *n;
    size_t count = 0;
    int rc = 0;

    if (l->replicas == NULL) {
        while ((n = PQnotifies(conn)) != NULL) {
            markr_pg_report_change(sink, n->extra, strlen(n->extra));
            PQfreemem(n);
        }
        return 0;
    }
    do {
        count = 0;
        while (count < sizeof(batch) / sizeof(batch[0]) && (batch[count] = PQnotifies(conn)) != NULL)
            ++count;
        if (count != 0 && rc == 0 && read_position(l, conn) != 0) {
            markr_pg_replicas_feed_down(l->replicas); /* before the changes are reported */
            rc = -1;
        }
        for (size_t i = 0; i < count; ++i) {
            markr_pg_report_change(sink, batch[i]->extra, strlen(batch[i]->extra));
            PQfreemem(batch[i]);
        }
    } while (count == sizeof(batch) / sizeof(batch[0]));
    return rc;
}

/* Reports notifications until the connection breaks (returns 0) or stop (returns -1). */
static int listen_until_broken(struct markr_pg_listener *l, PGconn *conn, const struct markr_change_sink *sink)
{
    for (;;) {
        /* First, and after every read: notifications libpq already holds (some may have come
         * with the LISTEN's own answer) are reported before waiting for more; a full batch is
         * followed by the next one at once. */
        if (report_batch(l, conn, sink) != 0)
            return 0;
        if (PQstatus(conn) != CONNECTION_OK)
            return 0;
        if (wait_for(l, PQsocket(conn), POLLIN, -1) < 0)
            return -1;
        if (PQconsumeInput(conn) == 0)
            return 0;
    }
}

static void feed_run(void *ctx, const struct markr_change_sink *sink)
{
    struct markr_pg_listener *l = ctx;
    int pause_ms = 100;

    while (!atomic_load(&l->stopping)) {
        PGconn *conn = open_connection(l);
        int stop = 0;

        /* Listening first, then the position: every commit before it is covered by the
         * position, every one after it will be heard. */
        if (conn != NULL && start_listening(conn) == 0 && read_position(l, conn) == 0) {
            pause_ms = 100;
            sink->up(sink->ctx);
            stop = listen_until_broken(l, conn, sink) < 0;
            if (!stop)
                markr_pg_log_failure(conn, "change feed connection lost", LISTEN_NAME);
            if (l->replicas != NULL)
                markr_pg_replicas_feed_down(l->replicas);
            sink->down(sink->ctx);
        } else if (conn != NULL) {
            markr_pg_log_failure(conn, "change feed cannot listen", LISTEN_NAME);
        }
        PQfinish(conn);
        if (stop || wait_for(l, -1, 0, pause_ms) < 0)
            break;
        pause_ms = pause_ms * 2 > 2000 ? 2000 : pause_ms * 2;
    }
}

static void feed_stop(void *ctx)
{
    struct markr_pg_listener *l = ctx;
    ssize_t rc;

    atomic_store(&l->stopping, 1);
    do
        rc = write(l->wake[1], "x", 1);
    while (rc < 0 && errno == EINTR);
}

struct markr_change_feed markr_pg_change_feed(struct markr_pg_listener *l)
{
    return (struct markr_change_feed){.ctx = l, .run = feed_run, .stop = feed_stop};
}
