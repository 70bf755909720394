/*
 * The change feed (application/change_feed.h) over a dedicated PostgreSQL connection that
 * LISTENs on the channel the accepted-import statement NOTIFYs (ADR 0012).
 */
#ifndef MARKR_INTERFACES_PG_LISTEN_H
#define MARKR_INTERFACES_PG_LISTEN_H

#include "application/change_feed.h"

/* The channel of the notifications; pg_store.c sends on it. */
#define MARKR_PG_CHANGES_CHANNEL "markr_changes"

struct markr_pg_listener;

/* Keeps a copy of conninfo. Returns NULL when out of memory. */
struct markr_pg_listener *markr_pg_listener_create(const char *conninfo);
/* Call after run has returned. */
void markr_pg_listener_destroy(struct markr_pg_listener *listener);
struct markr_change_feed markr_pg_change_feed(struct markr_pg_listener *listener);

#endif
