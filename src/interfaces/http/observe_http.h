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

/* Writes the log line and the counters of every request served under pathconf. */
void markr_http_register_logger(h2o_pathconf_t *pathconf);

#endif
