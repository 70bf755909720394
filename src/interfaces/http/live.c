/*
 * The live side of the HTTP adapter: one "topic" per test id, holding the GET requests that
 * wait for its aggregate and its stream clients; the clients of /events; and the heartbeat.
 * Everything runs on the loop thread; the change feed's thread only posts to it (through
 * feed_bridge.c).
 *
 * What may be served from the cache, and when a computed aggregate may be kept, is decided
 * by application/aggregate_cache.c (ADR 0012), for which this file is the host: a topic
 * embeds its cache entry, a refresh is a job on the worker pool, and the answers are h2o
 * requests and Server-Sent Events (sse.c, ADR 0013). While the feed is down, aggregates go
 * to the database every time (the plain path, handle_aggregate.c). The item analysis of a
 * test (GET /results/{test-id}/items) is a second kind of entry of the same cache, with the
 * same rules; it has no stream (the dashboard reads it again on each /events change).
 */
#include "live.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <json-c/json.h>

#include "application/aggregate_cache.h"
#include "application/get_aggregate.h"
#include "cached_figures.h"
#include "application/ids.h"
#include "feed_bridge.h"
#include "handlers.h"
#include "interfaces/observe/log.h"
#include "interfaces/observe/metrics.h"
#include "representation.h"
#include "exports.h"
#include "responses.h"
#include "sse.h"

#define HEARTBEAT_MS 15000

struct topic {
    struct markr_cache_entry entry; /* the cache's view of the test */
    h2o_linklist_t waiters;         /* struct waiter: GET requests waiting for a refresh */
    h2o_linklist_t streams;         /* struct markr_sse_client: its aggregate streams */
};

struct waiter {
    h2o_linklist_t link;
    h2o_req_t *req;
    struct markr_cache_ticket ticket; /* when the request came */
};

struct markr_live {
    h2o_loop_t *loop;
    struct markr_worker_pool *pool;
    struct markr_aggregate_cache *cache;
    struct markr_sse *sse;
    h2o_linklist_t events; /* struct markr_sse_client of /events */
    h2o_timeout_t heartbeat;
    h2o_timeout_entry_t heartbeat_entry;
    struct markr_feed_bridge *bridge; /* NULL without a feed */
};

struct refresh_job {
    struct markr_job job;
    struct markr_live *live;
    struct topic *topic;
    enum markr_cache_kind kind;
    char *body; /* the figures as JSON text (malloc'd), made on the worker; NULL: error */
    size_t len;
    struct markr_error error;
    size_t id_len;
    char id[]; /* a copy: the worker reads nothing of the loop's */
};

static struct topic *topic_of(const struct markr_cache_entry *e)
{
    return (struct topic *)((char *)e - offsetof(struct topic, entry));
}

/* --- answers ---------------------------------------------------------------------------------- */

static void send_body(h2o_req_t *req, const char *body, size_t len)
{
    /* Revalidated on the loop from the held bytes: a 304 costs no worker and no query. */
    if (markr_http_conditional(req, body, len))
        return;
    req->res.status = 200;
    req->res.reason = "OK";
    req->res.content_length = len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/json"));
    h2o_send_inline(req, body, len);
}

/* What the use case answers for a test without marks, remembered by the cache. */
static void send_unknown(h2o_req_t *req)
{
    struct markr_error err;

    markr_aggregate_unknown(&err);
    markr_http_send_error(req, &err, 0);
}

/* --- the cache's host ------------------------------------------------------------------------- */

static struct markr_cache_entry *topic_create(void *ctx)
{
    struct topic *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return NULL;
    h2o_linklist_init_anchor(&t->waiters);
    h2o_linklist_init_anchor(&t->streams);
    return &t->entry;
}

static void topic_destroy(void *ctx, struct markr_cache_entry *e)
{
    free(topic_of(e));
}

static void topic_evicted(void *ctx, const struct markr_cache_entry *e)
{
    markr_metrics_cache_evicted();
}

static unsigned topic_interest(void *ctx, const struct markr_cache_entry *e)
{
    struct topic *t = topic_of(e);

    return (h2o_linklist_is_empty(&t->waiters) ? 0 : MARKR_CACHE_WAITERS) |
           (h2o_linklist_is_empty(&t->streams) ? 0 : MARKR_CACHE_STREAMS);
}

/* Answers everything waiting on the topic that cannot be answered with figures. */
static void topic_fail(void *ctx, struct markr_cache_entry *e, const struct markr_error *err)
{
    struct topic *t = topic_of(e);
    h2o_linklist_t *node, *next;

    while (!h2o_linklist_is_empty(&t->waiters)) {
        struct waiter *w = H2O_STRUCT_FROM_MEMBER(struct waiter, link, t->waiters.next);

        h2o_linklist_unlink(&w->link);
        markr_http_send_error(w->req, err, 0);
    }
    for (node = t->streams.next; node != &t->streams; node = next) {
        next = node->next; /* a refused client leaves the list */
        markr_sse_refuse(markr_sse_client_of(node), err);
    }
}

static void topic_deliver(void *ctx, struct markr_cache_entry *e, const struct markr_cache_ticket *upto,
                          const char *body, size_t len)
{
    struct topic *t = topic_of(e);
    h2o_linklist_t *node, *next;

    for (node = t->waiters.next; node != &t->waiters; node = next) {
        struct waiter *w = H2O_STRUCT_FROM_MEMBER(struct waiter, link, node);

        next = node->next;
        if (upto == NULL || markr_cache_ticket_covers(upto, &w->ticket)) {
            h2o_linklist_unlink(&w->link);
            send_body(w->req, body, len);
        }
    }
    if (upto != NULL)
        return;
    for (node = t->streams.next; node != &t->streams; node = next) {
        next = node->next; /* a client cut off leaves the list */
        markr_sse_send_event(markr_sse_client_of(node), e->version, "aggregate", body, len);
    }
}

static void refresh_run(struct markr_job *job, struct markr_services *services)
{
    struct refresh_job *self = (struct refresh_job *)job;

    self->body = markr_cached_figures(services, self->kind, self->id, self->id_len, &self->len, &self->error);
}

static void refresh_done(struct markr_job *job)
{
    struct refresh_job *self = (struct refresh_job *)job;

    markr_aggregate_cache_refreshed(self->live->cache, &self->topic->entry, self->body, self->len, &self->error);
    free(self->body);
    free(self);
}

/* The aggregate of a topic, computed once on a worker for everyone waiting. */
static int topic_refresh(void *ctx, struct markr_cache_entry *e)
{
    struct markr_live *live = ctx;
    struct refresh_job *job = calloc(1, sizeof(*job) + e->id_len + 1);
    struct markr_error err;

    if (job != NULL) {
        job->job.run = refresh_run;
        job->job.done = refresh_done;
        job->live = live;
        job->topic = topic_of(e);
        job->kind = e->kind;
        memcpy(job->id, e->id, e->id_len);
        job->id_len = e->id_len;
        if (markr_worker_pool_submit(live->pool, &job->job) == 0)
            return 0;
        free(job);
    }
    markr_error_set(&err, MARKR_ERR_UNAVAILABLE, "overloaded", MARKR_HTTP_OVERLOADED_MESSAGE);
    topic_fail(ctx, e, &err);
    return -1;
}

/* --- handlers --------------------------------------------------------------------------------- */

static void on_waiter_dispose(void *p)
{
    struct waiter *w = p;

    if (h2o_linklist_is_linked(&w->link))
        h2o_linklist_unlink(&w->link); /* the client left before the figures came */
}

/* The figures of kind for the test of match: from the cache when it holds them exactly, else
 * computed once for everyone waiting; without the feed, by `plain` every time. */
static int serve_cached(struct markr_live *live, h2o_req_t *req, const struct markr_route_match *match,
                        enum markr_cache_kind kind,
                        int (*plain)(struct markr_worker_pool *, h2o_req_t *, const struct markr_route_match *))
{
    struct markr_cache_entry *e;
    struct waiter *w;

    /* An id that names nothing gets its 404 before it costs an entry (or a query). */
    if (!markr_id_valid(match->id, match->id_len)) {
        send_unknown(req);
        return 0;
    }
    /* Without the feed nothing could tell a cached figure is stale: compute every time. */
    if (!markr_aggregate_cache_serving(live->cache) ||
        (e = markr_aggregate_cache_entry_of(live->cache, kind, match->id, match->id_len)) == NULL)
        return plain(live->pool, req, match);
    switch (markr_aggregate_cache_answer(live->cache, e)) {
    case MARKR_CACHE_FIGURES:
        send_body(req, e->body, e->body_len); /* on the loop: no worker, no database */
        return 0;
    case MARKR_CACHE_MISSING:
        send_unknown(req); /* no query either */
        return 0;
    case MARKR_CACHE_UNKNOWN:
        break;
    }
    w = h2o_mem_alloc_shared(&req->pool, sizeof(*w), on_waiter_dispose);
    w->req = req;
    w->ticket = markr_aggregate_cache_ticket(live->cache, e);
    w->link.next = w->link.prev = NULL;
    h2o_linklist_insert(&topic_of(e)->waiters, &w->link);
    markr_aggregate_cache_refresh(live->cache, e);
    return 0;
}

int markr_live_handle_aggregate(struct markr_http_handler *handler, h2o_req_t *req,
                                const struct markr_route_match *match)
{
    return serve_cached(handler->live, req, match, MARKR_CACHE_AGGREGATE, markr_handle_aggregate);
}

int markr_live_handle_items(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match)
{
    int form = markr_http_negotiate(req);

    if (form < 0)
        return 0;
    if (form == MARKR_FORM_CSV) /* by a worker: see markr_export_items */
        return markr_export_items(handler, req, match);
    return serve_cached(handler->live, req, match, MARKR_CACHE_ITEMS, markr_handle_items);
}

/* Streams opened while the server stops would never be served or ended. */
static int refuse_when_closed(struct markr_live *live, h2o_req_t *req)
{
    if (!markr_aggregate_cache_closed(live->cache))
        return 0;
    markr_http_send_problem(req, 503, "shutting_down", "the server is shutting down");
    return 1;
}

int markr_live_handle_aggregate_stream(struct markr_http_handler *handler, h2o_req_t *req,
                                       const struct markr_route_match *match)
{
    struct markr_live *live = handler->live;
    struct markr_cache_entry *e;
    struct markr_sse_client *c;
    enum markr_cache_answer answer;

    if (refuse_when_closed(live, req))
        return 0;
    if (!markr_id_valid(match->id, match->id_len)) { /* no entry, no stream, no query */
        send_unknown(req);
        return 0;
    }
    if ((e = markr_aggregate_cache_entry(live->cache, match->id, match->id_len)) == NULL)
        return -1;
    if ((answer = markr_aggregate_cache_answer(live->cache, e)) == MARKR_CACHE_MISSING) {
        send_unknown(req);
        return 0;
    }
    c = markr_sse_client_create(live->sse, req, &topic_of(e)->streams, 1);
    if (answer == MARKR_CACHE_FIGURES)
        markr_sse_send_event(c, e->version, "aggregate", e->body, e->body_len);
    else
        markr_aggregate_cache_refresh(live->cache, e); /* the stream starts with the figures, or answers 404 */
    return 0;
}

int markr_live_handle_events(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match)
{
    static const char hello[] = "retry: 2000\n: markr events\n\n";
    struct markr_live *live = handler->live;

    if (refuse_when_closed(live, req))
        return 0;
    markr_sse_start(markr_sse_client_create(live->sse, req, &live->events, 0), hello, sizeof(hello) - 1);
    return 0;
}

static void on_heartbeat(h2o_timeout_entry_t *entry)
{
    struct markr_live *live = H2O_STRUCT_FROM_MEMBER(struct markr_live, heartbeat_entry, entry);

    markr_sse_heartbeat(live->sse);
    /* Streams whose last refresh failed (overload, a database error), or whose figures could
     * not be cached (the feed is down), get them computed again: never stale for ever. */
    markr_aggregate_cache_retry(live->cache);
    h2o_timeout_link(live->loop, &live->heartbeat, &live->heartbeat_entry);
}

/* --- the feed, on the loop -------------------------------------------------------------------- */

static void broadcast(struct markr_live *live, const char *name, const char *text, size_t len)
{
    h2o_linklist_t *node, *next;

    for (node = live->events.next; node != &live->events; node = next) {
        next = node->next; /* a client cut off leaves the list */
        markr_sse_send_event(markr_sse_client_of(node), MARKR_SSE_UNVERSIONED, name, text, len);
    }
}

/* Tells every /events client that changes may have gone unannounced (the feed was lost, or
 * a notification could not be read): whatever it shows, it reads again. A page can then
 * follow everything through this one stream. */
static void resync(struct markr_live *live)
{
    static const char flush[] = "{\"flush\":true}";

    broadcast(live, "resync", flush, sizeof(flush) - 1);
}

/* Every /events client hears of an import as {"import_id":N,"tests":[...]}, or
 * {"import_id":N,"flush":true}; a change whose import is not known is a resync. */
static void announce(struct markr_live *live, const struct markr_change_event *ev)
{
    json_object *change, *tests;
    const char *text;
    size_t len;

    if (h2o_linklist_is_empty(&live->events))
        return;
    if (ev->import_id < 0) {
        resync(live);
        return;
    }
    if ((change = json_object_new_object()) == NULL)
        return;
    json_object_object_add(change, "import_id", json_object_new_int64(ev->import_id));
    if (ev->flush) {
        json_object_object_add(change, "flush", json_object_new_boolean(1));
    } else if ((tests = json_object_new_array()) != NULL) {
        for (size_t i = 0; i < ev->test_count; ++i)
            json_object_array_add(tests, markr_json_string(ev->tests[i]));
        json_object_object_add(change, "tests", tests);
    }
    if ((text = json_object_to_json_string_length(change, JSON_C_TO_STRING_PLAIN, &len)) != NULL)
        broadcast(live, "import", text, len);
    json_object_put(change);
}

static void feed_changed(void *ctx, const struct markr_change_event *ev)
{
    struct markr_live *live = ctx;

    markr_aggregate_cache_changed(live->cache, ev);
    announce(live, ev);
}

void markr_live_committed(struct markr_live *live, const char *const *tests, size_t count)
{
    markr_aggregate_cache_committed(live->cache, tests, count);
}

static void feed_up(void *ctx)
{
    struct markr_live *live = ctx;

    markr_aggregate_cache_feed(live->cache, 1);
    markr_log(MARKR_LOG_INFO, "change feed up", "cache", "on", NULL);
    resync(live); /* what was committed while it was down was never announced */
}

static void feed_down(void *ctx)
{
    struct markr_live *live = ctx;

    markr_aggregate_cache_feed(live->cache, 0);
    markr_log(MARKR_LOG_INFO, "change feed down", "cache", "off", NULL);
}

/* --- life cycle ------------------------------------------------------------------------------ */

struct markr_live *markr_live_create(h2o_context_t *ctx, struct markr_worker_pool *pool,
                                     const struct markr_change_feed *feed, h2o_timeout_t *write_timeout)
{
    struct markr_live *live = calloc(1, sizeof(*live));
    struct markr_aggregate_cache_host host = {.create = topic_create,
                                              .destroy = topic_destroy,
                                              .evicted = topic_evicted,
                                              .interest = topic_interest,
                                              .refresh = topic_refresh,
                                              .deliver = topic_deliver,
                                              .fail = topic_fail};
    struct rlimit files;

    if (live == NULL)
        return NULL;
    host.ctx = live;
    live->cache = markr_aggregate_cache_create(&host, MARKR_AGGREGATE_CACHE_MAX);
    live->sse = markr_sse_create(ctx, write_timeout);
    if (live->cache == NULL || live->sse == NULL) {
        markr_aggregate_cache_destroy(live->cache);
        markr_sse_destroy(live->sse);
        free(live);
        return NULL;
    }
    live->loop = ctx->loop;
    live->pool = pool;
    h2o_linklist_init_anchor(&live->events);
    h2o_timeout_init(live->loop, &live->heartbeat, HEARTBEAT_MS);
    live->heartbeat_entry.cb = on_heartbeat;
    h2o_timeout_link(live->loop, &live->heartbeat, &live->heartbeat_entry);
    /* Every stream client is a descriptor: allow as many as the hard limit does. */
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        setrlimit(RLIMIT_NOFILE, &files);
    }
    if (feed != NULL) {
        struct markr_change_sink on_loop = {.ctx = live, .up = feed_up, .down = feed_down, .changed = feed_changed};

        if ((live->bridge = markr_feed_bridge_start(live->loop, feed, &on_loop)) == NULL) {
            markr_live_destroy(live);
            return NULL;
        }
    }
    return live;
}

void markr_live_shutdown(struct markr_live *live)
{
    struct markr_error err;

    if (markr_aggregate_cache_closed(live->cache))
        return;
    if (live->bridge != NULL)
        markr_feed_bridge_stop(live->bridge);
    markr_error_set(&err, MARKR_ERR_UNAVAILABLE, "shutting_down", "the server is stopping; retry shortly");
    markr_aggregate_cache_close(live->cache, &err);
    markr_sse_end_all(live->sse);
}

void markr_live_stats(const struct markr_live *live, size_t *cache_entries, size_t *stream_clients)
{
    *cache_entries = markr_aggregate_cache_count(live->cache);
    *stream_clients = markr_sse_open(live->sse);
}

void markr_live_destroy(struct markr_live *live)
{
    if (live == NULL)
        return;
    markr_live_shutdown(live);
    if (h2o_timeout_is_linked(&live->heartbeat_entry))
        h2o_timeout_unlink(&live->heartbeat_entry);
    h2o_timeout_dispose(live->loop, &live->heartbeat);
    markr_feed_bridge_destroy(live->bridge);
    markr_aggregate_cache_destroy(live->cache);
    markr_sse_destroy(live->sse);
    free(live);
}
