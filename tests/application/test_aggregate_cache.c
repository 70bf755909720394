/*
 * The aggregate cache's exactness rules through a fake host: requests that wait are tickets,
 * a stream is a counter, a refresh waits in a queue until the test completes it by running
 * the aggregate use case against a fake database that counts its queries. Proves: one query
 * for any number of waiters; figures and unknown tests are answered without a query while
 * the feed is up, and never while it is down; a change of the test, a flush or the feed going
 * down or up forgets them; an answer computed across such an event is not kept and goes only
 * to those who asked before it; streams are refreshed; idle entries are evicted past the
 * bound; closing answers everyone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "application/aggregate_cache.h"
#include "application/get_aggregate.h"

#define MAX_WAITERS 8
#define MAX_PENDING 8
#define MAX_MARKED 8

struct fake_topic {
    struct markr_cache_entry entry;
    struct markr_cache_ticket waiting[MAX_WAITERS]; /* the requests that wait */
    size_t nwaiting;
    int streams;           /* started or not */
    int unstarted;         /* streams that have not had their first event */
    int answered;          /* requests answered with figures */
    char last_body[64];    /* the figures they got */
    int failed;            /* requests (and unstarted streams) answered with an error */
    enum markr_error_code last_error;
    int stream_events;     /* figures sent to the streams */
};

/* The database: tests with marks, and a switch for an outage. */
struct fake_db {
    const char *marked[MAX_MARKED];
    unsigned long long count[MAX_MARKED];
    int down;
    int queries;
};

struct fixture {
    struct fake_db db;
    struct markr_results_reader reader;
    struct markr_aggregate_cache *cache;
    struct markr_cache_entry *pending[MAX_PENDING]; /* refreshes out, oldest first */
    size_t npending;
    int refuse_refresh; /* the worker pool is full */
    int created, destroyed;
};

static struct fake_topic *topic_of(const struct markr_cache_entry *e)
{
    return (struct fake_topic *)((char *)e - offsetof(struct fake_topic, entry));
}

/* --- the fake database -------------------------------------------------------------------- */

static int db_aggregate(void *ctx, const char *id, size_t len, struct markr_aggregate *out, struct markr_error *err)
{
    struct fake_db *db = ctx;

    db->queries++;
    if (db->down)
        return markr_error_set(err, MARKR_ERR_UNAVAILABLE, "database_unavailable", "the database is down");
    for (size_t i = 0; i < MAX_MARKED && db->marked[i] != NULL; ++i)
        if (strlen(db->marked[i]) == len && memcmp(db->marked[i], id, len) == 0) {
            memset(out, 0, sizeof(*out));
            out->count = db->count[i];
            return 0;
        }
    return markr_aggregate_unknown(err);
}

static void db_mark(struct fake_db *db, const char *id, unsigned long long count)
{
    size_t i = 0;

    while (i < MAX_MARKED - 1 && db->marked[i] != NULL && strcmp(db->marked[i], id) != 0)
        ++i;
    db->marked[i] = id;
    db->count[i] = count;
}

/* --- the fake host ------------------------------------------------------------------------- */

static struct markr_cache_entry *host_create(void *ctx)
{
    struct fixture *f = ctx;
    struct fake_topic *t = calloc(1, sizeof(*t));

    assert_non_null(t);
    f->created++;
    return &t->entry;
}

static void host_destroy(void *ctx, struct markr_cache_entry *e)
{
    struct fixture *f = ctx;

    f->destroyed++;
    free(topic_of(e));
}

static unsigned host_interest(void *ctx, const struct markr_cache_entry *e)
{
    struct fake_topic *t = topic_of(e);

    return (t->nwaiting > 0 ? MARKR_CACHE_WAITERS : 0) | (t->streams > 0 ? MARKR_CACHE_STREAMS : 0);
}

static int host_refresh(void *ctx, struct markr_cache_entry *e)
{
    struct fixture *f = ctx;

    if (f->refuse_refresh)
        return -1;
    assert_true(f->npending < MAX_PENDING);
    f->pending[f->npending++] = e;
    return 0;
}

static void host_deliver(void *ctx, struct markr_cache_entry *e, const struct markr_cache_ticket *upto,
                         const char *body, size_t len)
{
    struct fake_topic *t = topic_of(e);
    size_t kept = 0;

    for (size_t i = 0; i < t->nwaiting; ++i) {
        if (upto == NULL || markr_cache_ticket_covers(upto, &t->waiting[i])) {
            t->answered++;
            assert_true(len < sizeof(t->last_body));
            memcpy(t->last_body, body, len);
            t->last_body[len] = '\0';
        } else {
            t->waiting[kept++] = t->waiting[i];
        }
    }
    t->nwaiting = kept;
    if (upto == NULL) {
        t->stream_events += t->streams;
        t->unstarted = 0;
    }
}

static void host_fail(void *ctx, struct markr_cache_entry *e, const struct markr_error *err)
{
    struct fake_topic *t = topic_of(e);

    t->failed += (int)t->nwaiting + t->unstarted;
    if (t->nwaiting > 0 || t->unstarted > 0)
        t->last_error = err->code;
    t->nwaiting = 0;
    t->streams -= t->unstarted;
    t->unstarted = 0;
}

static struct fixture *make_fixture(size_t max_entries)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct markr_aggregate_cache_host host = {.create = host_create,
                                              .destroy = host_destroy,
                                              .interest = host_interest,
                                              .refresh = host_refresh,
                                              .deliver = host_deliver,
                                              .fail = host_fail};

    assert_non_null(f);
    host.ctx = f;
    f->reader = (struct markr_results_reader){.ctx = &f->db, .aggregate = db_aggregate};
    f->cache = markr_aggregate_cache_create(&host, max_entries);
    assert_non_null(f->cache);
    return f;
}

static int setup(void **state)
{
    struct fixture *f = make_fixture(MARKR_AGGREGATE_CACHE_MAX);

    markr_aggregate_cache_feed(f->cache, 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    int created;

    markr_aggregate_cache_destroy(f->cache);
    created = f->created;
    assert_int_equal(f->destroyed, created); /* every entry let go */
    free(f);
    return 0;
}

/* --- what the HTTP adapter does ------------------------------------------------------------ */

static struct fake_topic *topic(struct fixture *f, const char *id)
{
    struct markr_cache_entry *e = markr_aggregate_cache_entry(f->cache, id, strlen(id));

    assert_non_null(e);
    return topic_of(e);
}

/* GET: answered from the cache, or waits for a refresh. */
static enum markr_cache_answer get(struct fixture *f, const char *id)
{
    struct fake_topic *t = topic(f, id);
    enum markr_cache_answer answer = markr_aggregate_cache_answer(f->cache, &t->entry);

    if (answer == MARKR_CACHE_UNKNOWN) {
        assert_true(t->nwaiting < MAX_WAITERS);
        t->waiting[t->nwaiting++] = markr_aggregate_cache_ticket(f->cache, &t->entry);
        markr_aggregate_cache_refresh(f->cache, &t->entry);
    }
    return answer;
}

/* A stream opens: starts with the held figures, or a refresh. */
static void open_stream(struct fixture *f, const char *id)
{
    struct fake_topic *t = topic(f, id);

    t->streams++;
    if (markr_aggregate_cache_answer(f->cache, &t->entry) == MARKR_CACHE_FIGURES) {
        t->stream_events++;
        return;
    }
    t->unstarted++;
    markr_aggregate_cache_refresh(f->cache, &t->entry);
}

/* A worker finishes the oldest refresh: the use case against the fake database. */
static void complete(struct fixture *f)
{
    struct markr_cache_entry *e;
    struct markr_aggregate a;
    struct markr_error err;
    char body[32];
    int n;

    assert_true(f->npending > 0);
    e = f->pending[0];
    memmove(f->pending, f->pending + 1, (--f->npending) * sizeof(f->pending[0]));
    if (markr_get_aggregate(&f->reader, e->id, e->id_len, &a, &err) != 0) {
        markr_aggregate_cache_refreshed(f->cache, e, NULL, 0, &err);
        return;
    }
    n = snprintf(body, sizeof(body), "{\"count\":%llu}", (unsigned long long)a.count);
    markr_aggregate_cache_refreshed(f->cache, e, body, (size_t)n, NULL);
}

static void change(struct fixture *f, const char *test)
{
    const char *tests[] = {test};
    struct markr_change_event ev = {.import_id = 7, .tests = tests, .test_count = 1};

    markr_aggregate_cache_changed(f->cache, &ev);
}

static void flush(struct fixture *f)
{
    struct markr_change_event ev = {.import_id = -1, .flush = 1};

    markr_aggregate_cache_changed(f->cache, &ev);
}

/* Figures for `marked` and a remembered 404 for `unknown`, both held. */
static void hold_both(struct fixture *f, const char *marked, const char *unknown)
{
    db_mark(&f->db, marked, 3);
    get(f, marked);
    get(f, unknown);
    while (f->npending > 0)
        complete(f);
    assert_int_equal(get(f, marked), MARKR_CACHE_FIGURES);
    assert_int_equal(get(f, unknown), MARKR_CACHE_MISSING);
}

/* --- tests --------------------------------------------------------------------------------- */

static void one_query_answers_every_waiter_then_the_cache_answers(void **state)
{
    struct fixture *f = *state;
    struct fake_topic *t = topic(f, "maths");

    db_mark(&f->db, "maths", 2);
    for (int i = 0; i < 3; ++i)
        assert_int_equal(get(f, "maths"), MARKR_CACHE_UNKNOWN);
    assert_int_equal(f->npending, 1); /* one refresh for the three */
    complete(f);
    assert_int_equal(f->db.queries, 1);
    assert_int_equal(t->answered, 3);
    assert_string_equal(t->last_body, "{\"count\":2}");
    assert_int_equal(get(f, "maths"), MARKR_CACHE_FIGURES);
    assert_int_equal(t->entry.body_len, strlen("{\"count\":2}"));
    assert_memory_equal(t->entry.body, "{\"count\":2}", t->entry.body_len);
    assert_int_equal(f->npending, 0);
    assert_int_equal(f->db.queries, 1);
}

static void the_second_404_of_an_unknown_test_costs_no_query(void **state)
{
    struct fixture *f = *state;
    struct fake_topic *t = topic(f, "nothing-here");

    assert_int_equal(get(f, "nothing-here"), MARKR_CACHE_UNKNOWN);
    complete(f);
    assert_int_equal(f->db.queries, 1);
    assert_int_equal(t->failed, 1);
    assert_int_equal(t->last_error, MARKR_ERR_NOT_FOUND);
    for (int i = 0; i < 5; ++i)
        assert_int_equal(get(f, "nothing-here"), MARKR_CACHE_MISSING);
    assert_int_equal(f->npending, 0);
    assert_int_equal(f->db.queries, 1);
}

static void other_errors_are_not_remembered(void **state)
{
    struct fixture *f = *state;

    f->db.down = 1;
    get(f, "maths");
    complete(f);
    assert_int_equal(topic(f, "maths")->last_error, MARKR_ERR_UNAVAILABLE);
    f->db.down = 0;
    assert_int_equal(get(f, "maths"), MARKR_CACHE_UNKNOWN);
    assert_int_equal(f->npending, 1);
}

static void a_change_of_a_test_forgets_only_that_test(void **state)
{
    struct fixture *f = *state;

    hold_both(f, "maths", "latin");
    hold_both(f, "physics", "greek");
    change(f, "maths");
    change(f, "latin"); /* marks arrived for a test that had none */
    db_mark(&f->db, "latin", 1);
    assert_int_equal(get(f, "maths"), MARKR_CACHE_UNKNOWN);
    assert_int_equal(get(f, "latin"), MARKR_CACHE_UNKNOWN);
    assert_int_equal(get(f, "physics"), MARKR_CACHE_FIGURES);
    assert_int_equal(get(f, "greek"), MARKR_CACHE_MISSING);
    complete(f);
    complete(f);
    assert_int_equal(get(f, "latin"), MARKR_CACHE_FIGURES);
    change(f, "never-asked"); /* a test nobody asked for: nothing to forget */
}

static void a_flush_forgets_everything(void **state)
{
    struct fixture *f = *state;

    hold_both(f, "maths", "latin");
    flush(f);
    assert_int_equal(get(f, "maths"), MARKR_CACHE_UNKNOWN);
    assert_int_equal(get(f, "latin"), MARKR_CACHE_UNKNOWN);
}

static void nothing_is_answered_while_the_feed_is_down(void **state)
{
    struct fixture *f = make_fixture(MARKR_AGGREGATE_CACHE_MAX);
    struct fake_topic *t;

    *state = f;
    /* A new cache waits for the feed to be up. */
    assert_false(markr_aggregate_cache_serving(f->cache));
    db_mark(&f->db, "maths", 1);
    open_stream(f, "maths");
    complete(f);
    t = topic(f, "maths");
    assert_int_equal(t->stream_events, 1); /* the figures reach the stream ... */
    assert_int_equal(markr_aggregate_cache_answer(f->cache, &t->entry), MARKR_CACHE_UNKNOWN); /* ... not the cache */
    assert_null(t->entry.body);
    get(f, "unknown");
    complete(f);
    assert_int_equal(markr_aggregate_cache_answer(f->cache, &topic(f, "unknown")->entry), MARKR_CACHE_UNKNOWN);

    markr_aggregate_cache_feed(f->cache, 1);
    assert_true(markr_aggregate_cache_serving(f->cache));
    assert_int_equal(f->npending, 1); /* up: the stream is refreshed (it may have missed changes) */
    complete(f);
    assert_int_equal(t->stream_events, 2);
    hold_both(f, "maths", "unknown");

    markr_aggregate_cache_feed(f->cache, 0); /* down: all forgotten, nothing refreshed */
    assert_false(markr_aggregate_cache_serving(f->cache));
    assert_int_equal(markr_aggregate_cache_answer(f->cache, &t->entry), MARKR_CACHE_UNKNOWN);
    assert_int_equal(markr_aggregate_cache_answer(f->cache, &topic(f, "unknown")->entry), MARKR_CACHE_UNKNOWN);
    assert_int_equal(f->npending, 0);
    markr_aggregate_cache_feed(f->cache, 1); /* up again: starts empty */
    assert_int_equal(markr_aggregate_cache_answer(f->cache, &topic(f, "unknown")->entry), MARKR_CACHE_UNKNOWN);
    complete(f); /* the stream's refresh */
    assert_int_equal(markr_aggregate_cache_answer(f->cache, &t->entry), MARKR_CACHE_FIGURES);
}

static void figures_computed_across_a_change_go_only_to_earlier_requests(void **state)
{
    struct fixture *f = *state;
    struct fake_topic *t = topic(f, "maths");

    db_mark(&f->db, "maths", 1);
    get(f, "maths"); /* asked before the change */
    change(f, "maths");
    db_mark(&f->db, "maths", 2);
    get(f, "maths"); /* asked after it: the refresh out may predate it */
    assert_int_equal(f->npending, 1);
    complete(f); /* (the fake computes 2, but a real refresh may have read 1) */
    assert_int_equal(t->answered, 1);
    assert_int_equal(t->nwaiting, 1);
    assert_null(t->entry.body); /* not kept */
    assert_int_equal(f->npending, 1); /* computed again for the later request */
    complete(f);
    assert_int_equal(t->answered, 2);
    assert_int_equal(get(f, "maths"), MARKR_CACHE_FIGURES);
}

static void figures_computed_across_the_feed_going_down_and_up_are_not_kept(void **state)
{
    struct fixture *f = *state;
    struct fake_topic *t = topic(f, "maths");

    db_mark(&f->db, "maths", 1);
    get(f, "maths");
    markr_aggregate_cache_feed(f->cache, 0);
    markr_aggregate_cache_feed(f->cache, 1);
    get(f, "maths");
    complete(f);
    assert_int_equal(t->answered, 1); /* the request from before the outage */
    assert_null(t->entry.body);
    complete(f);
    assert_int_equal(t->answered, 2);
    assert_int_equal(get(f, "maths"), MARKR_CACHE_FIGURES);
}

static void a_404_computed_across_a_change_is_not_remembered(void **state)
{
    struct fixture *f = *state;
    struct fake_topic *t = topic(f, "late");

    get(f, "new");
    complete(f);
    change(f, "new"); /* a remembered 404 is forgotten like figures */
    assert_int_equal(get(f, "new"), MARKR_CACHE_UNKNOWN);
    complete(f);

    get(f, "late");
    change(f, "late"); /* marks of "late" were committed while its refresh ran */
    complete(f);       /* it found none: said to nobody, not kept */
    assert_int_equal(t->failed, 0);
    assert_int_equal(markr_aggregate_cache_answer(f->cache, &t->entry), MARKR_CACHE_UNKNOWN);
    assert_int_equal(f->npending, 1); /* computed again for the request */
    db_mark(&f->db, "late", 4);
    complete(f);
    assert_string_equal(t->last_body, "{\"count\":4}");
    assert_int_equal(get(f, "late"), MARKR_CACHE_FIGURES);
}

static void streams_are_refreshed_by_changes_and_retried_after_failures(void **state)
{
    struct fixture *f = *state;
    struct fake_topic *t = topic(f, "maths");

    db_mark(&f->db, "maths", 1);
    open_stream(f, "maths");
    complete(f);
    assert_int_equal(t->stream_events, 1);
    open_stream(f, "maths"); /* a second stream starts from the cache */
    assert_int_equal(t->stream_events, 2);
    assert_int_equal(f->npending, 0);

    change(f, "maths");
    assert_int_equal(f->npending, 1); /* streams get the new figures unasked */
    f->db.down = 1;
    complete(f);
    assert_int_equal(t->streams, 2); /* started streams keep their figures */
    markr_aggregate_cache_retry(f->cache);
    assert_int_equal(f->npending, 1); /* the heartbeat tries again */
    f->db.down = 0;
    complete(f);
    assert_int_equal(t->stream_events, 4);
    markr_aggregate_cache_retry(f->cache);
    assert_int_equal(f->npending, 0); /* nothing to retry once held */

    open_stream(f, "unknown"); /* a stream of a test without marks is refused */
    complete(f);
    assert_int_equal(topic(f, "unknown")->streams, 0);
    assert_int_equal(topic(f, "unknown")->last_error, MARKR_ERR_NOT_FOUND);
}

static void a_refresh_that_cannot_start_is_not_out(void **state)
{
    struct fixture *f = *state;
    struct fake_topic *t = topic(f, "maths");

    f->refuse_refresh = 1;
    get(f, "maths");
    assert_false(t->entry.refreshing);
    f->refuse_refresh = 0;
    t->nwaiting = 0; /* the host answered it (overloaded) */
    get(f, "maths");
    assert_int_equal(f->npending, 1);
    complete(f);
}

static void idle_entries_are_evicted_past_the_bound(void **state)
{
    struct fixture *f = make_fixture(4);
    struct fake_topic *busy;

    *state = f;
    markr_aggregate_cache_feed(f->cache, 1);
    hold_both(f, "a", "b"); /* figures and a remembered 404 count alike */
    get(f, "c");            /* waits: not idle */
    busy = topic(f, "c");
    topic(f, "d");
    assert_int_equal(f->created, 4);
    topic(f, "e"); /* past the bound: a, b and d go */
    assert_int_equal(f->destroyed, 3);
    assert_ptr_equal(topic(f, "c"), busy);
    assert_int_equal(f->created, 5);
    assert_int_equal(get(f, "b"), MARKR_CACHE_UNKNOWN); /* forgotten with its entry */
    complete(f);
    complete(f);
}

static void closing_answers_everyone_and_drops_what_comes_back(void **state)
{
    struct fixture *f = *state;
    struct fake_topic *t = topic(f, "maths");
    struct markr_error err;

    db_mark(&f->db, "maths", 1);
    get(f, "maths");
    open_stream(f, "maths");
    markr_error_set(&err, MARKR_ERR_UNAVAILABLE, "shutting_down", "the server is stopping");
    markr_aggregate_cache_close(f->cache, &err);
    assert_true(markr_aggregate_cache_closed(f->cache));
    assert_false(markr_aggregate_cache_serving(f->cache));
    assert_int_equal(t->failed, 2);
    assert_int_equal(t->last_error, MARKR_ERR_UNAVAILABLE);
    complete(f); /* comes back after the close: dropped */
    assert_int_equal(t->answered, 0);
    assert_null(t->entry.body);
    markr_aggregate_cache_refresh(f->cache, &t->entry);
    assert_int_equal(f->npending, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(one_query_answers_every_waiter_then_the_cache_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(the_second_404_of_an_unknown_test_costs_no_query, setup, teardown),
        cmocka_unit_test_setup_teardown(other_errors_are_not_remembered, setup, teardown),
        cmocka_unit_test_setup_teardown(a_change_of_a_test_forgets_only_that_test, setup, teardown),
        cmocka_unit_test_setup_teardown(a_flush_forgets_everything, setup, teardown),
        cmocka_unit_test_teardown(nothing_is_answered_while_the_feed_is_down, teardown),
        cmocka_unit_test_setup_teardown(figures_computed_across_a_change_go_only_to_earlier_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(figures_computed_across_the_feed_going_down_and_up_are_not_kept, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_404_computed_across_a_change_is_not_remembered, setup, teardown),
        cmocka_unit_test_setup_teardown(streams_are_refreshed_by_changes_and_retried_after_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(a_refresh_that_cannot_start_is_not_out, setup, teardown),
        cmocka_unit_test_teardown(idle_entries_are_evicted_past_the_bound, teardown),
        cmocka_unit_test_setup_teardown(closing_answers_everyone_and_drops_what_comes_back, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
