/*
 * Migrations against a real PostgreSQL, one fresh database per test: a fresh database gets
 * every file, a re-run changes nothing, --status tells applied from pending, an edited file
 * or an applied version without a file is refused by name, a failing file leaves nothing,
 * two migrators at once apply each file once, and the migrations that move data keep it: 0014
 * (the answer sheets into the marks rows) every sheet, 0015 every name it regroups; ANALYZE
 * leaves the arrays alone (0016); and 0017 drops import_tests only when import_names holds
 * each of its pairs, refusing with nothing changed otherwise.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "interfaces/pg/pg_migrate.h"
#include "interfaces/pg/pg_store.h"
#include "test_db.h"

struct fixture {
    char *conninfo;
    struct markr_pg *pg;
    char dir[64]; /* a private copy of the migrations, which a test may edit */
};

static const char *migrations_dir(void)
{
    const char *dir = getenv("MARKR_MIGRATIONS_DIR");

    if (dir == NULL) {
        fprintf(stderr, "MARKR_MIGRATIONS_DIR is not set (meson sets it to <source>/migrations)\n");
        abort();
    }
    return dir;
}

static void write_file(const char *dir, const char *name, const char *text, const char *mode)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, mode);
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* The number of the project's migration files (numbered 0001 up without gaps). */
static int project_migrations(void)
{
    DIR *d = opendir(migrations_dir());
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);

        n += len > 4 && strcmp(e->d_name + len - 4, ".sql") == 0;
    }
    closedir(d);
    return n;
}

/* The highest version among the project's migrations (numbers may skip one that another
 * branch holds, so this is not always their count). */
static int project_latest(void)
{
    DIR *d = opendir(migrations_dir());
    struct dirent *e;
    int latest = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        int v = atoi(e->d_name);

        if (len > 4 && strcmp(e->d_name + len - 4, ".sql") == 0 && v > latest)
            latest = v;
    }
    closedir(d);
    return latest;
}

/* Copies the project's migrations of versions from..to into dir. The mechanics below are
 * proved on the first one and on files the tests write, whatever later migrations the
 * project adds; a conversion is proved by applying the files before it, then it. */
static void copy_migrations(const char *dir, int from, int to)
{
    DIR *d = opendir(migrations_dir());
    struct dirent *e;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        char path[512], *text;
        FILE *f;
        long size;

        size_t len = strlen(e->d_name);
        int v = atoi(e->d_name);

        if (len <= 4 || strcmp(e->d_name + len - 4, ".sql") != 0 || v < from || v > to)
            continue;
        snprintf(path, sizeof(path), "%s/%s", migrations_dir(), e->d_name);
        assert_non_null(f = fopen(path, "rb"));
        fseek(f, 0, SEEK_END);
        size = ftell(f);
        rewind(f);
        assert_non_null(text = calloc(1, (size_t)size + 1));
        assert_int_equal(fread(text, 1, (size_t)size, f), (size_t)size);
        fclose(f);
        write_file(dir, e->d_name, text, "wb");
        free(text);
    }
    closedir(d);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct markr_error err;

    f->conninfo = markr_test_db_create("pg_migrate");
    if ((f->pg = markr_pg_connect(f->conninfo, &err)) == NULL) {
        fprintf(stderr, "connect: %s\n", err.message);
        return -1;
    }
    snprintf(f->dir, sizeof(f->dir), "/tmp/markr-migrations-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    copy_migrations(f->dir, 1, 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    DIR *d = opendir(f->dir);
    struct dirent *e;

    while (d != NULL && (e = readdir(d)) != NULL) {
        char path[512];

        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", f->dir, e->d_name);
        unlink(path);
    }
    if (d != NULL)
        closedir(d);
    rmdir(f->dir);
    markr_pg_close(f->pg);
    markr_test_db_drop(f->conninfo);
    free(f->conninfo);
    free(f);
    return 0;
}

/* Migrates (or reads the status), catching the output in a malloc'd string. */
static int migrate_to_string(struct fixture *f, const char *dir, char **out, struct markr_error *err)
{
    size_t len;
    FILE *log = open_memstream(out, &len);
    int rc = markr_pg_migrate(f->pg, dir, log, err);

    fclose(log);
    return rc;
}

static int status_to_string(struct fixture *f, const char *dir, char **out, struct markr_error *err)
{
    size_t len;
    FILE *log = open_memstream(out, &len);
    int rc = markr_pg_migration_status(f->pg, dir, log, err);

    fclose(log);
    return rc;
}

static void assert_value(const char *conninfo, const char *sql, const char *expected)
{
    char *value = markr_test_db_value(conninfo, sql);

    if (value == NULL || strcmp(value, expected) != 0)
        fail_msg("%s\n  gave %s, expected %s", sql, value != NULL ? value : "NULL", expected);
    free(value);
}

static int sql_count(const char *conninfo, const char *sql)
{
    char *value = markr_test_db_value(conninfo, sql);
    int n = value != NULL ? atoi(value) : -1;

    free(value);
    return n;
}

static void migrate_ok(struct fixture *f, const char *dir)
{
    struct markr_error err;
    char *log;

    if (migrate_to_string(f, dir, &log, &err) != 0)
        fail_msg("migrate: %s", err.message);
    free(log);
}

/* --- tests -------------------------------------------------------------------------------------- */

static void fresh_database_gets_every_migration(void **state)
{
    struct fixture *f = *state;
    struct markr_error err;
    char *log;

    assert_int_equal(migrate_to_string(f, migrations_dir(), &log, &err), 0);
    assert_non_null(strstr(log, "applied 0001_initial.sql"));
    free(log);

    /* Every version is the number its file is named with; numbers need not be contiguous
     * (a migration reserved by work not yet merged leaves a gap). */
    assert_value(f->conninfo,
                 "SELECT string_agg(version || ':' || name, ',' ORDER BY version) LIKE '1:0001_initial.sql%' "
                 "AND bool_and(name LIKE lpad(version::text, 4, '0') || '\\_%') FROM schema_migrations",
                 "t");
    assert_int_equal(sql_count(f->conninfo, "SELECT max(version) FROM schema_migrations"), project_latest());
    assert_int_equal(sql_count(f->conninfo, "SELECT count(*) FROM schema_migrations"), project_migrations());
    /* The checksum is the SHA-256 of the file's bytes, in hex. */
    assert_value(f->conninfo, "SELECT checksum ~ '^[0-9a-f]{64}$' FROM schema_migrations", "t");
    assert_value(f->conninfo, "SELECT count(*) FROM pg_tables WHERE tablename IN ('imports', 'marks')", "2");
    /* Bodies (their chunks since 0004) compress with lz4, and the aggregate's index covers the marks. */
    assert_value(f->conninfo,
                 "SELECT attcompression FROM pg_attribute WHERE attrelid = 'import_chunks'::regclass "
                 "AND attname = 'bytes'",
                 "l");
    assert_value(f->conninfo, "SELECT pg_get_indexdef('marks_pkey'::regclass) LIKE '%INCLUDE (available, obtained)'",
                 "t");
    assert_int_equal(markr_migrations_latest(migrations_dir(), &err), project_latest());
}

static void rerun_is_a_no_op(void **state)
{
    struct fixture *f = *state;
    struct markr_error err;
    char *before, *after, *log;

    migrate_ok(f, migrations_dir());
    before = markr_test_db_value(f->conninfo, "SELECT applied_at::text FROM schema_migrations WHERE version = 1");
    assert_int_equal(migrate_to_string(f, migrations_dir(), &log, &err), 0);
    assert_null(strstr(log, "applied 0001"));
    assert_non_null(strstr(log, "nothing to apply"));
    after = markr_test_db_value(f->conninfo, "SELECT applied_at::text FROM schema_migrations WHERE version = 1");
    assert_string_equal(before, after);
    assert_int_equal(sql_count(f->conninfo, "SELECT count(*) FROM schema_migrations"), project_migrations());
    free(log);
    free(before);
    free(after);
}

static void status_lists_pending_then_applied(void **state)
{
    struct fixture *f = *state;
    struct markr_error err;
    char *out;

    /* Read-only: status on a fresh database creates nothing. */
    assert_int_equal(status_to_string(f, f->dir, &out, &err), 1);
    assert_non_null(strstr(out, "pending   0001_initial.sql"));
    free(out);
    assert_value(f->conninfo, "SELECT to_regclass('schema_migrations') IS NULL", "t");

    migrate_ok(f, f->dir);
    assert_int_equal(status_to_string(f, f->dir, &out, &err), 0);
    assert_non_null(strstr(out, "applied   0001_initial.sql"));
    assert_null(strstr(out, "pending"));
    free(out);

    write_file(f->dir, "0002_more.sql", "CREATE TABLE more (x integer);\n", "w");
    assert_int_equal(status_to_string(f, f->dir, &out, &err), 1);
    assert_non_null(strstr(out, "applied   0001_initial.sql"));
    assert_non_null(strstr(out, "pending   0002_more.sql"));
    free(out);
}

static void edited_file_is_refused_by_name(void **state)
{
    struct fixture *f = *state;
    struct markr_error err;
    char *out;

    migrate_ok(f, f->dir);
    write_file(f->dir, "0001_initial.sql", "-- an innocent-looking comment\n", "a");

    assert_int_equal(migrate_to_string(f, f->dir, &out, &err), -1);
    assert_non_null(strstr(err.message, "0001_initial.sql"));
    assert_non_null(strstr(err.message, "edited"));
    assert_string_equal(err.reason, "migration_modified");
    free(out);

    assert_int_equal(status_to_string(f, f->dir, &out, &err), -1);
    assert_non_null(strstr(out, "modified  0001_initial.sql"));
    free(out);

    assert_int_equal(markr_pg_schema_check(f->pg, f->dir, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_UNAVAILABLE);
    assert_non_null(strstr(err.message, "0001_initial.sql"));
}

static void unknown_applied_version_is_refused(void **state)
{
    struct fixture *f = *state;
    struct markr_error err;
    char *out;

    migrate_ok(f, f->dir);
    assert_int_equal(markr_test_db_exec(f->conninfo, "INSERT INTO schema_migrations (version, name, checksum) "
                                                     "VALUES (9999, '9999_from_the_future.sql', 'x')"),
                     0);

    assert_int_equal(migrate_to_string(f, f->dir, &out, &err), -1);
    assert_string_equal(err.reason, "migration_unknown");
    assert_non_null(strstr(err.message, "9999_from_the_future.sql"));
    free(out);

    assert_int_equal(status_to_string(f, f->dir, &out, &err), -1);
    assert_non_null(strstr(out, "unknown   9999"));
    free(out);
    assert_int_equal(markr_pg_schema_check(f->pg, f->dir, &err), -1);
}

static void schema_check_wants_every_file_applied(void **state)
{
    struct fixture *f = *state;
    struct markr_error err;

    assert_int_equal(markr_pg_schema_check(f->pg, f->dir, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_UNAVAILABLE);
    assert_non_null(strstr(err.message, "0001_initial.sql is pending"));

    migrate_ok(f, f->dir);
    assert_int_equal(markr_pg_schema_check(f->pg, f->dir, &err), 0);

    write_file(f->dir, "0002_more.sql", "CREATE TABLE more (x integer);\n", "w");
    assert_int_equal(markr_pg_schema_check(f->pg, f->dir, &err), -1);
    assert_non_null(strstr(err.message, "0002_more.sql is pending"));
}

static void failing_migration_leaves_nothing(void **state)
{
    struct fixture *f = *state;
    struct markr_error err;
    char *out;

    write_file(f->dir, "0002_broken.sql",
               "CREATE TABLE half_done (x integer);\n"
               "INSERT INTO half_done VALUES (1);\n"
               "SELECT no_such_column FROM half_done;\n",
               "w");
    assert_int_equal(migrate_to_string(f, f->dir, &out, &err), -1);
    /* 0001 went through in its own transaction; 0002 left nothing and says where it broke. */
    assert_non_null(strstr(out, "applied 0001_initial.sql"));
    assert_non_null(strstr(err.message, "0002_broken.sql (line 3)"));
    assert_non_null(strstr(err.message, "no_such_column"));
    free(out);
    assert_value(f->conninfo, "SELECT to_regclass('half_done') IS NULL", "t");
    assert_value(f->conninfo, "SELECT max(version) FROM schema_migrations", "1");
    /* The lock was released: the connection goes on working (on the files without 0002). */
    {
        char path[600];

        snprintf(path, sizeof(path), "%s/0002_broken.sql", f->dir);
        assert_int_equal(unlink(path), 0);
    }
    assert_int_equal(markr_pg_schema_check(f->pg, f->dir, &err), 0);
    assert_value(f->conninfo, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                 "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())", "0");
}

static void transaction_control_in_a_file_is_refused(void **state)
{
    struct fixture *f = *state;
    struct markr_error err;
    char *out;

    write_file(f->dir, "0002_commits.sql", "CREATE TABLE sneaky (x integer);\nCOMMIT;\n", "w");
    assert_int_equal(migrate_to_string(f, f->dir, &out, &err), -1);
    assert_string_equal(err.reason, "migration_transaction");
    assert_non_null(strstr(err.message, "0002_commits.sql"));
    free(out);
    assert_value(f->conninfo, "SELECT max(version) FROM schema_migrations", "1");
}

static void badly_named_or_duplicate_files_are_refused(void **state)
{
    struct fixture *f = *state;
    struct markr_error err;
    char *out, path[128];

    write_file(f->dir, "README.md", "not a migration\n", "w"); /* ignored */
    assert_int_equal(markr_migrations_latest(f->dir, &err), 1);

    write_file(f->dir, "2_oops.sql", "SELECT 1;\n", "w");
    assert_int_equal(markr_migrations_latest(f->dir, &err), -1);
    assert_non_null(strstr(err.message, "2_oops.sql"));
    assert_int_equal(migrate_to_string(f, f->dir, &out, &err), -1);
    free(out);
    assert_value(f->conninfo, "SELECT count(*) FROM schema_migrations", "0");

    snprintf(path, sizeof(path), "%s/2_oops.sql", f->dir);
    assert_int_equal(unlink(path), 0);
    write_file(f->dir, "0001_again.sql", "SELECT 1;\n", "w");
    assert_int_equal(markr_migrations_latest(f->dir, &err), -1);
    assert_string_equal(err.reason, "migration_duplicate");

    assert_int_equal(markr_migrations_latest("/nonexistent/migrations", &err), -1);
    assert_non_null(strstr(err.message, "/nonexistent/migrations"));
}

static void oversized_file_is_refused(void **state)
{
    struct fixture *f = *state;
    struct markr_error err;
    char *big = malloc(1024 * 1024 + 2), *out;

    memset(big, '-', 1024 * 1024 + 1);
    big[1024 * 1024 + 1] = '\0';
    write_file(f->dir, "0002_huge.sql", big, "w");
    free(big);
    assert_int_equal(migrate_to_string(f, f->dir, &out, &err), -1);
    assert_string_equal(err.reason, "migration_too_large");
    free(out);
}

struct racer {
    const char *conninfo;
    const char *dir;
    int rc;
    char message[MARKR_ERROR_MESSAGE_MAX];
};

static void *race(void *arg)
{
    struct racer *r = arg;
    struct markr_error err;
    struct markr_pg *pg = markr_pg_connect(r->conninfo, &err);

    r->rc = pg != NULL ? markr_pg_migrate(pg, r->dir, NULL, &err) : -1;
    if (r->rc != 0)
        snprintf(r->message, sizeof(r->message), "%s", err.message);
    markr_pg_close(pg);
    return NULL;
}

/* 0015 groups the names rows of 0002 (one per name) into one row per (test, import), with
 * each import's distinct names of that test in student-number order, parallel arrays. */
static void names_rows_are_grouped_per_test_and_import(void **state)
{
    struct fixture *f = *state;

    copy_migrations(f->dir, 2, 14);
    migrate_ok(f, f->dir);
    assert_int_equal(markr_test_db_exec(f->conninfo,
                                        "INSERT INTO import_names (test_id, student_number, first_name, last_name, "
                                        "import_id) VALUES ('t', '9', 'Ann', NULL, 1), ('t', '10', NULL, 'Bo', 1), "
                                        "('t', '2', 'Cy', 'Day', 1), ('t', '2', 'Cy', NULL, 1), ('u', '2', 'Cy', "
                                        "'Day', 1), ('t', '2', 'Eve', 'Fox', 2), ('t', '2', 'Eve', 'Fox', 2), "
                                        "('t', '5', NULL, NULL, 3)"),
                     0);
    copy_migrations(f->dir, 15, 15);
    migrate_ok(f, f->dir);
    assert_value(f->conninfo,
                 "SELECT string_agg(concat_ws(':', test_id, import_id, student_numbers, first_names, last_names), ' ' "
                 "ORDER BY test_id, import_id) FROM import_names",
                 "t:1:{10,2,2,9}:{NULL,Cy,Cy,Ann}:{Bo,Day,NULL,NULL} t:2:{2}:{Eve}:{Fox} t:3:{5}:{NULL}:{NULL} "
                 "u:1:{2}:{Cy}:{Day}");
    /* Nothing of 0002's layout is left; the clearing of an import reads the index by import. */
    assert_int_equal(sql_count(f->conninfo, "SELECT count(*) FROM pg_class WHERE relname IN ('import_names_0002', "
                                            "'import_names_student_idx')"),
                     0);
    assert_value(f->conninfo, "SELECT indexdef FROM pg_indexes WHERE indexname = 'import_names_import_idx'",
                 "CREATE INDEX import_names_import_idx ON public.import_names USING btree (import_id)");
    /* The arrays are parallel, not empty, and hold no NULL student number. */
    assert_int_equal(markr_test_db_exec(f->conninfo, "INSERT INTO import_names VALUES ('v', 1, '{a,NULL}', '{x,y}', '{x,y}')"),
                     -1);
    assert_int_equal(markr_test_db_exec(f->conninfo, "INSERT INTO import_names VALUES ('v', 1, '{a,b}', '{x}', '{x,y}')"),
                     -1);
    assert_int_equal(markr_test_db_exec(f->conninfo, "INSERT INTO import_names VALUES ('v', 1, '{}', '{}', '{}')"), -1);
    assert_int_equal(markr_test_db_exec(f->conninfo, "INSERT INTO import_names VALUES ('v', 1, '{a}', '{NULL}', '{y}')"),
                     0);
}

static void concurrent_migrators_apply_each_file_once(void **state)
{
    struct fixture *f = *state;
    struct racer racers[4];
    pthread_t threads[4];

    for (int i = 0; i < 4; ++i) {
        racers[i] = (struct racer){.conninfo = f->conninfo, .dir = f->dir};
        assert_int_equal(pthread_create(&threads[i], NULL, race, &racers[i]), 0);
    }
    for (int i = 0; i < 4; ++i) {
        pthread_join(threads[i], NULL);
        if (racers[i].rc != 0)
            fail_msg("migrator %d: %s", i, racers[i].message);
    }
    assert_value(f->conninfo, "SELECT count(*) FROM schema_migrations", "1");
}

/* Migration 0014 copies each kept sheet of answer_sheets into its marks row (the arrays as
 * they were, compressed or not, with the sheet's import and total), leaves a mark without
 * one, or whose row is not of the mark's obtained, with no sheet recorded, and drops the
 * table but not the parameters' type. The new CHECK keeps the arrays parallel and not
 * empty. */
static void migration_0014_moves_the_sheets_into_the_marks(void **state)
{
    struct fixture *f = *state;

    copy_migrations(f->dir, 2, 13);
    migrate_ok(f, f->dir);
    assert_int_equal(markr_test_db_exec(f->conninfo,
                                        "INSERT INTO marks (test_id, student_number, available, obtained, import_id)"
                                        " VALUES ('t', 's1', 3, 2, 7), ('t', 's2', 3, 3, 9), ('t', 's3', 3, 3, 9),"
                                        " ('u', 's1', 300, 300, 9);"
                                        "INSERT INTO answer_sheets VALUES"
                                        " ('t', 's1', 2, 7, 2, '{q1,q2,q3}', '{A,\"\",C}', '{1,1,0}', '{1,1,1}'),"
                                        " ('t', 's3', 2, 7, 2, '{q1}', '{A}', '{2}', '{2}'),"
                                        " ('u', 's1', 300, 9, 300, (SELECT array_agg('q' || g) FROM generate_series(1, 300) g),"
                                        "  array_fill('B'::text, ARRAY[300]), array_fill(1, ARRAY[300]),"
                                        "  array_fill(1, ARRAY[300]))"),
                     0);
    copy_migrations(f->dir, 14, 14);
    migrate_ok(f, f->dir);
    assert_value(f->conninfo,
                 "SELECT count(*) FROM marks WHERE test_id = 't' AND student_number = 's1' AND sheet_import_id = 7"
                 " AND sheet_total = 2 AND sheet_questions = '{q1,q2,q3}' AND sheet_responses = ARRAY['A', '', 'C']"
                 " AND sheet_awarded = '{1,1,0}' AND sheet_available = '{1,1,1}' AND obtained = 2 AND import_id = 7",
                 "1");
    assert_value(f->conninfo,
                 "SELECT count(*) FROM marks WHERE test_id = 't' AND student_number IN ('s2', 's3')"
                 " AND num_nulls(sheet_import_id, sheet_total, sheet_questions, sheet_responses, sheet_awarded,"
                 " sheet_available) = 6",
                 "2");
    assert_value(f->conninfo,
                 "SELECT count(*) FROM marks WHERE test_id = 'u' AND sheet_import_id = 9 AND sheet_total = 300"
                 " AND cardinality(sheet_questions) = 300 AND sheet_questions[300] = 'q300'"
                 " AND sheet_responses = array_fill('B'::text, ARRAY[300]) AND sheet_awarded[300] = 1",
                 "1");
    assert_value(f->conninfo, "SELECT to_regclass('answer_sheets') IS NULL AND to_regtype('answer_sheet_columns') "
                              "IS NOT NULL", "t");
    /* The arrays stay parallel, as the old table's CHECK kept them. */
    assert_int_equal(markr_test_db_exec(f->conninfo, "UPDATE marks SET sheet_awarded = '{1}' WHERE test_id = 't'"
                                                     " AND student_number = 's1'"),
                     -1);
    assert_int_equal(markr_test_db_exec(f->conninfo, "UPDATE marks SET sheet_questions = sheet_questions[1:299]"
                                                     " WHERE test_id = 'u'"),
                     -1);
    assert_int_equal(markr_test_db_exec(f->conninfo, "UPDATE marks SET sheet_questions = '{}', sheet_responses = '{}',"
                                                     " sheet_awarded = '{}', sheet_available = '{}' WHERE test_id = 'u'"),
                     -1);
}

/* The migrations up to 0016, with import 1 of tests 't' and 'u' and import 2 of test 't'
 * recorded in both import_tests and import_names, as every accepted import wrote them. */
static void migrate_to_0016_with_three_pairs(struct fixture *f)
{
    copy_migrations(f->dir, 2, 16);
    migrate_ok(f, f->dir);
    assert_int_equal(markr_test_db_exec(f->conninfo,
                                        "INSERT INTO import_tests VALUES ('t', 1), ('u', 1), ('t', 2);"
                                        "INSERT INTO import_names VALUES ('t', 1, '{1,2}', '{Ann,Bo}', '{Cy,Di}'),"
                                        " ('u', 1, '{1}', '{Ann}', '{Cy}'), ('t', 2, '{2}', '{Eve}', '{NULL}')"),
                     0);
    copy_migrations(f->dir, 17, 17);
}

/* The names rows, every column, in key order (one text). */
#define NAMES_ROWS                                                                                          \
    "SELECT string_agg(concat_ws(':', test_id, import_id, student_numbers, first_names, last_names), ' ' " \
    "ORDER BY test_id, import_id) FROM import_names"

/* 0017 drops import_tests once it holds the pairs of import_names, and leaves the names rows
 * (which now answer both the imports of a test and the tests of an import) as they were. */
static void migration_0017_drops_the_tests_table(void **state)
{
    struct fixture *f = *state;

    migrate_to_0016_with_three_pairs(f);
    migrate_ok(f, f->dir);
    assert_value(f->conninfo, "SELECT to_regclass('import_tests') IS NULL AND to_regclass('import_tests_import_idx') "
                              "IS NULL", "t");
    assert_value(f->conninfo, NAMES_ROWS, "t:1:{1,2}:{Ann,Bo}:{Cy,Di} t:2:{2}:{Eve}:{NULL} u:1:{1}:{Ann}:{Cy}");
    assert_value(f->conninfo, "SELECT max(version) >= 17 FROM schema_migrations", "t");
}

/* Migrates to 0017 expecting a refusal that names the count, the repair and the pair, and
 * checks that nothing changed: 0017 is not recorded and import_tests is still there. */
static void migrate_0017_refused(struct fixture *f, const char *count, const char *pair, const char *tests)
{
    struct markr_error err;
    char *out;

    assert_int_equal(migrate_to_string(f, f->dir, &out, &err), -1);
    free(out);
    if (strstr(err.message, "0017_") == NULL || strstr(err.message, count) == NULL ||
        strstr(err.message, "nothing was changed: delete those rows of import_tests (README, Operations), "
                            "migrate again, then run markr reprocess --all") == NULL ||
        strstr(err.message, pair) == NULL)
        fail_msg("unexpected refusal: %s", err.message);
    assert_value(f->conninfo, "SELECT max(version) FROM schema_migrations", "16");
    assert_value(f->conninfo,
                 "SELECT string_agg(test_id || ':' || import_id, ' ' ORDER BY test_id, import_id) FROM import_tests",
                 tests);
}

/* A pair only import_tests holds stops 0017 before anything changes, and the README's
 * repair (deleting such pairs) lets it through; a pair only import_names holds is what this
 * markr writes and does not stop it. */
static void migration_0017_refuses_pairs_without_names(void **state)
{
    struct fixture *f = *state;

    migrate_to_0016_with_three_pairs(f);
    assert_int_equal(markr_test_db_exec(f->conninfo, "INSERT INTO import_tests VALUES ('v', 3), ('v', 4);"
                                                     "DELETE FROM import_tests WHERE test_id = 'u'"),
                     0);
    migrate_0017_refused(f, "import_tests has 2 (test, import) pairs that import_names lacks",
                         "(e.g. test 'v', import 3)", "t:1 t:2 v:3 v:4");
    assert_value(f->conninfo, NAMES_ROWS, "t:1:{1,2}:{Ann,Bo}:{Cy,Di} t:2:{2}:{Eve}:{NULL} u:1:{1}:{Ann}:{Cy}");
    assert_int_equal(markr_test_db_exec(f->conninfo, "DELETE FROM import_tests t WHERE NOT EXISTS (SELECT FROM "
                                                     "import_names n WHERE n.test_id = t.test_id AND "
                                                     "n.import_id = t.import_id)"),
                     0);
    migrate_ok(f, f->dir);
    assert_value(f->conninfo, "SELECT to_regclass('import_tests') IS NULL", "t");
    assert_value(f->conninfo, NAMES_ROWS, "t:1:{1,2}:{Ann,Bo}:{Cy,Di} t:2:{2}:{Eve}:{NULL} u:1:{1}:{Ann}:{Cy}");
}

/* 0016: ANALYZE gathers statistics for the marks' and the names' scalar columns but none
 * for their arrays, which no statement filters or sorts on and which cost most of ANALYZE. */
static void analyze_skips_the_arrays(void **state)
{
    struct fixture *f = *state;

    migrate_ok(f, migrations_dir());
    assert_int_equal(markr_test_db_exec(f->conninfo,
                                        "INSERT INTO marks (test_id, student_number, available, obtained, import_id,"
                                        " sheet_import_id, sheet_total, sheet_questions, sheet_responses,"
                                        " sheet_awarded, sheet_available)"
                                        " SELECT 't', 's' || g, 2, 1, 1, 1, 1, '{1,2}', '{A,B}', '{1,0}', '{1,1}'"
                                        " FROM generate_series(1, 50) g;"
                                        "INSERT INTO import_names VALUES ('t', 1, '{s1,s2}', '{Ann,Bo}', '{Cy,Di}');"
                                        "ANALYZE marks, import_names"),
                     0);
    assert_value(f->conninfo,
                 "SELECT string_agg(tablename || '.' || attname, ' ' ORDER BY tablename, attname) FROM pg_stats"
                 " WHERE tablename IN ('marks', 'import_names') AND attname IN ('student_number', 'test_id',"
                 " 'sheet_total', 'sheet_questions', 'sheet_responses', 'sheet_awarded', 'sheet_available',"
                 " 'student_numbers', 'first_names', 'last_names')",
                 "import_names.test_id marks.sheet_total marks.student_number marks.test_id");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(fresh_database_gets_every_migration, setup, teardown),
        cmocka_unit_test_setup_teardown(rerun_is_a_no_op, setup, teardown),
        cmocka_unit_test_setup_teardown(status_lists_pending_then_applied, setup, teardown),
        cmocka_unit_test_setup_teardown(edited_file_is_refused_by_name, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_applied_version_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(schema_check_wants_every_file_applied, setup, teardown),
        cmocka_unit_test_setup_teardown(failing_migration_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(transaction_control_in_a_file_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(badly_named_or_duplicate_files_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(oversized_file_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(names_rows_are_grouped_per_test_and_import, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrent_migrators_apply_each_file_once, setup, teardown),
        cmocka_unit_test_setup_teardown(migration_0014_moves_the_sheets_into_the_marks, setup, teardown),
        cmocka_unit_test_setup_teardown(analyze_skips_the_arrays, setup, teardown),
        cmocka_unit_test_setup_teardown(migration_0017_drops_the_tests_table, setup, teardown),
        cmocka_unit_test_setup_teardown(migration_0017_refuses_pairs_without_names, setup, teardown),
    };

    return cmocka_run_group_tests_name("pg_migrate", tests, NULL, NULL);
}
