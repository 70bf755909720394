/*
 * End to end: live feed sources that fail before any event, against the real server and a
 * real PostgreSQL: one that accepts and never answers (then answers and stays silent), over
 * loopback (sse_server.c), and one that cannot be reached. Each is retried with backoff and
 * logged once per state.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed_support.h"
#include "harness.h"
#include "sse_server.h"

#define WAIT_MS 20000 /* generous: the machine may be loaded */

static char *conninfo;
static struct markr_server srv;

static int setup(void **state)
{
    return e2e_suite_start("feed_source", NULL, &srv, &conninfo);
}

static int teardown(void **state)
{
    return e2e_suite_stop(&srv, conninfo);
}

/* A source that accepts and never answers fails as no_answer within the head timeout (here
 * the idle timeout, 2 s, is shorter) and is tried again with backoff, logged once; a stream
 * answered and then silent for the idle timeout is dropped as idle_timeout and reconnected. */
static void a_silent_source_times_out_and_is_retried_with_backoff(void **state)
{
    static char url[96];
    static const char *quiet_env[] = {url, "MARKR_WORKERS=1", "MARKR_FEED_IDLE_TIMEOUT_S=2", NULL};
    struct sse_server quiet;
    struct markr_server lone;
    int64_t started;

    assert_int_equal(sse_server_start(&quiet), 0);
    sse_server_answer(&quiet, 0, "text/event-stream");
    snprintf(url, sizeof(url), "MARKR_FEED_URL=%s", quiet.url);
    assert_int_equal(e2e_server_start(&lone, conninfo, quiet_env), 0);
    assert_int_equal(sse_server_wait(&quiet, 1, WAIT_MS), 0);
    started = now_ms();
    assert_int_equal(sse_server_wait(&quiet, 3, 3 * WAIT_MS), 0);
    /* 2 s without an answer, 1 s of retry; 2 s, then 2 s of backoff: a lower bound */
    assert_true(now_ms() - started >= 2000 + 1000 + 2000 + 2000 - 500);
    assert_int_equal(log_lines(&lone, "msg=\"feed refused\"", "state=no_answer"), 1);
    assert_true(e2e_metric(&lone, "markr_feed_reconnects_total") >= 2);

    sse_server_answer(&quiet, 200, "text/event-stream"); /* answered, then nothing */
    assert_int_equal(sse_server_wait(&quiet, 5, 3 * WAIT_MS), 0);
    assert_true(log_lines(&lone, "msg=\"feed dropped\"", "detail=idle_timeout") >= 1);
    assert_int_equal(e2e_server_stop_clean(&lone), 0);
    sse_server_stop(&quiet);
}

/* A source that cannot be reached: the instance holds its feed (another name, another lock),
 * tries again with backoff, and says so once. */
static void an_unreachable_source_is_logged_once_and_retried(void **state)
{
    static const char *const dead[] = {"MARKR_FEED_URL=http://127.0.0.1:1/nothing", "MARKR_WORKERS=1", NULL};
    struct markr_server lone;
    json_object *feed;
    int64_t until = now_ms() + WAIT_MS;

    assert_int_equal(e2e_server_start(&lone, conninfo, dead), 0);
    while (e2e_metric(&lone, "markr_feed_reconnects_total") < 2 && now_ms() < until)
        pause_ms(50);
    feed = get_json(&lone, "/feed");
    assert_non_null(feed);
    assert_true(json_object_get_boolean(json_object_object_get(feed, "held")));
    assert_false(json_object_get_boolean(json_object_object_get(feed, "connected")));
    assert_true(int_of(feed, "reconnects") >= 2);
    json_object_put(feed);
    assert_int_equal(log_lines(&lone, "msg=\"feed refused\"", "state=unreachable"), 1);
    assert_int_equal(e2e_server_stop_clean(&lone), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_silent_source_times_out_and_is_retried_with_backoff),
        cmocka_unit_test(an_unreachable_source_is_logged_once_and_retried),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
