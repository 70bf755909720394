/*
 * The event-stream parser against the WHATWG rules: fields, several data lines, default
 * type, comments, unknown fields, CR, LF and CRLF line ends (a CRLF split between two
 * reads included), the BOM, retry, the last event id set on dispatch and kept across a
 * reset (an event without id keeps a resumed position, an empty id: resets it), blocks verbatim (the concatenation of the blocks reads back as the same events),
 * the bounds (a stop in a document, a skipped event too long on a live stream), a callback that stops the parse, and a document's last event without its
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

/* An id that is not UTF-8 is ignored, as one with a NUL is (the specification's rule): the
 * position stays the last one that can be stored and sent back. */
static void an_id_that_is_not_utf8_or_holds_a_nul_is_ignored(void **state)
{
    static const char text[] = "id: 7\ndata: a\n\nid: \xff\xfe\ndata: b\n\nid: a\0b\ndata: c\n\n"
                               "id: \xc3\xa9t\xc3\xa9\ndata: d\n\n";
    struct seen seen = {0};

    assert_int_equal(parse(text, sizeof(text) - 1, 0, &seen), 0);
    assert_int_equal(seen.count, 4);
    assert_string_equal(seen.id[0], "7");
    assert_string_equal(seen.id[1], "7");
    assert_string_equal(seen.id[2], "7");
    assert_string_equal(seen.id[3], "\xc3\xa9t\xc3\xa9"); /* UTF-8 beyond ASCII is an id like any */
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

/* What a live stream hands over: events, and events too long as such. */
struct live {
    size_t count, too_long;
    char data[8][32];
    char id[8][64];
    int flag[8];
    size_t block_len[8];
    char block_end[8]; /* the last byte of each block */
};

static int record_live(void *ctx, const struct markr_event_stream_event *ev)
{
    struct live *l = ctx;

    assert_true(l->count < 8);
    snprintf(l->data[l->count], sizeof(l->data[0]), "%s", ev->data);
    snprintf(l->id[l->count], sizeof(l->id[0]), "%s", ev->last_id);
    l->flag[l->count] = ev->too_long;
    l->block_len[l->count] = ev->block_len;
    l->block_end[l->count] = ev->block_len != 0 ? ev->block[ev->block_len - 1] : '\0';
    l->too_long += ev->too_long != 0;
    ++l->count;
    return 0;
}

/* Feeds text to a live parser in pieces of step bytes. */
static int feed_live(const char *text, size_t len, size_t step, struct live *l)
{
    struct markr_event_stream s;
    int rc = 0;

    markr_event_stream_init(&s, record_live, l);
    s.skip_too_long = 1;
    for (size_t at = 0; at < len && rc == 0; at += step)
        rc = markr_event_stream_feed(&s, text + at, at + step <= len ? step : len - at);
    markr_event_stream_free(&s);
    return rc;
}

/* A line, an event or an id past its bound on a live stream: handed over once as too_long
 * (its id when it came first, its block up to the byte that passed the bound), the rest of
 * it skipped to its blank line, and the events after it read as usual; in one piece or in
 * pieces of any size, with LF or CRLF. */
static void a_live_stream_skips_an_event_too_long_and_goes_on(void **state)
{
    static const char *const ends[] = {"\n", "\r\n"};

    for (size_t e = 0; e < 2; ++e) {
        const char *nl = ends[e];
        size_t cap = 3 * MARKR_EVENT_STREAM_BLOCK_MAX, len;
        char *text = malloc(cap);
        static const size_t steps[] = {1 << 20, 1, 7, 4096};

        assert_non_null(text);
        for (int kind = 0; kind < 5; ++kind) {
            len = (size_t)snprintf(text, cap, "id: 1%sdata: a%s%s", nl, nl, nl);
            if (kind == 0) { /* a line */
                len += (size_t)snprintf(text + len, cap - len, "id: 2%sdata: ", nl);
                memset(text + len, 'x', MARKR_EVENT_STREAM_LINE_MAX + 100);
                len += MARKR_EVENT_STREAM_LINE_MAX + 100;
                len += (size_t)snprintf(text + len, cap - len, "%sid: 3%sdata: tail%s", nl, nl, nl);
            } else if (kind == 1) { /* an event of many short lines */
                len += (size_t)snprintf(text + len, cap - len, "id: 2%s", nl);
                while (len < 2 * MARKR_EVENT_STREAM_BLOCK_MAX)
                    len += (size_t)snprintf(text + len, cap - len, "data: 0123456789%s", nl);
            } else if (kind >= 3) { /* many short lines, the byte past the bound ending one */
                size_t n = strlen(nl), line = 16 + n, off = kind == 3 ? 0 : n - 1;
                size_t k = (MARKR_EVENT_STREAM_BLOCK_MAX - 16 - off - 11 - 2 * n) % line;

                len += (size_t)snprintf(text + len, cap - len, "id: 2%sdata: %.*s%s", nl, (int)k, "yyyyyyyyyyyyyyyyyyyy", nl);
                while (len < 2 * MARKR_EVENT_STREAM_BLOCK_MAX)
                    len += (size_t)snprintf(text + len, cap - len, "data: 0123456789%s", nl);
            } else { /* an id */
                len += (size_t)snprintf(text + len, cap - len, "id: ");
                memset(text + len, '9', MARKR_EVENT_STREAM_ID_MAX + 1);
                len += MARKR_EVENT_STREAM_ID_MAX + 1;
                len += (size_t)snprintf(text + len, cap - len, "%sdata: huge%s", nl, nl);
            }
            len += (size_t)snprintf(text + len, cap - len, "%sid: 4%sdata: b%s%s", nl, nl, nl, nl);
            for (size_t st = 0; st < sizeof(steps) / sizeof(steps[0]); ++st) {
                struct live l = {0};

                assert_int_equal(feed_live(text, len, steps[st], &l), 0);
                assert_int_equal(l.count, 3);
                assert_int_equal(l.too_long, 1);
                assert_string_equal(l.data[0], "a");
                assert_true(l.flag[1]);
                assert_string_equal(l.id[1], kind == 2 ? "1" : "2"); /* an id too long is not one */
                if (kind == 0)
                    assert_int_equal(l.block_end[1], 'x'); /* up to the byte past the bound */
                if (kind == 1 || kind >= 3)
                    assert_int_equal(l.block_len[1], MARKR_EVENT_STREAM_BLOCK_MAX + 1);
                if (kind >= 3)
                    assert_int_equal(l.block_end[1], kind == 3 ? nl[0] : nl[strlen(nl) - 1]);
                if (kind == 2)
                    assert_int_equal(l.block_end[1], nl[0]); /* its line had ended */
                assert_true(l.block_len[1] <= MARKR_EVENT_STREAM_BLOCK_MAX + 1);
                assert_string_equal(l.data[2], "b");
                assert_string_equal(l.id[2], "4");
            }
        }
        free(text);
    }
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
        cmocka_unit_test(an_id_that_is_not_utf8_or_holds_a_nul_is_ignored),
        cmocka_unit_test(bounds_stop_the_parse),
        cmocka_unit_test(many_short_lines_cannot_grow_one_event_past_its_bound),
        cmocka_unit_test(a_live_stream_skips_an_event_too_long_and_goes_on),
        cmocka_unit_test(a_callback_stops_the_parse),
        cmocka_unit_test(a_documents_last_event_needs_no_blank_line),
        cmocka_unit_test(a_type_with_a_nul_is_not_cut_there),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
