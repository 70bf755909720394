/*
 * The bridge from the change feed's thread to the event loop: runs a change feed
 * (application/change_feed.h) on a thread of its own and hands every report over to the
 * loop's thread through an h2o multithread queue, so that the loop never blocks on the feed
 * and the feed never touches the loop's state.
 */
#ifndef MARKR_INTERFACES_HTTP_FEED_BRIDGE_H
#define MARKR_INTERFACES_HTTP_FEED_BRIDGE_H

#include <h2o.h>

#include "application/change_feed.h"

struct markr_feed_bridge;

/* Starts feed on a thread of its own. Every report of it reaches on_loop (copied: up, down
 * and changed as the sink describes them) on the thread that runs loop, in order. A change
 * that cannot be copied for want of memory arrives as a flush with import id -1. NULL when
 * out of memory or the thread cannot start. */
struct markr_feed_bridge *markr_feed_bridge_start(h2o_loop_t *loop, const struct markr_change_feed *feed,
                                                  const struct markr_change_sink *on_loop);
/* Stops the feed and waits for its thread; reports that have not reached on_loop yet never
 * will. From the loop's thread. */
void markr_feed_bridge_stop(struct markr_feed_bridge *bridge);
/* Stops if need be, then frees. */
void markr_feed_bridge_destroy(struct markr_feed_bridge *bridge);

#endif
