/*
 * Item analysis benchmark (make bench-items; bench/README.md). Talks to a running server
 * (MARKR_BENCH_URL) and its database (DATABASE_URL):
 *   items   (default) loads a 100,000-student, 20-question test in SQL (answers that follow
 *           a simulated ability), then times GET /results/bench-items/items cold (the cache
 *           flushed before each, 7 runs) and cached (201 runs), and prints the bytes the
 *           sheets take per stored answer. Targets: cold <= 1.5 s, cached median <= 1 ms.
 *   import  times POST /import of sample-shaped 10,000-result documents (names, 20 answers
 *           each; a new test each run), median and best of MARKR_BENCH_RUNS (7): run it
 *           against two servers in turn to compare builds.
 */
#include <curl/curl.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"

#define STUDENTS 100000
#define COLD_RUNS 7
#define CACHED_RUNS 201
#define RESULTS 10000

static const char *base_url;

static char *value(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    char *v;

    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        fprintf(stderr, "bench: %s\n%s", sql, PQerrorMessage(conn));
        exit(1);
    }
    v = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return v;
}

/* Sheets in the layout the server writes (questions in byte order): ability a per student,
 * question q right with probability rising with a - difficulty, wrong answers among the
 * three other options. */
static const char load_sql[] =
    "BEGIN;\n"
    "DELETE FROM marks WHERE test_id = 'bench-items';\n"
    "CREATE TEMPORARY TABLE bench_answers ON COMMIT DROP AS\n"
    "SELECT s, q, CASE WHEN right_ THEN 1 ELSE 0 END AS aw,\n"
    "       CASE WHEN right_ THEN chr(65 + q % 4) ELSE chr(65 + (q + 1 + (random() * 2.99)::int) % 4) END AS r\n"
    "FROM (SELECT s, q, random() < 1 / (1 + exp(-(4 * a - (q - 10) / 5.0))) AS right_\n"
    "      FROM (SELECT s, random() - 0.5 AS a FROM generate_series(1, 100000) AS s) AS st,\n"
    "           generate_series(0, 19) AS q) AS x;\n"
    "INSERT INTO marks (test_id, student_number, available, obtained, import_id, sheet_import_id, sheet_total,\n"
    "                   sheet_questions, sheet_responses, sheet_awarded, sheet_available)\n"
    "SELECT 'bench-items', lpad(s::text, 8, '0'), 20, sum(aw), 0, 0, sum(aw), array_agg(q::text ORDER BY q::text),\n"
    "       array_agg(r ORDER BY q::text), array_agg(aw ORDER BY q::text), array_agg(1 ORDER BY q::text)\n"
    "FROM bench_answers GROUP BY s;\n"
    "COMMIT;\n";

static void bench_items(PGconn *conn)
{
    CURL *curl = curl_easy_init();
    double cold[COLD_RUNS], cached[CACHED_RUNS], ms;
    char *bytes, *answers;

    printf("loading bench-items: %d students x 20 questions, in SQL\n", STUDENTS);
    bench_exec_or_die(conn, load_sql);
    bench_exec_or_die(conn, "VACUUM ANALYZE marks"); /* the visibility map, as a settled table has */
    /* The sheet's columns of the marks rows (migration 0014): the row's header and key are
     * the mark's, which it had before. */
    bytes = value(conn, "SELECT sum(pg_column_size(sheet_import_id) + pg_column_size(sheet_total)\n"
                        "    + pg_column_size(sheet_questions) + pg_column_size(sheet_responses)\n"
                        "    + pg_column_size(sheet_awarded) + pg_column_size(sheet_available))\n"
                        "FROM marks WHERE test_id = 'bench-items'");
    answers = value(conn, "SELECT sum(cardinality(sheet_questions)) FROM marks WHERE test_id = 'bench-items'");
    printf("sheets: %s bytes for %s answers (the marks rows' sheet columns): %.1f bytes per stored answer\n",
           bytes, answers, strtod(bytes, NULL) / strtod(answers, NULL));
    for (int run = 0; run < COLD_RUNS; ++run) {
        /* The cache drops everything on a flush; 50 ms lets the notification arrive. */
        bench_exec_or_die(conn, "SELECT pg_notify('markr_changes', '{\"import_id\":0,\"flush\":true}')");
        nanosleep(&(struct timespec){.tv_nsec = 50000000}, NULL);
        if (bench_request(curl, base_url, "/results/bench-items/items", NULL, 0, &cold[run]) != 200) {
            fprintf(stderr, "items failed\n");
            exit(1);
        }
    }
    bench_request(curl, base_url, "/results/bench-items/items", NULL, 0, &ms); /* the entry is held from here */
    for (int run = 0; run < CACHED_RUNS; ++run)
        if (bench_request(curl, base_url, "/results/bench-items/items", NULL, 0, &cached[run]) != 200) {
            fprintf(stderr, "items failed\n");
            exit(1);
        }
    ms = bench_median(cold, COLD_RUNS); /* sorts: cold[0] is then the best */
    printf("GET /results/bench-items/items cold: median %.1f ms, best %.1f ms of %d (target <= 1500 ms)\n", ms,
           cold[0], COLD_RUNS);
    printf("GET /results/bench-items/items cached: median %.3f ms of %d (target <= 1 ms)\n",
           bench_median(cached, CACHED_RUNS), CACHED_RUNS);
    free(bytes);
    free(answers);
    curl_easy_cleanup(curl);
}

/* A document shaped like the fixture (as bench/markr_bench.c makes it). */
static char *make_document(const char *test_id, size_t *len)
{
    size_t cap = (size_t)RESULTS * 2048, off = 0;
    char *doc = malloc(cap);
    unsigned seed = 42;

    off += (size_t)sprintf(doc + off, "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<mcq-test-results>\n");
    for (int i = 0; i < RESULTS; ++i) {
        int obtained = 0;

        off += (size_t)sprintf(doc + off,
                               "\t<mcq-test-result scanned-on=\"2017-12-04T12:12:10+11:00\">\n"
                               "\t\t<first-name>First%d</first-name>\n\t\t<last-name>Last%d</last-name>\n"
                               "\t\t<student-number>%09d</student-number>\n\t\t<test-id>%s</test-id>\n",
                               i, i, i, test_id);
        for (int q = 0; q < 20; ++q) {
            int awarded = rand_r(&seed) % 2;

            obtained += awarded;
            off += (size_t)sprintf(doc + off,
                                   "\t\t<answer question=\"%d\" marks-available=\"1\" marks-awarded=\"%d\">%c</answer>\n",
                                   q, awarded, 'A' + rand_r(&seed) % 4);
        }
        off += (size_t)sprintf(doc + off,
                               "\t\t<summary-marks available=\"20\" obtained=\"%d\" />\n\t</mcq-test-result>\n",
                               obtained);
    }
    off += (size_t)sprintf(doc + off, "</mcq-test-results>\n");
    *len = off;
    return doc;
}

static void bench_import(void)
{
    const char *runs_env = getenv("MARKR_BENCH_RUNS");
    int runs = runs_env != NULL ? atoi(runs_env) : 7;
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: text/xml+markr");
    double *ms = calloc((size_t)(runs > 0 ? runs : 1), sizeof(*ms)), middle;
    size_t len = 0;

    if (runs < 1 || ms == NULL)
        exit(2);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    for (int run = 0; run < runs; ++run) {
        char test_id[64];
        char *doc;
        long status;

        snprintf(test_id, sizeof(test_id), "bench-import-%ld-%d", (long)time(NULL), run);
        doc = make_document(test_id, &len);
        status = bench_request(curl, base_url, "/import", doc, len, &ms[run]);
        free(doc);
        if (status != 201) {
            fprintf(stderr, "import answered %ld\n", status);
            exit(1);
        }
    }
    middle = bench_median(ms, (size_t)runs);
    printf("import of %d results (%.1f MB, names + 20 answers each) to %s: median %.1f ms, best %.1f ms of %d\n",
           RESULTS, (double)len / 1e6, base_url, middle, ms[0], runs);
    free(ms);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "items";
    const char *conninfo = getenv("DATABASE_URL");

    base_url = getenv("MARKR_BENCH_URL");
    if (base_url == NULL || (strcmp(mode, "import") != 0 && (strcmp(mode, "items") != 0 || conninfo == NULL))) {
        fprintf(stderr, "usage: MARKR_BENCH_URL=http://127.0.0.1:8085 DATABASE_URL=... items_bench [items|import] "
                        "(or simply: make bench-items)\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (strcmp(mode, "import") == 0) {
        bench_import();
    } else {
        PGconn *conn = PQconnectdb(conninfo);

        if (PQstatus(conn) != CONNECTION_OK) {
            fprintf(stderr, "bench: %s", PQerrorMessage(conn));
            return 1;
        }
        bench_items(conn);
        PQfinish(conn);
    }
    curl_global_cleanup();
    return 0;
}
