/*
 * Uploads stored together (pg_group.c, ADR 0039), against a real server with a fresh
 * migrated database per test. Each upload runs on a thread with a connection of its own,
 * all sharing one group of one slot; a lock held by the test on import_names keeps the first
 * upload's transaction waiting while the others line up, so the line is known before it
 * moves. Then: the uploads waiting are stored in one transaction, in order of arrival, each
 * with its own imports row, body, marks, sheet, names row and announcement, up to one that
 * shares a test with them, which leads the next transaction with those behind it; a group that fails before its
 * COMMIT stores each member alone; one lost during its COMMIT leaves every member's outcome
 * unknown, announced as a flush and never run again. An upload that finds a transaction
 * running and nobody to share one with starts once its wait for company ends. Uploads of many threads at once, through
 * two slots, are all stored, and leave no slot held.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain/document.h"
#include "interfaces/pg/pg_group.h"
#include "interfaces/pg/pg_migrate.h"
#include "interfaces/pg/pg_store.h"
#include "test_db.h"

#define UPLOADS 6
#define MARKS 3

/* One upload: MARKS marks of its test, one scan each (and, with a second scan of s0, one
 * more); the first scan has a one-answer sheet. */
struct upload {
    struct markr_pg *pg;
    struct markr_import_store store;
    const char *test, *content_type;
    char body[64];
    char students[MARKS][8];
    struct markr_answer answer;
    struct markr_result scans[MARKS + 1];
    struct markr_mark marks[MARKS];
    const char *tests[1];
    struct markr_marks m;
    pthread_t thread;
    int rc;
    int64_t id;
    struct markr_error err;
};

struct fixture {
    char *conninfo;
    struct markr_pg_group *group;
    struct upload uploads[UPLOADS];
    PGconn *blocker;  /* holds import_names while the line forms */
    PGconn *listener; /* LISTENs on the change channel, as another instance would */
};

static void exec_ok(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);

    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(conn));
    PQclear(res);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct markr_error err;
    struct markr_pg *pg;

    f->conninfo = markr_test_db_create("pg_group");
    if ((pg = markr_pg_connect(f->conninfo, &err)) == NULL ||
        markr_pg_migrate(pg, getenv("MARKR_MIGRATIONS_DIR"), NULL, &err) != 0) {
        fprintf(stderr, "set-up: %s\n", err.message);
        return -1;
    }
    markr_pg_close(pg);
    if ((f->group = markr_pg_group_new(1)) == NULL)
        return -1;
    for (int i = 0; i < UPLOADS; ++i) {
        if ((f->uploads[i].pg = markr_pg_connect(f->conninfo, &err)) == NULL) {
            fprintf(stderr, "set-up: %s\n", err.message);
            return -1;
        }
        markr_pg_group_attach(f->uploads[i].pg, f->group);
        f->uploads[i].store = markr_pg_import_store(f->uploads[i].pg);
    }
    f->blocker = PQconnectdb(f->conninfo);
    f->listener = PQconnectdb(f->conninfo);
    if (PQstatus(f->blocker) != CONNECTION_OK || PQstatus(f->listener) != CONNECTION_OK)
        return -1;
    exec_ok(f->listener, "LISTEN markr_changes");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    for (int i = 0; i < UPLOADS; ++i)
        markr_pg_close(f->uploads[i].pg);
    markr_pg_group_free(f->group);
    PQfinish(f->blocker);
    PQfinish(f->listener);
    markr_test_db_drop(f->conninfo);
    free(f->conninfo);
    free(f);
    return 0;
}

/* --- helpers ------------------------------------------------------------------------------------ */

static long count(struct fixture *f, const char *sql)
{
    char *v = markr_test_db_value(f->conninfo, sql);
    long n = v != NULL ? atol(v) : -1;

    free(v);
    return n;
}

/* Upload i carries test `test`: students s0..s2 with `obtained` of 10, a body naming it. */
static void prepare(struct fixture *f, int i, const char *test, uint32_t obtained, const char *content_type)
{
    struct upload *u = &f->uploads[i];

    u->test = test;
    u->content_type = content_type;
    u->tests[0] = test;
    snprintf(u->body, sizeof(u->body), "<mcq-test-results upload=\"%d\" test=\"%s\"/>", i, test);
    u->answer = (struct markr_answer){.question = "q1", .response = "R", .question_len = 2, .response_len = 1,
                                      .awarded = 1, .available = 1};
    for (int j = 0; j < MARKS; ++j) {
        snprintf(u->students[j], sizeof(u->students[j]), "s%d", j);
        u->scans[j] = (struct markr_result){.test_id = (char *)test, .student_number = u->students[j],
                                            .available = 10, .obtained = obtained, .line = (unsigned long)j + 1};
        u->marks[j] = (struct markr_mark){.test_id = test, .student_number = u->students[j], .available = 10,
                                          .obtained = obtained, .sheet = &u->scans[j]};
    }
    u->scans[0].sheet = (struct markr_answer_sheet){.answers = &u->answer, .count = 1, .total = 1};
    u->m = (struct markr_marks){.marks = u->marks, .count = MARKS, .students = MARKS, .tests = u->tests,
                                .test_count = 1, .scans = u->scans, .scan_count = MARKS};
}

/* Gives upload i a second scan of s0, under another name, which the duplicate rule merged
 * into its mark: its names row then holds both, and the statement receives the scans. */
static void second_scan(struct fixture *f, int i)
{
    struct upload *u = &f->uploads[i];

    u->scans[MARKS] = u->scans[0];
    u->scans[MARKS].first_name = "Other";
    u->scans[MARKS].sheet = (struct markr_answer_sheet){0};
    u->marks[0].first_name = "Other";
    u->m.scan_count = MARKS + 1;
}

static void *upload_thread(void *arg)
{
    struct upload *u = arg;
    struct markr_vault_entry entry = {.content_type = u->content_type, .body = u->body, .body_len = strlen(u->body),
                                      .result_count = MARKS};

    u->id = -1;
    u->rc = u->store.save_accepted(u->store.ctx, &entry, &u->m, &u->id, &u->err);
    return NULL;
}

/* Waits (at most 20 s) until cond(f, arg) holds. */
static void wait_for(struct fixture *f, int (*cond)(struct fixture *, long), long arg, const char *what)
{
    struct timespec pause = {0, 5 * 1000000L};

    for (int i = 0; i < 4000 && !cond(f, arg); ++i)
        nanosleep(&pause, NULL);
    if (!cond(f, arg))
        fail_msg("never happened: %s", what);
}

static int names_awaited(struct fixture *f, long unused)
{
    (void)unused;
    return count(f, "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'import_names'::regclass") > 0;
}

static int marks_awaited(struct fixture *f, long unused)
{
    (void)unused;
    return count(f, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND datname = current_database()") > 0;
}

static int waiting(struct fixture *f, long n)
{
    struct markr_pg_group_stats s;

    markr_pg_group_stats(f->group, &s);
    return s.waiting == (size_t)n;
}

/* Starts upload 0 while the test holds import_names, so that its transaction waits with the
 * group's one slot; then uploads 1..n-1, each once the one before waits in line. */
static void line_up(struct fixture *f, int n)
{
    exec_ok(f->blocker, "BEGIN");
    exec_ok(f->blocker, "LOCK TABLE import_names IN SHARE MODE");
    assert_int_equal(pthread_create(&f->uploads[0].thread, NULL, upload_thread, &f->uploads[0]), 0);
    wait_for(f, names_awaited, 0, "the first upload waits for import_names");
    for (int i = 1; i < n; ++i) {
        assert_int_equal(pthread_create(&f->uploads[i].thread, NULL, upload_thread, &f->uploads[i]), 0);
        wait_for(f, waiting, i, "the next upload waits in line");
    }
}

static void release(struct fixture *f, int n)
{
    exec_ok(f->blocker, "COMMIT");
    for (int i = 0; i < n; ++i)
        pthread_join(f->uploads[i].thread, NULL);
}

/* Upload i is stored whole under its own id: its row, its body, its marks (raised by it:
 * `marks_by_it` of them name it), its kept sheet, and its names row (with both scans of s0
 * when it has two). */
static void check_stored(struct fixture *f, int i, long marks_by_it)
{
    const struct upload *u = &f->uploads[i];
    char sql[512];

    assert_int_equal(u->rc, 0);
    assert_true(u->id > 0);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM imports WHERE id = %" PRId64 " AND status = 'accepted' AND result_count = %d"
             " AND content_type = '%s' AND size_bytes = %zu AND content_encoding = 'identity'"
             " AND sha256 = sha256(convert_to('%s', 'UTF8'))",
             u->id, MARKS, u->content_type, strlen(u->body), u->body);
    assert_int_equal(count(f, sql), 1);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM import_chunks WHERE import_id = %" PRId64 " AND seq = 0"
             " AND bytes = convert_to('%s', 'UTF8')",
             u->id, u->body);
    assert_int_equal(count(f, sql), 1);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM marks WHERE test_id = '%s' AND import_id = %" PRId64, u->test,
             u->id);
    assert_int_equal(count(f, sql), marks_by_it);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM marks WHERE test_id = '%s' AND student_number = 's0' AND sheet_import_id = %" PRId64
             " AND sheet_responses = '{R}'",
             u->test, u->id);
    assert_int_equal(count(f, sql), marks_by_it > 0 ? 1 : 0);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM import_names WHERE test_id = '%s' AND import_id = %" PRId64 " AND %s", u->test,
             u->id,
             u->m.scan_count > MARKS ? "student_numbers = '{s0,s0,s1,s2}' AND first_names = '{Other,NULL,NULL,NULL}'"
                                     : "student_numbers = '{s0,s1,s2}' AND first_names = '{NULL,NULL,NULL}'");
    assert_int_equal(count(f, sql), 1);
}

/* Reads the announcements that come within a few seconds, n of them expected, into out. */
static void announcements(struct fixture *f, char **out, int n)
{
    struct timespec start, now;
    int got = 0;

    clock_gettime(CLOCK_MONOTONIC, &start);
    while (got < n) {
        struct pollfd p = {.fd = PQsocket(f->listener), .events = POLLIN};
        PGnotify *note;

        PQconsumeInput(f->listener);
        while (got < n && (note = PQnotifies(f->listener)) != NULL) {
            out[got++] = strdup(note->extra);
            PQfreemem(note);
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (got < n && now.tv_sec - start.tv_sec > 20)
            fail_msg("%d announcements of %d", got, n);
        poll(&p, 1, 100);
    }
}

/* Exactly one of the payloads is upload i's, naming its test. */
static void expect_announced(struct fixture *f, char **payloads, int n, int i)
{
    const struct upload *u = &f->uploads[i];
    char id[64], tests[64];
    int found = 0;

    snprintf(id, sizeof(id), "\"import_id\" : %" PRId64 ",", u->id);
    snprintf(tests, sizeof(tests), "\"tests\" : [\"%s\"]", u->test);
    for (int j = 0; j < n; ++j)
        if (strstr(payloads[j], id) != NULL) {
            if (strstr(payloads[j], tests) == NULL)
                fail_msg("announcement of upload %d without its test: %s", i, payloads[j]);
            found++;
        }
    assert_int_equal(found, 1);
}

/* --- tests ---------------------------------------------------------------------------------------- */

/* Uploads 1..5 wait behind upload 0 (test a): 1 (b) leads with 2 (c, with a second scan),
 * and stops at 3, which raises test b again; 3 then leads with 4 (e) and 5 (f). Ids follow
 * the order of arrival. */
static void uploads_waiting_in_line_are_stored_together(void **state)
{
    struct fixture *f = *state;
    struct markr_pg_group_stats s;
    char *payloads[UPLOADS];

    prepare(f, 0, "a", 5, "text/xml+markr");
    prepare(f, 1, "b", 5, "text/xml+markr");
    prepare(f, 2, "c", 6, "application/xml");
    second_scan(f, 2);
    prepare(f, 3, "b", 8, "text/xml+markr");
    prepare(f, 4, "e", 7, "text/xml+markr");
    prepare(f, 5, "f", 7, "text/xml+markr");
    line_up(f, UPLOADS);
    release(f, UPLOADS);
    markr_pg_group_stats(f->group, &s);
    assert_int_equal(s.groups, 2);
    assert_int_equal(s.members, 5);
    assert_int_equal(s.waiting, 0);
    assert_int_equal(s.running, 0);
    for (int i = 1; i < UPLOADS; ++i)
        assert_true(f->uploads[i].id > f->uploads[i - 1].id);
    check_stored(f, 0, MARKS);
    check_stored(f, 1, 0); /* raised since by upload 3 */
    for (int i = 2; i < UPLOADS; ++i)
        check_stored(f, i, MARKS);
    assert_int_equal(count(f, "SELECT count(*) FROM marks WHERE test_id = 'b' AND obtained = 8"), MARKS);
    assert_int_equal(count(f, "SELECT count(*) FROM marks WHERE test_id = 'c' AND first_name = 'Other'"), 1);
    assert_int_equal(count(f, "SELECT count(*) FROM imports"), UPLOADS);
    announcements(f, payloads, UPLOADS);
    for (int i = 0; i < UPLOADS; ++i)
        expect_announced(f, payloads, UPLOADS, i);
    for (int i = 0; i < UPLOADS; ++i)
        free(payloads[i]);
}

/* A trigger refuses any statement that inserts more than one imports row: the group of
 * uploads 1 and 2 fails before its COMMIT, and each is then stored alone. */
static void a_group_that_fails_stores_each_member_alone(void **state)
{
    struct fixture *f = *state;
    struct markr_pg_group_stats s;
    char *payloads[3];

    assert_int_equal(markr_test_db_exec(f->conninfo,
                                        "CREATE SEQUENCE refusals;\n"
                                        "CREATE FUNCTION one_row() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                                        "BEGIN IF (SELECT count(*) FROM new_rows) > 1 THEN PERFORM nextval('refusals');\n"
                                        "    RAISE EXCEPTION 'one imports row at a time'; END IF;\n"
                                        "RETURN NULL; END $$;\n"
                                        "CREATE TRIGGER one_row AFTER INSERT ON imports REFERENCING NEW TABLE AS new_rows\n"
                                        "    FOR EACH STATEMENT EXECUTE FUNCTION one_row()"),
                     0);
    prepare(f, 0, "a", 5, "text/xml+markr");
    prepare(f, 1, "b", 5, "text/xml+markr");
    prepare(f, 2, "c", 6, "text/xml+markr");
    line_up(f, 3);
    release(f, 3);
    markr_pg_group_stats(f->group, &s);
    assert_int_equal(s.groups, 0);
    assert_int_equal(s.running, 0);
    assert_int_equal(count(f, "SELECT last_value FROM refusals WHERE is_called"), 1); /* the group, once */
    for (int i = 0; i < 3; ++i)
        check_stored(f, i, MARKS);
    assert_int_equal(count(f, "SELECT count(*) FROM imports"), 3);
    announcements(f, payloads, 3);
    for (int i = 0; i < 3; ++i)
        expect_announced(f, payloads, 3, i);
    for (int i = 0; i < 3; ++i)
        free(payloads[i]);
}

/* A deferred trigger ends the backend at the COMMIT of the group of uploads 1 and 2 (upload
 * 1's content type marks it), counting the COMMITs that reached it: both are
 * "outcome_unknown", nothing of either is stored or run again, and a flush is announced. */
static void a_group_lost_during_its_commit_leaves_every_outcome_unknown(void **state)
{
    struct fixture *f = *state;
    char *payloads[2];

    assert_int_equal(markr_test_db_exec(f->conninfo,
                                        "CREATE SEQUENCE commits;\n"
                                        "CREATE FUNCTION kill_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                                        "BEGIN IF NEW.content_type = 'text/x-kill' THEN PERFORM nextval('commits');\n"
                                        "    PERFORM pg_terminate_backend(pg_backend_pid()); END IF;\n"
                                        "RETURN NULL; END $$;\n"
                                        "CREATE CONSTRAINT TRIGGER kill_at_commit AFTER INSERT ON imports\n"
                                        "    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION kill_at_commit()"),
                     0);
    prepare(f, 0, "a", 5, "text/xml+markr");
    prepare(f, 1, "b", 5, "text/x-kill");
    prepare(f, 2, "c", 6, "text/xml+markr");
    line_up(f, 3);
    release(f, 3);
    check_stored(f, 0, MARKS);
    for (int i = 1; i < 3; ++i) {
        assert_int_equal(f->uploads[i].rc, -1);
        assert_int_equal(f->uploads[i].err.code, MARKR_ERR_UNAVAILABLE);
        assert_string_equal(f->uploads[i].err.reason, "outcome_unknown");
    }
    assert_int_equal(count(f, "SELECT last_value FROM commits WHERE is_called"), 1); /* one COMMIT, not again */
    assert_int_equal(count(f, "SELECT count(*) FROM imports"), 1);
    assert_int_equal(count(f, "SELECT count(*) FROM marks WHERE test_id <> 'a'"), 0);
    announcements(f, payloads, 2); /* upload 0's, and the flush */
    expect_announced(f, payloads, 2, 0);
    if (strstr(payloads[0], "\"flush\"") == NULL && strstr(payloads[1], "\"flush\"") == NULL)
        fail_msg("no flush: %s / %s", payloads[0], payloads[1]);
    free(payloads[0]);
    free(payloads[1]);
}

/* Upload 0's transaction waits on a mark row the test holds uncommitted; upload 1, through
 * a group of two slots, finds one running and nobody else in line: it waits at most
 * MARKR_PG_GROUP_WAIT_US for company, then is stored alone while upload 0 still waits. */
static void an_upload_without_company_starts_when_its_wait_ends(void **state)
{
    struct fixture *f = *state;
    struct markr_pg_group *two = markr_pg_group_new(2);
    struct markr_pg_group_stats s;

    assert_non_null(two);
    for (int i = 0; i < 2; ++i)
        markr_pg_group_attach(f->uploads[i].pg, two);
    prepare(f, 0, "a", 5, "text/xml+markr");
    prepare(f, 1, "b", 5, "text/xml+markr");
    exec_ok(f->blocker, "BEGIN");
    exec_ok(f->blocker, "INSERT INTO marks (test_id, student_number, available, obtained, import_id)"
                        " VALUES ('a', 's0', 10, 1, 1)");
    assert_int_equal(pthread_create(&f->uploads[0].thread, NULL, upload_thread, &f->uploads[0]), 0);
    wait_for(f, marks_awaited, 0, "the first upload waits for the test's row");
    assert_int_equal(pthread_create(&f->uploads[1].thread, NULL, upload_thread, &f->uploads[1]), 0);
    pthread_join(f->uploads[1].thread, NULL);
    check_stored(f, 1, MARKS);
    markr_pg_group_stats(two, &s);
    assert_int_equal(s.running, 1); /* upload 0's, still waiting */
    assert_int_equal(s.groups, 0);
    exec_ok(f->blocker, "ROLLBACK");
    pthread_join(f->uploads[0].thread, NULL);
    check_stored(f, 0, MARKS);
    markr_pg_group_stats(two, &s);
    assert_int_equal(s.running, 0);
    for (int i = 0; i < 2; ++i)
        markr_pg_group_attach(f->uploads[i].pg, f->group);
    markr_pg_group_free(two);
}

/* Each of UPLOADS threads stores ROUNDS uploads of tests of its own, through a group of two
 * slots: whether they meet in line depends on the machine, but every one is stored whole,
 * and afterwards no slot is held and nobody waits. */
#define ROUNDS 40

static struct markr_pg_group *shared_group;

static void *rounds_thread(void *arg)
{
    struct upload *u = arg;

    for (int r = 0; r < ROUNDS; ++r) {
        struct markr_vault_entry entry = {.content_type = u->content_type, .body = u->body,
                                          .body_len = strlen(u->body), .result_count = MARKS};
        char *test = (char *)u->tests[0];
        int64_t id = -1;

        snprintf(test, 16, "%c%d", u->body[0], r);
        if (u->store.save_accepted(u->store.ctx, &entry, &u->m, &id, &u->err) != 0 || id <= 0) {
            u->rc = -1;
            return NULL;
        }
    }
    u->rc = 0;
    return NULL;
}

static void uploads_of_many_threads_through_two_slots_are_all_stored(void **state)
{
    struct fixture *f = *state;
    struct markr_pg_group_stats s;
    static char tests[UPLOADS][16];

    shared_group = markr_pg_group_new(2);
    assert_non_null(shared_group);
    for (int i = 0; i < UPLOADS; ++i) {
        prepare(f, i, tests[i], 5, "text/xml+markr");
        markr_pg_group_attach(f->uploads[i].pg, shared_group);
        f->uploads[i].body[0] = (char)('k' + i); /* each thread's tests: its own letter */
        for (int j = 0; j < MARKS; ++j) {
            f->uploads[i].scans[j].test_id = tests[i];
            f->uploads[i].marks[j].test_id = tests[i];
        }
    }
    for (int i = 0; i < UPLOADS; ++i)
        assert_int_equal(pthread_create(&f->uploads[i].thread, NULL, rounds_thread, &f->uploads[i]), 0);
    for (int i = 0; i < UPLOADS; ++i)
        pthread_join(f->uploads[i].thread, NULL);
    for (int i = 0; i < UPLOADS; ++i)
        if (f->uploads[i].rc != 0)
            fail_msg("thread %d: %s", i, f->uploads[i].err.message);
    markr_pg_group_stats(shared_group, &s);
    assert_int_equal(s.running, 0);
    assert_int_equal(s.waiting, 0);
    assert_int_equal(count(f, "SELECT count(*) FROM imports"), UPLOADS * ROUNDS);
    assert_int_equal(count(f, "SELECT count(DISTINCT test_id) FROM marks"), UPLOADS * ROUNDS);
    assert_int_equal(count(f, "SELECT count(*) FROM marks AS m JOIN import_names AS n"
                              " ON n.test_id = m.test_id AND n.import_id = m.import_id"
                              " AND m.sheet_import_id = m.import_id"),
                     UPLOADS * ROUNDS * MARKS);
    assert_int_equal(count(f, "SELECT count(*) FROM imports AS i JOIN import_chunks AS c ON c.import_id = i.id"
                              " WHERE i.size_bytes = length(c.bytes) AND i.sha256 = sha256(c.bytes)"),
                     UPLOADS * ROUNDS);
    for (int i = 0; i < UPLOADS; ++i)
        markr_pg_group_attach(f->uploads[i].pg, f->group);
    markr_pg_group_free(shared_group);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(uploads_waiting_in_line_are_stored_together, setup, teardown),
        cmocka_unit_test_setup_teardown(a_group_that_fails_stores_each_member_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(a_group_lost_during_its_commit_leaves_every_outcome_unknown, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(an_upload_without_company_starts_when_its_wait_ends, setup, teardown),
        cmocka_unit_test_setup_teardown(uploads_of_many_threads_through_two_slots_are_all_stored, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
