/*
 * Request ids, request log lines and GET /metrics in the HTTP adapter (ADR 0015). The log
 * line names the route the dispatcher matched, so that a path is matched once per request.
 */
#ifndef MARKR_INTERFACES_HTTP_OBSERVE_HTTP_H
#define MARKR_INTERFACES_HTTP_OBSERVE_HTTP_H

#include <h2o.h>

/* Once, before serving: the id prefix of this process and the route names of the metrics. */
void markr_http_observe_init(void);

/* First thing for every request that reaches the dispatcher, once it has matched the route
 * (its number, from markr_route_match): takes X-Request-Id (or makes one), echoes it in the
 * answer, counts the request in flight, and keeps the route for the log line. */
void markr_http_request_begin(h2o_req_t *req, int route);

/* The longest request id kept from a client (X-Request-Id); those made here are shorter. */
#define MARKR_HTTP_REQUEST_ID_MAX 64

/* The id markr_http_request_begin gave req, into dst (cap bytes, NUL-terminated, cut to
 * fit): returns 1; or "-" and returns 0 when it has none (h2o answered before routing).
 * On the loop. */
int markr_http_request_id(h2o_req_t *req, char *dst, size_t cap);

/* The template of the route the dispatcher matched for req ("/import"), a static string;
 * "unmatched" when none was noted. On the loop. */
const char *markr_http_request_route(h2o_req_t *req);

/* Writes the log line and the counters of every request served under pathconf. */
void markr_http_register_logger(h2o_pathconf_t *pathconf);

#endif
