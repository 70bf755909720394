/*
 * The read pool: hot standbys of the primary (MARKR_READ_DATABASE_URL) that take the reads
 * of the read ports (aggregates, views, histograms, the vault's browse and raw reads), and
 * never answer older than what this instance has told or been told (ADR 0030).
 *
 * One struct markr_pg_replicas per process holds what every worker shares: the standbys and
 * their state, and the highest WAL position a read must reflect (raised after each commit
 * of this instance and after each change notification it hears). Each worker connection to
 * the primary gets its own connections to the standbys (markr_pg_replicas_attach); its read
 * ports then go to a standby that has replayed that position, waiting for it up to
 * MARKR_REPLICA_MAX_LAG_MS, else to the primary. Writes, the queue, LISTEN, migrations,
 * reprocessing and the schema's readiness never leave the primary.
 */
#ifndef MARKR_INTERFACES_PG_REPLICA_H
#define MARKR_INTERFACES_PG_REPLICA_H

#include <stddef.h>

#include "application/ports.h"
#include "domain/error.h"
#include "pg_conn.h"

struct markr_pg_replicas;


/* The standbys of list (MARKR_READ_DATABASE_URL; see markr_replica_list_split for the
 * separator rule), each checked with libpq's parser. Reads wait at most max_lag_ms for a
 * standby to reach their position. Until markr_pg_replicas_feed_up (the change feed is
 * listening), every read goes to the primary: changes of other instances could go unseen.
 * Returns NULL with err (MARKR_ERR_INVALID) naming the bad entry by number, never quoting it
 * (it may hold a password). */
struct markr_pg_replicas *markr_pg_replicas_create(const char *list, long max_lag_ms, struct markr_error *err);
void markr_pg_replicas_destroy(struct markr_pg_replicas *r);

/* Gives pg (a worker's connection to the primary) its own standby connections, opened on
 * first use. Released by markr_pg_close. Returns 0, or -1 with err (out of memory). */
int markr_pg_replicas_attach(struct markr_pg *pg, struct markr_pg_replicas *r, struct markr_error *err);

/* The change feed's listening state, from its thread: while down, reads go to the primary. */
void markr_pg_replicas_feed_down(struct markr_pg_replicas *r);

#endif
