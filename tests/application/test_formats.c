/*
 * Formats and the thin use cases through fakes: a media type is matched as RFC 9110 says
 * (any case, white space around it, parameters after ';'), and nothing else matches; the
 * strict reading accepts a format's media type with at most an allowed charset and refuses
 * everything a browser could read as another type (commas, other parameters, control
 * bytes); a stored type canonicalises to the format's media type and a valid charset; a
 * document that no format reads is refused by the judgement, not parsed; the vault's reads
 * answer an id below 1 without a query, conflicts a page at a time; readiness passes the storage's word on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "application/judgement.h"
#include "application/readiness.h"
#include "application/vault.h"
#include "fakes.h"

static const char *const xml = "text/xml+markr";

static const struct markr_format *find(const struct markr_formats *f, const char *type)
{
    return markr_formats_find(f, type, strlen(type));
}

static void media_types_match_as_http_says(void **state)
{
    struct markr_format items[2] = {{.media_type = xml}, {.media_type = "text/event-stream"}};
    struct markr_formats f = {.items = items, .count = 2};

    assert_ptr_equal(find(&f, "text/xml+markr"), &items[0]);
    assert_ptr_equal(find(&f, "TEXT/XML+Markr"), &items[0]);
    assert_ptr_equal(find(&f, " \ttext/xml+markr \t"), &items[0]);
    assert_ptr_equal(find(&f, "text/xml+markr; charset=utf-8"), &items[0]);
    assert_ptr_equal(find(&f, "text/xml+markr;charset=utf-8;x=\"a;b\""), &items[0]);
    assert_ptr_equal(find(&f, "text/event-stream"), &items[1]);
    assert_null(find(&f, "text/xml"));
    assert_null(find(&f, "text/xml+markrx"));
    assert_null(find(&f, "text/xml+mark"));
    assert_null(find(&f, "text/ xml+markr"));
    assert_null(find(&f, ";text/xml+markr"));
    assert_null(find(&f, ""));
    assert_null(markr_formats_find(&f, NULL, 0));
    /* Only the len bytes given count. */
    assert_ptr_equal(markr_formats_find(&f, "text/xml+markrZZZ", 14), &items[0]);
}

static enum markr_content_type_verdict parse(const struct markr_formats *f, const char *value, char *charset)
{
    const struct markr_format *format;
    enum markr_content_type_verdict v = markr_formats_parse(f, value, strlen(value), &format, charset,
                                                            MARKR_CHARSET_MAX);

    /* The format is named exactly when the value is accepted. */
    if (v == MARKR_CONTENT_TYPE_OK)
        assert_ptr_equal(format, &f->items[0]);
    else
        assert_null(format);
    return v;
}

static void content_types_are_read_strictly(void **state)
{
    struct markr_format items[1] = {{.media_type = xml}};
    struct markr_formats f = {.items = items, .count = 1};
    const struct markr_format *format = &items[0];
    char cs[MARKR_CHARSET_MAX];

    assert_int_equal(parse(&f, "text/xml+markr", cs), MARKR_CONTENT_TYPE_OK);
    assert_string_equal(cs, "");
    assert_int_equal(parse(&f, " TEXT/XML+Markr\t", cs), MARKR_CONTENT_TYPE_OK);
    assert_int_equal(parse(&f, "text/xml+markr; charset=utf-8", cs), MARKR_CONTENT_TYPE_OK);
    assert_string_equal(cs, "utf-8");
    assert_int_equal(parse(&f, "text/xml+markr ;\tCharSet=\"US-ASCII\" ", cs), MARKR_CONTENT_TYPE_OK);
    assert_string_equal(cs, "us-ascii");
    assert_int_equal(parse(&f, "text/xml+markr;charset=ISO-8859-1", cs), MARKR_CONTENT_TYPE_OK);
    assert_string_equal(cs, "iso-8859-1");

    /* What a browser may read as text/html, and what is not one media type. */
    assert_int_equal(parse(&f, "text/xml+markr;,text/html", cs), MARKR_CONTENT_TYPE_MALFORMED);
    assert_string_equal(cs, "");
    assert_int_equal(parse(&f, "text/xml+markr, text/html", cs), MARKR_CONTENT_TYPE_MALFORMED);
    assert_int_equal(parse(&f, "text/xml+markr; charset=\"utf-8,text/html\"", cs), MARKR_CONTENT_TYPE_MALFORMED);
    assert_int_equal(parse(&f, "text/xml+markr;", cs), MARKR_CONTENT_TYPE_MALFORMED);
    assert_int_equal(parse(&f, "text/xml+markr;;charset=utf-8", cs), MARKR_CONTENT_TYPE_MALFORMED);
    assert_int_equal(parse(&f, "text/xml+markr; charset", cs), MARKR_CONTENT_TYPE_MALFORMED);
    assert_int_equal(parse(&f, "text/xml+markr; charset=", cs), MARKR_CONTENT_TYPE_MALFORMED);
    assert_int_equal(parse(&f, "text/xml+markr; charset = utf-8", cs), MARKR_CONTENT_TYPE_MALFORMED);
    assert_int_equal(parse(&f, "text/xml+markr; charset=\"utf-8", cs), MARKR_CONTENT_TYPE_MALFORMED);
    assert_int_equal(parse(&f, "text/xml+markr; charset=\"utf\\-8\"", cs), MARKR_CONTENT_TYPE_MALFORMED);
    assert_int_equal(parse(&f, "text/xml+markr text/html", cs), MARKR_CONTENT_TYPE_MALFORMED);
    assert_int_equal(parse(&f, "text/ xml+markr", cs), MARKR_CONTENT_TYPE_MALFORMED);
    assert_int_equal(parse(&f, "text/", cs), MARKR_CONTENT_TYPE_MALFORMED);
    assert_int_equal(parse(&f, "/xml+markr", cs), MARKR_CONTENT_TYPE_MALFORMED);
    assert_int_equal(parse(&f, "text", cs), MARKR_CONTENT_TYPE_MALFORMED);
    assert_int_equal(parse(&f, ";text/xml+markr", cs), MARKR_CONTENT_TYPE_MALFORMED);
    assert_int_equal(parse(&f, "text/xml+markr\r\nX: y", cs), MARKR_CONTENT_TYPE_MALFORMED);
    assert_int_equal(parse(&f, "text/xml+markr\x7f", cs), MARKR_CONTENT_TYPE_MALFORMED);
    assert_int_equal(parse(&f, "text/xml+markr; charset=\"\xc3\xa9\"", cs), MARKR_CONTENT_TYPE_MALFORMED);
    assert_int_equal(markr_formats_parse(&f, "text/xml+markr\0", 15, &format, cs, sizeof(cs)),
                     MARKR_CONTENT_TYPE_MALFORMED);
    /* Parameters and charsets outside the rule. */
    assert_int_equal(parse(&f, "text/xml+markr; x=y", cs), MARKR_CONTENT_TYPE_PARAMETER);
    assert_int_equal(parse(&f, "text/xml+markr; charset=utf-8; boundary=x", cs), MARKR_CONTENT_TYPE_PARAMETER);
    assert_int_equal(parse(&f, "text/xml+markr; charset=utf-8; charset=utf-8", cs), MARKR_CONTENT_TYPE_PARAMETER);
    assert_int_equal(parse(&f, "text/xml+markr; charset=utf-7", cs), MARKR_CONTENT_TYPE_CHARSET);
    assert_int_equal(parse(&f, "text/xml+markr; charset=utf8x", cs), MARKR_CONTENT_TYPE_CHARSET);
    assert_int_equal(parse(&f, "text/xml+markr; charset=\"\"", cs), MARKR_CONTENT_TYPE_CHARSET);
    /* Media types. */
    assert_int_equal(parse(&f, "text/html", cs), MARKR_CONTENT_TYPE_UNKNOWN);
    assert_int_equal(parse(&f, "text/xml+markrx; charset=utf-8", cs), MARKR_CONTENT_TYPE_UNKNOWN);
    assert_int_equal(parse(&f, "", cs), MARKR_CONTENT_TYPE_MISSING);
    assert_int_equal(parse(&f, " \t", cs), MARKR_CONTENT_TYPE_MISSING);
    assert_int_equal(markr_formats_parse(&f, NULL, 0, &format, cs, sizeof(cs)), MARKR_CONTENT_TYPE_MISSING);
    assert_null(format);
    /* Only the len bytes given count. */
    assert_int_equal(markr_formats_parse(&f, "text/xml+markr, text/html", 14, &format, cs, sizeof(cs)),
                     MARKR_CONTENT_TYPE_OK);
    assert_int_equal(markr_formats_parse(&f, "text/xml+markr; charset=utf-8x", 29, &format, cs, sizeof(cs)),
                     MARKR_CONTENT_TYPE_OK);
    assert_string_equal(cs, "utf-8");
    /* Every verdict has a sentence. */
    assert_string_equal(markr_content_type_problem(MARKR_CONTENT_TYPE_OK), "");
    for (int v = MARKR_CONTENT_TYPE_MISSING; v <= MARKR_CONTENT_TYPE_CHARSET; ++v)
        assert_true(strlen(markr_content_type_problem((enum markr_content_type_verdict)v)) > 10);
}

static void stored_types_are_served_canonical(void **state)
{
    struct markr_format items[1] = {{.media_type = xml}};
    struct markr_formats f = {.items = items, .count = 1};
    char out[64];

    assert_string_equal(markr_formats_canonical(&f, "text/xml+markr", out, sizeof(out)), "text/xml+markr");
    assert_string_equal(markr_formats_canonical(&f, "TEXT/XML+MARKR ; Charset=\"UTF-8\"", out, sizeof(out)),
                        "text/xml+markr; charset=utf-8");
    /* Stored before the strict rule: the media type is kept, nothing after it. */
    assert_string_equal(markr_formats_canonical(&f, "text/xml+markr;,text/html", out, sizeof(out)),
                        "text/xml+markr");
    assert_string_equal(markr_formats_canonical(&f, "text/xml+markr; charset=utf-8; x=<script>", out, sizeof(out)),
                        "text/xml+markr");
    assert_string_equal(markr_formats_canonical(&f, "text/xml+markr; charset=utf-7", out, sizeof(out)),
                        "text/xml+markr");
    /* No format has that media type: nothing to serve it as. */
    assert_null(markr_formats_canonical(&f, "text/html", out, sizeof(out)));
    assert_null(markr_formats_canonical(&f, "text/html;text/xml+markr", out, sizeof(out)));
    assert_null(markr_formats_canonical(&f, "", out, sizeof(out)));
    assert_null(markr_formats_canonical(&f, NULL, out, sizeof(out)));
    /* Too small a buffer is no answer, not a cut one. */
    assert_null(markr_formats_canonical(&f, "text/xml+markr; charset=utf-8", out, 20));
    assert_string_equal(markr_formats_canonical(&f, "text/xml+markr", out, 15), "text/xml+markr");
}

static void a_document_no_format_reads_is_refused_unread(void **state)
{
    struct fake_parser parser = {0};
    struct markr_format item = {.media_type = xml, .parser = fake_parser_port(&parser)};
    struct markr_formats f = {.items = &item, .count = 1};
    struct markr_judgement j;
    struct markr_error err;

    fake_parser_add(&parser, "t", "s", NULL, NULL, "1", "1");
    assert_int_equal(markr_judge_document(&f, "application/json", "{}", 2, &j, &err), 0);
    assert_false(j.accepted);
    assert_int_equal(j.refusal.code, MARKR_ERR_INVALID);
    assert_string_equal(j.refusal.reason, "unsupported_media_type");
    assert_int_equal(parser.calls, 0);
    markr_judgement_free(&j);

    assert_int_equal(markr_judge_document(&f, "text/xml+markr; charset=utf-8", "<x/>", 4, &j, &err), 0);
    assert_true(j.accepted);
    assert_int_equal(parser.calls, 1);
    assert_int_equal(j.marks.count, 1);
    markr_judgement_free(&j);

    /* A stored document is judged by its media type alone: a type that older uploads let
     * through (POST refuses it now) keeps its verdict on a rebuild; it is never served as
     * stored (markr_formats_canonical). */
    assert_int_equal(markr_judge_document(&f, "text/xml+markr;,text/html", "<x/>", 4, &j, &err), 0);
    assert_true(j.accepted);
    assert_int_equal(parser.calls, 2);
    assert_int_equal(j.marks.count, 1);
    markr_judgement_free(&j);
}

/* --- vault reads and readiness ---------------------------------------------------------------- */

static int reader_calls;

static int v_get(void *ctx, int64_t id, struct markr_import_info *out, struct markr_error *err)
{
    ++reader_calls;
    out->id = id;
    return 0;
}

static int v_raw(void *ctx, int64_t id, char **content_type, char **body, size_t *len, struct markr_error *err)
{
    ++reader_calls;
    return markr_error_set(err, MARKR_ERR_NOT_FOUND, "unknown_import", "no import has id %lld", (long long)id);
}

static void ids_below_one_name_no_import(void **state)
{
    struct markr_vault_reader v = {.get = v_get, .raw = v_raw};
    struct markr_import_info info;
    struct markr_error err;
    char *type, *body;
    size_t len;

    reader_calls = 0;
    assert_int_equal(markr_get_import(&v, 0, &info, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_NOT_FOUND);
    assert_int_equal(markr_get_raw_import(&v, -3, &type, &body, &len, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_NOT_FOUND);
    assert_null(type);
    assert_null(body);
    assert_int_equal(reader_calls, 0);
    assert_int_equal(markr_get_import(&v, 9, &info, &err), 0);
    assert_int_equal(info.id, 9);
    assert_int_equal(markr_get_raw_import(&v, 9, &type, &body, &len, &err), -1);
    assert_string_equal(err.reason, "unknown_import");
    assert_int_equal(reader_calls, 2);
}

/* A body of chunks as the fake stores them: "abc", "", then "defg" (the empty one is
 * corrupt); chunk 3 does not exist. */
static int v_chunk(void *ctx, int64_t id, int32_t seq, char **bytes, size_t *len, struct markr_error *err)
{
    static const char *const chunks[] = {"abc", "", "defg"};

    ++reader_calls;
    if (seq > 2)
        return 0;
    *len = strlen(chunks[seq]);
    *bytes = strdup(chunks[seq]);
    return 1;
}

static int v_head(void *ctx, int64_t id, char **content_type, size_t *size, struct markr_error *err)
{
    ++reader_calls;
    *content_type = strdup("text/xml+markr");
    *size = 7;
    return 0;
}

/* A chunk is handed on only when it is a non-empty part of what remains of the body. */
static void raw_chunks_must_make_the_body(void **state)
{
    struct markr_vault_reader v = {.head = v_head, .chunk = v_chunk};
    struct markr_error err;
    char *type, *bytes;
    size_t size, len;

    reader_calls = 0;
    assert_int_equal(markr_open_raw_import(&v, 0, &type, &size, &err), -1);
    assert_string_equal(err.reason, "unknown_import");
    assert_int_equal(reader_calls, 0);
    assert_int_equal(markr_open_raw_import(&v, 4, &type, &size, &err), 0);
    assert_string_equal(type, "text/xml+markr");
    assert_int_equal(size, 7);
    free(type);

    assert_int_equal(markr_read_raw_chunk(&v, 4, 0, 7, &bytes, &len, &err), 0);
    assert_int_equal(len, 3);
    assert_memory_equal(bytes, "abc", 3);
    free(bytes);
    /* Longer than what remains: the chunks hold more than the body. */
    assert_int_equal(markr_read_raw_chunk(&v, 4, 2, 3, &bytes, &len, &err), -1);
    assert_string_equal(err.reason, "database_error");
    assert_null(bytes);
    assert_int_equal(len, 0);
    /* Empty, or missing: they hold less. */
    assert_int_equal(markr_read_raw_chunk(&v, 4, 1, 4, &bytes, &len, &err), -1);
    assert_string_equal(err.reason, "database_error");
    assert_null(bytes);
    assert_int_equal(markr_read_raw_chunk(&v, 4, 3, 4, &bytes, &len, &err), -1);
    assert_string_equal(err.reason, "database_error");
    assert_null(bytes);
    assert_int_equal(reader_calls, 5); /* the head, and four chunks */
    /* Nothing to ask for: no chunk is read. */
    assert_int_equal(markr_read_raw_chunk(&v, 4, 0, 0, &bytes, &len, &err), -1);
    assert_int_equal(markr_read_raw_chunk(&v, 4, -1, 4, &bytes, &len, &err), -1);
    assert_int_equal(markr_read_raw_chunk(&v, 0, 0, 4, &bytes, &len, &err), -1);
    assert_int_equal(reader_calls, 5);
}

/* The conflicted students the fake knows, in order; it answers the `limit` after the
 * cursor, each with one name, and remembers what it was asked. */
static const char *const conflicted[] = {"s1", "s2", "s3", "s4", "s5"};
static size_t asked_limit;
static const char *asked_after;

static int v_conflicts(void *ctx, const char *test_id, size_t len, const char *after, size_t after_len,
                       size_t limit, struct markr_conflicts *out, struct markr_error *err)
{
    size_t first = 0, n = sizeof(conflicted) / sizeof(conflicted[0]);

    ++reader_calls;
    asked_limit = limit;
    asked_after = after;
    while (after != NULL && first < n && strncmp(conflicted[first], after, after_len) <= 0)
        ++first;
    out->items = calloc(n, sizeof(*out->items));
    for (size_t i = first; i < n && out->count < limit; ++i) {
        struct markr_conflict *c = &out->items[out->count++];

        c->student_number = strdup(conflicted[i]);
        c->names = calloc(1, sizeof(*c->names));
        c->names[0].first_name = strdup("Ada");
        c->name_count = 1;
    }
    return 0;
}

/* A page of conflicts asks for one student more than it holds, keeps the page and says more
 * follow; bad limits and cursors are refused without a query. */
static void conflicts_come_a_page_at_a_time(void **state)
{
    struct markr_vault_reader v = {.conflicts = v_conflicts};
    struct markr_conflicts_page page = {.limit = 2};
    struct markr_conflicts c;
    struct markr_error err;
    static const struct {
        unsigned limit;
        const char *after;
        size_t after_len;
        const char *reason;
    } bad[] = {
        {0, NULL, 0, "bad_limit"},          {MARKR_CONFLICTS_PAGE_MAX + 1, NULL, 0, "bad_limit"},
        {2, "", 0, "bad_cursor"},           {2, " s1", 3, "bad_cursor"},
        {2, "s1 ", 3, "bad_cursor"},        {2, "s\0", 2, "bad_cursor"},
    };

    reader_calls = 0;
    assert_int_equal(markr_list_conflicts(&v, "t", 1, &page, &c, &err), 0);
    assert_int_equal(asked_limit, 3);
    assert_null(asked_after);
    assert_int_equal(c.count, 2);
    assert_string_equal(c.items[0].student_number, "s1");
    assert_string_equal(c.items[1].student_number, "s2");
    assert_true(c.more);
    markr_conflicts_free(&c);

    page.after = "s4";
    page.after_len = 2;
    assert_int_equal(markr_list_conflicts(&v, "t", 1, &page, &c, &err), 0);
    assert_string_equal(asked_after, "s4");
    assert_int_equal(c.count, 1);
    assert_string_equal(c.items[0].student_number, "s5");
    assert_false(c.more);
    markr_conflicts_free(&c);

    page = (struct markr_conflicts_page){.limit = MARKR_CONFLICTS_PAGE_MAX};
    assert_int_equal(markr_list_conflicts(&v, "t", 1, &page, &c, &err), 0);
    assert_int_equal(c.count, 5);
    assert_false(c.more);
    markr_conflicts_free(&c);
    assert_int_equal(reader_calls, 3);

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        page = (struct markr_conflicts_page){.limit = bad[i].limit, .after = bad[i].after,
                                             .after_len = bad[i].after_len};
        assert_int_equal(markr_list_conflicts(&v, "t", 1, &page, &c, &err), -1);
        assert_int_equal(err.code, MARKR_ERR_BAD_REQUEST);
        assert_string_equal(err.reason, bad[i].reason);
        assert_int_equal(c.count, 0);
        assert_null(c.items);
    }
    assert_int_equal(reader_calls, 3);
}


static int ready_answer;

static int check(void *ctx, struct markr_error *err)
{
    if (ready_answer == 0)
        return 0;
    return markr_error_set(err, MARKR_ERR_UNAVAILABLE, "schema_not_current", "run `markr migrate`");
}

static void readiness_is_the_storages_word(void **state)
{
    struct markr_readiness r = {.check = check};
    struct markr_error err;

    ready_answer = 0;
    assert_int_equal(markr_check_readiness(&r, &err), 0);
    assert_int_equal(err.code, MARKR_OK);
    ready_answer = 1;
    assert_int_equal(markr_check_readiness(&r, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_UNAVAILABLE);
    assert_string_equal(err.reason, "schema_not_current");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(media_types_match_as_http_says),
        cmocka_unit_test(content_types_are_read_strictly),
        cmocka_unit_test(stored_types_are_served_canonical),
        cmocka_unit_test(a_document_no_format_reads_is_refused_unread),
        cmocka_unit_test(ids_below_one_name_no_import),
        cmocka_unit_test(raw_chunks_must_make_the_body),
        cmocka_unit_test(conflicts_come_a_page_at_a_time),
        cmocka_unit_test(readiness_is_the_storages_word),
    };

    return cmocka_run_group_tests_name("formats_and_reads", tests, NULL, NULL);
}
