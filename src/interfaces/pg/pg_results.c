/*
 * The results reader and readiness ports over one PostgreSQL connection (pg_store.h): an
 * aggregate is one statement, computed by the server (ADR 0003), read from a standby when
 * one has replayed what this instance knows of (ADR 0030); the item analysis is pg_items.c's.
 */
#include "pg_store.h"

#include <stdlib.h>
#include <string.h>

#include "pg_internal.h"

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
    if ((res = markr_pg_read_replica(pg, "computing the aggregate", aggregate_sql, &params, err)) == NULL) {
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
    struct markr_results_reader reader = {.ctx = pg, .aggregate = reader_aggregate};

    markr_pg_items_reader(&reader); /* the items and a student's sheet (pg_items.c) */
    return reader;
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

static size_t readiness_standbys(void *ctx, struct markr_standby_status *out, size_t max)
{
    return markr_pg_reads_status(ctx, out, max);
}

struct markr_readiness markr_pg_readiness(struct markr_pg *pg, int expected_version)
{
    pg->expected_version = expected_version;
    return (struct markr_readiness){.ctx = pg, .check = readiness_check, .standbys = readiness_standbys};
}
