/*
 * The reprocessing use cases through fake ports: documents are judged again in order of
 * receipt and every verdict goes through the rebuild port inside one transaction that is
 * committed only when everything went through (and never on a dry run); one import is
 * applied alone; an accepted import the rules now refuse is left alone; a queued import
 * that someone else finished is skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "application/queue.h"

/* --- a parser of tiny documents: "T S A O" is one result, "bad" is refused, "boom" fails --- */

static int tiny_parse(void *ctx, const char *body, size_t len, struct markr_document *doc, struct markr_error *err)
{
    char text[64], t[16], s[16], a[16], o[16];
    struct markr_raw_result raw;

    snprintf(text, sizeof(text), "%.*s", (int)len, body);
    if (strcmp(text, "bad") == 0) {
        markr_error_set(err, MARKR_ERR_INVALID, "missing_field", "result 1: student-number is missing");
        markr_error_locate(err, 1, 1, "student-number");
        return -1;
    }
    if (strcmp(text, "boom") == 0)
        return markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
    assert_int_equal(sscanf(text, "%15s %15s %15s %15s", t, s, a, o), 4);
    memset(&raw, 0, sizeof(raw));
    raw.line = 1;
    raw.text[MARKR_FIELD_TEST_ID] = t;
    raw.text[MARKR_FIELD_STUDENT_NUMBER] = s;
    raw.text[MARKR_FIELD_AVAILABLE] = a;
    raw.text[MARKR_FIELD_OBTAINED] = o;
    for (int f = 0; f < MARKR_FIELD_COUNT; ++f)
        raw.len[f] = raw.text[f] != NULL ? strlen(raw.text[f]) : 0;
    return markr_document_add(doc, &raw, err);
}

/* --- a fake vault ----------------------------------------------------------------------------- */

struct stored {
    int64_t id;
    const char *status;
    const char *body;
};

struct fake_vault {
    struct stored docs[8];
    size_t count;
    /* record */
    int begins, began_all, commits, rollbacks, open;
    char log[512]; /* "A1 R2 ..." : accepted/rejected per id in the order applied; "L" marks alone */
    int fail_apply_id;
    int fail_apply_times; /* how many more times applying fail_apply_id fails (-1: every time) */
    int fail_apply_code;  /* and how (0: MARKR_ERR_UNAVAILABLE, as a lost connection) */
    const char *content_type;                 /* of every stored document; NULL: text/xml+markr */
    char last_reason[MARKR_ERROR_REASON_MAX]; /* of the last refusal applied */
    size_t last_result_count;                 /* of the last verdict applied */
};

static int v_begin(void *ctx, int all, struct markr_error *err)
{
    struct fake_vault *v = ctx;

    assert_false(v->open);
    v->open = 1;
    v->begins++;
    v->began_all = all;
    return 0;
}

static const char *stored_type; /* the fake vault's content type, for fill */

static int fill(const struct stored *d, struct markr_stored_import *out)
{
    memset(out, 0, sizeof(*out));
    out->id = d->id;
    snprintf(out->status, sizeof(out->status), "%s", d->status);
    out->content_type = strdup(stored_type != NULL ? stored_type : "text/xml+markr");
    out->body = strdup(d->body);
    out->len = strlen(d->body);
    return 1;
}

static int v_next(void *ctx, int64_t after, struct markr_stored_import *out, struct markr_error *err)
{
    struct fake_vault *v = ctx;
    const struct stored *best = NULL;

    assert_true(v->open);
    for (size_t i = 0; i < v->count; ++i)
        if (v->docs[i].id > after && (strcmp(v->docs[i].status, "accepted") == 0 ||
                                      strcmp(v->docs[i].status, "rejected") == 0) &&
            (best == NULL || v->docs[i].id < best->id))
            best = &v->docs[i];
    return best != NULL ? fill(best, out) : 0;
}

static int v_fetch(void *ctx, int64_t id, const char *want, struct markr_stored_import *out, struct markr_error *err)
{
    struct fake_vault *v = ctx;

    assert_true(v->open);
    for (size_t i = 0; i < v->count; ++i) {
        const char *s = v->docs[i].status;

        if (v->docs[i].id == id && (want != NULL ? strcmp(s, want) == 0
                                                 : strcmp(s, "accepted") == 0 || strcmp(s, "rejected") == 0))
            return fill(&v->docs[i], out);
    }
    return 0;
}

static int v_would_raise(void *ctx, const struct markr_marks *marks, char ***tests, size_t *count,
                         struct markr_error *err)
{
    *tests = calloc(1, sizeof(**tests));
    (*tests)[0] = strdup(marks->tests[0]);
    *count = 1;
    return 0;
}

static void logf_(struct fake_vault *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void logf_(struct fake_vault *v, const char *fmt, ...)
{
    va_list ap;
    size_t used = strlen(v->log);

    va_start(ap, fmt);
    vsnprintf(v->log + used, sizeof(v->log) - used, fmt, ap);
    va_end(ap);
}

static int v_apply_accepted(void *ctx, int64_t id, const struct markr_marks *marks, size_t result_count, int alone,
                            struct markr_error *err)
{
    struct fake_vault *v = ctx;

    assert_true(v->open);
    if (id == v->fail_apply_id && v->fail_apply_times != 0) {
        if (v->fail_apply_times > 0)
            v->fail_apply_times--;
        return markr_error_set(err, v->fail_apply_code != 0 ? (enum markr_error_code)v->fail_apply_code
                                                            : MARKR_ERR_UNAVAILABLE,
                               "database_unavailable", "gone");
    }
    v->last_result_count = result_count;
    logf_(v, "A%lld%s ", (long long)id, alone ? "L" : "");
    return 0;
}

static int v_apply_rejected(void *ctx, int64_t id, const struct markr_error *reason, size_t result_count,
                            struct markr_error *err)
{
    struct fake_vault *v = ctx;

    assert_true(v->open);
    snprintf(v->last_reason, sizeof(v->last_reason), "%s", reason->reason);
    v->last_result_count = result_count;
    if (v->content_type == NULL) /* the tiny parser's only refusal */
        assert_string_equal(reason->reason, "missing_field");
    logf_(v, "R%lld ", (long long)id);
    return 0;
}

static int v_changed(void *ctx, char ***tests, size_t *count, struct markr_error *err)
{
    *tests = NULL;
    *count = 0;
    return 0;
}

static int v_finish(void *ctx, int commit, struct markr_error *err)
{
    struct fake_vault *v = ctx;

    assert_true(v->open);
    v->open = 0;
    if (commit)
        v->commits++;
    else
        v->rollbacks++;
    return 0;
}

static const struct markr_format tiny_format = {.media_type = "text/xml+markr",
                                                .parser = {.ctx = NULL, .parse = tiny_parse}};

static struct markr_reprocess_deps deps_of(struct fake_vault *v)
{
    return (struct markr_reprocess_deps){
        .formats = {.items = &tiny_format, .count = 1},
        .rebuild = {.ctx = v, .begin = v_begin, .next = v_next, .fetch = v_fetch, .would_raise = v_would_raise,
                    .apply_accepted = v_apply_accepted, .apply_rejected = v_apply_rejected,
                    .changed_tests = v_changed, .finish = v_finish}};
}

static struct fake_vault *history(void)
{
    static struct fake_vault v;

    memset(&v, 0, sizeof(v));
    stored_type = NULL;
    v.docs[0] = (struct stored){3, "accepted", "t 1 10 5"};
    v.docs[1] = (struct stored){1, "accepted", "t 2 10 7"};
    v.docs[2] = (struct stored){2, "rejected", "t 3 10 9"}; /* passes today */
    v.docs[3] = (struct stored){4, "accepted", "bad"};      /* refused today */
    v.docs[4] = (struct stored){5, "queued", "t 4 10 1"};   /* the queue's, not ours */
    v.count = 5;
    return &v;
}

/* --- tests ------------------------------------------------------------------------------------ */

static void all_replays_in_order_of_receipt_and_commits_once(void **state)
{
    struct fake_vault *v = history();
    struct markr_reprocess_deps deps = deps_of(v);
    struct markr_reprocess_report r;
    struct markr_error err;

    assert_int_equal(markr_reprocess_all(&deps, 0, &r, &err), 0);
    assert_string_equal(v->log, "A1 A2 A3 R4 ");
    assert_int_equal(v->began_all, 1);
    assert_int_equal(v->commits, 1);
    assert_int_equal(v->rollbacks, 0);
    assert_int_equal(r.imports, 4);
    assert_int_equal(r.flip_count, 2);
    assert_int_equal(r.flips[0].id, 2);
    assert_string_equal(r.flips[0].to, "accepted");
    assert_int_equal(r.flips[1].id, 4);
    assert_string_equal(r.flips[1].from, "accepted");
    assert_string_equal(r.flips[1].to, "rejected");
    markr_reprocess_report_free(&r);
}

static void dry_run_rolls_back(void **state)
{
    struct fake_vault *v = history();
    struct markr_reprocess_deps deps = deps_of(v);
    struct markr_reprocess_report r;
    struct markr_error err;

    assert_int_equal(markr_reprocess_all(&deps, 1, &r, &err), 0);
    assert_int_equal(r.flip_count, 2);
    assert_int_equal(v->commits, 0);
    assert_int_equal(v->rollbacks, 1);
    markr_reprocess_report_free(&r);
}

static void a_failure_rolls_everything_back(void **state)
{
    struct fake_vault *v = history();
    struct markr_reprocess_deps deps = deps_of(v);
    struct markr_reprocess_report r;
    struct markr_error err;

    v->fail_apply_id = 3;
    v->fail_apply_times = -1;
    assert_int_equal(markr_reprocess_all(&deps, 0, &r, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_UNAVAILABLE);
    assert_int_equal(v->commits, 0);
    assert_int_equal(v->rollbacks, 1);
    assert_int_equal(r.flip_count, 0);
    assert_null(r.flips);

    v = history();
    v->docs[1].body = "boom"; /* not a verdict: the parser itself failed */
    deps = deps_of(v);
    assert_int_equal(markr_reprocess_all(&deps, 0, &r, &err), -1);
    assert_string_equal(err.reason, "out_of_memory");
    assert_int_equal(v->commits, 0);
    assert_string_equal(v->log, "");
}

static void one_import_is_applied_alone(void **state)
{
    struct fake_vault *v = history();
    struct markr_reprocess_deps deps = deps_of(v);
    struct markr_reprocess_report r;
    struct markr_error err;

    assert_int_equal(markr_reprocess_one(&deps, 2, 0, &r, &err), 0);
    assert_string_equal(v->log, "A2L ");
    assert_int_equal(v->began_all, 0);
    assert_int_equal(v->commits, 1);
    assert_string_equal(r.status, "accepted");
    assert_int_equal(r.flip_count, 1);
    assert_int_equal(r.changed_test_count, 1);
    assert_string_equal(r.changed_tests[0], "t");
    markr_reprocess_report_free(&r);
}

static void one_accepted_import_now_refused_is_left_alone(void **state)
{
    struct fake_vault *v = history();
    struct markr_reprocess_deps deps = deps_of(v);
    struct markr_reprocess_report r;
    struct markr_error err;

    assert_int_equal(markr_reprocess_one(&deps, 4, 0, &r, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_INVALID);
    assert_string_equal(err.reason, "needs_full_rebuild");
    assert_non_null(strstr(err.message, "markr reprocess --all"));
    assert_string_equal(v->log, "");
    assert_int_equal(v->rollbacks, 1);

    assert_int_equal(markr_reprocess_one(&deps, 5, 0, &r, &err), -1); /* queued */
    assert_int_equal(err.code, MARKR_ERR_NOT_FOUND);
    assert_int_equal(markr_reprocess_one(&deps, 99, 0, &r, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_NOT_FOUND);
    assert_int_equal(v->commits, 0);
}

static void queued_import_is_processed_once(void **state)
{
    struct fake_vault *v = history();
    struct markr_reprocess_deps deps = deps_of(v);
    struct markr_reprocess_report r;
    struct markr_error err;

    v->docs[4].status = "processing";
    assert_int_equal(markr_process_queued(&deps, 5, &r, &err), 1);
    assert_string_equal(r.status, "accepted");
    assert_string_equal(v->log, "A5L "); /* alone: checked against newer imports */
    assert_int_equal(v->commits, 1);
    markr_reprocess_report_free(&r);

    v->docs[4].status = "accepted"; /* someone else finished it */
    assert_int_equal(markr_process_queued(&deps, 5, &r, &err), 0);
    assert_int_equal(v->commits, 1);
    assert_int_equal(v->rollbacks, 1);
}

/* A stored document is judged by the format of its own content type: one that no format
 * reads is refused, not parsed as XML. */
static void stored_document_of_unknown_format_is_refused(void **state)
{
    struct fake_vault *v = history();
    struct markr_reprocess_deps deps = deps_of(v);
    struct markr_reprocess_report r;
    struct markr_error err;

    v->content_type = stored_type = "text/plain";
    v->docs[1].status = "rejected";
    assert_int_equal(markr_reprocess_one(&deps, 1, 0, &r, &err), 0);
    assert_string_equal(r.status, "rejected");
    assert_string_equal(r.outcome.error.reason, "unsupported_media_type");
    assert_string_equal(v->last_reason, "unsupported_media_type");
    markr_reprocess_report_free(&r);
    stored_type = NULL;
}

/* --- the queue's use cases ------------------------------------------------------------------ */

struct fake_queue {
    int claims[4]; /* the ids claimed in turn: 0 none waiting, -1 the claim fails */
    int next, enqueued, waits;
};

static int q_enqueue(void *ctx, const char *content_type, const char *content_encoding, const char *body,
                     size_t len, int64_t *id, struct markr_error *err)
{
    struct fake_queue *q = ctx;

    *id = 100 + q->enqueued++;
    return 0;
}

static int q_claim(void *ctx, int64_t *id, struct markr_error *err)
{
    struct fake_queue *q = ctx;
    int claim = q->claims[q->next++];

    *id = claim > 0 ? claim : 0;
    if (claim < 0)
        return markr_error_set(err, MARKR_ERR_UNAVAILABLE, "database_unavailable", "gone");
    return claim > 0;
}

static int q_wait(void *ctx, int timeout_ms, struct markr_error *err)
{
    ((struct fake_queue *)ctx)->waits++;
    return 0;
}

static struct markr_queue_deps queue_deps_of(struct fake_vault *v, struct fake_queue *q)
{
    return (struct markr_queue_deps){
        .queue = {.ctx = q, .enqueue = q_enqueue, .claim = q_claim, .wait = q_wait}, .reprocess = deps_of(v)};
}

/* Each step says what happened, and a processed import reports the same outcome (results,
 * marks, tests) as a synchronous import of the same document. */
static void next_queued_import_is_claimed_then_judged(void **state)
{
    struct fake_vault *v = history();
    struct fake_queue q = {.claims = {0, 5, 5, -1}};
    struct markr_queue_deps deps = queue_deps_of(v, &q);
    struct markr_reprocess_report r;
    struct markr_error err;
    int64_t id = 42;

    assert_int_equal(markr_process_next_queued(&deps, &id, &r, &err), MARKR_QUEUE_EMPTY);
    assert_int_equal(id, 0);
    markr_reprocess_report_free(&r);

    v->docs[4].status = "processing";
    assert_int_equal(markr_process_next_queued(&deps, &id, &r, &err), MARKR_QUEUE_PROCESSED);
    assert_int_equal(id, 5);
    assert_string_equal(r.status, "accepted");
    assert_int_equal(r.outcome.error.code, MARKR_OK);
    assert_int_equal(r.outcome.import_id, 5);
    assert_int_equal(r.outcome.results, 1);
    assert_int_equal(r.outcome.marks, 1);
    assert_int_equal(r.outcome.students, 1);
    assert_int_equal(r.outcome.test_count, 1);
    assert_string_equal(r.outcome.tests[0], "t");
    assert_int_equal(v->last_result_count, 1);
    markr_reprocess_report_free(&r);

    v->docs[4].status = "accepted"; /* another server finished it meanwhile */
    assert_int_equal(markr_process_next_queued(&deps, &id, &r, &err), MARKR_QUEUE_TAKEN);
    assert_int_equal(id, 5);
    markr_reprocess_report_free(&r);

    assert_int_equal(markr_process_next_queued(&deps, &id, &r, &err), -1); /* the claim failed */
    assert_int_equal(id, 0);
    assert_int_equal(err.code, MARKR_ERR_UNAVAILABLE);
    markr_reprocess_report_free(&r);

    markr_wait_for_queued(&deps, 10);
    assert_int_equal(q.waits, 1);
}

/* A failure while processing names the import, which stays claimable (nothing committed).
 * One that the database caused (a lost connection) is run once more at once, under the
 * same claim; another kind of failure is not. */
static void failed_processing_names_the_import(void **state)
{
    struct fake_vault *v = history();
    struct fake_queue q = {.claims = {5}};
    struct markr_queue_deps deps = queue_deps_of(v, &q);
    struct markr_reprocess_report r;
    struct markr_error err;
    int64_t id = 0;

    v->docs[4].status = "processing";
    v->fail_apply_id = 5;
    v->fail_apply_times = -1;
    assert_int_equal(markr_process_next_queued(&deps, &id, &r, &err), -1);
    assert_int_equal(id, 5);
    assert_int_equal(err.code, MARKR_ERR_UNAVAILABLE);
    assert_int_equal(v->commits, 0);
    assert_int_equal(v->rollbacks, 2);
    assert_int_equal(v->begins, 2);
    markr_reprocess_report_free(&r);
}

static void processing_cut_short_by_the_database_runs_again_under_its_claim(void **state)
{
    struct fake_vault *v = history();
    struct fake_queue q = {.claims = {5, 5}};
    struct markr_queue_deps deps = queue_deps_of(v, &q);
    struct markr_reprocess_report r;
    struct markr_error err;
    int64_t id = 0;

    v->docs[4].status = "processing";
    v->fail_apply_id = 5;
    v->fail_apply_times = 1;
    assert_int_equal(markr_process_next_queued(&deps, &id, &r, &err), MARKR_QUEUE_PROCESSED);
    assert_int_equal(id, 5);
    assert_string_equal(r.status, "accepted");
    assert_int_equal(r.outcome.import_id, 5);
    assert_int_equal(v->begins, 2);
    assert_int_equal(v->rollbacks, 1);
    assert_int_equal(v->commits, 1);
    assert_string_equal(v->log, "A5L ");
    assert_int_equal(q.next, 1); /* one claim: one attempt counted */
    markr_reprocess_report_free(&r);

    /* Any other failure is the runner's to retry later, by a new claim. */
    v->docs[4].status = "processing";
    v->fail_apply_times = 1;
    v->fail_apply_code = MARKR_ERR_INTERNAL;
    assert_int_equal(markr_process_next_queued(&deps, &id, &r, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_INTERNAL);
    assert_int_equal(v->begins, 3);
    assert_int_equal(v->rollbacks, 2);
    markr_reprocess_report_free(&r);
}

/* Only documents some format reads are queued; the media type is matched as for imports. */
static void enqueue_takes_only_known_formats(void **state)
{
    struct fake_vault *v = history();
    struct fake_queue q = {0};
    struct markr_queue_deps deps = queue_deps_of(v, &q);
    struct markr_error err;
    int64_t id = 7;

    assert_int_equal(markr_enqueue_import(&deps, "application/json", NULL, "{}", 2, &id, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_INVALID);
    assert_string_equal(err.reason, "unsupported_media_type");
    assert_int_equal(id, 0);
    assert_int_equal(q.enqueued, 0);
    assert_int_equal(markr_enqueue_import(&deps, " Text/XML+Markr ; charset=utf-8", NULL, "t 1 1 1", 7, &id, &err), 0);
    assert_int_equal(id, 100);
    assert_int_equal(q.enqueued, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(all_replays_in_order_of_receipt_and_commits_once),
        cmocka_unit_test(dry_run_rolls_back),
        cmocka_unit_test(a_failure_rolls_everything_back),
        cmocka_unit_test(one_import_is_applied_alone),
        cmocka_unit_test(one_accepted_import_now_refused_is_left_alone),
        cmocka_unit_test(queued_import_is_processed_once),
        cmocka_unit_test(stored_document_of_unknown_format_is_refused),
        cmocka_unit_test(next_queued_import_is_claimed_then_judged),
        cmocka_unit_test(failed_processing_names_the_import),
        cmocka_unit_test(processing_cut_short_by_the_database_runs_again_under_its_claim),
        cmocka_unit_test(enqueue_takes_only_known_formats),
    };

    return cmocka_run_group_tests_name("reprocess_use_case", tests, NULL, NULL);
}
