/*
 * The HTTP server: one h2o event loop thread that parses requests and writes answers, and a
 * pool of worker threads that run the use cases (ADR 0002). Runs until SIGINT or SIGTERM,
 * then stops accepting, lets the requests in flight finish, and returns.
 */
#ifndef MARKR_INTERFACES_HTTP_SERVER_H
#define MARKR_INTERFACES_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "domain/error.h"
#include "application/feed.h"
#include "application/services.h"
#include "auth.h"
#include "cidr.h"
#include "cors.h"
#include "host.h"

/* Told of the server's life, on the loop thread (a service manager's notifications). */
struct markr_http_lifecycle {
    void (*ready)(const char *address); /* listening on address (HOST:PORT) */
    void (*stopping)(void);             /* a stop signal came; the drain begins */
};

struct markr_http_settings {
    const char *host;      /* address to bind, e.g. "0.0.0.0" or "::1" */
    const char *port;      /* decimal port; "0" picks a free one (the log line says which) */
    size_t max_body_bytes; /* larger request bodies are answered 413 */
    unsigned workers;      /* worker threads, each with its own services */
    size_t queue_max;      /* requests waiting for a worker before 503 */
    struct markr_formats formats; /* what POST /import reads; another media type is 415 */
    size_t max_async_body_bytes;  /* largest body of an asynchronous import, <= max_body_bytes */
    size_t max_buffered_bytes;    /* bodies held by requests at once; one more is 503 */
    /* Who may call which route (auth.h, ADR 0021): reader and operator tokens, and
     * MARKR_ADMIN_TOKEN (an operator token; without any, the admin routes answer 404). */
    struct markr_access_policy access;
    struct markr_cidr_list import_allow; /* peers that may POST /import; empty: any */
    uint64_t request_timeout_ms; /* to read a whole request, and to wait for the next one */
    size_t max_connections;      /* open client connections at once */
    size_t max_header_bytes;     /* target plus headers; more is 431 */
    unsigned shutdown_timeout_s; /* to finish requests in flight on SIGTERM/SIGINT */
    /* A streaming answer (raw download, live stream) whose writes make no progress for this
     * long is closed and its memory freed. */
    uint64_t write_timeout_ms;
    size_t max_downloads; /* GET /imports/{id}/raw answered at once; more are 503 */
    const struct markr_http_lifecycle *lifecycle; /* may be NULL */
    /* The Host names a request may use, others are 421 (the caller's; NULL: the default
     * rule for host, markr_allowed_hosts_default). */
    const struct markr_allowed_hosts *allowed_hosts;
    /* Which other origins' pages may read which answers (cors.h); none when all zero. */
    struct markr_cors cors;
    /* The live score feed's status for GET /feed; NULL when no feed is configured (404). */
    const struct markr_feed_monitor *feed;
};

/* Serves until a stop signal. Prints "markr: listening on HOST:PORT" to stderr once bound.
 * Returns 0 after a clean stop, 1 when requests were still running at the shutdown timeout,
 * or -1 with err when it cannot start. */
int markr_http_serve(const struct markr_http_settings *settings, const struct markr_service_factory *factory,
                     struct markr_error *err);

#endif
