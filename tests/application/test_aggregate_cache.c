/*
 * The aggregate cache's exactness rules through a fake host: requests that wait are tickets,
 * a stream is a counter, a refresh waits in a queue until the test completes it by running
 * the aggregate use case against a fake database that counts its queries. Proves: one query
 * for any number of waiters; figures and unknown tests are answered without a query while
 * the feed is up, and never while it is down; a change of the test, a flush or the feed going
 * down or up forgets them; an answer computed across such an event is not kept and goes only
 * to those who asked before it; streams are refreshed; at the bound the least recently
 * used idle entry goes, one at a time (never a busy one, nor a hot one among junk ids);
 * closing answers everyone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "cache_fixture.h"

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

/* Read-your-writes: the instance that committed an import forgets its tests before it
 * answers, without waiting for the feed; the feed's later report of the same change is
 * harmless, and streams are not refreshed by the commit itself (only by the report, or by
 * a refresh that a read started). */
static void an_own_commit_forgets_its_tests_before_the_feed_reports_it(void **state)
{
    struct fixture *f = *state;
    const char *tests[] = {"maths", "latin", "never-asked"};
    struct fake_topic *maths, *latin;

    hold_both(f, "maths", "latin");
    hold_both(f, "physics", "greek");
    open_stream(f, "maths"); /* started with the held figures */
    maths = topic(f, "maths");
    latin = topic(f, "latin");
    assert_int_equal(maths->stream_events, 1);
    /* A refresh of latin is out when the commit comes: its answer must not be kept. */
    change(f, "latin");
    assert_int_equal(get(f, "latin"), MARKR_CACHE_UNKNOWN);
    assert_int_equal(f->npending, 1);
    db_mark(&f->db, "maths", 3);
    db_mark(&f->db, "latin", 1);

    markr_aggregate_cache_committed(f->cache, tests, 3);
    assert_int_equal(get(f, "maths"), MARKR_CACHE_UNKNOWN);
    assert_int_equal(get(f, "physics"), MARKR_CACHE_FIGURES);
    assert_int_equal(get(f, "greek"), MARKR_CACHE_MISSING);
    assert_int_equal(maths->stream_events, 1); /* left to the feed */
    complete(f); /* latin's refresh from before the commit: answers the earlier request only */
    assert_int_equal(markr_aggregate_cache_answer(f->cache, &latin->entry), MARKR_CACHE_UNKNOWN);
    while (f->npending > 0)
        complete(f);
    assert_int_equal(get(f, "maths"), MARKR_CACHE_FIGURES);
    assert_string_equal(maths->last_body, "{\"count\":3}");
    assert_int_equal(maths->stream_events, 2); /* a refresh that completes reaches the streams too */
    assert_int_equal(get(f, "latin"), MARKR_CACHE_UNKNOWN); /* computed again, after the commit */
    complete(f);
    assert_string_equal(latin->last_body, "{\"count\":1}");
    assert_int_equal(get(f, "latin"), MARKR_CACHE_FIGURES);

    /* The feed reports the same change: streams get the figures, reads stay exact. */
    change(f, "maths");
    assert_int_equal(get(f, "maths"), MARKR_CACHE_UNKNOWN);
    while (f->npending > 0)
        complete(f);
    assert_int_equal(maths->stream_events, 3);
    assert_int_equal(get(f, "maths"), MARKR_CACHE_FIGURES);
    assert_string_equal(maths->last_body, "{\"count\":3}");
}

/* The item analysis is a second kind of entry of the same test: held apart from the
 * aggregate, and forgotten with it by a change of that test. */
static void each_kind_is_held_apart_and_a_change_forgets_every_kind(void **state)
{
    struct fixture *f = *state;
    struct markr_cache_entry *agg, *items, *other;

    db_mark(&f->db, "maths", 3);
    db_mark(&f->db, "physics", 2);
    agg = markr_aggregate_cache_entry(f->cache, "maths", 5);
    items = markr_aggregate_cache_entry_of(f->cache, MARKR_CACHE_ITEMS, "maths", 5);
    other = markr_aggregate_cache_entry_of(f->cache, MARKR_CACHE_ITEMS, "physics", 7);
    assert_ptr_not_equal(agg, items);
    assert_int_equal(agg->kind, MARKR_CACHE_AGGREGATE);
    assert_int_equal(items->kind, MARKR_CACHE_ITEMS);
    assert_ptr_equal(markr_aggregate_cache_entry_of(f->cache, MARKR_CACHE_ITEMS, "maths", 5), items);
    assert_ptr_equal(markr_aggregate_cache_entry_of(f->cache, MARKR_CACHE_AGGREGATE, "maths", 5), agg);
    markr_aggregate_cache_refresh(f->cache, agg);
    markr_aggregate_cache_refresh(f->cache, items);
    markr_aggregate_cache_refresh(f->cache, other);
    complete(f);
    complete(f);
    complete(f);
    assert_int_equal(markr_aggregate_cache_answer(f->cache, agg), MARKR_CACHE_FIGURES);
    assert_int_equal(markr_aggregate_cache_answer(f->cache, items), MARKR_CACHE_FIGURES);
    change(f, "maths");
    assert_int_equal(markr_aggregate_cache_answer(f->cache, agg), MARKR_CACHE_UNKNOWN);
    assert_int_equal(markr_aggregate_cache_answer(f->cache, items), MARKR_CACHE_UNKNOWN);
    assert_int_equal(markr_aggregate_cache_answer(f->cache, other), MARKR_CACHE_FIGURES);
    assert_int_equal(markr_aggregate_cache_count(f->cache), 3);
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

static void filling_past_the_bound_evicts_exactly_the_oldest_idle_entry(void **state)
{
    struct fixture *f = make_fixture(4);
    struct fake_topic *d;

    *state = f;
    markr_aggregate_cache_feed(f->cache, 1);
    hold_both(f, "a", "b"); /* figures and a remembered 404 count alike; b read last */
    topic(f, "c");
    d = topic(f, "d");
    assert_int_equal(f->created, 4);
    assert_int_equal(f->evicted, 0);
    topic(f, "e"); /* one past the bound: only the oldest goes */
    assert_int_equal(f->evicted, 1);
    assert_int_equal(f->destroyed, 1);
    assert_string_equal(f->last_evicted, "a");
    topic(f, "f");
    assert_int_equal(f->evicted, 2);
    assert_string_equal(f->last_evicted, "b"); /* the remembered 404 went with its entry */
    assert_ptr_equal(topic(f, "d"), d);          /* the others are still held */
    assert_int_equal(f->created, 6);
    assert_int_equal(get(f, "b"), MARKR_CACHE_UNKNOWN); /* forgotten: asked again, it costs a query */
    assert_string_equal(f->last_evicted, "c");
    assert_int_equal(f->evicted, 3);
    complete(f);
}

static void a_recently_read_entry_survives(void **state)
{
    struct fixture *f = make_fixture(3);

    *state = f;
    markr_aggregate_cache_feed(f->cache, 1);
    db_mark(&f->db, "a", 5);
    get(f, "a");
    complete(f);
    topic(f, "b");
    topic(f, "c");
    assert_int_equal(get(f, "a"), MARKR_CACHE_FIGURES); /* read: now the newest */
    topic(f, "d");
    assert_int_equal(f->evicted, 1);
    assert_string_equal(f->last_evicted, "b");
    assert_int_equal(get(f, "a"), MARKR_CACHE_FIGURES);
    assert_int_equal(f->db.queries, 1);
}

static void busy_entries_survive(void **state)
{
    struct fixture *f = make_fixture(3);
    struct fake_topic *a, *b;

    *state = f;
    markr_aggregate_cache_feed(f->cache, 1);
    db_mark(&f->db, "a", 1);
    db_mark(&f->db, "b", 2);
    open_stream(f, "a");
    open_stream(f, "b");
    complete(f);
    complete(f);
    a = topic(f, "a");
    b = topic(f, "b");
    get(f, "c"); /* waits, its refresh out */
    topic(f, "d"); /* nothing is idle: the bound is passed, nothing evicted */
    assert_int_equal(f->evicted, 0);
    assert_int_equal(f->created, 4);
    topic(f, "e"); /* d is the only idle entry, though the newest */
    assert_int_equal(f->evicted, 1);
    assert_string_equal(f->last_evicted, "d");
    complete(f); /* c is answered: idle now */
    topic(f, "f");
    assert_int_equal(f->evicted, 2);
    assert_string_equal(f->last_evicted, "c");
    assert_ptr_equal(topic(f, "a"), a); /* the streams' entries and figures are still there */
    assert_ptr_equal(topic(f, "b"), b);
    assert_int_equal(a->stream_events, 1);
    assert_int_equal(markr_aggregate_cache_answer(f->cache, &b->entry), MARKR_CACHE_FIGURES);
    assert_int_equal(f->created, 6);
}

static void junk_ids_cannot_evict_a_hot_entry_read_between_them(void **state)
{
    struct fixture *f = *state;
    char id[32];

    db_mark(&f->db, "hot", 9);
    get(f, "hot");
    complete(f);
    for (int i = 0; i < 2 * MARKR_AGGREGATE_CACHE_MAX; ++i) {
        snprintf(id, sizeof(id), "junk-%d", i);
        topic(f, id);
        if (get(f, "hot") != MARKR_CACHE_FIGURES)
            fail_msg("the hot entry was evicted after %d junk ids", i + 1);
    }
    assert_int_equal(f->db.queries, 1);
    assert_int_equal(f->created, 1 + 2 * MARKR_AGGREGATE_CACHE_MAX);
    assert_int_equal(f->evicted, f->created - MARKR_AGGREGATE_CACHE_MAX); /* one at a time, at the bound */
    assert_int_equal(f->npending, 0);
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
        cmocka_unit_test_setup_teardown(each_kind_is_held_apart_and_a_change_forgets_every_kind, setup, teardown),
        cmocka_unit_test_setup_teardown(a_flush_forgets_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(an_own_commit_forgets_its_tests_before_the_feed_reports_it, setup, teardown),
        cmocka_unit_test_teardown(nothing_is_answered_while_the_feed_is_down, teardown),
        cmocka_unit_test_setup_teardown(figures_computed_across_a_change_go_only_to_earlier_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(figures_computed_across_the_feed_going_down_and_up_are_not_kept, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_404_computed_across_a_change_is_not_remembered, setup, teardown),
        cmocka_unit_test_setup_teardown(streams_are_refreshed_by_changes_and_retried_after_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(a_refresh_that_cannot_start_is_not_out, setup, teardown),
        cmocka_unit_test_teardown(filling_past_the_bound_evicts_exactly_the_oldest_idle_entry, teardown),
        cmocka_unit_test_teardown(a_recently_read_entry_survives, teardown),
        cmocka_unit_test_teardown(busy_entries_survive, teardown),
        cmocka_unit_test_setup_teardown(junk_ids_cannot_evict_a_hot_entry_read_between_them, setup, teardown),
        cmocka_unit_test_setup_teardown(closing_answers_everyone_and_drops_what_comes_back, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
