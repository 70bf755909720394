/*
 * The change feed (application/change_feed.h) over a dedicated PostgreSQL connection that
 * LISTENs on the channel the accepted-import statement NOTIFYs (ADR 0012).
 */
#ifndef MARKR_INTERFACES_PG_LISTEN_H
#define MARKR_INTERFACES_PG_LISTEN_H

#include "application/change_feed.h"

/* The channel of the notifications; pg_store.c sends on it. */
#define MARKR_PG_CHANGES_CHANNEL "markr_changes"

/* For writers of marks other than the import statement (pg_vault.c), run inside their
 * transaction, so that the notification goes out at commit. With $1 the import id (int8)
 * and $2 the tests it may have changed (text[]); past the 8000-byte payload limit, a flush. */
#define MARKR_PG_NOTIFY_TESTS_SQL                                                                         \
    "SELECT pg_notify('" MARKR_PG_CHANGES_CHANNEL "', CASE WHEN octet_length(p) < 7900 THEN p ELSE\n"      \
    "           json_build_object('import_id', $1::bigint, 'flush', true)::text END)\n"                    \
    "FROM (SELECT json_build_object('import_id', $1::bigint, 'tests',\n"                                  \
    "          COALESCE((SELECT json_agg(DISTINCT t) FROM unnest($2::text[]) AS t), '[]'))::text AS p) AS x"
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

#endif
