/*
 * The live feed's lock (application/feed.h) over a PostgreSQL connection of its own: a
 * session advisory lock, so that it goes with the connection when its instance dies
 * (SIGKILL included: the server sees the socket close), and the feed's generation claimed
 * under it (migration 0007).
 */
#ifndef MARKR_INTERFACES_PG_FEED_H
#define MARKR_INTERFACES_PG_FEED_H

#include "application/feed.h"

/* A lock that connects with conninfo when first asked. NULL when out of memory. Free it with
 * markr_pg_feed_lock_destroy (which releases it). */
struct markr_feed_lock *markr_pg_feed_lock_create(const char *conninfo);
void markr_pg_feed_lock_destroy(struct markr_feed_lock *lock);

#endif
