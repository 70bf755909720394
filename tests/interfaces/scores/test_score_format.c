/*
 * The score format: an exam as integer or string becomes the test id, studentId the
 * student number, and the score a mark whose percentage is 100 x score to within 1e-4
 * points; other event types and comments are no results; every malformed score event
 * refuses the block naming its event, line and field; a block without scores is refused
 * as no_results; a line over the bounds is malformed, and so is what a live stream keeps of
 * an event too long.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "application/event_stream.h"
#include "application/judgement.h"
#include "interfaces/scores/score_format.h"

static int judge(const char *body, struct markr_judgement *j)
{
    struct markr_format items[1];
    struct markr_formats formats = {.items = items, .count = 1};
    struct markr_error err;

    items[0] = markr_score_format();
    return markr_judge_document(&formats, "text/event-stream", body, strlen(body), j, &err);
}

static void scores_become_marks_exactly(void **state)
{
    struct markr_judgement j;
    const char *body = ": a comment\n"
                       "id: 41873\nevent: score\n"
                       "data: {\"exam\": 3, \"studentId\": \"Kelli.Stiedemann73\", \"score\": 0.7714946302446063}\n\n"
                       "event: heartbeat\ndata: {}\n\n"
                       "data: {\"exam\": 3, \"studentId\": \"x\", \"score\": 2}\n\n" /* a message: ignored */
                       "event: score\r\ndata: {\"exam\": \"Maths 1\", \"studentId\": \"A\", \"score\": 1}\r\n\r\n"
                       "event: score\ndata: {\"exam\": 3, \"studentId\": \"Kelli.Stiedemann73\", \"score\": 0.5}\n\n"
                       "event: score\ndata: {\"exam\": 3, \"studentId\": \"B\", \"score\": 0}\n\n";
    double percent;

    assert_int_equal(judge(body, &j), 0);
    assert_true(j.accepted);
    assert_int_equal(j.doc.count, 4);
    assert_int_equal(j.marks.count, 3); /* the duplicate keeps the highest score */
    assert_string_equal(j.marks.marks[0].test_id, "3");
    assert_string_equal(j.marks.marks[0].student_number, "B");
    assert_int_equal(j.marks.marks[0].obtained, 0);
    assert_string_equal(j.marks.marks[1].student_number, "Kelli.Stiedemann73");
    assert_int_equal(j.marks.marks[1].available, MARKR_SCORE_AVAILABLE);
    percent = 100.0 * j.marks.marks[1].obtained / j.marks.marks[1].available;
    assert_true(fabs(percent - 100.0 * 0.7714946302446063) < 1e-4);
    assert_null(j.marks.marks[1].first_name);
    assert_string_equal(j.marks.marks[2].test_id, "Maths 1");
    assert_int_equal(j.marks.marks[2].obtained, j.marks.marks[2].available);
    markr_judgement_free(&j);
}

struct refusal {
    const char *data;
    const char *reason;
    const char *field;
};

static void each_malformed_score_event_refuses_the_block(void **state)
{
    static const struct refusal cases[] = {
        {"not json", "not_json", "data"},
        {"[1, 2]", "not_json", "data"},
        {"{\"exam\": 3, \"studentId\": \"a\", \"score\": 0.5} trailing", "not_json", "data"},
        {"{\"studentId\": \"a\", \"score\": 0.5}", "missing_field", "exam"},
        {"{\"exam\": 3, \"score\": 0.5}", "missing_field", "studentId"},
        {"{\"exam\": 3, \"studentId\": \"a\"}", "missing_field", "score"},
        {"{\"exam\": 3, \"studentId\": \"a\", \"score\": null}", "missing_field", "score"},
        {"{\"exam\": 3.5, \"studentId\": \"a\", \"score\": 0.5}", "not_an_integer", "exam"},
        {"{\"exam\": true, \"studentId\": \"a\", \"score\": 0.5}", "not_an_integer", "exam"},
        {"{\"exam\": 99999999999999999999, \"studentId\": \"a\", \"score\": 0.5}", "not_an_integer", "exam"},
        {"{\"exam\": -9223372036854775808, \"studentId\": \"a\", \"score\": 0.5}", "not_an_integer", "exam"},
        {"{\"exam\": 3, \"studentId\": 12, \"score\": 0.5}", "not_a_string", "studentId"},
        {"{\"exam\": 3, \"studentId\": \"\", \"score\": 0.5}", "missing_field", "studentId"},
        {"{\"exam\": \"\", \"studentId\": \"a\", \"score\": 0.5}", "missing_field", "exam"},
        {"{\"exam\": 3, \"studentId\": \"a\\u0000b\", \"score\": 0.5}", "not_a_string", "studentId"},
        /* Not UTF-8 (Latin-1 bytes). A lone surrogate escaped, json-c reads as U+FFFD. */
        {"{\"exam\": 3, \"studentId\": \"Ren\xe9\", \"score\": 0.5}", "not_json", "data"},
        {"{\"exam\": \"t\xff\", \"studentId\": \"a\", \"score\": 0.5}", "not_json", "data"},
        {"{\"exam\": 3, \"studentId\": \"a\", \"score\": \"0.5\"}", "not_a_number", "score"},
        {"{\"exam\": 3, \"studentId\": \"a\", \"score\": 1.0000001}", "score_out_of_range", "score"},
        {"{\"exam\": 3, \"studentId\": \"a\", \"score\": -0.1}", "score_out_of_range", "score"},
        {"{\"exam\": 3, \"studentId\": \"a\", \"score\": NaN}", "score_out_of_range", "score"},
        {"{\"exam\": 3, \"studentId\": \"a\", \"score\": 1e400}", "score_out_of_range", "score"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        struct markr_judgement j;
        char body[512];

        snprintf(body, sizeof(body),
                 "event: score\ndata: {\"exam\": 1, \"studentId\": \"ok\", \"score\": 1}\n\n"
                 "event: other\ndata: x\n\n"
                 "id: 9\nevent: score\ndata: %s\n\n",
                 cases[i].data);
        assert_int_equal(judge(body, &j), 0);
        if (j.accepted || strcmp(j.refusal.reason, cases[i].reason) != 0 ||
            strcmp(j.refusal.field, cases[i].field) != 0)
            fail_msg("case %zu (%s): accepted %d, %s on %s", i, cases[i].data, j.accepted, j.refusal.reason,
                     j.refusal.field);
        assert_int_equal(j.refusal.code, MARKR_ERR_INVALID);
        assert_int_equal(j.refusal.result_index, 3); /* the third event of the block */
        assert_int_equal(j.refusal.line, 7);
        assert_non_null(strstr(j.refusal.message, "event 3 (line 7)"));
        markr_judgement_free(&j);
    }
}

static void a_block_without_scores_is_no_results(void **state)
{
    struct markr_judgement j;

    assert_int_equal(judge(": only\n\nevent: other\ndata: 1\n\n", &j), 0);
    assert_false(j.accepted);
    assert_string_equal(j.refusal.reason, "no_results");
    markr_judgement_free(&j);
}

static void a_line_over_the_bound_is_malformed(void **state)
{
    struct markr_judgement j;
    size_t n = 70000;
    char *body = malloc(n + 1);

    assert_non_null(body);
    memset(body, 'a', n);
    memcpy(body, "event: score\ndata: ", 19);
    body[n] = '\0';
    assert_int_equal(judge(body, &j), 0);
    assert_false(j.accepted);
    assert_int_equal(j.refusal.code, MARKR_ERR_MALFORMED);
    assert_string_equal(j.refusal.reason, "malformed_event_stream");
    assert_int_equal(j.refusal.line, 2);
    markr_judgement_free(&j);
    free(body);
}

struct captured {
    char *block; /* the block of the event too long, NUL-terminated */
    size_t len;
    int events;
};

static int capture(void *ctx, const struct markr_event_stream_event *ev)
{
    struct captured *c = ctx;

    ++c->events;
    if (ev->too_long) {
        c->block = malloc(ev->block_len + 1);
        assert_non_null(c->block);
        memcpy(c->block, ev->block, ev->block_len);
        c->block[ev->block_len] = '\0';
        c->len = ev->block_len;
    }
    return 0;
}

/* What a live stream keeps of an event too long (the feed stores it as its entry) is refused
 * when judged again, as a reprocessing of that entry would: even a valid score event padded
 * with comments to exactly the block's bound, whose first MARKR_EVENT_STREAM_BLOCK_MAX bytes
 * alone would be accepted. */
static void an_event_too_long_on_a_live_stream_is_refused_when_read_again(void **state)
{
    static const char head[] = "event: score\ndata: {\"exam\": 3, \"studentId\": \"a\", \"score\": 0.5}\n";
    size_t cap = MARKR_EVENT_STREAM_BLOCK_MAX + 4096, len = strlen(head), rest = MARKR_EVENT_STREAM_BLOCK_MAX - len;
    char *text = malloc(cap);
    struct captured c = {0};
    struct markr_event_stream s;
    struct markr_judgement j;

    assert_non_null(text);
    memcpy(text, head, len);
    for (size_t first = 1000 + rest % 1000; rest > 0; rest -= first, first = 1000) { /* comment lines */
        text[len] = ':';
        memset(text + len + 1, 'c', first - 2);
        text[len + first - 1] = '\n';
        len += first;
    }
    len += (size_t)snprintf(text + len, cap - len, ": more\n\nevent: score\ndata: {\"exam\": 3, \"studentId\": \"b\", \"score\": 1}\n\n");
    markr_event_stream_init(&s, capture, &c);
    s.skip_too_long = 1;
    assert_int_equal(markr_event_stream_feed(&s, text, len), 0);
    markr_event_stream_free(&s);
    assert_int_equal(c.events, 2); /* the one too long, then b's */
    assert_non_null(c.block);
    assert_int_equal(c.len, MARKR_EVENT_STREAM_BLOCK_MAX + 1);
    assert_int_equal(judge(c.block, &j), 0);
    assert_false(j.accepted);
    assert_string_equal(j.refusal.reason, "malformed_event_stream");
    markr_judgement_free(&j);
    c.block[MARKR_EVENT_STREAM_BLOCK_MAX] = '\0'; /* without the byte past the bound */
    assert_int_equal(judge(c.block, &j), 0);
    assert_true(j.accepted);
    markr_judgement_free(&j);
    free(c.block);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scores_become_marks_exactly),
        cmocka_unit_test(each_malformed_score_event_refuses_the_block),
        cmocka_unit_test(a_block_without_scores_is_no_results),
        cmocka_unit_test(a_line_over_the_bound_is_malformed),
        cmocka_unit_test(an_event_too_long_on_a_live_stream_is_refused_when_read_again),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
