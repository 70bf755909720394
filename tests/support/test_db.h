/*
 * Throw-away databases for the integration and end-to-end suites. Each suite creates its
 * own database on the server named by MARKR_TEST_DATABASE_URL (a conninfo or URI to a
 * maintenance database, with the right to create databases), so suites run in parallel and
 * never see each other's rows. Without that variable the suites fail, they never skip.
 */
#ifndef MARKR_TESTS_TEST_DB_H
#define MARKR_TESTS_TEST_DB_H

/* Creates an empty database named markr_<prefix>_<pid>_<n> and returns a malloc'd conninfo
 * for it (the caller frees it). Aborts with a message on stderr when MARKR_TEST_DATABASE_URL
 * is unset or the database cannot be created. */
char *markr_test_db_create(const char *prefix);

/* The same, with options appended to the CREATE DATABASE statement after the name (a
 * constant of the caller's, e.g. "TEMPLATE template0 LOCALE_PROVIDER icu ..." for a database
 * of another collation). */
char *markr_test_db_create_with(const char *prefix, const char *options);

/* Drops the database of conninfo (made by markr_test_db_create), closing any session still
 * connected to it. Problems are reported on stderr, not fatal. */
void markr_test_db_drop(const char *conninfo);

/* Runs sql (one or more statements, no parameters) on conninfo. Returns 0, or -1 after
 * printing the server's message on stderr. */
int markr_test_db_exec(const char *conninfo, const char *sql);

/* The first column of the first row of sql as a malloc'd string (the caller frees it), or
 * NULL when the value is SQL NULL, there is no row, or the statement failed (printed). */
char *markr_test_db_value(const char *conninfo, const char *sql);

/* The same for one statement with text parameters $1..$n (params[i] NULL: SQL NULL). */
char *markr_test_db_value_params(const char *conninfo, const char *sql, int n, const char *const *params);

/* The names rows (one per test and import, migration 0015) as a FROM item of one row per
 * name an import carried: (test_id, import_id, student_number, first_name, last_name). */
#define MARKR_TEST_NAMES                                                                                 \
    "(SELECT i.test_id, i.import_id, n.student_number, n.first_name, n.last_name FROM import_names AS i," \
    " unnest(i.student_numbers, i.first_names, i.last_names) AS n(student_number, first_name, last_name))" \
    " AS names"

#endif
