/*
 * The import's transaction as one pipeline (pg_batch.c, ADR 0024), against a real server
 * with a fresh migrated database per test: batches of 0, 1 and many marks store the vault
 * row, the body and every mark, and announce the change after the COMMIT; a statement that
 * fails in the middle of a batch aborts it whole (nothing half-stored, nothing announced,
 * the connection usable); statements prepared on a backend are prepared again on the next
 * one; a body larger than a chunk goes by COPY between two batches; the kept answer sheet
 * goes into its marks row before the COMMIT and is announced after it. A large body begun before
 * its verdict (ADR 0033) is stored exactly, accepted or refused; abandoned, nothing is; a
 * backend terminated while it is being stored, or after, runs the import again once; one
 * lost during the verdict's COMMIT is "outcome_unknown" and never run again; a deadlock or
 * serialization failure in the verdict rolls the begun transaction back and runs it again whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain/document.h"
#include "interfaces/pg/pg_batch.h"
#include "interfaces/pg/pg_chunks.h"
#include "interfaces/pg/pg_migrate.h"
#include "interfaces/pg/pg_store.h"
#include "test_db.h"

struct fixture {
    char *conninfo;
    struct markr_pg *pg;
    struct markr_import_store store;
    PGconn *listener; /* LISTENs on the change channel, as another instance would */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct markr_error err;
    PGresult *res;

    f->conninfo = markr_test_db_create("pg_batch");
    if ((f->pg = markr_pg_connect(f->conninfo, &err)) == NULL ||
        markr_pg_migrate(f->pg, getenv("MARKR_MIGRATIONS_DIR"), NULL, &err) != 0) {
        fprintf(stderr, "set-up: %s\n", err.message);
        return -1;
    }
    f->store = markr_pg_import_store(f->pg);
    f->listener = PQconnectdb(f->conninfo);
    res = PQexec(f->listener, "LISTEN markr_changes");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        fprintf(stderr, "set-up: %s\n", PQerrorMessage(f->listener));
        return -1;
    }
    PQclear(res);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    PQfinish(f->listener);
    markr_pg_close(f->pg);
    markr_test_db_drop(f->conninfo);
    free(f->conninfo);
    free(f);
    return 0;
}

/* --- helpers ------------------------------------------------------------------------------------ */

/* n marks of test "t" (students s00000 ...), each 20 available and i % 21 obtained, sorted as
 * the domain sorts them, with one scan each, as a document of one result per mark gives
 * them (its names row records the import's test). The marks live in a static pool that each
 * call fills again. */
static struct markr_mark pool[2000];
static struct markr_result scan_pool[2000];
static char students[2000][24];
static char first_name[] = "First";
static const char *test_ids[] = {"t"};

static struct markr_marks marks_of(size_t n)
{
    struct markr_marks m = {.marks = pool, .count = n, .students = n};

    assert_true(n <= 2000);
    for (size_t i = 0; i < n; ++i) {
        snprintf(students[i], sizeof(students[i]), "s%05zu", i);
        pool[i] = (struct markr_mark){.test_id = test_ids[0], .student_number = students[i], .first_name = first_name,
                                      .last_name = NULL, .available = 20, .obtained = (uint32_t)(i % 21)};
        /* The adapter only reads a scan's strings. */
        scan_pool[i] = (struct markr_result){.test_id = (char *)test_ids[0], .student_number = students[i],
                                             .first_name = first_name, .available = 20,
                                             .obtained = (uint32_t)(i % 21), .line = i + 1};
    }
    m.tests = n != 0 ? test_ids : NULL;
    m.test_count = n != 0 ? 1 : 0;
    m.scans = scan_pool;
    m.scan_count = n;
    return m;
}

static int64_t save(struct fixture *f, const char *body, size_t len, const struct markr_marks *m,
                    struct markr_error *err)
{
    struct markr_vault_entry entry = {.content_type = "text/xml+markr", .body = body, .body_len = len,
                                      .result_count = m->count};
    int64_t id = -1;

    if (f->store.save_accepted(f->store.ctx, &entry, m, &id, err) != 0)
        return -1;
    return id;
}

static long count(struct fixture *f, const char *sql)
{
    char *v = markr_test_db_value(f->conninfo, sql);
    long n = v != NULL ? atol(v) : -1;

    free(v);
    return n;
}

/* The next notification on the change channel, waited for up to 10 s; NULL when none came
 * (the caller frees the payload). */
static char *next_announcement(struct fixture *f, int wait_ms)
{
    struct timespec start, now;

    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        PGnotify *n;
        struct pollfd p = {.fd = PQsocket(f->listener), .events = POLLIN};
        long spent;

        PQconsumeInput(f->listener);
        if ((n = PQnotifies(f->listener)) != NULL) {
            char *payload = strdup(n->extra);

            PQfreemem(n);
            return payload;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        spent = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (spent >= wait_ms)
            return NULL;
        poll(&p, 1, (int)(wait_ms - spent));
    }
}

/* --- batches of marks ----------------------------------------------------------------------------- */

static void check_stored(struct fixture *f, int64_t id, size_t n, size_t body_len)
{
    char sql[512];

    snprintf(sql, sizeof(sql), "SELECT count(*) FROM imports WHERE id = %" PRId64
             " AND status = 'accepted' AND result_count = %zu AND size_bytes = %zu", id, n, body_len);
    assert_int_equal(count(f, sql), 1);
    /* The SHA-256 computed by the client is the one of the stored bytes. */
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM imports i WHERE id = %" PRId64 " AND sha256 = "
             "sha256(COALESCE((SELECT string_agg(bytes, ''::bytea ORDER BY seq) FROM import_chunks "
             "WHERE import_id = i.id), ''::bytea))", id);
    assert_int_equal(count(f, sql), 1);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM marks WHERE import_id = %" PRId64, id);
    assert_int_equal(count(f, sql), (long)n);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM import_names WHERE import_id = %" PRId64, id);
    assert_int_equal(count(f, sql), n != 0 ? 1 : 0);
}

static void batches_of_zero_one_and_many_marks_store_everything(void **state)
{
    static const char body[] = "<mcq-test-results>the body</mcq-test-results>";
    struct fixture *f = *state;
    const size_t sizes[] = {0, 1, 2000};

    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); ++k) {
        static const char *names[] = {"t0", "t1", "t2"};
        struct markr_marks m;
        struct markr_error err;
        char *payload, expected[64], tested[32];
        int64_t id;

        test_ids[0] = names[k]; /* a test of its own, so that every mark is new */
        m = marks_of(sizes[k]);
        id = save(f, body, sizeof(body) - 1, &m, &err);
        test_ids[0] = "t";

        if (id <= 0)
            fail_msg("%zu marks: %s", sizes[k], err.message);
        check_stored(f, id, sizes[k], sizeof(body) - 1);
        assert_int_equal(count(f, "SELECT count(*) FROM import_chunks"), (long)k + 1);
        /* Announced once committed, with the tests whose marks changed (none for none). */
        payload = next_announcement(f, 10000);
        assert_non_null(payload);
        snprintf(expected, sizeof(expected), "\"import_id\" : %" PRId64, id);
        snprintf(tested, sizeof(tested), sizes[k] != 0 ? "\"tests\" : [\"%s\"]" : "\"tests\" : []", names[k]);
        if (strstr(payload, expected) == NULL || strstr(payload, tested) == NULL)
            fail_msg("announcement of import %" PRId64 ": %s", id, payload);
        free(payload);
    }
    assert_int_equal(count(f, "SELECT count(*) FROM marks"), 2001);
}

static void an_empty_body_has_no_chunk(void **state)
{
    struct fixture *f = *state;
    struct markr_marks m = marks_of(1);
    struct markr_error err;
    int64_t id = save(f, "", 0, &m, &err);

    assert_true(id > 0);
    check_stored(f, id, 1, 0);
    assert_int_equal(count(f, "SELECT count(*) FROM import_chunks"), 0);
}

/* The third statement of five (BEGIN, vault row, marks, COMMIT, announcement) breaks a CHECK:
 * the vault row before it is rolled back with it, the COMMIT and the announcement never run. */
static void a_failure_in_the_middle_of_the_batch_stores_nothing(void **state)
{
    struct fixture *f = *state;
    struct markr_marks m = marks_of(3);
    struct markr_error err;
    char *payload;
    int64_t id;

    pool[2].obtained = 21; /* more than available: marks_obtained_within_available */
    assert_int_equal(save(f, "<x/>", 4, &m, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_INTERNAL);
    assert_string_equal(err.reason, "database_error");
    assert_non_null(strstr(err.message, "storing the marks"));
    assert_int_equal(count(f, "SELECT count(*) FROM imports"), 0);
    assert_int_equal(count(f, "SELECT count(*) FROM import_chunks"), 0);
    assert_int_equal(count(f, "SELECT count(*) FROM marks"), 0);
    assert_int_equal(count(f, "SELECT count(*) FROM import_names"), 0);

    /* The connection is out of the pipeline and of the failed transaction: the next import
     * stores, and it is the only one announced. */
    m = marks_of(3);
    assert_true((id = save(f, "<x/>", 4, &m, &err)) > 0);
    check_stored(f, id, 3, 4);
    payload = next_announcement(f, 10000);
    assert_non_null(payload);
    assert_non_null(strstr(payload, "\"tests\" : [\"t\"]"));
    free(payload);
    assert_null(next_announcement(f, 200));
}

/* The batch itself: statements run in order, results kept for the caller, and after a failure
 * the rest up to the Sync is skipped, so nothing after it runs and the first failure is the
 * one reported. */
static void a_batch_reports_its_first_failure_and_skips_the_rest(void **state)
{
    struct fixture *f = *state;
    struct markr_pg_batch b = {0};
    struct markr_pg_params one = {0};
    struct markr_error err;

    assert_int_equal(markr_test_db_exec(f->conninfo, "CREATE TABLE scratch (n integer)"), 0);
    assert_int_equal(markr_pg_ensure(f->pg, &err), 0);
    markr_pg_param_int4(&one, 1);
    markr_pg_batch_add(&b, "beginning", NULL, "BEGIN", NULL);
    markr_pg_batch_add(&b, "writing a row", NULL, "INSERT INTO scratch VALUES ($1)", &one);
    markr_pg_batch_add(&b, "dividing", NULL, "SELECT 1 / (n - 1) FROM scratch", NULL);
    markr_pg_batch_add(&b, "writing another row", NULL, "INSERT INTO scratch VALUES (2)", NULL);
    markr_pg_batch_add(&b, "committing", NULL, "COMMIT", NULL);
    assert_int_equal(markr_pg_batch_run(f->pg, &b, &err), -1);
    assert_false(b.committed); /* the COMMIT behind the failure was skipped */
    markr_pg_batch_clear(&b);
    assert_non_null(strstr(err.message, "dividing"));
    assert_non_null(strstr(err.message, "22012")); /* division_by_zero, not a skipped statement */
    markr_pg_rollback(f->pg);
    assert_int_equal(count(f, "SELECT count(*) FROM scratch"), 0);

    /* The connection works on: a batch whose statements all succeed, with its rows. */
    markr_pg_batch_add(&b, "writing a row", NULL, "INSERT INTO scratch VALUES ($1)", &one);
    markr_pg_batch_add(&b, "reading", NULL, "SELECT n FROM scratch", NULL);
    assert_int_equal(markr_pg_batch_run(f->pg, &b, &err), 0);
    assert_non_null(b.results[1]);
    assert_int_equal(PQntuples(b.results[1]), 1);
    assert_string_equal(PQgetvalue(b.results[1], 0, 0), "1");
    assert_null(b.results[0]); /* a command: no rows kept */
    markr_pg_batch_clear(&b);
    assert_int_equal(b.count, 0);
}

/* A statement after the COMMIT that fails (the announcement's place) leaves the batch
 * failed but committed: what the transaction wrote is stored, and the caller knows it. */
static void a_failure_after_the_commit_leaves_the_batch_committed(void **state)
{
    struct fixture *f = *state;
    struct markr_pg_batch b = {0};
    struct markr_error err;

    assert_int_equal(markr_test_db_exec(f->conninfo, "CREATE TABLE scratch (n integer)"), 0);
    assert_int_equal(markr_pg_ensure(f->pg, &err), 0);
    markr_pg_batch_add(&b, "beginning", NULL, "BEGIN", NULL);
    markr_pg_batch_add(&b, "writing a row", NULL, "INSERT INTO scratch VALUES (1)", NULL);
    markr_pg_batch_add(&b, "committing", NULL, "COMMIT", NULL);
    markr_pg_batch_add(&b, "dividing", NULL, "SELECT 1 / (n - 1) FROM scratch", NULL);
    assert_int_equal(markr_pg_batch_run(f->pg, &b, &err), -1);
    assert_true(b.committed);
    assert_non_null(strstr(err.message, "22012"));
    markr_pg_batch_clear(&b);
    assert_int_equal(count(f, "SELECT count(*) FROM scratch"), 1);
}

/* Killing the backend drops its prepared statements: the next import is sent on a new
 * connection, prepares them again and stores. A batch sent on the dead connection itself
 * fails as unavailable, with nothing stored. */
static void a_new_backend_prepares_the_statements_again(void **state)
{
    static const char kill[] = "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                               "WHERE datname = current_database() AND application_name = 'markr'";
    struct fixture *f = *state;
    struct markr_marks m = marks_of(2);
    struct markr_pg_batch b = {0};
    struct markr_error err;
    int64_t id;

    assert_true(save(f, "<x/>", 4, &m, &err) > 0);
    assert_int_equal(markr_test_db_exec(f->conninfo, kill), 0);
    markr_pg_batch_add(&b, "beginning", NULL, "BEGIN", NULL);
    markr_pg_batch_add(&b, "committing", NULL, "COMMIT", NULL);
    assert_int_equal(markr_pg_batch_run(f->pg, &b, &err), -1);
    markr_pg_batch_clear(&b);
    assert_int_equal(err.code, MARKR_ERR_UNAVAILABLE);

    m = marks_of(2);
    pool[0].obtained = 20; /* a raise, so that the marks change */
    if ((id = save(f, "<y/>", 4, &m, &err)) <= 0)
        fail_msg("after a new backend: %s", err.message);
    assert_int_equal(count(f, "SELECT count(*) FROM imports"), 2);
    assert_int_equal(count(f, "SELECT max(obtained) FROM marks"), 20);
}

/* A body of more than one chunk: BEGIN and the vault row, the chunks by COPY, then the marks,
 * COMMIT and the announcement; stored whole with the right SHA-256. */
static void a_body_larger_than_a_chunk_goes_by_copy_between_two_batches(void **state)
{
    struct fixture *f = *state;
    size_t len = 2 * 1024 * 1024 + 12345;
    char *body = malloc(len), *payload;
    struct markr_marks m = marks_of(5);
    struct markr_error err;
    int64_t id;

    for (size_t i = 0; i < len; ++i)
        body[i] = (char)('a' + i % 26);
    if ((id = save(f, body, len, &m, &err)) <= 0)
        fail_msg("large body: %s", err.message);
    check_stored(f, id, 5, len);
    assert_int_equal(count(f, "SELECT count(*) FROM import_chunks"), 3);
    payload = next_announcement(f, 10000);
    assert_non_null(payload);
    free(payload);

    /* A failure after the COPY rolls the chunks back too. */
    m = marks_of(5);
    pool[4].available = 0;
    assert_int_equal(save(f, body, len, &m, &err), -1);
    assert_int_equal(count(f, "SELECT count(*) FROM imports"), 1);
    assert_int_equal(count(f, "SELECT count(*) FROM import_chunks"), 3);
    free(body);
}

/* One mark of test "st" for student s1, obtained 2 of 2, whose kept scan answered q1 and q2
 * with response (awarded 1 each). */
static struct markr_answer sheet_answers[2];

/* A valid answer as the domain builds it (its lengths with it). */
static struct markr_answer answer(const char *question, const char *response, uint32_t awarded, uint32_t available)
{
    return (struct markr_answer){.question = question, .response = response,
                                 .question_len = (uint32_t)strlen(question), .response_len = (uint32_t)strlen(response),
                                 .awarded = awarded, .available = available};
}
static struct markr_result sheet_scan;
static struct markr_mark sheet_mark;
static const char *sheet_tests[] = {"st"};

static struct markr_marks sheet_marks(const char *response)
{
    sheet_answers[0] = answer("q1", response, 1, 1);
    sheet_answers[1] = answer("q2", "B", 1, 1);
    sheet_scan = (struct markr_result){.test_id = "st", .student_number = "s1", .available = 2, .obtained = 2,
                                       .sheet = {.answers = sheet_answers, .count = 2, .total = 2}};
    sheet_mark = (struct markr_mark){.test_id = "st", .student_number = "s1", .available = 2, .obtained = 2,
                                     .sheet = &sheet_scan};
    return (struct markr_marks){.marks = &sheet_mark, .count = 1, .students = 1, .tests = sheet_tests,
                                .test_count = 1};
}

static void expect_announcement(struct fixture *f, int64_t id, const char *tests)
{
    char *payload = next_announcement(f, 10000), expected[64];

    assert_non_null(payload);
    snprintf(expected, sizeof(expected), "\"import_id\" : %" PRId64, id);
    if (strstr(payload, expected) == NULL || strstr(payload, tests) == NULL)
        fail_msg("announcement of import %" PRId64 " without %s: %s", id, tests, payload);
    free(payload);
}

/* The kept sheet is written into its marks row by the marks statement, before the COMMIT:
 * stored with its import, and announced after the COMMIT in the one payload of the tests
 * whose rows changed, also when only the sheet changed; a later import of the same sheet
 * becomes the sheet's import (the last among equals: a row change, announced), and one of a
 * lower obtained changes nothing and announces no test. */
static void the_answer_sheet_is_stored_with_its_mark_and_announced_once(void **state)
{
    static const char body[] = "<mcq-test-results/>";
    struct fixture *f = *state;
    struct markr_marks m = sheet_marks("A");
    struct markr_error err;
    int64_t first, second, third, fourth;
    char sql[256], *payload;

    if ((first = save(f, body, sizeof(body) - 1, &m, &err)) <= 0)
        fail_msg("first: %s", err.message);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM marks WHERE sheet_import_id = %" PRId64 " AND test_id = 'st'"
             " AND sheet_questions = '{q1,q2}' AND sheet_responses = '{A,B}' AND sheet_total = 2", first);
    assert_int_equal(count(f, sql), 1);
    expect_announcement(f, first, "\"tests\" : [\"st\"]");
    assert_null(next_announcement(f, 200)); /* one payload, whatever changed */

    m = sheet_marks("C"); /* the same marks, another response: only the sheet changes */
    if ((second = save(f, body, sizeof(body) - 1, &m, &err)) <= 0)
        fail_msg("second: %s", err.message);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM marks WHERE sheet_import_id = %" PRId64
             " AND sheet_responses = '{C,B}' AND import_id = %" PRId64, second, first);
    assert_int_equal(count(f, sql), 1); /* the mark was not raised: import_id stays */
    expect_announcement(f, second, "\"tests\" : [\"st\"]");
    assert_null(next_announcement(f, 200));

    m = sheet_marks("C"); /* the same sheet again: only its import moves */
    if ((third = save(f, body, sizeof(body) - 1, &m, &err)) <= 0)
        fail_msg("third: %s", err.message);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM marks WHERE sheet_import_id = %" PRId64
             " AND sheet_responses = '{C,B}'", third);
    assert_int_equal(count(f, sql), 1);
    expect_announcement(f, third, "\"tests\" : [\"st\"]");

    m = sheet_marks("D"); /* a lower obtained: neither mark nor sheet changes */
    sheet_scan.obtained = sheet_mark.obtained = 1;
    if ((fourth = save(f, body, sizeof(body) - 1, &m, &err)) <= 0)
        fail_msg("fourth: %s", err.message);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM marks WHERE sheet_import_id = %" PRId64
             " AND sheet_responses = '{C,B}' AND obtained = 2", third);
    assert_int_equal(count(f, sql), 1);
    expect_announcement(f, fourth, "\"tests\" : []");
    payload = next_announcement(f, 200);
    if (payload != NULL)
        fail_msg("a second announcement: %s", payload);
}

/* The marks statement failing on a sheet (a trigger here) aborts its batch whole: no vault
 * row, no marks, no announcement, and the connection serves the next import. */
static void a_statement_failing_on_a_sheet_stores_nothing(void **state)
{
    static const char body[] = "<mcq-test-results/>";
    struct fixture *f = *state;
    struct markr_marks m = sheet_marks("A");
    struct markr_error err;

    assert_int_equal(markr_test_db_exec(f->conninfo,
                                        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                                        "BEGIN RAISE EXCEPTION 'no sheets today'; END $$;\n"
                                        "CREATE TRIGGER refuse BEFORE INSERT ON marks FOR EACH ROW "
                                        "WHEN (NEW.sheet_questions IS NOT NULL) EXECUTE FUNCTION refuse();"),
                     0);
    assert_int_equal(save(f, body, sizeof(body) - 1, &m, &err), -1);
    assert_non_null(strstr(err.message, "storing the marks"));
    assert_non_null(strstr(err.message, "no sheets today"));
    assert_int_equal(count(f, "SELECT count(*) FROM imports"), 0);
    assert_int_equal(count(f, "SELECT count(*) FROM marks"), 0);
    assert_null(next_announcement(f, 200));
    assert_int_equal(markr_test_db_exec(f->conninfo, "DROP TRIGGER refuse ON marks"), 0);
    m = sheet_marks("A");
    assert_true(save(f, body, sizeof(body) - 1, &m, &err) > 0);
    assert_int_equal(count(f, "SELECT count(*) FROM marks WHERE sheet_questions IS NOT NULL"), 1);
}

/* A sheet's text travels as bytes (binary arrays in a binary composite): quotes, backslashes,
 * braces, commas, the word NULL, a blank and multibyte characters are stored as they came,
 * marks up to 2^31 - 1 too. */
static void a_sheets_text_and_marks_are_stored_as_they_came(void **state)
{
    static const char body[] = "<mcq-test-results/>";
    static const char *const responses[] = {"a\"b", "c\\d", "{x,y}", "NULL", "", "\xc3\xa9 \xe2\x82\xac"};
    struct fixture *f = *state;
    struct markr_answer answers[6];
    struct markr_marks m = sheet_marks("A");
    struct markr_error err;
    int64_t id;

    for (int i = 0; i < 6; ++i)
        answers[i] = answer(responses[5 - i][0] != '\0' ? responses[5 - i] : "q", responses[i],
                            i == 0 ? 2147483647u : 0, 2147483647u);
    sheet_scan.sheet = (struct markr_answer_sheet){.answers = answers, .count = 6, .total = 2147483647u};
    if ((id = save(f, body, sizeof(body) - 1, &m, &err)) <= 0)
        fail_msg("save: %s", err.message);
    assert_int_equal(count(f, "SELECT count(*) FROM marks WHERE test_id = 'st' AND student_number = 's1'"
                              " AND sheet_responses = ARRAY[E'a\"b', E'c\\\\d', '{x,y}', 'NULL', '', U&'\\00e9 \\20ac']"
                              " AND sheet_questions = ARRAY[U&'\\00e9 \\20ac', 'q', 'NULL', '{x,y}', E'c\\\\d', E'a\"b']"
                              " AND sheet_awarded = '{2147483647,0,0,0,0,0}'"
                              " AND sheet_available = array_fill(2147483647, ARRAY[6]) AND sheet_total = 2147483647"),
                     1);
}

/* Five marks of one document whose sheets the statement receives in both ways: s1 and s4 with
 * the first sheet's questions and available marks (sent once, as the document's shape),
 * s2 with other questions, s3 with another available mark, s5 without a valid answer. Each
 * row holds exactly its own sheet. */
static void sheets_of_one_shape_and_others_are_stored_as_they_came(void **state)
{
    static const char body[] = "<mcq-test-results/>";
    static const char *const numbers[] = {"s1", "s2", "s3", "s4", "s5"};
    static const char *const rows[] = {
        "s1', '{q1,q2}', '{A,B}', '{1,0}', '{1,2}",
        "s2', '{q1,q3}', '{C,D}', '{0,1}', '{1,2}",
        "s3', '{q1,q2}', '{E,F}', '{1,1}', '{1,3}",
        "s4', '{q1,q2}', '{G,H}', '{0,2}', '{1,2}",
    };
    struct fixture *f = *state;
    static struct markr_answer answers[4][2];
    static struct markr_result scans[5];
    static struct markr_mark marks[5];
    static const char *mixed_tests[] = {"mixed"};
    struct markr_marks m = {.marks = marks, .count = 5, .students = 5, .tests = mixed_tests, .test_count = 1,
                            .scans = scans, .scan_count = 5};
    struct markr_error err;
    char sql[512];

    answers[0][0] = answer("q1", "A", 1, 1), answers[0][1] = answer("q2", "B", 0, 2);
    answers[1][0] = answer("q1", "C", 0, 1), answers[1][1] = answer("q3", "D", 1, 2);
    answers[2][0] = answer("q1", "E", 1, 1), answers[2][1] = answer("q2", "F", 1, 3);
    answers[3][0] = answer("q1", "G", 0, 1), answers[3][1] = answer("q2", "H", 2, 2);
    for (int i = 0; i < 5; ++i) {
        scans[i] = (struct markr_result){.test_id = "mixed", .student_number = (char *)numbers[i], .available = 4,
                                         .obtained = 2, .line = (unsigned long)i + 1};
        if (i < 4)
            scans[i].sheet = (struct markr_answer_sheet){.answers = answers[i], .count = 2, .total = 2};
        marks[i] = (struct markr_mark){.test_id = "mixed", .student_number = numbers[i], .available = 4,
                                       .obtained = 2, .sheet = &scans[i]};
    }
    if (save(f, body, sizeof(body) - 1, &m, &err) <= 0)
        fail_msg("save: %s", err.message);
    for (int i = 0; i < 4; ++i) {
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM marks WHERE test_id = 'mixed' AND (student_number, sheet_questions,"
                 " sheet_responses, sheet_awarded, sheet_available) = ('%s')",
                 rows[i]);
        assert_int_equal(count(f, sql), 1);
    }
    assert_int_equal(count(f, "SELECT count(*) FROM marks WHERE test_id = 'mixed' AND student_number = 's5'"
                              " AND sheet_questions IS NULL AND sheet_responses IS NULL AND sheet_awarded IS NULL"
                              " AND sheet_available IS NULL AND sheet_total = 0"),
                     1);
}

/* A long sheet (here 300 answers of 100-byte questions, about 32 kB) is compressed with lz4
 * (migration 0014) and reads back whole. The sheet is made by hand, without the byte totals
 * markr_answer_sheet_build records: the writer sizes it from the answers themselves. */
static void a_long_sheet_is_stored_with_lz4(void **state)
{
    static const char body[] = "<mcq-test-results/>";
    struct fixture *f = *state;
    static struct markr_answer answers[300];
    static char questions[300][104];
    struct markr_marks m = sheet_marks("A");
    struct markr_error err;

    for (int i = 0; i < 300; ++i) {
        snprintf(questions[i], sizeof(questions[i]), "q%03d%096d", i, 0);
        answers[i] = answer(questions[i], i % 2 ? "B" : "C", 1, 1);
    }
    sheet_scan.sheet = (struct markr_answer_sheet){.answers = answers, .count = 300, .total = 300};
    if (save(f, body, sizeof(body) - 1, &m, &err) <= 0)
        fail_msg("save: %s", err.message);
    assert_int_equal(count(f, "SELECT count(*) FROM marks WHERE pg_column_compression(sheet_questions) = 'lz4'"
                              " AND pg_column_compression(sheet_responses) = 'lz4' AND cardinality(sheet_questions) = 300"
                              " AND sheet_questions[300] = 'q299' || repeat('0', 96) AND sheet_responses[300] = 'B'"
                              " AND sheet_awarded[1] = 1"),
                     1);
}

/* Makes the sheets' type again, as migration 0011 does, after a test dropped it. */
static void make_sheets_type(struct fixture *f)
{
    assert_int_equal(markr_test_db_exec(f->conninfo,
                                        "CREATE TYPE answer_sheet_columns AS (questions text[], responses text[],"
                                        " awarded integer[], available integer[])"),
                     0);
}

/* The sheets' parameter names its type by OID, looked up once per connection: a connection
 * made again looks it up again. Here the type is gone meanwhile, so the look-up itself fails
 * (with the OID remembered, the marks statement would); once the type is back, imports go on. */
static void a_new_connection_looks_the_sheets_type_up_again(void **state)
{
    static const char kill[] = "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                               "WHERE datname = current_database() AND application_name = 'markr'";
    static const char body[] = "<mcq-test-results/>";
    struct fixture *f = *state;
    struct markr_marks m = sheet_marks("A");
    struct markr_error err;

    assert_true(save(f, body, sizeof(body) - 1, &m, &err) > 0);
    assert_int_equal(markr_test_db_exec(f->conninfo, "DROP TYPE answer_sheet_columns"), 0);
    assert_int_equal(markr_test_db_exec(f->conninfo, kill), 0);
    m = sheet_marks("B");
    assert_int_equal(save(f, body, sizeof(body) - 1, &m, &err), -1);
    assert_non_null(strstr(err.message, "looking up the answer sheets' type"));
    assert_int_equal(count(f, "SELECT count(*) FROM imports"), 1);
    make_sheets_type(f);
    m = sheet_marks("B");
    if (save(f, body, sizeof(body) - 1, &m, &err) <= 0)
        fail_msg("with the type again: %s", err.message);
    assert_int_equal(count(f, "SELECT count(*) FROM marks WHERE sheet_responses = '{B,B}'"), 1);
}

/* Without the type (a schema that is not this markr's), the look-up fails before anything is
 * sent: the import is refused with the database's error and stores nothing; once the type is
 * there, the same connection stores the next import. */
static void a_missing_sheets_type_fails_the_import_before_anything_is_stored(void **state)
{
    static const char body[] = "<mcq-test-results/>";
    struct fixture *f = *state;
    struct markr_marks m = sheet_marks("A");
    struct markr_error err;

    assert_int_equal(markr_test_db_exec(f->conninfo, "DROP TYPE answer_sheet_columns"), 0);
    assert_int_equal(save(f, body, sizeof(body) - 1, &m, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_INTERNAL);
    assert_non_null(strstr(err.message, "looking up the answer sheets' type"));
    assert_int_equal(count(f, "SELECT count(*) FROM imports"), 0);
    assert_int_equal(count(f, "SELECT count(*) FROM marks"), 0);
    make_sheets_type(f);
    m = sheet_marks("A");
    if (save(f, body, sizeof(body) - 1, &m, &err) <= 0)
        fail_msg("with the type: %s", err.message);
    assert_int_equal(count(f, "SELECT count(*) FROM marks WHERE sheet_questions IS NOT NULL"), 1);
}

/* A refused document takes the same batches without marks: its row with the reason and its
 * body, in one round trip when the body fits in a chunk, by COPY when not; nothing announced. */
static void a_refused_document_is_stored_whole_in_the_same_batches(void **state)
{
    struct fixture *f = *state;
    size_t big = MARKR_PG_CHUNK_BYTES + 7;
    char *large = malloc(big);
    struct markr_error reason, err;
    const size_t sizes[] = {5, big};

    memset(large, 'x', big);
    memcpy(large, "<bad>", 5);
    markr_error_set(&reason, MARKR_ERR_MALFORMED, "malformed_xml", "not well-formed");
    reason.line = 3;
    for (size_t k = 0; k < 2; ++k) {
        struct markr_vault_entry entry = {.content_type = "text/xml+markr", .body = large, .body_len = sizes[k],
                                          .result_count = 2};
        int64_t id = -1;
        char sql[512];

        if (f->store.save_rejected(f->store.ctx, &entry, &reason, &id, &err) != 0)
            fail_msg("refused document of %zu bytes: %s", sizes[k], err.message);
        assert_true(id > 0);
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM imports i WHERE id = %" PRId64 " AND status = 'rejected'"
                 " AND reason->>'error' = 'malformed_xml' AND (reason->>'line')::int = 3 AND result_count = 2"
                 " AND size_bytes = %zu AND sha256 = sha256((SELECT string_agg(bytes, ''::bytea ORDER BY seq)"
                 " FROM import_chunks WHERE import_id = i.id))", id, sizes[k]);
        assert_int_equal(count(f, sql), 1);
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM import_chunks WHERE import_id = %" PRId64, id);
        assert_int_equal(count(f, sql), k == 0 ? 1 : 2);
    }
    assert_null(next_announcement(f, 200));
    free(large);
}

/* --- a large body stored while the document is judged (ADR 0033) ------------------------------ */

#define BEGUN_LEN (2 * MARKR_PG_CHUNK_BYTES + 12345)

static char *large_body(size_t len)
{
    char *body = malloc(len);

    assert_non_null(body);
    for (size_t i = 0; i < len; ++i)
        body[i] = (char)('a' + i % 26);
    return body;
}

/* The stored SHA-256 is the one of the bytes given (so the chunks are those bytes), and the
 * row is as one stored whole (a synchronous import has no processed_at). */
static void check_digest(struct fixture *f, int64_t id, const char *body, size_t len)
{
    unsigned char digest[32];
    char hex[65], sql[256];
    struct markr_error err;

    assert_int_equal(markr_pg_sha256(body, len, digest, &err), 0);
    for (int i = 0; i < 32; ++i)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM imports WHERE id = %" PRId64 " AND encode(sha256, 'hex') = '%s'"
             " AND processed_at IS NULL", id, hex);
    assert_int_equal(count(f, sql), 1);
}

/* Waits (at most 20 s) until sql counts at least one row. */
static void wait_until(struct fixture *f, const char *sql)
{
    struct timespec pause = {0, 10 * 1000000L};

    for (int i = 0; i < 2000 && count(f, sql) < 1; ++i)
        nanosleep(&pause, NULL);
    if (count(f, sql) < 1)
        fail_msg("never true: %s", sql);
}

/* Begins an entry as the use case does, before its verdict (result_count still 0). */
static void begin(struct fixture *f, struct markr_vault_entry *entry, const char *body, size_t len)
{
    *entry = (struct markr_vault_entry){.content_type = "text/xml+markr", .body = body, .body_len = len};
    entry->begun = f->store.begin(f->store.ctx, entry);
}

static int64_t finish_accepted(struct fixture *f, struct markr_vault_entry *entry, const struct markr_marks *m,
                               struct markr_error *err)
{
    int64_t id = -1;

    entry->result_count = m->count;
    if (f->store.save_accepted(f->store.ctx, entry, m, &id, err) != 0)
        return -1;
    return id;
}

static void a_large_body_begun_before_its_verdict_is_stored_exactly(void **state)
{
    static const char small[] = "<mcq-test-results/>";
    struct fixture *f = *state;
    char *body = large_body(BEGUN_LEN), *payload;
    struct markr_marks m = marks_of(5);
    struct markr_vault_entry entry;
    struct markr_error err;
    int64_t id;

    begin(f, &entry, body, BEGUN_LEN);
    assert_non_null(entry.begun);
    if ((id = finish_accepted(f, &entry, &m, &err)) <= 0)
        fail_msg("begun import: %s", err.message);
    check_stored(f, id, 5, BEGUN_LEN);
    check_digest(f, id, body, BEGUN_LEN);
    assert_int_equal(count(f, "SELECT count(*) FROM import_chunks"), 3);
    payload = next_announcement(f, 10000);
    assert_non_null(payload);
    free(payload);
    /* A body of one chunk is not begun: it keeps its one round trip. */
    begin(f, &entry, small, sizeof(small) - 1);
    assert_null(entry.begun);
    begin(f, &entry, body, MARKR_PG_CHUNK_BYTES);
    assert_null(entry.begun);
    free(body);
}

static void a_large_body_begun_and_refused_is_stored_with_its_reason(void **state)
{
    struct fixture *f = *state;
    char *body = large_body(BEGUN_LEN);
    struct markr_vault_entry entry;
    struct markr_error reason, err;
    int64_t id = -1;
    char sql[512];

    markr_error_set(&reason, MARKR_ERR_INVALID, "invalid_result", "no obtained marks");
    reason.line = 7;
    begin(f, &entry, body, BEGUN_LEN);
    assert_non_null(entry.begun);
    entry.result_count = 2;
    if (f->store.save_rejected(f->store.ctx, &entry, &reason, &id, &err) != 0)
        fail_msg("begun refusal: %s", err.message);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM imports WHERE id = %" PRId64 " AND status = 'rejected'"
             " AND reason->>'error' = 'invalid_result' AND reason->>'message' = 'no obtained marks'"
             " AND (reason->>'line')::int = 7 AND result_count = 2 AND size_bytes = %d", id, BEGUN_LEN);
    assert_int_equal(count(f, sql), 1);
    check_digest(f, id, body, BEGUN_LEN);
    assert_int_equal(count(f, "SELECT count(*) FROM import_chunks"), 3);
    assert_int_equal(count(f, "SELECT count(*) FROM marks"), 0);
    assert_null(next_announcement(f, 200));
    free(body);
}

/* The connection has no transaction left open and stores the next import. */
static void check_usable(struct fixture *f, long pid)
{
    static const char small[] = "<mcq-test-results/>";
    struct markr_marks m = marks_of(1);
    struct markr_error err;
    char sql[160];

    snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_stat_activity WHERE pid = %ld AND state = 'idle'", pid);
    if (pid != 0)
        assert_int_equal(count(f, sql), 1);
    if (save(f, small, sizeof(small) - 1, &m, &err) <= 0)
        fail_msg("after: %s", err.message);
}

static void an_abandoned_body_stores_nothing(void **state)
{
    struct fixture *f = *state;
    char *body = large_body(BEGUN_LEN);
    struct markr_vault_entry entry;

    begin(f, &entry, body, BEGUN_LEN);
    assert_non_null(entry.begun);
    f->store.abandon(f->store.ctx, entry.begun);
    assert_int_equal(count(f, "SELECT count(*) FROM imports"), 0);
    assert_int_equal(count(f, "SELECT count(*) FROM import_chunks"), 0);
    check_usable(f, (long)PQbackendPID(f->pg->conn));
    free(body);
}

/* A verdict that fails (a mark the server refuses) rolls the stored body back with it. */
static void a_failing_verdict_rolls_the_begun_body_back(void **state)
{
    struct fixture *f = *state;
    char *body = large_body(BEGUN_LEN);
    struct markr_marks m = marks_of(5);
    struct markr_vault_entry entry;
    struct markr_error err;

    pool[2].available = 0;
    begin(f, &entry, body, BEGUN_LEN);
    assert_int_equal(finish_accepted(f, &entry, &m, &err), -1);
    assert_int_equal(count(f, "SELECT count(*) FROM imports"), 0);
    assert_int_equal(count(f, "SELECT count(*) FROM import_chunks"), 0);
    check_usable(f, (long)PQbackendPID(f->pg->conn));
    free(body);
}

/* The backend is terminated while it stores the body (held in the COPY by a trigger that
 * waits for an advisory lock this test holds), or once it has (idle in the transaction,
 * waiting for the verdict): nothing had been committed, so the import runs again once on a
 * new connection and is stored once. */
static void a_backend_terminated_while_the_body_is_stored_runs_the_import_again(void **state)
{
    struct fixture *f = *state;
    char *body = large_body(BEGUN_LEN);
    PGconn *locker = PQconnectdb(f->conninfo);
    PGresult *res;

    assert_int_equal(markr_test_db_exec(f->conninfo,
                                        "CREATE FUNCTION hold() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                                        "BEGIN PERFORM pg_advisory_xact_lock_shared(31); RETURN NEW; END $$;\n"
                                        "CREATE TRIGGER hold BEFORE INSERT ON import_chunks\n"
                                        "    FOR EACH ROW EXECUTE FUNCTION hold()"),
                     0);
    for (int k = 0; k < 2; ++k) {
        static const char *names[] = {"during", "after"};
        struct markr_marks m;
        struct markr_vault_entry entry;
        struct markr_error err;
        long pid = (long)PQbackendPID(f->pg->conn);
        char sql[256];
        int64_t id;

        if (k == 0) {
            res = PQexec(locker, "SELECT pg_advisory_lock(31)");
            assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
            PQclear(res);
            snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_stat_activity WHERE pid = %ld AND "
                     "wait_event = 'advisory' AND query LIKE 'COPY%%'", pid);
        } else {
            snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_stat_activity WHERE pid = %ld AND "
                     "state = 'idle in transaction' AND query LIKE 'COPY%%'", pid);
        }
        test_ids[0] = names[k]; /* a test of its own, so that every mark is this import's */
        m = marks_of(5);
        begin(f, &entry, body, BEGUN_LEN);
        assert_non_null(entry.begun);
        wait_until(f, sql);
        snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%ld)::int", pid);
        assert_int_equal(count(f, sql), 1);
        if (k == 0) {
            res = PQexec(locker, "SELECT pg_advisory_unlock(31)");
            assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
            PQclear(res);
        }
        id = finish_accepted(f, &entry, &m, &err);
        test_ids[0] = "t";
        if (id <= 0)
            fail_msg("run %d: %s", k, err.message);
        assert_int_not_equal((long)PQbackendPID(f->pg->conn), pid); /* a new connection */
        check_stored(f, id, 5, BEGUN_LEN);
        check_digest(f, id, body, BEGUN_LEN);
        assert_int_equal(count(f, "SELECT count(*) FROM imports"), k + 1);
        assert_int_equal(count(f, "SELECT count(*) FROM import_chunks"), 3 * (k + 1));
    }
    check_usable(f, (long)PQbackendPID(f->pg->conn));
    PQfinish(locker);
    free(body);
}

/* A deferred constraint trigger on the vault row ends the backend inside the verdict batch's
 * COMMIT, counting the COMMITs that reached it: whether the import committed cannot be known,
 * so the save is "outcome_unknown", announced as a flush, and the import is not run again
 * (one COMMIT, no row). */
static void a_begun_import_lost_during_its_commit_is_outcome_unknown(void **state)
{
    struct fixture *f = *state;
    char *body = large_body(BEGUN_LEN), *payload;
    struct markr_marks m = marks_of(5);
    struct markr_vault_entry entry;
    struct markr_error err;

    assert_int_equal(markr_test_db_exec(f->conninfo,
                                        "CREATE SEQUENCE commits;\n"
                                        "CREATE FUNCTION kill_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                                        "BEGIN PERFORM nextval('commits'); PERFORM pg_terminate_backend(pg_backend_pid());"
                                        " RETURN NULL; END $$;\n"
                                        "CREATE CONSTRAINT TRIGGER kill_at_commit AFTER INSERT ON imports\n"
                                        "    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION kill_at_commit()"),
                     0);
    begin(f, &entry, body, BEGUN_LEN);
    assert_non_null(entry.begun);
    assert_int_equal(finish_accepted(f, &entry, &m, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_UNAVAILABLE);
    assert_string_equal(err.reason, "outcome_unknown");
    assert_int_equal(count(f, "SELECT last_value FROM commits"), 1); /* one COMMIT, not run again */
    assert_int_equal(count(f, "SELECT count(*) FROM imports"), 0);
    assert_int_equal(count(f, "SELECT count(*) FROM import_chunks"), 0);
    assert_int_equal(count(f, "SELECT count(*) FROM marks"), 0);
    /* It may have been stored, and then nobody was told: every test is announced changed. */
    payload = next_announcement(f, 10000);
    assert_non_null(payload);
    if (strstr(payload, "\"flush\"") == NULL)
        fail_msg("not a flush: %s", payload);
    free(payload);
    assert_null(next_announcement(f, 200));
    /* The next import is stored on a new connection. */
    assert_int_equal(markr_test_db_exec(f->conninfo, "DROP TRIGGER kill_at_commit ON imports"), 0);
    check_usable(f, 0);
    free(body);
}

/* The verdict batch of a begun import meets a serialization failure once (a statement
 * trigger on marks raises 40001 the first time a sequence, which no rollback resets, is
 * read): the begun transaction is rolled back and the import run again whole on the same
 * connection, body included, and stored once. */
static void a_busy_failure_in_a_begun_verdict_runs_the_import_again_whole(void **state)
{
    struct fixture *f = *state;
    char *body = large_body(BEGUN_LEN), *payload;
    struct markr_marks m = marks_of(5);
    struct markr_vault_entry entry;
    struct markr_error err;
    long pid = (long)PQbackendPID(f->pg->conn);
    int64_t id;

    assert_int_equal(markr_test_db_exec(f->conninfo,
                                        "CREATE SEQUENCE runs;\n"
                                        "CREATE FUNCTION busy_once() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                                        "BEGIN\n"
                                        "  IF nextval('runs') = 1 THEN\n"
                                        "    RAISE EXCEPTION 'could not serialize' USING ERRCODE = '40001';\n"
                                        "  END IF;\n"
                                        "  RETURN NULL;\n"
                                        "END $$;\n"
                                        "CREATE TRIGGER busy_once BEFORE INSERT ON marks\n"
                                        "    FOR EACH STATEMENT EXECUTE FUNCTION busy_once()"),
                     0);
    begin(f, &entry, body, BEGUN_LEN);
    assert_non_null(entry.begun);
    if ((id = finish_accepted(f, &entry, &m, &err)) <= 0)
        fail_msg("after a serialization failure: %s", err.message);
    assert_int_equal(count(f, "SELECT last_value FROM runs"), 2); /* the verdict ran twice */
    assert_int_equal((long)PQbackendPID(f->pg->conn), pid);         /* on the same connection */
    check_stored(f, id, 5, BEGUN_LEN);
    check_digest(f, id, body, BEGUN_LEN);
    assert_int_equal(count(f, "SELECT count(*) FROM imports"), 1);
    assert_int_equal(count(f, "SELECT count(*) FROM import_chunks"), 3);
    payload = next_announcement(f, 10000);
    assert_non_null(payload);
    free(payload);
    assert_null(next_announcement(f, 200)); /* announced once */
    check_usable(f, pid);
    free(body);
}

/* A connection that cannot start (here: abandoned at shutdown) fails the save as it would
 * without the head start, and stores nothing. The connection has already imported once, so
 * it knows the sheets' type and begins without a statement of its own. */
static void a_begun_import_that_cannot_start_fails_as_before(void **state)
{
    static const char small[] = "<mcq-test-results/>";
    struct fixture *f = *state;
    char *body = large_body(BEGUN_LEN);
    struct markr_marks m = marks_of(5);
    struct markr_vault_entry entry;
    struct markr_error err;

    assert_true(save(f, small, sizeof(small) - 1, &m, &err) > 0);
    markr_pg_abandon(f->pg);
    begin(f, &entry, body, BEGUN_LEN);
    assert_non_null(entry.begun);
    assert_int_equal(finish_accepted(f, &entry, &m, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_UNAVAILABLE);
    assert_string_equal(err.reason, "shutting_down");
    assert_int_equal(count(f, "SELECT count(*) FROM imports"), 1);
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(batches_of_zero_one_and_many_marks_store_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(an_empty_body_has_no_chunk, setup, teardown),
        cmocka_unit_test_setup_teardown(a_failure_in_the_middle_of_the_batch_stores_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(a_batch_reports_its_first_failure_and_skips_the_rest, setup, teardown),
        cmocka_unit_test_setup_teardown(a_failure_after_the_commit_leaves_the_batch_committed, setup, teardown),
        cmocka_unit_test_setup_teardown(a_new_backend_prepares_the_statements_again, setup, teardown),
        cmocka_unit_test_setup_teardown(a_body_larger_than_a_chunk_goes_by_copy_between_two_batches, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_refused_document_is_stored_whole_in_the_same_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(the_answer_sheet_is_stored_with_its_mark_and_announced_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_statement_failing_on_a_sheet_stores_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(a_sheets_text_and_marks_are_stored_as_they_came, setup, teardown),
        cmocka_unit_test_setup_teardown(a_new_connection_looks_the_sheets_type_up_again, setup, teardown),
        cmocka_unit_test_setup_teardown(sheets_of_one_shape_and_others_are_stored_as_they_came, setup, teardown),
        cmocka_unit_test_setup_teardown(a_long_sheet_is_stored_with_lz4, setup, teardown),
        cmocka_unit_test_setup_teardown(a_missing_sheets_type_fails_the_import_before_anything_is_stored, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_large_body_begun_before_its_verdict_is_stored_exactly, setup, teardown),
        cmocka_unit_test_setup_teardown(a_large_body_begun_and_refused_is_stored_with_its_reason, setup, teardown),
        cmocka_unit_test_setup_teardown(an_abandoned_body_stores_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(a_failing_verdict_rolls_the_begun_body_back, setup, teardown),
        cmocka_unit_test_setup_teardown(a_backend_terminated_while_the_body_is_stored_runs_the_import_again, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_begun_import_that_cannot_start_fails_as_before, setup, teardown),
        cmocka_unit_test_setup_teardown(a_begun_import_lost_during_its_commit_is_outcome_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(a_busy_failure_in_a_begun_verdict_runs_the_import_again_whole, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
