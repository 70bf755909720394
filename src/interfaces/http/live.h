/*
 * Live reads (ADR 0012 and 0013): the exact aggregate cache answered on the loop thread,
 * and the Server-Sent Events streams, both kept current by the change feed. One per h2o
 * context (so per loop), used from that loop's thread only (the feed runs on a thread of
 * its own and posts to the loop).
 */
#ifndef MARKR_INTERFACES_HTTP_LIVE_H
#define MARKR_INTERFACES_HTTP_LIVE_H

#include <h2o.h>

#include "application/change_feed.h"
#include "router.h"
#include "worker_pool.h"

struct markr_live;

/* Starts the feed's thread when feed is not NULL (without a feed there is no cache and no
 * live update: every aggregate is computed, streams send only their first event). Raises
 * the soft open-file limit to the hard one, for many stream clients. NULL when out of
 * memory or the thread cannot start. The streams' sends are bounded by write_timeout
 * (markr_sse_create). */
struct markr_live *markr_live_create(h2o_context_t *ctx, struct markr_worker_pool *pool,
                                     const struct markr_change_feed *feed, h2o_timeout_t *write_timeout);
/* Ends every stream and answers every waiting request (503), stops the feed's thread.
 * Keep running the loop until the worker pool is idle afterwards, then destroy. */
void markr_live_shutdown(struct markr_live *live);
void markr_live_destroy(struct markr_live *live);
/* For the metrics: the aggregate cache's entries and the open stream clients, now. */
void markr_live_stats(const struct markr_live *live, size_t *cache_entries, size_t *stream_clients);

/* On the loop thread, before the 201 of an import this instance committed goes out: the
 * cache forgets what it holds of the import's tests (count of them), so that every read
 * served afterwards reflects the import; the change feed's report of it, later, updates
 * the other instances and the streams (markr_aggregate_cache_committed). */
void markr_live_committed(struct markr_live *live, const char *const *tests, size_t count);

/* The routes (routes.c), each on handler->live. GET /results/{test-id}/aggregate: from the
 * cache when it holds the test, else computed once for every request waiting for it. */
int markr_live_handle_aggregate(struct markr_http_handler *handler, h2o_req_t *req,
                                const struct markr_route_match *match);
/* GET /results/{test-id}/items: the same, with the item analysis as the figures. */
int markr_live_handle_items(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match);
/* GET /results/{test-id}/aggregate/stream (SSE). */
int markr_live_handle_aggregate_stream(struct markr_http_handler *handler, h2o_req_t *req,
                                       const struct markr_route_match *match);
/* GET /events (SSE). */
int markr_live_handle_events(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match);

#endif
