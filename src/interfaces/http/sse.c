/*
 * Server-Sent Events (ADR 0013). h2o writes to each client without blocking; a client holds
 * at most one send in flight plus a bounded pending buffer. An aggregate stream keeps only
 * the newest event pending (older figures are superseded), the /events stream appends, and
 * a client whose pending buffer would pass MAX_PENDING is cut off: a slow client costs its
 * own memory only, never the others' time, and only until it falls behind: cutting it off
 * aborts its connection (abort_connection), since ending its response would wait for a send
 * that a client that does not read never completes. h2o 2.2.5 stops reading a connection while its
 * request is answered, so a stream also watches its socket for EOF itself: a client that
 * leaves is cleaned up at once, not at the next write.
 *
 * The state of a loop's streams (its started clients, and a table of their sockets) is kept
 * in the h2o context's storage, the way h2o's own modules keep per-context state that no
 * handler pointer leads to: a socket's read callback is given only the socket, whose data is
 * the HTTP/1 connection, and the connection knows its context.
 *
 * A send that makes no progress for MARKR_WRITE_TIMEOUT_MS (the client stopped reading and
 * its socket is full) closes the connection (write_watch.h): a cut-off client's end waits for
 * its send in flight, which would otherwise never complete.
 */
#include "sse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "interfaces/observe/metrics.h"
#include "representation.h"
#include "responses.h"
#include "write_watch.h"

#define MAX_PENDING (256 * 1024) /* bytes a client may fall behind before it is cut off */
#define SOCK_BUCKETS 4096

struct markr_sse_client {
    h2o_generator_t gen; /* first: h2o hands it back */
    h2o_linklist_t link; /* in the caller's list */
    h2o_linklist_t all;  /* in sse->clients once started, for the heartbeat */
    struct markr_sse *sse;
    h2o_req_t *req;
    h2o_socket_t *sock; /* watched for EOF once started; NULL otherwise */
    struct markr_sse_client *sock_next;
    int started, sending, closing, replace;
    h2o_send_state_t end_state; /* for an end deferred until the send in flight completes */
    uint64_t sent_version;
    char *inflight;
    size_t inflight_len, inflight_cap;
    char *pending;
    size_t pending_len, pending_cap;
    struct markr_write_watch watch; /* armed while a send is in flight */
};

struct markr_sse {
    h2o_context_t *ctx;
    h2o_timeout_t *write_timeout; /* the loop's, for every client's send in flight */
    h2o_linklist_t clients; /* every started client */
    size_t open;            /* started clients whose request is not yet disposed of */
    /* Started clients by socket: h2o's read callback gives only the socket. */
    struct markr_sse_client *by_sock[SOCK_BUCKETS];
};

/* Where every context keeps its struct markr_sse: an index into the contexts' storage, the
 * same in all of them, handed out by h2o on first use. */
static size_t storage_key = SIZE_MAX;

static void **storage_of(h2o_context_t *ctx)
{
    return h2o_context_get_storage(ctx, &storage_key, NULL);
}

struct markr_sse *markr_sse_create(h2o_context_t *ctx, h2o_timeout_t *write_timeout)
{
    struct markr_sse *sse = calloc(1, sizeof(*sse));

    if (sse == NULL)
        return NULL;
    sse->ctx = ctx;
    sse->write_timeout = write_timeout;
    h2o_linklist_init_anchor(&sse->clients);
    *storage_of(ctx) = sse;
    return sse;
}

void markr_sse_destroy(struct markr_sse *sse)
{
    if (sse == NULL)
        return;
    *storage_of(sse->ctx) = NULL;
    free(sse);
}

/* --- watching for EOF ------------------------------------------------------------------------- */

static size_t sock_slot(const h2o_socket_t *sock)
{
    return ((uintptr_t)sock >> 4) % SOCK_BUCKETS;
}

static void unwatch(struct markr_sse_client *c)
{
    struct markr_sse_client **p;

    if (c->sock == NULL)
        return;
    h2o_socket_read_stop(c->sock);
    h2o_socket_dont_read(c->sock, 0); /* h2o reads the connection's next request itself */
    for (p = &c->sse->by_sock[sock_slot(c->sock)]; *p != NULL; p = &(*p)->sock_next) {
        if (*p == c) {
            *p = c->sock_next;
            break;
        }
    }
    c->sock = NULL;
}

static void client_end(struct markr_sse_client *c, h2o_send_state_t state);

/* Reads what the client sent from its socket into a scratch buffer and drops it, at most
 * READ_ROUNDS times READ_BYTES per readiness (h2o polls level-triggered: what is left is
 * reported again). Returns 1 when the client has left (EOF or an error), else 0. */
#define READ_BYTES 4096
#define READ_ROUNDS 16
static int client_gone(h2o_socket_t *sock)
{
    char scratch[READ_BYTES];
    int fd = h2o_socket_get_fd(sock);

    for (int round = 0; round < READ_ROUNDS; ++round) {
        ssize_t n = recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT);

        if (n == 0)
            return 1;
        if (n < 0)
            return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
    }
    return 0;
}

/* The client's socket became readable: EOF or an error means it left. Anything it sends
 * while streaming is discarded. h2o does not read this socket meanwhile (watch): the
 * request's method, path and headers point into h2o's input buffer until the response
 * ends, and a read into that buffer can move it, or consuming it free it. */
static void on_client_read(h2o_socket_t *sock, const char *err)
{
    h2o_conn_t *conn = sock->data; /* watch checked that it is the connection of the stream */
    struct markr_sse *sse;
    struct markr_sse_client *c = NULL;

    if (err == NULL && !client_gone(sock))
        return;
    if ((sse = *storage_of(conn->ctx)) != NULL)
        for (c = sse->by_sock[sock_slot(sock)]; c != NULL && c->sock != sock; c = c->sock_next)
            ;
    if (c == NULL) {
        h2o_socket_read_stop(sock); /* not ours any more: never spin on an EOF */
        return;
    }
    client_end(c, H2O_SEND_STATE_ERROR);
}

static void watch(struct markr_sse_client *c)
{
    h2o_conn_t *conn = c->req->conn;
    h2o_socket_t *sock = conn->callbacks->get_socket != NULL ? conn->callbacks->get_socket(conn) : NULL;
    size_t slot;

    /* The read callback finds the stream through the socket's data, which h2o 2.2.5's HTTP/1
     * sets to the connection; a socket that says otherwise, or one under TLS (whose bytes
     * only h2o may read), is left alone: its client's departure is then noticed at the next
     * write. */
    if (sock == NULL || sock->data != (void *)conn || sock->ssl != NULL || h2o_socket_get_fd(sock) < 0)
        return;
    c->sock = sock;
    slot = sock_slot(sock);
    c->sock_next = c->sse->by_sock[slot];
    c->sse->by_sock[slot] = c;
    /* Told when the socket is readable, without h2o reading it (on_client_read reads). */
    h2o_socket_dont_read(sock, 1);
    h2o_socket_read_start(sock, on_client_read);
}

/* --- sending ---------------------------------------------------------------------------------- */

/* Fails the connection of sock now, whatever it still has to send. h2o 2.2.5 has no call for
 * it, and its write in flight points into the client's buffer, so h2o must be the one to
 * close: shutdown makes the socket ready and that write fail at the loop's next poll, on
 * which h2o closes the connection and disposes of the request (on_client_dispose frees the
 * rest). SO_LINGER 0 makes that close a reset, so the kernel drops at once what it still
 * held for a client that does not read, instead of keeping it queued behind a zero window. */
static void abort_connection(h2o_socket_t *sock)
{
    struct linger reset = {.l_onoff = 1, .l_linger = 0};
    int fd = h2o_socket_get_fd(sock);

    if (fd < 0)
        return;
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
    shutdown(fd, SHUT_RDWR);
}

/* Ends the response (state FINAL or ERROR). With a send in flight, a FINAL end waits for it
 * to complete; an ERROR end does not wait: the pending text is freed and the connection
 * aborted. Only a connection watched (HTTP/1, its own socket) can be aborted; another one
 * ends when its send completes. */
static void client_end(struct markr_sse_client *c, h2o_send_state_t state)
{
    h2o_socket_t *sock = c->sock;

    if (c->closing)
        return;
    c->closing = 1;
    c->end_state = state;
    if (c->sending && state == H2O_SEND_STATE_ERROR) {
        free(c->pending); /* not h2o's: only the in-flight buffer is */
        c->pending = NULL;
        c->pending_len = c->pending_cap = 0;
        if (sock != NULL)
            abort_connection(sock);
    }
    unwatch(c);
    if (h2o_linklist_is_linked(&c->link))
        h2o_linklist_unlink(&c->link);
    if (h2o_linklist_is_linked(&c->all))
        h2o_linklist_unlink(&c->all);
    if (!c->sending)
        h2o_send(c->req, NULL, 0, state);
}

static void client_flush(struct markr_sse_client *c)
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
    markr_write_watch_arm(&c->watch, c->sse->write_timeout, c->req);
    h2o_send(c->req, &buf, 1, H2O_SEND_STATE_IN_PROGRESS);
}

/* Queues the parts of one text for c. For a replacing client, an event replaces whatever is
 * still pending (it supersedes it); otherwise text is appended, and a client that fell
 * MAX_PENDING behind is cut off. */
static void client_push(struct markr_sse_client *c, const h2o_iovec_t *parts, size_t n, int is_event)
{
    size_t need;

    if (c->closing || !c->started)
        return;
    if (is_event && c->replace)
        c->pending_len = 0;
    need = c->pending_len;
    for (size_t i = 0; i < n; ++i)
        need += parts[i].len;
    if (need > MAX_PENDING) {
        markr_metrics_stream_client_cut();
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
    for (size_t i = 0; i < n; ++i) {
        memcpy(c->pending + c->pending_len, parts[i].base, parts[i].len);
        c->pending_len += parts[i].len;
    }
    client_flush(c);
}

static void on_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
    struct markr_sse_client *c = (struct markr_sse_client *)gen;

    c->sending = 0;
    markr_write_watch_disarm(&c->watch);
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
    struct markr_sse_client *c = p;

    if (c->started)
        --c->sse->open;
    markr_write_watch_disarm(&c->watch);
    unwatch(c);
    if (h2o_linklist_is_linked(&c->link))
        h2o_linklist_unlink(&c->link);
    if (h2o_linklist_is_linked(&c->all))
        h2o_linklist_unlink(&c->all);
    free(c->pending);
    free(c->inflight);
}

/* Sends the headers of the event stream, then the parts of a first text. */
static void client_start(struct markr_sse_client *c, const h2o_iovec_t *parts, size_t n)
{
    h2o_req_t *req = c->req;

    markr_http_no_compression(req); /* each event goes out as written, readable by any proxy */
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("text/event-stream"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-cache"));
    h2o_start_response(req, &c->gen);
    if (markr_http_is_head(req)) { /* the stream's headers, and no stream */
        c->closing = 1;
        if (h2o_linklist_is_linked(&c->link))
            h2o_linklist_unlink(&c->link);
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
        return;
    }
    /* The connection ends with the stream: what the client sent meanwhile was dropped unread
     * (on_client_read), so nothing after it may be taken for its next request. */
    req->http1_is_persistent = 0;
    c->started = 1;
    ++c->sse->open;
    h2o_linklist_insert(&c->sse->clients, &c->all);
    watch(c);
    client_push(c, parts, n, 1);
}

/* --- the API ---------------------------------------------------------------------------------- */

struct markr_sse_client *markr_sse_client_create(struct markr_sse *sse, h2o_req_t *req, h2o_linklist_t *list,
                                                 int replace)
{
    struct markr_sse_client *c = h2o_mem_alloc_shared(&req->pool, sizeof(*c), on_client_dispose);

    memset(c, 0, sizeof(*c));
    markr_write_watch_init(&c->watch);
    c->gen.proceed = on_proceed;
    c->gen.stop = on_stop;
    c->sse = sse;
    c->req = req;
    c->replace = replace;
    c->sent_version = MARKR_SSE_UNVERSIONED;
    if (list != NULL)
        h2o_linklist_insert(list, &c->link);
    return c;
}

struct markr_sse_client *markr_sse_client_of(h2o_linklist_t *link)
{
    return H2O_STRUCT_FROM_MEMBER(struct markr_sse_client, link, link);
}

void markr_sse_start(struct markr_sse_client *c, const char *text, size_t len)
{
    h2o_iovec_t part = h2o_iovec_init(text, len);

    client_start(c, &part, 1);
}

void markr_sse_send_event(struct markr_sse_client *c, uint64_t version, const char *name, const char *data,
                          size_t len)
{
    h2o_iovec_t parts[] = {h2o_iovec_init(H2O_STRLIT("event: ")), h2o_iovec_init(name, strlen(name)),
                           h2o_iovec_init(H2O_STRLIT("\ndata: ")), h2o_iovec_init(data, len),
                           h2o_iovec_init(H2O_STRLIT("\n\n"))};

    if (c->closing || (version != MARKR_SSE_UNVERSIONED && c->sent_version == version))
        return;
    c->sent_version = version;
    if (!c->started)
        client_start(c, parts, sizeof(parts) / sizeof(parts[0]));
    else
        client_push(c, parts, sizeof(parts) / sizeof(parts[0]), 1);
}

void markr_sse_refuse(struct markr_sse_client *c, const struct markr_error *err)
{
    if (c->started || c->closing)
        return;
    if (h2o_linklist_is_linked(&c->link))
        h2o_linklist_unlink(&c->link);
    c->closing = 1;
    markr_http_send_error(c->req, err, 0);
}

size_t markr_sse_open(const struct markr_sse *sse)
{
    return sse->open;
}

void markr_sse_heartbeat(struct markr_sse *sse)
{
    static const h2o_iovec_t comment = {H2O_STRLIT(":\n\n")};
    h2o_linklist_t *node, *next;

    for (node = sse->clients.next; node != &sse->clients; node = next) {
        next = node->next; /* a push may end (and unlink) the client */
        client_push(H2O_STRUCT_FROM_MEMBER(struct markr_sse_client, all, node), &comment, 1, 0);
    }
}

void markr_sse_end_all(struct markr_sse *sse)
{
    while (!h2o_linklist_is_empty(&sse->clients))
        client_end(H2O_STRUCT_FROM_MEMBER(struct markr_sse_client, all, sse->clients.next), H2O_SEND_STATE_FINAL);
}
