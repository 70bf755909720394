/*
 * The import store, results reader and readiness ports over one PostgreSQL connection.
 * An accepted document is ONE transaction (vault row, its body streamed as chunks, every
 * mark upsert), so it commits whole or not at all; aggregates are one statement, computed by
 * the server. ADR 0003 explains the statements and what was measured, ADR 0018 the chunks.
 */
#include "pg_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_chunks.h"
#include "pg_internal.h"

/* --- import store ------------------------------------------------------------------------------ */

/*
 * The vault row of a document, inserted first in the import's transaction (ADR 0018): $1
 * content type, $2 size in bytes, $3 result count. The body follows as chunks, hashed while
 * they stream, and the SHA-256 is set then (markr_pg_chunks_write).
 */
static const char insert_accepted_sql[] =
    "INSERT INTO imports (content_type, size_bytes, sha256, status, result_count)\n"
    "VALUES ($1, $2, " MARKR_PG_SHA256_PENDING ", 'accepted', $3)\n"
    "RETURNING id";

/*
 * $1 the id of the vault row, $2..$7 the marks as six parallel arrays (test id, student
 * number, first name, last name, available, obtained) in the order of struct markr_marks:
 * sorted by (test id, student number); $8..$11 the scans.
 *
 * Rule 2 is the ON CONFLICT clause: each mark keeps the highest available and, independently,
 * the highest obtained; names are replaced only by names. A row changes only when something
 * in it changes, and import_id/updated_at name the import that last raised a mark, so they
 * move only on a raise. unnest() yields the rows in array order, so every writer locks rows in
 * the same order, which keeps overlapping imports from deadlocking.
 */
static const char save_accepted_sql[] =
    "WITH vault AS (\n"
    "    SELECT $1::bigint AS id\n"
    "), upsert AS (\n"
    "    INSERT INTO marks AS m (test_id, student_number, first_name, last_name, available, obtained,\n"
    "                            import_id, updated_at)\n"
    "    SELECT r.t, r.s, r.f, r.l, r.a, r.o, (SELECT id FROM vault), now()\n"
    "    FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::integer[], $7::integer[])\n"
    "         AS r(t, s, f, l, a, o)\n"
    "    ON CONFLICT (test_id, student_number) DO UPDATE SET\n"
    "        available  = GREATEST(m.available, EXCLUDED.available),\n"
    "        obtained   = GREATEST(m.obtained, EXCLUDED.obtained),\n"
    "        first_name = COALESCE(EXCLUDED.first_name, m.first_name),\n"
    "        last_name  = COALESCE(EXCLUDED.last_name, m.last_name),\n"
    "        import_id  = CASE WHEN EXCLUDED.available > m.available OR EXCLUDED.obtained > m.obtained\n"
    "                          THEN EXCLUDED.import_id ELSE m.import_id END,\n"
    "        updated_at = CASE WHEN EXCLUDED.available > m.available OR EXCLUDED.obtained > m.obtained\n"
    "                          THEN EXCLUDED.updated_at ELSE m.updated_at END\n"
    "    WHERE EXCLUDED.available > m.available OR EXCLUDED.obtained > m.obtained\n"
    "       OR COALESCE(EXCLUDED.first_name, m.first_name) IS DISTINCT FROM m.first_name\n"
    "       OR COALESCE(EXCLUDED.last_name, m.last_name) IS DISTINCT FROM m.last_name\n"
    "    RETURNING m.test_id\n"
    "), tests AS (\n" /* issue 3: the tests it touched and the names each scan carried (ADR 0009) */
    "    INSERT INTO import_tests (test_id, import_id)\n"
    "    SELECT DISTINCT t, (SELECT id FROM vault) FROM unnest($2::text[]) AS t\n"
    "), names AS (\n"
    "    INSERT INTO import_names (test_id, student_number, first_name, last_name, import_id)\n"
    "    SELECT DISTINCT n.t, n.s, n.f, n.l, (SELECT id FROM vault)\n"
    "    FROM unnest($8::text[], $9::text[], $10::text[], $11::text[]) AS n(t, s, f, l)\n"
    /* issue 4, ADR 0012: announce the tests whose marks changed; delivered at commit. A
     * payload must stay under 8000 bytes: past that, listeners are told to flush all. */
    "), changed AS (\n"
    "    SELECT json_build_object('import_id', (SELECT id FROM vault),\n"
    "               'tests', COALESCE((SELECT json_agg(DISTINCT test_id) FROM upsert), '[]'))::text AS p\n"
    "), notify AS (\n"
    "    SELECT pg_notify('markr_changes', CASE WHEN octet_length(p) < 7900 THEN p ELSE\n"
    "               json_build_object('import_id', (SELECT id FROM vault), 'flush', true)::text END)\n"
    "    FROM changed\n"
    ")\n"
    "SELECT id FROM vault, notify";

/* The structured reason is built by the server from plain parameters: zero positions and an
 * empty field are "not about one" and are left out of the object. */
static const char save_rejected_sql[] =
    "INSERT INTO imports (content_type, size_bytes, sha256, status, reason, result_count)\n"
    "VALUES ($1, $2, " MARKR_PG_SHA256_PENDING ", 'rejected',\n"
    "        jsonb_strip_nulls(jsonb_build_object(\n"
    "            'error', $3::text, 'message', $4::text, 'result_index', NULLIF($5, 0),\n"
    "            'line', NULLIF($6, 0), 'field', NULLIF($7::text, ''))),\n"
    "        $8)\n"
    "RETURNING id";

/*
 * The marks travel as one-dimensional arrays in PostgreSQL's binary array format (what
 * array_send writes and array_recv reads): no text to escape and nothing to parse but
 * lengths, which measured 45 ms faster per 10,000 marks than building and parsing a JSON
 * array of objects (ADR 0003). The layout, all integers 32-bit big-endian:
 *   ndim (1, or 0 when empty), has-nulls flag, element type OID,
 *   per dimension: length, lower bound (1);
 *   per element: byte length (-1 for NULL), then the bytes (text as is; int4 big-endian).
 */
enum mark_column { COLUMN_TEST_ID, COLUMN_STUDENT, COLUMN_FIRST_NAME, COLUMN_LAST_NAME, COLUMN_AVAILABLE,
                   COLUMN_OBTAINED, COLUMN_COUNT };

static const char *mark_text(const struct markr_mark *m, enum mark_column column)
{
    switch (column) {
    case COLUMN_TEST_ID:
        return m->test_id;
    case COLUMN_STUDENT:
        return m->student_number;
    case COLUMN_FIRST_NAME:
        return m->first_name;
    case COLUMN_LAST_NAME:
        return m->last_name;
    default:
        return NULL;
    }
}

static char *put_u32(char *p, uint32_t v)
{
    p[0] = (char)(v >> 24);
    p[1] = (char)(v >> 16);
    p[2] = (char)(v >> 8);
    p[3] = (char)v;
    return p + 4;
}

/* One column of marks as a binary array (malloc'd, *len bytes), or NULL when out of memory
 * or past the protocol's 1 GB parameter limit. */
static char *marks_array(const struct markr_marks *marks, enum mark_column column, size_t *len)
{
    int numeric = column == COLUMN_AVAILABLE || column == COLUMN_OBTAINED;
    size_t size = 20;
    int nulls = 0;
    char *array, *p;

    for (size_t i = 0; i < marks->count; ++i) {
        const char *text = mark_text(&marks->marks[i], column);

        size += 4 + (numeric ? 4 : text != NULL ? strlen(text) : 0);
        nulls |= !numeric && text == NULL;
    }
    if (size > 1000000000 || (array = malloc(size)) == NULL)
        return NULL;
    p = put_u32(array, marks->count != 0 ? 1 : 0);
    p = put_u32(p, (uint32_t)nulls);
    p = put_u32(p, numeric ? MARKR_PG_INT4 : MARKR_PG_TEXT);
    if (marks->count != 0) {
        p = put_u32(p, (uint32_t)marks->count);
        p = put_u32(p, 1);
    }
    for (size_t i = 0; i < marks->count; ++i) {
        const struct markr_mark *m = &marks->marks[i];
        const char *text = mark_text(m, column);

        if (numeric) {
            p = put_u32(p, 4);
            p = put_u32(p, column == COLUMN_AVAILABLE ? m->available : m->obtained);
        } else if (text == NULL) {
            p = put_u32(p, UINT32_MAX); /* -1: NULL */
        } else {
            size_t n = strlen(text);

            p = put_u32(p, (uint32_t)n);
            memcpy(p, text, n);
            p += n;
        }
    }
    *len = (size_t)(p - array);
    return array;
}

/* issue 3: the marks' six columns, for the vault's statements of pg_vault.c. */
int markr_pg_marks_arrays(const struct markr_marks *marks, char *arrays[6], size_t lengths[6])
{
    int oom = 0;

    for (int c = 0; c < COLUMN_COUNT; ++c)
        oom |= (arrays[c] = marks_array(marks, (enum mark_column)c, &lengths[c])) == NULL;
    return oom ? -1 : 0;
}

/* issue 3: the scans (test, student, first and last name of every result) as four binary
 * text arrays, built by viewing each result as a mark (ADR 0009). */
int markr_pg_scan_arrays(const struct markr_marks *marks, char *arrays[MARKR_PG_SCAN_COLUMNS],
                         size_t lengths[MARKR_PG_SCAN_COLUMNS])
{
    struct markr_marks view = {.count = marks->scan_count};
    int oom = 0;

    for (int c = 0; c < MARKR_PG_SCAN_COLUMNS; ++c)
        arrays[c] = NULL;
    if ((view.marks = calloc(marks->scan_count != 0 ? marks->scan_count : 1, sizeof(*view.marks))) == NULL)
        return -1;
    for (size_t i = 0; i < marks->scan_count; ++i) {
        const struct markr_result *r = &marks->scans[i];

        view.marks[i] = (struct markr_mark){.test_id = r->test_id, .student_number = r->student_number,
                                            .first_name = r->first_name, .last_name = r->last_name};
    }
    for (int c = 0; c < MARKR_PG_SCAN_COLUMNS; ++c)
        oom |= (arrays[c] = marks_array(&view, (enum mark_column)c, &lengths[c])) == NULL;
    free(view.marks);
    if (oom) {
        for (int c = 0; c < MARKR_PG_SCAN_COLUMNS; ++c) {
            free(arrays[c]);
            arrays[c] = NULL;
        }
        return -1;
    }
    return 0;
}

/* Reads the id of the vault row from a one-row, one-column result. */
static int read_id(const PGresult *res, int64_t *id, struct markr_error *err)
{
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
        return markr_error_set(err, MARKR_ERR_INTERNAL, "database_error", "the database returned no import id");
    *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    return 0;
}

/* What the import's transaction needs (prepared once, sent again when it is retried). */
struct accepted_step {
    const struct markr_vault_entry *entry;
    struct markr_pg_params row;   /* of insert_accepted_sql */
    struct markr_pg_params marks; /* of save_accepted_sql, $1 filled in by the step */
    char key[24];
    int64_t id;
};

/* BEGIN has been sent: the vault row, the body as chunks, then every mark (ADR 0018). */
static int accepted_step(struct markr_pg *pg, void *arg, struct markr_error *err)
{
    struct accepted_step *s = arg;
    PGresult *res;
    int rc;

    s->id = 0;
    if ((res = markr_pg_exec(pg, "storing the import", insert_accepted_sql, &s->row, err)) == NULL)
        return -1;
    rc = read_id(res, &s->id, err);
    PQclear(res);
    if (rc != 0 || markr_pg_chunks_write(pg, s->id, s->entry->body, s->entry->body_len, err) != 0)
        return -1;
    snprintf(s->key, sizeof(s->key), "%lld", (long long)s->id);
    s->marks.values[0] = s->key;
    res = markr_pg_exec(pg, "storing the marks", save_accepted_sql, &s->marks, err);
    PQclear(res);
    return res != NULL ? 0 : -1;
}

static int store_save_accepted(void *ctx, const struct markr_vault_entry *entry, const struct markr_marks *marks,
                               int64_t *import_id, struct markr_error *err)
{
    static const Oid array_types[COLUMN_COUNT] = {MARKR_PG_TEXT_ARRAY, MARKR_PG_TEXT_ARRAY, MARKR_PG_TEXT_ARRAY,
                                                  MARKR_PG_TEXT_ARRAY, MARKR_PG_INT4_ARRAY, MARKR_PG_INT4_ARRAY};
    struct markr_pg *pg = ctx;
    struct accepted_step step = {.entry = entry};
    char count[24], size[24];
    char *content_type = NULL, *arrays[COLUMN_COUNT] = {NULL};
    size_t lengths[COLUMN_COUNT];
    char *scans[MARKR_PG_SCAN_COLUMNS] = {NULL};
    size_t scan_lengths[MARKR_PG_SCAN_COLUMNS];
    int rc = -1, oom;

    *import_id = 0;
    content_type = markr_pg_utf8_copy(entry->content_type);
    oom = content_type == NULL;
    for (int c = 0; c < COLUMN_COUNT; ++c)
        oom |= (arrays[c] = marks_array(marks, (enum mark_column)c, &lengths[c])) == NULL;
    if (oom) {
        markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
        goto out;
    }
    if (markr_pg_scan_arrays(marks, scans, scan_lengths) != 0) {
        markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
        goto out;
    }
    snprintf(count, sizeof(count), "%zu", entry->result_count);
    snprintf(size, sizeof(size), "%zu", entry->body_len);
    markr_pg_param_text(&step.row, MARKR_PG_TEXT, content_type);
    markr_pg_param_text(&step.row, MARKR_PG_INT8, size);
    markr_pg_param_text(&step.row, MARKR_PG_INT4, count);
    markr_pg_param_text(&step.marks, MARKR_PG_INT8, step.key);
    for (int c = 0; c < COLUMN_COUNT; ++c)
        markr_pg_param_binary(&step.marks, array_types[c], arrays[c], lengths[c]);
    for (int c = 0; c < MARKR_PG_SCAN_COLUMNS; ++c)
        markr_pg_param_binary(&step.marks, MARKR_PG_TEXT_ARRAY, scans[c], scan_lengths[c]);

    if ((rc = markr_pg_transaction(pg, "storing the import", accepted_step, &step, err)) == 0)
        *import_id = step.id;
out:
    for (int c = 0; c < COLUMN_COUNT; ++c)
        free(arrays[c]);
    for (int c = 0; c < MARKR_PG_SCAN_COLUMNS; ++c)
        free(scans[c]);
    free(content_type);
    return rc;
}

/* A refused document: its vault row and its body as chunks, in one transaction. */
struct rejected_step {
    const struct markr_vault_entry *entry;
    struct markr_pg_params row;
    int64_t id;
};

static int rejected_step(struct markr_pg *pg, void *arg, struct markr_error *err)
{
    struct rejected_step *s = arg;
    PGresult *res;
    int rc;

    s->id = 0;
    if ((res = markr_pg_exec(pg, "storing the refused import", save_rejected_sql, &s->row, err)) == NULL)
        return -1;
    rc = read_id(res, &s->id, err);
    PQclear(res);
    return rc != 0 ? -1 : markr_pg_chunks_write(pg, s->id, s->entry->body, s->entry->body_len, err);
}

static int store_save_rejected(void *ctx, const struct markr_vault_entry *entry, const struct markr_error *reason,
                               int64_t *import_id, struct markr_error *err)
{
    struct markr_pg *pg = ctx;
    struct rejected_step step = {.entry = entry};
    char count[24], index[24], line[24], size[24];
    char *content_type = NULL, *code = NULL, *message = NULL, *field = NULL;
    int rc = -1;

    *import_id = 0;
    /* The message may quote the document, cut at a byte limit: keep the row storable. */
    content_type = markr_pg_utf8_copy(entry->content_type);
    code = markr_pg_utf8_copy(reason->reason);
    message = markr_pg_utf8_copy(reason->message);
    field = markr_pg_utf8_copy(reason->field);
    if (content_type == NULL || code == NULL || message == NULL || field == NULL) {
        markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
        goto out;
    }
    snprintf(count, sizeof(count), "%zu", entry->result_count);
    snprintf(size, sizeof(size), "%zu", entry->body_len);
    snprintf(index, sizeof(index), "%zu", reason->result_index);
    snprintf(line, sizeof(line), "%lu", reason->line);
    markr_pg_param_text(&step.row, MARKR_PG_TEXT, content_type);
    markr_pg_param_text(&step.row, MARKR_PG_INT8, size);
    markr_pg_param_text(&step.row, MARKR_PG_TEXT, code);
    markr_pg_param_text(&step.row, MARKR_PG_TEXT, message);
    markr_pg_param_text(&step.row, MARKR_PG_INT8, index);
    markr_pg_param_text(&step.row, MARKR_PG_INT8, line);
    markr_pg_param_text(&step.row, MARKR_PG_TEXT, field);
    markr_pg_param_text(&step.row, MARKR_PG_INT4, count);

    if ((rc = markr_pg_transaction(pg, "storing the refused import", rejected_step, &step, err)) == 0)
        *import_id = step.id;
out:
    free(field);
    free(message);
    free(code);
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
