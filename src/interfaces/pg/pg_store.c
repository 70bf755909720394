/*
 * The import store, results reader and readiness ports over one PostgreSQL connection.
 * An accepted document is ONE transaction (vault row, its body streamed as chunks, then the
 * marks through pg_marks.c, as every path applies them), so it commits whole or not at all;
 * aggregates are one statement, computed by the server. ADR 0003 explains the statements
 * and what was measured, ADR 0018 the chunks.
 */
#include "pg_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_batch.h"
#include "pg_chunks.h"
#include "pg_internal.h"
#include "pg_marks.h"

/* --- import store ------------------------------------------------------------------------------ */

/*
 * A vault row, the first statement of the import's transaction after BEGIN (ADR 0018, 0024),
 * with the body stored as chunk 0 in the same statement when it fits in one chunk. Its last
 * two parameters are the body's SHA-256 (NULL: not known yet, set by markr_pg_chunks_write)
 * and the body (NULL: streamed after this statement by COPY). An empty body has no chunk.
 */
#define VAULT_ROW(INSERT, BODY)                                                                                \
    "WITH vault AS (\n" INSERT "    RETURNING id\n"                                                            \
    "), chunk AS (\n"                                                                                         \
    "    INSERT INTO import_chunks (import_id, seq, bytes)\n"                                                 \
    "    SELECT id, 0, " BODY " FROM vault WHERE octet_length(" BODY ") > 0\n"                                \
    ")\n"                                                                                                     \
    "SELECT id FROM vault"

/* Accepted: $1 content type, $2 size in bytes, $3 result count, $4 SHA-256, $5 body. */
static const struct markr_pg_statement accepted_row = {
    MARKR_PG_SLOT_ACCEPTED_ROW,
    VAULT_ROW("    INSERT INTO imports (content_type, size_bytes, sha256, status, result_count)\n"
              "    VALUES ($1, $2, COALESCE($4, " MARKR_PG_SHA256_PENDING "), 'accepted', $3)\n",
              "$5")};

/* Refused: $1 content type, $2 size, $3..$7 the reason (built by the server from plain
 * parameters, pg_marks.h), $8 result count, $9 SHA-256, $10 body. */
static const struct markr_pg_statement rejected_row = {
    MARKR_PG_SLOT_REJECTED_ROW,
    VAULT_ROW("    INSERT INTO imports (content_type, size_bytes, sha256, status, reason, result_count)\n"
              "    VALUES ($1, $2, COALESCE($9, " MARKR_PG_SHA256_PENDING "), 'rejected',\n"
              "            " MARKR_PG_REASON_JSONB("$3", "$4", "$5", "$6", "$7") ", $8)\n",
              "$10")};

/* Reads the id of the vault row from a one-row, one-column result. */
static int read_id(const PGresult *res, int64_t *id, struct markr_error *err)
{
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
        return markr_error_set(err, MARKR_ERR_INTERNAL, "database_error", "the database returned no import id");
    *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    return 0;
}

/* What the import's transaction needs (prepared once, sent again when it is retried). */
struct vault_step {
    const struct markr_vault_entry *entry;
    const char *what;                           /* for the slow-query log and errors */
    const struct markr_pg_statement *statement; /* accepted_row or rejected_row */
    struct markr_pg_params row;
    const struct markr_pg_marks_statement *apply; /* NULL for a refused document */
    int64_t id;
};

/* Appends the SHA-256 and body parameters of a vault row: both when the body fits in one
 * chunk (digest is then filled), both NULL when it goes by COPY. Returns 0, or -1 with err. */
static int body_params(struct markr_pg_params *row, const struct markr_vault_entry *entry, unsigned char digest[32],
                       struct markr_error *err)
{
    if (entry->body_len > MARKR_PG_CHUNK_BYTES) {
        markr_pg_param_text(row, MARKR_PG_BYTEA, NULL);
        markr_pg_param_text(row, MARKR_PG_BYTEA, NULL);
        return 0;
    }
    if (markr_pg_sha256(entry->body, entry->body_len, digest, err) != 0)
        return -1;
    markr_pg_param_binary(row, MARKR_PG_BYTEA, (const char *)digest, 32);
    markr_pg_param_binary(row, MARKR_PG_BYTEA, entry->body != NULL ? entry->body : "", entry->body_len);
    return 0;
}

/*
 * One batch (one round trip) when the body fits in a chunk: BEGIN, the vault row with its
 * body, the marks, COMMIT, then the announcement of the changed tests (after the COMMIT, in
 * a transaction of its own: pg_marks.h). Until markr_pg_batch_run sends it, nothing that
 * could commit has left the process; once it has, whether the COMMIT ran is known only from
 * its result. A larger body is streamed by COPY, which a pipeline cannot carry: BEGIN and
 * the vault row first, then the chunks, then the rest as one batch. Another statement of
 * the import joins the last batch before its COMMIT. A refused document has no marks and
 * nothing to announce.
 */
static int vault_step(struct markr_pg *pg, void *arg, struct markr_error *err)
{
    struct vault_step *s = arg;
    int whole = s->entry->body_len <= MARKR_PG_CHUNK_BYTES;
    struct markr_pg_batch b = {0};
    int rc;

    s->id = 0;
    markr_pg_batch_add(&b, s->what, NULL, "BEGIN", NULL);
    markr_pg_batch_add(&b, s->what, s->statement, NULL, &s->row);
    if (!whole) {
        if ((rc = markr_pg_batch_run(pg, &b, err)) == 0)
            rc = read_id(b.results[1], &s->id, err);
        markr_pg_batch_clear(&b);
        if (rc != 0 || markr_pg_chunks_write(pg, s->id, s->entry->body, s->entry->body_len, err) != 0)
            return -1;
    }
    if (s->apply != NULL)
        markr_pg_batch_add(&b, "storing the marks", s->apply->statement, NULL, &s->apply->params);
    markr_pg_batch_add(&b, s->what, NULL, "COMMIT", NULL);
    if (s->apply != NULL)
        markr_pg_batch_add(&b, "announcing the import", &markr_pg_notify_kept, NULL, NULL);
    if ((rc = markr_pg_batch_run(pg, &b, err)) == 0 && whole)
        rc = read_id(b.results[1], &s->id, err);
    markr_pg_batch_clear(&b);
    return rc;
}

static int store_save_accepted(void *ctx, const struct markr_vault_entry *entry, const struct markr_marks *marks,
                               int64_t *import_id, struct markr_error *err)
{
    struct markr_pg *pg = ctx;
    struct markr_pg_marks_statement apply;
    struct vault_step step = {.entry = entry, .what = "storing the import", .statement = &accepted_row,
                              .apply = &apply};
    char *content_type = markr_pg_utf8_copy(entry->content_type);
    unsigned char digest[32];
    int rc = -1;

    *import_id = 0;
    if (content_type == NULL)
        return markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
    markr_pg_param_text(&step.row, MARKR_PG_TEXT, content_type);
    markr_pg_param_int8(&step.row, (int64_t)entry->body_len);
    markr_pg_param_int4(&step.row, (int64_t)entry->result_count);
    if (body_params(&step.row, entry, digest, err) != 0)
        goto out;
    /* The marks follow the vault row: by its currval within the batch (id 0). */
    if (markr_pg_marks_statement(&apply, 0, marks, entry->result_count, MARKR_PG_APPLY_NOTIFY_KEPT, err) != 0)
        goto out;
    if ((rc = markr_pg_batch_transaction(pg, vault_step, &step, err)) == 0)
        *import_id = step.id;
    markr_pg_marks_statement_free(&apply);
out:
    free(content_type);
    return rc;
}

/* A refused document: its vault row with the reason, and its body, in one transaction. */
static int store_save_rejected(void *ctx, const struct markr_vault_entry *entry, const struct markr_error *reason,
                               int64_t *import_id, struct markr_error *err)
{
    struct markr_pg *pg = ctx;
    struct vault_step step = {.entry = entry, .what = "storing the refused import", .statement = &rejected_row};
    struct markr_pg_reason text = {0};
    char *content_type = markr_pg_utf8_copy(entry->content_type);
    unsigned char digest[32];
    int rc = -1;

    *import_id = 0;
    if (content_type == NULL) {
        markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
        goto out;
    }
    markr_pg_param_text(&step.row, MARKR_PG_TEXT, content_type);
    markr_pg_param_int8(&step.row, (int64_t)entry->body_len);
    if (markr_pg_reason_params(&step.row, &text, reason, err) != 0)
        goto out;
    markr_pg_param_int4(&step.row, (int64_t)entry->result_count);
    if (body_params(&step.row, entry, digest, err) != 0)
        goto out;
    if ((rc = markr_pg_batch_transaction(pg, vault_step, &step, err)) == 0)
        *import_id = step.id;
out:
    markr_pg_reason_free(&text);
    free(content_type);
    return rc;
}

struct markr_import_store markr_pg_import_store(struct markr_pg *pg)
{
    return (struct markr_import_store){.ctx = pg, .save_accepted = store_save_accepted,
                                       .save_rejected = store_save_rejected};
}

/* --- reads ------------------------------------------------------------------------------------ */

/*
 * Rule 3 in one pass: p is each student's percentage, in float8 as the domain computes it.
 * The five percentiles come from ONE percentile_cont over an array: one sort, read once in
 * order. Three separate percentile_cont calls share the sort too, but each final call
 * re-reads it, which forces a random-access sort that writes its merge to disk again (2.7
 * times the temporary I/O at 1M rows). Fractions 0 and 1 are exactly the min and the max (the
 * first and last sorted values), so min() and max() are not computed a second time.
 */
static const char aggregate_sql[] =
    "SELECT n, mean, stddev, pct[1], pct[2], pct[3], pct[4], pct[5]\n"
    "FROM (\n"
    "    SELECT count(*) AS n, avg(p) AS mean, stddev_pop(p) AS stddev,\n"
    "           percentile_cont(ARRAY[0, 0.25, 0.5, 0.75, 1]::float8[]) WITHIN GROUP (ORDER BY p) AS pct\n"
    "    FROM (SELECT 100.0::float8 * obtained / available AS p FROM marks WHERE test_id = $1) AS percents\n"
    ") AS figures";

static int reader_aggregate(void *ctx, const char *test_id, size_t test_id_len, struct markr_aggregate *out,
                            struct markr_error *err)
{
    struct markr_pg *pg = ctx;
    struct markr_pg_params params = {0};
    double *figures[] = {&out->mean, &out->stddev, &out->min, &out->p25, &out->p50, &out->p75, &out->max};
    PGresult *res;

    /* Sent as binary text: the id is pointer and length, and may be any bytes. */
    markr_pg_param_binary(&params, MARKR_PG_TEXT, test_id, test_id_len);
    if ((res = markr_pg_read(pg, "computing the aggregate", aggregate_sql, &params, err)) == NULL) {
        /* Bytes that are not UTF-8 (or a NUL) cannot be a stored test id. */
        if (strcmp(pg->sqlstate, "22021") == 0)
            return markr_error_set(err, MARKR_ERR_NOT_FOUND, "unknown_test", "no results for that test id");
        return -1;
    }
    if (PQntuples(res) != 1 || PQnfields(res) != 8) {
        PQclear(res);
        return markr_error_set(err, MARKR_ERR_INTERNAL, "database_error", "unexpected aggregate result shape");
    }
    out->count = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    if (out->count == 0) {
        PQclear(res);
        return markr_error_set(err, MARKR_ERR_NOT_FOUND, "unknown_test", "no results for that test id");
    }
    for (int i = 0; i < 7; ++i)
        *figures[i] = strtod(PQgetvalue(res, 0, i + 1), NULL);
    PQclear(res);
    return 0;
}

struct markr_results_reader markr_pg_results_reader(struct markr_pg *pg)
{
    return (struct markr_results_reader){.ctx = pg, .aggregate = reader_aggregate};
}

/* --- readiness -------------------------------------------------------------------------------- */

static int readiness_check(void *ctx, struct markr_error *err)
{
    struct markr_pg *pg = ctx;
    PGresult *res = markr_pg_read(pg, "checking readiness", "SELECT max(version) FROM schema_migrations", NULL, err);
    int version;

    if (res == NULL) {
        if (strcmp(pg->sqlstate, "42P01") == 0) /* undefined_table: never migrated */
            return markr_error_set(err, MARKR_ERR_UNAVAILABLE, "schema_not_current",
                                   "the database has no migrations applied; run `markr migrate`");
        err->code = MARKR_ERR_UNAVAILABLE; /* not ready, whatever the cause */
        return -1;
    }
    version = PQgetisnull(res, 0, 0) ? 0 : atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (version != pg->expected_version)
        return markr_error_set(err, MARKR_ERR_UNAVAILABLE, "schema_not_current",
                               "the database schema is at version %d, this build expects %d%s", version,
                               pg->expected_version, version < pg->expected_version ? "; run `markr migrate`" : "");
    return 0;
}

struct markr_readiness markr_pg_readiness(struct markr_pg *pg, int expected_version)
{
    pg->expected_version = expected_version;
    return (struct markr_readiness){.ctx = pg, .check = readiness_check};
}
