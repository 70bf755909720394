/*
 * Reprocessing against a real PostgreSQL and the real XML parser: a document the
 * live rules refused becomes accepted when a (test-only) relaxed rule accepts it, a dry run
 * reports the flip and writes nothing, one accepted document the rules now refuse is left
 * alone until a full rebuild, and a rebuild that fails half-way leaves every mark as it was;
 * rebuilding one older import keeps a later import's kept sheet of an equal obtained, and
 * names follow the order of receipt, whatever the order of processing; the conflicts of a test come a page at a time, an import's names are one row per test, and an
 * import's list of tests is bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "application/import_document.h"
#include "application/queue.h"
#include "application/reprocess.h"
#include "interfaces/pg/pg_migrate.h"
#include "interfaces/pg/pg_store.h"
#include "interfaces/pg/pg_vault.h"
#include "interfaces/xml/xml_parser.h"
#include "test_db.h"

/* A firmware variant writes <student-id> for <student-number>. */
static const char variant[] = "<mcq-test-results>\n"
                              "  <mcq-test-result><student-id>7</student-id><test-id>relaxed</test-id>\n"
                              "    <first-name>Ada</first-name><summary-marks available=\"10\" obtained=\"9\"/>\n"
                              "  </mcq-test-result>\n"
                              "</mcq-test-results>\n";
static const char plain[] = "<mcq-test-results>\n"
                            "  <mcq-test-result><student-number>8</student-number><test-id>relaxed</test-id>\n"
                            "    <summary-marks available=\"10\" obtained=\"4\"/>\n"
                            "  </mcq-test-result>\n"
                            "</mcq-test-results>\n";

struct fixture {
    char *conninfo;
    struct markr_pg *pg;
    struct markr_import_deps import;
    struct markr_reprocess_deps strict, relaxed, failing;
    struct markr_format xml, relaxed_format, failing_format; /* the formats they judge with */
    struct markr_pg_rebuild rebuild_state;                      /* shared: one rebuild at a time */
};

/* The relaxed rule (test only): <student-id> is read as <student-number>. */
static int relaxed_parse(void *ctx, const char *body, size_t len, struct markr_document *doc, struct markr_error *err)
{
    struct markr_document_parser real = markr_xml_parser();
    char *copy = malloc(len * 2 + 1), *w = copy;
    int rc;

    for (size_t i = 0; i < len;) {
        if (len - i >= 10 && memcmp(body + i, "student-id", 10) == 0) {
            memcpy(w, "student-number", 14);
            w += 14;
            i += 10;
        } else {
            *w++ = body[i++];
        }
    }
    rc = real.parse(real.ctx, copy, (size_t)(w - copy), doc, err);
    free(copy);
    return rc;
}

/* Fails (not a verdict) on the second document it sees. */
static int failing_parse(void *ctx, const char *body, size_t len, struct markr_document *doc, struct markr_error *err)
{
    int *calls = ctx;
    struct markr_document_parser real = markr_xml_parser();

    if (++*calls == 2)
        return markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory (simulated)");
    return real.parse(real.ctx, body, len, doc, err);
}

static int failing_calls;

/* On the first document it sees, ends the session of the transaction that reads it (the
 * only one idle in a transaction on its database) before parsing it, as a restart of the
 * server or a network cut would. */
static const char *killing_conninfo;
static int killing_calls;

static int killing_parse(void *ctx, const char *body, size_t len, struct markr_document *doc, struct markr_error *err)
{
    struct markr_document_parser real = markr_xml_parser();

    if (++killing_calls == 1)
        assert_int_equal(markr_test_db_exec(killing_conninfo,
                                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity\n"
                                            "WHERE datname = current_database() AND state = 'idle in transaction'"),
                         0);
    return real.parse(real.ctx, body, len, doc, err);
}

/* The fixture on a new database of conninfo (owned by the fixture from here on). */
static int setup_on(void **state, char *conninfo)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct markr_error err;

    f->conninfo = conninfo;
    if ((f->pg = markr_pg_connect(f->conninfo, &err)) == NULL ||
        markr_pg_migrate(f->pg, getenv("MARKR_MIGRATIONS_DIR"), NULL, &err) != 0) {
        fprintf(stderr, "set-up: %s\n", err.message);
        markr_pg_close(f->pg); /* no teardown follows a failed set-up */
        markr_test_db_drop(f->conninfo);
        free(f->conninfo);
        free(f);
        return -1;
    }
    markr_xml_global_init();
    f->xml = markr_xml_format();
    f->relaxed_format = (struct markr_format){.media_type = MARKR_XML_MEDIA_TYPE,
                                              .parser = {.ctx = NULL, .parse = relaxed_parse}};
    f->failing_format = (struct markr_format){.media_type = MARKR_XML_MEDIA_TYPE,
                                              .parser = {.ctx = &failing_calls, .parse = failing_parse}};
    f->import.formats = (struct markr_formats){.items = &f->xml, .count = 1};
    f->import.store = markr_pg_import_store(f->pg);
    f->strict.formats = f->import.formats;
    f->strict.rebuild = markr_pg_vault_rebuild(&f->rebuild_state, f->pg);
    f->relaxed = f->strict;
    f->relaxed.formats = (struct markr_formats){.items = &f->relaxed_format, .count = 1};
    f->failing = f->strict;
    failing_calls = 0;
    f->failing.formats = (struct markr_formats){.items = &f->failing_format, .count = 1};
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_on(state, markr_test_db_create("pg_vault"));
}

/* The test clusters sort in C; this database sorts with ICU's en-US, where case and
 * punctuation weigh less than in byte order (a10 < A2 < B01 < b1). Without ICU in the
 * server the test cannot say anything, and fails. */
static int setup_icu(void **state)
{
    const char *url = getenv("MARKR_TEST_DATABASE_URL"); /* unset: markr_test_db_create_with says so */
    char *icu = url != NULL ? markr_test_db_value(url, "SELECT count(*) FROM pg_collation WHERE collprovider = 'i'")
                            : strdup("unset");

    if (icu == NULL || strcmp(icu, "0") == 0) {
        fprintf(stderr, "pg_vault: the server of MARKR_TEST_DATABASE_URL has no ICU collations (built without "
                        "ICU?): the conflicts cannot be checked under a linguistic collation\n");
        free(icu);
        return -1;
    }
    free(icu);
    return setup_on(state, markr_test_db_create_with("pg_vault_icu", "TEMPLATE template0 ENCODING 'UTF8' "
                                                                     "LOCALE_PROVIDER icu ICU_LOCALE 'en-US' "
                                                                     "LOCALE 'C.UTF-8'"));
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    markr_pg_close(f->pg);
    markr_test_db_drop(f->conninfo);
    free(f->conninfo);
    free(f);
    return 0;
}

static int64_t import(struct fixture *f, const char *doc, int accepted)
{
    struct markr_import_outcome o;
    int rc = markr_import_document(&f->import, "text/xml+markr", NULL, doc, strlen(doc), &o);
    int64_t id = o.import_id;

    assert_int_equal(rc == 0, accepted);
    assert_true(id > 0);
    markr_import_outcome_free(&o);
    return id;
}

static char *value(struct fixture *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static char *value(struct fixture *f, const char *fmt, ...)
{
    char sql[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    return markr_test_db_value(f->conninfo, sql);
}

static void assert_value(struct fixture *f, const char *expected, const char *sql)
{
    char *v = markr_test_db_value(f->conninfo, sql);

    if (v == NULL || strcmp(v, expected) != 0)
        fail_msg("%s\n  gave %s, expected %s", sql, v ? v : "NULL", expected);
    free(v);
}

static void refused_document_passes_a_relaxed_rule_on_reprocess(void **state)
{
    struct fixture *f = *state;
    struct markr_reprocess_report report;
    struct markr_error err;
    int64_t refused = import(f, variant, 0), other = import(f, plain, 1);

    assert_value(f, "missing_field", "SELECT reason->>'error' FROM imports WHERE status = 'rejected'");

    /* Today's rules: still refused, nothing flips. */
    assert_int_equal(markr_reprocess_one(&f->strict, refused, 0, &report, &err), 0);
    assert_string_equal(report.status, "rejected");
    assert_int_equal(report.flip_count, 0);
    assert_string_equal(report.outcome.error.reason, "missing_field");
    markr_reprocess_report_free(&report);

    /* Dry: the flip and the changed test are reported, nothing is written. */
    assert_int_equal(markr_reprocess_one(&f->relaxed, refused, 1, &report, &err), 0);
    assert_int_equal(report.flip_count, 1);
    assert_int_equal(report.flips[0].id, refused);
    assert_string_equal(report.flips[0].from, "rejected");
    assert_string_equal(report.flips[0].to, "accepted");
    assert_int_equal(report.changed_test_count, 1);
    assert_string_equal(report.changed_tests[0], "relaxed");
    markr_reprocess_report_free(&report);
    assert_value(f, "rejected", "SELECT status FROM imports WHERE reason IS NOT NULL");
    assert_value(f, "1", "SELECT count(*) FROM marks");

    /* For real: accepted, its marks applied (import_id names it), its tests and names kept. */
    assert_int_equal(markr_reprocess_one(&f->relaxed, refused, 0, &report, &err), 0);
    assert_string_equal(report.status, "accepted");
    markr_reprocess_report_free(&report);
    {
        char *status = value(f, "SELECT status || ',' || result_count || ',' || (reason IS NULL) || ',' || "
                                "(processed_at IS NOT NULL) FROM imports WHERE id = %lld",
                             (long long)refused);
        char *mark = value(f, "SELECT available || '/' || obtained || ',' || first_name || ',' || import_id "
                              "FROM marks WHERE student_number = '7'");
        char expected[64];

        assert_string_equal(status, "accepted,1,true,true");
        snprintf(expected, sizeof(expected), "10/9,Ada,%lld", (long long)refused);
        assert_string_equal(mark, expected);
        free(status);
        free(mark);
    }
    assert_value(f, "2", "SELECT count(*) FROM import_names WHERE test_id = 'relaxed'");
    assert_value(f, "Ada", "SELECT first_name FROM " MARKR_TEST_NAMES " WHERE student_number = '7'");

    /* The strict rules refuse it again: one document at a time cannot take marks back. */
    assert_int_equal(markr_reprocess_one(&f->strict, refused, 0, &report, &err), -1);
    assert_string_equal(err.reason, "needs_full_rebuild");
    assert_value(f, "accepted", "SELECT status FROM imports WHERE id = (SELECT min(id) FROM imports)");

    /* A full rebuild under the strict rules does, and says which test changed. */
    assert_int_equal(markr_reprocess_all(&f->strict, 0, &report, &err), 0);
    assert_int_equal(report.imports, 2);
    assert_int_equal(report.flip_count, 1);
    assert_string_equal(report.flips[0].to, "rejected");
    assert_int_equal(report.changed_test_count, 1);
    markr_reprocess_report_free(&report);
    assert_value(f, "8", "SELECT string_agg(student_number, ',') FROM marks");
    assert_value(f, "0", "SELECT count(*) FROM " MARKR_TEST_NAMES " WHERE student_number = '7'");
    (void)other;
}

static void failed_rebuild_leaves_the_marks_alone(void **state)
{
    struct fixture *f = *state;
    struct markr_reprocess_report report;
    struct markr_error err;
    char *before, *after;
    static const char sql[] = "SELECT string_agg(concat_ws('|', test_id, student_number, available, obtained, "
                              "import_id), ',' ORDER BY test_id, student_number) || (SELECT count(*) FROM "
                              MARKR_TEST_NAMES ") || (SELECT string_agg(status, ',' ORDER BY id) FROM imports) "
                              "FROM marks";

    import(f, plain, 1);
    import(f, variant, 0);
    import(f, plain, 1);
    before = markr_test_db_value(f->conninfo, sql);
    assert_int_equal(markr_reprocess_all(&f->failing, 0, &report, &err), -1);
    assert_string_equal(err.reason, "out_of_memory");
    after = markr_test_db_value(f->conninfo, sql);
    assert_string_equal(before, after);
    free(after);
    /* And the connection is usable again (no transaction left open). */
    assert_int_equal(markr_reprocess_all(&f->strict, 0, &report, &err), 0);
    assert_int_equal(report.imports, 3);
    markr_reprocess_report_free(&report);
    after = markr_test_db_value(f->conninfo, sql);
    assert_string_equal(before, after);
    free(after);
    free(before);
}

static void unknown_or_queued_imports_are_not_reprocessed(void **state)
{
    struct fixture *f = *state;
    struct markr_reprocess_report report;
    struct markr_import_queue queue = markr_pg_import_queue(f->pg);
    struct markr_error err;
    int64_t queued;

    assert_int_equal(markr_reprocess_one(&f->strict, 12345, 0, &report, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_NOT_FOUND);
    assert_int_equal(queue.enqueue(queue.ctx, "text/xml+markr", NULL, plain, strlen(plain), &queued, &err), 0);
    assert_int_equal(markr_reprocess_one(&f->strict, queued, 0, &report, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_NOT_FOUND);
    /* A full rebuild leaves it to the queue. */
    assert_int_equal(markr_reprocess_all(&f->strict, 0, &report, &err), 0);
    assert_int_equal(report.imports, 0);
    markr_reprocess_report_free(&report);
    assert_value(f, "queued", "SELECT status FROM imports");
    /* Claimed and processed once; a second processing of the same claim finds nothing. */
    {
        int64_t claimed;

        assert_int_equal(queue.claim(queue.ctx, &claimed, &err), 1);
        assert_int_equal(claimed, queued);
        assert_int_equal(markr_process_queued(&f->strict, claimed, &report, &err), 1);
        assert_string_equal(report.status, "accepted");
        markr_reprocess_report_free(&report);
        assert_int_equal(markr_process_queued(&f->strict, claimed, &report, &err), 0);
        assert_int_equal(queue.claim(queue.ctx, &claimed, &err), 0);
    }
    assert_value(f, "1", "SELECT count(*) FROM marks");
}

/* A queued import whose processing keeps failing without a verdict is given up after five
 * claims (rejected, processing_failed) and does not hold up the import queued behind it. */
/* A queued import whose processing loses its connection is processed at once on a new one,
 * under the same claim: accepted after one attempt. */
static void a_queued_import_survives_a_lost_connection(void **state)
{
    struct fixture *f = *state;
    struct markr_format killing = {.media_type = MARKR_XML_MEDIA_TYPE, .parser = {.parse = killing_parse}};
    struct markr_queue_deps deps = {.queue = markr_pg_import_queue(f->pg), .reprocess = f->strict};
    struct markr_reprocess_report report;
    struct markr_error err;
    int64_t queued, id;

    killing_conninfo = f->conninfo;
    killing_calls = 0;
    deps.reprocess.formats = (struct markr_formats){.items = &killing, .count = 1};
    assert_int_equal(deps.queue.enqueue(deps.queue.ctx, "text/xml+markr", NULL, plain, strlen(plain), &queued, &err),
                     0);
    assert_int_equal(markr_process_next_queued(&deps, &id, &report, &err), MARKR_QUEUE_PROCESSED);
    markr_reprocess_report_free(&report);
    assert_int_equal(id, queued);
    assert_int_equal(killing_calls, 2);
    assert_value(f, "accepted 1", "SELECT status || ' ' || attempts FROM imports");
    assert_value(f, "1", "SELECT count(*) FROM marks");
}

static void a_failing_queued_import_is_given_up(void **state)
{
    struct fixture *f = *state;
    struct markr_import_queue queue = markr_pg_import_queue(f->pg);
    struct markr_error err;
    int64_t stuck, next, claimed;

    assert_int_equal(queue.enqueue(queue.ctx, "text/xml+markr", NULL, plain, strlen(plain), &stuck, &err), 0);
    assert_int_equal(queue.enqueue(queue.ctx, "text/xml+markr", NULL, plain, strlen(plain), &next, &err), 0);
    /* Five claims of the first that never reach a verdict (its runner dies each time). */
    for (int attempt = 1; attempt <= 5; ++attempt) {
        assert_int_equal(queue.claim(queue.ctx, &claimed, &err), 1);
        assert_int_equal(claimed, stuck);
    }
    assert_int_equal(queue.claim(queue.ctx, &claimed, &err), 1);
    assert_int_equal(claimed, next);
    assert_value(f, "rejected processing_failed 5",
                 "SELECT status || ' ' || (reason->>'error') || ' ' || attempts FROM imports ORDER BY id LIMIT 1");
    assert_value(f, "processing 1", "SELECT status || ' ' || attempts FROM imports ORDER BY id DESC LIMIT 1");
}

/* A claimed import is claimed again only once its claimer's session has ended: a runner that
 * claims while another's claim is not yet locked by its processing takes the next import,
 * and counts no attempt for the first; the first is taken again (one more attempt) only when
 * the session that claimed it is gone. */
static void a_claim_is_taken_again_only_from_an_ended_session(void **state)
{
    struct fixture *f = *state;
    struct markr_import_queue queue = markr_pg_import_queue(f->pg);
    struct markr_pg *other_pg = markr_pg_connect(f->conninfo, &(struct markr_error){0});
    struct markr_import_queue other;
    struct markr_error err;
    int64_t first, second, claimed;
    char sql[160];

    assert_non_null(other_pg);
    other = markr_pg_import_queue(other_pg);
    assert_int_equal(queue.enqueue(queue.ctx, "text/xml+markr", NULL, plain, strlen(plain), &first, &err), 0);
    assert_int_equal(queue.enqueue(queue.ctx, "text/xml+markr", NULL, plain, strlen(plain), &second, &err), 0);
    assert_int_equal(queue.claim(queue.ctx, &claimed, &err), 1);
    assert_int_equal(claimed, first);
    assert_int_equal(other.claim(other.ctx, &claimed, &err), 1);
    assert_int_equal(claimed, second);
    assert_int_equal(other.claim(other.ctx, &claimed, &err), 1); /* its own, as after a failure */
    assert_int_equal(claimed, second);
    assert_value(f, "processing 1,processing 2", "SELECT string_agg(status || ' ' || attempts, ',' ORDER BY id) FROM imports");
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_stat_activity WHERE pid = (SELECT claimer_pid FROM imports "
             "WHERE id = %lld)", (long long)second);
    assert_value(f, "1", sql);
    markr_pg_close(other_pg); /* the second runner's server is gone: a third runner takes its import */
    for (int waited = 0; waited < 10000; waited += 10) { /* until the server has ended its session */
        char *left = markr_test_db_value(f->conninfo, sql);
        int gone = left != NULL && strcmp(left, "0") == 0;

        free(left);
        if (gone)
            break;
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
    }
    assert_non_null(other_pg = markr_pg_connect(f->conninfo, &err));
    other = markr_pg_import_queue(other_pg);
    assert_int_equal(other.claim(other.ctx, &claimed, &err), 1); /* not the first: its claimer is alive */
    assert_int_equal(claimed, second);
    assert_value(f, "processing 1,processing 3", "SELECT string_agg(status || ' ' || attempts, ',' ORDER BY id) FROM imports");
    markr_pg_close(other_pg);
}

/* --- the vault's bounded reads ------------------------------------------------------------ */

/* A document of count results of test `test` (or tests t0000, t0001, ... when test is NULL),
 * student i numbered prefix, i in two digits, suffix, named first (NULL: no name). Owned by
 * the caller. */
static char *results_doc(size_t count, const char *test, const char *prefix, const char *suffix, const char *first)
{
    size_t cap = 200 * count + 64, len = 0;
    char *doc = malloc(cap);

    len += (size_t)snprintf(doc + len, cap - len, "<mcq-test-results>\n");
    for (size_t i = 0; i < count; ++i) {
        char student[32], test_id[32];

        snprintf(student, sizeof(student), "%s%02d%s", prefix, (int)i, suffix);
        snprintf(test_id, sizeof(test_id), "t%04d", (int)i);
        len += (size_t)snprintf(doc + len, cap - len,
                                "<mcq-test-result><student-number>%s</student-number><test-id>%s</test-id>"
                                "%s%s%s<summary-marks available=\"10\" obtained=\"5\"/></mcq-test-result>\n",
                                student, test != NULL ? test : test_id, first ? "<first-name>" : "",
                                first ? first : "", first ? "</first-name>" : "");
    }
    snprintf(doc + len, cap - len, "</mcq-test-results>\n");
    return doc;
}

/* Walks the conflicts of test "paged" limit at a time; returns the student numbers seen,
 * joined by ',' (owned), and checks each page against the cursor rules. */
static char *walk_conflicts(struct fixture *f, unsigned limit, int64_t first_id, int64_t second_id)
{
    struct markr_vault_reader v = markr_pg_vault_reader(f->pg);
    char cursor[64] = "", *seen = calloc(1, 4096);
    struct markr_error err;

    for (int pages = 0; pages < 100; ++pages) {
        struct markr_conflicts_page page = {.limit = limit, .after = cursor[0] ? cursor : NULL,
                                            .after_len = strlen(cursor)};
        struct markr_conflicts c;

        assert_int_equal(markr_list_conflicts(&v, "paged", 5, &page, &c, &err), 0);
        assert_true(c.count <= limit);
        for (size_t i = 0; i < c.count; ++i) {
            const struct markr_conflict *k = &c.items[i];

            strcat(seen, seen[0] ? "," : "");
            strcat(seen, k->student_number);
            /* Each student's two names, each from its own import. */
            assert_int_equal(k->name_count, 2);
            assert_string_equal(k->names[0].first_name, "Ada");
            assert_string_equal(k->names[1].first_name, "Bea");
            assert_int_equal(k->names[0].import_count, 1);
            assert_int_equal(k->names[0].import_ids[0], first_id);
            assert_int_equal(k->names[1].import_ids[0], second_id);
        }
        if (!c.more) {
            markr_conflicts_free(&c);
            return seen;
        }
        assert_int_equal(c.count, limit); /* only a full page says more follow */
        snprintf(cursor, sizeof(cursor), "%s", c.items[c.count - 1].student_number);
        markr_conflicts_free(&c);
    }
    fail_msg("the conflicts never ended");
    return NULL;
}

/* The conflicts come in pages in student order, each conflicted student exactly once, the
 * students seen under one name left out, whatever the page size. */
static void conflicts_are_paged_in_student_order(void **state)
{
    struct fixture *f = *state;
    char *ada = results_doc(7, "paged", "c", "", "Ada"), *bea = results_doc(7, "paged", "c", "", "Bea");
    char *same = results_doc(3, "paged", "c", "b", "Cy"), *unnamed = results_doc(7, "paged", "c", "", NULL);
    static const char all[] = "c00,c01,c02,c03,c04,c05,c06";
    struct markr_vault_reader v = markr_pg_vault_reader(f->pg);
    struct markr_conflicts_page page = {.limit = 10, .after = "\xff", .after_len = 1};
    struct markr_conflicts c;
    struct markr_error err;
    int64_t first_id = import(f, ada, 1), second_id = import(f, bea, 1);
    static const unsigned limits[] = {1, 2, 3, 6, 7, 8, MARKR_CONFLICTS_PAGE_MAX};

    import(f, same, 1);
    import(f, same, 1);
    import(f, unnamed, 1);
    for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); ++i) {
        char *seen = walk_conflicts(f, limits[i], first_id, second_id);

        if (strcmp(seen, all) != 0)
            fail_msg("limit %u: %s", limits[i], seen);
        free(seen);
    }
    /* A cursor that is not text, or past the last student, gives an empty last page. */
    assert_int_equal(markr_list_conflicts(&v, "paged", 5, &page, &c, &err), 0);
    assert_int_equal(c.count, 0);
    assert_false(c.more);
    markr_conflicts_free(&c);
    page.after = "c06";
    page.after_len = 3;
    assert_int_equal(markr_list_conflicts(&v, "paged", 5, &page, &c, &err), 0);
    assert_int_equal(c.count, 0);
    markr_conflicts_free(&c);
    free(ada);
    free(bea);
    free(same);
    free(unnamed);
}

/* --- the conflicts under a linguistic collation --------------------------------------------- */

/* A scan of test "icu": the import (0..2) that carried it, the student and the names. */
struct icu_scan {
    int import;
    const char *student, *first, *last;
};

/* Student numbers that en-US sorts otherwise than bytes (case, digits, a hyphen), names
 * that differ only by case, one student with two names inside one import (b1), a name that
 * is only a last name, scans without a name, and students seen under one name only. */
static const struct icu_scan icu_scans[] = {
    {0, "a10", "Ada", NULL}, {0, "A2", "Ada", NULL},  {0, "b1", "Ada", NULL},  {0, "B01", "Ada", NULL},
    {0, "b1", "Bea", NULL},  {0, "a-1", "Ada", NULL}, {0, "9", "Ada", NULL},   {0, "Z3", "Ada", NULL},
    {0, "10", "Ada", NULL},  {1, "a10", "ada", NULL}, {1, "A2", "Ada", NULL},  {1, "B01", "Cy", NULL},
    {1, "a-1", NULL, NULL},  {1, "9", "Bea", NULL},   {1, "Z3", "Ada", NULL},  {1, "a1", "Ada", NULL},
    {2, "A2", "Bea", NULL},  {2, "a1", "Ada", NULL},  {2, "a-1", "Bea", NULL}, {2, "Z3", "Ada", NULL},
    {2, "9", NULL, "Ng"},    {2, "b1", "Bea", "Ng"},  {2, "10", NULL, NULL},
};
#define ICU_SCANS (sizeof(icu_scans) / sizeof(icu_scans[0]))
#define ICU_IMPORTS 3

/* Cursors that are not student numbers: between students, before all, after all. */
static const char *const icu_absent[] = {"0", "-", "a", "A10", "a2", "b0", "B1", "b10", "Y", "zz"};
#define ICU_ABSENT (sizeof(icu_absent) / sizeof(icu_absent[0]))

/* Every string of the test as the database sorts it (its default collation, the one of
 * the names rows' arrays): rank[i] is the place of strings[i]. */
struct icu_order {
    const char *strings[2 * ICU_SCANS + ICU_SCANS + ICU_ABSENT];
    size_t count, rank[2 * ICU_SCANS + ICU_SCANS + ICU_ABSENT];
};

static void order_add(struct icu_order *o, const char *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < o->count; ++i)
        if (strcmp(o->strings[i], s) == 0)
            return;
    o->strings[o->count++] = s;
}

static void order_ask(struct fixture *f, struct icu_order *o)
{
    char list[1024] = "", *sorted, *next;
    const char *params[1] = {list};
    size_t place = 0;

    for (size_t i = 0; i < o->count; ++i)
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i != 0 ? "," : "", o->strings[i]);
    sorted = markr_test_db_value_params(
        f->conninfo, "SELECT string_agg(x, ',' ORDER BY x) FROM unnest(string_to_array($1, ',')) AS x", 1, params);
    assert_non_null(sorted);
    for (char *s = sorted; s != NULL; s = next, ++place) {
        size_t i = 0;

        if ((next = strchr(s, ',')) != NULL)
            *next++ = '\0';
        while (i < o->count && strcmp(o->strings[i], s) != 0)
            ++i;
        assert_true(i < o->count);
        o->rank[i] = place;
    }
    assert_int_equal(place, o->count);
    free(sorted);
}

/* The place of s, SQL NULL after every string. */
static size_t order_of(const struct icu_order *o, const char *s)
{
    if (s == NULL)
        return o->count;
    for (size_t i = 0; i < o->count; ++i)
        if (strcmp(o->strings[i], s) == 0)
            return o->rank[i];
    fail_msg("%s was not sorted", s);
    return 0;
}

/* A name as both sides print it: first/last (- for none) and its imports. */
static void append_name(char *out, size_t size, const char *first, const char *last, const int64_t *ids, size_t n)
{
    size_t len = strlen(out);

    len += (size_t)snprintf(out + len, size - len, " %s/%s@", first ? first : "-", last ? last : "-");
    for (size_t i = 0; i < n && len < size; ++i)
        len += (size_t)snprintf(out + len, size - len, "%s%lld", i ? "+" : "", (long long)ids[i]);
}

/* The conflicts after cursor (NULL: all) as the test itself computes them from icu_scans,
 * in the database's order of students and then of names (NULL last); returns how many
 * students they are. */
static size_t icu_expected(const struct icu_order *o, const int64_t *ids, const char *cursor, char *out, size_t size)
{
    const struct icu_scan *by_student[ICU_SCANS];
    size_t n = 0, students = 0;

    out[0] = '\0';
    /* One scan per student, in the database's order. */
    for (size_t i = 0; i < ICU_SCANS; ++i) {
        size_t j = 0;

        while (j < n && strcmp(by_student[j]->student, icu_scans[i].student) != 0)
            ++j;
        if (j == n)
            by_student[n++] = &icu_scans[i];
    }
    for (size_t a = 1; a < n; ++a)
        for (size_t b = a; b > 0 && order_of(o, by_student[b - 1]->student) > order_of(o, by_student[b]->student);
             --b) {
            const struct icu_scan *t = by_student[b];

            by_student[b] = by_student[b - 1];
            by_student[b - 1] = t;
        }
    for (size_t k = 0; k < n; ++k) {
        const char *student = by_student[k]->student;
        const struct icu_scan *names[ICU_SCANS];
        unsigned imports[ICU_SCANS];
        size_t count = 0;

        if (cursor != NULL && order_of(o, student) <= order_of(o, cursor))
            continue;
        /* Its distinct names, each with the imports that carried it; scans without one say nothing. */
        for (size_t i = 0; i < ICU_SCANS; ++i) {
            const struct icu_scan *s = &icu_scans[i];
            size_t j = 0;

            if (strcmp(s->student, student) != 0 || (s->first == NULL && s->last == NULL))
                continue;
            while (j < count && (order_of(o, names[j]->first) != order_of(o, s->first) ||
                                 order_of(o, names[j]->last) != order_of(o, s->last)))
                ++j;
            if (j == count) {
                names[count] = s;
                imports[count++] = 0;
            }
            imports[j] |= 1u << s->import;
        }
        if (count < 2)
            continue;
        for (size_t a = 1; a < count; ++a)
            for (size_t b = a; b > 0; --b) {
                size_t f0 = order_of(o, names[b - 1]->first), f1 = order_of(o, names[b]->first);
                const struct icu_scan *t = names[b];
                unsigned m = imports[b];

                if (f0 < f1 || (f0 == f1 && order_of(o, names[b - 1]->last) < order_of(o, names[b]->last)))
                    break;
                names[b] = names[b - 1];
                imports[b] = imports[b - 1];
                names[b - 1] = t;
                imports[b - 1] = m;
            }
        snprintf(out + strlen(out), size - strlen(out), "%s%s:", out[0] ? "; " : "", student);
        for (size_t j = 0; j < count; ++j) {
            int64_t carried[ICU_IMPORTS];
            size_t c = 0;

            for (int i = 0; i < ICU_IMPORTS; ++i)
                if (imports[j] & (1u << i))
                    carried[c++] = ids[i];
            append_name(out, size, names[j]->first, names[j]->last, carried, c);
        }
        ++students;
    }
    return students;
}

/* The conflicts of test "icu" after cursor (NULL: all), read limit at a time through the
 * vault, printed as icu_expected prints them; each page is checked against the cursor rules. */
static void icu_walk(struct fixture *f, const char *cursor, unsigned limit, char *out, size_t size)
{
    struct markr_vault_reader v = markr_pg_vault_reader(f->pg);
    char after[64];
    struct markr_error err;

    out[0] = '\0';
    snprintf(after, sizeof(after), "%s", cursor != NULL ? cursor : "");
    for (int pages = 0; pages < 100; ++pages) {
        struct markr_conflicts_page page = {.limit = limit, .after = after[0] ? after : NULL,
                                            .after_len = strlen(after)};
        struct markr_conflicts c;

        if (markr_list_conflicts(&v, "icu", 3, &page, &c, &err) != 0)
            fail_msg("after %s, limit %u: %s", after, limit, err.message);
        assert_true(c.count <= limit);
        for (size_t i = 0; i < c.count; ++i) {
            const struct markr_conflict *k = &c.items[i];

            snprintf(out + strlen(out), size - strlen(out), "%s%s:", out[0] ? "; " : "", k->student_number);
            for (size_t j = 0; j < k->name_count; ++j)
                append_name(out, size, k->names[j].first_name, k->names[j].last_name, k->names[j].import_ids,
                            k->names[j].import_count);
        }
        if (!c.more) {
            markr_conflicts_free(&c);
            return;
        }
        assert_int_equal(c.count, limit); /* only a full page says more follow */
        snprintf(after, sizeof(after), "%s", c.items[c.count - 1].student_number);
        markr_conflicts_free(&c);
    }
    fail_msg("the conflicts never ended");
}

/* Under an ICU collation (setup_icu) the names rows are written sorted and searched by the
 * same rules: every page size and every cursor, a student number or not, gives the
 * conflicts in the database's order, each exactly once, with all their names. */
static void conflicts_follow_a_linguistic_collation(void **state)
{
    struct fixture *f = *state;
    static const unsigned limits[] = {1, 2, 3, 5, MARKR_CONFLICTS_PAGE_MAX};
    struct icu_order order = {.count = 0};
    int64_t ids[ICU_IMPORTS];
    char expected[2048], seen[2048], bytes[256] = "", sorted[256] = "";

    assert_value(f, "i", "SELECT datlocprovider FROM pg_database WHERE datname = current_database()");
    for (int i = 0; i < ICU_IMPORTS; ++i) {
        char doc[4096];
        size_t len = (size_t)snprintf(doc, sizeof(doc), "<mcq-test-results>\n");

        for (size_t j = 0; j < ICU_SCANS; ++j) {
            const struct icu_scan *s = &icu_scans[j];

            if (s->import != i)
                continue;
            len += (size_t)snprintf(doc + len, sizeof(doc) - len,
                                    "<mcq-test-result><student-number>%s</student-number><test-id>icu</test-id>"
                                    "%s%s%s%s%s%s<summary-marks available=\"5\" obtained=\"1\"/></mcq-test-result>\n",
                                    s->student, s->first ? "<first-name>" : "", s->first ? s->first : "",
                                    s->first ? "</first-name>" : "", s->last ? "<last-name>" : "",
                                    s->last ? s->last : "", s->last ? "</last-name>" : "");
        }
        snprintf(doc + len, sizeof(doc) - len, "</mcq-test-results>\n");
        ids[i] = import(f, doc, 1);
    }
    for (size_t i = 0; i < ICU_SCANS; ++i) {
        order_add(&order, icu_scans[i].student);
        order_add(&order, icu_scans[i].first);
        order_add(&order, icu_scans[i].last);
    }
    for (size_t i = 0; i < ICU_ABSENT; ++i)
        order_add(&order, icu_absent[i]);
    order_ask(f, &order);

    /* Six students have several names, and the database does not sort these strings as
     * bytes do: else the test would prove nothing. */
    assert_int_equal(icu_expected(&order, ids, NULL, expected, sizeof(expected)), 6);
    {
        const char *by_rank[sizeof(order.strings) / sizeof(order.strings[0])];
        const char *by_bytes[sizeof(by_rank) / sizeof(by_rank[0])];

        for (size_t i = 0; i < order.count; ++i)
            by_rank[order.rank[i]] = by_bytes[i] = order.strings[i];
        for (size_t a = 1; a < order.count; ++a)
            for (size_t b = a; b > 0 && strcmp(by_bytes[b - 1], by_bytes[b]) > 0; --b) {
                const char *t = by_bytes[b];

                by_bytes[b] = by_bytes[b - 1];
                by_bytes[b - 1] = t;
            }
        for (size_t i = 0; i < order.count; ++i) {
            snprintf(sorted + strlen(sorted), sizeof(sorted) - strlen(sorted), "%s%s", i ? "," : "", by_rank[i]);
            snprintf(bytes + strlen(bytes), sizeof(bytes) - strlen(bytes), "%s%s", i ? "," : "", by_bytes[i]);
        }
        if (strcmp(sorted, bytes) == 0)
            fail_msg("the database sorts as bytes do: %s", sorted);
    }

    for (size_t l = 0; l < sizeof(limits) / sizeof(limits[0]); ++l) {
        /* From the first page, and from every string of the test as a cursor: the student
         * numbers (conflicted or not), the names and the strings between students. */
        for (size_t c = 0; c <= order.count; ++c) {
            const char *cursor = c < order.count ? order.strings[c] : NULL;

            icu_expected(&order, ids, cursor, expected, sizeof(expected));
            icu_walk(f, cursor, limits[l], seen, sizeof(seen));
            if (strcmp(seen, expected) != 0)
                fail_msg("after %s, limit %u:\n  gave     %s\n  expected %s", cursor ? cursor : "(none)", limits[l],
                         seen, expected);
        }
    }
}

/* The names rows of import id as "test:{students}:{first names}:{last names}", by test
 * (owned). */
static char *names_rows(struct fixture *f, int64_t id)
{
    return value(f,
                 "SELECT string_agg(concat_ws(':', test_id, student_numbers, first_names, last_names), ' ' "
                 "ORDER BY test_id) FROM import_names WHERE import_id = %lld",
                 (long long)id);
}

/* An import writes one names row per test it carried: its distinct (student, first, last)
 * of that test, whatever the document's order, sorted by student number as parallel arrays;
 * a scan without a name is kept (as NULLs). Reprocessing the import (markr_reprocess_one)
 * clears its rows before writing them again, so it still has one row per test. */
static void the_names_of_an_import_are_one_row_per_test(void **state)
{
    struct fixture *f = *state;
    static const char doc[] =
        "<mcq-test-results>\n"
        "  <mcq-test-result><student-number>9</student-number><test-id>b</test-id><first-name>Ann</first-name>"
        "<summary-marks available=\"5\" obtained=\"1\"/></mcq-test-result>\n"
        "  <mcq-test-result><student-number>5</student-number><test-id>a</test-id><first-name>Di</first-name>"
        "<summary-marks available=\"5\" obtained=\"2\"/></mcq-test-result>\n"
        "  <mcq-test-result><student-number>1</student-number><test-id>b</test-id><last-name>Cy</last-name>"
        "<summary-marks available=\"5\" obtained=\"3\"/></mcq-test-result>\n"
        "  <mcq-test-result><student-number>5</student-number><test-id>a</test-id><first-name>Bo</first-name>"
        "<summary-marks available=\"5\" obtained=\"4\"/></mcq-test-result>\n"
        "  <mcq-test-result><student-number>5</student-number><test-id>a</test-id><first-name>Di</first-name>"
        "<summary-marks available=\"5\" obtained=\"5\"/></mcq-test-result>\n"
        "  <mcq-test-result><student-number>3</student-number><test-id>b</test-id>"
        "<summary-marks available=\"5\" obtained=\"0\"/></mcq-test-result>\n"
        "</mcq-test-results>\n";
    struct markr_reprocess_report report;
    struct markr_error err;
    int64_t id = import(f, doc, 1);
    char *rows = names_rows(f, id);

    assert_non_null(rows);
    assert_string_equal(rows, "a:{5,5}:{Bo,Di}:{NULL,NULL} b:{1,3,9}:{NULL,NULL,Ann}:{Cy,NULL,NULL}");
    assert_int_equal(markr_reprocess_one(&f->strict, id, 0, &report, &err), 0);
    markr_reprocess_report_free(&report);
    free(rows);
    rows = value(f, "SELECT count(*) || ',' || sum(cardinality(student_numbers)) FROM import_names");
    assert_string_equal(rows, "2,5");
    free(rows);
}

/* When no two scans share a (test, student), the statement takes the names rows from the
 * marks themselves (no scans are sent): the same rows, still one per test and sorted by
 * student number whatever the document's order, names absent as NULLs. */
static void the_names_of_an_import_without_duplicates_are_its_marks(void **state)
{
    struct fixture *f = *state;
    static const char doc[] =
        "<mcq-test-results>\n"
        "  <mcq-test-result><student-number>9</student-number><test-id>b</test-id><first-name>Ann</first-name>"
        "<summary-marks available=\"5\" obtained=\"1\"/></mcq-test-result>\n"
        "  <mcq-test-result><student-number>5</student-number><test-id>a</test-id><first-name>Di</first-name>"
        "<last-name>Ey</last-name><summary-marks available=\"5\" obtained=\"2\"/></mcq-test-result>\n"
        "  <mcq-test-result><student-number>1</student-number><test-id>b</test-id><last-name>Cy</last-name>"
        "<summary-marks available=\"5\" obtained=\"3\"/></mcq-test-result>\n"
        "  <mcq-test-result><student-number>2</student-number><test-id>a</test-id>"
        "<summary-marks available=\"5\" obtained=\"4\"/></mcq-test-result>\n"
        "  <mcq-test-result><student-number>3</student-number><test-id>b</test-id>"
        "<summary-marks available=\"5\" obtained=\"0\"/></mcq-test-result>\n"
        "</mcq-test-results>\n";
    int64_t id = import(f, doc, 1);
    char *rows = names_rows(f, id);

    assert_non_null(rows);
    assert_string_equal(rows, "a:{2,5}:{NULL,Di}:{NULL,Ey} b:{1,3,9}:{NULL,NULL,Ann}:{Cy,NULL,NULL}");
    free(rows);
}

/* An import's tests are listed up to MARKR_IMPORT_TESTS_MAX, in order, with the whole count. */
static void the_tests_of_an_import_are_bounded(void **state)
{
    struct fixture *f = *state;
    struct markr_vault_reader v = markr_pg_vault_reader(f->pg);
    char *many = results_doc(MARKR_IMPORT_TESTS_MAX + 1, NULL, "s", "", NULL);
    char *few = results_doc(1, NULL, "s", "", NULL);
    struct markr_import_info info;
    struct markr_error err;
    int64_t big = import(f, many, 1), small = import(f, few, 1);

    assert_int_equal(markr_get_import(&v, big, &info, &err), 0);
    assert_int_equal(info.test_count, MARKR_IMPORT_TESTS_MAX);
    assert_int_equal(info.test_total, MARKR_IMPORT_TESTS_MAX + 1);
    assert_string_equal(info.tests[0], "t0000");
    assert_string_equal(info.tests[MARKR_IMPORT_TESTS_MAX - 1], "t0999");
    markr_import_info_free(&info);
    assert_int_equal(markr_get_import(&v, small, &info, &err), 0);
    assert_int_equal(info.test_count, 1);
    assert_int_equal(info.test_total, 1);
    assert_string_equal(info.tests[0], "t0000");
    markr_import_info_free(&info);
    free(many);
    free(few);
}

/* One scan of student 5 in test "sheets", obtained 1 of 2, answering question 1 with r
 * (NULL: no answer at all). */
static char *sheet_doc(const char *r)
{
    static char doc[512];

    snprintf(doc, sizeof(doc),
             "<mcq-test-results>\n"
             "  <mcq-test-result><student-number>5</student-number><test-id>sheets</test-id>\n"
             "    <summary-marks available=\"2\" obtained=\"1\"/>%s%s%s\n"
             "  </mcq-test-result>\n"
             "</mcq-test-results>\n",
             r != NULL ? "<answer question=\"1\" marks-available=\"1\" marks-awarded=\"1\">" : "",
             r != NULL ? r : "", r != NULL ? "</answer>" : "");
    return doc;
}

/* Among scans of an equal obtained the kept sheet is the one received last: rebuilding one
 * older import leaves a later import's sheet in place, and that holds too when the later
 * scan had no valid answer (its import is recorded with no arrays, so the older sheet does
 * not come back). */
static void rebuilding_an_older_import_keeps_the_later_equal_sheet(void **state)
{
    struct fixture *f = *state;
    struct markr_reprocess_report report;
    struct markr_error err;
    int64_t older = import(f, sheet_doc("A"), 1), later = import(f, sheet_doc("B"), 1), bare;
    char *sheet;

    assert_int_equal(markr_reprocess_one(&f->strict, older, 0, &report, &err), 0);
    markr_reprocess_report_free(&report);
    sheet = value(f, "SELECT sheet_import_id || ',' || sheet_responses::text FROM marks WHERE test_id = 'sheets'");
    assert_non_null(sheet);
    assert_int_equal(strtoll(sheet, NULL, 10), later);
    assert_non_null(strstr(sheet, ",{B}"));
    free(sheet);

    bare = import(f, sheet_doc(NULL), 1);
    assert_int_equal(markr_reprocess_one(&f->strict, older, 0, &report, &err), 0);
    markr_reprocess_report_free(&report);
    assert_int_equal(markr_reprocess_one(&f->strict, later, 0, &report, &err), 0);
    markr_reprocess_report_free(&report);
    sheet = value(f, "SELECT sheet_import_id || ',' || num_nulls(sheet_questions, sheet_responses, sheet_awarded,"
                     " sheet_available) || ',' || obtained FROM marks WHERE test_id = 'sheets'");
    assert_non_null(sheet);
    assert_int_equal(strtoll(sheet, NULL, 10), bare);
    assert_non_null(strstr(sheet, ",4,1"));
    free(sheet);

    /* The full rebuild replays in order of receipt and comes to the same. */
    assert_int_equal(markr_reprocess_all(&f->strict, 0, &report, &err), 0);
    markr_reprocess_report_free(&report);
    sheet = value(f, "SELECT sheet_import_id || ',' || (sheet_questions IS NULL) FROM marks WHERE test_id = 'sheets'");
    assert_non_null(sheet);
    assert_int_equal(strtoll(sheet, NULL, 10), bare);
    assert_non_null(strstr(sheet, ",true"));
    free(sheet);
}

/* One scan of student 6 in test "names", obtained `obtained` of 10, with the names given
 * (NULL: the element is left out). */
static char *names_doc(const char *first, const char *last, int obtained)
{
    static char doc[512];

    snprintf(doc, sizeof(doc),
             "<mcq-test-results>\n"
             "  <mcq-test-result><student-number>6</student-number><test-id>names</test-id>\n"
             "    %s%s%s%s%s%s<summary-marks available=\"10\" obtained=\"%d\"/>\n"
             "  </mcq-test-result>\n"
             "</mcq-test-results>\n",
             first != NULL ? "<first-name>" : "", first != NULL ? first : "", first != NULL ? "</first-name>" : "",
             last != NULL ? "<last-name>" : "", last != NULL ? last : "", last != NULL ? "</last-name>" : "",
             obtained);
    return doc;
}

/* Claims the one queued import, which must be queued, and processes it: accepted. */
static void process_queued(struct fixture *f, int64_t queued)
{
    struct markr_import_queue queue = markr_pg_import_queue(f->pg);
    struct markr_reprocess_report report;
    struct markr_error err;
    int64_t claimed;

    assert_int_equal(queue.claim(queue.ctx, &claimed, &err), 1);
    assert_int_equal(claimed, queued);
    assert_int_equal(markr_process_queued(&f->strict, claimed, &report, &err), 1);
    assert_string_equal(report.status, "accepted");
    markr_reprocess_report_free(&report);
}

/* Names follow the order of receipt, not the order in which imports are applied: a queued
 * import processed after a newer upload of the same student keeps the newer import's
 * names (and still raises the marks) and gives only the name the newer one left out; a
 * rebuild of everything and one of the older import alone come to the same; one
 * reprocessed alone whose student no newer import carried gives its names. */
static void names_follow_the_order_of_receipt(void **state)
{
    static const char row[] = "SELECT concat_ws(',', first_name, last_name, obtained) FROM marks";
    struct fixture *f = *state;
    struct markr_import_queue queue = markr_pg_import_queue(f->pg);
    struct markr_reprocess_report report;
    struct markr_error err;
    int64_t queued, newer, latest;
    const char *doc;

    doc = names_doc("Ada", "Old", 7);
    assert_int_equal(queue.enqueue(queue.ctx, "text/xml+markr", NULL, doc, strlen(doc), &queued, &err), 0);
    newer = import(f, names_doc("Bea", NULL, 4), 1);
    assert_true(newer > queued);
    process_queued(f, queued);
    assert_value(f, "Bea,Old,7", row);

    assert_int_equal(markr_reprocess_all(&f->strict, 0, &report, &err), 0);
    markr_reprocess_report_free(&report);
    assert_value(f, "Bea,Old,7", row);
    assert_int_equal(markr_reprocess_one(&f->strict, queued, 0, &report, &err), 0);
    markr_reprocess_report_free(&report);
    assert_value(f, "Bea,Old,7", row);

    /* A later import without names leaves them; one with a name gives it. */
    import(f, names_doc(NULL, NULL, 1), 1);
    assert_value(f, "Bea,Old,7", row);
    import(f, names_doc(NULL, "New", 1), 1);
    assert_value(f, "Bea,New,7", row);

    /* Names stored by hand (no import carried them) give way to an import reprocessed alone
     * that is the latest to carry the student's names. */
    markr_test_db_exec(f->conninfo, "UPDATE marks SET first_name = 'Hand', last_name = 'Made'");
    doc = names_doc("Cy", "Last", 2);
    assert_int_equal(queue.enqueue(queue.ctx, "text/xml+markr", NULL, doc, strlen(doc), &latest, &err), 0);
    process_queued(f, latest);
    assert_value(f, "Cy,Last,7", row);
    markr_test_db_exec(f->conninfo, "UPDATE marks SET first_name = 'Hand', last_name = 'Made'");
    assert_int_equal(markr_reprocess_one(&f->strict, latest, 0, &report, &err), 0);
    markr_reprocess_report_free(&report);
    assert_value(f, "Cy,Last,7", row);
    /* An older one reprocessed alone does not. */
    assert_int_equal(markr_reprocess_one(&f->strict, newer, 0, &report, &err), 0);
    markr_reprocess_report_free(&report);
    assert_value(f, "Cy,Last,7", row);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(refused_document_passes_a_relaxed_rule_on_reprocess, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_rebuild_leaves_the_marks_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(rebuilding_an_older_import_keeps_the_later_equal_sheet, setup, teardown),
        cmocka_unit_test_setup_teardown(names_follow_the_order_of_receipt, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_or_queued_imports_are_not_reprocessed, setup, teardown),
        cmocka_unit_test_setup_teardown(a_queued_import_survives_a_lost_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(a_failing_queued_import_is_given_up, setup, teardown),
        cmocka_unit_test_setup_teardown(a_claim_is_taken_again_only_from_an_ended_session, setup, teardown),
        cmocka_unit_test_setup_teardown(conflicts_are_paged_in_student_order, setup, teardown),
        cmocka_unit_test_setup_teardown(conflicts_follow_a_linguistic_collation, setup_icu, teardown),
        cmocka_unit_test_setup_teardown(the_names_of_an_import_are_one_row_per_test, setup, teardown),
        cmocka_unit_test_setup_teardown(the_names_of_an_import_without_duplicates_are_its_marks, setup, teardown),
        cmocka_unit_test_setup_teardown(the_tests_of_an_import_are_bounded, setup, teardown),
    };

    return cmocka_run_group_tests_name("pg_vault", tests, NULL, NULL);
}
