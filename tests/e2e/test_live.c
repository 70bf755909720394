/*
 * End to end, the live reads: two markr servers on one database.
 * - Cache exactness: imports through one instance interleaved with reads from both; every
 *   read made after an import's answer shows the post-import figures once the notification
 *   has arrived, and the time until then (measured for every round) stays within 100 ms.
 *   The caches are warmed before each import, so a stale cache would be caught.
 * - The LISTEN connection killed under an instance: its reads stay exact while it is down,
 *   and its cache comes back with the connection.
 * - Streams: a client of one instance receives the new aggregate within 100 ms of an import
 *   answered by the other; /events names the import and its tests; a client that leaves is
 *   cleaned up at once (its descriptor is closed, well before any heartbeat); a client that
 *   never reads does not delay the others; an idle stream gets a heartbeat comment.
 * - Unknown tests: a second 404 for the same id costs no query, and the import of that test
 *   through the other instance is seen like any other change.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "test_db.h"

#define MEDIA_TYPE "text/xml+markr"
#define BOUND_MS 100.0

static char *conninfo;
static struct markr_server a, b;

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void import_doc(const struct markr_server *srv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void import_doc(const struct markr_server *srv, const char *fmt, ...)
{
    char doc[4096];
    struct e2e_response r;
    va_list ap;
    int rc, failed = 1;

    va_start(ap, fmt);
    vsnprintf(doc, sizeof(doc), fmt, ap);
    va_end(ap);
    rc = e2e_http(srv, "POST", "/import", MEDIA_TYPE, doc, strlen(doc), &r);
    /* Said, freed, then failed: fail() leaves by longjmp, past any free after it. */
    if (rc != 0)
        print_error("ERROR: the request got no answer (harness status %d)\n", rc);
    else if (r.status != 201)
        print_error("ERROR: import: %ld %s\n", r.status, r.body);
    else
        failed = 0;
    e2e_response_free(&r);
    if (failed)
        fail();
}

/* One mark as a document. */
#define MARK_DOC                                                                                                     \
    "<mcq-test-results><mcq-test-result><student-number>%s</student-number><test-id>%s</test-id>"                  \
    "<summary-marks available=\"100\" obtained=\"%d\"/></mcq-test-result></mcq-test-results>"

/* count and mean of a test's aggregate from srv; count -1 when 404. */
static void read_aggregate(const struct markr_server *srv, const char *test, long *count, double *mean)
{
    char path[256];
    struct e2e_response r;
    json_object *obj = NULL, *v;
    int rc, failed = 1;

    snprintf(path, sizeof(path), "/results/%s/aggregate", test);
    rc = e2e_http(srv, "GET", path, NULL, NULL, 0, &r);
    *count = -1;
    *mean = NAN;
    /* The checks of assert_int_equal, assert_non_null and assert_true spelled out: what went
     * wrong is said, r and obj are released, then fail() leaves by longjmp. */
    if (rc != 0) {
        print_error("ERROR: the request got no answer (harness status %d)\n", rc);
    } else if (r.status == 404) {
        failed = 0;
    } else if (r.status != 200) {
        print_error("ERROR: GET %s: %ld %s\n", path, r.status, r.body);
    } else if ((obj = json_tokener_parse(r.body)) == NULL) {
        print_error("obj = json_tokener_parse(r.body)\n");
    } else if (!json_object_object_get_ex(obj, "count", &v)) {
        print_error("json_object_object_get_ex(obj, \"count\", &v)\n");
    } else {
        *count = (long)json_object_get_int64(v);
        if (!json_object_object_get_ex(obj, "mean", &v)) {
            print_error("json_object_object_get_ex(obj, \"mean\", &v)\n");
        } else {
            *mean = json_object_get_double(v);
            failed = 0;
        }
    }
    json_object_put(obj);
    e2e_response_free(&r);
    if (failed)
        fail();
}

/* Reads srv until test shows count and mean; returns the milliseconds that took after `since`.
 * Fails past 2 s. Once right, the next reads must stay right. */
static double wait_exact(const struct markr_server *srv, const char *test, long count, double mean, double since)
{
    long c;
    double m, took;

    for (;;) {
        read_aggregate(srv, test, &c, &m);
        took = now_ms() - since;
        if (c == count && fabs(m - mean) < 1e-9)
            break;
        if (took > 2000)
            fail_msg("%s: still count %ld mean %g, expected %ld %g after %.0f ms", test, c, m, count, mean, took);
        usleep(1000);
    }
    for (int i = 0; i < 3; ++i) {
        read_aggregate(srv, test, &c, &m);
        assert_int_equal(c, count);
        assert_true(fabs(m - mean) < 1e-9);
    }
    return took;
}

/* Count the open descriptors of a server process. */
static int open_fds(const struct markr_server *srv)
{
    char path[64];
    DIR *dir;
    int n = 0;

    snprintf(path, sizeof(path), "/proc/%d/fd", (int)srv->pid);
    assert_non_null(dir = opendir(path));
    while (readdir(dir) != NULL)
        ++n;
    closedir(dir);
    return n - 2;
}

/* The descriptor count once connections our earlier requests left have been closed: the
 * same for 200 ms running. */
static int settled_fds(const struct markr_server *srv)
{
    int n = open_fds(srv), same = 0;

    for (int i = 0; i < 300 && same < 10; ++i) {
        int m;

        usleep(20000);
        m = open_fds(srv);
        same = m == n ? same + 1 : 0;
        n = m;
    }
    return n;
}

/* --- a raw SSE client: HTTP/1.0, so the stream is the body as is (no chunking) ---------------- */

struct sse {
    int fd;
    char buf[65536];
    size_t len;
};

static void sse_open(struct sse *s, const struct markr_server *srv, const char *path, int rcvbuf)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv->port)};
    char req[512];
    ssize_t sent;
    int rc;

    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    memset(s, 0, sizeof(*s));
    assert_true((s->fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
    if (rcvbuf > 0)
        setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n", path);
    /* Checked by hand, to close the socket before failing. */
    if ((rc = connect(s->fd, (struct sockaddr *)&addr, sizeof(addr))) != 0)
        print_error("ERROR: cannot connect to port %d: %s\n", srv->port, strerror(errno));
    else if ((sent = write(s->fd, req, strlen(req))) != (ssize_t)strlen(req))
        print_error("ERROR: sent %lld of the request's %zu bytes\n", (long long)sent, strlen(req));
    else
        return;
    close(s->fd);
    s->fd = -1;
    fail();
}

/* Reads until needle appears after offset *from (then *from moves past it). Returns the time
 * it was seen, or fails after timeout_ms. */
static double sse_wait(struct sse *s, size_t *from, const char *needle, int timeout_ms)
{
    double deadline = now_ms() + timeout_ms;

    for (;;) {
        char *hit;
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        int left = (int)(deadline - now_ms());
        ssize_t n;

        s->buf[s->len] = '\0';
        if ((hit = strstr(s->buf + *from, needle)) != NULL) {
            *from = (size_t)(hit - s->buf) + strlen(needle);
            return now_ms();
        }
        if (left <= 0 || poll(&p, 1, left) <= 0)
            fail_msg("no '%s' within %d ms; got: %s", needle, timeout_ms, s->buf);
        n = read(s->fd, s->buf + s->len, sizeof(s->buf) - 1 - s->len);
        if (n <= 0)
            fail_msg("stream closed before '%s': %s", needle, s->buf);
        s->len += (size_t)n;
    }
}

static void sse_close(struct sse *s)
{
    close(s->fd);
}

/* --- suite ------------------------------------------------------------------------------------ */

static int suite_setup(void **state)
{
    conninfo = markr_test_db_create("live");
    if (e2e_migrate(conninfo) != 0 || e2e_server_start(&a, conninfo, NULL) != 0 ||
        e2e_server_start(&b, conninfo, NULL) != 0)
        return -1;
    return 0;
}

static int suite_teardown(void **state)
{
    int stopped_a = e2e_server_stop_clean(&a), stopped_b = e2e_server_stop_clean(&b);

    if (stopped_a != 0 || stopped_b != 0)
        return -1;
    markr_test_db_drop(conninfo);
    free(conninfo);
    return 0;
}

/* How many times the log says `needle`. */
static int log_count(const struct markr_server *srv, const char *needle)
{
    size_t len;
    char *log = e2e_read_file(srv->log_path, &len);
    int seen = 0;

    for (char *p = log; p != NULL && (p = strstr(p, needle)) != NULL; p += strlen(needle))
        ++seen;
    free(log);
    return seen;
}

/* Waits until the server's log has said `line` `times` times (the feed's up/down lines). */
static void wait_log(const struct markr_server *srv, const char *line, int times)
{
    double deadline = now_ms() + 10000;

    while (now_ms() < deadline) {
        if (log_count(srv, line) >= times)
            return;
        usleep(10000);
    }
    fail_msg("%s never said '%s' %d times", srv->log_path, line, times);
}

static void reads_after_an_import_are_exact_on_both_instances(void **state)
{
    double worst = 0, sum = 0;
    int rounds = 20;
    long count;
    double mean;

    wait_log(&a, "change feed up", 1);
    wait_log(&b, "change feed up", 1);
    import_doc(&a, MARK_DOC, "s0", "cache", 0);
    for (int k = 1; k <= rounds; ++k) {
        const struct markr_server *via = k % 2 ? &a : &b;
        double expected_mean = (k + k * (k + 1) / 2.0) / (k + 1), t0, da, db;
        char student[16];

        /* Warm both caches with the figures before this import. */
        read_aggregate(&a, "cache", &count, &mean);
        read_aggregate(&b, "cache", &count, &mean);
        assert_int_equal(count, k);
        snprintf(student, sizeof(student), "s%d", k);
        /* One document raises s0 to k and adds sk with k. */
        import_doc(via,
                   "<mcq-test-results><mcq-test-result><student-number>s0</student-number><test-id>cache</test-id>"
                   "<summary-marks available=\"100\" obtained=\"%d\"/></mcq-test-result>"
                   "<mcq-test-result><student-number>%s</student-number><test-id>cache</test-id>"
                   "<summary-marks available=\"100\" obtained=\"%d\"/></mcq-test-result></mcq-test-results>",
                   k, student, k);
        t0 = now_ms();
        da = wait_exact(&a, "cache", k + 1, expected_mean, t0);
        db = wait_exact(&b, "cache", k + 1, expected_mean, t0);
        worst = fmax(worst, fmax(da, db));
        sum += da + db;
    }
    printf("cache exactness: %d rounds, delay after the import's answer until exact: worst %.1f ms, mean %.2f ms\n",
           rounds, worst, sum / (2 * rounds));
    assert_true(worst <= BOUND_MS);
}

/* Marks written by the asynchronous queue (a rebuild of one import) must announce their
 * tests too, or the other instance's cache would keep the old figures. */
static void queued_imports_invalidate_the_cache_too(void **state)
{
    static const char *const async[] = {"Prefer: respond-async", NULL};
    char doc[512];
    struct e2e_response r;
    long count;
    double mean;

    import_doc(&a, MARK_DOC, "q1", "queued", 20);
    read_aggregate(&b, "queued", &count, &mean); /* cached on b */
    assert_int_equal(count, 1);
    snprintf(doc, sizeof(doc), MARK_DOC, "q2", "queued", 60);
    assert_int_equal(e2e_http_with(&a, "POST", "/import", MEDIA_TYPE, async, doc, strlen(doc), &r), 0);
    assert_int_equal(r.status, 202);
    e2e_response_free(&r);
    /* Processed in the background: exact on b once it is committed (2 s at most). */
    wait_exact(&b, "queued", 2, 40.0, now_ms());
}

static void a_lost_listen_connection_turns_the_cache_off_then_on(void **state)
{
    char *killed;
    long count;
    double mean;

    import_doc(&a, MARK_DOC, "x1", "drop", 10);
    read_aggregate(&b, "drop", &count, &mean); /* cached on b */
    assert_int_equal(count, 1);
    killed = markr_test_db_value(conninfo, "SELECT count(pg_terminate_backend(pid))::text FROM pg_stat_activity "
                                           "WHERE application_name = 'markr-listen' AND datname = current_database()");
    assert_string_equal(killed, "2");
    free(killed);
    wait_log(&b, "change feed down", 1);
    /* Whatever b missed while down, its reads come from the database: exact at once. */
    import_doc(&a, MARK_DOC, "x2", "drop", 30);
    read_aggregate(&b, "drop", &count, &mean);
    assert_int_equal(count, 2);
    assert_true(mean == 20.0);
    /* Listening again: the cache serves, and is invalidated, as before. */
    wait_log(&a, "change feed up", 2);
    wait_log(&b, "change feed up", 2);
    read_aggregate(&b, "drop", &count, &mean);
    import_doc(&a, MARK_DOC, "x3", "drop", 50);
    assert_true(wait_exact(&b, "drop", 3, 30.0, now_ms()) <= BOUND_MS);
}

static void a_stream_of_one_instance_hears_an_import_through_the_other(void **state)
{
    struct sse s, events;
    size_t at = 0, events_at = 0, header_at = 0;
    double answered, heard, worst = 0;

    import_doc(&a, MARK_DOC, "u0", "stream", 40);
    sse_open(&s, &b, "/results/stream/aggregate/stream", 0);
    sse_wait(&s, &at, "HTTP/1.1 200", 2000);
    sse_wait(&s, &at, "text/event-stream", 2000);
    sse_wait(&s, &header_at, "\r\nx-content-type-options: nosniff\r\n", 2000); /* streams too */
    /* The current aggregate on connect. */
    sse_wait(&s, &at, "event: aggregate\ndata: {\"mean\":40.0,", 2000);
    sse_open(&events, &b, "/events", 0);
    sse_wait(&events, &events_at, ": markr events\n\n", 2000);
    for (int k = 1; k <= 10; ++k) {
        char expected[128];
        char student[16];

        snprintf(student, sizeof(student), "u%d", k);
        import_doc(&a, MARK_DOC, student, "stream", 40);
        answered = now_ms();
        snprintf(expected, sizeof(expected), "\"count\":%d}\n\n", k + 1);
        heard = sse_wait(&s, &at, expected, 2000);
        worst = fmax(worst, heard - answered);
        sse_wait(&events, &events_at, "event: import\ndata: {\"import_id\":", 2000);
        sse_wait(&events, &events_at, ",\"tests\":[\"stream\"]}\n\n", 2000);
    }
    printf("streams: worst delay from the import's answer (other instance) to the event: %.1f ms\n", worst);
    assert_true(worst <= BOUND_MS);
    sse_close(&s);
    sse_close(&events);
}

static void unknown_test_stream_is_404(void **state)
{
    struct e2e_response r;

    assert_int_equal(e2e_http(&a, "GET", "/results/nothing-here/aggregate/stream", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(r.body, "unknown_test"));
    e2e_response_free(&r);
}

static void clients_that_leave_are_cleaned_up_at_once(void **state)
{
    enum { N = 40 };
    struct sse s[N];
    int before, during;
    double closed_at, deadline;

    import_doc(&a, MARK_DOC, "v0", "leave", 10);
    before = settled_fds(&a);
    for (int i = 0; i < N; ++i) {
        size_t at = 0;

        sse_open(&s[i], &a, i % 2 ? "/events" : "/results/leave/aggregate/stream", 0);
        sse_wait(&s[i], &at, i % 2 ? ": markr events" : "event: aggregate", 2000);
    }
    during = open_fds(&a);
    if (during < before + N)
        fail_msg("%d descriptors with %d streams open, %d before", during, N, before);
    for (int i = 0; i < N; ++i)
        sse_close(&s[i]);
    closed_at = now_ms();
    deadline = closed_at + 2000; /* far below the 15 s heartbeat that would find them otherwise */
    while (open_fds(&a) > before && now_ms() < deadline)
        usleep(2000);
    printf("cleanup: %d stream descriptors closed by the server %.1f ms after the clients left\n", N,
           now_ms() - closed_at);
    assert_true(open_fds(&a) <= before);
}

static void a_client_that_never_reads_does_not_delay_the_others(void **state)
{
    struct sse stuck[4], ok;
    size_t at = 0;
    double worst = 0;

    import_doc(&a, MARK_DOC, "w0", "slow", 10);
    for (int i = 0; i < 4; ++i) /* tiny receive buffers, never read */
        sse_open(&stuck[i], &a, i % 2 ? "/events" : "/results/slow/aggregate/stream", 1024);
    sse_open(&ok, &a, "/results/slow/aggregate/stream", 0);
    sse_wait(&ok, &at, "event: aggregate", 2000);
    for (int k = 1; k <= 10; ++k) {
        char student[16], expected[64];
        double answered;

        snprintf(student, sizeof(student), "w%d", k);
        import_doc(&b, MARK_DOC, student, "slow", 10);
        answered = now_ms();
        snprintf(expected, sizeof(expected), "\"count\":%d}", k + 1);
        worst = fmax(worst, sse_wait(&ok, &at, expected, 2000) - answered);
    }
    assert_true(worst <= BOUND_MS);
    for (int i = 0; i < 4; ++i)
        sse_close(&stuck[i]);
    sse_close(&ok);
}

static void an_idle_stream_gets_a_heartbeat(void **state)
{
    struct sse s;
    size_t at = 0;

    sse_open(&s, &b, "/events", 0);
    sse_wait(&s, &at, ": markr events\n\n", 2000);
    /* The heartbeat timer ticks every 15 s for every stream: one comes within 15 s. */
    sse_wait(&s, &at, ":\n\n", 16000);
    sse_close(&s);
}

/* MARKR_SLOW_QUERY_MS=0 logs every database operation by name: the queries can be counted.
 * A server of its own, so that the other tests see only a and b. */
static void a_404_is_remembered_until_the_test_is_imported(void **state)
{
    static const char *const env[] = {"MARKR_SLOW_QUERY_MS=0", NULL};
    static const char query[] = "operation=\"computing the aggregate\"";
    struct markr_server c;
    long count;
    double mean;
    int first, repeated;

    assert_int_equal(e2e_server_start(&c, conninfo, env), 0);
    wait_log(&c, "change feed up", 1);
    read_aggregate(&c, "remembered", &count, &mean);
    assert_int_equal(count, -1);
    first = log_count(&c, query);
    for (int i = 0; i < 3; ++i) {
        read_aggregate(&c, "remembered", &count, &mean);
        assert_int_equal(count, -1);
    }
    repeated = log_count(&c, query) - first;
    if (first != 1 || repeated != 0) {
        e2e_server_stop(&c, SIGTERM);
        fail_msg("the first 404 cost %d queries (expected 1), the next three %d (expected 0)", first, repeated);
    }
    /* Forgotten at the change like any cached answer: exact within a notification. */
    import_doc(&a, MARK_DOC, "r1", "remembered", 70);
    assert_true(wait_exact(&c, "remembered", 1, 70.0, now_ms()) <= BOUND_MS);
    assert_int_equal(e2e_server_stop_clean(&c), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_after_an_import_are_exact_on_both_instances),
        cmocka_unit_test(queued_imports_invalidate_the_cache_too),
        cmocka_unit_test(a_lost_listen_connection_turns_the_cache_off_then_on),
        cmocka_unit_test(a_stream_of_one_instance_hears_an_import_through_the_other),
        cmocka_unit_test(unknown_test_stream_is_404),
        cmocka_unit_test(clients_that_leave_are_cleaned_up_at_once),
        cmocka_unit_test(a_client_that_never_reads_does_not_delay_the_others),
        cmocka_unit_test(an_idle_stream_gets_a_heartbeat),
        cmocka_unit_test(a_404_is_remembered_until_the_test_is_imported),
    };

    return cmocka_run_group_tests_name("e2e_live", tests, suite_setup, suite_teardown);
}
