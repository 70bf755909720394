/*
 * The connection of the PostgreSQL adapter against a real server, one fresh migrated
 * database per test: a connection the server closed while idle is reopened before anything
 * is sent on it; a connection lost inside a transaction, before its COMMIT, runs the whole
 * transaction again once (stored once, reported as success), also when it is lost between
 * the last statement and the COMMIT; a connection lost during the COMMIT is
 * "outcome_unknown" and never run again; the server's notices, those sent while the
 * connection starts included, are logfmt lines with a level; a session runs without JIT
 * unless the conninfo's options say otherwise. The backend is ended by the
 * server itself (pg_terminate_backend from a trigger) or from another session at a point
 * the test chooses, so each case happens exactly where the test says.
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
#include <unistd.h>

#include "domain/document.h"
#include "interfaces/observe/log.h"
#include "interfaces/pg/pg_chunks.h"
#include "interfaces/pg/pg_internal.h"
#include "interfaces/pg/pg_migrate.h"
#include "interfaces/pg/pg_store.h"
#include "test_db.h"

struct fixture {
    char *conninfo;
    struct markr_pg *pg;
    struct markr_import_store store;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct markr_error err;

    f->conninfo = markr_test_db_create("pg_conn");
    if ((f->pg = markr_pg_connect(f->conninfo, &err)) == NULL ||
        markr_pg_migrate(f->pg, getenv("MARKR_MIGRATIONS_DIR"), NULL, &err) != 0) {
        fprintf(stderr, "set-up: %s\n", err.message);
        return -1;
    }
    f->store = markr_pg_import_store(f->pg);
    *state = f;
    return 0;
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

static long value_long(const struct fixture *f, const char *sql)
{
    char *v = markr_test_db_value(f->conninfo, sql);
    long n = v != NULL ? atol(v) : -1;

    free(v);
    return n;
}

/* One accepted document of one mark for test, stored through the import store. Returns
 * save_accepted's status, with err and *id as it left them. */
static int save_body(struct fixture *f, const char *test, const char *body, size_t len, int64_t *id,
                     struct markr_error *err)
{
    struct markr_vault_entry entry = {.content_type = "text/xml+markr", .body = body, .body_len = len,
                                      .result_count = 1};
    const char *tests[] = {test};
    struct markr_mark mark = {0};
    struct markr_marks marks = {.marks = &mark, .count = 1, .students = 1, .tests = tests, .test_count = 1};
    int rc;

    mark.test_id = test;
    mark.student_number = "s1";
    mark.available = 20;
    mark.obtained = 10;
    markr_error_clear(err);
    *id = 0;
    rc = f->store.save_accepted(f->store.ctx, &entry, &marks, id, err);
    return rc;
}

static int save_one(struct fixture *f, const char *test, int64_t *id, struct markr_error *err)
{
    static const char body[] = "<mcq-test-results/>";

    return save_body(f, test, body, sizeof(body) - 1, id, err);
}

/* The same with a body larger than a chunk: BEGIN and the vault row go as a first batch with
 * no COMMIT, the body by COPY, then the batch that carries the COMMIT. */
static int save_large(struct fixture *f, const char *test, int64_t *id, struct markr_error *err)
{
    size_t len = MARKR_PG_CHUNK_BYTES + 4321;
    char *body = malloc(len);
    int rc;

    assert_non_null(body);
    memset(body, 'x', len);
    rc = save_body(f, test, body, len, id, err);
    free(body);
    return rc;
}

/* Waits (at most 20 s) until the backend pid is gone: its socket is closed by then. */
static void wait_gone(const struct fixture *f, long pid)
{
    char sql[128];
    struct timespec pause = {0, 10 * 1000000L};

    snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_stat_activity WHERE pid = %ld", pid);
    for (int i = 0; i < 2000 && value_long(f, sql) != 0; ++i)
        nanosleep(&pause, NULL);
    assert_int_equal(value_long(f, sql), 0);
}

static long backend_pid(struct fixture *f)
{
    return (long)PQbackendPID(f->pg->conn);
}

static void an_idle_connection_the_server_closed_is_reopened_first(void **state)
{
    struct fixture *f = *state;
    struct markr_error err;
    char sql[128];
    long pid = backend_pid(f);
    int64_t id;

    snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%ld)", pid);
    assert_int_equal(markr_test_db_exec(f->conninfo, sql), 0);
    wait_gone(f, pid);
    assert_int_equal(markr_pg_ensure(f->pg, &err), 0);
    assert_int_equal(PQstatus(f->pg->conn), CONNECTION_OK);
    assert_true(backend_pid(f) != pid); /* a new backend, before any statement was sent */
    assert_int_equal(save_one(f, "idle-kill", &id, &err), 0);
    assert_int_equal(err.code, MARKR_OK);
    assert_true(id > 0);
    assert_int_equal(value_long(f, "SELECT count(*) FROM marks WHERE test_id = 'idle-kill'"), 1);
}

/* The first row inserted into table (after this call) ends its own backend; later ones do
 * not. The sequence kills counts the inserts tried. */
static void kill_once_at_insert(struct fixture *f, const char *table)
{
    char sql[1024];

    snprintf(sql, sizeof(sql),
             "CREATE SEQUENCE kills;\n"
             "CREATE FUNCTION kill_once() RETURNS trigger LANGUAGE plpgsql AS $$\n"
             "BEGIN\n"
             "  IF nextval('kills') = 1 THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF;\n"
             "  RETURN NEW;\n"
             "END $$;\n"
             "CREATE TRIGGER kill_once BEFORE INSERT ON %s FOR EACH ROW EXECUTE FUNCTION kill_once();",
             table);
    assert_int_equal(markr_test_db_exec(f->conninfo, sql), 0);
}

/* The first INSERT of the import's transaction ends its own backend, once. */
static void a_connection_lost_before_the_commit_runs_the_transaction_again_once(void **state)
{
    struct fixture *f = *state;
    struct markr_error err;
    int64_t id;

    kill_once_at_insert(f, "imports");
    assert_int_equal(save_one(f, "step-kill", &id, &err), 0);
    assert_int_equal(err.code, MARKR_OK); /* a success says nothing of the failure before it */
    assert_true(id > 0);
    assert_int_equal(value_long(f, "SELECT last_value FROM kills"), 2); /* run twice */
    assert_int_equal(value_long(f, "SELECT count(*) FROM imports"), 1); /* stored once */
    assert_int_equal(value_long(f, "SELECT count(*) FROM marks WHERE test_id = 'step-kill'"), 1);
}

/* A step that writes a row, then (the first time only) has its own backend terminated from
 * another session and waits until it is gone: the transaction sits idle between its last
 * statement and its COMMIT, as when an operator kills an idle-in-transaction session. */
struct killed_between {
    struct fixture *f;
    int runs;
};

static int write_then_be_killed(struct markr_pg *pg, void *arg, struct markr_error *err)
{
    struct killed_between *k = arg;
    char sql[128];
    long pid = (long)PQbackendPID(pg->conn);

    ++k->runs;
    if (markr_pg_command(pg, "writing a row", "INSERT INTO scratch VALUES (1)", NULL, err) != 0)
        return -1;
    if (k->runs == 1) {
        snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%ld)", pid);
        assert_int_equal(markr_test_db_exec(k->f->conninfo, sql), 0);
        wait_gone(k->f, pid);
    }
    return 0;
}

static void a_connection_lost_between_the_last_statement_and_the_commit_runs_it_again(void **state)
{
    struct fixture *f = *state;
    struct killed_between k = {.f = f};
    struct markr_error err;

    assert_int_equal(markr_test_db_exec(f->conninfo, "CREATE TABLE scratch (x int)"), 0);
    /* The COMMIT is never sent into the closed connection: the outcome is known. */
    assert_int_equal(markr_pg_transaction(f->pg, "writing a row", write_then_be_killed, &k, &err), 0);
    assert_int_equal(err.code, MARKR_OK);
    assert_int_equal(k.runs, 2);
    assert_int_equal(value_long(f, "SELECT count(*) FROM scratch"), 1);
}

/* Lost again on the second run: the failure is reported, nothing is stored. */
static void a_connection_lost_twice_is_reported(void **state)
{
    struct fixture *f = *state;
    struct markr_error err;
    int64_t id;

    assert_int_equal(markr_test_db_exec(f->conninfo,
                                        "CREATE SEQUENCE kills;\n"
                                        "CREATE FUNCTION kill_always() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                                        "BEGIN PERFORM nextval('kills'); PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NEW; END $$;\n"
                                        "CREATE TRIGGER kill_always BEFORE INSERT ON imports FOR EACH ROW EXECUTE FUNCTION kill_always();"),
                     0);
    assert_int_equal(save_one(f, "step-kill", &id, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_UNAVAILABLE);
    assert_string_equal(err.reason, "database_unavailable");
    assert_int_equal(value_long(f, "SELECT last_value FROM kills"), 2);
    assert_int_equal(value_long(f, "SELECT count(*) FROM imports"), 0);
}

/* A deferred constraint trigger that ends its own backend inside the COMMIT, counting how
 * many times a COMMIT reached it (sequence commits). */
static const char kill_at_commit_sql[] =
    "CREATE SEQUENCE commits;\n"
    "CREATE FUNCTION kill_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$\n"
    "BEGIN PERFORM nextval('commits'); PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NULL; END $$;\n"
    "CREATE CONSTRAINT TRIGGER kill_at_commit AFTER INSERT ON imports\n"
    "  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION kill_at_commit();";

/* A deferred constraint trigger ends the backend inside the COMMIT: the client cannot know
 * whether it committed, so the transaction is not run again. */
static void a_connection_lost_during_the_commit_is_outcome_unknown(void **state)
{
    struct fixture *f = *state;
    struct markr_error err;
    int64_t id;

    assert_int_equal(markr_test_db_exec(f->conninfo,
                                        kill_at_commit_sql),
                     0);
    assert_int_equal(save_one(f, "commit-kill", &id, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_UNAVAILABLE);
    assert_string_equal(err.reason, "outcome_unknown");
    assert_non_null(strstr(err.message, "GET /imports"));
    assert_int_equal(id, 0);
    assert_int_equal(value_long(f, "SELECT last_value FROM commits"), 1); /* one COMMIT, not run again */
    assert_int_equal(value_long(f, "SELECT count(*) FROM imports"), 0);
    /* The connection is made again for whatever comes next. */
    assert_int_equal(markr_test_db_exec(f->conninfo, "DROP TRIGGER kill_at_commit ON imports"), 0);
    assert_int_equal(save_one(f, "commit-kill", &id, &err), 0);
    assert_int_equal(value_long(f, "SELECT count(*) FROM imports"), 1);
}

/* The body's COPY ends its own backend, once: only the first batch (BEGIN and the vault row,
 * no COMMIT) was sent, so nothing can have committed and the whole import runs again. */
static void a_connection_lost_before_the_batch_with_the_commit_runs_it_again(void **state)
{
    struct fixture *f = *state;
    struct markr_error err;
    int64_t id;

    kill_once_at_insert(f, "import_chunks");
    assert_int_equal(save_large(f, "copy-kill", &id, &err), 0);
    assert_int_equal(err.code, MARKR_OK);
    assert_true(id > 0);
    assert_true(value_long(f, "SELECT last_value FROM kills") > 1); /* the COPY ran again */
    assert_int_equal(value_long(f, "SELECT count(*) FROM imports"), 1);
    assert_int_equal(value_long(f, "SELECT count(*) FROM import_chunks"), 2);
    assert_int_equal(value_long(f, "SELECT count(*) FROM marks WHERE test_id = 'copy-kill'"), 1);
}

/* The same import lost at its COMMIT, after the batch that carries it was sent: not run
 * again (the first batch, without a COMMIT, does not make it retryable), outcome unknown. */
static void a_connection_lost_after_the_batch_with_the_commit_is_outcome_unknown(void **state)
{
    struct fixture *f = *state;
    struct markr_error err;
    int64_t id;

    assert_int_equal(markr_test_db_exec(f->conninfo,
                                        kill_at_commit_sql),
                     0);
    assert_int_equal(save_large(f, "large-commit-kill", &id, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_UNAVAILABLE);
    assert_string_equal(err.reason, "outcome_unknown");
    assert_int_equal(value_long(f, "SELECT last_value FROM commits"), 1); /* one COMMIT, not run again */
    assert_int_equal(value_long(f, "SELECT count(*) FROM imports"), 0);
}

/* stderr into a file while the test looks at what is logged. */
struct capture {
    char path[32];
    int fd, saved;
};

static void capture_start(struct capture *c)
{
    snprintf(c->path, sizeof(c->path), "/tmp/markr-pg-conn-XXXXXX");
    c->fd = mkstemp(c->path);
    c->saved = dup(STDERR_FILENO);
    assert_true(c->fd >= 0 && c->saved >= 0);
    fflush(stderr);
    dup2(c->fd, STDERR_FILENO);
}

/* Puts stderr back; returns what was written meanwhile (malloc'd). */
static char *capture_end(struct capture *c)
{
    char *text = calloc(1, 65536);
    FILE *in;

    fflush(stderr);
    dup2(c->saved, STDERR_FILENO);
    close(c->saved);
    close(c->fd);
    assert_non_null(text);
    assert_non_null(in = fopen(c->path, "r"));
    if (fread(text, 1, 65535, in) == 0)
        text[0] = '\0';
    fclose(in);
    unlink(c->path);
    return text;
}

/* Runs sql on the fixture's connection with stderr sent to a file; returns what was logged. */
static char *logged_while(struct fixture *f, const char *sql)
{
    struct capture c;
    struct markr_error err;
    int rc;

    capture_start(&c);
    rc = markr_pg_command(f->pg, "raising notices", sql, NULL, &err);
    {
        char *text = capture_end(&c);

        assert_int_equal(rc, 0);
        return text;
    }
}

static void notices_are_log_lines_with_a_level(void **state)
{
    struct fixture *f = *state;
    char *log = logged_while(f, "DO $$ BEGIN RAISE NOTICE 'just so you know: %', 42; "
                                "RAISE WARNING 'careful' USING DETAIL = 'two\nlines'; END $$");

    assert_non_null(strstr(log, "level=info msg=\"database notice\" connection=markr severity=NOTICE sqlstate=00000 "
                                "message=\"just so you know: 42\"\n"));
    assert_non_null(strstr(log, "level=warn msg=\"database notice\" connection=markr severity=WARNING sqlstate=01000 "
                                "message=careful detail=\"two lines\"\n"));
    assert_null(strstr(log, "NOTICE:  ")); /* libpq's default printer is not used */
    free(log);
}

/* The server sends notices while the connection starts, before any statement (here the
 * DEBUG lines of its start-up transaction): they are log lines too. */
static void notices_at_connection_start_are_log_lines(void **state)
{
    struct fixture *f = *state;
    struct capture c;
    struct markr_error err;
    struct markr_pg *pg;
    char conninfo[1024];
    char *log;

    snprintf(conninfo, sizeof(conninfo), "%s options='-c client_min_messages=debug5'", f->conninfo);
    markr_log_set_level(MARKR_LOG_DEBUG);
    capture_start(&c);
    pg = markr_pg_connect(conninfo, &err);
    log = capture_end(&c);
    markr_log_set_level(MARKR_LOG_INFO);
    assert_non_null(pg);
    markr_pg_close(pg);
    assert_non_null(strstr(log, "level=debug msg=\"database notice\" connection=markr severity=DEBUG sqlstate=00000 "
                                "message=\"CommitTransaction"));
    assert_null(strstr(log, "DEBUG:  "));
    free(log);
}

/* A setting of the session as markr's connection sees it (malloc'd). */
static char *session_setting(struct markr_pg *pg, const char *name)
{
    PGresult *res = PQexecParams(pg->conn, "SELECT current_setting($1)", 1, NULL, &name, NULL, NULL, 0);
    char *v;

    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    v = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return v;
}

static void connections_run_without_jit_unless_the_options_say_otherwise(void **state)
{
    struct fixture *f = *state;
    struct markr_error err;
    struct markr_pg *pg;
    char conninfo[1024];
    char *v;

    /* The server's default is on, as a plain libpq session sees it. */
    assert_string_equal(v = markr_test_db_value(f->conninfo, "SHOW jit"), "on");
    free(v);
    assert_string_equal(v = session_setting(f->pg, "jit"), "off");
    free(v);
    snprintf(conninfo, sizeof(conninfo), "%s options='-c jit=on'", f->conninfo);
    assert_non_null(pg = markr_pg_connect(conninfo, &err));
    assert_string_equal(v = session_setting(pg, "jit"), "on");
    free(v);
    markr_pg_close(pg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(an_idle_connection_the_server_closed_is_reopened_first, setup, teardown),
        cmocka_unit_test_setup_teardown(a_connection_lost_before_the_commit_runs_the_transaction_again_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_connection_lost_between_the_last_statement_and_the_commit_runs_it_again,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_connection_lost_twice_is_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(a_connection_lost_during_the_commit_is_outcome_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(a_connection_lost_before_the_batch_with_the_commit_runs_it_again, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_connection_lost_after_the_batch_with_the_commit_is_outcome_unknown, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(notices_are_log_lines_with_a_level, setup, teardown),
        cmocka_unit_test_setup_teardown(notices_at_connection_start_are_log_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(connections_run_without_jit_unless_the_options_say_otherwise,
                                        setup, teardown),
    };

    return cmocka_run_group_tests_name("pg_conn", tests, NULL, NULL);
}
