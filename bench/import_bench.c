/*
 * The import path against the database's own work (scripts/bench-import.sh runs it next to
 * pgbench and xmllint and prints the ratios). Talks to a running server (MARKR_BENCH_URL):
 *   import_bench single RUNS FILE       RUNS imports of a 30-result document, one after
 *                                       another on one connection: prints "p50_ms=... runs=..."
 *                                       and writes the first document to FILE (the body of
 *                                       pgbench's transaction)
 *   import_bench concurrent CLIENTS S   CLIENTS threads importing 30-result documents for S
 *                                       seconds: prints "imports_per_s=... imports=..."
 *   import_bench big RUNS FILE          RUNS imports of a 10,000-result document (each a new
 *                                       test): prints "p50_ms=..."; writes it to FILE
 * Every import is of a new test, so each stores new marks (the same work pgbench does).
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_doc.h"
#include "bench_util.h"

#define SMALL_RESULTS 30
#define SMALL_ANSWERS 3 /* about 16 KiB: the body of pgbench's transaction */
#define BIG_RESULTS 10000
#define BIG_ANSWERS 20

static const char *base_url;
static atomic_long next_test;

/* A handle posting markr documents, reused for every import of one client. */
static CURL *importer(struct curl_slist **headers)
{
    CURL *curl = curl_easy_init();

    if (curl == NULL)
        exit(1);
    *headers = curl_slist_append(NULL, "Content-Type: text/xml+markr");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, *headers);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    return curl;
}

/* One import; exits unless it is answered 201. Sets *ms, unless ms is NULL, to its time. */
static void import(CURL *curl, const char *doc, size_t len, double *ms)
{
    long status = bench_request(curl, base_url, "/import", doc, len, ms);

    if (status != 201) {
        fprintf(stderr, "import_bench: import answered %ld\n", status);
        exit(1);
    }
}

/* A document of a test never imported before (ids of one length, so sizes stay equal). */
static char *fresh_document(int results, int answers, size_t *len)
{
    char test_id[64];

    snprintf(test_id, sizeof(test_id), "bench-%08ld-%010ld", (long)getpid() % 100000000,
             atomic_fetch_add(&next_test, 1));
    return bench_document(test_id, results, answers, 1, len);
}

static void save(const char *path, const char *doc, size_t len)
{
    FILE *f = fopen(path, "wb");

    if (f == NULL || fwrite(doc, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "import_bench: cannot write %s\n", path);
        exit(1);
    }
}

static void sequential(int runs, int results, int answers, const char *path)
{
    struct curl_slist *headers;
    CURL *curl = importer(&headers);
    double *ms = calloc((size_t)runs, sizeof(*ms));
    size_t len = 0;

    for (int run = 0; run < runs; ++run) {
        char *doc = fresh_document(results, answers, &len);

        import(curl, doc, len, &ms[run]);
        if (run == 0)
            save(path, doc, len);
        free(doc);
    }
    printf("p50_ms=%.3f runs=%d bytes=%zu\n", bench_median(ms, (size_t)runs), runs, len);
    free(ms);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
}

struct client {
    pthread_t thread;
    double until;
    long imports;
};

static void *client_run(void *arg)
{
    struct client *c = arg;
    struct curl_slist *headers;
    CURL *curl = importer(&headers);

    while (bench_now_ms() < c->until) {
        size_t len;
        char *doc = fresh_document(SMALL_RESULTS, SMALL_ANSWERS, &len);

        import(curl, doc, len, NULL);
        free(doc);
        c->imports++;
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return NULL;
}

static void concurrent(int clients, double seconds)
{
    struct client *c = calloc((size_t)clients, sizeof(*c));
    double start = bench_now_ms(), elapsed;
    long total = 0;

    for (int i = 0; i < clients; ++i) {
        c[i].until = start + seconds * 1e3;
        pthread_create(&c[i].thread, NULL, client_run, &c[i]);
    }
    for (int i = 0; i < clients; ++i) {
        pthread_join(c[i].thread, NULL);
        total += c[i].imports;
    }
    elapsed = (bench_now_ms() - start) / 1e3;
    printf("imports_per_s=%.1f imports=%ld clients=%d seconds=%.2f\n", (double)total / elapsed, total, clients,
           elapsed);
    free(c);
}

int main(int argc, char **argv)
{
    base_url = getenv("MARKR_BENCH_URL");
    if (base_url == NULL || argc != 4) {
        fprintf(stderr, "usage: MARKR_BENCH_URL=http://127.0.0.1:8085 import_bench single RUNS FILE | "
                        "concurrent CLIENTS SECONDS | big RUNS FILE\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (strcmp(argv[1], "single") == 0)
        sequential(atoi(argv[2]), SMALL_RESULTS, SMALL_ANSWERS, argv[3]);
    else if (strcmp(argv[1], "concurrent") == 0)
        concurrent(atoi(argv[2]), atof(argv[3]));
    else if (strcmp(argv[1], "big") == 0)
        sequential(atoi(argv[2]), BIG_RESULTS, BIG_ANSWERS, argv[3]);
    else
        return 2;
    curl_global_cleanup();
    return 0;
}
