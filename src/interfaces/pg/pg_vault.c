/*
 * The import vault for operators over PostgreSQL (issue 3): browsing, raw bodies,
 * conflicts, the rebuild transaction of `markr reprocess`, and the asynchronous import
 * queue. The marks upsert here must apply rule 2 exactly as pg_store.c's import statement
 * does; the e2e property test (reprocess --all == live) fails when they drift apart.
 * ADRs 0009 (names per import), 0010 (reprocessing) and 0011 (the queue).
 */
#include "pg_vault.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_chunks.h"
#include "pg_internal.h"
#include "pg_listen.h"

/* --- helpers ------------------------------------------------------------------------------------ */

/* Runs a statement whose results come back in binary (raw bytes for text and bytea). */
static PGresult *exec_binary(struct markr_pg *pg, const char *what, const char *sql,
                             const struct markr_pg_params *p, struct markr_error *err)
{
    PGresult *res = PQexecParams(pg->conn, sql, p->count, p->types, p->values, p->lengths, p->formats, 1);
    ExecStatusType st = PQresultStatus(res);

    if (res != NULL && (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK))
        return res;
    markr_pg_fail(pg, res, what, err);
    PQclear(res);
    return NULL;
}

static char *copy_value(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return NULL;
    return strndup(PQgetvalue(res, row, col), (size_t)PQgetlength(res, row, col));
}

static int oom(struct markr_error *err)
{
    return markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
}

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
    "       i.reason->>'field'\n"                                                                             \
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
    markr_error_clear(&info->reason);
    if (!PQgetisnull(res, row, 8)) {
        info->reason.code = strcmp(PQgetvalue(res, row, 8), "malformed_xml") == 0 ? MARKR_ERR_MALFORMED
                                                                                   : MARKR_ERR_INVALID;
        snprintf(info->reason.reason, sizeof(info->reason.reason), "%s", PQgetvalue(res, row, 8));
        snprintf(info->reason.message, sizeof(info->reason.message), "%s", PQgetvalue(res, row, 9));
        info->reason.result_index = strtoull(PQgetvalue(res, row, 10), NULL, 10);
        info->reason.line = strtoul(PQgetvalue(res, row, 11), NULL, 10);
        snprintf(info->reason.field, sizeof(info->reason.field), "%s", PQgetvalue(res, row, 12));
    }
    return (info->content_type = copy_value(res, row, 3)) != NULL ? 0 : -1;
}

/* markr_pg_read, with binary results when asked (the bodies' chunks). */
static PGresult *read_query(struct markr_pg *pg, const char *what, const char *sql,
                            const struct markr_pg_params *params, int binary, struct markr_error *err)
{
    PGresult *res;

    for (int attempt = 0; attempt < 2; ++attempt) {
        if (markr_pg_ensure(pg, err) != 0)
            return NULL;
        res = binary ? exec_binary(pg, what, sql, params, err) : markr_pg_exec(pg, what, sql, params, err);
        if (res != NULL || PQstatus(pg->conn) == CONNECTION_OK)
            return res;
    }
    return NULL;
}

static const char list_sql[] = INFO_COLUMNS
    "WHERE ($1::text IS NULL OR i.status = $1)\n"
    "  AND ($2::text IS NULL OR i.id IN (SELECT t.import_id FROM import_tests AS t WHERE t.test_id = $2))\n"
    "  AND ($3::bigint = 0 OR i.id < $3)\n"
    "ORDER BY i.id DESC\n"
    "LIMIT $4";

static int vault_list(void *ctx, const struct markr_import_filter *filter, struct markr_import_page *out,
                      struct markr_error *err)
{
    struct markr_pg *pg = ctx;
    struct markr_pg_params params = {0};
    char before[24], limit[24];
    PGresult *res;
    int rows;

    memset(out, 0, sizeof(*out));
    snprintf(before, sizeof(before), "%lld", (long long)filter->before_id);
    snprintf(limit, sizeof(limit), "%u", filter->limit + 1); /* one more says there is a next page */
    markr_pg_param_text(&params, MARKR_PG_TEXT, filter->status);
    markr_pg_param_text(&params, MARKR_PG_TEXT, filter->test_id);
    markr_pg_param_text(&params, MARKR_PG_INT8, before);
    markr_pg_param_text(&params, MARKR_PG_INT8, limit);
    if ((res = read_query(pg, "listing imports", list_sql, &params, 0, err)) == NULL) {
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
        return oom(err);
    }
    for (int r = 0; r < rows; ++r) {
        ++out->count;
        if (read_info(res, r, &out->items[r]) != 0) {
            PQclear(res);
            markr_import_page_free(out);
            return oom(err);
        }
    }
    PQclear(res);
    return 0;
}

static int vault_get(void *ctx, int64_t id, struct markr_import_info *out, struct markr_error *err)
{
    static const char get_sql[] = INFO_COLUMNS "WHERE i.id = $1";
    static const char tests_sql[] = "SELECT test_id FROM import_tests WHERE import_id = $1 ORDER BY test_id";
    struct markr_pg *pg = ctx;
    struct markr_pg_params params = {0};
    char key[24];
    PGresult *res;
    int rows;

    memset(out, 0, sizeof(*out));
    snprintf(key, sizeof(key), "%lld", (long long)id);
    markr_pg_param_text(&params, MARKR_PG_INT8, key);
    if ((res = read_query(pg, "reading an import", get_sql, &params, 0, err)) == NULL)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return markr_error_set(err, MARKR_ERR_NOT_FOUND, "unknown_import", "no import has id %lld", (long long)id);
    }
    rows = read_info(res, 0, out);
    PQclear(res);
    if (rows != 0) {
        markr_import_info_free(out);
        return oom(err);
    }
    if ((res = read_query(pg, "reading the tests of an import", tests_sql, &params, 0, err)) == NULL) {
        markr_import_info_free(out);
        return -1;
    }
    rows = PQntuples(res);
    if ((out->tests = calloc(rows != 0 ? (size_t)rows : 1, sizeof(*out->tests))) == NULL)
        goto fail;
    for (int r = 0; r < rows; ++r) {
        if ((out->tests[r] = copy_value(res, r, 0)) == NULL)
            goto fail;
        out->test_count = (size_t)r + 1;
    }
    PQclear(res);
    return 0;
fail:
    PQclear(res);
    markr_import_info_free(out);
    return oom(err);
}

/* The content type and size come from the imports row, the bytes from its chunks in order
 * (ADR 0018), read one chunk at a time into the one buffer the answer is sent from. */
static int vault_raw(void *ctx, int64_t id, char **content_type, char **body, size_t *len, struct markr_error *err)
{
    static const char raw_sql[] = "SELECT content_type, size_bytes FROM imports WHERE id = $1";
    struct markr_pg *pg = ctx;
    struct markr_pg_params params = {0};
    char key[24];
    PGresult *res;
    int rc;

    *content_type = *body = NULL;
    *len = 0;
    snprintf(key, sizeof(key), "%lld", (long long)id);
    markr_pg_param_text(&params, MARKR_PG_INT8, key);
    if ((res = read_query(pg, "reading a raw import", raw_sql, &params, 0, err)) == NULL)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return markr_error_set(err, MARKR_ERR_NOT_FOUND, "unknown_import", "no import has id %lld", (long long)id);
    }
    *len = (size_t)strtoull(PQgetvalue(res, 0, 1), NULL, 10);
    *content_type = copy_value(res, 0, 0);
    PQclear(res);
    if (*content_type == NULL)
        return oom(err);
    if ((rc = markr_pg_chunks_read(pg, id, *len, body, err)) != 0) {
        free(*content_type);
        *content_type = NULL;
        *len = 0;
    }
    return rc;
}

/* Names of one student number count as different when (first, last) differ; a scan without
 * any name says nothing about the name and is left out. */
static const char conflicts_sql[] =
    "WITH named AS (\n"
    "    SELECT student_number, first_name, last_name, import_id FROM import_names\n"
    "    WHERE test_id = $1 AND (first_name IS NOT NULL OR last_name IS NOT NULL)\n"
    "), conflicted AS (\n"
    "    SELECT student_number FROM named GROUP BY student_number\n"
    "    HAVING count(DISTINCT ARRAY[first_name, last_name]) > 1\n"
    ")\n"
    "SELECT n.student_number, n.first_name, n.last_name,\n"
    "       array_agg(DISTINCT n.import_id ORDER BY n.import_id)::text\n"
    "FROM named AS n JOIN conflicted USING (student_number)\n"
    "GROUP BY n.student_number, n.first_name, n.last_name\n"
    "ORDER BY n.student_number, n.first_name NULLS LAST, n.last_name NULLS LAST";

static int vault_conflicts(void *ctx, const char *test_id, size_t len, struct markr_conflicts *out,
                           struct markr_error *err)
{
    struct markr_pg *pg = ctx;
    struct markr_pg_params params = {0};
    PGresult *res;
    int rows;

    memset(out, 0, sizeof(*out));
    markr_pg_param_binary(&params, MARKR_PG_TEXT, test_id, len);
    if ((res = read_query(pg, "reading conflicts", conflicts_sql, &params, 0, err)) == NULL) {
        if (strcmp(pg->sqlstate, "22021") == 0) /* not UTF-8: no such test, no conflicts */
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
            if ((c->student_number = copy_value(res, r, 0)) == NULL ||
                (c->names = calloc((size_t)(end - r), sizeof(*c->names))) == NULL)
                goto fail;
        }
        name = &c->names[c->name_count++];
        name->first_name = copy_value(res, r, 1);
        name->last_name = copy_value(res, r, 2);
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
    return oom(err);
}

struct markr_vault_reader markr_pg_vault_reader(struct markr_pg *pg)
{
    return (struct markr_vault_reader){
        .ctx = pg, .list = vault_list, .get = vault_get, .raw = vault_raw, .conflicts = vault_conflicts};
}

/* --- the rebuild transaction -------------------------------------------------------------------- */

/* One rebuild at a time per connection; pg->rebuild_all says whether the open one cleared
 * every name and test row (then no import needs its own rows cleared). */

static int exec_command(struct markr_pg *pg, const char *what, const char *sql, const struct markr_pg_params *p,
                        struct markr_error *err)
{
    PGresult *res = markr_pg_exec(pg, what, sql, p, err);

    PQclear(res);
    return res != NULL ? 0 : -1;
}

static int rebuild_begin(void *ctx, int all, struct markr_error *err)
{
    struct markr_pg *pg = ctx;

    pg->rebuild_all = all;
    if (markr_pg_ensure(pg, err) != 0 || exec_command(pg, "starting a rebuild", "BEGIN", NULL, err) != 0)
        return -1;
    if (!all) {
        /* The table locks first, then the import's row, as a full rebuild takes them: a
         * one-import rebuild that locked its row first could deadlock with one. */
        if (exec_command(pg, "locking the marks",
                         "LOCK TABLE marks, import_names, import_tests IN ROW EXCLUSIVE MODE", NULL, err) == 0)
            return 0;
        PQclear(PQexec(pg->conn, "ROLLBACK"));
        return -1;
    }
    /* EXCLUSIVE lets readers (SELECT) through and holds off every writer of marks until the
     * commit, so that no import lands between the snapshot and the replay. A failure rolls
     * back here: the caller only finishes a rebuild that began. */
    if (exec_command(pg, "locking the marks", "LOCK TABLE marks, import_names, import_tests IN EXCLUSIVE MODE", NULL,
                     err) != 0 ||
        exec_command(pg, "keeping the marks before the rebuild",
                     "CREATE TEMPORARY TABLE markr_marks_before ON COMMIT DROP AS\n"
                     "SELECT test_id, student_number, available, obtained FROM marks",
                     NULL, err) != 0 ||
        exec_command(pg, "clearing the marks", "DELETE FROM marks", NULL, err) != 0 ||
        exec_command(pg, "clearing the names", "DELETE FROM import_names", NULL, err) != 0 ||
        exec_command(pg, "clearing the tests", "DELETE FROM import_tests", NULL, err) != 0) {
        PQclear(PQexec(pg->conn, "ROLLBACK"));
        return -1;
    }
    return 0;
}

/* The row (id, status, content type, size, all as text) and then the body from its chunks. */
static int read_stored(struct markr_pg *pg, const PGresult *res, struct markr_stored_import *out,
                       struct markr_error *err)
{
    char id[24], size[24];

    memset(out, 0, sizeof(*out));
    snprintf(id, sizeof(id), "%.*s", PQgetlength(res, 0, 0), PQgetvalue(res, 0, 0));
    out->id = strtoll(id, NULL, 10);
    snprintf(out->status, sizeof(out->status), "%.*s", PQgetlength(res, 0, 1), PQgetvalue(res, 0, 1));
    snprintf(size, sizeof(size), "%.*s", PQgetlength(res, 0, 3), PQgetvalue(res, 0, 3));
    out->len = (size_t)strtoull(size, NULL, 10);
    if ((out->content_type = copy_value(res, 0, 2)) == NULL) {
        markr_stored_import_free(out);
        return oom(err);
    }
    if (markr_pg_chunks_read(pg, out->id, out->len, &out->body, err) != 0) {
        markr_stored_import_free(out);
        return -1;
    }
    return 1;
}

static int rebuild_next(void *ctx, int64_t after_id, struct markr_stored_import *out, struct markr_error *err)
{
    static const char next_sql[] =
        /* imports.id: a bare `id` in ORDER BY would be the text column of the output. */
        "SELECT id::text, status, content_type, size_bytes::text FROM imports\n"
        "WHERE id > $1 AND status IN ('accepted', 'rejected') ORDER BY imports.id LIMIT 1 FOR UPDATE";
    struct markr_pg *pg = ctx;
    struct markr_pg_params params = {0};
    char after[24];
    PGresult *res;
    int rc;

    snprintf(after, sizeof(after), "%lld", (long long)after_id);
    markr_pg_param_text(&params, MARKR_PG_INT8, after);
    if ((res = exec_binary(pg, "reading the next import", next_sql, &params, err)) == NULL)
        return -1;
    rc = PQntuples(res) == 1 ? read_stored(pg, res, out, err) : 0;
    PQclear(res);
    return rc;
}

static int rebuild_fetch(void *ctx, int64_t id, const char *want, struct markr_stored_import *out,
                         struct markr_error *err)
{
    static const char fetch_sql[] = "SELECT id::text, status, content_type, size_bytes::text FROM imports\n"
                                    "WHERE id = $1 AND status IN ($2, $3) FOR UPDATE";
    struct markr_pg *pg = ctx;
    struct markr_pg_params params = {0};
    char key[24];
    PGresult *res;
    int rc;

    snprintf(key, sizeof(key), "%lld", (long long)id);
    markr_pg_param_text(&params, MARKR_PG_INT8, key);
    markr_pg_param_text(&params, MARKR_PG_TEXT, want != NULL ? want : "accepted");
    markr_pg_param_text(&params, MARKR_PG_TEXT, want != NULL ? want : "rejected");
    if ((res = exec_binary(pg, "reading an import", fetch_sql, &params, err)) == NULL)
        return -1;
    rc = PQntuples(res) == 1 ? read_stored(pg, res, out, err) : 0;
    PQclear(res);
    return rc;
}

/* Reads a one-column text result into a sorted, owned array of strings. */
static int read_strings(PGresult *res, char ***out, size_t *count, struct markr_error *err)
{
    int rows = PQntuples(res);

    *count = 0;
    if ((*out = calloc(rows != 0 ? (size_t)rows : 1, sizeof(**out))) == NULL)
        return oom(err);
    for (int r = 0; r < rows; ++r) {
        if (((*out)[r] = copy_value(res, r, 0)) == NULL)
            return oom(err);
        *count = (size_t)r + 1;
    }
    return 0;
}

static void free_arrays(char **arrays, int n)
{
    for (int i = 0; i < n; ++i)
        free(arrays[i]);
}

static int rebuild_would_raise(void *ctx, const struct markr_marks *marks, char ***tests, size_t *count,
                               struct markr_error *err)
{
    static const char raise_sql[] =
        "SELECT DISTINCT r.t FROM unnest($1::text[], $2::text[], $3::integer[], $4::integer[]) AS r(t, s, a, o)\n"
        "LEFT JOIN marks AS m ON m.test_id = r.t AND m.student_number = r.s\n"
        "WHERE m.test_id IS NULL OR r.a > m.available OR r.o > m.obtained\n"
        "ORDER BY 1";
    struct markr_pg *pg = ctx;
    struct markr_pg_params params = {0};
    char *arrays[6] = {NULL};
    size_t lengths[6];
    PGresult *res;
    int rc = -1;

    *tests = NULL;
    *count = 0;
    if (markr_pg_marks_arrays(marks, arrays, lengths) != 0) {
        free_arrays(arrays, 6);
        return oom(err);
    }
    markr_pg_param_binary(&params, MARKR_PG_TEXT_ARRAY, arrays[0], lengths[0]);
    markr_pg_param_binary(&params, MARKR_PG_TEXT_ARRAY, arrays[1], lengths[1]);
    markr_pg_param_binary(&params, MARKR_PG_INT4_ARRAY, arrays[4], lengths[4]);
    markr_pg_param_binary(&params, MARKR_PG_INT4_ARRAY, arrays[5], lengths[5]);
    if ((res = markr_pg_exec(pg, "comparing marks", raise_sql, &params, err)) != NULL) {
        rc = read_strings(res, tests, count, err);
        PQclear(res);
    }
    free_arrays(arrays, 6);
    return rc;
}

/* The marks upsert of pg_store.c's import statement (rule 2), for an import already in the
 * vault ($1). NAME(col) is how a name is merged: in order of receipt a new name replaces the
 * old one; applied late (one import reprocessed after newer ones), it only fills a gap. */
#define UPSERT_MARKS(FIRST, LAST)                                                                           \
    "WITH upsert AS (\n"                                                                                    \
    "    INSERT INTO marks AS m (test_id, student_number, first_name, last_name, available, obtained,\n"    \
    "                            import_id, updated_at)\n"                                                  \
    "    SELECT r.t, r.s, r.f, r.l, r.a, r.o, $1, now()\n"                                                  \
    "    FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::integer[], $8::integer[])\n"      \
    "         AS r(t, s, f, l, a, o)\n"                                                                     \
    "    ON CONFLICT (test_id, student_number) DO UPDATE SET\n"                                             \
    "        available  = GREATEST(m.available, EXCLUDED.available),\n"                                     \
    "        obtained   = GREATEST(m.obtained, EXCLUDED.obtained),\n"                                       \
    "        first_name = " FIRST ",\n"                                                                     \
    "        last_name  = " LAST ",\n"                                                                      \
    "        import_id  = CASE WHEN EXCLUDED.available > m.available OR EXCLUDED.obtained > m.obtained\n"  \
    "                          THEN EXCLUDED.import_id ELSE m.import_id END,\n"                             \
    "        updated_at = CASE WHEN EXCLUDED.available > m.available OR EXCLUDED.obtained > m.obtained\n"  \
    "                          THEN EXCLUDED.updated_at ELSE m.updated_at END\n"                            \
    "    WHERE EXCLUDED.available > m.available OR EXCLUDED.obtained > m.obtained\n"                        \
    "       OR " FIRST " IS DISTINCT FROM m.first_name\n"                                                   \
    "       OR " LAST " IS DISTINCT FROM m.last_name\n"                                                     \
    "), tests AS (\n"                                                                                       \
    "    INSERT INTO import_tests (test_id, import_id) SELECT DISTINCT t, $1 FROM unnest($3::text[]) AS t\n" \
    "), names AS (\n"                                                                                       \
    "    INSERT INTO import_names (test_id, student_number, first_name, last_name, import_id)\n"           \
    "    SELECT DISTINCT n.t, n.s, n.f, n.l, $1\n"                                                          \
    "    FROM unnest($9::text[], $10::text[], $11::text[], $12::text[]) AS n(t, s, f, l)\n"                \
    ")\n"                                                                                                   \
    "UPDATE imports SET status = 'accepted', reason = NULL, result_count = $2, processed_at = now()\n"      \
    "WHERE id = $1 AND (status, result_count) IS DISTINCT FROM ('accepted', $2)"

static const char apply_in_order_sql[] = UPSERT_MARKS("COALESCE(EXCLUDED.first_name, m.first_name)",
                                                      "COALESCE(EXCLUDED.last_name, m.last_name)");
static const char apply_late_sql[] = UPSERT_MARKS("COALESCE(m.first_name, EXCLUDED.first_name)",
                                                  "COALESCE(m.last_name, EXCLUDED.last_name)");

/* Drops the tests and names rows of one import (not needed after a rebuild cleared them all). */
static int clear_rows(struct markr_pg *pg, const char *key, struct markr_error *err)
{
    struct markr_pg_params params = {0};

    if (pg->rebuild_all)
        return 0;
    markr_pg_param_text(&params, MARKR_PG_INT8, key);
    if (exec_command(pg, "clearing the tests of an import", "DELETE FROM import_tests WHERE import_id = $1",
                     &params, err) != 0)
        return -1;
    return exec_command(pg, "clearing the names of an import", "DELETE FROM import_names WHERE import_id = $1",
                        &params, err);
}

static int rebuild_apply_accepted(void *ctx, int64_t id, const struct markr_marks *marks, size_t result_count,
                                  int late, struct markr_error *err)
{
    static const Oid types[6] = {MARKR_PG_TEXT_ARRAY, MARKR_PG_TEXT_ARRAY, MARKR_PG_TEXT_ARRAY,
                                 MARKR_PG_TEXT_ARRAY, MARKR_PG_INT4_ARRAY, MARKR_PG_INT4_ARRAY};
    struct markr_pg *pg = ctx;
    struct markr_pg_params params = {0};
    char key[24], count[24];
    char *arrays[6] = {NULL}, *scans[MARKR_PG_SCAN_COLUMNS] = {NULL};
    size_t lengths[6], scan_lengths[MARKR_PG_SCAN_COLUMNS];
    int rc = -1;

    snprintf(key, sizeof(key), "%lld", (long long)id);
    snprintf(count, sizeof(count), "%zu", result_count);
    if (clear_rows(pg, key, err) != 0)
        return -1;
    if (markr_pg_marks_arrays(marks, arrays, lengths) != 0 || markr_pg_scan_arrays(marks, scans, scan_lengths) != 0) {
        oom(err);
        goto out;
    }
    markr_pg_param_text(&params, MARKR_PG_INT8, key);
    markr_pg_param_text(&params, MARKR_PG_INT4, count);
    for (int c = 0; c < 6; ++c)
        markr_pg_param_binary(&params, types[c], arrays[c], lengths[c]);
    for (int c = 0; c < MARKR_PG_SCAN_COLUMNS; ++c)
        markr_pg_param_binary(&params, MARKR_PG_TEXT_ARRAY, scans[c], scan_lengths[c]);
    rc = exec_command(pg, "applying the marks of an import", late ? apply_late_sql : apply_in_order_sql, &params,
                      err);
    if (rc == 0 && !pg->rebuild_all) { /* issue 4 (ADR 0012): caches drop these tests at commit */
        struct markr_pg_params notify = {0};

        markr_pg_param_text(&notify, MARKR_PG_INT8, key);
        markr_pg_param_binary(&notify, MARKR_PG_TEXT_ARRAY, arrays[0], lengths[0]);
        rc = exec_command(pg, "announcing the change", MARKR_PG_NOTIFY_TESTS_SQL, &notify, err);
    }
out:
    free_arrays(arrays, 6);
    free_arrays(scans, MARKR_PG_SCAN_COLUMNS);
    return rc;
}

static int rebuild_apply_rejected(void *ctx, int64_t id, const struct markr_error *reason, size_t result_count,
                                  struct markr_error *err)
{
    static const char reject_sql[] =
        "WITH r AS (\n"
        "    SELECT jsonb_strip_nulls(jsonb_build_object(\n"
        "        'error', $2::text, 'message', $3::text, 'result_index', NULLIF($4, 0),\n"
        "        'line', NULLIF($5, 0), 'field', NULLIF($6::text, ''))) AS reason\n"
        ")\n"
        "UPDATE imports SET status = 'rejected', reason = r.reason, result_count = $7, processed_at = now()\n"
        "FROM r WHERE id = $1 AND (status, imports.reason, result_count) IS DISTINCT FROM ('rejected', r.reason, $7)";
    struct markr_pg *pg = ctx;
    struct markr_pg_params params = {0};
    char key[24], count[24], index[24], line[24];
    char *code = markr_pg_utf8_copy(reason->reason), *message = markr_pg_utf8_copy(reason->message),
         *field = markr_pg_utf8_copy(reason->field);
    int rc = -1;

    snprintf(key, sizeof(key), "%lld", (long long)id);
    snprintf(count, sizeof(count), "%zu", result_count);
    snprintf(index, sizeof(index), "%zu", reason->result_index);
    snprintf(line, sizeof(line), "%lu", reason->line);
    if (code == NULL || message == NULL || field == NULL) {
        oom(err);
    } else if (clear_rows(pg, key, err) == 0) {
        markr_pg_param_text(&params, MARKR_PG_INT8, key);
        markr_pg_param_text(&params, MARKR_PG_TEXT, code);
        markr_pg_param_text(&params, MARKR_PG_TEXT, message);
        markr_pg_param_text(&params, MARKR_PG_INT8, index);
        markr_pg_param_text(&params, MARKR_PG_INT8, line);
        markr_pg_param_text(&params, MARKR_PG_TEXT, field);
        markr_pg_param_text(&params, MARKR_PG_INT4, count);
        rc = exec_command(pg, "recording a refusal", reject_sql, &params, err);
    }
    free(code);
    free(message);
    free(field);
    return rc;
}

static int rebuild_changed_tests(void *ctx, char ***tests, size_t *count, struct markr_error *err)
{
    static const char changed_sql[] =
        "SELECT DISTINCT test_id FROM (\n"
        "    (SELECT test_id, student_number, available, obtained FROM markr_marks_before\n"
        "     EXCEPT SELECT test_id, student_number, available, obtained FROM marks)\n"
        "    UNION ALL\n"
        "    (SELECT test_id, student_number, available, obtained FROM marks\n"
        "     EXCEPT SELECT test_id, student_number, available, obtained FROM markr_marks_before)\n"
        ") AS d ORDER BY 1";
    struct markr_pg *pg = ctx;
    PGresult *res = markr_pg_exec(pg, "comparing the marks", changed_sql, NULL, err);
    int rc;

    *tests = NULL;
    *count = 0;
    if (res == NULL)
        return -1;
    rc = read_strings(res, tests, count, err);
    PQclear(res);
    return rc;
}

static int rebuild_finish(void *ctx, int commit, struct markr_error *err)
{
    struct markr_pg *pg = ctx;

    if (commit && PQtransactionStatus(pg->conn) == PQTRANS_INERROR) {
        /* A statement failed inside: nothing can be committed, and the caller must know. */
        struct markr_error ignored;

        exec_command(pg, "rolling back", "ROLLBACK", NULL, &ignored);
        return markr_error_set(err, MARKR_ERR_INTERNAL, "database_error",
                               "the rebuild failed inside its transaction and was rolled back");
    }
    /* issue 4 (ADR 0012): a rebuild of every mark may change any test: caches flush at commit. */
    if (commit && pg->rebuild_all && exec_command(pg, "announcing the change", MARKR_PG_NOTIFY_FLUSH_SQL, NULL, err) != 0) {
        struct markr_error ignored;

        exec_command(pg, "rolling back", "ROLLBACK", NULL, &ignored);
        return -1;
    }
    return exec_command(pg, commit ? "committing the rebuild" : "rolling back", commit ? "COMMIT" : "ROLLBACK",
                        NULL, err);
}

struct markr_vault_rebuild markr_pg_vault_rebuild(struct markr_pg *pg)
{
    return (struct markr_vault_rebuild){.ctx = pg,
                                        .begin = rebuild_begin,
                                        .next = rebuild_next,
                                        .fetch = rebuild_fetch,
                                        .would_raise = rebuild_would_raise,
                                        .apply_accepted = rebuild_apply_accepted,
                                        .apply_rejected = rebuild_apply_rejected,
                                        .changed_tests = rebuild_changed_tests,
                                        .finish = rebuild_finish};
}

/* --- the asynchronous queue ---------------------------------------------------------------------- */

#define QUEUE_CHANNEL "markr_import_queued"

/* The queued row, its body as chunks, and the notification, in one transaction (ADR 0018).
 * The notification is sent at commit, so a waiting server never looks before the row and
 * its chunks are visible. */
struct enqueue_step {
    struct markr_pg_params row;
    const char *body;
    size_t len;
    int64_t id;
};

static int enqueue_step(struct markr_pg *pg, void *arg, struct markr_error *err)
{
    static const char enqueue_sql[] =
        "INSERT INTO imports (content_type, size_bytes, sha256, status, result_count)\n"
        "VALUES ($1, $2, " MARKR_PG_SHA256_PENDING ", 'queued', 0)\n"
        "RETURNING id";
    static const char notify_sql[] = "SELECT pg_notify('" QUEUE_CHANNEL "', $1)";
    struct enqueue_step *s = arg;
    struct markr_pg_params params = {0};
    char key[24];
    PGresult *res;

    s->id = 0;
    if ((res = markr_pg_exec(pg, "queueing the import", enqueue_sql, &s->row, err)) == NULL)
        return -1;
    if (PQntuples(res) == 1)
        s->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    if (s->id <= 0)
        return markr_error_set(err, MARKR_ERR_INTERNAL, "database_error", "the database returned no import id");
    if (markr_pg_chunks_write(pg, s->id, s->body, s->len, err) != 0)
        return -1;
    snprintf(key, sizeof(key), "%lld", (long long)s->id);
    markr_pg_param_text(&params, MARKR_PG_TEXT, key);
    return exec_command(pg, "announcing the queued import", notify_sql, &params, err);
}

static int queue_enqueue(void *ctx, const char *content_type, const char *body, size_t len, int64_t *import_id,
                         struct markr_error *err)
{
    struct markr_pg *pg = ctx;
    struct enqueue_step step = {.body = body, .len = len};
    char *type = markr_pg_utf8_copy(content_type), size[24];
    int rc;

    *import_id = 0;
    if (type == NULL)
        return oom(err);
    snprintf(size, sizeof(size), "%zu", len);
    markr_pg_param_text(&step.row, MARKR_PG_TEXT, type);
    markr_pg_param_text(&step.row, MARKR_PG_INT8, size);
    if ((rc = markr_pg_transaction(pg, "queueing the import", enqueue_step, &step, err)) == 0)
        *import_id = step.id;
    free(type);
    return rc;
}

/*
 * A live worker holds the row lock of the import it processes for the whole of its
 * transaction (markr_process_queued), so SKIP LOCKED passes over it; a 'processing' row
 * that nobody locks lost its server and is claimed again. A row claimed twice in the short
 * moment between a claim and that lock is harmless: the second processor waits for the lock
 * and then finds the import no longer 'processing'.
 */
/* Claims of one import before it is given up (migration 0005): a claim that keeps failing
 * without a verdict must not hold up the imports queued behind it. */
#define QUEUE_MAX_ATTEMPTS "5"

static int queue_claim(void *ctx, int64_t *import_id, struct markr_error *err)
{
    static const char claim_sql[] =
        "WITH given_up AS (\n"
        "    UPDATE imports SET status = 'rejected', processed_at = now(),\n"
        "        reason = jsonb_build_object('error', 'processing_failed', 'message',\n"
        "            format('processing failed %s times without a verdict; see the server logs, then run '\n"
        "                   '`markr reprocess --import %s`', attempts, id))\n"
        "    WHERE id IN (SELECT id FROM imports WHERE status = 'processing'\n"
        "                 AND attempts >= " QUEUE_MAX_ATTEMPTS " FOR UPDATE SKIP LOCKED)\n"
        ")\n"
        "UPDATE imports SET status = 'processing', attempts = attempts + 1\n"
        "WHERE id = (SELECT id FROM imports WHERE status IN ('queued', 'processing')\n"
        "            AND attempts < " QUEUE_MAX_ATTEMPTS " ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)\n"
        "RETURNING id";
    struct markr_pg *pg = ctx;
    PGresult *res;
    int rc;

    *import_id = 0;
    if (markr_pg_ensure(pg, err) != 0 ||
        (res = markr_pg_exec_retrying(pg, "claiming a queued import", claim_sql, NULL, err)) == NULL)
        return -1;
    rc = PQntuples(res) == 1;
    if (rc)
        *import_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return rc;
}

static int queue_wait(void *ctx, int timeout_ms, struct markr_error *err)
{
    struct markr_pg *pg = ctx;
    PGnotify *note;
    PGresult *res;
    struct pollfd pfd;

    if (markr_pg_ensure(pg, err) != 0 ||
        (res = markr_pg_exec(pg, "listening for queued imports", "LISTEN " QUEUE_CHANNEL, NULL, err)) == NULL)
        return -1;
    PQclear(res);
    if ((note = PQnotifies(pg->conn)) == NULL) {
        pfd.fd = PQsocket(pg->conn);
        pfd.events = POLLIN;
        pfd.revents = 0;
        if (pfd.fd >= 0 && poll(&pfd, 1, timeout_ms) > 0)
            PQconsumeInput(pg->conn);
    } else {
        PQfreemem(note);
    }
    while ((note = PQnotifies(pg->conn)) != NULL)
        PQfreemem(note);
    return 0;
}

struct markr_import_queue markr_pg_import_queue(struct markr_pg *pg)
{
    return (struct markr_import_queue){.ctx = pg, .enqueue = queue_enqueue, .claim = queue_claim, .wait = queue_wait};
}
