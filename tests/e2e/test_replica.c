/*
 * Read replicas (ADR 0030), end to end: two servers on one primary, reading from a real
 * streaming hot standby of it (scripts/pg-private.sh standby-start; MARKR_TEST_STANDBY_URL
 * names it, as scripts/test.sh sets it). Hundreds of import-then-read pairs through one
 * instance and across two are never stale; the reads are served by the standby (its own
 * transaction counter rises); with the standby's replay paused, reads stay exact and answer
 * within the bound; with the standby stopped nothing fails, and reads return to it once it is
 * back; in a list of several, a primary (not in recovery) and an unreachable standby are
 * skipped; a bad list stops start-up without quoting it; a read waiting for a paused standby
 * does not hold up the shutdown timeout.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <json-c/json.h>

#include "harness.h"
#include "live_client.h"
#include "test_db.h"

#define MAX_LAG_MS 500

static struct markr_server a, b;
static char *conninfo;        /* the suite's database on the primary */
static char standby_db[1024]; /* the same database on the standby */
static const char *standby_url; /* the standby's maintenance database */
static char count_sql[256];     /* the standby's commits in the suite's database */
static char read_url[1100];   /* MARKR_READ_DATABASE_URL=... */

/* The suite's database name (the harness's own: letters, digits, underscores; the conninfo
 * may quote it). */
static const char *database_of(const char *info)
{
    static char name[128];
    const char *at = strstr(info, "dbname=");
    size_t n;

    if (at == NULL)
        return NULL;
    at += 7 + (at[7] == '\'');
    n = strcspn(at, "' ");
    snprintf(name, sizeof(name), "%.*s", (int)n, at);
    return name;
}

/* Runs scripts/pg-private.sh ACTION (standby-stop, standby-start); asserts it succeeded. */
static void standby_ctl(const char *action)
{
    char cmd[2048];

    snprintf(cmd, sizeof(cmd), "bash '%s/scripts/pg-private.sh' %s >/dev/null 2>&1", getenv("MARKR_SOURCE_ROOT"),
             action);
    assert_int_equal(system(cmd), 0);
}

/* The standby's count of committed transactions in the suite's database (read-only ones
 * count: every read of the server is one). */
static long standby_commits(void)
{
    char *v = markr_test_db_value(standby_url, count_sql);
    long n = v != NULL ? atol(v) : -1;

    free(v);
    return n;
}

/* Lets the standby replay again, after a test that paused it: also at the suite's start, for
 * a run that failed while replay was paused (the standby would stay paused for every later
 * run). */
static int resume_replay(void **state)
{
    (void)state;
    return markr_test_db_exec(standby_url, "SELECT pg_wal_replay_resume()") == 0 ? 0 : -1;
}

static int setup(void **state)
{
    const char *standby = getenv("MARKR_TEST_STANDBY_URL");
    const char *env[] = {read_url, "MARKR_REPLICA_MAX_LAG_MS=500", "MARKR_WORKERS=4", NULL};
    const char *db;

    if (standby == NULL || *standby == '\0') {
        fprintf(stderr, "test_replica: MARKR_TEST_STANDBY_URL is not set (scripts/test.sh starts a standby)\n");
        exit(77); /* meson: skipped, and said so */
    }
    if ((conninfo = markr_test_db_create("replica")) == NULL || e2e_migrate(conninfo) != 0 ||
        (db = database_of(conninfo)) == NULL)
        return -1;
    /* Later keywords win in a conninfo string: the same server, the suite's database. */
    snprintf(standby_db, sizeof(standby_db), "%s dbname=%s", standby, db);
    standby_url = standby;
    if (resume_replay(state) != 0)
        return -1;
    snprintf(count_sql, sizeof(count_sql), "SELECT xact_commit FROM pg_stat_database WHERE datname = '%s'", db);
    snprintf(read_url, sizeof(read_url), "MARKR_READ_DATABASE_URL=%s", standby_db);
    if (e2e_server_start(&a, conninfo, env) != 0 || e2e_server_start(&b, conninfo, env) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    int rc = b.pid > 0 ? e2e_server_stop_clean(&b) : 0;

    return e2e_suite_stop(&a, conninfo) != 0 || rc != 0 ? -1 : 0;
}

/* Imports one mark of student 1 in test through srv; returns the import's id. */
static long import_mark(const struct markr_server *srv, const char *test, int obtained)
{
    char doc[512];
    struct e2e_response r;
    long id;

    snprintf(doc, sizeof(doc), MARK_DOC, "1", test, obtained);
    assert_int_equal(e2e_http(srv, "POST", "/import", MEDIA_TYPE, doc, strlen(doc), &r), 0);
    assert_int_equal(r.status, 201);
    assert_non_null(strstr(r.body, "\"import_id\":"));
    id = atol(strstr(r.body, "\"import_id\":") + 12);
    e2e_response_free(&r);
    return id;
}

/* Reads through srv what the import `id` of one mark `obtained` in test must show: the
 * aggregate, the test's results, and the import in the vault. Fails on anything older. */
static void assert_reflected(const struct markr_server *srv, const char *test, long id, int obtained)
{
    char path[256];
    struct e2e_response r;
    long count;
    double mean;

    read_aggregate(srv, test, &count, &mean);
    assert_int_equal(count, 1);
    assert_true(mean == obtained);
    snprintf(path, sizeof(path), "/results/%s", test);
    assert_int_equal(e2e_http(srv, "GET", path, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"student_number\":\"1\""));
    e2e_response_free(&r);
    snprintf(path, sizeof(path), "/imports/%ld", id);
    assert_int_equal(e2e_http(srv, "GET", path, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    e2e_response_free(&r);
}

static long standby_reads(const struct markr_server *srv)
{
    return e2e_metric(srv, "markr_replica_reads_total{target=\"standby\"}");
}

/* Waits until srv's read ports use the standby again (after a pause or an outage): the reads
 * of a fresh test go there within its backoff (2 s at most), 20 s given a loaded machine. */
static void wait_reads_on_standby(const struct markr_server *srv)
{
    double until = now_ms() + 20000;
    int round = 0;

    while (now_ms() < until) {
        long before = standby_reads(srv);
        char test[32];
        long id;

        snprintf(test, sizeof(test), "back-%d", round);
        id = import_mark(srv, test, 40 + round++ % 50);
        assert_reflected(srv, test, id, 40 + (round - 1) % 50);
        if (standby_reads(srv) > before)
            return;
        struct timespec pause = {.tv_nsec = 100 * 1000000L};
        nanosleep(&pause, NULL);
    }
    fail_msg("reads did not return to the standby within 20 s");
}

static void test_pairs_through_one_instance(void **state)
{
    long reads = standby_reads(&a), commits = standby_commits(), fallbacks;

    assert_true(reads >= 0 && commits >= 0);
    for (int i = 0; i < 200; ++i) {
        char test[32];
        long id;

        snprintf(test, sizeof(test), "one-%d", i);
        id = import_mark(&a, test, i % 101);
        assert_reflected(&a, test, id, i % 101);
    }
    /* Three reads a pair; most of them on the standby (a read can fall back when the
     * machine is slow enough to spend the bound), which counted their transactions. */
    fallbacks = e2e_metric(&a, "markr_replica_reads_total{target=\"primary\"}");
    fprintf(stderr, "one instance: %ld standby reads, %ld primary reads (fallbacks: down %ld, lag %ld, error %ld, "
                    "position_unknown %ld)\n",
            standby_reads(&a) - reads, fallbacks, e2e_metric(&a, "markr_replica_fallbacks_total{reason=\"down\"}"),
            e2e_metric(&a, "markr_replica_fallbacks_total{reason=\"lag\"}"),
            e2e_metric(&a, "markr_replica_fallbacks_total{reason=\"error\"}"),
            e2e_metric(&a, "markr_replica_fallbacks_total{reason=\"position_unknown\"}"));
    assert_true(standby_reads(&a) - reads >= 300);
    /* A backend reports its counters when idle, at most once a second (and within about 10 s
     * when it keeps busy): wait for them, within 30 s. */
    for (double until = now_ms() + 30000; standby_commits() - commits < 300 && now_ms() < until;) {
        struct timespec pause = {.tv_nsec = 200 * 1000000L};

        nanosleep(&pause, NULL);
    }
    assert_true(standby_commits() - commits >= 300);
}

static void test_pairs_across_two_instances(void **state)
{
    long reads = standby_reads(&b);
    struct sse s;

    /* b reflects what it was told: a change it has been notified of (its /events said so). */
    sse_open(&s, &b, "/events", 0);
    for (int i = 0; i < 150; ++i) {
        char test[32], needle[64];
        size_t from = 0;
        long id;

        snprintf(test, sizeof(test), "two-%d", i);
        id = import_mark(&a, test, i % 101);
        snprintf(needle, sizeof(needle), "{\"import_id\":%ld,", id);
        sse_wait(&s, &from, needle, 5000);
        memmove(s.buf, s.buf + from, s.len - from);
        s.len -= from;
        assert_reflected(&b, test, id, i % 101);
    }
    sse_close(&s);
    assert_true(standby_reads(&b) - reads >= 200);
}

static void test_replay_paused(void **state)
{
    long lag = e2e_metric(&a, "markr_replica_fallbacks_total{reason=\"lag\"}");
    double worst = 0;

    assert_int_equal(markr_test_db_exec(standby_url, "SELECT pg_wal_replay_pause()"), 0);
    for (int i = 0; i < 10; ++i) {
        char test[32];
        double start;
        long id;

        snprintf(test, sizeof(test), "paused-%d", i);
        id = import_mark(&a, test, 7 + i);
        start = now_ms();
        assert_reflected(&a, test, id, 7 + i);
        if (now_ms() - start > worst)
            worst = now_ms() - start;
    }
    assert_int_equal(markr_test_db_exec(standby_url, "SELECT pg_wal_replay_resume()"), 0);
    fprintf(stderr, "replay paused: worst three reads %.0f ms\n", worst);
    /* Each read waits at most the bound, then reads the primary; a lagging standby is then
     * skipped during its backoff. Three reads, with room for a loaded machine. */
    assert_true(worst < 3 * MAX_LAG_MS + 3000);
    assert_true(e2e_metric(&a, "markr_replica_fallbacks_total{reason=\"lag\"}") > lag);
    wait_reads_on_standby(&a);
}

static void test_standby_stopped_and_back(void **state)
{
    long down = e2e_metric(&a, "markr_replica_fallbacks_total{reason=\"down\"}");
    struct e2e_response r;

    standby_ctl("standby-stop");
    for (int i = 0; i < 30; ++i) {
        char test[32];
        long id;

        snprintf(test, sizeof(test), "stopped-%d", i);
        id = import_mark(i % 2 ? &a : &b, test, 50 + i);
        assert_reflected(i % 2 ? &b : &a, test, id, 50 + i);
    }
    assert_true(e2e_metric(&a, "markr_replica_fallbacks_total{reason=\"down\"}") > down);
    /* Ready while the primary is: the standby is reported down. */
    assert_int_equal(e2e_http(&a, "GET", "/ready", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"state\":\"down\""));
    e2e_response_free(&r);

    standby_ctl("standby-start");
    wait_reads_on_standby(&a);
    wait_reads_on_standby(&b);
    assert_int_equal(e2e_http(&a, "GET", "/ready", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"state\":\"up\""));
    e2e_response_free(&r);
}

/* The list in turn: the primary itself (not in recovery), a standby nobody serves, the real
 * one. Reads go to the real one, none fails, and /ready says what each is. */
static void test_several_standbys_some_unusable(void **state)
{
    char setting[4096];
    const char *env[] = {setting, "MARKR_REPLICA_MAX_LAG_MS=500", NULL};
    struct markr_server c;
    struct e2e_response r;
    long reads, not_primary;

    snprintf(setting, sizeof(setting), "MARKR_READ_DATABASE_URL=%s, host=/nonexistent-markr-socket-dir port=1 dbname=x,%s",
             conninfo, standby_db);
    assert_int_equal(e2e_server_start(&c, conninfo, env), 0);
    for (int i = 0; i < 30; ++i) {
        char test[32];
        long id;

        snprintf(test, sizeof(test), "several-%d", i);
        id = import_mark(&c, test, 20 + i);
        assert_reflected(&c, test, id, 20 + i);
    }
    reads = standby_reads(&c);
    not_primary = e2e_metric(&c, "markr_replica_fallbacks_total{reason=\"not_in_recovery\"}");
    assert_int_equal(e2e_http(&c, "GET", "/ready", NULL, NULL, 0, &r), 0);
    assert_int_equal(e2e_server_stop_clean(&c), 0);
    assert_true(reads >= 60);
    /* Skipped while in their backoff, not counted against each read. */
    assert_true(not_primary >= 0 && not_primary < 30);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"state\":\"not_in_recovery\""));
    assert_non_null(strstr(r.body, "\"state\":\"down\""));
    assert_non_null(strstr(r.body, "\"state\":\"up\""));
    assert_null(strstr(r.body, "password"));
    e2e_response_free(&r);
}

/* A list libpq cannot read stops `markr serve` with status 2, naming the entry by number and
 * never quoting it (it may hold a password); so does a bound out of range. */
static void test_bad_settings_stop_start_up(void **state)
{
    const char *argv[] = {"serve", NULL};
    const char *bad_list[] = {"MARKR_READ_DATABASE_URL=host=a,host=b password='sekrit", NULL};
    const char *empty_entry[] = {"MARKR_READ_DATABASE_URL=host=a,", NULL};
    const char *bad_bound[] = {"MARKR_READ_DATABASE_URL=host=a", "MARKR_REPLICA_MAX_LAG_MS=60001", NULL};
    char *out = NULL;

    assert_int_equal(e2e_run_cli(conninfo, argv, bad_list, &out), 2);
    assert_non_null(strstr(out, "MARKR_READ_DATABASE_URL: standby 2 is not a libpq conninfo string or URI"));
    assert_null(strstr(out, "sekrit"));
    free(out);
    assert_int_equal(e2e_run_cli(conninfo, argv, empty_entry, &out), 2);
    assert_non_null(strstr(out, "MARKR_READ_DATABASE_URL: entry 2 is empty"));
    free(out);
    assert_int_equal(e2e_run_cli(conninfo, argv, bad_bound, &out), 2);
    assert_non_null(strstr(out, "MARKR_REPLICA_MAX_LAG_MS"));
    free(out);
}

/* A read waiting for a standby (replay paused, a long bound) does not hold the shutdown
 * until the bound: it answers at the timeout (503, exit 1) or from the primary before it. */
static void test_shutdown_stops_a_wait(void **state)
{
    const char *env[] = {read_url, "MARKR_REPLICA_MAX_LAG_MS=60000", "MARKR_SHUTDOWN_TIMEOUT=1", NULL};
    struct markr_server d;
    struct sse s;
    size_t from = 0, at, len;
    double start, elapsed;
    char *log;
    int status, answer;

    assert_int_equal(e2e_server_start(&d, conninfo, env), 0);
    wait_reads_on_standby(&d); /* its change feed listens: reads may go to the standby */
    assert_int_equal(markr_test_db_exec(standby_url, "SELECT pg_wal_replay_pause()"), 0);
    import_mark(&d, "shutdown-wait", 5);
    sse_open(&s, &d, "/results/shutdown-wait/aggregate", 0);
    /* In flight: the waiting read and the /metrics request that asks. */
    for (double until = now_ms() + 10000; e2e_metric(&d, "markr_http_requests_in_flight") < 2;) {
        struct timespec pause = {.tv_nsec = 20 * 1000000L};

        assert_true(now_ms() < until);
        nanosleep(&pause, NULL);
    }
    start = now_ms();
    status = e2e_server_stop(&d, SIGTERM);
    elapsed = now_ms() - start;
    fprintf(stderr, "shutdown with a read waiting: %.0f ms, exit %d\n", elapsed, WEXITSTATUS(status));
    assert_int_equal(markr_test_db_exec(standby_url, "SELECT pg_wal_replay_resume()"), 0);
    assert_true(WIFEXITED(status));
    /* Never the 60 s bound: within the 1 s timeout and its grace. Either the wait was
     * abandoned at the timeout (exit 1, the read answered 503), or the read was let go to
     * the primary first, when the change feed closed with the shutdown (exit 0, 200), or it
     * was refused as the instance stopped, before the timeout (exit 0, 503): which comes
     * first depends on the machine's timing, all are correct. */
    assert_true(elapsed < 10000);
    assert_true(WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 1);
    /* It came back with its answer, not cut off. */
    log = e2e_read_file(d.log_path, &len);
    assert_null(strstr(log, "cut_off=true"));
    assert_non_null(strstr(log, "msg=stopped"));
    free(log);
    sse_wait(&s, &from, "HTTP/1.1 ", 5000);
    at = from;
    sse_wait(&s, &from, "\r\n", 5000);
    answer = atoi(s.buf + at);
    if (WEXITSTATUS(status) == 1)
        assert_int_equal(answer, 503);
    else
        assert_true(answer == 200 || answer == 503);
    sse_close(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_settings_stop_start_up),
        cmocka_unit_test(test_several_standbys_some_unusable),
        cmocka_unit_test(test_pairs_through_one_instance),
        cmocka_unit_test(test_pairs_across_two_instances),
        cmocka_unit_test_teardown(test_replay_paused, resume_replay),
        cmocka_unit_test(test_standby_stopped_and_back),
        cmocka_unit_test_teardown(test_shutdown_stops_a_wait, resume_replay),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
