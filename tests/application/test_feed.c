/*
 * The live feed's use cases through a fake store and a small event format (data "student
 * obtained" is a result of test t; data "bad" is refused): a batch closes at 500 events or
 * 200 ms, never sooner; its body is its blocks verbatim and its position the last id; a
 * refused event is stored alone after the batch before it (whose position stays before
 * it), and so is an event too long whatever its type; other types move the position only; a store failure is reported and nothing counted;
 * GET /feed's use case is 404 without a feed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "application/feed.h"

/* --- a format: "student obtained" of 10 ------------------------------------------------------ */

struct doc_parse {
    struct markr_document *doc;
    struct markr_error *err;
};

static int on_event(void *ctx, const struct markr_event_stream_event *ev)
{
    struct doc_parse *p = ctx;
    struct markr_raw_result raw = {0};
    const char *space = strchr(ev->data, ' ');

    if (strcmp(ev->type, "score") != 0)
        return 0;
    if (space == NULL) {
        markr_error_set(p->err, MARKR_ERR_INVALID, "bad_event", "event %zu is bad", ev->index);
        return 1;
    }
    raw.text[MARKR_FIELD_TEST_ID] = "t";
    raw.len[MARKR_FIELD_TEST_ID] = 1;
    raw.text[MARKR_FIELD_STUDENT_NUMBER] = ev->data;
    raw.len[MARKR_FIELD_STUDENT_NUMBER] = (size_t)(space - ev->data);
    raw.text[MARKR_FIELD_AVAILABLE] = "10";
    raw.len[MARKR_FIELD_AVAILABLE] = 2;
    raw.text[MARKR_FIELD_OBTAINED] = space + 1;
    raw.len[MARKR_FIELD_OBTAINED] = strlen(space + 1);
    return markr_document_add(p->doc, &raw, p->err) != 0 ? 1 : 0;
}

static int parse(void *ctx, const char *body, size_t len, struct markr_document *doc, struct markr_error *err)
{
    struct doc_parse p = {.doc = doc, .err = err};
    struct markr_event_stream s;
    int rc;

    markr_event_stream_init(&s, on_event, &p);
    rc = markr_event_stream_feed(&s, body, len);
    if (rc == 0)
        rc = markr_event_stream_finish(&s);
    if (rc == MARKR_EVENT_STREAM_TOO_LONG)
        markr_error_set(err, MARKR_ERR_MALFORMED, "too_long", "an event is too long");
    markr_event_stream_free(&s);
    return rc == 0 ? 0 : -1;
}

/* --- a store that records ------------------------------------------------------------------ */

#define ENTRIES 8

struct entry {
    int accepted;
    char body[32768]; /* 500 blocks of the test below; the start of a larger body */
    size_t body_len;
    char position[64];
    int64_t generation;
    size_t marks;
};

static struct {
    struct entry entries[ENTRIES];
    int count;
    int fail;
} store;

static int record(const struct markr_vault_entry *e, int accepted, size_t marks, int64_t *id, struct markr_error *err)
{
    struct entry *r;

    if (store.fail)
        return markr_error_set(err, MARKR_ERR_UNAVAILABLE, "feed_lost", "another instance holds the feed");
    assert_true(store.count < ENTRIES);
    assert_non_null(e->position);
    r = &store.entries[store.count++];
    r->accepted = accepted;
    r->body_len = e->body_len;
    snprintf(r->body, sizeof(r->body), "%.*s", (int)e->body_len, e->body);
    snprintf(r->position, sizeof(r->position), "%s", e->position->last_event_id);
    r->generation = e->position->generation;
    r->marks = marks;
    *id = store.count;
    return 0;
}

static int save_accepted(void *ctx, const struct markr_vault_entry *e, const struct markr_marks *marks, int64_t *id,
                         struct markr_error *err)
{
    return record(e, 1, marks->count, id, err);
}

static int save_rejected(void *ctx, const struct markr_vault_entry *e, const struct markr_error *reason, int64_t *id,
                         struct markr_error *err)
{
    return record(e, 0, 0, id, err);
}

static struct markr_format format_items[1];
static struct markr_import_deps import;
static struct markr_feed_deps deps;
static struct markr_feed_batch batch;
static struct markr_feed_counts counts;

static int setup(void **state)
{
    memset(&store, 0, sizeof(store));
    memset(&counts, 0, sizeof(counts));
    format_items[0] = (struct markr_format){.media_type = "text/event-stream", .parser = {.parse = parse}};
    import = (struct markr_import_deps){.formats = {.items = format_items, .count = 1},
                                        .store = {.save_accepted = save_accepted, .save_rejected = save_rejected}};
    deps = (struct markr_feed_deps){.import = &import, .content_type = "text/event-stream", .result_type = "score",
                                    .feed = "http://feed/", .generation = 7};
    markr_feed_batch_init(&batch);
    return 0;
}

static int teardown(void **state)
{
    markr_feed_batch_free(&batch);
    return 0;
}

static int64_t take_time;

static int on_feed_event(void *ctx, const struct markr_event_stream_event *ev)
{
    struct markr_error err;

    return markr_feed_take(&deps, &batch, ev, take_time, &counts, &err);
}

/* Feeds text as a live stream (events too long skipped), each event taken at time t.
 * Returns 0, or -1 when a take failed. */
static int take_all(const char *text, int64_t t)
{
    struct markr_event_stream s;
    int rc;

    take_time = t;
    markr_event_stream_init(&s, on_feed_event, NULL);
    s.skip_too_long = 1;
    rc = markr_event_stream_feed(&s, text, strlen(text));
    markr_event_stream_free(&s);
    return rc != 0 ? -1 : 0;
}

static void a_batch_closes_at_200_ms_with_its_blocks_and_position(void **state)
{
    struct markr_error err;
    const char *text = "id: 1\nevent: score\ndata: a 5\n\n: between\n\nid: 2\nevent: score\ndata: b 10\n\n";

    assert_int_equal(take_all(text, 1000), 0);
    assert_int_equal(store.count, 0); /* nothing yet */
    assert_false(markr_feed_due(&batch, 1199));
    assert_true(markr_feed_due(&batch, 1200));
    assert_int_equal(markr_feed_flush(&deps, &batch, &counts, &err), 0);
    assert_int_equal(store.count, 1);
    assert_true(store.entries[0].accepted);
    assert_string_equal(store.entries[0].body, "id: 1\nevent: score\ndata: a 5\n\nid: 2\nevent: score\ndata: b 10\n\n");
    assert_string_equal(store.entries[0].position, "2");
    assert_int_equal(store.entries[0].generation, 7);
    assert_int_equal(store.entries[0].marks, 2);
    assert_int_equal(counts.accepted, 2);
    assert_string_equal(counts.stored_id, "2");
    assert_false(markr_feed_due(&batch, 99999)); /* empty */
    assert_int_equal(markr_feed_flush(&deps, &batch, &counts, &err), 0);
    assert_int_equal(store.count, 1); /* an empty batch stores nothing */
}

static void a_batch_closes_at_500_events(void **state)
{
    char block[64];

    for (int i = 1; i <= 501; ++i) {
        snprintf(block, sizeof(block), "id: %d\nevent: score\ndata: s%d 1\n\n", i, i);
        assert_int_equal(take_all(block, 5), 0);
    }
    assert_int_equal(store.count, 1);
    assert_int_equal(store.entries[0].marks, 500);
    assert_string_equal(store.entries[0].position, "500");
    assert_int_equal(batch.events, 1);
}

/* Events may carry comments: a batch closes at MARKR_FEED_BATCH_BYTES whatever its count. */
static void a_batch_closes_at_a_mebibyte(void **state)
{
    size_t n = 60 * 1024; /* under the parser's line bound */
    char *block = malloc(n + 3);

    assert_non_null(block);
    memset(block, 'c', n);
    memcpy(block, "event: score\ndata: a 5\n:", 24); /* then a comment of 60 KiB */
    memcpy(block + n, "\n\n", 3);
    for (int i = 0; i < 17; ++i)
        assert_int_equal(take_all(block, 0), 0);
    assert_int_equal(store.count, 0); /* 1,044,514 bytes */
    assert_int_equal(take_all(block, 0), 0);
    assert_int_equal(store.count, 1);
    assert_int_equal(store.entries[0].body_len, 18 * (n + 2));
    assert_int_equal(batch.events, 0);
    free(block);
}

static void a_refused_event_is_stored_alone_after_the_batch_before_it(void **state)
{
    struct markr_error err;
    const char *text = "id: 1\nevent: score\ndata: a 5\n\n"
                       "id: 2\nevent: heartbeat\ndata: x\n\n"
                       "id: 3\nevent: score\ndata: bad\n\n"
                       "id: 4\nevent: note\ndata: y\n\n";

    assert_int_equal(take_all(text, 0), 0);
    assert_int_equal(store.count, 2);
    assert_true(store.entries[0].accepted);
    assert_string_equal(store.entries[0].position, "2"); /* the ignored event's id moved it */
    assert_false(store.entries[1].accepted);
    assert_string_equal(store.entries[1].body, "id: 3\nevent: score\ndata: bad\n\n");
    assert_string_equal(store.entries[1].position, "3");
    assert_int_equal(counts.refused, 1);
    assert_int_equal(counts.ignored, 2);
    assert_string_equal(batch.last_event_id, "4"); /* stored with the next entry */
    assert_int_equal(markr_feed_flush(&deps, &batch, &counts, &err), 0);
    assert_int_equal(store.count, 2);
}

/* An event too long, of whatever type, is stored alone as refused (its block cut after the
 * byte past the bound) at its id, after the batch before it; the events after it go on. */
static void an_event_too_long_is_stored_alone_as_refused(void **state)
{
    struct markr_error err;
    size_t cap = MARKR_EVENT_STREAM_LINE_MAX + 256, len;
    char *text = malloc(cap);

    assert_non_null(text);
    len = (size_t)snprintf(text, cap, "id: 1\nevent: score\ndata: a 5\n\nid: 2\nevent: note\ndata: ");
    memset(text + len, 'x', MARKR_EVENT_STREAM_LINE_MAX + 10);
    len += MARKR_EVENT_STREAM_LINE_MAX + 10;
    snprintf(text + len, cap - len, "\n\nid: 3\nevent: score\ndata: b 6\n\n");
    assert_int_equal(take_all(text, 0), 0);
    free(text);
    assert_int_equal(store.count, 2);
    assert_true(store.entries[0].accepted);
    assert_string_equal(store.entries[0].position, "1");
    assert_false(store.entries[1].accepted);
    assert_string_equal(store.entries[1].position, "2");
    assert_int_equal(store.entries[1].body_len, strlen("id: 2\nevent: note\ndata: ") + MARKR_EVENT_STREAM_LINE_MAX + 1 -
                                                    strlen("data: "));
    assert_int_equal(counts.refused, 1);
    assert_int_equal(counts.ignored, 0);
    assert_int_equal(markr_feed_flush(&deps, &batch, &counts, &err), 0);
    assert_int_equal(store.count, 3);
    assert_true(store.entries[2].accepted);
    assert_string_equal(store.entries[2].position, "3");
}

static void a_store_failure_is_reported_and_counts_nothing(void **state)
{
    struct markr_error err;

    assert_int_equal(take_all("id: 1\nevent: score\ndata: a 5\n\n", 0), 0);
    store.fail = 1;
    assert_int_equal(markr_feed_flush(&deps, &batch, &counts, &err), -1);
    assert_string_equal(err.reason, "feed_lost");
    assert_int_equal(counts.accepted, 0);
    assert_false(counts.stored_id_set);
    assert_int_equal(take_all("id: 2\nevent: score\ndata: bad\n\n", 0), -1); /* a refusal that cannot be stored */
}

static int read_status(void *ctx, struct markr_feed_status *out)
{
    snprintf(out->url, sizeof(out->url), "http://feed/");
    out->events_accepted = 3;
    return 0;
}

static void the_status_is_404_without_a_feed(void **state)
{
    struct markr_feed_monitor monitor = {.read = read_status};
    struct markr_feed_status status;
    struct markr_error err;

    assert_int_equal(markr_get_feed_status(NULL, &status, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_NOT_FOUND);
    assert_string_equal(err.reason, "no_feed");
    assert_int_equal(markr_get_feed_status(&monitor, &status, &err), 0);
    assert_string_equal(status.url, "http://feed/");
    assert_int_equal(status.events_accepted, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_batch_closes_at_200_ms_with_its_blocks_and_position, setup, teardown),
        cmocka_unit_test_setup_teardown(a_batch_closes_at_500_events, setup, teardown),
        cmocka_unit_test_setup_teardown(a_batch_closes_at_a_mebibyte, setup, teardown),
        cmocka_unit_test_setup_teardown(a_refused_event_is_stored_alone_after_the_batch_before_it, setup, teardown),
        cmocka_unit_test_setup_teardown(an_event_too_long_is_stored_alone_as_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(a_store_failure_is_reported_and_counts_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(the_status_is_404_without_a_feed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
