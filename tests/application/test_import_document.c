/*
 * The import use case through fake ports: an accepted document reaches the store whole, with
 * its deduplicated marks, in one call; a refused one (malformed or breaking a rule) is kept
 * in the vault with its reason; either way with the coding it arrived in; a store failure is
 * reported as such and claims no import id; an internal parser failure stores nothing. A
 * store that begins with the body (ADR 0033) is asked before the parse, and the verdict
 * finishes what it began, or it is abandoned when there is none. Leaks are caught by LSan in
 * `make test`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "application/import_document.h"
#include "fakes.h"

#define CONTENT_TYPE "text/xml+markr"
#define BODY "<mcq-test-results>...</mcq-test-results>"

struct fixture {
    struct fake_parser parser;
    struct markr_format format; /* CONTENT_TYPE read by the fake parser */
    struct fake_store store;
    struct markr_import_deps deps;
    struct markr_import_outcome outcome;
};

static int setup(void **state)
{
    static struct fixture f;

    memset(&f, 0, sizeof(f));
    f.store.next_id = 41;
    f.format = (struct markr_format){.media_type = CONTENT_TYPE, .parser = fake_parser_port(&f.parser)};
    f.deps.formats = (struct markr_formats){.items = &f.format, .count = 1};
    f.deps.store = fake_store_port(&f.store);
    fake_calls_reset();
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    markr_import_outcome_free(&f->outcome);
    return 0;
}

static int import(struct fixture *f, const char *body, size_t len)
{
    /* Junk in, so that the use case must set every member itself. */
    memset(&f->outcome, 0xa5, sizeof(f->outcome));
    return markr_import_document(&f->deps, CONTENT_TYPE, NULL, body, len, &f->outcome);
}

static void assert_stored_mark(const struct fake_mark *m, const char *test_id, const char *student, uint32_t obtained,
                               uint32_t available)
{
    assert_string_equal(m->test_id, test_id);
    assert_string_equal(m->student_number, student);
    assert_int_equal(m->obtained, obtained);
    assert_int_equal(m->available, available);
}

/* --- accepted ---------------------------------------------------------------------------- */

static void accepted_document_is_stored_with_its_marks(void **state)
{
    struct fixture *f = *state;

    fake_parser_add(&f->parser, "9863", "002299", "Jane", "Austen", "20", "13");
    fake_parser_add(&f->parser, "1234", "2299", NULL, NULL, "10", "10");
    fake_parser_add(&f->parser, "9863", "002299", NULL, NULL, "18", "15");
    assert_int_equal(import(f, BODY, strlen(BODY)), 0);

    /* The parser read the body as given. */
    assert_int_equal(f->parser.calls, 1);
    assert_ptr_equal(f->parser.body, BODY);
    assert_int_equal(f->parser.len, strlen(BODY));

    /* One call to the store: vault entry and marks together. */
    assert_int_equal(f->store.accepted_calls, 1);
    assert_int_equal(f->store.rejected_calls, 0);
    assert_string_equal(f->store.content_type, CONTENT_TYPE);
    assert_int_equal(f->store.body_len, strlen(BODY));
    assert_memory_equal(f->store.body, BODY, strlen(BODY));
    assert_int_equal(f->store.result_count, 3);
    /* Duplicates resolved before the store: (13/20) and (15/18) give 15 of 20. */
    assert_int_equal(f->store.mark_count, 2);
    assert_stored_mark(&f->store.marks[0], "1234", "2299", 10, 10);
    assert_false(f->store.marks[0].has_first_name);
    assert_stored_mark(&f->store.marks[1], "9863", "002299", 15, 20);
    assert_string_equal(f->store.marks[1].first_name, "Jane");
    assert_string_equal(f->store.marks[1].last_name, "Austen");
    assert_int_equal(f->store.students, 2);
    assert_int_equal(f->store.test_count, 2);

    /* The outcome. */
    assert_int_equal(f->outcome.error.code, MARKR_OK);
    assert_int_equal(f->outcome.import_id, 41);
    assert_int_equal(f->outcome.results, 3);
    assert_int_equal(f->outcome.students, 2); /* "002299" and "2299" are different students */
    assert_int_equal(f->outcome.test_count, 2);
    assert_string_equal(f->outcome.tests[0], "1234");
    assert_string_equal(f->outcome.tests[1], "9863");
}

static void outcome_tests_are_sorted_distinct_copies(void **state)
{
    struct fixture *f = *state;

    fake_parser_add(&f->parser, "physics", "1", NULL, NULL, "10", "1");
    fake_parser_add(&f->parser, "maths", "1", NULL, NULL, "10", "1");
    fake_parser_add(&f->parser, "physics", "2", NULL, NULL, "10", "1");
    fake_parser_add(&f->parser, "art", "3", NULL, NULL, "10", "1");
    assert_int_equal(import(f, BODY, strlen(BODY)), 0);
    /* The document is gone by now: these strings must be the outcome's own (ASan checks). */
    assert_int_equal(f->outcome.test_count, 3);
    assert_string_equal(f->outcome.tests[0], "art");
    assert_string_equal(f->outcome.tests[1], "maths");
    assert_string_equal(f->outcome.tests[2], "physics");
    assert_int_equal(f->outcome.students, 3);
    assert_int_equal(f->outcome.results, 4);
}

static void body_and_content_type_pass_verbatim(void **state)
{
    struct fixture *f = *state;
    static const char body[] = "<a>\0binary\xff</a>"; /* bytes, not a C string */
    const char *content_type = "text/xml+markr; charset=utf-8";

    fake_parser_add(&f->parser, "1", "1", NULL, NULL, "1", "1");
    memset(&f->outcome, 0, sizeof(f->outcome));
    assert_int_equal(markr_import_document(&f->deps, content_type, NULL, body, sizeof(body) - 1, &f->outcome), 0);
    assert_int_equal(f->parser.len, sizeof(body) - 1);
    assert_ptr_equal(f->store.body_ptr, body);
    assert_int_equal(f->store.body_len, sizeof(body) - 1);
    assert_memory_equal(f->store.body, body, sizeof(body) - 1);
    assert_string_equal(f->store.content_type, content_type);
}

/* How the body arrived reaches the vault entry, accepted or refused; NULL stays NULL. */
static void the_content_encoding_reaches_the_vault(void **state)
{
    struct fixture *f = *state;

    fake_parser_add(&f->parser, "1", "1", NULL, NULL, "1", "1");
    memset(&f->outcome, 0, sizeof(f->outcome));
    assert_int_equal(markr_import_document(&f->deps, CONTENT_TYPE, "gzip", BODY, strlen(BODY), &f->outcome), 0);
    assert_int_equal(f->store.accepted_calls, 1);
    assert_string_equal(f->store.content_encoding, "gzip");
    markr_import_outcome_free(&f->outcome);

    f->parser.fail_code = MARKR_ERR_MALFORMED;
    f->parser.fail_reason = "malformed_xml";
    assert_int_equal(markr_import_document(&f->deps, CONTENT_TYPE, "deflate", BODY, strlen(BODY), &f->outcome), -1);
    assert_int_equal(f->store.rejected_calls, 1);
    assert_string_equal(f->store.content_encoding, "deflate");
    markr_import_outcome_free(&f->outcome);

    f->parser.fail_code = MARKR_OK;
    assert_int_equal(import(f, BODY, strlen(BODY)), 0);
    assert_string_equal(f->store.content_encoding, "");
}

static void import_ids_come_from_the_store(void **state)
{
    struct fixture *f = *state;

    fake_parser_add(&f->parser, "1", "1", NULL, NULL, "1", "1");
    assert_int_equal(import(f, BODY, strlen(BODY)), 0);
    assert_int_equal(f->outcome.import_id, 41);
    markr_import_outcome_free(&f->outcome);
    assert_int_equal(import(f, BODY, strlen(BODY)), 0);
    assert_int_equal(f->outcome.import_id, 42);
    assert_int_equal(f->store.accepted_calls, 2);
}

/* --- refused ----------------------------------------------------------------------------- */

static void invalid_document_is_kept_with_its_reason(void **state)
{
    struct fixture *f = *state;

    fake_parser_add(&f->parser, "1234", "1", NULL, NULL, "20", "13");
    fake_parser_add(&f->parser, "1234", "2", NULL, NULL, "20", "14");
    fake_parser_add(&f->parser, "1234", "3", NULL, NULL, "20", "21"); /* line 18, marks on 23 */
    fake_parser_add(&f->parser, "1234", "4", NULL, NULL, "20", "15"); /* never read */
    assert_int_equal(import(f, BODY, strlen(BODY)), -1);

    assert_int_equal(f->store.accepted_calls, 0);
    assert_int_equal(f->store.rejected_calls, 1);
    assert_string_equal(f->store.content_type, CONTENT_TYPE);
    assert_memory_equal(f->store.body, BODY, strlen(BODY));
    assert_int_equal(f->store.body_len, strlen(BODY));
    assert_int_equal(f->store.result_count, 2); /* results read before the refusal */
    assert_int_equal(f->store.reason.code, MARKR_ERR_INVALID);
    assert_string_equal(f->store.reason.reason, "obtained_exceeds_available");
    assert_int_equal(f->store.reason.result_index, 3);
    assert_int_equal(f->store.reason.line, 23);
    assert_string_equal(f->store.reason.field, "summary-marks/@obtained");

    /* The outcome keeps the refusal, and the vault id so an operator can find it. */
    assert_int_equal(f->outcome.error.code, MARKR_ERR_INVALID);
    assert_string_equal(f->outcome.error.reason, "obtained_exceeds_available");
    assert_int_equal(f->outcome.error.result_index, 3);
    assert_int_equal(f->outcome.error.line, 23);
    assert_string_equal(f->outcome.error.field, "summary-marks/@obtained");
    assert_int_equal(f->outcome.import_id, 41);
    assert_null(f->outcome.tests);
    assert_int_equal(f->outcome.test_count, 0);
}

static void malformed_document_is_kept_with_its_reason(void **state)
{
    struct fixture *f = *state;

    fake_parser_add(&f->parser, "1234", "1", NULL, NULL, "20", "13");
    f->parser.fail_code = MARKR_ERR_MALFORMED;
    f->parser.fail_reason = "malformed_xml";
    f->parser.fail_line = 9;
    assert_int_equal(import(f, BODY, strlen(BODY)), -1);

    assert_int_equal(f->store.accepted_calls, 0);
    assert_int_equal(f->store.rejected_calls, 1);
    assert_int_equal(f->store.result_count, 1);
    assert_int_equal(f->store.reason.code, MARKR_ERR_MALFORMED);
    assert_string_equal(f->store.reason.reason, "malformed_xml");
    assert_int_equal(f->store.reason.line, 9);
    assert_int_equal(f->outcome.error.code, MARKR_ERR_MALFORMED);
    assert_string_equal(f->outcome.error.reason, "malformed_xml");
    assert_int_equal(f->outcome.error.line, 9);
    assert_int_equal(f->outcome.import_id, 41);
    assert_null(f->outcome.tests);
    assert_int_equal(f->outcome.test_count, 0);
}

/* A well-formed document without a single result breaks rule 1 ("a document with no
 * results is refused"): it must be kept as rejected, never reach the marks as accepted. */
static void document_without_results_is_refused(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(import(f, BODY, strlen(BODY)), -1);
    assert_int_equal(f->store.accepted_calls, 0);
    assert_int_equal(f->store.rejected_calls, 1);
    assert_int_equal(f->store.reason.code, MARKR_ERR_INVALID);
    assert_string_equal(f->store.reason.reason, "no_results");
    assert_int_equal(f->outcome.error.code, MARKR_ERR_INVALID);
    assert_string_equal(f->outcome.error.reason, "no_results");
    assert_int_equal(f->outcome.import_id, 41);
}

/* --- failures ---------------------------------------------------------------------------- */

static void store_failure_on_accepted_claims_no_import(void **state)
{
    struct fixture *f = *state;

    fake_parser_add(&f->parser, "1234", "1", NULL, NULL, "20", "13");
    f->store.fail_accepted = true;
    markr_error_set(&f->store.fail_error, MARKR_ERR_UNAVAILABLE, "database_unavailable", "the database is down");
    assert_int_equal(import(f, BODY, strlen(BODY)), -1);

    assert_int_equal(f->store.accepted_calls, 1);
    assert_int_equal(f->store.rejected_calls, 0); /* not a verdict on the document */
    assert_int_equal(f->outcome.import_id, 0);    /* even though the store wrote junk there */
    assert_int_equal(f->outcome.error.code, MARKR_ERR_UNAVAILABLE);
    assert_string_equal(f->outcome.error.reason, "database_unavailable");
    assert_string_equal(f->outcome.error.message, "the database is down");
}

/* A commit whose outcome the store cannot know: reported as it is (the client is told to
 * check before sending again), once, and never as a refusal of the document. */
static void a_commit_of_unknown_outcome_is_reported_once_as_such(void **state)
{
    struct fixture *f = *state;

    fake_parser_add(&f->parser, "1234", "1", NULL, NULL, "20", "13");
    f->store.fail_accepted = true;
    markr_error_set(&f->store.fail_error, MARKR_ERR_UNAVAILABLE, "outcome_unknown",
                    "the database connection was lost while committing; check GET /imports");
    assert_int_equal(import(f, BODY, strlen(BODY)), -1);

    assert_int_equal(f->store.accepted_calls, 1); /* not sent again */
    assert_int_equal(f->store.rejected_calls, 0);
    assert_int_equal(f->outcome.import_id, 0);
    assert_int_equal(f->outcome.error.code, MARKR_ERR_UNAVAILABLE); /* 503 */
    assert_string_equal(f->outcome.error.reason, "outcome_unknown");
}

static void store_failure_on_rejected_replaces_the_refusal(void **state)
{
    struct fixture *f = *state;

    fake_parser_add(&f->parser, "1234", NULL, NULL, NULL, "20", "13");
    f->store.fail_rejected = true;
    markr_error_set(&f->store.fail_error, MARKR_ERR_UNAVAILABLE, "database_unavailable", "the database is down");
    assert_int_equal(import(f, BODY, strlen(BODY)), -1);

    assert_int_equal(f->store.accepted_calls, 0);
    assert_int_equal(f->store.rejected_calls, 1);
    /* The store was asked to keep the real refusal... */
    assert_int_equal(f->store.reason.code, MARKR_ERR_INVALID);
    assert_string_equal(f->store.reason.field, "student-number");
    /* ...but the client must learn that nothing was kept, and retry. */
    assert_int_equal(f->outcome.import_id, 0);
    assert_int_equal(f->outcome.error.code, MARKR_ERR_UNAVAILABLE);
    assert_string_equal(f->outcome.error.reason, "database_unavailable");
    assert_null(f->outcome.tests);
}

static void parser_internal_error_stores_nothing(void **state)
{
    struct fixture *f = *state;

    fake_parser_add(&f->parser, "1234", "1", NULL, NULL, "20", "13");
    f->parser.fail_code = MARKR_ERR_INTERNAL;
    f->parser.fail_reason = "out_of_memory";
    assert_int_equal(import(f, BODY, strlen(BODY)), -1);

    assert_int_equal(f->store.accepted_calls, 0);
    assert_int_equal(f->store.rejected_calls, 0);
    assert_int_equal(f->outcome.import_id, 0);
    assert_int_equal(f->outcome.error.code, MARKR_ERR_INTERNAL);
    assert_string_equal(f->outcome.error.reason, "out_of_memory");
    assert_null(f->outcome.tests);
}

static void outcome_free_is_idempotent(void **state)
{
    struct fixture *f = *state;

    fake_parser_add(&f->parser, "a", "1", NULL, NULL, "1", "1");
    fake_parser_add(&f->parser, "b", "1", NULL, NULL, "1", "1");
    assert_int_equal(import(f, BODY, strlen(BODY)), 0);
    markr_import_outcome_free(&f->outcome);
    assert_null(f->outcome.tests);
    assert_int_equal(f->outcome.test_count, 0);
    markr_import_outcome_free(&f->outcome); /* and once more in teardown */
}

/* --- a store that begins with the body ---------------------------------------------------- */

static void the_store_begins_before_the_parse_and_the_verdict_finishes_it(void **state)
{
    struct fixture *f = *state;

    f->store.begins = true;
    fake_parser_add(&f->parser, "1234", "1", NULL, NULL, "20", "13");
    assert_int_equal(import(f, BODY, strlen(BODY)), 0);
    assert_string_equal(fake_calls, "begin parse accepted ");
    assert_ptr_equal(f->store.begun, &f->store.handle);
    assert_int_equal(f->store.result_count, 1); /* known by the time of the verdict */
    assert_int_equal(f->store.abandon_calls, 0);
    assert_int_equal(f->outcome.import_id, 41);
}

static void a_begun_refusal_is_finished_with_its_reason(void **state)
{
    struct fixture *f = *state;

    f->store.begins = true;
    fake_parser_add(&f->parser, "1234", "1", NULL, NULL, "20", "13");
    f->parser.fail_code = MARKR_ERR_MALFORMED;
    f->parser.fail_reason = "malformed_xml";
    assert_int_equal(import(f, BODY, strlen(BODY)), -1);
    assert_string_equal(fake_calls, "begin parse rejected ");
    assert_ptr_equal(f->store.begun, &f->store.handle);
    assert_int_equal(f->store.reason.code, MARKR_ERR_MALFORMED);
    assert_int_equal(f->store.result_count, 1);
    assert_int_equal(f->outcome.import_id, 41);
    assert_int_equal(f->outcome.error.code, MARKR_ERR_MALFORMED);
}

/* No verdict (the parse ran out of memory): what was begun is dropped, nothing saved. */
static void without_a_verdict_what_was_begun_is_abandoned(void **state)
{
    struct fixture *f = *state;

    f->store.begins = true;
    f->parser.fail_code = MARKR_ERR_INTERNAL;
    f->parser.fail_reason = "out_of_memory";
    assert_int_equal(import(f, BODY, strlen(BODY)), -1);
    assert_string_equal(fake_calls, "begin parse abandon ");
    assert_ptr_equal(f->store.begun, &f->store.handle);
    assert_int_equal(f->outcome.import_id, 0);
    assert_string_equal(f->outcome.error.reason, "out_of_memory");
}

/* A failing save has finished what was begun: nothing is abandoned after it. */
static void a_failing_begun_save_is_not_abandoned_again(void **state)
{
    struct fixture *f = *state;

    f->store.begins = true;
    f->store.fail_accepted = true;
    markr_error_set(&f->store.fail_error, MARKR_ERR_UNAVAILABLE, "database_unavailable", "the database is down");
    fake_parser_add(&f->parser, "1234", "1", NULL, NULL, "20", "13");
    assert_int_equal(import(f, BODY, strlen(BODY)), -1);
    assert_string_equal(fake_calls, "begin parse accepted ");
    assert_int_equal(f->outcome.import_id, 0);
    assert_string_equal(f->outcome.error.reason, "database_unavailable");
}

/* A store that declines (a small body), or offers no begin at all, gets everything from the
 * save, with no handle. */
static void a_store_that_does_not_begin_gets_it_all_from_the_save(void **state)
{
    struct fixture *f = *state;

    fake_parser_add(&f->parser, "1234", "1", NULL, NULL, "20", "13");
    assert_int_equal(import(f, BODY, strlen(BODY)), 0);
    assert_string_equal(fake_calls, "begin parse accepted ");
    assert_null(f->store.begun);
    markr_import_outcome_free(&f->outcome);

    fake_calls_reset();
    f->deps.store.begin = NULL;
    f->deps.store.abandon = NULL;
    f->parser.fail_code = MARKR_ERR_INTERNAL;
    assert_int_equal(import(f, BODY, strlen(BODY)), -1);
    f->parser.fail_code = MARKR_OK;
    markr_import_outcome_free(&f->outcome);
    assert_int_equal(import(f, BODY, strlen(BODY)), 0);
    assert_string_equal(fake_calls, "parse parse accepted ");
    assert_null(f->store.begun);
    assert_int_equal(f->store.abandon_calls, 0);
}

#define IMPORT_TEST(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        IMPORT_TEST(accepted_document_is_stored_with_its_marks),
        IMPORT_TEST(outcome_tests_are_sorted_distinct_copies),
        IMPORT_TEST(body_and_content_type_pass_verbatim),
        IMPORT_TEST(the_content_encoding_reaches_the_vault),
        IMPORT_TEST(import_ids_come_from_the_store),
        IMPORT_TEST(invalid_document_is_kept_with_its_reason),
        IMPORT_TEST(malformed_document_is_kept_with_its_reason),
        IMPORT_TEST(document_without_results_is_refused),
        IMPORT_TEST(store_failure_on_accepted_claims_no_import),
        IMPORT_TEST(a_commit_of_unknown_outcome_is_reported_once_as_such),
        IMPORT_TEST(store_failure_on_rejected_replaces_the_refusal),
        IMPORT_TEST(parser_internal_error_stores_nothing),
        IMPORT_TEST(outcome_free_is_idempotent),
        IMPORT_TEST(the_store_begins_before_the_parse_and_the_verdict_finishes_it),
        IMPORT_TEST(a_begun_refusal_is_finished_with_its_reason),
        IMPORT_TEST(without_a_verdict_what_was_begun_is_abandoned),
        IMPORT_TEST(a_failing_begun_save_is_not_abandoned_again),
        IMPORT_TEST(a_store_that_does_not_begin_gets_it_all_from_the_save),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
