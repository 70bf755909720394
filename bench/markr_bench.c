/*
 * Markr's benchmark. Talks to a running server (MARKR_BENCH_URL) and its database
 * (DATABASE_URL), and prints:
 *   1. end-to-end time of a 10,000-result import (sample-shaped: names, 20 answers each);
 *   2. GET /results/{id}/aggregate over a one-million-student test, against the bare
 *      percentile_cont statement over the same rows, timed in the same run;
 *   3. the worst /health latency while that aggregate runs.
 * Figures are medians of several runs; the machine is noisy, so ratios matter more than ms.
 */
#include <curl/curl.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_doc.h"
#include "bench_util.h"

#define RESULTS 10000
#define IMPORT_RUNS 7
#define BIG_STUDENTS 1000000
#define AGGREGATE_RUNS 7

static const char *base_url;
static const char *conninfo;

static void bench_import(void)
{
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: text/xml+markr");
    double ms[IMPORT_RUNS], middle;
    size_t len;
    char *doc = NULL;

    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    for (int run = 0; run < IMPORT_RUNS; ++run) {
        char test_id[64];
        long status;

        /* A new test each run: every import inserts 10,000 new marks, the expensive case. */
        snprintf(test_id, sizeof(test_id), "bench-import-%ld-%d", (long)time(NULL), run);
        free(doc);
        doc = bench_document(test_id, RESULTS, 20, 0, &len);
        if ((status = bench_request(curl, base_url, "/import", doc, len, &ms[run])) != 201) {
            fprintf(stderr, "import answered %ld\n", status);
            exit(1);
        }
    }
    middle = bench_median(ms, IMPORT_RUNS); /* sorts ms: ms[0] is then the best run */
    printf("import of %d results (%.1f MB, names + 20 answers each): median %.1f ms, best %.1f ms over %d runs "
           "(target <= 250 ms)\n",
           RESULTS, (double)len / 1e6, middle, ms[0], IMPORT_RUNS);
    free(doc);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
}

static PGconn *db(void)
{
    PGconn *conn = PQconnectdb(conninfo);

    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "%s", PQerrorMessage(conn));
        exit(1);
    }
    return conn;
}

/* One million marks for one test, loaded in SQL (an import row stands for their source). */
static void load_big_test(PGconn *conn, const char *test_id)
{
    const char *params[] = {test_id};
    PGresult *res = PQexecParams(conn, "SELECT count(*) FROM marks WHERE test_id = $1", 1, NULL, params, NULL, NULL, 0);
    long have = atol(PQgetvalue(res, 0, 0));

    PQclear(res);
    if (have == BIG_STUDENTS)
        return;
    bench_exec_params_or_die(conn,
                             "WITH imp AS (INSERT INTO imports (content_type, size_bytes, sha256, status, "
                             "result_count) VALUES ('text/xml+markr', 0, sha256(''::bytea), 'accepted', 1000000) "
                             "RETURNING id) "
                             "INSERT INTO marks (test_id, student_number, first_name, last_name, available, "
                             "obtained, import_id) "
                             "SELECT $1, lpad(g::text, 9, '0'), 'First', 'Last', 20, (g::bigint * 7919) % 21, imp.id "
                             "FROM imp, generate_series(1, 1000000) g",
                             1, params);
    bench_exec_params_or_die(conn, "VACUUM ANALYZE marks", 0, NULL);
}

struct health_probe {
    volatile int running;
    double worst, samples;
};

static void *probe_health(void *arg)
{
    struct health_probe *p = arg;
    CURL *curl = curl_easy_init();

    while (p->running) {
        double ms;

        if (bench_request(curl, base_url, "/health", NULL, 0, &ms) != 200) {
            fprintf(stderr, "/health failed\n");
            exit(1);
        }
        if (ms > p->worst)
            p->worst = ms;
        p->samples += 1;
        nanosleep(&(struct timespec){.tv_nsec = 2000000}, NULL);
    }
    curl_easy_cleanup(curl);
    return NULL;
}

/* An unchanged test's aggregate is answered from the cache; this benchmark
 * measures the computation, so every timed request follows a flush notification (as an
 * import would send) and a pause longer than its delivery (a few ms, ADR 0012). */
static void flush_cache(PGconn *conn)
{
    bench_exec_params_or_die(conn, "SELECT pg_notify('markr_changes', '{\"import_id\":0,\"flush\":true}')", 0,
                             NULL);
    nanosleep(&(struct timespec){.tv_nsec = 50000000}, NULL);
}

static void bench_aggregate(void)
{
    const char *test_id = "bench-1m";
    const char *params[] = {test_id};
    PGconn *conn = db();
    CURL *curl = curl_easy_init();
    double api[AGGREGATE_RUNS], bare[AGGREGATE_RUNS], ms, api_ms, bare_ms;
    struct health_probe probe = {.running = 1};
    pthread_t prober;

    load_big_test(conn, test_id);
    /* The same memory markr's own connections sort with (src/interfaces/pg/pg_conn.c). */
    bench_exec_params_or_die(conn, "SET work_mem = '64MB'", 0, NULL);
    /* Warm the server and the table's pages. */
    bench_request(curl, base_url, "/results/bench-1m/aggregate", NULL, 0, &ms);
    for (int run = 0; run < AGGREGATE_RUNS; ++run) {
        double start = bench_now_ms();

        bench_exec_params_or_die(conn,
                                 "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY 100.0::float8 * obtained / "
                                 "available) FROM marks WHERE test_id = $1",
                                 1, params);
        bare[run] = bench_now_ms() - start;
        flush_cache(conn);
        if (bench_request(curl, base_url, "/results/bench-1m/aggregate", NULL, 0, &api[run]) != 200) {
            fprintf(stderr, "aggregate failed\n");
            exit(1);
        }
    }
    api_ms = bench_median(api, AGGREGATE_RUNS);
    bare_ms = bench_median(bare, AGGREGATE_RUNS);
    printf("aggregate over %d students: GET median %.1f ms; bare percentile_cont (same work_mem) median %.1f ms; "
           "ratio %.2f (target <= 1.2)\n",
           BIG_STUDENTS, api_ms, bare_ms, api_ms / bare_ms);

    pthread_create(&prober, NULL, probe_health, &probe);
    for (int run = 0; run < 3; ++run) {
        flush_cache(conn);
        bench_request(curl, base_url, "/results/bench-1m/aggregate", NULL, 0, &ms);
    }
    probe.running = 0;
    pthread_join(prober, NULL);
    printf("/health while the aggregate runs: worst %.1f ms over %.0f requests (target <= 20 ms)\n", probe.worst,
           probe.samples);
    curl_easy_cleanup(curl);
    PQfinish(conn);
}

int main(void)
{
    base_url = getenv("MARKR_BENCH_URL");
    conninfo = getenv("DATABASE_URL");
    if (base_url == NULL || conninfo == NULL) {
        fprintf(stderr, "usage: MARKR_BENCH_URL=http://127.0.0.1:8085 DATABASE_URL=... markr_bench "
                        "(or simply: make bench)\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    printf("markr benchmark, %ld cores; reproduce with: make bench\n", sysconf(_SC_NPROCESSORS_ONLN));
    bench_import();
    bench_aggregate();
    curl_global_cleanup();
    return 0;
}
