/*
 * End to end, the live reads: two markr servers on one database.
 * - Cache exactness: imports through one instance interleaved with reads from both; every
 *   read made after an import's answer shows the post-import figures once the notification
 *   has arrived, and the time until then (measured for every round) stays within 100 ms.
 *   The caches are warmed before each import, so a stale cache would be caught.
 * - The LISTEN connection killed under an instance: its reads stay exact while it is down,
 *   and its cache comes back with the connection; its /events clients are told to resync,
 *   as they are after a notification that cannot be read.
 * - Streams: a client of one instance receives the new aggregate within 100 ms of an import
 *   answered by the other; /events names the import and its tests; a client that leaves is
 *   cleaned up at once (its descriptor is closed, well before any heartbeat); a client that
 *   never reads does not delay the others, and once it falls too far behind its connection
 *   is reset and freed at once (while a reading client hears every event); an idle stream
 *   gets a heartbeat comment.
 * - Unknown tests: a second 404 for the same id costs no query, and the import of that test
 *   through the other instance is seen like any other change; ids no test can have cost
 *   neither a cache entry nor a query.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "live_client.h"
#include "test_db.h"

#define BOUND_MS 100.0

static char *conninfo;
static struct markr_server a, b;

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
    struct sse events;
    size_t at = 0;
    char *killed;
    long count;
    double mean;

    /* Opened once b listens: a resync on it can only be the reconnection's. */
    sse_open(&events, &b, "/events", 0);
    sse_wait(&events, &at, ": markr events\n\n", 2000);
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
    /* The import made while b was deaf was never announced on b's /events: its clients are
     * told to read again what they show. */
    sse_wait(&events, &at, "event: resync\ndata: {\"flush\":true}\n\n", 10000);
    sse_close(&events);
}

/* A notification that cannot be read names no import and no test: /events says resync
 * rather than nothing, so a page that follows only /events never keeps old figures. */
static void an_unreadable_notification_is_a_resync_on_events(void **state)
{
    struct sse events;
    size_t at = 0;
    char *sent;

    sse_open(&events, &a, "/events", 0);
    sse_wait(&events, &at, ": markr events\n\n", 2000);
    sent = markr_test_db_value(conninfo, "SELECT 'sent' FROM (SELECT pg_notify('markr_changes', 'not json')) n");
    assert_string_equal(sent, "sent");
    free(sent);
    sse_wait(&events, &at, "event: resync\ndata: {\"flush\":true}\n\n", 10000);
    /* An import afterwards is announced as ever. */
    import_doc(&b, MARK_DOC, "r1", "resync", 10);
    sse_wait(&events, &at, ",\"tests\":[\"resync\"]}\n\n", 10000);
    sse_close(&events);
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

/* A client that sends bytes while it streams, after a request head larger than h2o's first
 * read: the bytes are dropped and the stream goes on, and once the client leaves, its
 * request's log line still names its method and id, which h2o keeps in the connection's input
 * buffer until the response ends (the stream reads the socket itself, never into it). */
static void what_a_streaming_client_sends_is_dropped_and_its_request_kept(void **state)
{
    enum { PAD = 10000, JUNK = 8192 };
    char *headers = malloc(PAD + 128), junk[JUNK];
    struct sse s;
    size_t at = 0;

    assert_non_null(headers);
    memset(junk, 'j', sizeof(junk));
    snprintf(headers, PAD + 128, "X-Request-Id: stream-kept-1\r\nX-Padding: %0*d\r\n", PAD, 0);
    sse_open_with(&s, &a, "/events", 0, headers);
    free(headers);
    sse_wait(&s, &at, ": markr events", 2000);
    for (int i = 0; i < 8; ++i)
        assert_int_equal(write(s.fd, junk, sizeof(junk)), sizeof(junk));
    import_doc(&a, MARK_DOC, "k1", "stream-kept", 10);
    sse_wait(&s, &at, "stream-kept", 2000);
    sse_close(&s);
    wait_log(&a, "request_id=stream-kept-1 method=GET route=/events status=200", 1);
    /* The server is still up, and serves the next client. */
    sse_open(&s, &a, "/events", 0);
    at = 0;
    sse_wait(&s, &at, ": markr events", 2000);
    sse_close(&s);
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

/* Ids no stored test can have (longer than 255 bytes, padded, holding NUL) are answered 404
 * by the aggregate and its stream before the cache holds anything for them, and without a
 * query; a plausible unknown id still costs one entry, so the gauge would show one. */
static void ids_that_name_nothing_cost_no_entry_and_no_query(void **state)
{
    static const char *const env[] = {"MARKR_SLOW_QUERY_MS=0", NULL};
    static const char query[] = "operation=\"computing the aggregate\"";
    static const char *const suffixes[] = {"/aggregate", "/aggregate/stream"};
    char long_id[301], path[512];
    const char *junk[] = {long_id, "%20padded", "padded%0A", "nul%00id"};
    struct markr_server c;
    struct e2e_response r;
    long entries;
    int queries, failed = 0;

    memset(long_id, 'j', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    assert_int_equal(e2e_server_start(&c, conninfo, env), 0);
    wait_log(&c, "change feed up", 1);
    entries = e2e_metric(&c, "markr_cache_entries");
    queries = log_count(&c, query);
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]) && !failed; ++i)
        for (size_t j = 0; j < 2 && !failed; ++j) {
            snprintf(path, sizeof(path), "/results/%s%s", junk[i], suffixes[j]);
            if (e2e_http(&c, "GET", path, NULL, NULL, 0, &r) != 0 || r.status != 404 ||
                strstr(r.body, "unknown_test") == NULL) {
                print_error("ERROR: GET %s: %ld %s\n", path, r.status, r.body != NULL ? r.body : "");
                failed = 1;
            }
            e2e_response_free(&r);
        }
    if (!failed && (e2e_metric(&c, "markr_cache_entries") != entries || log_count(&c, query) != queries)) {
        print_error("ERROR: junk ids left %ld cache entries (%ld before) and cost %d queries\n",
                    e2e_metric(&c, "markr_cache_entries"), entries, log_count(&c, query) - queries);
        failed = 1;
    }
    if (!failed && (e2e_http(&c, "GET", "/results/plausible-but-unknown/aggregate", NULL, NULL, 0, &r) != 0 ||
                    r.status != 404 || e2e_metric(&c, "markr_cache_entries") != entries + 1 ||
                    log_count(&c, query) != queries + 1)) {
        print_error("ERROR: a valid unknown id should cost one entry and one query\n");
        failed = 1;
    }
    e2e_response_free(&r);
    if (!failed && e2e_metric(&c, "markr_cache_evictions_total") != 0) { /* far below the bound */
        print_error("ERROR: markr_cache_evictions_total is %ld\n", e2e_metric(&c, "markr_cache_evictions_total"));
        failed = 1;
    }
    if (failed) {
        e2e_server_stop(&c, SIGTERM);
        fail();
    }
    assert_int_equal(e2e_server_stop_clean(&c), 0);
}

/* A client that never reads, with a tiny receive buffer, while imports of many tests are
 * announced: once its pending text would pass its bound the server resets its connection
 * and frees it then, not at a later write or heartbeat (none comes here: nothing more is
 * imported and the heartbeat is 15 s away). A client that reads hears every import. */
static void a_client_that_falls_behind_is_disconnected_at_once(void **state)
{
    /* About 7 KB per announcement (a notification stays under 8000 bytes). The server's
     * send buffer may grow to the kernel's tcp_wmem maximum (4 MiB by default) before its
     * pending text starts to grow, so a cut-off may take some 700 of them. */
    enum { TESTS = 110, MAX_IMPORTS = 1000 };
    long streams0 = e2e_metric(&a, "markr_stream_clients"), cut0 = e2e_metric(&a, "markr_stream_clients_cut_total");
    int fds0 = settled_fds(&a), imports = 0;
    struct pollfd gone;
    struct sse stuck, ok;
    size_t at = 0;
    double cut_seen, reset_after, freed_after;
    char sink[4096];
    ssize_t n;

    assert_true(streams0 >= 0 && cut0 >= 0);
    sse_open(&stuck, &a, "/events", 1024);
    sse_open(&ok, &a, "/events", 0);
    sse_wait(&ok, &at, ": markr events\n\n", 2000);
    memmove(ok.buf, ok.buf + at, ok.len - at);
    ok.len -= at;
    while (e2e_metric(&a, "markr_stream_clients") < streams0 + 2) /* the stuck one has started too */
        usleep(2000);
    while (e2e_metric(&a, "markr_stream_clients_cut_total") == cut0) {
        if (++imports > MAX_IMPORTS)
            fail_msg("a client that never reads was not cut off after %d announcements", MAX_IMPORTS);
        import_many_tests(&b, TESTS, imports);
        next_import_event(&ok);
    }
    cut_seen = now_ms();
    assert_int_equal(e2e_metric(&a, "markr_stream_clients_cut_total"), cut0 + 1); /* the stuck one only */
    /* Its connection is reset: the client sees it without reading (poll reports the hang-up
     * or the error), then reading ends in ECONNRESET or EOF. */
    gone = (struct pollfd){.fd = stuck.fd, .events = POLLRDHUP};
    assert_int_equal(poll(&gone, 1, 5000), 1);
    assert_true(gone.revents & (POLLHUP | POLLERR | POLLRDHUP));
    reset_after = now_ms() - cut_seen;
    while ((n = read(stuck.fd, sink, sizeof(sink))) > 0)
        ;
    assert_true(n == 0 || errno == ECONNRESET);
    /* Its memory and descriptor are gone: only the reading client remains. */
    freed_after = reset_after + wait_metric_at_most(&a, "markr_stream_clients", streams0 + 1, 5000);
    for (double deadline = now_ms() + 5000; open_fds(&a) > fds0 + 1 && now_ms() < deadline;)
        usleep(2000); /* the connections of the metrics requests close too */
    if (open_fds(&a) > fds0 + 1)
        fail_msg("%d descriptors open, %d before the two streams", open_fds(&a), fds0);
    printf("cut off after %d imports (%d tests each): reset seen %.1f ms and stream freed %.1f ms after the cut\n",
           imports, TESTS, reset_after, freed_after);
    /* The reading client still hears the next import. */
    import_many_tests(&b, TESTS, imports + 1);
    next_import_event(&ok);
    sse_close(&stuck);
    sse_close(&ok);
    wait_metric_at_most(&a, "markr_stream_clients", streams0, 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_after_an_import_are_exact_on_both_instances),
        cmocka_unit_test(queued_imports_invalidate_the_cache_too),
        cmocka_unit_test(a_lost_listen_connection_turns_the_cache_off_then_on),
        cmocka_unit_test(an_unreadable_notification_is_a_resync_on_events),
        cmocka_unit_test(a_stream_of_one_instance_hears_an_import_through_the_other),
        cmocka_unit_test(unknown_test_stream_is_404),
        cmocka_unit_test(clients_that_leave_are_cleaned_up_at_once),
        cmocka_unit_test(what_a_streaming_client_sends_is_dropped_and_its_request_kept),
        cmocka_unit_test(a_client_that_never_reads_does_not_delay_the_others),
        cmocka_unit_test(a_client_that_falls_behind_is_disconnected_at_once),
        cmocka_unit_test(an_idle_stream_gets_a_heartbeat),
        cmocka_unit_test(a_404_is_remembered_until_the_test_is_imported),
        cmocka_unit_test(ids_that_name_nothing_cost_no_entry_and_no_query),
    };

    return cmocka_run_group_tests_name("e2e_live", tests, suite_setup, suite_teardown);
}
