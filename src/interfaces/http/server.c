/*
 * Start-up, dispatch and shutdown of the HTTP adapter. h2o 2.2.5 with its own event loop:
 * one h2o_context on one loop thread; every database call happens on a worker thread, so
 * the loop only parses, routes and writes, and /health answers whatever the database does.
 * Requests reach their endpoint through the route table (routes.c); what an endpoint needs
 * of the server (settings, pool, live state) it finds in the handler h2o passes to on_req.
 */
#include "server.h"

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include <sys/signalfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <h2o.h>

#include "cors_http.h"
#include "framing.h"
#include "handlers.h"
#include "interfaces/observe/log.h"
#include "observe_http.h"
#include "representation.h"
#include "live.h"
#include "http_job.h"
#include "responses.h"
#include "query.h"
#include "router.h"
#include "target.h"
#include "worker_pool.h"

struct server {
    h2o_globalconf_t config;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_evloop_t *loop;
    /* The caller's settings, copied; endpoints read them through the handler. Their strings
     * stay the caller's: markr_http_serve returns only once the server has stopped. */
    struct markr_http_settings settings;
    struct markr_http_handler *handler; /* made by h2o_create_handler; points at settings */
    struct markr_allowed_hosts default_hosts; /* when the caller gave no list */
    h2o_socket_t *listener;
    h2o_socket_t *signals;
    int stopping;
    size_t connections;     /* open client connections */
    size_t max_connections; /* more are closed as soon as they are accepted */
    h2o_timeout_t write_timeout; /* MARKR_WRITE_TIMEOUT_MS, on the loop (write_watch.h) */
};

/* After the shutdown timeout, how long abandoned jobs get to come back with their errors. */
#define ABANDON_GRACE_MS 5000
/* For settings that leave the write timeout out (0). */
#define DEFAULT_WRITE_TIMEOUT_MS 30000
/* For settings that leave the download cap out (0). */
#define DEFAULT_MAX_DOWNLOADS 16

static size_t header_bytes(const h2o_req_t *req)
{
    size_t n = req->path.len;

    for (size_t i = 0; i < req->headers.size; ++i)
        n += req->headers.entries[i].name->len + req->headers.entries[i].value.len + 4;
    return n;
}

/* Whether the route's access level lets the request in (auth.h, ADR 0021); answers it when
 * not. The Authorization header is read here only, and never logged. */
static int admitted(const struct markr_http_settings *settings, h2o_req_t *req, enum markr_access level)
{
    ssize_t h = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    h2o_iovec_t value = h >= 0 ? req->headers.entries[h].value : h2o_iovec_init(NULL, 0);

    if (level == MARKR_ACCESS_IMPORT && settings->import_allow.count != 0) {
        struct sockaddr_storage peer;
        socklen_t len = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&peer);

        if (len == 0 || !markr_cidr_list_contains(&settings->import_allow, (struct sockaddr *)&peer, len)) {
            markr_http_send_problem(req, 403, "forbidden", "imports are not accepted from this address");
            return 0;
        }
    }
    switch (markr_access_decide(&settings->access, level, value.base, value.len)) {
    case MARKR_ACCESS_ALLOWED:
        return 1;
    case MARKR_ACCESS_HIDDEN:
        markr_http_send_problem(req, 404, "not_found", "no such resource");
        return 0;
    case MARKR_ACCESS_FORBIDDEN:
        markr_http_send_problem(req, 403, "forbidden", "this token may not use this resource");
        return 0;
    case MARKR_ACCESS_UNAUTHORIZED:
        break;
    }
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE, NULL,
                   H2O_STRLIT("Bearer realm=\"markr\""));
    markr_http_send_problem(req, 401, "unauthorized", "this resource needs Authorization: Bearer <token>");
    return 0;
}

/* Answers the checks every route shares, then hands the request to its route's handler.
 * Returns what the handler returns, or 0 when answered here. */
static int dispatch(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match)
{
    char message[256];
    int readers_protected = handler->settings->access.readers.count != 0;

    if (header_bytes(req) > handler->settings->max_header_bytes) {
        markr_http_send_problem(req, 431, "headers_too_large", "the request's target and headers are too large");
        return 0;
    }
    if (match->number == MARKR_ROUTE_UNMATCHED) {
        markr_http_send_problem(req, 404, "not_found", "no such resource");
        return 0;
    }
    if (match->number == MARKR_ROUTE_BAD_PATH) {
        markr_http_send_problem(req, 400, "bad_path", "the path has a malformed percent-escape or an over-long id");
        return 0;
    }
    /* A route that does not exist for this server (the admin route while no operator token
     * exists) is 404 to every method: its Allow (405, OPTIONS) would tell it is there. */
    if (markr_access_decide(&handler->settings->access, match->route->access, NULL, 0) == MARKR_ACCESS_HIDDEN) {
        markr_http_send_problem(req, 404, "not_found", "no such resource");
        return 0;
    }
    if (!markr_route_allows(match->route, req->method.base, req->method.len)) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, match->allow, strlen(match->allow));
        markr_http_send_problem(req, 405, "method_not_allowed", "that method is not allowed on this resource");
        return 0;
    }
    /* Before access: a browser's preflight carries no token, and a page of another origin
     * that may read an answer may read its refusal (401, 403) too. */
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("OPTIONS"))) {
        markr_http_answer_options(&handler->settings->cors, readers_protected, req, match);
        return 0;
    }
    markr_http_cors_headers(&handler->settings->cors, readers_protected, req, match->route);
    if (!admitted(handler->settings, req, match->route->access))
        return 0;
    if (markr_query_check(req->path.base, req->path.len, match->route->params, message, sizeof(message)) != 0) {
        markr_http_send_problem(req, 400, "bad_query", message);
        return 0;
    }
    return match->route->handler(handler, req, match);
}

/* Request smuggling (ADR 0023). h2o 2.2.5 frames a body by the first Content-Length, or by a
 * Transfer-Encoding over any Content-Length, and keeps neither header where a handler sees
 * them; it has stopped reading the connection while the request is handled, and its head
 * still starts the connection's input buffer (h2o consumes it only once the answer is
 * sent). So the head is read again there, and a request framed ambiguously is refused and
 * its connection closed: what follows its body is never read as a request. A body keeps
 * its connection only when it was framed by one Content-Length of plain digits, the one
 * framing every HTTP/1.1 parser (a proxy in front included) reads alike, and h2o read the
 * same length; after any other body (chunked: a proxy that ignores Transfer-Encoding reads
 * the chunks as requests) the connection closes after the answer, so a disagreement that
 * cannot be seen here cannot smuggle a request either. Returns 1 when the request was
 * answered. */
static int framing_refused(h2o_req_t *req)
{
    h2o_socket_t *sock;
    enum markr_framing_verdict verdict;
    struct markr_framing_body body;

    if (req->version >= 0x200 || req->conn->callbacks->get_socket == NULL ||
        (sock = req->conn->callbacks->get_socket(req->conn)) == NULL)
        return 0; /* not HTTP/1 (h2o here speaks only HTTP/1.1; kept for safety) */
    verdict = markr_framing_check(sock->input->bytes, sock->input->size, &body);
    if (req->entity.base == NULL ? body.kind != MARKR_FRAMING_NO_BODY
                                 : body.kind != MARKR_FRAMING_PLAIN_LENGTH || body.length != req->entity.len)
        req->http1_is_persistent = 0;
    if (verdict == MARKR_FRAMING_OK)
        return 0;
    req->http1_is_persistent = 0;
    markr_http_send_problem(req, 400, "ambiguous_framing", markr_framing_problem(verdict));
    return 1;
}

/* A target in absolute form (target.h) becomes the path it names, and its authority the
 * request's in place of the Host header's, before anything reads either. Returns -1 for a
 * malformed one (answered 400 once the request is counted), else 0. */
static int read_target(h2o_req_t *req)
{
    struct markr_target t;

    switch (markr_target_read(req->path.base, req->path.len, &t)) {
    case MARKR_TARGET_AS_IS:
        return 0;
    case MARKR_TARGET_ABSOLUTE:
        req->input.authority = h2o_iovec_init(t.authority, t.authority_len);
        req->path = t.rest_len != 0 && t.rest[0] == '/'
                        ? h2o_iovec_init(t.rest, t.rest_len)
                        : h2o_concat(&req->pool, h2o_iovec_init(H2O_STRLIT("/")), h2o_iovec_init(t.rest, t.rest_len));
        return 0;
    default:
        return -1;
    }
}

/* Every request is answered here, even when a handler cannot start (out of memory): h2o's
 * own fallback would drop the request id, and the request would stay counted in flight.
 * The route is matched once, here; the log line names the same match. */
static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    struct markr_http_handler *handler = (struct markr_http_handler *)self;
    struct markr_route_match match;
    int bad_target = read_target(req) != 0;

    markr_route_match(markr_routes, req->path.base, req->path.len, &match);
    markr_http_request_begin(req, match.number); /* request id, in flight, the route for the log */
    if (framing_refused(req))
        return 0;
    if (bad_target) {
        markr_http_send_problem(req, 400, "bad_request_target",
                                "an absolute request target needs a host, without user info or a fragment");
        return 0;
    }
    /* Before any route, /health included: a name we do not serve under is a rebound one
     * (DNS rebinding) or a mistake. h2o puts Host (HTTP/1) or :authority (HTTP/2) here. */
    if (!markr_host_allowed(handler->settings->allowed_hosts, req->input.authority.base, req->input.authority.len)) {
        markr_http_send_problem(req, 421, "misdirected_request", "this server does not answer to that Host");
        return 0;
    }
    if (dispatch(handler, req, &match) != 0)
        markr_http_send_problem(req, 500, "internal_error", "the request could not be handled; retry shortly");
    return 0;
}

static void on_connection_closed(void *data)
{
    struct server *server = data;

    --server->connections;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    struct server *server = listener->data;
    h2o_socket_t *sock;

    if (err != NULL || (sock = h2o_evloop_socket_accept(listener)) == NULL)
        return;
    /* A bounded number of connections; one more is closed at once (clients see a reset and
     * retry), so a flood cannot exhaust descriptors or memory. */
    if (server->connections >= server->max_connections) {
        h2o_socket_close(sock);
        return;
    }
    ++server->connections;
    sock->on_close.cb = on_connection_closed;
    sock->on_close.data = server;
    h2o_accept(&server->accept_ctx, sock);
}

static void on_signal(h2o_socket_t *sock, const char *err)
{
    struct server *server = sock->data;

    if (err != NULL) {
        /* Without the signalfd no stop signal could reach us any more: stop now, and say why. */
        markr_log(MARKR_LOG_ERROR, "reading stop signals failed; shutting down", "error", err, NULL);
        h2o_socket_read_stop(sock);
        server->stopping = 1;
        return;
    }
    /* h2o has read the signalfd's records into sock->input; any of them means: stop. */
    h2o_buffer_consume(&sock->input, sock->input->size);
    server->stopping = 1;
}

/* Binds and listens on host:port; logs the bound address (msg=listening addr=HOST:PORT) and
 * keeps it in address (cap bytes; the requested one when the system cannot name it).
 * Returns the fd or -1. */
static int open_listener(const struct markr_http_settings *settings, char *address, size_t cap,
                         struct markr_error *err)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res;
    int fd = -1, on = 1, rc;

    if ((rc = getaddrinfo(settings->host, settings->port, &hints, &res)) != 0) {
        markr_error_set(err, MARKR_ERR_BAD_REQUEST, "bad_listen", "MARKR_LISTEN: cannot resolve %s:%s: %s",
                        settings->host, settings->port, gai_strerror(rc));
        return -1;
    }
    if ((fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
        markr_error_set(err, MARKR_ERR_UNAVAILABLE, "listen_failed", "MARKR_LISTEN: cannot listen on %s:%s: %s",
                        settings->host, settings->port, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    snprintf(address, cap, "%s:%s", settings->host, settings->port);
    {
        struct sockaddr_storage bound;
        socklen_t len = sizeof(bound);
        char host[NI_MAXHOST], port[NI_MAXSERV];

        if (getsockname(fd, (struct sockaddr *)&bound, &len) == 0 &&
            getnameinfo((struct sockaddr *)&bound, len, host, sizeof(host), port, sizeof(port),
                        NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
            snprintf(address, cap, "%s:%s", host, port);
            markr_log(MARKR_LOG_INFO, "listening", "addr", address, NULL);
        }
    }
    return fd;
}

/* Stop signals are taken from a signalfd on the loop rather than by a handler, so that
 * shutdown runs as ordinary loop code. Workers inherit the blocked mask. */
static int open_signals(struct server *server, struct markr_error *err)
{
    sigset_t mask;
    int fd;

    /* A parent may have left these ignored (nohup, some shells): blocked and read from the
     * signalfd they must be pending, not discarded. */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    if (pthread_sigmask(SIG_BLOCK, &mask, NULL) != 0 || (fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
        return markr_error_set(err, MARKR_ERR_INTERNAL, "signals", "cannot set up signal handling: %s",
                               strerror(errno));
    signal(SIGPIPE, SIG_IGN);
    server->signals = h2o_evloop_socket_create(server->loop, fd, 0);
    server->signals->data = server;
    h2o_socket_read_start(server->signals, on_signal);
    return 0;
}

static void configure(struct server *server, const struct markr_http_settings *settings)
{
    h2o_hostconf_t *hostconf;
    h2o_pathconf_t *pathconf;

    server->settings = *settings;
    if (settings->allowed_hosts == NULL) {
        markr_allowed_hosts_default(&server->default_hosts, settings->host);
        server->settings.allowed_hosts = &server->default_hosts;
    }
    h2o_config_init(&server->config);
    /* One limit for every body (ADR 0016): h2o 2.2.5 refuses a larger Content-Length with
     * 413 as soon as the headers are in, before reading a byte of the body, and reads a
     * chunked one only up to it. It cannot depend on Prefer (handlers see a request only once
     * its body is read whole), so the asynchronous limit may only be lower; the import
     * handler checks it. */
    server->config.max_request_entity_size = settings->max_body_bytes;
    markr_http_set_buffered_cap(settings->max_buffered_bytes);
    server->config.server_name = h2o_iovec_init(H2O_STRLIT("markr"));
    /* h2o 2.2.5 bounds the whole reading of a request (line, headers and body) from its
     * first byte, and the wait for the next request of a keep-alive connection: a client
     * trickling bytes is closed when it runs out. */
    server->config.http1.req_timeout = settings->request_timeout_ms;
    /* HTTP/1.1 only: over cleartext HTTP/2 (h2o's default upgrade) the request timeout above
     * would not apply, and one connection could hold 100 slow requests. */
    server->config.http1.upgrade_to_http2 = 0;
    server->max_connections = settings->max_connections;
    if (server->settings.max_downloads == 0)
        server->settings.max_downloads = DEFAULT_MAX_DOWNLOADS;
    hostconf = h2o_config_register_host(&server->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    pathconf = h2o_config_register_path(hostconf, "/", 0);
    server->handler = (struct markr_http_handler *)h2o_create_handler(pathconf, sizeof(*server->handler));
    server->handler->super.on_req = on_req;
    server->handler->settings = &server->settings;
    server->handler->connections = &server->connections;
    markr_http_register_error_filter(pathconf);
    markr_http_register_logger(pathconf);
    markr_http_register_compression(pathconf); /* gzip over 1 KiB (representation.h) */
    /* h2o answers some errors (413, broken framing) before routing, on the fallback path. */
    markr_http_register_error_filter(&hostconf->fallback_path);
    markr_http_register_logger(&hostconf->fallback_path);
}

/* More connections than descriptors would make accept fail over and over (the listener
 * stays readable): keep the limit below the process's descriptor limit, and say so. */
static void clamp_connections(struct server *server)
{
    struct rlimit nofile;
    const size_t reserve = 64; /* the listener, signals, database connections, logs */

    if (getrlimit(RLIMIT_NOFILE, &nofile) != 0 || nofile.rlim_cur == RLIM_INFINITY ||
        server->max_connections + reserve <= nofile.rlim_cur)
        return;
    server->max_connections = nofile.rlim_cur > reserve ? nofile.rlim_cur - reserve : 1;
    {
        char limit[24];

        snprintf(limit, sizeof(limit), "%zu", server->max_connections);
        markr_log(MARKR_LOG_WARN, "MARKR_MAX_CONNECTIONS lowered to fit the open-file limit", "connections", limit,
                  NULL);
    }
}

/* Runs the loop until every job has come back, or for at most timeout_ms. Returns 0 when
 * they all came back, -1 at the timeout. */
static int drain(struct server *server, struct markr_worker_pool *pool, long timeout_ms)
{
    struct timespec start, now;

    clock_gettime(CLOCK_MONOTONIC, &start);
    while (markr_worker_pool_pending(pool) != 0) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >= timeout_ms)
            return -1;
        h2o_evloop_run(server->loop, 100);
    }
    return 0;
}

int markr_http_serve(const struct markr_http_settings *settings, const struct markr_service_factory *factory,
                     struct markr_error *err)
{
    static struct server server; /* one per process; static so it outlives every callback */
    struct markr_worker_pool *pool;
    int fd, abandoned = 0;
    char address[NI_MAXHOST + NI_MAXSERV + 2];

    memset(&server, 0, sizeof(server));
    markr_http_observe_init();
    markr_http_hash_assets(); /* the compiled-in files' ETags, once, before any request */
    configure(&server, settings);
    server.loop = h2o_evloop_create();
    h2o_context_init(&server.ctx, server.loop, &server.config);
    server.accept_ctx.ctx = &server.ctx;
    server.accept_ctx.hosts = server.config.hosts;
    h2o_timeout_init(server.loop, &server.write_timeout,
                     settings->write_timeout_ms != 0 ? settings->write_timeout_ms : DEFAULT_WRITE_TIMEOUT_MS);
    server.handler->write_timeout = &server.write_timeout;

    if (open_signals(&server, err) != 0)
        goto fail_signals;
    if ((pool = markr_worker_pool_create(server.loop, settings->workers, settings->queue_max, factory, err)) == NULL)
        goto fail_pool;
    server.handler->pool = pool;
    /* The aggregate cache and the live streams. */
    if ((server.handler->live = markr_live_create(&server.ctx, pool, factory->changes, &server.write_timeout)) == NULL) {
        markr_error_set(err, MARKR_ERR_INTERNAL, "live", "cannot start the change feed");
        goto fail_listen;
    }
    clamp_connections(&server);
    if ((fd = open_listener(settings, address, sizeof(address), err)) < 0)
        goto fail_listen;
    server.listener = h2o_evloop_socket_create(server.loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    server.listener->data = &server;
    h2o_socket_read_start(server.listener, on_accept);
    if (settings->lifecycle != NULL)
        settings->lifecycle->ready(address);

    while (!server.stopping)
        h2o_evloop_run(server.loop, INT32_MAX);

    /* Stop accepting, close idle keep-alive connections, and let every job come back:
     * an import that was accepted by a worker finishes and answers before we exit. */
    {
        char in_flight[24];

        snprintf(in_flight, sizeof(in_flight), "%zu", markr_worker_pool_pending(pool));
        markr_log(MARKR_LOG_INFO, "stopping", "requests", in_flight, NULL);
    }
    if (settings->lifecycle != NULL)
        settings->lifecycle->stopping();
    h2o_socket_read_stop(server.listener);
    h2o_socket_close(server.listener);
    h2o_context_request_shutdown(&server.ctx);
    markr_live_shutdown(server.handler->live); /* ends streams, stops the feed */
    /* Bounded by MARKR_SHUTDOWN_TIMEOUT. Then the work still running is abandoned: its
     * statements are cancelled and nothing more is stored, and it still answers (an error,
     * or 201 for a commit that was already under way), so a client never misses the success
     * of a document that is stored. */
    if (drain(&server, pool, settings->shutdown_timeout_s * 1000L) != 0) {
        char left[24];

        snprintf(left, sizeof(left), "%zu", markr_worker_pool_pending(pool));
        markr_log(MARKR_LOG_WARN, "shutdown timeout: abandoning the requests in flight", "requests", left, NULL);
        markr_worker_pool_abandon(pool);
        abandoned = 1;
        /* Abandoned jobs fail at their next statement; one stuck elsewhere (an unreachable
         * database) is left to die with the process: its transaction never commits. */
        if (drain(&server, pool, ABANDON_GRACE_MS) != 0) {
            markr_log(MARKR_LOG_WARN, "stopped", "cut_off", "true", NULL); /* requests still running */
            return 1;
        }
    }
    /* A request whose body was still arriving may reach a handler while the loop runs, and
     * submit a job after the drain: refuse new jobs, then wait for any that got in (they are
     * quick when abandoned), so that every job comes back before the pool goes. */
    markr_worker_pool_close(pool);
    h2o_evloop_run(server.loop, 0);
    while (markr_worker_pool_pending(pool) != 0)
        h2o_evloop_run(server.loop, 100);
    h2o_evloop_run(server.loop, 0); /* flush answers just written */
    markr_worker_pool_destroy(pool);
    markr_live_destroy(server.handler->live);
    /* The context and loop are not disposed of: h2o 2.2.5 asserts that no connection is left
     * (a client may hold a keep-alive one), and the process exits next. `server` is static,
     * so what they hold stays reachable and is not reported as a leak. */
    markr_log(MARKR_LOG_INFO, "stopped", NULL);
    return abandoned;

fail_listen:
    markr_live_destroy(server.handler->live);
    markr_worker_pool_destroy(pool);
fail_pool:
    h2o_socket_close(server.signals);
fail_signals:
    h2o_context_dispose(&server.ctx);
    h2o_config_dispose(&server.config);
    return -1;
}
