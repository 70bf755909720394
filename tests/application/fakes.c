/*
 * Fake ports: see fakes.h. cmocka assertions guard the fixed-size records, so a test that
 * outgrows them fails loudly instead of overflowing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "fakes.h"

char fake_calls[256];

void fake_calls_reset(void)
{
    fake_calls[0] = '\0';
}

static void record_call(const char *name)
{
    assert_true(strlen(fake_calls) + strlen(name) + 2 <= sizeof(fake_calls));
    strcat(fake_calls, name);
    strcat(fake_calls, " ");
}

/* --- parser ------------------------------------------------------------------------------ */

static void set_field(struct markr_raw_result *raw, enum markr_field field, const char *text, unsigned long line)
{
    raw->text[field] = text;
    raw->len[field] = text != NULL ? strlen(text) : 0;
    raw->field_line[field] = text != NULL ? line : 0;
}

struct markr_raw_result *fake_parser_add(struct fake_parser *p, const char *test_id, const char *student_number,
                                         const char *first_name, const char *last_name, const char *available,
                                         const char *obtained)
{
    struct markr_raw_result *raw;

    assert_true(p->count < FAKE_MAX_RESULTS);
    raw = &p->results[p->count++];
    memset(raw, 0, sizeof(*raw));
    /* Each result takes eight lines, as in the fixture, after the root element on line 1. */
    raw->line = 2 + 8 * (p->count - 1);
    set_field(raw, MARKR_FIELD_FIRST_NAME, first_name, raw->line + 1);
    set_field(raw, MARKR_FIELD_LAST_NAME, last_name, raw->line + 2);
    set_field(raw, MARKR_FIELD_STUDENT_NUMBER, student_number, raw->line + 3);
    set_field(raw, MARKR_FIELD_TEST_ID, test_id, raw->line + 4);
    set_field(raw, MARKR_FIELD_AVAILABLE, available, raw->line + 5);
    set_field(raw, MARKR_FIELD_OBTAINED, obtained, raw->line + 5);
    return raw;
}

static int fake_parse(void *ctx, const char *body, size_t len, struct markr_document *doc, struct markr_error *err)
{
    struct fake_parser *p = ctx;

    p->calls++;
    record_call("parse");
    p->body = body;
    p->len = len;
    for (size_t i = 0; i < p->count; ++i)
        if (markr_document_add(doc, &p->results[i], err) != 0)
            return -1;
    if (p->fail_code != MARKR_OK) {
        markr_error_set(err, p->fail_code, p->fail_reason != NULL ? p->fail_reason : "scripted_failure",
                        "scripted failure at line %lu", p->fail_line);
        markr_error_locate(err, 0, p->fail_line, NULL);
        return -1;
    }
    return 0;
}

struct markr_document_parser fake_parser_port(struct fake_parser *p)
{
    return (struct markr_document_parser){.ctx = p, .parse = fake_parse};
}

/* --- store ------------------------------------------------------------------------------- */

static void copy_string(char *dst, size_t size, const char *src)
{
    assert_non_null(src);
    assert_true(strlen(src) < size);
    memcpy(dst, src, strlen(src) + 1);
}

static void record_entry(struct fake_store *s, const struct markr_vault_entry *entry)
{
    copy_string(s->content_type, sizeof(s->content_type), entry->content_type);
    copy_string(s->content_encoding, sizeof(s->content_encoding),
                entry->content_encoding != NULL ? entry->content_encoding : "");
    s->body_ptr = entry->body;
    assert_true(entry->body_len <= sizeof(s->body));
    if (entry->body_len != 0)
        memcpy(s->body, entry->body, entry->body_len);
    s->body_len = entry->body_len;
    s->result_count = entry->result_count;
}

static int fail_as_scripted(struct fake_store *s, int64_t *import_id, struct markr_error *err)
{
    *import_id = 666;
    *err = s->fail_error;
    return -1;
}

static int64_t next_id(struct fake_store *s)
{
    if (s->next_id == 0)
        s->next_id = 1;
    return s->next_id++;
}

static int fake_save_accepted(void *ctx, const struct markr_vault_entry *entry, const struct markr_marks *marks,
                              int64_t *import_id, struct markr_error *err)
{
    struct fake_store *s = ctx;

    s->accepted_calls++;
    record_call("accepted");
    s->begun = entry->begun;
    record_entry(s, entry);
    assert_true(marks->count <= FAKE_MAX_MARKS);
    assert_true(marks->test_count <= FAKE_MAX_MARKS);
    for (size_t i = 0; i < marks->count; ++i) {
        const struct markr_mark *m = &marks->marks[i];
        struct fake_mark *f = &s->marks[i];

        memset(f, 0, sizeof(*f));
        copy_string(f->test_id, sizeof(f->test_id), m->test_id);
        copy_string(f->student_number, sizeof(f->student_number), m->student_number);
        if ((f->has_first_name = m->first_name != NULL))
            copy_string(f->first_name, sizeof(f->first_name), m->first_name);
        if ((f->has_last_name = m->last_name != NULL))
            copy_string(f->last_name, sizeof(f->last_name), m->last_name);
        f->available = m->available;
        f->obtained = m->obtained;
    }
    s->mark_count = marks->count;
    s->students = marks->students;
    for (size_t i = 0; i < marks->test_count; ++i)
        copy_string(s->tests[i], sizeof(s->tests[i]), marks->tests[i]);
    s->test_count = marks->test_count;
    if (s->fail_accepted)
        return fail_as_scripted(s, import_id, err);
    *import_id = next_id(s);
    return 0;
}

static int fake_save_rejected(void *ctx, const struct markr_vault_entry *entry, const struct markr_error *reason,
                              int64_t *import_id, struct markr_error *err)
{
    struct fake_store *s = ctx;

    s->rejected_calls++;
    record_call("rejected");
    s->begun = entry->begun;
    record_entry(s, entry);
    s->reason = *reason;
    if (s->fail_rejected)
        return fail_as_scripted(s, import_id, err);
    *import_id = next_id(s);
    return 0;
}

static void *fake_begin(void *ctx, const struct markr_vault_entry *entry)
{
    struct fake_store *s = ctx;

    s->begin_calls++;
    record_call("begin");
    assert_null(entry->begun);
    return s->begins ? &s->handle : NULL;
}

static void fake_abandon(void *ctx, void *begun)
{
    struct fake_store *s = ctx;

    s->abandon_calls++;
    record_call("abandon");
    s->begun = begun;
}

struct markr_import_store fake_store_port(struct fake_store *s)
{
    return (struct markr_import_store){.ctx = s, .save_accepted = fake_save_accepted,
                                       .save_rejected = fake_save_rejected, .begin = fake_begin,
                                       .abandon = fake_abandon};
}

/* --- reader ------------------------------------------------------------------------------ */

static int fake_aggregate(void *ctx, const char *test_id, size_t len, struct markr_aggregate *out,
                          struct markr_error *err)
{
    struct fake_reader *r = ctx;

    r->calls++;
    assert_true(len <= sizeof(r->test_id));
    memcpy(r->test_id, test_id, len);
    r->test_id_len = len;
    if (r->fail) {
        *err = r->fail_error;
        return -1;
    }
    *out = r->answer;
    return 0;
}

struct markr_results_reader fake_reader_port(struct fake_reader *r)
{
    return (struct markr_results_reader){.ctx = r, .aggregate = fake_aggregate};
}
