/*
 * End to end: what a request may cost. A body over MARKR_MAX_BODY_BYTES is refused from its
 * headers alone (413 before one byte of it is sent, the connection closed), asynchronous or
 * not; the lower MARKR_MAX_ASYNC_BODY_BYTES applies to asynchronous imports (its 413 comes
 * after the whole body, and keeps the connection); bodies held at once are capped
 * (MARKR_MAX_BUFFERED_BYTES: 503 with Retry-After, the cap given back afterwards); GET /tests
 * walks 50,000 tests page by page; and 100 heavy GET /tests whose clients leave at once
 * neither stall /health (every poll under 50 ms) nor run their queries. A write is never
 * lost to its client's socket (ADR 0016): an import whose client half-closed while it waited
 * for a worker is stored and answered 201 on the half-closed socket, while a GET beside it
 * is still skipped (499); imports, synchronous and queued, whose clients closed before a
 * worker took them are stored all the same, and the log says so; so is a reprocessing
 * whose operator closed, while its dry run, a read, is skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <json-c/json.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "test_db.h"

#define MEDIA_TYPE "text/xml+markr"
#define BODY_LIMIT 100000  /* MARKR_MAX_BODY_BYTES */
#define ASYNC_LIMIT 50000  /* MARKR_MAX_ASYNC_BODY_BYTES */
#define BUFFERED_CAP 100000 /* MARKR_MAX_BUFFERED_BYTES: one body of 60 kB fits, two do not */
#define LOAD_TESTS 50000
#define LEAVERS 100
#define WAIT_MS 30000 /* generous: the machine is shared */
#define ADMIN_TOKEN "e2e-limits-admin-token-0123"

static char *conninfo;
static struct markr_server srv;
static const char *const async_header[] = {"Prefer: respond-async", NULL};

static double now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

static int connect_to(const struct markr_server *s)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *text, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, text, len, MSG_NOSIGNAL);

        if (n <= 0)
            return -1;
        text += n;
        len -= (size_t)n;
    }
    return 0;
}

/* A document of `results` results of test test_id (each about 200 bytes). */
static char *make_doc(const char *test_id, int results, size_t *len)
{
    size_t cap = 64 + (size_t)results * 256, n = 0;
    char *doc = malloc(cap);

    n += (size_t)snprintf(doc + n, cap - n, "<mcq-test-results>");
    for (int i = 0; i < results; ++i)
        n += (size_t)snprintf(doc + n, cap - n,
                              "<mcq-test-result><first-name>F</first-name><last-name>L</last-name>"
                              "<student-number>%06d</student-number><test-id>%s</test-id>"
                              "<summary-marks available=\"20\" obtained=\"%d\"/></mcq-test-result>",
                              i, test_id, i % 21);
    n += (size_t)snprintf(doc + n, cap - n, "</mcq-test-results>");
    *len = n;
    return doc;
}

/* The value of a metric line "name value" of GET /metrics, or -1. */
static long long metric(const char *name)
{
    struct e2e_response r;
    char key[128];
    const char *at;
    long long v = -1;

    if (e2e_http(&srv, "GET", "/metrics", NULL, NULL, 0, &r) != 0)
        return -1;
    snprintf(key, sizeof(key), "\n%s ", name);
    if ((at = strstr(r.body, key)) != NULL)
        v = atoll(at + strlen(key));
    e2e_response_free(&r);
    return v;
}

/* Waits (up to 30 s) until metric name equals want. Returns 1 when it did. */
static int await_metric(const char *name, long long want)
{
    for (double end = now_ms() + 30000; now_ms() < end;) {
        struct pollfd none = {.fd = -1};

        if (metric(name) == want)
            return 1;
        poll(&none, 1, 5); /* a short pause between polls, not a wait for the condition */
    }
    return 0;
}

static int suite_setup(void **state)
{
    char body[64], async[64], buffered[64];
    const char *env[] = {body, async, buffered, "MARKR_WORKERS=2", "MARKR_ADMIN_TOKEN=" ADMIN_TOKEN, NULL};

    snprintf(body, sizeof(body), "MARKR_MAX_BODY_BYTES=%d", BODY_LIMIT);
    snprintf(async, sizeof(async), "MARKR_MAX_ASYNC_BODY_BYTES=%d", ASYNC_LIMIT);
    snprintf(buffered, sizeof(buffered), "MARKR_MAX_BUFFERED_BYTES=%d", BUFFERED_CAP);
    return e2e_suite_start("e2e_limits", env, &srv, &conninfo);
}

static int suite_teardown(void **state)
{
    return e2e_suite_stop(&srv, conninfo);
}

/* --- body limits ----------------------------------------------------------------------------- */

/* Headers only, declaring one byte over MARKR_MAX_BODY_BYTES: the 413 comes before any byte
 * of the body is sent, with or without Prefer: respond-async. */
static void declared_length_over_the_limit_is_413_before_the_body(void **state)
{
    for (int async = 0; async <= 1; ++async) {
        char head[512], answer[4096];
        int fd = connect_to(&srv), got;

        assert_true(fd >= 0);
        snprintf(head, sizeof(head),
                 "POST /import HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " MEDIA_TYPE
                 "\r\n%sContent-Length: %d\r\n\r\n",
                 async ? "Prefer: respond-async\r\n" : "", BODY_LIMIT + 1);
        assert_int_equal(send_all(fd, head, strlen(head)), 0);
        got = e2e_read_until(fd, answer, sizeof(answer), "MARKR_MAX_BODY_BYTES", 10000);
        if (!got)
            print_error("ERROR: no 413 before the body (async %d): \"%s\"\n", async, answer);
        assert_true(got);
        assert_memory_equal(answer, "HTTP/1.1 413", 12);
        assert_non_null(strstr(answer, "payload_too_large"));
        /* It says how much fits. */
        assert_non_null(strstr(answer, "larger than this server's limit of 100000 bytes (MARKR_MAX_BODY_BYTES)"));
        /* The body was never read: the connection closes, so none of it is read as a
         * request. */
        assert_non_null(strstr(answer, "Connection: close"));
        assert_true(e2e_peer_closes(fd, 30000));
        close(fd);
    }
}

/* A body over MARKR_MAX_ASYNC_BODY_BYTES but within MARKR_MAX_BODY_BYTES is read whole by
 * h2o before markr refuses it: after that 413 nothing of the body is left to be read, the
 * connection is kept, and a request pipelined behind the body is served. */
static void a_413_after_the_whole_body_keeps_the_connection(void **state)
{
    static const char get[] = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    size_t len, head_len;
    char *doc = make_doc("limits-async-kept", 300, &len), head[512], answer[8192], *request;
    const char *second;
    int fd = connect_to(&srv);

    (void)state;
    assert_true(fd >= 0);
    assert_true(len > ASYNC_LIMIT && len < BODY_LIMIT);
    head_len = (size_t)snprintf(head, sizeof(head),
                                "POST /import HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " MEDIA_TYPE
                                "\r\nPrefer: respond-async\r\nContent-Length: %zu\r\n\r\n",
                                len);
    assert_non_null(request = malloc(head_len + len + sizeof(get)));
    memcpy(request, head, head_len);
    memcpy(request + head_len, doc, len);
    memcpy(request + head_len + len, get, sizeof(get));
    assert_int_equal(send_all(fd, request, head_len + len + strlen(get)), 0);
    assert_true(e2e_read_answers(fd, answer, sizeof(answer), 2, 30000));
    close(fd);
    assert_memory_equal(answer, "HTTP/1.1 413", 12);
    assert_non_null(strstr(answer, "(MARKR_MAX_ASYNC_BODY_BYTES)"));
    assert_non_null(second = e2e_answer(answer, 1));
    assert_memory_equal(second, "HTTP/1.1 200", 12);
    assert_non_null(strstr(answer, "Connection: keep-alive"));
    assert_true(strstr(answer, "Connection: keep-alive") < second);
    free(request);
    free(doc);
}

/* MARKR_MAX_ASYNC_BODY_BYTES lowers the limit of asynchronous imports only. */
static void the_asynchronous_limit_is_lower(void **state)
{
    size_t len;
    char *doc = make_doc("limits-async", 300, &len); /* about 60 kB */
    struct e2e_response r;

    assert_true(len > ASYNC_LIMIT && len < BODY_LIMIT);
    assert_int_equal(e2e_http_with(&srv, "POST", "/import", MEDIA_TYPE, async_header, doc, len, &r), 0);
    assert_int_equal(r.status, 413);
    assert_non_null(strstr(r.body, "limit of 50000 bytes (MARKR_MAX_ASYNC_BODY_BYTES)"));
    e2e_response_free(&r);
    assert_int_equal(e2e_http(&srv, "POST", "/import", MEDIA_TYPE, doc, len, &r), 0);
    assert_int_equal(r.status, 201);
    e2e_response_free(&r);
    free(doc);
}

struct held_post {
    const char *doc;
    size_t len;
    long status;
};

static void *post_in_thread(void *arg)
{
    struct held_post *p = arg;
    struct e2e_response r;

    p->status = e2e_http(&srv, "POST", "/import", MEDIA_TYPE, p->doc, p->len, &r) == 0 ? r.status : -1;
    if (p->status != -1)
        e2e_response_free(&r);
    return NULL;
}

/* A document held by a worker (the vault table is locked) counts against the cap: a second
 * one that would pass it is 503 with Retry-After; once the first is stored the cap is free. */
static void bodies_held_at_once_are_capped(void **state)
{
    size_t len;
    char *doc = make_doc("limits-held", 300, &len);
    struct held_post first = {.doc = doc, .len = len};
    PGconn *lock = PQconnectdb(conninfo);
    PGresult *res;
    pthread_t thread;
    struct e2e_response r;

    assert_true(len * 2 > BUFFERED_CAP && len < BUFFERED_CAP);
    assert_int_equal(PQstatus(lock), CONNECTION_OK);
    res = PQexec(lock, "BEGIN; LOCK TABLE imports IN ACCESS EXCLUSIVE MODE");
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    assert_int_equal(pthread_create(&thread, NULL, post_in_thread, &first), 0);
    assert_true(await_metric("markr_buffered_body_bytes", (long long)len));

    assert_int_equal(e2e_http(&srv, "POST", "/import", MEDIA_TYPE, doc, len, &r), 0);
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.body, "\"error\":\"overloaded\""));
    assert_non_null(strstr(r.body, "MARKR_MAX_BUFFERED_BYTES"));
    /* Every 5xx gives the request id, in the message and on its own. */
    assert_true(strlen(r.request_id) > 0);
    {
        char needle[256];

        snprintf(needle, sizeof(needle), "(request id %s)\",\"request_id\":\"%s\"", r.request_id, r.request_id);
        assert_non_null(strstr(r.body, needle));
    }
    assert_string_equal(r.retry_after, "1");
    e2e_response_free(&r);

    res = PQexec(lock, "COMMIT");
    PQclear(res);
    PQfinish(lock);
    pthread_join(thread, NULL);
    assert_int_equal(first.status, 201);
    assert_true(await_metric("markr_buffered_body_bytes", 0));
    assert_int_equal(e2e_http(&srv, "POST", "/import", MEDIA_TYPE, doc, len, &r), 0);
    assert_int_equal(r.status, 201);
    e2e_response_free(&r);
    free(doc);
}

/* --- many tests ------------------------------------------------------------------------------ */

static void load_many_tests(void)
{
    static int loaded;
    char sql[512];

    if (loaded++)
        return;
    snprintf(sql, sizeof(sql),
             "INSERT INTO marks (test_id, student_number, available, obtained, import_id) "
             "SELECT 'load-' || lpad(g::text, 5, '0'), 's1', 10, g %% 11, 1 FROM generate_series(1, %d) AS g",
             LOAD_TESTS);
    assert_int_equal(markr_test_db_exec(conninfo, sql), 0);
}

/* Every test once, in order, through next_cursor, 1000 at a time. */
static void tests_walk_by_cursor(void **state)
{
    char path[512], last[300] = "";
    long seen = 0, pages = 0;
    long expected = LOAD_TESTS;
    char *total;

    load_many_tests();
    total = markr_test_db_value(conninfo, "SELECT count(DISTINCT test_id) FROM marks");
    expected = atol(total);
    free(total);
    snprintf(path, sizeof(path), "/tests?limit=1000");
    for (;;) {
        struct e2e_response r;
        json_object *obj, *tests, *next;

        assert_int_equal(e2e_http(&srv, "GET", path, NULL, NULL, 0, &r), 0);
        assert_int_equal(r.status, 200);
        obj = json_tokener_parse(r.body);
        e2e_response_free(&r);
        assert_non_null(obj);
        assert_true(json_object_object_get_ex(obj, "tests", &tests));
        assert_true(json_object_array_length(tests) <= 1000);
        for (size_t i = 0; i < json_object_array_length(tests); ++i) {
            const char *id = json_object_get_string(json_object_object_get(json_object_array_get_idx(tests, i),
                                                                           "test_id"));

            assert_true(strcmp(id, last) > 0); /* strictly increasing (ids here are ASCII) */
            snprintf(last, sizeof(last), "%s", id);
            ++seen;
        }
        ++pages;
        assert_true(json_object_object_get_ex(obj, "next_cursor", &next));
        if (next == NULL) {
            json_object_put(obj);
            break;
        }
        assert_string_equal(json_object_get_string(next), last);
        snprintf(path, sizeof(path), "/tests?limit=1000&cursor=%s", last);
        json_object_put(obj);
        assert_true(pages <= LOAD_TESTS / 1000 + 2);
    }
    assert_int_equal(seen, expected);
    assert_int_equal(pages, (expected + 999) / 1000);
}

/* 100 clients ask for 1000 tests each and leave at once, while the marks are locked so that
 * both workers are busy and the other 98 requests wait in line (h2o has read them all).
 * /health, polled from then until every job is back, answers every time within 50 ms, and
 * the 98 that were waiting are never run. */
static void health_stays_fast_while_list_clients_leave(void **state)
{
    static const char request[] = "GET /tests?limit=1000 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    int fds[LEAVERS];
    long long skipped_before, skipped;
    double worst = 0, started;
    int polls = 0, unlocked = 0;
    PGconn *lock = PQconnectdb(conninfo);
    PGresult *res;

    load_many_tests();
    skipped_before = metric("markr_jobs_skipped_total");
    assert_true(skipped_before >= 0);
    assert_int_equal(PQstatus(lock), CONNECTION_OK);
    res = PQexec(lock, "BEGIN; LOCK TABLE marks IN ACCESS EXCLUSIVE MODE");
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    for (int i = 0; i < LEAVERS; ++i) {
        fds[i] = connect_to(&srv);
        assert_true(fds[i] >= 0);
        assert_int_equal(send_all(fds[i], request, sizeof(request) - 1), 0);
    }
    assert_true(await_metric("markr_db_pool_waiting", LEAVERS - 2)); /* MARKR_WORKERS=2 */
    for (int i = 0; i < LEAVERS; ++i)
        close(fds[i]);
    started = now_ms();
    /* Poll until every job has come back (nothing waiting or running), and at least 50 times;
     * the lock goes after the first 20 polls. */
    while (polls < 50 || metric("markr_db_pool_waiting") != 0 || metric("markr_db_pool_in_use") != 0) {
        struct e2e_response r;
        double t0 = now_ms(), took;

        if (polls == 20 && !unlocked) {
            res = PQexec(lock, "COMMIT");
            PQclear(res);
            unlocked = 1;
        }
        assert_int_equal(e2e_http(&srv, "GET", "/health", NULL, NULL, 0, &r), 0);
        took = now_ms() - t0;
        assert_int_equal(r.status, 200);
        e2e_response_free(&r);
        if (took > worst)
            worst = took;
        ++polls;
        assert_true(now_ms() - started < 60000);
    }
    PQfinish(lock);
    skipped = metric("markr_jobs_skipped_total") - skipped_before;
    print_message("health: %d polls, worst %.1f ms; skipped %lld of %d\n", polls, worst, skipped, LEAVERS);
    assert_true(worst < 50.0);
    assert_int_equal(skipped, LEAVERS - 2); /* all but the two that were already running */
}

/* --- clients that leave: writes run, reads are skipped ---------------------------------------- */

/* Both workers (MARKR_WORKERS=2) held: the marks locked, and two GET /tests waiting for the
 * lock on them, so that a request sent next waits in line until workers_release. */
struct held_workers {
    PGconn *lock;
    int fds[2];
};

static void workers_hold(struct held_workers *h)
{
    static const char request[] = "GET /tests?limit=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    PGresult *res;

    assert_true(await_metric("markr_db_pool_in_use", 0)); /* nothing left over from a test before */
    h->lock = PQconnectdb(conninfo);
    assert_int_equal(PQstatus(h->lock), CONNECTION_OK);
    res = PQexec(h->lock, "BEGIN; LOCK TABLE marks IN ACCESS EXCLUSIVE MODE");
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    for (int i = 0; i < 2; ++i) {
        h->fds[i] = connect_to(&srv);
        assert_true(h->fds[i] >= 0);
        assert_int_equal(send_all(h->fds[i], request, sizeof(request) - 1), 0);
    }
    assert_true(await_metric("markr_db_pool_in_use", 2));
}

/* Lets the two GET /tests go (each answered 200), and with them what waited behind. */
static void workers_release(struct held_workers *h)
{
    PGresult *res = PQexec(h->lock, "COMMIT");
    char answer[8192];

    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    PQfinish(h->lock);
    for (int i = 0; i < 2; ++i) {
        assert_true(e2e_read_answers(h->fds[i], answer, sizeof(answer), 1, WAIT_MS));
        assert_int_equal(strncmp(answer, "HTTP/1.1 200 ", 13), 0);
        close(h->fds[i]);
    }
}

/* Sends a whole request of method and path with the extra header lines head (each ending
 * in \r\n) and body on a new connection, with X-Request-Id id; returns the socket. */
static int send_request(const char *method, const char *path, const char *id, const char *head, const char *body,
                        size_t len)
{
    char start[512];
    int fd = connect_to(&srv), n;

    assert_true(fd >= 0);
    n = snprintf(start, sizeof(start), "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: %s\r\n%s\r\n", method,
                 path, id, head);
    assert_true(n > 0 && (size_t)n < sizeof(start));
    assert_int_equal(send_all(fd, start, (size_t)n), 0);
    if (len != 0)
        assert_int_equal(send_all(fd, body, len), 0);
    return fd;
}

/* A whole POST /import of a document of `results` results of test_id (queued when async). */
static int send_import(const char *test_id, int results, const char *id, int async)
{
    char head[256];
    size_t len;
    char *doc = make_doc(test_id, results, &len);
    int fd;

    snprintf(head, sizeof(head), "Content-Type: " MEDIA_TYPE "\r\nContent-Length: %zu\r\n%s", len,
             async ? "Prefer: respond-async\r\n" : "");
    fd = send_request("POST", "/import", id, head, doc, len);
    free(doc);
    return fd;
}

/* Whether sql's one value is want (a NULL want: whether it is NULL or there is no row). */
static int sql_is(const char *sql, const char *want)
{
    char *v = markr_test_db_value(conninfo, sql);
    int same = v != NULL && want != NULL ? strcmp(v, want) == 0 : v == want;

    free(v);
    return same;
}

static long marks_of(const char *test_id)
{
    char sql[256], *v;
    long n;

    snprintf(sql, sizeof(sql), "SELECT count(*) FROM marks WHERE test_id = '%s'", test_id);
    v = markr_test_db_value(conninfo, sql);
    n = v != NULL ? atol(v) : -1;
    free(v);
    return n;
}

/* Waits (up to WAIT_MS) until sql's value is want. Returns 1 when it is. */
static int await_sql(const char *sql, const char *want)
{
    for (double end = now_ms() + WAIT_MS; now_ms() < end;) {
        struct pollfd none = {.fd = -1};

        if (sql_is(sql, want))
            return 1;
        poll(&none, 1, 20); /* a short pause between polls, not a wait for the condition */
    }
    return 0;
}

/* Waits (up to WAIT_MS) until test_id has want marks stored. Returns 1 when it has. */
static int await_marks(const char *test_id, long want)
{
    char sql[256], count[24];

    snprintf(sql, sizeof(sql), "SELECT count(*) FROM marks WHERE test_id = '%s'", test_id);
    snprintf(count, sizeof(count), "%ld", want);
    return await_sql(sql, count);
}

/* Whether the server's log has a line of msg for request id on route (its fields as markr
 * writes them). */
static int logged_for(const char *msg, const char *id, const char *route)
{
    size_t len;
    char *log = e2e_read_file(srv.log_path, &len), want[200], *rest = log;
    int found = 0;

    snprintf(want, sizeof(want), "request_id=%s route=%s", id, route);
    for (char *line = strtok_r(log, "\n", &rest); line != NULL && !found; line = strtok_r(NULL, "\n", &rest))
        found = strstr(line, msg) != NULL && strstr(line, want) != NULL;
    free(log);
    return found;
}

#define WRITE_RUNS_LOG "client closed; its write runs all the same"

/* An import sent whole, then the client shuts down its sending side (nc -N) while the
 * import waits for a worker: it is stored, its 201 arrives on the half-closed socket, and
 * nothing is counted as skipped. */
static void an_import_whose_client_half_closed_is_stored_and_answered(void **state)
{
    struct held_workers held;
    char answer[8192];
    long long skipped_before = metric("markr_jobs_skipped_total");
    int fd;

    (void)state;
    assert_true(skipped_before >= 0);
    workers_hold(&held);
    fd = send_import("leave-half", 7, "leave-half-import", 0);
    assert_true(await_metric("markr_db_pool_waiting", 1));
    assert_int_equal(shutdown(fd, SHUT_WR), 0);
    workers_release(&held);
    assert_true(e2e_read_answers(fd, answer, sizeof(answer), 1, WAIT_MS));
    close(fd);
    assert_int_equal(strncmp(answer, "HTTP/1.1 201 ", 13), 0);
    assert_non_null(strstr(answer, "\"results\":7"));
    assert_int_equal(marks_of("leave-half"), 7);
    assert_int_equal(metric("markr_jobs_skipped_total"), skipped_before);
    assert_true(logged_for(WRITE_RUNS_LOG, "leave-half-import", "/import"));
}

/* Imports sent whole, one synchronous and one queued (Prefer: respond-async), whose clients
 * close their sockets while the imports wait for a worker: both documents are stored (the
 * queued one judged by the queue runner), and the log names each request. */
static void imports_whose_clients_closed_are_stored(void **state)
{
    struct held_workers held;
    long long skipped_before = metric("markr_jobs_skipped_total");
    int sync_fd, async_fd;

    (void)state;
    workers_hold(&held);
    sync_fd = send_import("leave-closed-sync", 5, "leave-closed-sync", 0);
    async_fd = send_import("leave-closed-async", 6, "leave-closed-async", 1);
    assert_true(await_metric("markr_db_pool_waiting", 2));
    close(sync_fd);
    close(async_fd);
    workers_release(&held);
    assert_true(await_marks("leave-closed-sync", 5));
    assert_true(await_marks("leave-closed-async", 6));
    assert_int_equal(metric("markr_jobs_skipped_total"), skipped_before);
    assert_true(logged_for(WRITE_RUNS_LOG, "leave-closed-sync", "/import"));
    assert_true(logged_for(WRITE_RUNS_LOG, "leave-closed-async", "/import"));
}

/* A GET and an import, both sent whole, whose clients half-close while they wait: the GET
 * is still skipped (499 client_closed_request, counted), the import beside it runs (201). */
static void a_half_closed_get_is_skipped_beside_an_import_that_runs(void **state)
{
    struct held_workers held;
    char answer[8192];
    long long skipped_before = metric("markr_jobs_skipped_total");
    int get_fd, import_fd;

    (void)state;
    workers_hold(&held);
    get_fd = send_request("GET", "/tests?limit=1", "leave-half-get", "", NULL, 0);
    import_fd = send_import("leave-half-beside", 3, "leave-half-beside", 0);
    assert_true(await_metric("markr_db_pool_waiting", 2));
    assert_int_equal(shutdown(get_fd, SHUT_WR), 0);
    assert_int_equal(shutdown(import_fd, SHUT_WR), 0);
    workers_release(&held);
    assert_true(e2e_read_answers(get_fd, answer, sizeof(answer), 1, WAIT_MS));
    close(get_fd);
    assert_int_equal(strncmp(answer, "HTTP/1.1 499 ", 13), 0);
    assert_non_null(strstr(answer, "\"client_closed_request\""));
    assert_true(e2e_read_answers(import_fd, answer, sizeof(answer), 1, WAIT_MS));
    close(import_fd);
    assert_int_equal(strncmp(answer, "HTTP/1.1 201 ", 13), 0);
    assert_int_equal(marks_of("leave-half-beside"), 3);
    assert_int_equal(metric("markr_jobs_skipped_total"), skipped_before + 1);
}

/* An import made rejected by hand, then two reprocessings of it whose operators close
 * while they wait for a worker: the dry run is a read and is skipped (counted), the other
 * commits all the same (the import is accepted again), and the log names it. */
static void a_reprocessing_whose_operator_closed_commits_and_its_dry_run_is_skipped(void **state)
{
    static const char head[] = "Authorization: Bearer " ADMIN_TOKEN "\r\nContent-Length: 0\r\n";
    struct held_workers held;
    struct e2e_response r;
    json_object *obj;
    char sql[256], path[96], status[160];
    long long import_id, skipped_before = metric("markr_jobs_skipped_total");
    size_t len;
    char *doc = make_doc("leave-reprocess", 4, &len);
    int dry_fd, commit_fd;

    (void)state;
    assert_int_equal(e2e_http(&srv, "POST", "/import", MEDIA_TYPE, doc, len, &r), 0);
    free(doc);
    assert_int_equal(r.status, 201);
    obj = json_tokener_parse(r.body);
    e2e_response_free(&r);
    assert_non_null(obj);
    import_id = json_object_get_int64(json_object_object_get(obj, "import_id"));
    json_object_put(obj);
    assert_true(import_id > 0);
    snprintf(sql, sizeof(sql), "UPDATE imports SET status = 'rejected', reason = '{\"error\":\"by hand\"}' "
                               "WHERE id = %lld", import_id);
    assert_int_equal(markr_test_db_exec(conninfo, sql), 0);
    snprintf(status, sizeof(status), "SELECT status FROM imports WHERE id = %lld", import_id);
    assert_true(sql_is(status, "rejected"));

    workers_hold(&held);
    snprintf(path, sizeof(path), "/imports/%lld/reprocess?dry_run=true", import_id);
    dry_fd = send_request("POST", path, "leave-reprocess-dry", head, NULL, 0);
    snprintf(path, sizeof(path), "/imports/%lld/reprocess", import_id);
    commit_fd = send_request("POST", path, "leave-reprocess", head, NULL, 0);
    assert_true(await_metric("markr_db_pool_waiting", 2));
    close(dry_fd);
    close(commit_fd);
    workers_release(&held);
    assert_true(await_sql(status, "accepted"));
    assert_true(await_metric("markr_jobs_skipped_total", skipped_before + 1));
    assert_true(logged_for(WRITE_RUNS_LOG, "leave-reprocess", "/imports/{id}/reprocess"));
    assert_false(logged_for(WRITE_RUNS_LOG, "leave-reprocess-dry", "/imports/{id}/reprocess"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(declared_length_over_the_limit_is_413_before_the_body),
        cmocka_unit_test(a_413_after_the_whole_body_keeps_the_connection),
        cmocka_unit_test(the_asynchronous_limit_is_lower),
        cmocka_unit_test(bodies_held_at_once_are_capped),
        cmocka_unit_test(tests_walk_by_cursor),
        cmocka_unit_test(health_stays_fast_while_list_clients_leave),
        cmocka_unit_test(an_import_whose_client_half_closed_is_stored_and_answered),
        cmocka_unit_test(imports_whose_clients_closed_are_stored),
        cmocka_unit_test(a_half_closed_get_is_skipped_beside_an_import_that_runs),
        cmocka_unit_test(a_reprocessing_whose_operator_closed_commits_and_its_dry_run_is_skipped),
    };

    return cmocka_run_group_tests_name("e2e_limits", tests, suite_setup, suite_teardown);
}
