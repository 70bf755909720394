/*
 * The vault's reads for operators over PostgreSQL: browsing imports, a raw body, and the
 * student numbers of a test seen under several names (ADR 0009). Rebuilds are in
 * pg_rebuild.c, the queue in pg_queue.c.
 */
#include "pg_vault.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_chunks.h"
#include "pg_internal.h"

/* Reads "{1,2,3}" (an int8[] as text) into a malloc'd array. */
static int64_t *parse_ids(const char *text, size_t *count)
{
    size_t n = 1;
    int64_t *ids;
    const char *p;

    for (p = text; *p != '\0'; ++p)
        n += *p == ',';
    if ((ids = calloc(n, sizeof(*ids))) == NULL)
        return NULL;
    *count = 0;
    for (p = text; *p != '\0';) {
        char *end;
        long long v;

        if (*p < '0' || *p > '9') {
            ++p;
            continue;
        }
        v = strtoll(p, &end, 10);
        ids[(*count)++] = v;
        p = end;
    }
    return ids;
}


/* --- browsing ----------------------------------------------------------------------------------- */

#define INFO_COLUMNS                                                                                        \
    "SELECT i.id, to_char(i.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),\n"        \
    "       COALESCE(to_char(i.processed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), ''),\n" \
    "       i.content_type, i.size_bytes, encode(i.sha256, 'hex'), i.status, i.result_count,\n"               \
    "       i.reason->>'error', i.reason->>'message', i.reason->>'result_index', i.reason->>'line',\n"        \
    "       i.reason->>'field', i.content_encoding\n"                                                        \
    "FROM imports AS i\n"

static int read_info(const PGresult *res, int row, struct markr_import_info *info)
{
    memset(info, 0, sizeof(*info));
    info->id = strtoll(PQgetvalue(res, row, 0), NULL, 10);
    snprintf(info->received_at, sizeof(info->received_at), "%s", PQgetvalue(res, row, 1));
    snprintf(info->processed_at, sizeof(info->processed_at), "%s", PQgetvalue(res, row, 2));
    info->size_bytes = strtoll(PQgetvalue(res, row, 4), NULL, 10);
    snprintf(info->sha256, sizeof(info->sha256), "%s", PQgetvalue(res, row, 5));
    snprintf(info->status, sizeof(info->status), "%s", PQgetvalue(res, row, 6));
    info->result_count = strtoll(PQgetvalue(res, row, 7), NULL, 10);
    snprintf(info->content_encoding, sizeof(info->content_encoding), "%s", PQgetvalue(res, row, 13));
    markr_error_clear(&info->reason);
    if (!PQgetisnull(res, row, 8)) {
        /* the two refusals of a body that is not its format at all (400) */
        info->reason.code = strcmp(PQgetvalue(res, row, 8), "malformed_xml") == 0 ||
                                    strcmp(PQgetvalue(res, row, 8), "malformed_event_stream") == 0
                                ? MARKR_ERR_MALFORMED
                                : MARKR_ERR_INVALID;
        snprintf(info->reason.reason, sizeof(info->reason.reason), "%s", PQgetvalue(res, row, 8));
        snprintf(info->reason.message, sizeof(info->reason.message), "%s", PQgetvalue(res, row, 9));
        info->reason.result_index = strtoull(PQgetvalue(res, row, 10), NULL, 10);
        info->reason.line = strtoul(PQgetvalue(res, row, 11), NULL, 10);
        snprintf(info->reason.field, sizeof(info->reason.field), "%s", PQgetvalue(res, row, 12));
    }
    return (info->content_type = markr_pg_value_copy(res, row, 3)) != NULL ? 0 : -1;
}

/* GET /imports, newest first: one statement per index that can drive the page, so that a
 * page costs what its rows cost (an index descent, then one step per row listed or passed
 * over), not what the vault's history costs. vault_list picks the statement from the
 * filters (a SHA-256, else a test, else none or a status); all three take the same
 * parameters ($1 status, $2 test id, $3 the cursor, $4 the limit, $5 the SHA-256; NULL when
 * not asked for) and read the columns of INFO_COLUMNS for read_info. $3 is never 0:
 * without a cursor it is the largest id there can be, so that "below the cursor" is an
 * index condition in every plan, the generic plan of a prepared statement included (which
 * cannot fold "$3 = 0 OR ..." away as a plan made for the values does, and would read the
 * newer history before a page far back). The filters a statement is not driven by are
 * conditions on the rows it reads. ADR 0038 has the EXPLAIN figures of every filter. */
#define LIST_STATUS "($1::text IS NULL OR i.status = $1)"

/* Neither a test nor a SHA-256: the backward walk of imports_pkey from the cursor, or, for a
 * status that a plan made for the value finds rare, of imports_status_id_idx or
 * imports_queue_idx. A generic plan cannot know how rare a status is and walks imports_pkey,
 * passing over the other statuses' rows: markr's statements are unnamed, planned for their
 * values. */
static const char list_sql[] = INFO_COLUMNS
    "WHERE i.id < $3 AND " LIST_STATUS "\n"
    "ORDER BY i.id DESC\n"
    "LIMIT $4";

/* A test (and perhaps a status): the test's names rows (one per import that carried it,
 * migration 0017) in the backward order of their key (test_id, import_id) from the cursor,
 * each with its imports row. The row is read in a LATERAL subquery that OFFSET 0 keeps
 * from being merged into the outer query, so that the names' key always drives, in its
 * order: merged, the join may be planned as the walk of imports_pkey probing the names of
 * each import, which reads the whole history for a test of few imports (1,171 buffers for
 * a test of 3 imports among 50,000, against 12). A test of few imports costs those imports,
 * a large one its page; with a status, the test's imports of other statuses are passed over
 * (a test and a status none of its imports has costs all of the test's imports). */
static const char list_by_test_sql[] =
    "SELECT r.* FROM import_names AS t\n"
    "CROSS JOIN LATERAL (" INFO_COLUMNS "WHERE i.id = t.import_id AND " LIST_STATUS " OFFSET 0) AS r\n"
    "WHERE t.test_id = $2 AND t.import_id < $3\n"
    "ORDER BY t.import_id DESC\n"
    "LIMIT $4";

/* A SHA-256 (and perhaps a status and a test): the imports of that body, one per time it
 * was sent, through imports_sha256_idx (migration 0013), then sorted. */
static const char list_by_sha256_sql[] = INFO_COLUMNS
    "WHERE i.sha256 = decode($5, 'hex') AND i.id < $3 AND " LIST_STATUS "\n"
    "  AND ($2::text IS NULL OR i.id IN (SELECT t.import_id FROM import_names AS t WHERE t.test_id = $2))\n"
    "ORDER BY i.id DESC\n"
    "LIMIT $4";

static int vault_list(void *ctx, const struct markr_import_filter *filter, struct markr_import_page *out,
                      struct markr_error *err)
{
    struct markr_pg *pg = ctx;
    struct markr_pg_params params = {0};
    PGresult *res;
    int rows;

    memset(out, 0, sizeof(*out));
    markr_pg_param_text(&params, MARKR_PG_TEXT, filter->status);
    markr_pg_param_text(&params, MARKR_PG_TEXT, filter->test_id);
    markr_pg_param_int8(&params, filter->before_id != 0 ? filter->before_id : INT64_MAX);
    markr_pg_param_int8(&params, (int64_t)filter->limit + 1); /* one more says there is a next page */
    markr_pg_param_text(&params, MARKR_PG_TEXT, filter->sha256);
    /* A lookup by SHA-256 answers "was my import of unknown outcome stored?": on the primary,
     * since no standby (nor the position of this instance) may know of that commit yet. */
    if (filter->sha256 != NULL)
        res = markr_pg_read(pg, "listing imports", list_by_sha256_sql, &params, err);
    else
        res = markr_pg_read_replica(pg, "listing imports", filter->test_id != NULL ? list_by_test_sql : list_sql,
                                    &params, err);
    if (res == NULL) {
        if (strcmp(pg->sqlstate, "22021") == 0) /* a test id that is not UTF-8: none stored */
            return markr_error_clear(err), 0;
        return -1;
    }
    rows = PQntuples(res);
    if ((unsigned)rows > filter->limit) {
        rows = (int)filter->limit;
        out->next_before_id = strtoll(PQgetvalue(res, rows - 1, 0), NULL, 10);
    }
    if ((out->items = calloc(rows != 0 ? (size_t)rows : 1, sizeof(*out->items))) == NULL) {
        PQclear(res);
        return markr_pg_oom(err);
    }
    for (int r = 0; r < rows; ++r) {
        ++out->count;
        if (read_info(res, r, &out->items[r]) != 0) {
            PQclear(res);
            markr_import_page_free(out);
            return markr_pg_oom(err);
        }
    }
    PQclear(res);
    return 0;
}

static int vault_get(void *ctx, int64_t id, struct markr_import_info *out, struct markr_error *err)
{
    static const char get_sql[] = INFO_COLUMNS "WHERE i.id = $1";
    /* The first tests in order, and how many there are (one statement: one snapshot), from
     * the import's names rows (one per test it carried), through their index by import. */
    static const char tests_sql[] =
        "SELECT test_id, (SELECT count(*) FROM import_names WHERE import_id = $1)\n"
        "FROM import_names WHERE import_id = $1 ORDER BY test_id LIMIT $2";
    struct markr_pg *pg = ctx;
    struct markr_pg_params params = {0};
    PGresult *res;
    int rows;

    memset(out, 0, sizeof(*out));
    markr_pg_param_int8(&params, id);
    if ((res = markr_pg_read_replica(pg, "reading an import", get_sql, &params, err)) == NULL)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return markr_error_set(err, MARKR_ERR_NOT_FOUND, "unknown_import", "no import has id %lld", (long long)id);
    }
    rows = read_info(res, 0, out);
    PQclear(res);
    if (rows != 0) {
        markr_import_info_free(out);
        return markr_pg_oom(err);
    }
    markr_pg_param_int8(&params, MARKR_IMPORT_TESTS_MAX);
    if ((res = markr_pg_read_replica(pg, "reading the tests of an import", tests_sql, &params, err)) == NULL) {
        markr_import_info_free(out);
        return -1;
    }
    rows = PQntuples(res);
    out->test_total = rows != 0 ? strtoll(PQgetvalue(res, 0, 1), NULL, 10) : 0;
    if ((out->tests = calloc(rows != 0 ? (size_t)rows : 1, sizeof(*out->tests))) == NULL)
        goto fail;
    for (int r = 0; r < rows; ++r) {
        if ((out->tests[r] = markr_pg_value_copy(res, r, 0)) == NULL)
            goto fail;
        out->test_count = (size_t)r + 1;
    }
    PQclear(res);
    return 0;
fail:
    PQclear(res);
    markr_import_info_free(out);
    return markr_pg_oom(err);
}

/* The start of a download: the imports row alone; the chunks are read one per job. */
static int vault_head(void *ctx, int64_t id, char **content_type, size_t *size, struct markr_error *err)
{
    static const char head_sql[] = "SELECT content_type, size_bytes FROM imports WHERE id = $1";
    struct markr_pg *pg = ctx;
    struct markr_pg_params params = {0};
    PGresult *res;

    *content_type = NULL;
    *size = 0;
    markr_pg_param_int8(&params, id);
    if ((res = markr_pg_read_replica(pg, "reading a raw import", head_sql, &params, err)) == NULL)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return markr_error_set(err, MARKR_ERR_NOT_FOUND, "unknown_import", "no import has id %lld", (long long)id);
    }
    *size = (size_t)strtoull(PQgetvalue(res, 0, 1), NULL, 10);
    *content_type = markr_pg_value_copy(res, 0, 0);
    PQclear(res);
    return *content_type != NULL ? 0 : markr_pg_oom(err);
}

/* A body's chunks, read on a standby or the primary (markr_pg_on_reader): one chunk, or all
 * of them (seq < 0) into one buffer of size bytes. */
struct chunk_read {
    int64_t id;
    int32_t seq;
    size_t size;
    char **bytes;
    size_t *len;
};

static int read_chunks_once(struct markr_pg *conn, void *arg, struct markr_error *err)
{
    struct chunk_read *c = arg;

    if (c->seq < 0)
        return markr_pg_chunks_read(conn, c->id, c->size, c->bytes, err);
    return markr_pg_chunk_read_one(conn, c->id, c->seq, c->bytes, c->len, err);
}

/* As every read: on a usable connection, and again on a new one when it was lost under the
 * read. A download reads its chunks one job at a time, each on whichever worker is free,
 * whose connection may have been closed by the server since its last use. */
static int read_chunks(struct markr_pg *conn, void *arg, struct markr_error *err)
{
    return markr_pg_read_with(conn, read_chunks_once, arg, err);
}

static int vault_chunk(void *ctx, int64_t id, int32_t seq, char **bytes, size_t *len, struct markr_error *err)
{
    struct chunk_read c = {.id = id, .seq = seq, .bytes = bytes, .len = len};

    return markr_pg_on_reader(ctx, read_chunks, &c, err);
}

/* The content type and size come from the imports row, the bytes from its chunks in order
 * (ADR 0018), read one chunk at a time into one buffer (for callers that need the body
 * whole; downloads stream it with vault_chunk). */
static int vault_raw(void *ctx, int64_t id, char **content_type, char **body, size_t *len, struct markr_error *err)
{
    struct markr_pg *pg = ctx;
    int rc;

    *body = NULL;
    if (vault_head(ctx, id, content_type, len, err) != 0)
        return -1;
    if ((rc = markr_pg_on_reader(pg, read_chunks, &(struct chunk_read){.id = id, .seq = -1, .size = *len, .bytes = body},
                                 err)) != 0) {
        free(*content_type);
        *content_type = NULL;
        *len = 0;
    }
    return rc;
}

/* Names of one student number count as different when (first, last) differ; a scan without
 * any name says nothing about the name and is left out. The test's names rows (one per
 * import, migration 0015) are unnested into one (student, first, last, import) each; their
 * arrays are sorted by student number in the column's collation, so width_bucket (a binary
 * search under the same collation) tells how many of a row's students come up to the
 * cursor, and only the rest is unnested. One sort then serves everything (ADR 0035): the
 * distinct names of each student with their imports, how many names the student has, and
 * the rank of the student among the conflicted ones, which stops the scan after $3 of them.
 * One page: the conflicted students after the cursor ($2, NULL for the first page), at most
 * $3 of them, with all their names (ordered with the column's collation, so that the keyset
 * follows the order). */
static const char conflicts_sql[] =
    "WITH names AS (\n"
    "    SELECT n.student_number, n.first_name, n.last_name,\n"
    "           array_agg(DISTINCT i.import_id ORDER BY i.import_id) AS import_ids,\n"
    "           count(*) OVER (PARTITION BY n.student_number) AS name_count\n"
    "    FROM import_names AS i,\n"
    "         LATERAL (SELECT COALESCE(width_bucket($2::text, i.student_numbers), 0) + 1 AS k) AS after,\n"
    "         unnest(i.student_numbers[after.k:], i.first_names[after.k:], i.last_names[after.k:])\n"
    "             AS n(student_number, first_name, last_name)\n"
    "    WHERE i.test_id = $1 AND (n.first_name IS NOT NULL OR n.last_name IS NOT NULL)\n"
    "    GROUP BY n.student_number, n.first_name, n.last_name\n"
    "), conflicted AS (\n"
    "    SELECT student_number, first_name, last_name, import_ids,\n"
    "           dense_rank() OVER (ORDER BY student_number) AS student_rank\n"
    "    FROM names WHERE name_count > 1\n"
    ")\n"
    "SELECT student_number, first_name, last_name, import_ids::text FROM conflicted\n"
    "WHERE student_rank <= $3\n"
    "ORDER BY student_number, first_name NULLS LAST, last_name NULLS LAST";

static int vault_conflicts(void *ctx, const char *test_id, size_t len, const char *after, size_t after_len,
                           size_t limit, struct markr_conflicts *out, struct markr_error *err)
{
    struct markr_pg *pg = ctx;
    struct markr_pg_params params = {0};
    PGresult *res;
    int rows;

    memset(out, 0, sizeof(*out));
    markr_pg_param_binary(&params, MARKR_PG_TEXT, test_id, len);
    markr_pg_param_binary(&params, MARKR_PG_TEXT, after, after != NULL ? after_len : 0); /* NULL: no cursor */
    markr_pg_param_int8(&params, (int64_t)limit);
    if ((res = markr_pg_read_replica(pg, "reading conflicts", conflicts_sql, &params, err)) == NULL) {
        /* A test id or cursor that is not UTF-8 names nothing stored: no conflicts. */
        if (strcmp(pg->sqlstate, "22021") == 0)
            return markr_error_clear(err), 0;
        return -1;
    }
    rows = PQntuples(res);
    if ((out->items = calloc(rows != 0 ? (size_t)rows : 1, sizeof(*out->items))) == NULL)
        goto fail;
    for (int r = 0; r < rows; ++r) {
        struct markr_conflict *c = out->count != 0 ? &out->items[out->count - 1] : NULL;
        struct markr_name_seen *name;

        if (c == NULL || strcmp(c->student_number, PQgetvalue(res, r, 0)) != 0) {
            int end = r + 1;

            /* Rows come sorted by student: this student's names are the rows up to the next. */
            while (end < rows && strcmp(PQgetvalue(res, end, 0), PQgetvalue(res, r, 0)) == 0)
                ++end;
            c = &out->items[out->count++];
            if ((c->student_number = markr_pg_value_copy(res, r, 0)) == NULL ||
                (c->names = calloc((size_t)(end - r), sizeof(*c->names))) == NULL)
                goto fail;
        }
        name = &c->names[c->name_count++];
        name->first_name = markr_pg_value_copy(res, r, 1);
        name->last_name = markr_pg_value_copy(res, r, 2);
        if ((name->first_name == NULL && !PQgetisnull(res, r, 1)) ||
            (name->last_name == NULL && !PQgetisnull(res, r, 2)) ||
            (name->import_ids = parse_ids(PQgetvalue(res, r, 3), &name->import_count)) == NULL)
            goto fail;
    }
    PQclear(res);
    return 0;
fail:
    PQclear(res);
    markr_conflicts_free(out);
    return markr_pg_oom(err);
}

struct markr_vault_reader markr_pg_vault_reader(struct markr_pg *pg)
{
    return (struct markr_vault_reader){
        .ctx = pg, .list = vault_list, .get = vault_get, .raw = vault_raw, .head = vault_head, .chunk = vault_chunk,
        .conflicts = vault_conflicts};
}
