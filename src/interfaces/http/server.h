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
#include "application/services.h"

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
    const char *admin_token;      /* bearer token of the admin endpoints; NULL: they answer 404 */
    uint64_t request_timeout_ms; /* to read a whole request, and to wait for the next one */
    size_t max_connections;      /* open client connections at once */
    size_t max_header_bytes;     /* target plus headers; more is 431 */
    unsigned shutdown_timeout_s; /* to finish requests in flight on SIGTERM/SIGINT */
    const struct markr_http_lifecycle *lifecycle; /* may be NULL */
};

/* Serves until a stop signal. Prints "markr: listening on HOST:PORT" to stderr once bound.
 * Returns 0 after a clean stop, 1 when requests were still running at the shutdown timeout,
 * or -1 with err when it cannot start. */
int markr_http_serve(const struct markr_http_settings *settings, const struct markr_service_factory *factory,
                     struct markr_error *err);

#endif
