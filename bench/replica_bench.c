/*
 * The read-replica benchmark (ADR 0030; scripts/bench-replica.sh starts everything). Two
 * servers on one database: MARKR_BENCH_REPLICA_URL reads from a streaming standby,
 * MARKR_BENCH_PRIMARY_URL reads the primary alone. It seeds TESTS tests of STUDENTS marks in
 * SQL (DATABASE_URL), then, for each server in turn and under the same concurrent import
 * load (one client posting one-mark documents as fast as it is answered):
 *   1. views per second and their p99: GET /results/{id} of random tests, READERS clients;
 *   2. cold aggregates per second and their p99: GET /results/{id}/aggregate of tests never
 *      read before (each one computed by the database, none from the cache);
 *   3. the latency of an exact read right after an import: POST /import of a new test, then
 *      at once its aggregate (the LSN wait on the standby), median and p99.
 */
#include <curl/curl.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"

#define TESTS 4000
#define STUDENTS 200
#define READERS 4
#define VIEWS_PER_READER 400
#define PAIRS 200

static const char *conninfo;
static atomic_int loading;
static atomic_long imports_done;

/* The nearest rank, not bench_median's mean of the middle two: p50 and p99 follow one rule,
 * and the p50s stay comparable with the figures printed before. Sorts v in place. */
static double quantile(double *v, size_t n, double q)
{
    bench_sort(v, n);
    return v[(size_t)(q * (double)(n - 1) + 0.5)];
}

/* bench_request with this benchmark's headers: one handle posts and reads in turn
 * (run_pairs), so each request sets its own, a POST its Content-Type and a GET none. The
 * bodies here are strings. */
static long request(CURL *curl, const char *base, const char *path, const char *body, double *ms)
{
    struct curl_slist *headers = body != NULL ? curl_slist_append(NULL, "Content-Type: text/xml+markr") : NULL;
    long status;

    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    status = bench_request(curl, base, path, body, body != NULL ? strlen(body) : 0, ms);
    curl_slist_free_all(headers);
    return status;
}

static void import_one(CURL *curl, const char *base, const char *test, int obtained, double *ms)
{
    char doc[512];

    snprintf(doc, sizeof(doc),
             "<mcq-test-results><mcq-test-result><student-number>1</student-number><test-id>%s</test-id>"
             "<summary-marks available=\"100\" obtained=\"%d\"/></mcq-test-result></mcq-test-results>",
             test, obtained);
    if (request(curl, base, "/import", doc, ms) != 201) {
        fprintf(stderr, "replica_bench: an import failed\n");
        exit(1);
    }
}

/* The concurrent import load: one client, new marks of a few tests nobody reads. */
static void *load(void *arg)
{
    const char *base = arg;
    CURL *curl = curl_easy_init();
    long n = 0;

    while (atomic_load(&loading)) {
        char test[32];

        snprintf(test, sizeof(test), "load-%ld", n % 16);
        import_one(curl, base, test, (int)(n++ % 100), NULL);
        atomic_fetch_add(&imports_done, 1);
    }
    curl_easy_cleanup(curl);
    return NULL;
}

struct reader {
    const char *base;
    int kind;  /* 0: views, 1: cold aggregates */
    int first; /* of the tests it reads (cold aggregates: each once) */
    int count;
    double *ms;
    unsigned seed;
};

static void *read_loop(void *arg)
{
    struct reader *r = arg;
    CURL *curl = curl_easy_init();

    for (int i = 0; i < r->count; ++i) {
        char path[64];
        int test = r->kind == 0 ? rand_r(&r->seed) % TESTS : r->first + i;

        snprintf(path, sizeof(path), r->kind == 0 ? "/results/t%d" : "/results/t%d/aggregate", test);
        if (request(curl, r->base, path, NULL, &r->ms[i]) != 200) {
            fprintf(stderr, "replica_bench: GET %s failed\n", path);
            exit(1);
        }
    }
    curl_easy_cleanup(curl);
    return NULL;
}

/* READERS clients of one kind; prints requests per second and p99. */
static void run_readers(const char *name, const char *base, int kind, int *next_cold)
{
    struct reader r[READERS];
    pthread_t threads[READERS];
    int per = kind == 0 ? VIEWS_PER_READER : TESTS / 2 / READERS;
    double *all = calloc((size_t)READERS * (size_t)per, sizeof(*all)), start = bench_now_ms(), wall;

    for (int i = 0; i < READERS; ++i) {
        r[i] = (struct reader){.base = base, .kind = kind, .first = *next_cold + i * per, .count = per,
                               .ms = all + (size_t)i * (size_t)per, .seed = (unsigned)(i + 1) * 7919u};
        pthread_create(&threads[i], NULL, read_loop, &r[i]);
    }
    for (int i = 0; i < READERS; ++i)
        pthread_join(threads[i], NULL);
    wall = bench_now_ms() - start;
    if (kind == 1)
        *next_cold += READERS * per;
    printf("  %-8s %-16s %7.1f per s   p50 %6.1f ms   p99 %6.1f ms   (%d requests, %d clients)\n", name,
           kind == 0 ? "views" : "cold aggregates", (double)(READERS * per) * 1e3 / wall,
           quantile(all, (size_t)(READERS * per), 0.5), quantile(all, (size_t)(READERS * per), 0.99), READERS * per,
           READERS);
    free(all);
}

/* Import a new test, then read its aggregate at once: the read must see it. */
static void run_pairs(const char *name, const char *base, int round)
{
    CURL *curl = curl_easy_init();
    double reads[PAIRS], imports[PAIRS];

    for (int i = 0; i < PAIRS; ++i) {
        char test[48], path[96];

        snprintf(test, sizeof(test), "pair-%d-%d", round, i);
        import_one(curl, base, test, 50, &imports[i]);
        snprintf(path, sizeof(path), "/results/%s/aggregate", test);
        if (request(curl, base, path, NULL, &reads[i]) != 200) {
            fprintf(stderr, "replica_bench: a read right after its import missed it\n");
            exit(1);
        }
    }
    printf("  %-8s %-16s p50 %6.2f ms   p99 %6.2f ms   (import p50 %.1f ms; %d pairs)\n", name,
           "read after 201", quantile(reads, PAIRS, 0.5), quantile(reads, PAIRS, 0.99), quantile(imports, PAIRS, 0.5),
           PAIRS);
    curl_easy_cleanup(curl);
}

static void seed(void)
{
    PGconn *conn = PQconnectdb(conninfo);
    char sql[512];
    PGresult *res;

    snprintf(sql, sizeof(sql),
             "INSERT INTO marks (test_id, student_number, available, obtained, import_id) "
             "SELECT 't' || t, s::text, 100, (t * 7 + s * 13) %% 101, 0 "
             "FROM generate_series(0, %d) t, generate_series(1, %d) s",
             TESTS - 1, STUDENTS);
    res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        fprintf(stderr, "replica_bench: seeding failed: %s", PQerrorMessage(conn));
        exit(1);
    }
    PQclear(res);
    PQclear(PQexec(conn, "ANALYZE marks"));
    /* Marks written behind markr's back are announced as an operator must (ADR 0012); with
     * standbys the servers then make their reads wait for the rows (ADR 0030). */
    PQclear(PQexec(conn, "SELECT pg_notify('markr_changes', '{\"import_id\":0,\"flush\":true}')"));
    PQfinish(conn);
}

/* Until base (reading from its standby) has heard of the seed and answers it. */
static void wait_seen(const char *base)
{
    CURL *curl = curl_easy_init();
    char path[64];
    double until = bench_now_ms() + 30000;

    snprintf(path, sizeof(path), "/results/t%d", TESTS - 1);
    while (request(curl, base, path, NULL, NULL) != 200) {
        struct timespec pause = {.tv_nsec = 20 * 1000000L};

        if (bench_now_ms() > until) {
            fprintf(stderr, "replica_bench: the seed did not reach %s within 30 s\n", base);
            exit(1);
        }
        nanosleep(&pause, NULL);
    }
    curl_easy_cleanup(curl);
}

int main(void)
{
    const char *bases[2] = {getenv("MARKR_BENCH_REPLICA_URL"), getenv("MARKR_BENCH_PRIMARY_URL")};
    const char *names[2] = {"standby", "primary"};
    int next_cold = 0;

    conninfo = getenv("DATABASE_URL");
    if (bases[0] == NULL || bases[1] == NULL || conninfo == NULL) {
        fprintf(stderr, "replica_bench: set MARKR_BENCH_REPLICA_URL, MARKR_BENCH_PRIMARY_URL and DATABASE_URL\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    seed();
    wait_seen(bases[0]);
    printf("read replicas: %d tests of %d students; reads under one concurrent importing client\n", TESTS,
           STUDENTS);
    for (int round = 0; round < 2; ++round) {
        for (int s = 0; s < 2; ++s) {
            pthread_t loader;
            long before = atomic_load(&imports_done);
            double start = bench_now_ms();

            atomic_store(&loading, 1);
            pthread_create(&loader, NULL, load, (void *)bases[s]);
            run_readers(names[s], bases[s], 0, &next_cold);
            if (round == 0)
                run_readers(names[s], bases[s], 1, &next_cold);
            atomic_store(&loading, 0);
            pthread_join(loader, NULL);
            printf("  %-8s %-16s %7.1f per s meanwhile\n", names[s], "imports",
                   (double)(atomic_load(&imports_done) - before) * 1e3 / (bench_now_ms() - start));
            run_pairs(names[s], bases[s], round * 2 + s);
        }
    }
    curl_global_cleanup();
    return 0;
}
