/*
 * The PostgreSQL store against a real server, one fresh migrated database per test: rule 2
 * across documents (highest obtained and highest available independently, names coalesced,
 * import_id moved only by a raise), all or nothing when a mark fails mid-document, the vault
 * keeping bytes and reasons exactly, the vault's list (every combination of its filters paged
 * to the end, each statement read from the index of its filter), aggregates with
 * hand-computed figures, readiness, and connection failures that never show the password.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/aggregate.h"
#include "domain/document.h"
#include "interfaces/pg/pg_migrate.h"
#include "interfaces/pg/pg_store.h"
#include "interfaces/pg/pg_vault.h"
#include "interfaces/pg/pg_views.h"
#include "test_db.h"

struct fixture {
    char *conninfo;
    struct markr_pg *pg;
    struct markr_import_store store;
    struct markr_results_reader reader;
    struct markr_document doc;
    struct markr_marks marks;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct markr_error err;

    f->conninfo = markr_test_db_create("pg_store");
    if ((f->pg = markr_pg_connect(f->conninfo, &err)) == NULL ||
        markr_pg_migrate(f->pg, getenv("MARKR_MIGRATIONS_DIR"), NULL, &err) != 0) {
        fprintf(stderr, "set-up: %s\n", err.message);
        return -1;
    }
    f->store = markr_pg_import_store(f->pg);
    f->reader = markr_pg_results_reader(f->pg);
    markr_document_init(&f->doc);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    markr_marks_free(&f->marks);
    markr_document_free(&f->doc);
    markr_pg_close(f->pg);
    markr_test_db_drop(f->conninfo);
    free(f->conninfo);
    free(f);
    return 0;
}

/* --- helpers ------------------------------------------------------------------------------------ */

static void set_field(struct markr_raw_result *raw, enum markr_field field, const char *text)
{
    raw->text[field] = text;
    raw->len[field] = text != NULL ? strlen(text) : 0;
    raw->field_line[field] = text != NULL ? raw->line : 0;
}

/* Adds one scanned result to the fixture's document (names may be NULL). */
static void scan(struct fixture *f, const char *test, const char *student, const char *first, const char *last,
                 const char *available, const char *obtained)
{
    struct markr_raw_result raw;
    struct markr_error err;

    memset(&raw, 0, sizeof(raw));
    raw.line = 2 + 8 * f->doc.count;
    set_field(&raw, MARKR_FIELD_TEST_ID, test);
    set_field(&raw, MARKR_FIELD_STUDENT_NUMBER, student);
    set_field(&raw, MARKR_FIELD_FIRST_NAME, first);
    set_field(&raw, MARKR_FIELD_LAST_NAME, last);
    set_field(&raw, MARKR_FIELD_AVAILABLE, available);
    set_field(&raw, MARKR_FIELD_OBTAINED, obtained);
    if (markr_document_add(&f->doc, &raw, &err) != 0)
        fail_msg("result refused: %s", err.message);
}

/* Stores the fixture's document as one accepted import, through the domain's duplicate
 * rule, and starts a new document. Returns the import id. */
static int64_t import_doc(struct fixture *f)
{
    static const char body[] = "<mcq-test-results/>";
    struct markr_vault_entry entry = {.content_type = "text/xml+markr", .body = body, .body_len = sizeof(body) - 1,
                                      .result_count = f->doc.count};
    struct markr_error err;
    int64_t id = -1;

    assert_int_equal(markr_marks_from_document(&f->doc, &f->marks, &err), 0);
    if (f->store.save_accepted(f->store.ctx, &entry, &f->marks, &id, &err) != 0)
        fail_msg("save_accepted: %s", err.message);
    assert_true(id > 0);
    markr_marks_free(&f->marks);
    markr_document_free(&f->doc);
    markr_document_init(&f->doc);
    return id;
}

static char *value(struct fixture *f, const char *sql)
{
    return markr_test_db_value(f->conninfo, sql);
}

static void assert_value(struct fixture *f, const char *sql, const char *expected)
{
    char *v = value(f, sql);

    if (expected == NULL ? v != NULL : v == NULL || strcmp(v, expected) != 0)
        fail_msg("%s\n  gave %s, expected %s", sql, v != NULL ? v : "NULL", expected != NULL ? expected : "NULL");
    free(v);
}

/* The stored mark of (test, student) as "available obtained first last import_id". */
static void assert_mark(struct fixture *f, const char *test, const char *student, const char *expected)
{
    char sql[512];

    snprintf(sql, sizeof(sql),
             "SELECT concat_ws(' ', available, obtained, coalesce(first_name, '-'), coalesce(last_name, '-'), "
             "import_id) FROM marks WHERE test_id = '%s' AND student_number = '%s'",
             test, student);
    assert_value(f, sql, expected);
}

static void assert_aggregate(struct fixture *f, const char *test, const struct markr_aggregate *want)
{
    struct markr_aggregate got;
    struct markr_error err;

    if (f->reader.aggregate(f->reader.ctx, test, strlen(test), &got, &err) != 0)
        fail_msg("aggregate of %s: %s", test, err.message);
    assert_int_equal(got.count, want->count);
    assert_float_equal(got.mean, want->mean, 1e-9);
    assert_float_equal(got.stddev, want->stddev, 1e-9);
    assert_float_equal(got.min, want->min, 1e-9);
    assert_float_equal(got.max, want->max, 1e-9);
    assert_float_equal(got.p25, want->p25, 1e-9);
    assert_float_equal(got.p50, want->p50, 1e-9);
    assert_float_equal(got.p75, want->p75, 1e-9);
}

/* --- rule 2 across documents -------------------------------------------------------------------- */

static void brief_example(void **state)
{
    struct fixture *f = *state;
    struct markr_aggregate got, want = {65.0, 0.0, 65.0, 65.0, 65.0, 65.0, 65.0, 1};
    struct markr_error err;

    scan(f, "1234", "521585128", "Jane", "Austen", "20", "13");
    import_doc(f);
    assert_aggregate(f, "1234", &want);
    /* Exactly, not nearly: 100 * 13 / 20 in float8 is 65. */
    assert_int_equal(f->reader.aggregate(f->reader.ctx, "1234", 4, &got, &err), 0);
    assert_true(got.mean == 65.0 && got.stddev == 0.0 && got.p50 == 65.0);
}

static void highest_obtained_and_available_are_kept_independently(void **state)
{
    struct fixture *f = *state;
    char expected[128];
    int64_t first, second, third;

    scan(f, "t", "s1", NULL, NULL, "20", "10");
    first = import_doc(f);
    snprintf(expected, sizeof(expected), "20 10 - - %" PRId64, first);
    assert_mark(f, "t", "s1", expected);

    scan(f, "t", "s1", NULL, NULL, "25", "8"); /* available rises, obtained does not */
    second = import_doc(f);
    snprintf(expected, sizeof(expected), "25 10 - - %" PRId64, second);
    assert_mark(f, "t", "s1", expected);

    scan(f, "t", "s1", NULL, NULL, "20", "15"); /* obtained rises, available does not */
    third = import_doc(f);
    snprintf(expected, sizeof(expected), "25 15 - - %" PRId64, third);
    assert_mark(f, "t", "s1", expected);
    assert_true(first < second && second < third); /* ids in order of receipt */
}

static void a_lower_rescan_changes_nothing(void **state)
{
    struct fixture *f = *state;
    char *xmin_before, *xmin_after, *updated_before, *updated_after, expected[64], sql[128];
    int64_t id, equal;

    scan(f, "t", "s1", "Jane", "Austen", "20", "13");
    id = import_doc(f);
    xmin_before = value(f, "SELECT xmin::text FROM marks");
    updated_before = value(f, "SELECT updated_at::text FROM marks");

    scan(f, "t", "s1", "Jane", "Austen", "20", "12");
    scan(f, "t", "s1", NULL, NULL, "19", "12");
    import_doc(f);
    /* Not even rewritten: the row version is the same. */
    xmin_after = value(f, "SELECT xmin::text FROM marks");
    updated_after = value(f, "SELECT updated_at::text FROM marks");
    assert_string_equal(xmin_before, xmin_after);
    assert_string_equal(updated_before, updated_after);
    snprintf(expected, sizeof(expected), "20 13 Jane Austen %" PRId64, id);
    assert_mark(f, "t", "s1", expected);
    free(xmin_after);
    free(updated_after);

    /* An equal obtained raises nothing either, but its scan is the kept sheet now (the last
     * among equals; this one has no valid answer): only the sheet's import moves. */
    scan(f, "t", "s1", NULL, NULL, "19", "13");
    equal = import_doc(f);
    updated_after = value(f, "SELECT updated_at::text FROM marks");
    assert_string_equal(updated_before, updated_after);
    assert_mark(f, "t", "s1", expected);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM marks WHERE sheet_import_id = %" PRId64
             " AND sheet_questions IS NULL", equal);
    xmin_after = value(f, sql);
    assert_string_equal(xmin_after, "1");
    free(xmin_before);
    free(xmin_after);
    free(updated_before);
    free(updated_after);
}

static void names_are_coalesced_and_do_not_move_import_id(void **state)
{
    struct fixture *f = *state;
    char expected[64];
    int64_t id;

    scan(f, "t", "s1", "Jane", "Austen", "20", "13");
    id = import_doc(f);
    scan(f, "t", "s1", NULL, NULL, "20", "13"); /* no names: the old ones stay */
    import_doc(f);
    snprintf(expected, sizeof(expected), "20 13 Jane Austen %" PRId64, id);
    assert_mark(f, "t", "s1", expected);

    scan(f, "t", "s1", "J.", NULL, "20", "13"); /* a new first name replaces the old one */
    import_doc(f);
    snprintf(expected, sizeof(expected), "20 13 J. Austen %" PRId64, id);
    assert_mark(f, "t", "s1", expected);
}

static void duplicates_within_a_document_are_merged_first(void **state)
{
    struct fixture *f = *state;
    char expected[64];
    int64_t id;

    /* Without the domain's merge, ON CONFLICT would refuse to touch a row twice. */
    scan(f, "t", "s1", "Jane", "Austen", "20", "13");
    scan(f, "t", "s1", "Jane", "Doe", "25", "10");
    scan(f, "t", "s2", NULL, NULL, "10", "1");
    scan(f, "t", "s1", NULL, NULL, "20", "14");
    id = import_doc(f);
    snprintf(expected, sizeof(expected), "25 14 Jane Doe %" PRId64, id);
    assert_mark(f, "t", "s1", expected);
    assert_value(f, "SELECT count(*) FROM marks", "2");
    assert_value(f, "SELECT result_count FROM imports", "4");
}

static void ids_are_opaque_strings(void **state)
{
    struct fixture *f = *state;

    scan(f, "t", "002299", NULL, NULL, "10", "1");
    scan(f, "t", "2299", NULL, NULL, "10", "2");
    scan(f, "T", "2299", NULL, NULL, "10", "3");
    scan(f, "t", "Zoë 'quoted' \"name\"", NULL, NULL, "10", "4");
    import_doc(f);
    assert_value(f, "SELECT count(*) FROM marks", "4");
    assert_value(f, "SELECT obtained FROM marks WHERE student_number = 'Zoë ''quoted'' \"name\"'", "4");
}

/* --- all or nothing ----------------------------------------------------------------------------- */

/* A document whose marks bypass the domain, so the database's own checks can fire. */
static int save_raw_marks(struct fixture *f, struct markr_mark *marks, size_t n, struct markr_error *err)
{
    static const char body[] = "<mcq-test-results/>";
    struct markr_vault_entry entry = {.content_type = "text/xml+markr", .body = body, .body_len = sizeof(body) - 1,
                                      .result_count = n};
    struct markr_marks set = {.marks = marks, .count = n};
    int64_t id = 0;
    int rc = f->store.save_accepted(f->store.ctx, &entry, &set, &id, err);

    assert_true(rc == 0 ? id > 0 : id == 0);
    return rc;
}

static void a_failing_mark_leaves_nothing(void **state)
{
    struct fixture *f = *state;
    struct markr_mark marks[3] = {
        {.test_id = "t", .student_number = "s1", .available = 20, .obtained = 20},
        {.test_id = "t", .student_number = "s2", .available = 20, .obtained = 5},
        {.test_id = "t", .student_number = "s3", .available = 20, .obtained = 21}, /* breaks a CHECK */
    };
    struct markr_error err;

    scan(f, "t", "s1", NULL, NULL, "20", "10");
    import_doc(f);
    assert_int_equal(save_raw_marks(f, marks, 3, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_INTERNAL);
    assert_string_equal(err.reason, "database_error");
    assert_non_null(strstr(err.message, "check constraint"));
    /* Neither the vault row, nor the raise of s1, nor s2. */
    assert_value(f, "SELECT count(*) FROM imports", "1");
    assert_value(f, "SELECT string_agg(student_number || '=' || obtained, ',') FROM marks", "s1=10");
}

static void a_failure_late_in_a_big_document_leaves_nothing(void **state)
{
    struct fixture *f = *state;
    struct markr_error err;
    char student[16], mark[8];

    /* A trigger stands for anything that can fail on one row: a full disk, a lost connection. */
    assert_int_equal(markr_test_db_exec(f->conninfo,
                                        "CREATE FUNCTION refuse_9990() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                                        "BEGIN\n"
                                        "  IF NEW.student_number = 'S09990' THEN RAISE 'refused by the test'; END IF;\n"
                                        "  RETURN NEW;\n"
                                        "END $$;\n"
                                        "CREATE TRIGGER refuse_9990 BEFORE INSERT OR UPDATE ON marks\n"
                                        "  FOR EACH ROW EXECUTE FUNCTION refuse_9990();"),
                     0);
    scan(f, "t", "S00001", NULL, NULL, "10", "1");
    import_doc(f);

    for (int i = 1; i <= 10000; ++i) {
        snprintf(student, sizeof(student), "S%05d", i);
        snprintf(mark, sizeof(mark), "%d", i % 10);
        scan(f, "t", student, NULL, NULL, "10", i == 1 ? "9" : mark);
    }
    assert_int_equal(markr_marks_from_document(&f->doc, &f->marks, &err), 0);
    {
        struct markr_vault_entry entry = {.content_type = "text/xml+markr", .body = "x", .body_len = 1,
                                          .result_count = 10000};
        int64_t id = 0;

        assert_int_equal(f->store.save_accepted(f->store.ctx, &entry, &f->marks, &id, &err), -1);
        assert_non_null(strstr(err.message, "refused by the test"));
    }
    assert_value(f, "SELECT count(*) FROM imports", "1");
    assert_value(f, "SELECT string_agg(student_number || '=' || obtained, ',') FROM marks", "S00001=1");
}

/* --- the vault ---------------------------------------------------------------------------------- */

/* The body of an import as SQL: its chunks in order (ADR 0018), '' when it has none. */
#define BODY_OF(id)                                                                                   \
    "(SELECT COALESCE(string_agg(c.bytes, ''::bytea ORDER BY c.seq), ''::bytea) FROM import_chunks AS c " \
    "WHERE c.import_id = " id ")"

static void refused_documents_keep_a_structured_reason(void **state)
{
    struct fixture *f = *state;
    static const char body[] = "<mcq-test-results><mcq-test-result/></mcq-test-results>";
    struct markr_vault_entry entry = {.content_type = "text/xml+markr; charset=utf-8", .body = body,
                                      .body_len = sizeof(body) - 1, .result_count = 2};
    struct markr_error reason, err;
    int64_t id = 0, id2 = 0;

    markr_error_set(&reason, MARKR_ERR_INVALID, "missing_field", "result 3 (line 17): student-number is missing");
    markr_error_locate(&reason, 3, 17, "student-number");
    assert_int_equal(f->store.save_rejected(f->store.ctx, &entry, &reason, &id, &err), 0);
    assert_true(id > 0);
    assert_value(f, "SELECT status || ' ' || result_count || ' ' || content_type FROM imports",
                 "rejected 2 text/xml+markr; charset=utf-8");
    assert_value(f, "SELECT reason = '{\"error\": \"missing_field\", \"message\": \"result 3 (line 17): "
                    "student-number is missing\", \"result_index\": 3, \"line\": 17, \"field\": "
                    "\"student-number\"}'::jsonb FROM imports",
                 "t");

    /* Not about one result: the position keys are left out, not zero. */
    markr_error_set(&reason, MARKR_ERR_MALFORMED, "malformed_xml", "the document is not well-formed");
    markr_error_locate(&reason, 0, 4, NULL);
    entry.result_count = 0;
    assert_int_equal(f->store.save_rejected(f->store.ctx, &entry, &reason, &id2, &err), 0);
    assert_true(id2 > id);
    {
        char sql[160];

        snprintf(sql, sizeof(sql), "SELECT reason::text FROM imports WHERE id = %" PRId64, id2);
        assert_value(f, sql, "{\"line\": 4, \"error\": \"malformed_xml\", \"message\": \"the document is not "
                             "well-formed\"}");
    }
    assert_value(f, "SELECT count(*) FROM marks", "0");
}

static void text_that_is_not_utf8_is_still_stored(void **state)
{
    struct fixture *f = *state;
    static const char body[] = "<\xff>";
    struct markr_vault_entry entry = {.content_type = "text/xml+markr; charset=\xe9t\xe9", .body = body,
                                      .body_len = 3};
    struct markr_error reason, err;
    int64_t id = 0;

    /* A message cut in the middle of a two-byte character, as a byte-bounded buffer can. */
    markr_error_set(&reason, MARKR_ERR_MALFORMED, "malformed_xml", "bad byte near \"caf\xc3");
    assert_int_equal(f->store.save_rejected(f->store.ctx, &entry, &reason, &id, &err), 0);
    assert_value(f, "SELECT reason->>'message' FROM imports", "bad byte near \"caf\xef\xbf\xbd");
    assert_value(f, "SELECT content_type FROM imports", "text/xml+markr; charset=\xef\xbf\xbdt\xef\xbf\xbd");
}

static void the_vault_keeps_the_bytes_exactly(void **state)
{
    struct fixture *f = *state;
    static const char body[] = "abc\0\xff\xfe\r\n<\xc3\x28>\0";
    struct markr_vault_entry entry = {.content_type = "text/xml+markr", .body = body, .body_len = sizeof(body) - 1};
    struct markr_error reason, err;
    int64_t id = 0;

    markr_error_set(&reason, MARKR_ERR_MALFORMED, "malformed_xml", "not UTF-8");
    assert_int_equal(f->store.save_rejected(f->store.ctx, &entry, &reason, &id, &err), 0);
    assert_value(f, "SELECT encode(" BODY_OF("i.id") ", 'hex') || ' ' || size_bytes FROM imports AS i",
                 "61626300fffe0d0a3cc3283e00 13");
    assert_value(f, "SELECT sha256 = sha256(" BODY_OF("i.id") ") FROM imports AS i", "t");

    /* The standard test vector, through the accepted path. */
    scan(f, "t", "s1", NULL, NULL, "1", "1");
    assert_int_equal(markr_marks_from_document(&f->doc, &f->marks, &err), 0);
    entry.body = "abc";
    entry.body_len = 3;
    assert_int_equal(f->store.save_accepted(f->store.ctx, &entry, &f->marks, &id, &err), 0);
    assert_value(f, "SELECT encode(sha256, 'hex') FROM imports WHERE status = 'accepted'",
                 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_value(f, "SELECT reason IS NULL FROM imports WHERE status = 'accepted'", "t");
}

/* --- aggregates --------------------------------------------------------------------------------- */

static void aggregate_figures_for_known_marks(void **state)
{
    struct fixture *f = *state;
    /* 50, 60, 75 and 100 percent: mean 71.25; squared deviations 451.5625 + 126.5625 +
     * 14.0625 + 826.5625 = 1418.75, over 4 is 354.6875; p25 at position 0.75 is 57.5, p50 at
     * 1.5 is 67.5, p75 at 2.25 is 81.25. */
    struct markr_aggregate want = {71.25, sqrt(354.6875), 50.0, 100.0, 57.5, 67.5, 81.25, 4};

    scan(f, "k", "a", NULL, NULL, "20", "10");
    scan(f, "k", "b", NULL, NULL, "20", "12");
    scan(f, "k", "c", NULL, NULL, "20", "15");
    scan(f, "k", "d", NULL, NULL, "20", "20");
    scan(f, "other", "a", NULL, NULL, "20", "0"); /* another test: not in the figures */
    import_doc(f);
    assert_aggregate(f, "k", &want);
}

static void aggregate_matches_the_domain_reference(void **state)
{
    struct fixture *f = *state;
    double percents[997];
    struct markr_aggregate want;
    char student[16], available[16], obtained[16];
    unsigned seed = 12345;

    /* Odd count, varied denominators: interpolation and rounding both exercised. */
    for (size_t i = 0; i < 997; ++i) {
        unsigned a, o;

        seed = seed * 1103515245u + 12345u;
        a = 1 + (seed >> 16) % 150;
        seed = seed * 1103515245u + 12345u;
        o = (seed >> 16) % (a + 1);
        snprintf(student, sizeof(student), "%zu", i);
        snprintf(available, sizeof(available), "%u", a);
        snprintf(obtained, sizeof(obtained), "%u", o);
        scan(f, "ref", student, NULL, NULL, available, obtained);
        percents[i] = markr_percent(o, a);
    }
    import_doc(f);
    markr_aggregate_compute(percents, 997, &want);
    assert_aggregate(f, "ref", &want);
}

static void unknown_test_is_not_found(void **state)
{
    struct fixture *f = *state;
    struct markr_aggregate got;
    struct markr_error err;

    scan(f, "1234", "s", NULL, NULL, "20", "13");
    import_doc(f);
    assert_int_equal(f->reader.aggregate(f->reader.ctx, "nope", 4, &got, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_NOT_FOUND);
    assert_string_equal(err.reason, "unknown_test");
    /* Bytes that cannot be a stored id are simply not found, not a database error. */
    assert_int_equal(f->reader.aggregate(f->reader.ctx, "\xff\xfe", 2, &got, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_NOT_FOUND);
    assert_int_equal(f->reader.aggregate(f->reader.ctx, "12\0" "34", 5, &got, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_NOT_FOUND);
    /* The id is pointer and length: what follows is not part of it. */
    assert_int_equal(f->reader.aggregate(f->reader.ctx, "1234/aggregate", 4, &got, &err), 0);
    assert_int_equal(got.count, 1);
}

/* 50 tests of the same 200 student numbers (as schools reuse them across exams), imported,
 * vacuumed and analysed, so that plans are those of a table with statistics. */
static void fifty_tests_of_the_same_students(struct fixture *f)
{
    for (int t = 0; t < 50; ++t) {
        char test[8], student[8];

        snprintf(test, sizeof(test), "t%d", t);
        for (int s = 0; s < 200; ++s) {
            snprintf(student, sizeof(student), "%d", s);
            scan(f, test, student, "First", "Last", "20", "10");
        }
    }
    import_doc(f);
    /* The import's announcement is a transaction of its own that writes no WAL, so it
     * commits without waiting for a flush; until the WAL writer has flushed it (within
     * wal_writer_delay), VACUUM was seen to leave the pages not all-visible. Vacuum until
     * they all are (bounded), as autovacuum would. */
    for (int tries = 0;; ++tries) {
        char *visible;
        int all;

        assert_int_equal(markr_test_db_exec(f->conninfo, "VACUUM ANALYZE marks"), 0);
        visible = value(f, "SELECT relallvisible >= relpages FROM pg_class WHERE relname = 'marks'");
        all = visible != NULL && strcmp(visible, "t") == 0;
        free(visible);
        if (all)
            break;
        if (tries == 200)
            fail_msg("VACUUM never marked the pages of marks all-visible");
        markr_test_db_exec(f->conninfo, "SELECT pg_sleep(0.05)");
    }
}

/* The plan of sql names every string of want (NULL-terminated). */
static void expect_plan(struct fixture *f, const char *sql, const char *const *want)
{
    char explain[512], *plan;

    snprintf(explain, sizeof(explain), "EXPLAIN (FORMAT JSON) %s", sql);
    plan = value(f, explain);
    assert_non_null(plan);
    for (; *want != NULL; ++want)
        if (strstr(plan, *want) == NULL)
            fail_msg("the plan of %s has no %s:\n%s", sql, *want, plan);
    free(plan);
}

static void the_aggregate_reads_the_covering_index(void **state)
{
    struct fixture *f = *state;

    fifty_tests_of_the_same_students(f);
    expect_plan(f,
                "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY 100.0::float8 * obtained / available) "
                "FROM marks WHERE test_id = 't7'",
                (const char *const[]){"Index Only Scan", NULL});
}

/* The statement a views read of the adapter last sent on the fixture's connection (the
 * only one named markr in the test's database), as the server saw it: pg_stat_activity
 * keeps the last statement of an idle backend, cut at track_activity_query_size (1 kB by
 * default; a statement cut there fails to prepare, and the test with it). NULL when there
 * is none. */
static char *last_statement_sent(struct fixture *f)
{
    return value(f, "SELECT query FROM pg_stat_activity WHERE datname = current_database() "
                    "AND application_name = 'markr' AND state = 'idle'");
}

/* The plan (EXPLAIN (FORMAT JSON), malloc'd) of the statement the adapter sent, prepared
 * again with its own text and the parameter types of `types` ("(text, bigint)"; "" to let
 * the server infer them from the text, which needs every parameter to appear in it) and
 * run with args (the parameters' values, an SQL list), after `set` (SQL run first, e.g.
 * "SET plan_cache_mode = force_generic_plan;"; "" for none: the first executions of a
 * prepared statement are planned for their values). */
static char *plan_of_sent(struct fixture *f, const char *set, const char *types, const char *args)
{
    char *sql = last_statement_sent(f), *explain, *plan;
    size_t size;

    assert_non_null(sql);
    size = strlen(set) + strlen(types) + strlen(sql) + strlen(args) + 96;
    explain = malloc(size);
    assert_non_null(explain);
    snprintf(explain, size, "%sPREPARE sent%s AS %s;\nEXPLAIN (FORMAT JSON) EXECUTE sent(%s)", set, types, sql, args);
    plan = value(f, explain);
    if (plan == NULL)
        fail_msg("could not explain what was sent:\n%s", sql);
    free(explain);
    free(sql);
    return plan;
}

/* The plan of the statement the adapter sent, planned for args, has every node or index of
 * want and none of shun (NULL: no such list). */
static void expect_plan_of_sent(struct fixture *f, const char *args, const char *const *want,
                                const char *const *shun)
{
    char *plan = plan_of_sent(f, "", "", args);

    for (; *want != NULL; ++want)
        if (strstr(plan, *want) == NULL)
            fail_msg("the plan for (%s) has no %s:\n%s", args, *want, plan);
    for (; shun != NULL && *shun != NULL; ++shun)
        if (strstr(plan, *shun) != NULL)
            fail_msg("the plan for (%s) has %s:\n%s", args, *shun, plan);
    free(plan);
}

static void ignore_row(void *arg, const struct markr_result_row *row)
{
    (void)arg;
    (void)row;
}

static void ignore_student(void *arg, const struct markr_student_summary *s)
{
    (void)arg;
    (void)s;
}

/* marks has one index by student number (migration 0010), in "C" order with the test and
 * the marks included: the statements pg_views.c sends for a student's marks (compared in
 * "C"), with and without a cursor, read it alone, their count as an index-only scan; the
 * page of the list of students is an index-only scan of it; and a (test, student) pair, as
 * a student's sheet is read, is found by the primary key, whatever the number of tests
 * a student number appears in. The plans are those of the statements the views reader
 * sent, so that a change of them in pg_views.c fails here. */
static void reads_by_student_use_the_one_student_index_and_pairs_the_key(void **state)
{
    static const char *const by_student[] = {"Index Only Scan", "marks_student_number_c_idx", NULL};
    static const char *const elsewhere[] = {"Seq Scan", "marks_pkey", NULL};
    struct fixture *f = *state;
    struct markr_views_reader views = markr_pg_views_reader(f->pg);
    struct markr_error err;
    uint64_t total = 0;
    double mean = 0;
    char *indexes;

    fifty_tests_of_the_same_students(f);
    indexes = value(f, "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes "
                       "WHERE tablename = 'marks'");
    assert_non_null(indexes);
    assert_string_equal(indexes, "marks_pkey,marks_student_number_c_idx");
    free(indexes);

    assert_int_equal(views.student_results(views.ctx, "7", 1, NULL, 0, 20, ignore_row, NULL, &mean, &err), 0);
    expect_plan_of_sent(f, "'7', 20", by_student, elsewhere);
    assert_int_equal(views.student_results(views.ctx, "7", 1, "t3", 2, 20, ignore_row, NULL, &mean, &err), 0);
    expect_plan_of_sent(f, "'7', 20, 't3'", by_student, elsewhere);
    assert_int_equal(views.list_students(views.ctx, 10, 0, ignore_student, NULL, &total, &err), 0);
    assert_int_equal(total, 200);
    /* The page groups the index in its order; the count of all the students may be planned
     * otherwise (at this size, a hash of the table). */
    expect_plan_of_sent(f, "10, 0", by_student, NULL);
    expect_plan(f, "SELECT obtained, xmin FROM marks WHERE test_id = 't7' AND student_number = '7' LIMIT 1",
                (const char *const[]){"marks_pkey", NULL});
}

/* GET /imports?sha256= (after an outcome_unknown) probes the index of migration 0013, not
 * every import: among 5,000 vault rows, the statement pg_vault.c sends is planned on it. */
static void a_lookup_by_sha256_uses_its_index(void **state)
{
    static const char *const probe[] = {"imports_sha256_idx", NULL};
    static const char *const scan[] = {"Seq Scan", NULL};
    struct fixture *f = *state;
    struct markr_vault_reader vault = markr_pg_vault_reader(f->pg);
    struct markr_import_filter filter = {.sha256 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
                                         .limit = 50};
    struct markr_import_page page;
    struct markr_error err;

    assert_int_equal(markr_test_db_exec(f->conninfo,
                                        "INSERT INTO imports (content_type, size_bytes, sha256, status, result_count) "
                                        "SELECT 'text/xml+markr', 10, sha256(g::text::bytea), 'accepted', 1 "
                                        "FROM generate_series(1, 5000) AS g"),
                     0);
    assert_int_equal(markr_test_db_exec(f->conninfo, "ANALYZE imports"), 0);
    assert_int_equal(vault.list(vault.ctx, &filter, &page, &err), 0);
    assert_int_equal(page.count, 0);
    markr_import_page_free(&page);
    expect_plan_of_sent(f,
                        "NULL, NULL, 9223372036854775807, 51, "
                        "'00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff'",
                        probe, scan);
}

/* --- the vault's list ----------------------------------------------------------------------------- */

#define LISTED_IMPORTS 150

/* Every page of filter, limit at a time from the newest: the ids listed, comma-separated
 * (malloc'd). Each page has at most limit imports; every page but the last is full and its
 * cursor is its last id; each import listed has the status and SHA-256 asked for. */
static char *every_page(struct fixture *f, struct markr_import_filter filter)
{
    struct markr_vault_reader vault = markr_pg_vault_reader(f->pg);
    size_t cap = 8 * LISTED_IMPORTS + 1, len = 0;
    char *ids = calloc(cap, 1);

    assert_non_null(ids);
    filter.before_id = 0;
    for (unsigned pages = 0;; ++pages) {
        struct markr_import_page page;
        struct markr_error err;
        int64_t next;

        assert_true(pages <= LISTED_IMPORTS); /* the cursor moves on */
        if (vault.list(vault.ctx, &filter, &page, &err) != 0)
            fail_msg("listing: %s", err.message);
        assert_true(page.count <= filter.limit);
        for (size_t i = 0; i < page.count; ++i) {
            assert_true(page.items[i].id > 0);
            len += (size_t)snprintf(ids + len, cap - len, "%s%lld", len != 0 ? "," : "", (long long)page.items[i].id);
            assert_true(len < cap);
            if (filter.status != NULL)
                assert_string_equal(page.items[i].status, filter.status);
            if (filter.sha256 != NULL)
                assert_string_equal(page.items[i].sha256, filter.sha256);
        }
        next = page.next_before_id;
        if (next != 0) {
            assert_int_equal(page.count, filter.limit);
            assert_int_equal(next, page.items[page.count - 1].id);
        }
        markr_import_page_free(&page);
        if (next == 0)
            return ids;
        filter.before_id = next;
    }
}

/* The imports a filter selects, newest first, from the vault with the filters written out
 * and no page: what every_page must find. */
static char *expected_list(struct fixture *f, const struct markr_import_filter *filter)
{
    const char *params[] = {filter->status, filter->test_id, filter->sha256};
    char *ids = markr_test_db_value_params(
        f->conninfo,
        "SELECT coalesce(string_agg(i.id::text, ',' ORDER BY i.id DESC), '') FROM imports AS i\n"
        "WHERE ($1::text IS NULL OR i.status = $1)\n"
        "  AND ($2::text IS NULL OR EXISTS (SELECT FROM import_names AS n\n"
        "                                   WHERE n.test_id = $2 AND n.import_id = i.id))\n"
        "  AND ($3::text IS NULL OR encode(i.sha256, 'hex') = $3)",
        3, params);

    assert_non_null(ids);
    return ids;
}

/* GET /imports picks its statement by the filters (pg_vault.c): whichever statement serves
 * a combination, and whatever the page size, the pages together are exactly the imports of
 * the combination, newest first. 150 imports of four statuses, each body stored 3 or 4
 * times; test "a" in most accepted imports, "b" in every 7th import whatever its status
 * (the reader does not count on names rows of accepted imports only), "c" in 3, "d" in 1. */
static void every_filter_pages_through_exactly_its_imports(void **state)
{
    static const char *const statuses[] = {NULL, "accepted", "rejected", "queued", "processing"};
    static const char *const tests[] = {NULL, "a", "b", "c", "d", "no such test", "\xff"};
    static const unsigned limits[] = {1, 2, 3, 7, MARKR_IMPORT_PAGE_MAX};
    struct fixture *f = *state;
    char *shas[4] = {NULL, value(f, "SELECT encode(sha256('3'), 'hex')"), value(f, "SELECT encode(sha256('5'), 'hex')"),
                     value(f, "SELECT encode(sha256('absent'), 'hex')")};
    unsigned paged = 0, empty = 0;

    assert_int_equal(
        markr_test_db_exec(
            f->conninfo,
            "INSERT INTO imports (content_type, size_bytes, sha256, status, reason, result_count)\n"
            "SELECT 'text/xml+markr', g, sha256((g % 40)::text::bytea), s.status,\n"
            "       CASE s.status WHEN 'rejected'\n"
            "           THEN '{\"error\": \"invalid_document\", \"message\": \"m\"}'::jsonb END, 1\n"
            "FROM generate_series(1, 150) AS g,\n"
            "     LATERAL (SELECT CASE WHEN g % 5 = 0 THEN 'rejected' WHEN g % 17 = 0 THEN 'queued'\n"
            "                          WHEN g % 29 = 0 THEN 'processing' ELSE 'accepted' END AS status) AS s\n"
            "ORDER BY g;\n"
            "INSERT INTO import_names (test_id, import_id, student_numbers, first_names, last_names)\n"
            "SELECT t.test_id, i.id, '{s}', '{f}', '{l}' FROM imports AS i,\n"
            "     LATERAL (VALUES ('a', i.status = 'accepted' AND i.id % 3 <> 0), ('b', i.id % 7 = 3),\n"
            "                     ('c', i.id IN (3, 77, 140)), ('d', i.id = 100)) AS t(test_id, carried)\n"
            "WHERE t.carried;\n"
            "ANALYZE imports, import_names"),
        0);
    for (size_t i = 1; i < 4; ++i)
        assert_non_null(shas[i]);
    /* The data is what the cases say (ids 1..150 in the order of g). */
    assert_value(f, "SELECT string_agg(import_id::text, ',' ORDER BY import_id DESC) FROM import_names "
                    "WHERE test_id = 'c'", "140,77,3");
    assert_value(f, "SELECT count(*) FROM imports i JOIN import_names n ON n.import_id = i.id "
                    "WHERE n.test_id = 'b' AND i.status = 'rejected'", "5");

    for (size_t s = 0; s < sizeof(statuses) / sizeof(*statuses); ++s)
        for (size_t t = 0; t < sizeof(tests) / sizeof(*tests); ++t)
            for (size_t h = 0; h < 4; ++h) {
                struct markr_import_filter filter = {.status = statuses[s], .test_id = tests[t], .sha256 = shas[h]};
                char *expected = tests[t] != NULL && tests[t][0] == '\xff' ? strdup("") : expected_list(f, &filter);

                assert_non_null(expected);
                for (size_t l = 0; l < sizeof(limits) / sizeof(*limits); ++l) {
                    char *got;

                    filter.limit = limits[l];
                    got = every_page(f, filter);
                    if (strcmp(got, expected) != 0)
                        fail_msg("status %s, test %s, sha256 %s, limit %u: listed\n  %s\nexpected\n  %s",
                                 statuses[s] ? statuses[s] : "-", tests[t] ? tests[t] : "-", shas[h] ? shas[h] : "-",
                                 limits[l], got, expected);
                    free(got);
                }
                {
                    size_t listed = expected[0] != '\0';

                    for (const char *c = expected; *c != '\0'; ++c)
                        listed += *c == ',';
                    paged += listed > 7; /* more than one page of 7 */
                    empty += listed == 0;
                }
                free(expected);
            }
    /* Not a vacuous comparison: of the 140 combinations, 29 list imports (7 of them more
     * than a page of 7), the others none. */
    assert_int_equal(paged, 7);
    assert_int_equal(empty, 111);
    for (size_t i = 1; i < 4; ++i)
        free(shas[i]);
}

/* The statements of GET /imports read the index their filter names, in both kinds of plan
 * (for the values, and the generic plan of a prepared statement), among 5,000 imports: a
 * test's page comes from the backward scan of the names' key, each row then from
 * imports_pkey, in the key's order (no Sort), never from a walk of imports_pkey probing the
 * names, so a test of 3 imports reads 3 rows whatever the history; the page without
 * filters is the backward scan of imports_pkey from the cursor (an index condition in both
 * kinds of plan); a rare status, planned for its value, is read from an index on status. */
static void a_page_of_imports_is_read_from_the_index_of_its_filter(void **state)
{
    static const char *const modes[] = {"", "SET plan_cache_mode = force_generic_plan;\n"};
    static const char *const sorted[] = {"\"Sort\"", "Seq Scan", NULL};
    static const char types[] = "(text, text, bigint, bigint, text)"; /* as vault_list sends them */
    struct fixture *f = *state;
    struct markr_vault_reader vault = markr_pg_vault_reader(f->pg);
    struct markr_import_page page;
    struct markr_error err;

    assert_int_equal(
        markr_test_db_exec(f->conninfo,
                           "INSERT INTO imports (content_type, size_bytes, sha256, status, result_count)\n"
                           "SELECT 'text/xml+markr', 10, sha256(g::text::bytea),\n"
                           "       CASE WHEN g % 1000 = 0 THEN 'queued' ELSE 'accepted' END, 1\n"
                           "FROM generate_series(1, 5000) AS g ORDER BY g;\n"
                           "INSERT INTO import_names (test_id, import_id, student_numbers, first_names, last_names)\n"
                           "SELECT CASE WHEN id IN (10, 2500, 4990) THEN 'few' ELSE 't' || id % 500 END,\n"
                           "       id, '{s}', '{f}', '{l}' FROM imports;\n"
                           "INSERT INTO import_names (test_id, import_id, student_numbers, first_names, last_names)\n"
                           "SELECT 'many', id, '{s}', '{f}', '{l}' FROM imports WHERE id % 2 = 0;\n"
                           "ANALYZE imports, import_names"),
        0);
    for (size_t m = 0; m < sizeof(modes) / sizeof(*modes); ++m) {
        static const struct {
            const char *test_id;
            int64_t before_id;
            size_t count;
            const char *args;
        } pages[] = {
            {"few", 0, 3, "NULL, 'few', 9223372036854775807, 51, NULL"},
            {"few", 2500, 1, "NULL, 'few', 2500, 51, NULL"},
            {"many", 0, 50, "NULL, 'many', 9223372036854775807, 51, NULL"},
            {"many", 3001, 50, "'accepted', 'many', 3001, 51, NULL"},
        };

        for (size_t p = 0; p < sizeof(pages) / sizeof(*pages); ++p) {
            struct markr_import_filter filter = {.test_id = pages[p].test_id, .before_id = pages[p].before_id,
                                                 .status = strncmp(pages[p].args, "'accepted'", 10) == 0 ? "accepted"
                                                                                                        : NULL,
                                                 .limit = 50};
            char *plan, *names;

            assert_int_equal(vault.list(vault.ctx, &filter, &page, &err), 0);
            assert_int_equal(page.count, pages[p].count);
            markr_import_page_free(&page);
            plan = plan_of_sent(f, modes[m], types, pages[p].args);
            /* The first index read (the outer side) is the names' key, backward; each row
             * then comes from an index scan of imports (imports_pkey, or the status index
             * whose key ends with the id: one descent either way). */
            names = strstr(plan, "\"Index Name\": \"import_names_pkey\"");
            if (names == NULL || names != strstr(plan, "\"Index Name\"") ||
                strstr(plan, "\"Scan Direction\": \"Backward\"") > names ||
                strstr(names, "\"Relation Name\": \"imports\"") == NULL)
                fail_msg("%sthe plan for (%s) is not driven by the names' key:\n%s", modes[m], pages[p].args, plan);
            for (const char *const *s = sorted; *s != NULL; ++s)
                if (strstr(plan, *s) != NULL)
                    fail_msg("%sthe plan for (%s) has %s:\n%s", modes[m], pages[p].args, *s, plan);
            free(plan);
        }

        {
            struct markr_import_filter filter = {.before_id = 2500, .limit = 50};
            char *plan;

            assert_int_equal(vault.list(vault.ctx, &filter, &page, &err), 0);
            assert_int_equal(page.count, 50);
            assert_int_equal(page.items[0].id, 2499);
            markr_import_page_free(&page);
            plan = plan_of_sent(f, modes[m], types, "NULL, NULL, 2500, 51, NULL");
            if (strstr(plan, "\"imports_pkey\"") == NULL || strstr(plan, "\"Index Cond\": \"(id < ") == NULL)
                fail_msg("%sthe page below a cursor does not start at the cursor:\n%s", modes[m], plan);
            for (const char *const *s = sorted; *s != NULL; ++s)
                if (strstr(plan, *s) != NULL)
                    fail_msg("%sthe page below a cursor has %s:\n%s", modes[m], *s, plan);
            free(plan);
        }
    }
    {
        struct markr_import_filter filter = {.status = "queued", .limit = 50};
        char *plan;

        assert_int_equal(vault.list(vault.ctx, &filter, &page, &err), 0);
        assert_int_equal(page.count, 5);
        markr_import_page_free(&page);
        plan = plan_of_sent(f, "", types, "'queued', NULL, 9223372036854775807, 51, NULL");
        if ((strstr(plan, "\"imports_status_id_idx\"") == NULL && strstr(plan, "\"imports_queue_idx\"") == NULL) ||
            strstr(plan, "\"imports_pkey\"") != NULL || strstr(plan, "Seq Scan") != NULL)
            fail_msg("a rare status is not read from an index on status:\n%s", plan);
        free(plan);
    }
}

/* --- readiness and connections ------------------------------------------------------------------ */

static void readiness_wants_the_expected_version(void **state)
{
    struct fixture *f = *state;
    struct markr_error err;
    int latest = markr_migrations_latest(getenv("MARKR_MIGRATIONS_DIR"), &err);
    struct markr_readiness ready, ahead = markr_pg_readiness(f->pg, latest + 1);
    char *fresh = markr_test_db_create("pg_ready");
    struct markr_pg *pg = markr_pg_connect(fresh, &err);
    struct markr_readiness unmigrated = markr_pg_readiness(pg, 1);

    assert_int_equal(ahead.check(ahead.ctx, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_UNAVAILABLE);
    assert_non_null(strstr(err.message, "run `markr migrate`"));
    ready = markr_pg_readiness(f->pg, latest);
    assert_int_equal(ready.check(ready.ctx, &err), 0);

    assert_int_equal(unmigrated.check(unmigrated.ctx, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_UNAVAILABLE);
    assert_string_equal(err.reason, "schema_not_current");
    markr_pg_close(pg);
    markr_test_db_drop(fresh);
    free(fresh);
}

static void connection_failures_are_unavailable_and_hide_the_password(void **state)
{
    static const char *const bad[] = {
        "host=/nonexistent port=1 user=u password=S3cretPw connect_timeout=2",
        "postgresql://u:S3cretPw@[::1",           /* unparsable URI: libpq would echo it */
        "host=/nonexistent password=S3cretPw junk", /* unparsable conninfo */
    };
    struct markr_error err;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        assert_null(markr_pg_connect(bad[i], &err));
        assert_int_equal(err.code, MARKR_ERR_UNAVAILABLE);
        assert_string_equal(err.reason, "database_unavailable");
        if (strstr(err.message, "S3cretPw") != NULL)
            fail_msg("the password leaks: %s", err.message);
        assert_null(strchr(err.message, '\n'));
    }
}

static void the_connection_identifies_itself_as_markr(void **state)
{
    struct fixture *f = *state;

    assert_value(f, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND application_name = 'markr'",
                 "1");
}

static void a_broken_connection_is_reset(void **state)
{
    struct fixture *f = *state;
    /* Waits (up to 5 s) until the server process is gone, as after a restart. */
    static const char kill[] = "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                               "WHERE datname = current_database() AND application_name = 'markr'";
    struct markr_aggregate got;
    struct markr_error err;

    scan(f, "t", "s", NULL, NULL, "20", "13");
    import_doc(f);

    /* A read runs again on a fresh connection: the caller never sees the restart. */
    assert_int_equal(markr_test_db_exec(f->conninfo, kill), 0);
    if (f->reader.aggregate(f->reader.ctx, "t", 1, &got, &err) != 0)
        fail_msg("aggregate after a restart: %s", err.message);

    /* So does a write: the closed connection is seen before anything of it is sent (a write
     * lost during its commit is test_pg_conn.c's). */
    assert_int_equal(markr_test_db_exec(f->conninfo, kill), 0);
    scan(f, "t", "s", NULL, NULL, "20", "14");
    assert_int_equal(markr_marks_from_document(&f->doc, &f->marks, &err), 0);
    {
        struct markr_vault_entry entry = {.content_type = "text/xml+markr", .body = "x", .body_len = 1};
        int64_t id;

        assert_int_equal(f->store.save_accepted(f->store.ctx, &entry, &f->marks, &id, &err), 0);
        assert_int_equal(err.code, MARKR_OK);
    }
    assert_value(f, "SELECT obtained FROM marks", "14");
    assert_value(f, "SELECT count(*) FROM imports", "2");
}

/* --- concurrent writers ------------------------------------------------------------------------- */

struct writer {
    const char *conninfo;
    unsigned seed;
    int max[200]; /* highest obtained this writer sent, per student */
    int failures;
    char message[MARKR_ERROR_MESSAGE_MAX];
};

/* 20 documents of 200 overlapping students each, with random marks. */
static void *write_documents(void *arg)
{
    struct writer *w = arg;
    struct markr_error err;
    struct markr_pg *pg = markr_pg_connect(w->conninfo, &err);
    struct markr_import_store store;

    if (pg == NULL) {
        w->failures = 1;
        return NULL;
    }
    store = markr_pg_import_store(pg);
    for (int d = 0; d < 20; ++d) {
        struct markr_mark marks[200];
        char students[200][8];
        struct markr_marks set = {.marks = marks, .count = 200};
        struct markr_vault_entry entry = {.content_type = "text/xml+markr", .body = "x", .body_len = 1,
                                          .result_count = 200};
        int64_t id;

        for (int s = 0; s < 200; ++s) {
            w->seed = w->seed * 1103515245u + 12345u;
            snprintf(students[s], sizeof(students[s]), "%03d", s); /* sorted, as the domain sorts */
            marks[s] = (struct markr_mark){.test_id = "race", .student_number = students[s], .available = 100,
                                           .obtained = (w->seed >> 16) % 101};
        }
        if (store.save_accepted(store.ctx, &entry, &set, &id, &err) != 0) {
            ++w->failures;
            snprintf(w->message, sizeof(w->message), "%s", err.message);
            continue;
        }
        for (int s = 0; s < 200; ++s)
            if ((int)marks[s].obtained > w->max[s])
                w->max[s] = (int)marks[s].obtained;
    }
    markr_pg_close(pg);
    return NULL;
}

static void concurrent_overlapping_imports_keep_the_maximum(void **state)
{
    struct fixture *f = *state;
    struct writer writers[4];
    pthread_t threads[4];
    char sql[128];

    for (int i = 0; i < 4; ++i) {
        memset(&writers[i], 0, sizeof(writers[i]));
        writers[i].conninfo = f->conninfo;
        writers[i].seed = 7u + (unsigned)i;
        assert_int_equal(pthread_create(&threads[i], NULL, write_documents, &writers[i]), 0);
    }
    for (int i = 0; i < 4; ++i) {
        pthread_join(threads[i], NULL);
        if (writers[i].failures != 0)
            fail_msg("writer %d failed %d times: %s", i, writers[i].failures, writers[i].message);
    }
    for (int s = 0; s < 200; ++s) {
        int max = 0;
        char expected[16];

        for (int i = 0; i < 4; ++i)
            max = writers[i].max[s] > max ? writers[i].max[s] : max;
        snprintf(sql, sizeof(sql), "SELECT obtained FROM marks WHERE student_number = '%03d'", s);
        snprintf(expected, sizeof(expected), "%d", max);
        assert_value(f, sql, expected);
    }
    assert_value(f, "SELECT count(*) FROM imports", "80");
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(brief_example),
        TEST(highest_obtained_and_available_are_kept_independently),
        TEST(a_lower_rescan_changes_nothing),
        TEST(names_are_coalesced_and_do_not_move_import_id),
        TEST(duplicates_within_a_document_are_merged_first),
        TEST(ids_are_opaque_strings),
        TEST(a_failing_mark_leaves_nothing),
        TEST(a_failure_late_in_a_big_document_leaves_nothing),
        TEST(refused_documents_keep_a_structured_reason),
        TEST(text_that_is_not_utf8_is_still_stored),
        TEST(the_vault_keeps_the_bytes_exactly),
        TEST(aggregate_figures_for_known_marks),
        TEST(aggregate_matches_the_domain_reference),
        TEST(unknown_test_is_not_found),
        TEST(the_aggregate_reads_the_covering_index),
        TEST(reads_by_student_use_the_one_student_index_and_pairs_the_key),
        TEST(a_lookup_by_sha256_uses_its_index),
        TEST(every_filter_pages_through_exactly_its_imports),
        TEST(a_page_of_imports_is_read_from_the_index_of_its_filter),
        TEST(readiness_wants_the_expected_version),
        TEST(connection_failures_are_unavailable_and_hide_the_password),
        TEST(the_connection_identifies_itself_as_markr),
        TEST(a_broken_connection_is_reset),
        TEST(concurrent_overlapping_imports_keep_the_maximum),
    };

    return cmocka_run_group_tests_name("pg_store", tests, NULL, NULL);
}
