/*
 * The event-stream parser against the WHATWG rules: fields, several data lines, default
 * type, comments, unknown fields, CR, LF and CRLF line ends (a CRLF split between two
 * reads included), the BOM, retry, the last event id set on dispatch and kept across a
 * reset (an event without id keeps a resumed position, an empty id: resets it), blocks verbatim (the concatenation of the blocks reads back as the same events),
 * the bounds, a callback that stops the parse, and a document's last event without its
 * blank line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "application/event_stream.h"

#define MAX_SEEN 16

struct seen {
    size_t count;
    char type[MAX_SEEN][32];
    char data[MAX_SEEN][128];
    char id[MAX_SEEN][64];
    unsigned long line[MAX_SEEN];
    size_t type_len[MAX_SEEN];
    size_t index[MAX_SEEN];
    char blocks[4096];
    size_t blocks_len;
    int stop_after; /* 0: never */
};

static int record(void *ctx, const struct markr_event_stream_event *ev)
{
    struct seen *s = ctx;

    assert_true(s->count < MAX_SEEN);
    snprintf(s->type[s->count], sizeof(s->type[0]), "%s", ev->type);
    s->type_len[s->count] = ev->type_len;
    snprintf(s->data[s->count], sizeof(s->data[0]), "%s", ev->data);
    snprintf(s->id[s->count], sizeof(s->id[0]), "%s", ev->last_id);
    s->line[s->count] = ev->line;
    s->index[s->count] = ev->index;
    assert_true(s->blocks_len + ev->block_len <= sizeof(s->blocks));
    memcpy(s->blocks + s->blocks_len, ev->block, ev->block_len);
    s->blocks_len += ev->block_len;
    ++s->count;
    return s->stop_after != 0 && s->count == (size_t)s->stop_after ? 7 : 0;
}

/* Parses text in pieces of `step` bytes (0: at once), then finishes as a document. */
static int parse(const char *text, size_t len, size_t step, struct seen *seen)
{
    struct markr_event_stream s;
    int rc = 0;

    markr_event_stream_init(&s, record, seen);
    if (step == 0)
        step = len != 0 ? len : 1;
    for (size_t off = 0; off < len && rc == 0; off += step)
        rc = markr_event_stream_feed(&s, text + off, len - off < step ? len - off : step);
    if (rc == 0)
        rc = markr_event_stream_finish(&s);
    markr_event_stream_free(&s);
    return rc;
}

static const char stream[] = "\xEF\xBB\xBF: hello\r\n"
                             "retry: 2500\r\n"
                             "\r\n"
                             "id: 41873\r\n"
                             "event: score\r\n"
                             "data: {\"exam\": 3,\r\n"
                             "data:\"score\": 0.5}\r\n"
                             "\r\n"
                             "data: plain\n"
                             ": inside\n"
                             "unknown: field\n"
                             "\n"
                             "id: 7\r"
                             "event: other\r"
                             "data\r"
                             "\r";

static void fields_types_comments_and_line_ends(void **state)
{
    /* every piece size, so that each CRLF and the BOM are split somewhere */
    for (size_t step = 0; step <= 9; ++step) {
        struct seen seen = {0};

        assert_int_equal(parse(stream, sizeof(stream) - 1, step, &seen), 0);
        assert_int_equal(seen.count, 3);
        assert_string_equal(seen.type[0], "score");
        assert_string_equal(seen.data[0], "{\"exam\": 3,\n\"score\": 0.5}");
        assert_string_equal(seen.id[0], "41873");
        assert_int_equal(seen.line[0], 4);
        assert_string_equal(seen.type[1], "message");
        assert_string_equal(seen.data[1], "plain");
        assert_string_equal(seen.id[1], "41873"); /* the id carries over */
        assert_int_equal(seen.line[1], 9);
        assert_string_equal(seen.type[2], "other");
        assert_string_equal(seen.data[2], "");
        assert_string_equal(seen.id[2], "7");
        assert_int_equal(seen.line[2], 13);
        assert_int_equal(seen.index[2], 3);
    }
}

static void blocks_are_verbatim_and_read_back_alike(void **state)
{
    struct seen first = {0}, again = {0};
    const char *score = strstr(stream, "id: 41873");
    const char *rest = strstr(stream, "data: plain");

    assert_int_equal(parse(stream, sizeof(stream) - 1, 1, &first), 0);
    /* The comment and retry lines before the first event are no block; each block runs from
     * its first field to its blank line, the LF of a CRLF included. */
    assert_int_equal(first.blocks_len, (size_t)(stream + sizeof(stream) - 1 - score) - (size_t)0);
    assert_memory_equal(first.blocks, score, (size_t)(rest - score));
    assert_int_equal(parse(first.blocks, first.blocks_len, 0, &again), 0);
    assert_int_equal(again.count, first.count);
    for (size_t i = 0; i < first.count; ++i) {
        assert_string_equal(again.data[i], first.data[i]);
        assert_string_equal(again.type[i], first.type[i]);
        assert_string_equal(again.id[i], first.id[i]);
    }
}

static void retry_takes_digits_only(void **state)
{
    struct markr_event_stream s;
    struct seen seen = {0};
    const char *text = "retry: 2500\n\nretry: 12x\n\nretry:\n\n";

    markr_event_stream_init(&s, record, &seen);
    assert_int_equal(markr_event_stream_feed(&s, text, strlen(text)), 0);
    assert_int_equal(s.retry_ms, 2500);
    assert_int_equal(seen.count, 0);
    markr_event_stream_free(&s);
}

static void the_last_id_is_set_on_dispatch_and_kept_across_a_reset(void **state)
{
    struct markr_event_stream s;
    struct seen seen = {0};
    const char *a = "id: 5\ndata: x\n\nid: 6\ndata: half";
    const char *b = "data: y\n\n";

    markr_event_stream_init(&s, record, &seen);
    assert_int_equal(markr_event_stream_feed(&s, a, strlen(a)), 0);
    assert_string_equal(s.last_id, "5"); /* 6 was not dispatched */
    markr_event_stream_reset(&s);        /* the connection dropped mid-event */
    assert_string_equal(s.last_id, "5");
    assert_int_equal(markr_event_stream_feed(&s, b, strlen(b)), 0);
    assert_int_equal(seen.count, 2);
    assert_string_equal(seen.data[1], "y"); /* "half" was dropped with its connection */
    assert_string_equal(seen.id[1], "5");   /* no id field on the new connection: the position stays */
    markr_event_stream_free(&s);
}

/* A stream resumed at a stored position keeps it through events without an id field; an
 * explicit empty `id:` resets it, and the reset is what the next event carries. */
static void a_resumed_stream_keeps_its_position_until_an_explicit_empty_id(void **state)
{
    struct markr_event_stream s;
    struct seen seen = {0};
    const char *text = "data: a\n\nevent: other\ndata: b\n\nid:\ndata: c\n\ndata: d\n\nid: 12\ndata: e\n\n";

    markr_event_stream_init(&s, record, &seen);
    markr_event_stream_resume(&s, "41");
    assert_string_equal(s.last_id, "41");
    assert_int_equal(markr_event_stream_feed(&s, text, strlen(text)), 0);
    assert_int_equal(seen.count, 5);
    assert_string_equal(seen.id[0], "41");
    assert_string_equal(seen.id[1], "41");
    assert_string_equal(seen.id[2], ""); /* the source reset it */
    assert_string_equal(seen.id[3], "");
    assert_string_equal(seen.id[4], "12");
    markr_event_stream_free(&s);
}

static void an_id_alone_moves_the_position(void **state)
{
    struct markr_event_stream s;
    struct seen seen = {0};
    const char *text = "id: 9\n\n: keep-alive\n\n";

    markr_event_stream_init(&s, record, &seen);
    assert_int_equal(markr_event_stream_feed(&s, text, strlen(text)), 0);
    assert_string_equal(s.last_id, "9");
    assert_int_equal(seen.count, 0);
    assert_int_equal(s.len, 0); /* comments between events are not held */
    markr_event_stream_free(&s);
}

static void bounds_stop_the_parse(void **state)
{
    struct seen seen = {0};
    size_t n = MARKR_EVENT_STREAM_LINE_MAX + 16;
    char *line = malloc(n);
    char id[MARKR_EVENT_STREAM_ID_MAX + 16];

    assert_non_null(line);
    memset(line, 'a', n);
    memcpy(line, "data: ", 6);
    assert_int_equal(parse(line, n, 4096, &seen), MARKR_EVENT_STREAM_TOO_LONG);
    free(line);
    memset(id, '1', sizeof(id));
    memcpy(id, "id: ", 4);
    id[sizeof(id) - 1] = '\n';
    assert_int_equal(parse(id, sizeof(id), 0, &seen), MARKR_EVENT_STREAM_TOO_LONG);
    assert_int_equal(seen.count, 0);
}

static void many_short_lines_cannot_grow_one_event_past_its_bound(void **state)
{
    struct markr_event_stream s;
    struct seen seen = {0};
    int rc = 0;

    markr_event_stream_init(&s, record, &seen);
    for (int i = 0; i < 100000 && rc == 0; ++i)
        rc = markr_event_stream_feed(&s, "data: 0123456789\n", 17);
    assert_int_equal(rc, MARKR_EVENT_STREAM_TOO_LONG);
    markr_event_stream_free(&s);
}

static void a_callback_stops_the_parse(void **state)
{
    struct seen seen = {.stop_after = 1};
    const char *text = "data: 1\n\ndata: 2\n\n";

    assert_int_equal(parse(text, strlen(text), 0, &seen), 7);
    assert_int_equal(seen.count, 1);
}

static void a_documents_last_event_needs_no_blank_line(void **state)
{
    struct seen seen = {0};
    const char *text = "event: score\ndata: {}";

    assert_int_equal(parse(text, strlen(text), 0, &seen), 0);
    assert_int_equal(seen.count, 1);
    assert_string_equal(seen.data[0], "{}");
    assert_int_equal(seen.blocks_len, strlen(text)); /* as received: no LF added */
}

static void a_type_with_a_nul_is_not_cut_there(void **state)
{
    struct seen seen = {0};
    const char text[] = "event: score\0x\ndata: 1\n\n";

    assert_int_equal(parse(text, sizeof(text) - 1, 0, &seen), 0);
    assert_int_equal(seen.count, 1);
    assert_int_equal(seen.type_len[0], 7); /* "score" and more: not a score event */
    assert_string_equal(seen.type[0], "score");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fields_types_comments_and_line_ends),
        cmocka_unit_test(blocks_are_verbatim_and_read_back_alike),
        cmocka_unit_test(retry_takes_digits_only),
        cmocka_unit_test(the_last_id_is_set_on_dispatch_and_kept_across_a_reset),
        cmocka_unit_test(a_resumed_stream_keeps_its_position_until_an_explicit_empty_id),
        cmocka_unit_test(an_id_alone_moves_the_position),
        cmocka_unit_test(bounds_stop_the_parse),
        cmocka_unit_test(many_short_lines_cannot_grow_one_event_past_its_bound),
        cmocka_unit_test(a_callback_stops_the_parse),
        cmocka_unit_test(a_documents_last_event_needs_no_blank_line),
        cmocka_unit_test(a_type_with_a_nul_is_not_cut_there),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
