/*
 * Observability in the HTTP adapter: request ids, one logfmt line per request, the counters
 * of GET /metrics (ADR 0015). The line and the counters are written by an h2o logger, which
 * h2o calls once per request when it is disposed, whatever answered it (a handler, a
 * filter, h2o itself), so the figures are of what went out on the wire. The route they
 * name is the one the dispatcher matched, carried on the request.
 */
#include "observe_http.h"

#include <inttypes.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "handlers.h"
#include "http_job.h"
#include "interfaces/observe/log.h"
#include "interfaces/observe/metrics.h"
#include "live.h"
#include "query.h"
#include "responses.h"
#include "router.h"

static char id_prefix[17];
static atomic_uint_fast64_t id_counter;

void markr_http_observe_init(void)
{
    uint64_t seed = 0;
    int routes = MARKR_ROUTE_FIRST + (int)markr_route_count(markr_routes);

    if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
        seed = (uint64_t)(uintptr_t)&seed ^ (uint64_t)getpid();
    snprintf(id_prefix, sizeof(id_prefix), "%016" PRIx64, seed);
    for (int r = 0; r < routes && r < MARKR_METRICS_ROUTES; ++r)
        markr_metrics_name_route(r, markr_route_template(markr_routes, r));
}

/* A client's id is kept when it is 1 to 64 bytes of [A-Za-z0-9._:-]; anything else could
 * forge log lines, so a new one is made. */
static int usable_id(h2o_iovec_t v)
{
    if (v.len == 0 || v.len > MARKR_HTTP_REQUEST_ID_MAX)
        return 0;
    for (size_t i = 0; i < v.len; ++i) {
        char c = v.base[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == ':' || c == '-'))
            return 0;
    }
    return 1;
}

/* h2o 2.2.5 has no field for a handler's own data on a request, but it carries string
 * "environment variables" from handlers to loggers (req->env, h2o_req_getenv): the route's
 * number travels there, in decimal. */
#define ROUTE_ENV "MARKR_ROUTE"

static void note_route(h2o_req_t *req, int route)
{
    char digits[16];
    int n = snprintf(digits, sizeof(digits), "%d", route);

    *h2o_req_getenv(req, H2O_STRLIT(ROUTE_ENV), 1) = h2o_strdup(&req->pool, digits, (size_t)n);
}

/* The route noted by the dispatcher, or -1 when h2o answered before routing (a body over
 * the limit, broken framing). */
static int noted_route(h2o_req_t *req)
{
    h2o_iovec_t *v = h2o_req_getenv(req, H2O_STRLIT(ROUTE_ENV), 0);

    return v != NULL ? (int)markr_parse_uint(v->base, v->len, INT_MAX) : -1;
}

/* A request's duration is real for every answer, those made on the loop within one of its
 * iterations included (h2o's own timestamps are the loop's cached time, which does not move
 * within an iteration, so they gave 0 for /health, a cached aggregate or a 404). It is the
 * time h2o took to receive the request before handing it to us (the body of a POST: from
 * h2o's timestamps, which are right at that scale) plus a monotonic clock's reading from
 * the moment the dispatcher saw it to the moment its answer was done (the logger). The
 * arrival reading travels in req->env like the route, as the bytes of a struct timespec. */
#define ARRIVAL_ENV "MARKR_ARRIVAL"

static void note_arrival(h2o_req_t *req)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    *h2o_req_getenv(req, H2O_STRLIT(ARRIVAL_ENV), 1) = h2o_strdup(&req->pool, (const char *)&now, sizeof(now));
}

/* The request's duration in microseconds. */
static int64_t request_usec(h2o_req_t *req)
{
    h2o_iovec_t *v = h2o_req_getenv(req, H2O_STRLIT(ARRIVAL_ENV), 0);
    int64_t received = 0, handled;
    struct timespec at, now;

    if (!h2o_time_compute_request_total_time(req, &received) || received < 0)
        received = 0;
    if (v == NULL || v->len != sizeof(at)) /* h2o answered before routing: its figure alone */
        return h2o_time_compute_duration(req, &handled) && handled > 0 ? handled : received;
    memcpy(&at, v->base, sizeof(at));
    clock_gettime(CLOCK_MONOTONIC, &now);
    handled = (int64_t)(now.tv_sec - at.tv_sec) * 1000000 + (now.tv_nsec - at.tv_nsec) / 1000;
    if (handled < 0)
        handled = 0;
    return received + handled;
}

void markr_http_request_begin(h2o_req_t *req, int route)
{
    ssize_t at = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-request-id"), -1);
    h2o_iovec_t id;

    if (at >= 0 && usable_id(req->headers.entries[at].value)) {
        /* Copied: a request's headers point into the connection's input buffer, which the
         * request must not outlive in any of its parts (a stream's log line comes last). */
        id = h2o_strdup(&req->pool, req->headers.entries[at].value.base, req->headers.entries[at].value.len);
    } else {
        char made[40];
        int n = snprintf(made, sizeof(made), "%s%016" PRIx64, id_prefix, (uint64_t)atomic_fetch_add(&id_counter, 1));

        id = h2o_strdup(&req->pool, made, (size_t)n);
    }
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-request-id"), 0, NULL, id.base, id.len);
    markr_metrics_in_flight(1);
    note_route(req, route);
    note_arrival(req);
}

int markr_http_request_id(h2o_req_t *req, char *dst, size_t cap)
{
    ssize_t at = h2o_find_header_by_str(&req->res.headers, H2O_STRLIT("x-request-id"), -1);

    if (at < 0) {
        snprintf(dst, cap, "-");
        return 0;
    }
    snprintf(dst, cap, "%.*s", (int)req->res.headers.entries[at].value.len, req->res.headers.entries[at].value.base);
    return 1;
}

const char *markr_http_request_route(h2o_req_t *req)
{
    return markr_route_template(markr_routes, noted_route(req));
}

static void log_access(h2o_logger_t *self, h2o_req_t *req)
{
    int route = noted_route(req);
    char id[MARKR_HTTP_REQUEST_ID_MAX + 1], method[16] = "-", status[8], bytes[24], ms[24];
    int64_t usec = request_usec(req);

    if (markr_http_request_id(req, id, sizeof(id)))
        markr_metrics_in_flight(-1); /* it went through markr_http_request_begin */
    if (route < 0) {
        struct markr_route_match match;

        route = req->path.base != NULL ? markr_route_match(markr_routes, req->path.base, req->path.len, &match)
                                       : MARKR_ROUTE_UNMATCHED;
    }
    markr_metrics_request_done(route, req->res.status, (uint64_t)usec);
    if (!markr_log_enabled(MARKR_LOG_INFO))
        return;
    /* A method is a token of the same safe characters as an id; anything else is not logged. */
    if (req->method.base != NULL && usable_id(req->method))
        snprintf(method, sizeof(method), "%.*s", (int)req->method.len, req->method.base);
    snprintf(status, sizeof(status), "%d", req->res.status);
    snprintf(bytes, sizeof(bytes), "%zu", req->bytes_sent);
    snprintf(ms, sizeof(ms), "%.3f", (double)usec / 1000.0);
    markr_log(MARKR_LOG_INFO, "request", "request_id", id, "method", method, "route",
              markr_route_template(markr_routes, route), "status", status, "bytes", bytes, "duration_ms", ms, NULL);
}

void markr_http_register_logger(h2o_pathconf_t *pathconf)
{
    h2o_logger_t *logger = h2o_create_logger(pathconf, sizeof(*logger));

    logger->log_access = log_access;
}

int markr_handle_metrics(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match)
{
    struct markr_metrics_gauges gauges = {.connections = *handler->connections,
                                          .raw_downloads = handler->raw_downloads};
    size_t workers, in_use, waiting, entries, streams, len;
    char *text, *copy;

    markr_live_stats(handler->live, &entries, &streams);
    gauges.cache_entries = entries;
    gauges.stream_clients = streams;
    markr_worker_pool_stats(handler->pool, &workers, &in_use, &waiting);
    gauges.pool_workers = workers;
    gauges.pool_in_use = in_use;
    gauges.pool_waiting = waiting;
    gauges.jobs_skipped = markr_http_jobs_skipped();
    gauges.buffered_bytes = markr_http_buffered_bytes();
    if ((text = markr_metrics_render(&gauges, &len)) == NULL)
        return -1;
    copy = h2o_mem_alloc_pool(&req->pool, len);
    memcpy(copy, text, len);
    free(text);
    req->res.status = 200;
    req->res.reason = "OK";
    req->res.content_length = len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("text/plain; version=0.0.4; charset=utf-8"));
    h2o_send_inline(req, copy, len);
    return 0;
}
