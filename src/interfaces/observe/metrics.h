/*
 * Process-wide counters for GET /metrics (Prometheus text format 0.0.4), shared by every
 * adapter and thread (C11 atomics; no h2o, libpq or libxml2 here). Label sets stay small
 * whatever clients send: routes are the router's templates (at most MARKR_METRICS_ROUTES),
 * statuses a fixed list (others count as "other"), refusal reasons Markr's own codes.
 */
#ifndef MARKR_INTERFACES_OBSERVE_METRICS_H
#define MARKR_INTERFACES_OBSERVE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define MARKR_METRICS_ROUTES 32

/* Names route number `route` (0 to MARKR_METRICS_ROUTES - 1) with its template, e.g.
 * "/results/{test-id}/aggregate". Call before serving; the string must outlive the process. */
void markr_metrics_name_route(int route, const char *template_);

/* One request finished: its route number, status and duration. */
void markr_metrics_request_done(int route, int status, uint64_t duration_usec);

/* Requests being served (started and not yet finished). */
void markr_metrics_in_flight(int delta);

/* An import was accepted with `results` results and `marks` marks written, or refused for
 * `reason` (one of Markr's reason codes, e.g. "missing_field"). */
void markr_metrics_import_accepted(uint64_t results, uint64_t marks);
void markr_metrics_import_refused(const char *reason);

/* A database operation took longer than the slow-query threshold. */
void markr_metrics_slow_query(void);

/* The aggregate cache evicted an idle entry to make room for another. */
void markr_metrics_cache_evicted(void);
/* A stream client fell too far behind and was disconnected. */
void markr_metrics_stream_client_cut(void);

/* The live feed (MARKR_FEED_URL): whether this instance holds it with its stream open, its
 * events by outcome ("accepted", "refused" or "ignored"), and its reconnections. */
void markr_metrics_feed_connected(int connected);
void markr_metrics_feed_events(const char *outcome, uint64_t n);
void markr_metrics_feed_reconnect(void);
/* Read replicas (ADR 0030). Standby number `index` (0 to MARKR_METRICS_REPLICAS - 1) is
 * named `name` (host:port, no quote or backslash) before serving; the string is copied. */
#define MARKR_METRICS_REPLICAS 8
void markr_metrics_name_replica(int index, const char *name);
/* A read port's statement ran on a standby (1) or on the primary (0). */
void markr_metrics_replica_read(int on_standby);
/* A read that had standbys ran on the primary because of reason: "down", "lag",
 * "not_in_recovery", "error" or "position_unknown" (others count as "other"). */
void markr_metrics_replica_fallback(const char *reason);
/* A standby's replay lag at its last probe. */
void markr_metrics_replica_lag(int index, double seconds);

/* Gauges read when rendering. */
struct markr_metrics_gauges {
    uint64_t pool_workers;  /* worker threads, each with one database connection */
    uint64_t pool_in_use;   /* of those, running a job */
    uint64_t pool_waiting;  /* jobs queued for a worker */
    uint64_t connections;   /* open client connections */
    uint64_t cache_entries; /* held by the aggregate cache */
    uint64_t stream_clients; /* open event streams (aggregate streams and /events) */
    uint64_t raw_downloads; /* GET /imports/{id}/raw being answered */
    uint64_t jobs_skipped;  /* reads not run because their client had gone (a counter) */
    uint64_t buffered_bytes; /* request bodies held by jobs now */
};

/* The whole exposition as text (malloc'd, *len bytes). NULL when out of memory. */
char *markr_metrics_render(const struct markr_metrics_gauges *gauges, size_t *len);

#endif
