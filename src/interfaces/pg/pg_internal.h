/*
 * What the files of the PostgreSQL adapter share and nobody else sees: the connection
 * struct, the one way statements are run (pg_conn.c: always parameterised, through the
 * abandon check and the slow-query log), and the one place where a libpq failure becomes a
 * struct markr_error (pg_errors.c: unavailable, busy, or a database error).
 */
#ifndef MARKR_INTERFACES_PG_INTERNAL_H
#define MARKR_INTERFACES_PG_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include <libpq-fe.h>

#include "domain/error.h"

/* Type OIDs of the parameters we send (fixed in pg_type.dat; the server headers that name
 * them are not needed for this). */
#define MARKR_PG_BOOL 16
#define MARKR_PG_INT4 23
#define MARKR_PG_INT8 20
#define MARKR_PG_TEXT 25
#define MARKR_PG_BYTEA 17
#define MARKR_PG_TEXT_ARRAY 1009
#define MARKR_PG_INT4_ARRAY 1007
#define MARKR_PG_INT8_ARRAY 1016

/* Where the notices of one libpq connection go (markr_pg_log_notices); it must outlive the
 * PGconn. */
struct markr_pg_notices {
    const char *name; /* its application_name, the connection= of its log lines */
    int ended;        /* a FATAL came: the server is closing the connection (reset it) */
};

struct markr_pg_reads;

struct markr_pg {
    PGconn *conn;
    struct markr_pg_notices notices;
    char *password;      /* from the conninfo, only to scrub it out of messages; NULL when none */
    char sqlstate[6];    /* SQLSTATE of the last failure markr_pg_fail saw; "" when none */
    int expected_version; /* of the schema, for the readiness port */
    /* Reconnecting with backoff while the database is away (markr_pg_ensure). */
    unsigned backoff_ms;      /* 0 while connected */
    struct timespec retry_at; /* no new attempt before this (CLOCK_MONOTONIC) */
    /* Abandoning work at the shutdown timeout (markr_pg_abandon, from another thread). */
    pthread_mutex_t cancel_lock;
    PGcancel *cancel;   /* for the backend of the current connection; under cancel_lock */
    atomic_int abandoned; /* set: every new operation fails at once */
    /* The COMMIT of the running transaction has been sent, or queued in a pipeline
     * (markr_pg_before_send). From then on a lost connection leaves its outcome unknown:
     * see could_have_committed. */
    int commit_sent;
    /* The standbys the read ports of this connection may use (pg_replica.c); NULL: none. */
    struct markr_pg_reads *reads;
    /* Statements prepared on the current backend (pg_batch.c): a bit per
     * markr_pg_statement's slot, valid while PQbackendPID is prepared_pid. */
    int prepared_pid;
    uint32_t prepared;
    /* The OID of the type answer_sheet_columns (pg_sheets.c), 0 until looked up; forgotten
     * with the prepared statements when the connection is reset. */
    Oid sheet_type;
};

/* The parameters of one statement. Text-format values are NUL-terminated; a binary value
 * (format 1) is `length` bytes. Integers are formatted into numbers[], so a filled struct
 * must not be copied (its values would point into the original). */
struct markr_pg_params {
    int count;
    Oid types[16];
    const char *values[16];
    int lengths[16];
    int formats[16];
    char numbers[16][24];
};

/* Appends a NUL-terminated text parameter; returns its number ($n). */
int markr_pg_param_text(struct markr_pg_params *p, Oid type, const char *value);
/* Appends a binary parameter of len bytes (bytea, or text sent without a NUL). */
int markr_pg_param_binary(struct markr_pg_params *p, Oid type, const char *value, size_t len);
/* Appends an int8, an int4 or a boolean parameter. */
int markr_pg_param_int8(struct markr_pg_params *p, int64_t value);
int markr_pg_param_int4(struct markr_pg_params *p, int64_t value);
int markr_pg_param_bool(struct markr_pg_params *p, int value);

/* Makes the cancel object for the connection's current backend (after every connection and
 * reset; pg_connect.c). */
void markr_pg_refresh_cancel(struct markr_pg *pg);

/* Milliseconds from now until at (CLOCK_MONOTONIC); negative once past. */
long markr_pg_ms_until(const struct timespec *at);

/* Makes the connection usable for the next operation: resets it once when it is broken (or
 * when the server has closed it while idle, which is read from the socket without a round
 * trip) and rolls back a transaction left open by a failed one. Returns 0, or -1 with err
 * (MARKR_ERR_UNAVAILABLE). */
int markr_pg_ensure(struct markr_pg *pg, struct markr_error *err);

/* Runs one statement with params (may be NULL) and text results. Returns the result when it
 * succeeded (PGRES_TUPLES_OK or PGRES_COMMAND_OK; the caller PQclear()s it), or NULL with err
 * (see markr_pg_fail) describing what failed while doing `what` ("storing the import"). */
PGresult *markr_pg_exec(struct markr_pg *pg, const char *what, const char *sql, const struct markr_pg_params *params,
                        struct markr_error *err);

/* As markr_pg_exec, with every result column in binary (text and bytea as raw bytes). */
PGresult *markr_pg_exec_binary(struct markr_pg *pg, const char *what, const char *sql,
                               const struct markr_pg_params *params, struct markr_error *err);

/* markr_pg_exec for a statement whose rows are not needed. Returns 0, or -1 with err. */
int markr_pg_command(struct markr_pg *pg, const char *what, const char *sql, const struct markr_pg_params *params,
                     struct markr_error *err);

/* Rolls back the open transaction, if any (also after abandon: it stores nothing). */
void markr_pg_rollback(struct markr_pg *pg);

/* Runs a script of several statements with the simple protocol (no parameters: only for
 * the project's own SQL files). Returns the result of the last statement whatever its
 * status (the caller reads it, then PQclear()s it), or NULL after abandon. */
PGresult *markr_pg_run_script(struct markr_pg *pg, const char *what, const char *sql);

/* Starts sql, a COPY ... FROM STDIN: returns 0 once the server waits for the data (then
 * PQputCopyData/PQputCopyEnd and PQgetResult), or -1 with err. */
int markr_pg_copy_in(struct markr_pg *pg, const char *what, const char *sql, struct markr_error *err);

/* Sends a statement whose rows come one result each, in binary (single-row mode): read them
 * with PQgetResult until it returns NULL. Returns 0, or -1 with err (nothing to read). */
int markr_pg_send_single_rows(struct markr_pg *pg, const char *what, const char *sql,
                              const struct markr_pg_params *params, struct markr_error *err);

/* Runs step(pg, arg, err) between BEGIN and COMMIT, rolling back when it fails. A deadlock
 * (40P01) or serialization failure (40001) left nothing behind, so the whole transaction is
 * run again, up to MARKR_PG_RETRIES more times after a short pause; so is a transaction
 * whose connection was lost before its COMMIT was sent, once, on a new connection (logged
 * at info). Step must therefore be repeatable (reset its outputs itself). A connection lost
 * once the COMMIT was sent is not retried: err is then MARKR_ERR_UNAVAILABLE with reason
 * "outcome_unknown" (the transaction may or may not have committed). Returns 0, or -1 with
 * err. */
int markr_pg_transaction(struct markr_pg *pg, const char *what,
                         int (*step)(struct markr_pg *pg, void *arg, struct markr_error *err), void *arg,
                         struct markr_error *err);

/* What markr_pg_transaction does, for a step that sends its own BEGIN and COMMIT when how
 * has MARKR_PG_TX_BATCHED (pg_batch.h): the same retries, the same rule for a lost
 * connection. With MARKR_PG_TX_BEGUN too, the first run does not start (no
 * markr_pg_transaction_start): it continues a transaction whose start and first statements
 * ran before on pg, or reports how they failed (the connection's state says which rule
 * applies); every later run starts afresh. */
enum { MARKR_PG_TX_BATCHED = 1, MARKR_PG_TX_BEGUN = 2 };
int markr_pg_run_transaction(struct markr_pg *pg, const char *what, int how,
                             int (*step)(struct markr_pg *pg, void *arg, struct markr_error *err), void *arg,
                             struct markr_error *err);

/* Whether the connection the last statement ran on is gone: libpq saw the end of the
 * stream, or the server said it is terminating this backend. Nothing of a statement that
 * failed so, outside a transaction, can have happened. */
int markr_pg_connection_lost(const struct markr_pg *pg);

/* What every run of a transaction does first: markr_pg_ensure (a usable connection, no
 * transaction left open), then forgets the last failure's SQLSTATE and that a COMMIT was
 * sent. Returns 0, or -1 with err (nothing was sent). */
int markr_pg_transaction_start(struct markr_pg *pg, struct markr_error *err);

/* Call right before anything is sent inside a transaction: fails (as a lost connection,
 * MARKR_ERR_UNAVAILABLE) when the server has already closed the connection, which is read
 * from the socket without a round trip, so that nothing is sent into a dead backend and the
 * transaction can run again. When what is about to be sent carries the COMMIT (commits
 * set), records that from now on a lost connection leaves the outcome unknown. The one
 * place commit_sent is set. Returns 0, or -1 with err. */
int markr_pg_before_send(struct markr_pg *pg, int commits, const char *what, struct markr_error *err);

/* The server reported (with a SQLSTATE) that a statement pipelined before the COMMIT failed:
 * it skips the rest up to the Sync, or ends there, so the COMMIT sent cannot have run and a
 * lost connection may be retried again (pg_batch.c). */
void markr_pg_commit_not_run(struct markr_pg *pg);

/* Logs `what` as a slow database operation (and counts it) when it has taken
 * MARKR_SLOW_QUERY_MS or more since start (CLOCK_MONOTONIC). */
void markr_pg_log_if_slow(const char *what, const struct timespec *start);

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

/* Routes the notices of conn (the server's NOTICE and WARNING, an idle connection's FATAL,
 * libpq's own warnings) into the log as logfmt lines, with a level from their severity and
 * connection=notices->name, and sets notices->ended when one is a FATAL or PANIC. Call
 * once per PGconn; a reset keeps it. */
void markr_pg_log_notices(PGconn *conn, struct markr_pg_notices *notices);

/* Logs msg at warn with libpq's own text of conn's last failure (PQerrorMessage, on one
 * line), for a connection that has no struct markr_pg (the change feed's). */
void markr_pg_log_failure(PGconn *conn, const char *msg, const char *name);

/* Fills err for a connection string that libpq could not parse: MARKR_ERR_UNAVAILABLE, with
 * libpq's words but none of the quoted string (it may hold a password). Returns -1. */
int markr_pg_fail_conninfo(const char *parse_error, struct markr_error *err);

/* Copies text into a malloc'd string that is valid UTF-8: each invalid byte becomes U+FFFD.
 * Text that crossed from the outside (a content type, a parser's message cut at a byte
 * limit) must not make the server refuse the row that records it. NULL when out of memory. */
char *markr_pg_utf8_copy(const char *text);

/* The value of imports.content_encoding for a vault entry's coding (NULL: "identity"). The
 * HTTP adapter names only the codings the column's check allows (migration 0008). */
const char *markr_pg_content_encoding(const char *content_encoding);

/* Sleeps before retry number attempt (0, 1, 2) of a transaction that hit a deadlock or a
 * serialization failure: 10, 20, 40 ms plus up to half again, so colliders do not collide
 * again in step. */
void markr_pg_pause_before_retry(int attempt);

/* A copy of one value of a result (malloc'd, NUL-terminated, of PQgetlength bytes), or NULL
 * when the value is NULL or memory ran out. */
char *markr_pg_value_copy(const PGresult *res, int row, int col);

/* Fills err with "out of memory" (MARKR_ERR_INTERNAL). Returns -1. */
int markr_pg_oom(struct markr_error *err);

/* Runs a read-only statement (text results). A read can safely run twice, so when the
 * connection broke under it (the server restarted since the last operation), it is reset and
 * the read run once more. Returns the result, or NULL with err. */
PGresult *markr_pg_read(struct markr_pg *pg, const char *what, const char *sql, const struct markr_pg_params *params,
                        struct markr_error *err);
/* The same rule for any read that changes nothing: read(pg, arg, err) on a usable connection
 * (markr_pg_ensure), and once more on a new one when the connection was lost under it.
 * Returns what read returned (negative: failed, with err). */
int markr_pg_read_with(struct markr_pg *pg, int (*read)(struct markr_pg *pg, void *arg, struct markr_error *err),
                       void *arg, struct markr_error *err);
/* A read of one statement for markr_pg_read_with (and markr_pg_on_reader): arg is a struct
 * markr_pg_statement_read, whose res it fills (markr_pg_exec). Returns 0, or -1 with err. */
struct markr_pg_statement_read {
    const char *what, *sql;
    const struct markr_pg_params *params;
    PGresult *res;
};
int markr_pg_statement_read(struct markr_pg *pg, void *arg, struct markr_error *err);

/* markr_pg_connect with another default connect_timeout (in seconds, as text). */
struct markr_pg *markr_pg_connect_within(const char *conninfo, const char *timeout_s, struct markr_error *err);

/* --- the read pool (pg_replica.c) ------------------------------------------------------ */

struct markr_pg_reads;
struct markr_pg_replicas;
struct markr_standby_status;

/* markr_pg_read for the read ports: on a standby that has replayed every change this
 * instance must reflect, else on pg (the primary). A failure on a standby is run again on
 * the primary, except a data exception (SQLSTATE class 22), which the primary would repeat;
 * pg->sqlstate holds the SQLSTATE of the failure returned. */
PGresult *markr_pg_read_replica(struct markr_pg *pg, const char *what, const char *sql,
                                const struct markr_pg_params *params, struct markr_error *err);

/* The same rule for a read of several statements: runs read(conn, arg, err) on the chosen
 * connection, and once more on the primary when it failed (returned a negative number) on a
 * standby, so read must reset its outputs itself. Returns what read returned. */
int markr_pg_on_reader(struct markr_pg *pg, int (*read)(struct markr_pg *conn, void *arg, struct markr_error *err),
                       void *arg, struct markr_error *err);

/* After a transaction of pg committed: reads must now reflect it (its WAL position is read
 * on pg). Nothing to do when pg has no standbys. */
void markr_pg_reads_committed(struct markr_pg *pg);
void markr_pg_reads_free(struct markr_pg_reads *reads);
/* From another thread, at the shutdown timeout (markr_pg_abandon): cancels the statements of
 * the standby connections too. */
void markr_pg_reads_abandon(struct markr_pg_reads *reads);

/* For the readiness port: probes each standby of pg (not during its backoff) and reports it
 * to out (at most max). Returns the number reported. */
size_t markr_pg_reads_status(struct markr_pg *pg, struct markr_standby_status *out, size_t max);

/* For the change feed (pg_listen.c), which reads the primary's WAL insert position on its
 * own connection after it hears changes: the position a read taken next will reflect
 * (markr_pg_replicas_seen then makes reads wait for it). token is taken BEFORE that read. */
uint64_t markr_pg_replicas_token(struct markr_pg_replicas *r);
void markr_pg_replicas_seen(struct markr_pg_replicas *r, uint64_t lsn, uint64_t token);

/* The SQL of that position (ADR 0030): the end of what every commit already answered has
 * written. With synchronous commits (the default) that is the WAL flush position: a COMMIT
 * returns once its record is flushed, so the flush position is past it, and it is not past
 * WAL that is only in buffers, such as the commit record of the transaction that sends an
 * import's notification, which writes no other WAL and so commits asynchronously: waiting
 * for that would cost a read up to wal_writer_delay (200 ms). With synchronous_commit off,
 * a commit may return before its flush, so the insert position, past every record, is used. */
#define MARKR_PG_POSITION_SQL                                                                                      \
    "SELECT CASE WHEN current_setting('synchronous_commit') = 'off' THEN pg_current_wal_insert_lsn() "           \
    "ELSE pg_current_wal_flush_lsn() END::text"

#endif
