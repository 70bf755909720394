/*
 * The endpoints, each named by an entry of the route table (routes.c), and what they are
 * given: the server's handler, which h2o passes to on_req, carrying the settings and the
 * shared state of the server, so that no endpoint reads a global. Each returns 0 once it
 * has answered or queued its work (h2o's on_req convention), -1 when it could not start.
 * Those that need the database hand a job to the worker pool.
 */
#ifndef MARKR_INTERFACES_HTTP_HANDLERS_H
#define MARKR_INTERFACES_HTTP_HANDLERS_H

#include <h2o.h>

#include "router.h"
#include "server.h"
#include "worker_pool.h"

struct markr_live;

struct markr_http_handler {
    h2o_handler_t super; /* first: h2o calls on_req with &super */
    /* The server's settings (limits, tokens, the import allow-list), for as long as it serves. */
    const struct markr_http_settings *settings;
    struct markr_worker_pool *pool;
    struct markr_live *live;   /* the aggregate cache and the live streams (live.h) */
    const size_t *connections; /* open client connections, counted by the server */
    size_t raw_downloads;      /* GET /imports/{id}/raw being answered (handle_raw.c) */
    /* The loop's timeout of MARKR_WRITE_TIMEOUT_MS, for streaming answers (write_watch.h). */
    h2o_timeout_t *write_timeout;
};

/* GET /health: liveness, answered on the loop without the database. */
int markr_handle_health(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match);
/* GET /ready: database reachable and schema current, else 503. */
int markr_handle_ready(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match);

/* POST /import (handle_import.c), or with Prefer: respond-async stored as queued and
 * answered 202 at once (handle_import_async.c). */
int markr_handle_import(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match);
int markr_handle_import_async(struct markr_worker_pool *pool, h2o_req_t *req, h2o_iovec_t content_type,
                              size_t limit); /* limit: of the decoded body */
/* Whether the request asks for an asynchronous answer (Prefer: respond-async). */
int markr_wants_async(h2o_req_t *req);

/* GET /results/{test-id}/aggregate computed by a worker; its route is the aggregate cache's
 * (markr_live_handle_aggregate), which falls back to this. */
int markr_handle_aggregate(struct markr_worker_pool *pool, h2o_req_t *req, const struct markr_route_match *match);

/* Item analysis (handle_items.c): GET /results/{test-id}/items computed by a worker (the
 * fallback of markr_live_handle_items), and GET /results/{test-id}/students/{student-number}. */
int markr_handle_items(struct markr_worker_pool *pool, h2o_req_t *req, const struct markr_route_match *match);
int markr_handle_student_sheet(struct markr_http_handler *handler, h2o_req_t *req,
                               const struct markr_route_match *match);

/* The import vault (handle_vault.c): GET /imports, GET /imports/{id}, GET /imports/{id}/raw
 * (streamed, handle_raw.c), POST /imports/{id}/reprocess (operators),
 * GET /tests/{test-id}/conflicts. */
int markr_handle_imports(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match);
int markr_handle_import_info(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match);
int markr_handle_import_raw(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match);
int markr_handle_import_reprocess(struct markr_http_handler *handler, h2o_req_t *req,
                                  const struct markr_route_match *match);
int markr_handle_test_conflicts(struct markr_http_handler *handler, h2o_req_t *req,
                                const struct markr_route_match *match);

/* The dashboard's views (handle_views.c): GET /tests, /results/{test-id}, /students,
 * /students/{student-number}, /results/{test-id}/histogram. */
int markr_handle_tests(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match);
int markr_handle_results(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match);
int markr_handle_student(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match);
int markr_handle_students(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match);
int markr_handle_histogram(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match);

/* The dashboard's files compiled into the binary (handle_dashboard.c): GET / and
 * GET /static/{name}. */
int markr_handle_dashboard(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match);
int markr_handle_static(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match);

/* GET /openapi.json (handle_openapi.c): the API's description, compiled in. */
int markr_handle_openapi(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match);

/* GET /feed (handle_feed.c): the live score feed's status, on the loop. */
int markr_handle_feed(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match);

/* GET /metrics (observe_http.c): the counters, with the pool's and the server's gauges. */
int markr_handle_metrics(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match);

#endif
