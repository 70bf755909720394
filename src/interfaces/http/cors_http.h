/*
 * The CORS rule (cors.h) on h2o's requests, for the dispatcher (server.c): the headers of a
 * shared answer, and the answer to OPTIONS (Allow, and a preflight's permission).
 */
#ifndef MARKR_INTERFACES_HTTP_CORS_HTTP_H
#define MARKR_INTERFACES_HTTP_CORS_HTTP_H

#include <h2o.h>

#include "cors.h"
#include "router.h"

/* Before a route answers: Vary: Origin when the route's answers depend on the Origin, and
 * for an allowed Origin the permission to read the answer (and the headers a client reads:
 * ETag, Location, Retry-After, X-Request-Id), whatever its status. readers_protected: reader
 * tokens are configured (markr_cors_route_shared). */
void markr_http_cors_headers(const struct markr_cors *cors, int readers_protected, h2o_req_t *req,
                             const struct markr_route *route);

/* Answers OPTIONS on a route: 204 with Allow; for a preflight (Origin and
 * Access-Control-Request-Method) that the rule allows, also the methods, request headers and
 * max age a browser may use. A preflight that is not allowed gets no CORS header, which
 * the browser takes as a refusal. */
void markr_http_answer_options(const struct markr_cors *cors, int readers_protected, h2o_req_t *req,
                               const struct markr_route_match *match);

#endif
