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

/* issue 4 (handle_views.c): GET /tests, /results/{test-id}, /students/{student-number},
 * /results/{test-id}/histogram. */
int markr_handle_tests(struct markr_worker_pool *pool, h2o_req_t *req);
int markr_handle_results(struct markr_worker_pool *pool, h2o_req_t *req, const struct markr_route_match *match);
int markr_handle_student(struct markr_worker_pool *pool, h2o_req_t *req, const struct markr_route_match *match);
int markr_handle_histogram(struct markr_worker_pool *pool, h2o_req_t *req, const struct markr_route_match *match);
/* issue 4 (handle_dashboard.c): GET / and /static/{name}, compiled-in files. */
int markr_handle_dashboard(h2o_req_t *req, const struct markr_route_match *match);

#endif
