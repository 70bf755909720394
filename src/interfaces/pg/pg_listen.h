/*
 * The change feed (application/change_feed.h) over a dedicated PostgreSQL connection that
 * LISTENs on the channel the statement applying marks NOTIFYs (pg_marks.c, ADR 0012).
 */
#ifndef MARKR_INTERFACES_PG_LISTEN_H
#define MARKR_INTERFACES_PG_LISTEN_H

#include "application/change_feed.h"

/* The channel of the notifications; pg_marks.c and pg_rebuild.c send on it. */
#define MARKR_PG_CHANGES_CHANNEL "markr_changes"

/* Every test may have changed (a rebuild of all marks). */
#define MARKR_PG_NOTIFY_FLUSH_SQL                                                                         \
    "SELECT pg_notify('" MARKR_PG_CHANGES_CHANNEL "', '{\"import_id\":0,\"flush\":true}')"

struct markr_pg_listener;

/* Decodes one notification's payload (JSON as the writers above send it; not necessarily
 * NUL-terminated) and reports it through sink->changed. A payload that cannot be decoded
 * (or not for want of memory) is reported as a flush, of the import it names if any (else
 * import id -1). */
void markr_pg_report_change(const struct markr_change_sink *sink, const char *payload, size_t len);

/* Keeps a copy of conninfo. Returns NULL when out of memory. */
struct markr_pg_listener *markr_pg_listener_create(const char *conninfo);
/* Call after run has returned. */
void markr_pg_listener_destroy(struct markr_pg_listener *listener);
struct markr_change_feed markr_pg_change_feed(struct markr_pg_listener *listener);

/* With read replicas (pg_replica.h, ADR 0030): once listening, and after every batch of
 * notifications, the listener reads the primary's WAL position (MARKR_PG_POSITION_SQL) before it reports
 * them, so that reads made after a reported change wait for a standby to replay it; while it
 * does not listen, reads go to the primary. Call before run. */
struct markr_pg_replicas;
void markr_pg_listener_set_replicas(struct markr_pg_listener *listener, struct markr_pg_replicas *replicas);

#endif
