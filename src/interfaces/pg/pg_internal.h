/*
 * What the files of the PostgreSQL adapter share and nobody else sees: the connection
 * struct, the one way statements are run (always parameterised), and the one place where
 * a libpq failure becomes a struct markr_error (unavailable, busy, or a database error).
 */
#ifndef MARKR_INTERFACES_PG_INTERNAL_H
#define MARKR_INTERFACES_PG_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include <libpq-fe.h>

#include "domain/error.h"

/* Type OIDs of the parameters we send (fixed in pg_type.dat; the server headers that name
 * them are not needed for this). */
#define MARKR_PG_INT4 23
#define MARKR_PG_INT8 20
#define MARKR_PG_TEXT 25
#define MARKR_PG_BYTEA 17
#define MARKR_PG_TEXT_ARRAY 1009
#define MARKR_PG_INT4_ARRAY 1007

struct markr_pg {
    PGconn *conn;
    char *password;      /* from the conninfo, only to scrub it out of messages; NULL when none */
    char sqlstate[6];    /* SQLSTATE of the last failure markr_pg_fail saw; "" when none */
    int expected_version; /* of the schema, for the readiness port */
    int rebuild_all;      /* issue 3: the open rebuild (pg_vault.c) cleared every mark */
    /* issue 5: reconnecting with backoff while the database is away (markr_pg_ensure) */
    unsigned backoff_ms;      /* 0 while connected */
    struct timespec retry_at; /* no new attempt before this (CLOCK_MONOTONIC) */
    /* issue 5: abandoning work at the shutdown timeout (markr_pg_abandon, another thread) */
    pthread_mutex_t cancel_lock;
    PGcancel *cancel;   /* for the backend of the current connection; under cancel_lock */
    atomic_int abandoned; /* set: every new operation fails at once */
};

/* The parameters of one statement. Text-format values are NUL-terminated; a binary value
 * (format 1) is `length` bytes. */
struct markr_pg_params {
    int count;
    Oid types[16];
    const char *values[16];
    int lengths[16];
    int formats[16];
};

/* Appends a NUL-terminated text parameter; returns its number ($n). */
int markr_pg_param_text(struct markr_pg_params *p, Oid type, const char *value);
/* Appends a binary parameter of len bytes (bytea, or text sent without a NUL). */
int markr_pg_param_binary(struct markr_pg_params *p, Oid type, const char *value, size_t len);

/* Makes the connection usable for the next operation: resets it once when it is broken and
 * rolls back a transaction left open by a failed one. Returns 0, or -1 with err
 * (MARKR_ERR_UNAVAILABLE). */
int markr_pg_ensure(struct markr_pg *pg, struct markr_error *err);

/* Runs one statement with params (may be NULL) and text results. Returns the result when it
 * succeeded (PGRES_TUPLES_OK or PGRES_COMMAND_OK; the caller PQclear()s it), or NULL with err
 * (see markr_pg_fail) describing what failed while doing `what` ("storing the import"). */
PGresult *markr_pg_exec(struct markr_pg *pg, const char *what, const char *sql, const struct markr_pg_params *params,
                        struct markr_error *err);

/* As markr_pg_exec, for a statement that is a whole transaction by itself (autocommit): when
 * it fails with a deadlock (40P01) or a serialization failure (40001), nothing of it stayed,
 * so it is run again, up to MARKR_PG_RETRIES more times after a short pause. */
#define MARKR_PG_RETRIES 3
PGresult *markr_pg_exec_retrying(struct markr_pg *pg, const char *what, const char *sql,
                                 const struct markr_pg_params *params, struct markr_error *err);

/* Fills err from a failed result (res may be NULL): MARKR_ERR_UNAVAILABLE with reason
 * "database_unavailable" when the connection is gone or the server refuses work (SQLSTATE
 * classes 08 and 53, 57P01-57P03), "database_busy" for a deadlock, a serialization failure,
 * a lock or statement timeout; MARKR_ERR_INTERNAL "database_error" otherwise, with the
 * server's message and SQLSTATE. The message never holds the password. Records the SQLSTATE
 * in pg->sqlstate, so that a caller can tell one expected failure from the others. Returns -1. */
int markr_pg_fail(struct markr_pg *pg, const PGresult *res, const char *what, struct markr_error *err);

/* Copies text into a malloc'd string that is valid UTF-8: each invalid byte becomes U+FFFD.
 * Text that crossed from the outside (a content type, a parser's message cut at a byte
 * limit) must not make the server refuse the row that records it. NULL when out of memory. */
char *markr_pg_utf8_copy(const char *text);

/* issue 3: the arrays of the marks (six columns, in the order test id, student number,
 * first name, last name, available, obtained) and of the scans (the first four columns of every
 * result before the duplicate rule), in the binary format the import statement sends. Each
 * array is malloc'd (the caller frees it). Return 0, or -1 when out of memory (nothing left
 * allocated by the scans; the marks' caller frees what is not NULL). */
#define MARKR_PG_SCAN_COLUMNS 4
struct markr_marks;
int markr_pg_marks_arrays(const struct markr_marks *marks, char *arrays[6], size_t lengths[6]);
int markr_pg_scan_arrays(const struct markr_marks *marks, char *arrays[MARKR_PG_SCAN_COLUMNS],
                         size_t lengths[MARKR_PG_SCAN_COLUMNS]);

/* Sleeps before retry number attempt (0, 1, 2) of a transaction that hit a deadlock or a
 * serialization failure: 10, 20, 40 ms plus up to half again, so colliders do not collide
 * again in step. */
void markr_pg_pause_before_retry(int attempt);

/* Runs a read-only statement (text results). A read can safely run twice, so when the
 * connection broke under it (the server restarted since the last operation), it is reset and
 * the read run once more. Returns the result, or NULL with err. */
PGresult *markr_pg_read(struct markr_pg *pg, const char *what, const char *sql, const struct markr_pg_params *params,
                        struct markr_error *err);

#endif
