#include "metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every status markr answers, h2o's own (408 for a request cut short) and the 499 of a
 * client that left included; anything else counts as "other". */
static const int statuses[] = {200, 201, 202, 204, 304, 400, 401, 403, 404, 405, 408,
                               413, 415, 421, 422, 431, 499, 500, 503};
#define STATUS_COUNT (sizeof(statuses) / sizeof(statuses[0]))
#define STATUS_OTHER STATUS_COUNT

/* Upper bounds of the latency buckets, in microseconds (+Inf is the count). */
static const uint64_t bucket_usec[] = {1000, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
                                       5000000, 10000000};
#define BUCKET_COUNT (sizeof(bucket_usec) / sizeof(bucket_usec[0]))

#define REASONS_MAX 48

struct route_counters {
    atomic_uint_fast64_t by_status[STATUS_COUNT + 1];
    atomic_uint_fast64_t buckets[BUCKET_COUNT];
    atomic_uint_fast64_t count, sum_usec;
};

static const char *const fallback_reasons[] = {"down", "lag", "not_in_recovery", "error", "position_unknown", "other"};
#define FALLBACK_REASONS (sizeof(fallback_reasons) / sizeof(fallback_reasons[0]))

static struct {
    /* Read replicas: names are set before serving, the rest by any worker. */
    char replica_names[MARKR_METRICS_REPLICAS][128];
    atomic_uint_fast64_t replica_lag_us[MARKR_METRICS_REPLICAS];
    atomic_uint_fast64_t replica_reads[2]; /* primary, standby */
    atomic_uint_fast64_t replica_fallbacks[FALLBACK_REASONS];
    const char *route_names[MARKR_METRICS_ROUTES];
    struct route_counters routes[MARKR_METRICS_ROUTES];
    atomic_int_fast64_t in_flight;
    atomic_uint_fast64_t imports_accepted, results_written, marks_written, slow_queries;
    atomic_uint_fast64_t cache_evictions, stream_clients_cut;
    atomic_int feed_connected;
    atomic_uint_fast64_t feed_accepted, feed_refused, feed_ignored, feed_reconnects;
    pthread_mutex_t reasons_lock;
    const char *reasons[REASONS_MAX];
    uint64_t refused[REASONS_MAX + 1]; /* the last: any reason past REASONS_MAX */
} m = {.reasons_lock = PTHREAD_MUTEX_INITIALIZER};

void markr_metrics_name_route(int route, const char *template_)
{
    if (route >= 0 && route < MARKR_METRICS_ROUTES)
        m.route_names[route] = template_;
}

void markr_metrics_request_done(int route, int status, uint64_t duration_usec)
{
    struct route_counters *r;
    size_t s = 0;

    if (route < 0 || route >= MARKR_METRICS_ROUTES)
        route = 0;
    r = &m.routes[route];
    while (s < STATUS_COUNT && statuses[s] != status)
        ++s;
    atomic_fetch_add(&r->by_status[s], 1);
    for (size_t b = 0; b < BUCKET_COUNT; ++b)
        if (duration_usec <= bucket_usec[b])
            atomic_fetch_add(&r->buckets[b], 1);
    atomic_fetch_add(&r->count, 1);
    atomic_fetch_add(&r->sum_usec, duration_usec);
}

void markr_metrics_in_flight(int delta)
{
    atomic_fetch_add(&m.in_flight, delta);
}

void markr_metrics_import_accepted(uint64_t results, uint64_t marks)
{
    atomic_fetch_add(&m.imports_accepted, 1);
    atomic_fetch_add(&m.results_written, results);
    atomic_fetch_add(&m.marks_written, marks);
}

void markr_metrics_import_refused(const char *reason)
{
    size_t i;

    pthread_mutex_lock(&m.reasons_lock);
    for (i = 0; i < REASONS_MAX && m.reasons[i] != NULL && strcmp(m.reasons[i], reason) != 0; ++i)
        ;
    if (i < REASONS_MAX && m.reasons[i] == NULL && (m.reasons[i] = strdup(reason)) == NULL)
        i = REASONS_MAX;
    ++m.refused[i];
    pthread_mutex_unlock(&m.reasons_lock);
}

void markr_metrics_slow_query(void)
{
    atomic_fetch_add(&m.slow_queries, 1);
}

void markr_metrics_cache_evicted(void)
{
    atomic_fetch_add(&m.cache_evictions, 1);
}

void markr_metrics_stream_client_cut(void)
{
    atomic_fetch_add(&m.stream_clients_cut, 1);
}

void markr_metrics_feed_connected(int connected)
{
    atomic_store(&m.feed_connected, connected != 0);
}

void markr_metrics_feed_events(const char *outcome, uint64_t n)
{
    atomic_fetch_add(strcmp(outcome, "accepted") == 0   ? &m.feed_accepted
                     : strcmp(outcome, "refused") == 0 ? &m.feed_refused
                                                       : &m.feed_ignored,
                     n);
}

void markr_metrics_feed_reconnect(void)
{
    atomic_fetch_add(&m.feed_reconnects, 1);
}

void markr_metrics_name_replica(int index, const char *name)
{
    if (index >= 0 && index < MARKR_METRICS_REPLICAS)
        snprintf(m.replica_names[index], sizeof(m.replica_names[index]), "%s", name);
}

void markr_metrics_replica_read(int on_standby)
{
    atomic_fetch_add(&m.replica_reads[on_standby != 0], 1);
}

void markr_metrics_replica_fallback(const char *reason)
{
    size_t i = 0;

    while (i < FALLBACK_REASONS - 1 && strcmp(fallback_reasons[i], reason) != 0)
        ++i;
    atomic_fetch_add(&m.replica_fallbacks[i], 1);
}

void markr_metrics_replica_lag(int index, double seconds)
{
    if (index >= 0 && index < MARKR_METRICS_REPLICAS)
        atomic_store(&m.replica_lag_us[index], (uint_fast64_t)(seconds > 0 ? seconds * 1e6 : 0));
}

static void header(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A metric without labels: its header and its one sample. */
static void sample(FILE *f, const char *name, const char *type, const char *help, unsigned long long value)
{
    header(f, name, type, help);
    fprintf(f, "%s %llu\n", name, value);
}

/* Only label values we chose are printed (templates, reason codes): none needs escaping,
 * but a quote or backslash would break the format, so they are refused here too. */
static const char *label(const char *value)
{
    return value != NULL && strpbrk(value, "\"\\\n") == NULL ? value : "invalid";
}

static void render_requests(FILE *f)
{
    header(f, "markr_http_requests_total", "counter", "Requests answered, by route template and status.");
    for (int r = 0; r < MARKR_METRICS_ROUTES; ++r) {
        if (m.route_names[r] == NULL)
            continue;
        for (size_t s = 0; s <= STATUS_COUNT; ++s) {
            uint64_t n = atomic_load(&m.routes[r].by_status[s]);
            char status[8];

            if (n == 0)
                continue;
            snprintf(status, sizeof(status), "%d", s < STATUS_COUNT ? statuses[s] : 0);
            fprintf(f, "markr_http_requests_total{route=\"%s\",status=\"%s\"} %llu\n", label(m.route_names[r]),
                    s < STATUS_COUNT ? status : "other", (unsigned long long)n);
        }
    }
    header(f, "markr_http_request_duration_seconds", "histogram",
           "Time from the first byte of a request to the last byte of its answer, by route template.");
    for (int r = 0; r < MARKR_METRICS_ROUTES; ++r) {
        const struct route_counters *c = &m.routes[r];
        uint64_t count = atomic_load(&c->count);

        if (m.route_names[r] == NULL || count == 0)
            continue;
        for (size_t b = 0; b < BUCKET_COUNT; ++b)
            fprintf(f, "markr_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                    label(m.route_names[r]), (double)bucket_usec[b] / 1e6,
                    (unsigned long long)atomic_load(&c->buckets[b]));
        fprintf(f, "markr_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
                label(m.route_names[r]), (unsigned long long)count);
        fprintf(f, "markr_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", label(m.route_names[r]),
                (double)atomic_load(&c->sum_usec) / 1e6);
        fprintf(f, "markr_http_request_duration_seconds_count{route=\"%s\"} %llu\n", label(m.route_names[r]),
                (unsigned long long)count);
    }
}

static void render_imports(FILE *f)
{
    sample(f, "markr_imports_accepted_total", "counter", "Documents accepted.", atomic_load(&m.imports_accepted));
    header(f, "markr_imports_refused_total", "counter", "Documents refused, by reason.");
    pthread_mutex_lock(&m.reasons_lock);
    for (size_t i = 0; i < REASONS_MAX && m.reasons[i] != NULL; ++i)
        fprintf(f, "markr_imports_refused_total{reason=\"%s\"} %llu\n", label(m.reasons[i]),
                (unsigned long long)m.refused[i]);
    if (m.refused[REASONS_MAX] != 0)
        fprintf(f, "markr_imports_refused_total{reason=\"other\"} %llu\n", (unsigned long long)m.refused[REASONS_MAX]);
    pthread_mutex_unlock(&m.reasons_lock);
    sample(f, "markr_results_written_total", "counter", "Results of documents accepted synchronously (POST /import without respond-async).", atomic_load(&m.results_written));
    header(f, "markr_marks_written_total", "counter",
           "Marks (one per test and student of a document) upserted by documents accepted synchronously.");
    fprintf(f, "markr_marks_written_total %llu\n", (unsigned long long)atomic_load(&m.marks_written));
}

/* Printed only when standbys are named (MARKR_READ_DATABASE_URL is set). */
static void render_replicas(FILE *f)
{
    if (m.replica_names[0][0] == '\0')
        return;
    header(f, "markr_replica_reads_total", "counter",
           "Statements of the read ports, by where they ran: a standby or the primary.");
    fprintf(f, "markr_replica_reads_total{target=\"primary\"} %llu\n",
            (unsigned long long)atomic_load(&m.replica_reads[0]));
    fprintf(f, "markr_replica_reads_total{target=\"standby\"} %llu\n",
            (unsigned long long)atomic_load(&m.replica_reads[1]));
    header(f, "markr_replica_fallbacks_total", "counter", "Reads sent to the primary instead of a standby, by reason.");
    for (size_t i = 0; i < FALLBACK_REASONS; ++i)
        fprintf(f, "markr_replica_fallbacks_total{reason=\"%s\"} %llu\n", fallback_reasons[i],
                (unsigned long long)atomic_load(&m.replica_fallbacks[i]));
    header(f, "markr_replica_lag_seconds", "gauge", "Replay lag of each standby when it was last probed.");
    for (int i = 0; i < MARKR_METRICS_REPLICAS && m.replica_names[i][0] != '\0'; ++i)
        fprintf(f, "markr_replica_lag_seconds{replica=\"%s\"} %.6f\n", label(m.replica_names[i]),
                (double)atomic_load(&m.replica_lag_us[i]) / 1e6);
}

char *markr_metrics_render(const struct markr_metrics_gauges *g, size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);

    if (f == NULL)
        return NULL;
    render_requests(f);
    header(f, "markr_http_requests_in_flight", "gauge", "Requests being served.");
    fprintf(f, "markr_http_requests_in_flight %lld\n", (long long)atomic_load(&m.in_flight));
    sample(f, "markr_http_connections", "gauge", "Open client connections.", g->connections);
    sample(f, "markr_stream_clients", "gauge", "Open event streams (aggregate streams and /events).", g->stream_clients);
    sample(f, "markr_cache_entries", "gauge", "Tests held by the aggregate cache (figures or a remembered 404).", g->cache_entries);
    sample(f, "markr_raw_downloads_in_flight", "gauge", "Raw downloads being streamed (GET /imports/{id}/raw).", g->raw_downloads);
    render_imports(f);
    sample(f, "markr_db_pool_connections", "gauge", "Worker threads, each with its own database connection.", g->pool_workers);
    sample(f, "markr_db_pool_in_use", "gauge", "Worker connections running a job.", g->pool_in_use);
    sample(f, "markr_db_pool_waiting", "gauge", "Jobs waiting for a worker connection.", g->pool_waiting);
    sample(f, "markr_jobs_skipped_total", "counter", "Reads whose client left before a worker took them: not run (writes run all the same).", g->jobs_skipped);
    sample(f, "markr_buffered_body_bytes", "gauge", "Request bodies held now (MARKR_MAX_BUFFERED_BYTES caps them).", g->buffered_bytes);
    sample(f, "markr_db_slow_queries_total", "counter", "Database operations slower than MARKR_SLOW_QUERY_MS.", atomic_load(&m.slow_queries));
    header(f, "markr_cache_evictions_total", "counter",
           "Idle aggregate cache entries evicted, least recently used first, to make room.");
    fprintf(f, "markr_cache_evictions_total %llu\n", (unsigned long long)atomic_load(&m.cache_evictions));
    header(f, "markr_stream_clients_cut_total", "counter",
           "Event stream clients disconnected for falling too far behind.");
    fprintf(f, "markr_stream_clients_cut_total %llu\n", (unsigned long long)atomic_load(&m.stream_clients_cut));
    sample(f, "markr_feed_connected", "gauge", "1 on the instance that holds the live feed with its stream open.",
           (unsigned long long)atomic_load(&m.feed_connected));
    header(f, "markr_feed_events_total", "counter", "Events of the live feed, by outcome.");
    fprintf(f, "markr_feed_events_total{outcome=\"accepted\"} %llu\n", (unsigned long long)atomic_load(&m.feed_accepted));
    fprintf(f, "markr_feed_events_total{outcome=\"refused\"} %llu\n", (unsigned long long)atomic_load(&m.feed_refused));
    fprintf(f, "markr_feed_events_total{outcome=\"ignored\"} %llu\n", (unsigned long long)atomic_load(&m.feed_ignored));
    sample(f, "markr_feed_reconnects_total", "counter", "Connections to the live feed made again after a drop or failure.",
           (unsigned long long)atomic_load(&m.feed_reconnects));
    render_replicas(f);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}
