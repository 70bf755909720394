/*
 * The live side of the HTTP adapter: one "topic" per test id that holds the cached JSON of
 * its aggregate, the GET requests waiting for it to be computed, and its stream clients;
 * plus the clients of /events. Everything runs on the loop thread; the change feed's thread
 * only posts messages (up, down, changed) to it.
 *
 * Exactness (ADR 0012). A topic has a version, raised by every change of its test that the
 * feed reports, and the server an epoch, raised whenever the feed goes down or up. A refresh
 * job remembers both when it starts; its result is used only if neither moved meanwhile,
 * otherwise it is computed again. The cache serves only while the feed is up: a change is
 * then seen at most one notification delay after its commit. While it is down, aggregates
 * go to the database every time (the plain path, handle_aggregate.c).
 *
 * Streams (ADR 0013). h2o writes to each client without blocking; a client holds at most
 * one send in flight plus a bounded pending buffer. An aggregate stream keeps only the
 * newest event pending (older figures are superseded), the /events stream appends, and a
 * client whose pending buffer would pass MAX_PENDING is cut off: a slow client costs its own
 * memory only, never the others' time. h2o 2.2.5 stops reading a connection while its
 * request is answered, so a stream also watches its socket for EOF itself: a client that
 * leaves is cleaned up at once, not at the next write.
 */
#include "live.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <json-c/json.h>

#include "application/get_aggregate.h"
#include "handlers.h"
#include "responses.h"

#define HEARTBEAT_MS 15000
#define MAX_PENDING (256 * 1024) /* bytes an /events client may fall behind before it is cut off */
#define MAX_TOPICS 65536         /* idle topics past this are evicted */
#define SOCK_BUCKETS 4096

struct topic {
    struct topic *next; /* in its bucket */
    char *id;
    size_t id_len;
    uint64_t hash;
    uint64_t version;    /* raised by every reported change of the test */
    char *body;          /* JSON of the aggregate at version; NULL when not cached */
    size_t body_len;
    h2o_linklist_t waiters; /* struct waiter: GET requests waiting for a refresh */
    h2o_linklist_t streams; /* struct client: its aggregate streams */
    int refreshing;         /* a refresh job is out */
};

struct waiter {
    h2o_linklist_t link;
    h2o_req_t *req;
    uint64_t version, epoch; /* of the topic and the feed when the request came */
};

struct client {
    h2o_generator_t gen; /* first: h2o hands it back */
    h2o_linklist_t link; /* in topic->streams or live->events */
    h2o_linklist_t all;  /* in live->clients, for the heartbeat */
    struct markr_live *live;
    h2o_req_t *req;
    struct topic *topic; /* NULL for /events */
    h2o_socket_t *sock;  /* watched for EOF once started; NULL otherwise */
    struct client *sock_next;
    int started, sending, closing, replace;
    h2o_send_state_t end_state; /* for an end deferred until the send in flight completes */
    uint64_t sent_version;
    char *inflight;
    size_t inflight_len, inflight_cap;
    char *pending;
    size_t pending_len, pending_cap;
};

struct feed_message {
    h2o_multithread_message_t super;
    enum { FEED_UP, FEED_DOWN, FEED_CHANGED } kind;
    struct markr_change_event event; /* FEED_CHANGED: tests points at the array below */
    const char *tests[];             /* then the bytes of the test ids */
};

struct markr_live {
    h2o_loop_t *loop;
    struct markr_worker_pool *pool;
    struct topic **buckets;
    size_t nbuckets, ntopics;
    h2o_linklist_t events;  /* struct client of /events */
    h2o_linklist_t clients; /* every started client */
    uint64_t epoch;
    int enabled; /* the feed is up: the cache may serve */
    int closed;
    h2o_timeout_t heartbeat;
    h2o_timeout_entry_t heartbeat_entry;

    struct markr_change_feed feed;
    struct markr_change_sink sink;
    int has_feed;
    pthread_t thread;
    h2o_multithread_queue_t *queue;
    h2o_multithread_receiver_t receiver;
};

struct refresh_job {
    struct markr_job job;
    struct markr_live *live;
    struct topic *topic;
    uint64_t version, epoch;
    char id[MARKR_ROUTE_ID_MAX + 1];
    size_t id_len;
    struct markr_aggregate aggregate;
    struct markr_error error;
    int rc;
};

/* --- topics ----------------------------------------------------------------------------------- */

static uint64_t hash_of(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */

    for (size_t i = 0; i < len; ++i)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static struct topic *find_topic(struct markr_live *live, const char *id, size_t len)
{
    uint64_t h = hash_of(id, len);

    for (struct topic *t = live->buckets[h % live->nbuckets]; t != NULL; t = t->next)
        if (t->hash == h && t->id_len == len && memcmp(t->id, id, len) == 0)
            return t;
    return NULL;
}

static int topic_idle(const struct topic *t)
{
    return !t->refreshing && h2o_linklist_is_empty((h2o_linklist_t *)&t->waiters) &&
           h2o_linklist_is_empty((h2o_linklist_t *)&t->streams);
}

static void free_topic(struct topic *t)
{
    free(t->body);
    free(t->id);
    free(t);
}

/* Frees every topic nobody waits on or listens to (their cached figures go too). */
static void evict_idle(struct markr_live *live)
{
    for (size_t b = 0; b < live->nbuckets; ++b) {
        struct topic **p = &live->buckets[b];

        while (*p != NULL) {
            struct topic *t = *p;

            if (topic_idle(t)) {
                *p = t->next;
                free_topic(t);
                --live->ntopics;
            } else {
                p = &t->next;
            }
        }
    }
}

static struct topic *get_topic(struct markr_live *live, const char *id, size_t len)
{
    struct topic *t = find_topic(live, id, len);
    size_t b;

    if (t != NULL)
        return t;
    if (live->ntopics >= MAX_TOPICS)
        evict_idle(live);
    if ((t = calloc(1, sizeof(*t))) == NULL || (t->id = malloc(len + 1)) == NULL) {
        free(t);
        return NULL;
    }
    memcpy(t->id, id, len);
    t->id[len] = '\0';
    t->id_len = len;
    t->hash = hash_of(id, len);
    h2o_linklist_init_anchor(&t->waiters);
    h2o_linklist_init_anchor(&t->streams);
    b = t->hash % live->nbuckets;
    t->next = live->buckets[b];
    live->buckets[b] = t;
    ++live->ntopics;
    return t;
}

/* The test changed (or may have): what is cached of it is no longer the truth. */
static void invalidate(struct topic *t)
{
    ++t->version;
    free(t->body);
    t->body = NULL;
    t->body_len = 0;
}

/* --- answers ---------------------------------------------------------------------------------- */

static void send_body(h2o_req_t *req, const char *body, size_t len)
{
    req->res.status = 200;
    req->res.reason = "OK";
    req->res.content_length = len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/json"));
    h2o_send_inline(req, body, len);
}

/* The aggregate as JSON text (malloc'd), the same answer as handle_aggregate.c's. */
static char *aggregate_text(const struct markr_aggregate *a, size_t *len)
{
    json_object *body = markr_aggregate_json(a);
    const char *text;
    char *copy;

    text = json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN, len);
    if ((copy = malloc(*len + 1)) != NULL)
        memcpy(copy, text, *len + 1);
    json_object_put(body);
    return copy;
}

/* --- stream clients ------------------------------------------------------------------------- */

/* Stream clients by socket: h2o's read callback gives only the socket, whose data belongs to
 * the HTTP/1 connection. Loop thread only, and one server per process, hence static. */
static struct client *by_sock[SOCK_BUCKETS];

static size_t sock_slot(const h2o_socket_t *sock)
{
    return ((uintptr_t)sock >> 4) % SOCK_BUCKETS;
}

static void unwatch(struct client *c)
{
    struct client **p;

    if (c->sock == NULL)
        return;
    h2o_socket_read_stop(c->sock);
    for (p = &by_sock[sock_slot(c->sock)]; *p != NULL; p = &(*p)->sock_next) {
        if (*p == c) {
            *p = c->sock_next;
            break;
        }
    }
    c->sock = NULL;
}

/* Ends the response (state FINAL or ERROR); with a send in flight, when it completes. */
static void client_end(struct client *c, h2o_send_state_t state)
{
    if (c->closing)
        return;
    c->closing = 1;
    c->end_state = state;
    unwatch(c);
    if (h2o_linklist_is_linked(&c->link))
        h2o_linklist_unlink(&c->link);
    if (h2o_linklist_is_linked(&c->all))
        h2o_linklist_unlink(&c->all);
    if (!c->sending)
        h2o_send(c->req, NULL, 0, state);
}

static void client_flush(struct client *c)
{
    h2o_iovec_t buf;
    char *spare;
    size_t spare_cap;

    if (c->sending || c->closing || c->pending_len == 0)
        return;
    /* The pending buffer goes out; the emptied in-flight one takes its place. */
    spare = c->inflight;
    spare_cap = c->inflight_cap;
    c->inflight = c->pending;
    c->inflight_len = c->pending_len;
    c->inflight_cap = c->pending_cap;
    c->pending = spare;
    c->pending_cap = spare != NULL ? spare_cap : 0;
    c->pending_len = 0;
    c->sending = 1;
    buf = h2o_iovec_init(c->inflight, c->inflight_len);
    h2o_send(c->req, &buf, 1, H2O_SEND_STATE_IN_PROGRESS);
}

/* Queues text for c. For an aggregate stream, an event replaces whatever is still pending
 * (it supersedes it); otherwise text is appended, and a client that fell MAX_PENDING behind
 * is cut off. */
static void client_push(struct client *c, const char *text, size_t len, int is_event)
{
    size_t need;

    if (c->closing || !c->started)
        return;
    if (is_event && c->replace)
        c->pending_len = 0;
    need = c->pending_len + len;
    if (need > MAX_PENDING) {
        client_end(c, H2O_SEND_STATE_ERROR);
        return;
    }
    if (need > c->pending_cap) {
        size_t cap = need < 512 ? 512 : need * 2;
        char *grown = realloc(c->pending, cap);

        if (grown == NULL) {
            client_end(c, H2O_SEND_STATE_ERROR);
            return;
        }
        c->pending = grown;
        c->pending_cap = cap;
    }
    memcpy(c->pending + c->pending_len, text, len);
    c->pending_len = need;
    client_flush(c);
}

static void on_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
    struct client *c = (struct client *)gen;

    c->sending = 0;
    if (c->closing) {
        h2o_send(c->req, NULL, 0, c->end_state);
        return;
    }
    /* The in-flight buffer is free again; it is reused by the next client_flush. */
    c->inflight_len = 0;
    client_flush(c);
}

static void on_stop(h2o_generator_t *gen, h2o_req_t *req)
{
    /* The request is being disposed of; on_client_dispose frees what the client holds. */
}

static void on_client_dispose(void *p)
{
    struct client *c = p;

    unwatch(c);
    if (h2o_linklist_is_linked(&c->link))
        h2o_linklist_unlink(&c->link);
    if (h2o_linklist_is_linked(&c->all))
        h2o_linklist_unlink(&c->all);
    free(c->pending);
    free(c->inflight);
}

/* The client's socket became readable: EOF or an error means it left. Anything it sends
 * while streaming is discarded. */
static void on_client_read(h2o_socket_t *sock, const char *err)
{
    struct client *c;

    if (err == NULL) {
        h2o_buffer_consume(&sock->input, sock->input->size);
        return;
    }
    for (c = by_sock[sock_slot(sock)]; c != NULL && c->sock != sock; c = c->sock_next)
        ;
    if (c == NULL) {
        h2o_socket_read_stop(sock); /* not ours any more: never spin on an EOF */
        return;
    }
    client_end(c, H2O_SEND_STATE_ERROR);
}

static void watch(struct client *c)
{
    h2o_socket_t *sock = c->req->conn->callbacks->get_socket != NULL ? c->req->conn->callbacks->get_socket(c->req->conn)
                                                                     : NULL;
    size_t slot;

    if (sock == NULL)
        return;
    c->sock = sock;
    slot = sock_slot(sock);
    c->sock_next = by_sock[slot];
    by_sock[slot] = c;
    h2o_socket_read_start(sock, on_client_read);
}

static struct client *new_client(struct markr_live *live, h2o_req_t *req, struct topic *topic)
{
    struct client *c = h2o_mem_alloc_shared(&req->pool, sizeof(*c), on_client_dispose);

    memset(c, 0, sizeof(*c));
    c->gen.proceed = on_proceed;
    c->gen.stop = on_stop;
    c->live = live;
    c->req = req;
    c->topic = topic;
    c->replace = topic != NULL;
    c->sent_version = UINT64_MAX;
    h2o_linklist_insert(topic != NULL ? &topic->streams : &live->events, &c->link);
    return c;
}

/* Sends the headers of the event stream, then first (an event or a comment). */
static void client_start(struct client *c, const char *first, size_t len)
{
    h2o_req_t *req = c->req;

    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("text/event-stream"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-cache"));
    h2o_start_response(req, &c->gen);
    c->started = 1;
    h2o_linklist_insert(&c->live->clients, &c->all);
    watch(c);
    client_push(c, first, len, 1);
}

/* An "aggregate" event of body to c, unless c has it already. */
static void push_aggregate(struct client *c, uint64_t version, const char *body, size_t len)
{
    static const char head[] = "event: aggregate\ndata: ";
    char *event;
    size_t n;

    if (c->sent_version == version)
        return;
    n = sizeof(head) - 1 + len + 2;
    if ((event = malloc(n)) == NULL) {
        client_end(c, H2O_SEND_STATE_ERROR);
        return;
    }
    memcpy(event, head, sizeof(head) - 1);
    memcpy(event + sizeof(head) - 1, body, len);
    memcpy(event + n - 2, "\n\n", 2);
    c->sent_version = version;
    if (!c->started)
        client_start(c, event, n);
    else
        client_push(c, event, n, 1);
    free(event);
}

static void start_refresh(struct markr_live *live, struct topic *t);

static void on_heartbeat(h2o_timeout_entry_t *entry)
{
    struct markr_live *live = H2O_STRUCT_FROM_MEMBER(struct markr_live, heartbeat_entry, entry);
    h2o_linklist_t *node, *next;

    for (node = live->clients.next; node != &live->clients; node = next) {
        next = node->next; /* a push may end (and unlink) the client */
        client_push(H2O_STRUCT_FROM_MEMBER(struct client, all, node), H2O_STRLIT(":\n\n"), 0);
    }
    /* Streams whose last refresh failed (overload, a database error), or whose figures could
     * not be cached (the feed is down), get them computed again: never stale for ever. */
    for (size_t b = 0; b < live->nbuckets; ++b)
        for (struct topic *t = live->buckets[b]; t != NULL; t = t->next)
            if (t->body == NULL && !t->refreshing && !h2o_linklist_is_empty(&t->streams))
                start_refresh(live, t);
    h2o_timeout_link(live->loop, &live->heartbeat, &live->heartbeat_entry);
}

/* --- refresh: the aggregate of a topic, computed once for everyone waiting ---------------- */

static void refresh_run(struct markr_job *job, struct markr_services *services)
{
    struct refresh_job *self = (struct refresh_job *)job;

    self->rc = markr_get_aggregate(&services->results, self->id, self->id_len, &self->aggregate, &self->error);
}

static void refresh_done(struct markr_job *job);

/* Answers everything waiting on t that cannot be answered with figures. */
static void fail_waiting(struct topic *t, const struct markr_error *err)
{
    h2o_linklist_t *node, *next;

    while (!h2o_linklist_is_empty(&t->waiters)) {
        struct waiter *w = H2O_STRUCT_FROM_MEMBER(struct waiter, link, t->waiters.next);

        h2o_linklist_unlink(&w->link);
        markr_http_send_error(w->req, err, 0);
    }
    for (node = t->streams.next; node != &t->streams; node = next) {
        struct client *c = H2O_STRUCT_FROM_MEMBER(struct client, link, node);

        next = node->next;
        if (!c->started) {
            h2o_linklist_unlink(&c->link);
            c->closing = 1;
            markr_http_send_error(c->req, err, 0);
        }
    }
}

static void start_refresh(struct markr_live *live, struct topic *t)
{
    struct refresh_job *job;

    if (t->refreshing || live->closed)
        return;
    if ((job = calloc(1, sizeof(*job))) == NULL)
        goto overloaded;
    job->job.run = refresh_run;
    job->job.done = refresh_done;
    job->live = live;
    job->topic = t;
    job->version = t->version;
    job->epoch = live->epoch;
    memcpy(job->id, t->id, t->id_len);
    job->id_len = t->id_len;
    if (markr_worker_pool_submit(live->pool, &job->job) != 0) {
        free(job);
        goto overloaded;
    }
    t->refreshing = 1;
    return;
overloaded: {
    struct markr_error err;

    markr_error_set(&err, MARKR_ERR_UNAVAILABLE, "overloaded", "too many requests are waiting for the database; retry shortly");
    fail_waiting(t, &err);
}
}

static int has_work(struct topic *t)
{
    return !h2o_linklist_is_empty(&t->waiters) || !h2o_linklist_is_empty(&t->streams);
}

static void refresh_done(struct markr_job *job)
{
    struct refresh_job *self = (struct refresh_job *)job;
    struct markr_live *live = self->live;
    struct topic *t = self->topic;
    h2o_linklist_t *node, *next;
    char *body;
    size_t len;

    t->refreshing = 0;
    if (live->closed) {
        free(self);
        return;
    }
    if (self->version != t->version || self->epoch != live->epoch) {
        /* The test changed while this ran: the figures may predate the change, so they are
         * not cached and a new refresh runs. They are still exact for the requests that came
         * before the change was reported (as a cached answer would have been), so those are
         * answered now: under steady imports nobody waits for ever. */
        if (self->rc == 0 && (body = aggregate_text(&self->aggregate, &len)) != NULL) {
            for (node = t->waiters.next; node != &t->waiters; node = next) {
                struct waiter *w = H2O_STRUCT_FROM_MEMBER(struct waiter, link, node);

                next = node->next;
                if (w->epoch < self->epoch || (w->epoch == self->epoch && w->version <= self->version)) {
                    h2o_linklist_unlink(&w->link);
                    send_body(w->req, body, len);
                }
            }
            free(body);
        }
        free(self);
        if (has_work(t))
            start_refresh(live, t);
        return;
    }
    if (self->rc != 0) {
        fail_waiting(t, &self->error);
        free(self);
        return;
    }
    body = aggregate_text(&self->aggregate, &len);
    free(self);
    if (body == NULL) {
        struct markr_error err;

        markr_error_set(&err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
        fail_waiting(t, &err);
        return;
    }
    while (!h2o_linklist_is_empty(&t->waiters)) {
        struct waiter *w = H2O_STRUCT_FROM_MEMBER(struct waiter, link, t->waiters.next);

        h2o_linklist_unlink(&w->link);
        send_body(w->req, body, len);
    }
    for (node = t->streams.next; node != &t->streams; node = next) {
        next = node->next;
        push_aggregate(H2O_STRUCT_FROM_MEMBER(struct client, link, node), t->version, body, len);
    }
    free(t->body);
    t->body = NULL;
    if (live->enabled) {
        t->body = body;
        t->body_len = len;
    } else {
        free(body);
    }
}

/* --- handlers --------------------------------------------------------------------------------- */

static void on_waiter_dispose(void *p)
{
    struct waiter *w = p;

    if (h2o_linklist_is_linked(&w->link))
        h2o_linklist_unlink(&w->link); /* the client left before the figures came */
}

int markr_live_handle_aggregate(struct markr_live *live, h2o_req_t *req, const struct markr_route_match *match)
{
    struct topic *t;
    struct waiter *w;

    /* Without the feed nothing could tell a cached figure is stale: compute every time. */
    if (!live->enabled || (t = get_topic(live, match->id, match->id_len)) == NULL)
        return markr_handle_aggregate(live->pool, req, match);
    if (t->body != NULL) {
        send_body(req, t->body, t->body_len); /* on the loop: no worker, no database */
        return 0;
    }
    w = h2o_mem_alloc_shared(&req->pool, sizeof(*w), on_waiter_dispose);
    w->req = req;
    w->version = t->version;
    w->epoch = live->epoch;
    w->link.next = w->link.prev = NULL;
    h2o_linklist_insert(&t->waiters, &w->link);
    start_refresh(live, t);
    return 0;
}

/* Streams opened while the server stops would never be served or ended. */
static int refuse_when_closed(struct markr_live *live, h2o_req_t *req)
{
    if (!live->closed)
        return 0;
    markr_http_send_problem(req, 503, "shutting_down", "the server is shutting down");
    return 1;
}

int markr_live_handle_aggregate_stream(struct markr_live *live, h2o_req_t *req, const struct markr_route_match *match)
{
    struct topic *t;
    struct client *c;

    if (refuse_when_closed(live, req))
        return 0;
    if ((t = get_topic(live, match->id, match->id_len)) == NULL)
        return -1;
    c = new_client(live, req, t);
    if (live->enabled && t->body != NULL)
        push_aggregate(c, t->version, t->body, t->body_len);
    else
        start_refresh(live, t); /* the stream starts with the figures, or answers 404 */
    return 0;
}

int markr_live_handle_events(struct markr_live *live, h2o_req_t *req)
{
    static const char hello[] = "retry: 2000\n: markr events\n\n";

    if (refuse_when_closed(live, req))
        return 0;
    client_start(new_client(live, req, NULL), hello, sizeof(hello) - 1);
    return 0;
}

/* --- the feed --------------------------------------------------------------------------------- */

/* Every /events client hears of an import as {"import_id":N,"tests":[...]}, or
 * {"import_id":N,"flush":true}; a change whose import is not known is not announced. */
static void announce(struct markr_live *live, const struct markr_change_event *ev)
{
    json_object *change, *tests;
    const char *text;
    size_t len;
    h2o_linklist_t *node, *next;

    if (ev->import_id < 0 || (change = json_object_new_object()) == NULL)
        return;
    json_object_object_add(change, "import_id", json_object_new_int64(ev->import_id));
    if (ev->flush) {
        json_object_object_add(change, "flush", json_object_new_boolean(1));
    } else if ((tests = json_object_new_array()) != NULL) {
        for (size_t i = 0; i < ev->test_count; ++i)
            json_object_array_add(tests, json_object_new_string(ev->tests[i]));
        json_object_object_add(change, "tests", tests);
    }
    text = json_object_to_json_string_length(change, JSON_C_TO_STRING_PLAIN, &len);
    if (text != NULL) {
        size_t n = strlen("event: import\ndata: ") + len + 2;
        char *event = malloc(n + 1);

        if (event != NULL) {
            snprintf(event, n + 1, "event: import\ndata: %s\n\n", text);
            for (node = live->events.next; node != &live->events; node = next) {
                next = node->next;
                client_push(H2O_STRUCT_FROM_MEMBER(struct client, link, node), event, n, 1);
            }
            free(event);
        }
    }
    json_object_put(change);
}

/* The tests of a change, or every topic when it says flush. */
static void apply_change(struct markr_live *live, const struct markr_change_event *ev)
{
    if (ev->flush) {
        for (size_t b = 0; b < live->nbuckets; ++b)
            for (struct topic *t = live->buckets[b]; t != NULL; t = t->next) {
                invalidate(t);
                if (!h2o_linklist_is_empty(&t->streams))
                    start_refresh(live, t);
            }
    } else {
        for (size_t i = 0; i < ev->test_count; ++i) {
            struct topic *t = find_topic(live, ev->tests[i], strlen(ev->tests[i]));

            if (t == NULL)
                continue;
            invalidate(t);
            if (!h2o_linklist_is_empty(&t->streams))
                start_refresh(live, t);
        }
    }
    announce(live, ev);
}

/* Up or down: either way, what was cached before may have missed changes. */
static void reset_all(struct markr_live *live, int up)
{
    ++live->epoch;
    live->enabled = up;
    for (size_t b = 0; b < live->nbuckets; ++b)
        for (struct topic *t = live->buckets[b]; t != NULL; t = t->next) {
            invalidate(t);
            /* Back up: changes may have been missed meanwhile, so streams get fresh figures. */
            if (up && !h2o_linklist_is_empty(&t->streams))
                start_refresh(live, t);
        }
}

static void on_feed_messages(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    struct markr_live *live = H2O_STRUCT_FROM_MEMBER(struct markr_live, receiver, receiver);

    while (!h2o_linklist_is_empty(messages)) {
        struct feed_message *m = H2O_STRUCT_FROM_MEMBER(struct feed_message, super.link, messages->next);

        h2o_linklist_unlink(&m->super.link);
        if (!live->closed) {
            if (m->kind == FEED_CHANGED)
                apply_change(live, &m->event);
            else
                reset_all(live, m->kind == FEED_UP);
            if (m->kind != FEED_CHANGED)
                fprintf(stderr, "markr: change feed %s\n", m->kind == FEED_UP ? "up: aggregate cache on"
                                                                              : "down: aggregate cache off");
        }
        free(m);
    }
}

static const struct markr_change_event flush_all = {.import_id = -1, .flush = 1};

/* On the feed's thread: event (when not NULL) is copied into the message, its test ids
 * with it. */
static void post(struct markr_live *live, int kind, const struct markr_change_event *event)
{
    size_t count = event != NULL && !event->flush ? event->test_count : 0, size = sizeof(struct feed_message);
    struct feed_message *m;
    char *bytes;

    for (size_t i = 0; i < count; ++i)
        size += sizeof(m->tests[0]) + strlen(event->tests[i]) + 1;
    if ((m = calloc(1, size)) == NULL) {
        if (kind == FEED_CHANGED && event != &flush_all) /* a change must not be lost: say everything changed */
            post(live, FEED_CHANGED, &flush_all);
        return;
    }
    m->kind = kind;
    if (event != NULL) {
        m->event = *event;
        m->event.tests = m->tests;
        m->event.test_count = count;
    }
    bytes = (char *)(m->tests + count);
    for (size_t i = 0; i < count; ++i) {
        size_t len = strlen(event->tests[i]) + 1;

        memcpy(bytes, event->tests[i], len);
        m->tests[i] = bytes;
        bytes += len;
    }
    h2o_multithread_send_message(&live->receiver, &m->super);
}

static void sink_up(void *ctx)
{
    post(ctx, FEED_UP, NULL);
}

static void sink_down(void *ctx)
{
    post(ctx, FEED_DOWN, NULL);
}

static void sink_changed(void *ctx, const struct markr_change_event *event)
{
    post(ctx, FEED_CHANGED, event);
}

static void *feed_main(void *arg)
{
    struct markr_live *live = arg;

    live->feed.run(live->feed.ctx, &live->sink);
    return NULL;
}

/* --- life cycle ------------------------------------------------------------------------------ */

struct markr_live *markr_live_create(h2o_loop_t *loop, struct markr_worker_pool *pool,
                                     const struct markr_change_feed *feed)
{
    struct markr_live *live = calloc(1, sizeof(*live));
    struct rlimit files;

    if (live == NULL)
        return NULL;
    live->nbuckets = 4096;
    if ((live->buckets = calloc(live->nbuckets, sizeof(*live->buckets))) == NULL) {
        free(live);
        return NULL;
    }
    live->loop = loop;
    live->pool = pool;
    h2o_linklist_init_anchor(&live->events);
    h2o_linklist_init_anchor(&live->clients);
    h2o_timeout_init(loop, &live->heartbeat, HEARTBEAT_MS);
    live->heartbeat_entry.cb = on_heartbeat;
    h2o_timeout_link(loop, &live->heartbeat, &live->heartbeat_entry);
    live->queue = h2o_multithread_create_queue(loop);
    h2o_multithread_register_receiver(live->queue, &live->receiver, on_feed_messages);
    /* Every stream client is a descriptor: allow as many as the hard limit does. */
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        setrlimit(RLIMIT_NOFILE, &files);
    }
    if (feed != NULL) {
        live->feed = *feed;
        live->sink = (struct markr_change_sink){.ctx = live, .up = sink_up, .down = sink_down, .changed = sink_changed};
        if (pthread_create(&live->thread, NULL, feed_main, live) != 0) {
            markr_live_destroy(live);
            return NULL;
        }
        live->has_feed = 1;
    }
    return live;
}

void markr_live_shutdown(struct markr_live *live)
{
    struct markr_error err;

    if (live->closed)
        return;
    if (live->has_feed) {
        live->feed.stop(live->feed.ctx);
        pthread_join(live->thread, NULL);
        live->has_feed = 0;
    }
    markr_error_set(&err, MARKR_ERR_UNAVAILABLE, "shutting_down", "the server is stopping; retry shortly");
    for (size_t b = 0; b < live->nbuckets; ++b)
        for (struct topic *t = live->buckets[b]; t != NULL; t = t->next)
            fail_waiting(t, &err);
    while (!h2o_linklist_is_empty(&live->clients))
        client_end(H2O_STRUCT_FROM_MEMBER(struct client, all, live->clients.next), H2O_SEND_STATE_FINAL);
    live->closed = 1;
    live->enabled = 0;
}

void markr_live_destroy(struct markr_live *live)
{
    if (live == NULL)
        return;
    markr_live_shutdown(live);
    if (h2o_timeout_is_linked(&live->heartbeat_entry))
        h2o_timeout_unlink(&live->heartbeat_entry);
    h2o_timeout_dispose(live->loop, &live->heartbeat);
    /* Messages the feed posted before it stopped (its thread is joined): freed unread. */
    on_feed_messages(&live->receiver, &live->receiver._messages);
    h2o_multithread_unregister_receiver(live->queue, &live->receiver);
    h2o_multithread_destroy_queue(live->queue);
    for (size_t b = 0; b < live->nbuckets; ++b)
        while (live->buckets[b] != NULL) {
            struct topic *t = live->buckets[b];

            live->buckets[b] = t->next;
            free_topic(t);
        }
    free(live->buckets);
    free(live);
}
