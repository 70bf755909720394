/*
 * End to end: the live score feed and the text/event-stream format, against the real
 * server, a real PostgreSQL and a real SSE source over loopback (sse_server.c).
 * POST /import of a block of events with rule 1, synchronous and queued, and its raw
 * download verbatim; the feed's marks and aggregates equal to
 * what this test computes from the scores it sent (duplicates: the highest kept), other
 * event types and comments ignored, malformed events kept alone as refused with their
 * reason; accepted batches stored verbatim; Last-Event-ID after a drop and after a
 * restart; 204, error statuses and non-event-stream answers logged once per state change;
 * GET /feed and the feed's metrics; two instances with one consumer and a takeover after
 * SIGKILL; a burst of 1,000 events in a second absorbed while the server's other requests
 * answer (its batch count and event-to-aggregate latency are printed, not asserted); a
 * batch of an instance whose generation was superseded stored nowhere; retry: 0 still
 * waits; an event too long kept refused while the stream goes on (test_feed_source.c: the
 * sources that never answer or cannot be reached).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <json-c/json.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "feed_support.h"
#include "harness.h"
#include "sse_server.h"
#include "test_db.h"

#define WAIT_MS 20000 /* generous: the machine may be loaded */

static char *conninfo;
static struct markr_server srv, other;
static struct markr_server *holder = &srv; /* the instance that holds the feed */
static struct sse_server sse;
static char feed_setting[96];
static const char *env[] = {feed_setting, "MARKR_WORKERS=2", NULL};

/* The best score per student of exam 7 as sent so far (percent), for the aggregate. */
#define STUDENTS 40
static double best[STUDENTS];
static int seen[STUDENTS];
static int next_id = 1;
static char accepted_blocks[65536]; /* the score blocks sent, in order (valid ones only) */

/* The aggregate of exam 7 equals the best scores sent (within 1e-4 points). */
static int aggregate_matches(const struct markr_server *s, const char *test)
{
    char path[64];
    json_object *agg;
    double sum = 0, min = 101, max = -1, mean;
    int n = 0, ok;

    for (int i = 0; i < STUDENTS; ++i)
        if (seen[i]) {
            sum += best[i];
            min = best[i] < min ? best[i] : min;
            max = best[i] > max ? best[i] : max;
            ++n;
        }
    snprintf(path, sizeof(path), "/results/%s/aggregate", test);
    if ((agg = get_json(s, path)) == NULL)
        return 0;
    mean = json_object_get_double(json_object_object_get(agg, "mean"));
    ok = int_of(agg, "count") == n && fabs(mean - sum / n) < 1e-4 &&
         fabs(json_object_get_double(json_object_object_get(agg, "min")) - min) < 1e-4 &&
         fabs(json_object_get_double(json_object_object_get(agg, "max")) - max) < 1e-4;
    json_object_put(agg);
    return ok;
}

static void wait_for_aggregate(const struct markr_server *s)
{
    int64_t until = now_ms() + WAIT_MS;

    while (!aggregate_matches(s, "7")) {
        if (now_ms() > until)
            fail_msg("the aggregate of exam 7 never matched the scores sent");
        pause_ms(20);
    }
}

/* Sends one score event of exam 7 (id next_id); valid ones count for the aggregate. */
static void send_score(int student, double score)
{
    char block[256];

    snprintf(block, sizeof(block), "id: %d\nevent: score\ndata: {\"exam\": 7, \"studentId\": \"st%03d\", \"score\": %.17g}\n\n",
             next_id++, student, score);
    assert_int_equal(sse_server_send(&sse, block), 0);
    strcat(accepted_blocks, block);
    if (!seen[student] || 100.0 * score > best[student])
        best[student] = 100.0 * score;
    seen[student] = 1;
}

static int setup(void **state)
{
    if (sse_server_start(&sse) != 0)
        return -1;
    snprintf(feed_setting, sizeof(feed_setting), "MARKR_FEED_URL=http://user:secret@127.0.0.1:%d/scores?token=hush", sse.port);
    return e2e_suite_start("feed", env, &srv, &conninfo);
}

static int teardown(void **state)
{
    int rc = 0;

    if (other.pid > 0)
        rc |= e2e_server_stop_clean(&other);
    rc |= e2e_suite_stop(&srv, conninfo);
    sse_server_stop(&sse);
    return rc;
}

/* --- POST /import of a block of events -------------------------------------------------------- */

static void a_posted_block_is_one_document_under_rule_1(void **state)
{
    static const char good[] = ": from a marking system\r\n"
                               "id: 1\r\nevent: score\r\ndata: {\"exam\": \"p1\", \"studentId\": \"a\", \"score\": 0.7714946302446063}\r\n\r\n"
                               "event: heartbeat\r\ndata: {}\r\n\r\n"
                               "event: score\r\ndata: {\"exam\": \"p1\", \"studentId\": \"b\", \"score\": 0.25}\r\n\r\n"
                               "event: score\r\ndata: {\"exam\": \"p1\", \"studentId\": \"b\", \"score\": 0.125}\r\n\r\n";
    static const char bad[] = "event: score\ndata: {\"exam\": \"p2\", \"studentId\": \"a\", \"score\": 0.5}\n\n"
                              "event: other\ndata: x\n\n"
                              "event: score\ndata: {\"exam\": \"p2\", \"studentId\": \"b\", \"score\": 1.5}\n\n";
    struct e2e_response r;
    json_object *obj;
    char path[64];

    assert_int_equal(e2e_http(&srv, "POST", "/import", "text/event-stream", good, strlen(good), &r), 0);
    assert_int_equal(r.status, 201);
    assert_non_null(strstr(r.body, "\"results\":3"));
    assert_non_null(strstr(r.body, "\"tests\":[\"p1\"]"));
    e2e_response_free(&r);
    obj = get_json(&srv, "/results/p1/aggregate");
    assert_non_null(obj);
    assert_int_equal(int_of(obj, "count"), 2);
    assert_true(fabs(json_object_get_double(json_object_object_get(obj, "max")) - 77.14946302446063) < 1e-4);
    assert_true(fabs(json_object_get_double(json_object_object_get(obj, "min")) - 25.0) < 1e-4); /* the highest of b */
    json_object_put(obj);
    obj = get_json(&srv, "/results/p1?sort=percent");
    assert_non_null(obj);
    assert_true(fabs(json_object_get_double(json_object_object_get(
                         json_object_array_get_idx(json_object_object_get(obj, "results"), 1), "percent")) -
                     77.14946302446063) < 1e-4);
    json_object_put(obj);

    assert_int_equal(e2e_http(&srv, "POST", "/import", "text/event-stream; charset=utf-8", bad, strlen(bad), &r), 0);
    assert_int_equal(r.status, 422);
    obj = json_tokener_parse(r.body);
    e2e_response_free(&r);
    assert_string_equal(str_of(obj, "error"), "score_out_of_range");
    assert_int_equal(int_of(obj, "result_index"), 3); /* the third event */
    assert_int_equal(int_of(obj, "line"), 7);
    assert_string_equal(str_of(obj, "field"), "score");
    snprintf(path, sizeof(path), "/imports/%lld", (long long)int_of(obj, "import_id"));
    json_object_put(obj);
    obj = get_json(&srv, path); /* kept with its reason, and nothing of it in the marks */
    assert_non_null(obj);
    assert_string_equal(str_of(obj, "status"), "rejected");
    assert_string_equal(str_of(obj, "content_type"), "text/event-stream; charset=utf-8");
    json_object_put(obj);
    {
        char raw[80];

        snprintf(raw, sizeof(raw), "%s/raw", path);
        assert_int_equal(e2e_http(&srv, "GET", raw, NULL, NULL, 0, &r), 0);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.content_type, "text/event-stream; charset=utf-8");
        assert_int_equal(r.len, strlen(bad));
        assert_memory_equal(r.body, bad, r.len); /* verbatim */
        e2e_response_free(&r);
    }
    assert_int_equal(e2e_http(&srv, "GET", "/results/p2/aggregate", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 404);
    e2e_response_free(&r);

    /* The asynchronous path reads the format as well (the queue judges through the table). */
    {
        static const char *const prefer[] = {"Prefer: respond-async", NULL};
        static const char queued[] = "event: score\ndata: {\"exam\": \"p3\", \"studentId\": \"q\", \"score\": 0.5}\n\n";
        int64_t until = now_ms() + WAIT_MS;
        int accepted = 0;

        assert_int_equal(e2e_http_with(&srv, "POST", "/import", "text/event-stream", prefer, queued, strlen(queued), &r),
                         0);
        assert_int_equal(r.status, 202);
        snprintf(path, sizeof(path), "%.60s", r.location);
        e2e_response_free(&r);
        while (!accepted && now_ms() < until) {
            obj = get_json(&srv, path);
            accepted = obj != NULL && str_of(obj, "status") != NULL && strcmp(str_of(obj, "status"), "accepted") == 0;
            json_object_put(obj);
            if (!accepted)
                pause_ms(20);
        }
        assert_true(accepted);
        obj = get_json(&srv, "/results/p3/aggregate");
        assert_non_null(obj);
        assert_true(fabs(json_object_get_double(json_object_object_get(obj, "mean")) - 50.0) < 1e-4);
        json_object_put(obj);
    }
}

/* --- the feed ------------------------------------------------------------------------------- */

static void the_feeds_scores_become_marks_and_batches_verbatim(void **state)
{
    char *value, *before = markr_test_db_value(conninfo, "SELECT coalesce(max(id), 0) FROM imports"), sql[512];
    json_object *feed;

    assert_non_null(before);
    assert_int_equal(sse_server_wait(&sse, 1, WAIT_MS), 0);
    assert_string_equal(sse_server_last_event_id(&sse, 0), ""); /* nothing stored yet */
    assert_int_equal(sse_server_send(&sse, ": welcome\nretry: 200\n\n"), 0);
    for (int i = 0; i < 20; ++i)
        send_score(i, (double)((i * 7919) % 10007) / 10007.0);
    assert_int_equal(sse_server_send(&sse, "event: other\ndata: {\"exam\": 7}\n\n: keep-alive\n\n"), 0);
    send_score(3, 0.01); /* lower: the highest stays */
    send_score(4, 1.0);
    assert_int_equal(sse_server_send(&sse, "id: bad1\nevent: score\ndata: {\"exam\": 7, \"studentId\": \"x\"}\n\n"), 0);
    send_score(21, 0.0);
    wait_for_aggregate(&srv);

    /* The refused event alone, verbatim, with its reason. */
    value = markr_test_db_value(conninfo, "SELECT reason->>'error' || ' ' || (reason->>'field') FROM imports "
                                          "WHERE content_type = 'text/event-stream' AND status = 'rejected' "
                                          "AND reason->>'error' = 'missing_field'");
    assert_non_null(value);
    assert_string_equal(value, "missing_field score");
    free(value);
    value = markr_test_db_value(conninfo, "SELECT convert_from(string_agg(c.bytes, ''::bytea ORDER BY c.seq), 'UTF8') "
                                          "FROM imports i JOIN import_chunks c ON c.import_id = i.id "
                                          "WHERE i.status = 'rejected' AND i.reason->>'error' = 'missing_field'");
    assert_non_null(value);
    assert_string_equal(value, "id: bad1\nevent: score\ndata: {\"exam\": 7, \"studentId\": \"x\"}\n\n");
    free(value);
    /* The accepted batches: their bodies in order are the valid score blocks as sent. */
    snprintf(sql, sizeof(sql),
             "SELECT convert_from(string_agg(c.bytes, ''::bytea ORDER BY i.id, c.seq), 'UTF8') "
             "FROM imports i JOIN import_chunks c ON c.import_id = i.id "
             "WHERE i.content_type = 'text/event-stream' AND i.status = 'accepted' AND i.id > %s",
             before);
    free(before);
    value = markr_test_db_value(conninfo, sql);
    assert_non_null(value);
    assert_string_equal(value, accepted_blocks);
    free(value);

    feed = get_json(&srv, "/feed");
    assert_non_null(feed);
    {
        char shown[96];

        snprintf(shown, sizeof(shown), "%s?...", sse.url); /* no user, no password, no query */
        assert_string_equal(str_of(feed, "url"), shown);
    }
    assert_null(strstr(json_object_to_json_string(feed), "secret"));
    assert_null(strstr(json_object_to_json_string(feed), "hush"));
    assert_true(json_object_get_boolean(json_object_object_get(feed, "connected")));
    assert_string_equal(str_of(feed, "last_event_id"), "23");
    assert_int_equal(int_of(feed, "events_accepted"), 23);
    assert_int_equal(int_of(feed, "events_refused"), 1);
    assert_non_null(str_of(feed, "last_event_at"));
    json_object_put(feed);
    assert_int_equal(e2e_metric(&srv, "markr_feed_connected"), 1);
    assert_int_equal(e2e_metric(&srv, "markr_feed_events_total{outcome=\"refused\"}"), 1);
    assert_int_equal(e2e_metric(&srv, "markr_feed_events_total{outcome=\"accepted\"}"), 23);
    assert_true(log_lines(&srv, "msg=\"feed connected\"", NULL) == 1);
}

static void a_drop_and_a_restart_resume_from_the_stored_position(void **state)
{
    int n = sse_server_connections(&sse);

    sse_server_drop(&sse);
    assert_int_equal(sse_server_wait(&sse, n + 1, WAIT_MS), 0);
    assert_string_equal(sse_server_last_event_id(&sse, n), "23");
    /* An event without an id field on the new connection keeps the stored position. */
    assert_int_equal(sse_server_send(&sse, "event: score\ndata: {\"exam\": 7, \"studentId\": \"st029\", \"score\": 0.5}\n\n"), 0);
    best[29] = seen[29] && best[29] > 50.0 ? best[29] : 50.0;
    seen[29] = 1;
    wait_for_aggregate(&srv);
    {
        char *position = markr_test_db_value(conninfo, "SELECT last_event_id FROM feed_positions");

        assert_non_null(position);
        assert_string_equal(position, "23");
        free(position);
    }
    send_score(30, 0.5);
    wait_for_aggregate(&srv);
    assert_true(e2e_metric(&srv, "markr_feed_reconnects_total") >= 1);
    assert_true(log_lines(&srv, "msg=\"feed dropped\"", NULL) >= 1);

    assert_int_equal(e2e_server_stop_clean(&srv), 0);
    assert_int_equal(e2e_server_start(&srv, conninfo, env), 0);
    assert_int_equal(sse_server_wait(&sse, n + 2, WAIT_MS), 0);
    assert_string_equal(sse_server_last_event_id(&sse, n + 1), "24");
    send_score(31, 0.75);
    wait_for_aggregate(&srv);
}

static void bad_answers_back_off_and_are_logged_once_per_state(void **state)
{
    int n = sse_server_connections(&sse);
    size_t len;
    char *log;

    /* a short retry, so that the backoff (100, 200, 400, 800 ms) keeps the test short */
    assert_int_equal(sse_server_send(&sse, "retry: 100\n\n"), 0);
    sse_server_answer(&sse, 204, "text/event-stream");
    sse_server_drop(&sse);
    assert_int_equal(sse_server_wait(&sse, n + 2, WAIT_MS), 0); /* two answers of 204 after the drop */
    sse_server_answer(&sse, 503, "text/plain");
    assert_int_equal(sse_server_wait(&sse, n + 3, WAIT_MS), 0);
    sse_server_answer(&sse, 200, "text/html");
    assert_int_equal(sse_server_wait(&sse, n + 4, WAIT_MS), 0);
    sse_server_answer(&sse, 200, "text/event-stream");
    assert_int_equal(sse_server_wait(&sse, n + 5, WAIT_MS), 0);
    assert_string_equal(sse_server_last_event_id(&sse, n + 4), "25");
    send_score(32, 0.3);
    wait_for_aggregate(&srv);
    assert_int_equal(log_lines(&srv, "msg=\"feed refused\"", "state=no_content"), 1);
    assert_int_equal(log_lines(&srv, "msg=\"feed refused\"", "state=http_503"), 1);
    assert_int_equal(log_lines(&srv, "msg=\"feed refused\"", "state=not_event_stream"), 1);
    log = e2e_read_file(srv.log_path, &len);
    assert_null(strstr(log, "secret"));
    assert_null(strstr(log, "hush"));
    free(log);
}

/* retry: 0 does not make a loop without pause: every reconnection waits at least 250 ms
 * (and the backoff doubles from there while the source answers 204). */
static void retry_zero_still_waits_before_reconnecting(void **state)
{
    int n = sse_server_connections(&sse);
    int64_t dropped;

    assert_int_equal(sse_server_send(&sse, "retry: 0\n\n"), 0);
    sse_server_answer(&sse, 204, "text/event-stream");
    dropped = now_ms();
    sse_server_drop(&sse);
    assert_int_equal(sse_server_wait(&sse, n + 3, WAIT_MS), 0);
    /* 250 ms after the drop, then 250 and 500 ms after each 204: a lower bound, which load
     * can only lengthen; without the floor the three came at once */
    assert_true(now_ms() - dropped >= 1000);
    sse_server_answer(&sse, 200, "text/event-stream");
    assert_int_equal(sse_server_wait(&sse, n + 4, WAIT_MS), 0);
    assert_int_equal(sse_server_send(&sse, "retry: 100\n\n"), 0);
}

static void one_instance_consumes_and_another_takes_over_after_sigkill(void **state)
{
    int n = sse_server_connections(&sse);
    int64_t killed;
    json_object *feed;

    assert_int_equal(e2e_server_start(&other, conninfo, env), 0);
    for (int64_t until = now_ms() + WAIT_MS; log_lines(&other, "held by another instance", NULL) == 0;) {
        if (now_ms() > until)
            fail_msg("the second instance never tried the lock");
        pause_ms(20);
    }
    assert_int_equal(sse_server_connections(&sse), n); /* it did not connect */
    assert_int_equal(e2e_metric(&other, "markr_feed_connected"), 0);
    feed = get_json(&other, "/feed");
    assert_non_null(feed);
    assert_false(json_object_get_boolean(json_object_object_get(feed, "connected")));
    json_object_put(feed);

    /* The standby's lock connection dies (a restart, a terminated backend, an idle-session
     * timeout): its next try fails, and the one after must run on a new connection, or no
     * instance would take over. Its last statement names it: the holder's checks its pid. */
    {
        char *terminated = markr_test_db_value(
            conninfo, "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE query LIKE 'SELECT pg_try_advisory_lock%' AND pid <> pg_backend_pid()) t");

        assert_non_null(terminated);
        assert_string_equal(terminated, "1");
        free(terminated);
    }
    for (int64_t until = now_ms() + WAIT_MS; log_lines(&other, "msg=\"feed lock unavailable\"", NULL) == 0;) {
        if (now_ms() > until)
            fail_msg("the standby never noticed its lock connection was gone");
        pause_ms(20);
    }
    assert_int_equal(e2e_metric(&srv, "markr_feed_connected"), 1); /* the holder */

    killed = now_ms();
    e2e_server_stop(&srv, SIGKILL);
    assert_int_equal(sse_server_wait(&sse, n + 1, 10000), 0); /* the bound: 10 s */
    printf("takeover after SIGKILL: %lld ms\n", (long long)(now_ms() - killed));
    assert_string_equal(sse_server_last_event_id(&sse, n), "26");
    assert_int_equal(log_lines(&other, "msg=\"feed taken\"", NULL), 1);
    holder = &other;
    send_score(33, 0.9);
    wait_for_aggregate(holder);
    assert_int_equal(e2e_metric(&other, "markr_feed_connected"), 1); /* the new holder */
    /* the killed instance comes back as the one that waits, and says it is not connected */
    assert_int_equal(e2e_server_start(&srv, conninfo, env), 0);
    for (int64_t until = now_ms() + WAIT_MS; log_lines(&srv, "held by another instance", NULL) == 0;) {
        if (now_ms() > until)
            fail_msg("the restarted instance never tried the lock");
        pause_ms(20);
    }
    assert_int_equal(e2e_metric(&srv, "markr_feed_connected"), 0);
    assert_int_equal(e2e_metric(&other, "markr_feed_connected"), 1);
}

/* --- a burst -------------------------------------------------------------------------------- */

struct prober {
    const struct markr_server *s;
    volatile int stop;
    int requests, failures;
};

static void *probe(void *arg)
{
    struct prober *p = arg;

    while (!p->stop) {
        struct e2e_response r;

        if (e2e_http(p->s, "GET", "/results/p1/aggregate", NULL, NULL, 0, &r) != 0 || r.status != 200)
            ++p->failures;
        ++p->requests;
        e2e_response_free(&r);
    }
    return NULL;
}

static void a_burst_of_a_thousand_events_a_second_is_absorbed(void **state)
{
    char *before = markr_test_db_value(conninfo, "SELECT coalesce(max(id), 0) FROM imports");
    char *batches, sql[256], block[256];
    struct prober p = {.s = holder};
    pthread_t t;
    int64_t start, last_sent, seen_at;
    json_object *agg;

    assert_int_equal(pthread_create(&t, NULL, probe, &p), 0);
    start = now_ms();
    for (int i = 0; i < 1000; ++i) {
        snprintf(block, sizeof(block),
                 "id: %d\nevent: score\ndata: {\"exam\": \"burst\", \"studentId\": \"b%04d\", \"score\": 0.5}\n\n",
                 next_id++, i);
        assert_int_equal(sse_server_send(&sse, block), 0);
        if (i % 10 == 9) { /* 10 events every 10 ms: 1,000 in a second */
            int64_t due = start + (i + 1);

            while (now_ms() < due)
                pause_ms(1);
        }
    }
    last_sent = now_ms();
    for (int64_t until = now_ms() + WAIT_MS;; pause_ms(5)) {
        agg = get_json(holder, "/results/burst/aggregate");
        if (agg != NULL && int_of(agg, "count") == 1000) {
            json_object_put(agg);
            break;
        }
        json_object_put(agg);
        if (now_ms() > until)
            fail_msg("the burst never reached the aggregate");
    }
    seen_at = now_ms();
    p.stop = 1;
    pthread_join(t, NULL);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM imports WHERE id > %s AND content_type = 'text/event-stream' AND status = 'accepted'",
             before);
    batches = markr_test_db_value(conninfo, sql);
    printf("burst: 1000 events sent in %lld ms, %s batches, last event to aggregate %lld ms; "
           "%d other requests meanwhile, %d failed\n",
           (long long)(last_sent - start), batches, (long long)(seen_at - last_sent), p.requests, p.failures);
    assert_int_equal(p.failures, 0);
    assert_true(p.requests > 0);
    assert_true(atoi(batches) >= 2 && atoi(batches) <= 1000);
    free(batches);
    free(before);
}

/* An instance whose generation is no longer the feed's (another took it meanwhile) stores
 * nothing: its batch fails, it gives the feed up, and the feed resumes from the position
 * stored before. */
static void a_batch_of_a_lost_generation_is_not_stored(void **state)
{
    int n = sse_server_connections(&sse);
    char position[16], block[160];

    snprintf(position, sizeof(position), "%d", next_id - 1);
    assert_int_equal(markr_test_db_exec(conninfo, "UPDATE feed_positions SET generation = generation + 1"), 0);
    snprintf(block, sizeof(block), "id: %d\nevent: score\ndata: {\"exam\": \"fenced\", \"studentId\": \"z\", \"score\": 1}\n\n",
             next_id++);
    assert_int_equal(sse_server_send(&sse, block), 0);
    assert_int_equal(sse_server_wait(&sse, n + 1, WAIT_MS), 0);
    assert_string_equal(sse_server_last_event_id(&sse, n), position);
    assert_int_equal(log_lines(holder, "msg=\"feed batch not stored\"", "error=feed_lost"), 1);
    {
        struct e2e_response r;

        assert_int_equal(e2e_http(holder, "GET", "/results/fenced/aggregate", NULL, NULL, 0, &r), 0);
        assert_int_equal(r.status, 404);
        e2e_response_free(&r);
    }
}

/* An event too long for the parser's bounds (a 70,000-byte data line) is kept alone as
 * refused, its block cut after the byte that passed the bound, and the stream goes on past
 * it: no reconnection, the position moves to the events after it. */
/* The feed's stored position is the id of the last score sent. */
static void stored_position_is_the_last_score(void)
{
    char *value, position[16];

    snprintf(position, sizeof(position), "%d", next_id - 1);
    value = markr_test_db_value(conninfo, "SELECT last_event_id FROM feed_positions WHERE feed LIKE '%/scores%'");
    assert_non_null(value);
    assert_string_equal(value, position);
    free(value);
}

static void an_event_too_long_is_kept_refused_and_the_stream_goes_on(void **state)
{
    int n = sse_server_connections(&sse);
    size_t cap = 80000, len;
    char *big = malloc(cap), *value;
    int id = next_id++;

    assert_non_null(big);
    len = (size_t)snprintf(big, cap, "id: %d\nevent: score\ndata: ", id);
    memset(big + len, 'x', 70000);
    len += 70000;
    snprintf(big + len, cap - len, "\nid: never-read\n\n");
    assert_int_equal(sse_server_send(&sse, big), 0);
    free(big);
    send_score(34, 0.6);
    wait_for_aggregate(holder);
    value = markr_test_db_value(conninfo, "SELECT reason->>'error' || ' ' || length(convert_from(string_agg(c.bytes, "
                                          "''::bytea ORDER BY c.seq), 'UTF8')) FROM imports i JOIN import_chunks c "
                                          "ON c.import_id = i.id WHERE i.status = 'rejected' AND "
                                          "i.reason->>'error' = 'malformed_event_stream' AND i.content_type = 'text/event-stream' "
                                          "GROUP BY i.id, i.reason");
    assert_non_null(value);
    {
        char expected[64];

        /* "id: N\n" + "event: score\n" + "data: " and the line up to the byte past its bound */
        snprintf(expected, sizeof(expected), "malformed_event_stream %d",
                 (int)(snprintf(NULL, 0, "id: %d\n", id) + 13 + 65536 + 1));
        assert_string_equal(value, expected);
    }
    free(value);
    stored_position_is_the_last_score();
    assert_int_equal(sse_server_connections(&sse), n); /* the stream went on */
    /* either instance may hold the feed since the lost generation's give-up */
    assert_int_equal(log_lines(&srv, "msg=\"feed event too long: kept refused and skipped\"", "reason=event_too_long") +
                         log_lines(&other, "msg=\"feed event too long: kept refused and skipped\"", "reason=event_too_long"),
                     1);
}

/* A score whose data is not UTF-8, under an id that is not UTF-8 either: the event is kept
 * refused (not_json), its id is not taken for the position (it could not be stored, nor
 * sent back), and the scores after it are stored as usual. */
static void a_score_that_is_not_utf8_is_kept_refused_and_the_stream_goes_on(void **state)
{
    static const char bad[] = "id: \xff\nevent: score\ndata: {\"exam\": 7, \"studentId\": \"Ren\xe9\", \"score\": 0.5}\n\n";
    int n = sse_server_connections(&sse);
    char *value;

    assert_int_equal(sse_server_send(&sse, bad), 0);
    send_score(35, 0.7);
    wait_for_aggregate(holder);
    value = markr_test_db_value(conninfo, "SELECT count(*) FROM imports WHERE status = 'rejected' AND "
                                          "reason->>'error' = 'not_json' AND reason->>'message' LIKE '%not valid UTF-8%'");
    assert_non_null(value);
    assert_string_equal(value, "1");
    free(value);
    stored_position_is_the_last_score();
    assert_int_equal(sse_server_connections(&sse), n); /* the stream went on */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_posted_block_is_one_document_under_rule_1),
        cmocka_unit_test(the_feeds_scores_become_marks_and_batches_verbatim),
        cmocka_unit_test(a_drop_and_a_restart_resume_from_the_stored_position),
        cmocka_unit_test(bad_answers_back_off_and_are_logged_once_per_state),
        cmocka_unit_test(retry_zero_still_waits_before_reconnecting),
        cmocka_unit_test(one_instance_consumes_and_another_takes_over_after_sigkill),
        cmocka_unit_test(a_burst_of_a_thousand_events_a_second_is_absorbed),
        cmocka_unit_test(a_batch_of_a_lost_generation_is_not_stored),
        cmocka_unit_test(an_event_too_long_is_kept_refused_and_the_stream_goes_on),
        cmocka_unit_test(a_score_that_is_not_utf8_is_kept_refused_and_the_stream_goes_on),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
