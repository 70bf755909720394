/*
 * The import vault's benchmark. Talks to a running server (MARKR_BENCH_URL, pid
 * MARKR_BENCH_SERVER_PID for its memory) and runs the markr executable (MARKR_BINARY) against
 * DATABASE_URL. Prints, with the figures measured in the same run to compare them with:
 *   1. `markr reprocess --all` over N stored documents of 1,000 results each (N from
 *      MARKR_BENCH_DOCUMENTS, 1,000 by default), against importing them the first time;
 *   2. time to 202 of an asynchronous POST /import of a 100,000-result document (about
 *      172 MB), against the time the server takes to read the same body and refuse it (413:
 *      the transfer alone), and the server's memory growth (peak RSS) against the size.
 */
#include <curl/curl.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"

static const char *base_url, *conninfo, *binary;
static long server_pid;

/* A field of /proc/PID/status in kB (VmRSS, VmHWM). */
static long proc_kb(const char *field)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%ld/status", server_pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, field, strlen(field)) == 0 && line[strlen(field)] == ':')
            kb = atol(line + strlen(field) + 1);
    fclose(f);
    return kb;
}

/* A POST /import with this benchmark's headers: its content type varies (the baseline posts
 * text/plain, to be refused) and so does Prefer, so they are set per request and taken off
 * after it (both parts share the handle). */
static long post(CURL *curl, const char *type, int async, const char *body, size_t len, double *ms)
{
    struct curl_slist *headers = NULL;
    char ct[128];
    long status;

    snprintf(ct, sizeof(ct), "Content-Type: %s", type);
    headers = curl_slist_append(headers, ct);
    if (async)
        headers = curl_slist_append(headers, "Prefer: respond-async");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    status = bench_request(curl, base_url, "/import", body, len, ms);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(headers);
    return status;
}

/* A document shaped like the fixture: names, 20 answers per result. */
static char *make_document(const char *test_id, int results, int student_base, size_t *len)
{
    size_t cap = (size_t)results * 1900 + 64, off = 0;
    char *doc = malloc(cap);

    off += (size_t)snprintf(doc + off, cap - off, "<mcq-test-results>\n");
    for (int i = 0; i < results; ++i) {
        off += (size_t)snprintf(doc + off, cap - off,
                                "\t<mcq-test-result scanned-on=\"2017-12-04T12:12:10+11:00\">\n"
                                "\t\t<first-name>Student%d</first-name>\n\t\t<last-name>Number%d</last-name>\n"
                                "\t\t<student-number>%d</student-number>\n\t\t<test-id>%s</test-id>\n",
                                i % 97, i % 89, student_base + i, test_id);
        for (int q = 1; q <= 20; ++q)
            off += (size_t)snprintf(doc + off, cap - off,
                                    "\t\t<answer question=\"%d\" marks-available=\"1\" marks-awarded=\"%d\">%c</answer>\n",
                                    q, (i + q) % 2, 'A' + (i + q) % 4);
        off += (size_t)snprintf(doc + off, cap - off,
                                "\t\t<summary-marks available=\"20\" obtained=\"%d\" />\n\t</mcq-test-result>\n",
                                (i * 7) % 21);
    }
    off += (size_t)snprintf(doc + off, cap - off, "</mcq-test-results>\n");
    *len = off;
    return doc;
}

static char *sql_value(const char *sql)
{
    PGconn *conn = PQconnectdb(conninfo);
    PGresult *res = PQexec(conn, sql);
    char *v = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 ? strdup(PQgetvalue(res, 0, 0)) : NULL;

    PQclear(res);
    PQfinish(conn);
    return v;
}

/* Runs `markr ARGS...` with its output to /dev/null; returns the wall time in ms, or -1. */
static double run_markr(const char *a1, const char *a2)
{
    double start;
    int status;
    pid_t pid;

    fflush(stdout); /* the child must not print our buffered lines again */
    start = bench_now_ms();
    pid = fork();

    if (pid == 0) {
        if (freopen("/dev/null", "w", stdout) == NULL)
            _exit(126);
        execl(binary, binary, "reprocess", a1, a2, (char *)NULL);
        _exit(127);
    }
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? bench_now_ms() - start : -1;
}

static void bench_async(CURL *curl)
{
    size_t len;
    char *doc = make_document("async-100k", 100000, 1, &len);
    long rss_before = proc_kb("VmRSS"), hwm_before = proc_kb("VmHWM"), hwm_202, hwm_done;
    double ms_415, ms_202, waited = 0;
    char *status = NULL;
    long code;

    printf("2. asynchronous import of a 100,000-result document (%.1f MB)\n", (double)len / 1e6);
    code = post(curl, "text/plain", 0, doc, len, &ms_415);
    printf("   baseline, the same body refused with %ld after the server read it (transfer only): %.0f ms\n", code,
           ms_415);
    hwm_before = proc_kb("VmHWM");
    rss_before = proc_kb("VmRSS");
    code = post(curl, "text/xml+markr", 1, doc, len, &ms_202);
    hwm_202 = proc_kb("VmHWM");
    printf("   POST /import, Prefer: respond-async: %ld in %.0f ms (target: under 1000 ms)\n", code, ms_202);
    printf("   server memory: RSS %.0f MB before; peak %.0f MB after the 202 (growth %.0f MB = %.2f x the "
           "document; target under 2 x)\n",
           rss_before / 1024.0, hwm_202 / 1024.0, (hwm_202 - (hwm_before > rss_before ? hwm_before : rss_before)) / 1024.0,
           (double)(hwm_202 - (hwm_before > rss_before ? hwm_before : rss_before)) * 1024.0 / (double)len);
    for (; waited < 600000; waited += 100) {
        free(status);
        status = sql_value("SELECT status FROM imports WHERE content_type = 'text/xml+markr' ORDER BY id DESC LIMIT 1");
        if (status != NULL && strcmp(status, "queued") != 0 && strcmp(status, "processing") != 0)
            break;
        usleep(100000);
    }
    hwm_done = proc_kb("VmHWM");
    printf("   then %s after about %.1f s more in the queue; server peak through processing %.0f MB (%.2f x)\n",
           status != NULL ? status : "?", waited / 1000.0, hwm_done / 1024.0,
           (double)(hwm_done - rss_before) * 1024.0 / (double)len);
    free(status);
    free(doc);
}

static void bench_reprocess(CURL *curl, int documents)
{
    double import_ms = 0, reprocess_ms, dry_ms;

    printf("1. markr reprocess --all over %d stored documents of 1,000 results each\n", documents);
    for (int i = 0; i < documents; ++i) {
        char test[32];
        size_t len;
        char *doc;
        double ms;
        long code;

        snprintf(test, sizeof(test), "rb-%d", i % 50);
        doc = make_document(test, 1000, (i % 7) * 500, &len);
        if ((code = post(curl, "text/xml+markr", 0, doc, len, &ms)) != 201) {
            fprintf(stderr, "import %d answered %ld\n", i, code);
            exit(1);
        }
        import_ms += ms;
        free(doc);
    }
    printf("   baseline, importing them the first time (POST /import one after another): %.1f s (%.1f ms each)\n",
           import_ms / 1000, import_ms / documents);
    reprocess_ms = run_markr("--all", NULL);
    printf("   markr reprocess --all: %.1f s (%.2f x the import; target: 1.0 or less)\n", reprocess_ms / 1000,
           reprocess_ms / import_ms);
    dry_ms = run_markr("--all", "--dry-run");
    printf("   markr reprocess --all --dry-run: %.1f s\n", dry_ms / 1000);
}

int main(void)
{
    const char *docs = getenv("MARKR_BENCH_DOCUMENTS"), *pid = getenv("MARKR_BENCH_SERVER_PID");
    CURL *curl;

    base_url = getenv("MARKR_BENCH_URL");
    conninfo = getenv("DATABASE_URL");
    binary = getenv("MARKR_BINARY");
    if (base_url == NULL || conninfo == NULL || binary == NULL || pid == NULL) {
        fprintf(stderr, "set MARKR_BENCH_URL, MARKR_BENCH_SERVER_PID, MARKR_BINARY and DATABASE_URL "
                        "(scripts/bench-vault.sh does)\n");
        return 2;
    }
    server_pid = atol(pid);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 600L);
    /* Reprocessing first: the 100,000-result document would otherwise be part of it. */
    bench_reprocess(curl, docs != NULL ? atoi(docs) : 1000);
    bench_async(curl);
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    return 0;
}
