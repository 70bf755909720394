/*
 * The endpoints. Each returns 0 once it has answered or queued its work (h2o's on_req
 * convention). Those that need the database hand a job to the worker pool.
 */
#ifndef MARKR_INTERFACES_HTTP_HANDLERS_H
#define MARKR_INTERFACES_HTTP_HANDLERS_H

#include <h2o.h>

#include "router.h"
#include "worker_pool.h"

/* GET /health: liveness, answered on the loop without the database. */
int markr_handle_health(h2o_req_t *req);
/* GET /ready: database reachable and schema current, else 503. */
int markr_handle_ready(struct markr_worker_pool *pool, h2o_req_t *req);
/* POST /import. */
int markr_handle_import(struct markr_worker_pool *pool, h2o_req_t *req);
/* GET /results/{test-id}/aggregate. */
int markr_handle_aggregate(struct markr_worker_pool *pool, h2o_req_t *req, const struct markr_route_match *match);

/* issue 3: GET /imports, GET /imports/{id}, GET /imports/{id}/raw,
 * POST /imports/{id}/reprocess (admin), GET /tests/{test-id}/conflicts. */
int markr_handle_vault(struct markr_worker_pool *pool, h2o_req_t *req, const struct markr_route_match *match);
/* POST /import with Prefer: respond-async: stored as queued, 202 at once. */
int markr_handle_import_async(struct markr_worker_pool *pool, h2o_req_t *req, h2o_iovec_t content_type);
/* Whether the request asks for an asynchronous answer (Prefer: respond-async). */
int markr_wants_async(h2o_req_t *req);
/* Keeps the settings the vault handlers need (limits, admin token; copied). */
struct markr_http_settings;
void markr_http_vault_configure(const struct markr_http_settings *settings);
/* The body limit of POST /import, synchronous or asynchronous. */
size_t markr_http_body_limit(int async);
/* issue 4 (handle_views.c): GET /tests, /results/{test-id}, /students/{student-number},
 * /results/{test-id}/histogram. */
int markr_handle_tests(struct markr_worker_pool *pool, h2o_req_t *req);
int markr_handle_results(struct markr_worker_pool *pool, h2o_req_t *req, const struct markr_route_match *match);
int markr_handle_student(struct markr_worker_pool *pool, h2o_req_t *req, const struct markr_route_match *match);
int markr_handle_histogram(struct markr_worker_pool *pool, h2o_req_t *req, const struct markr_route_match *match);
/* issue 4 (handle_dashboard.c): GET / and /static/{name}, compiled-in files. */
int markr_handle_dashboard(h2o_req_t *req, const struct markr_route_match *match);

#endif
