/*
 * The rebuild transaction of reprocessing and of the queue (application/vault.h) over
 * PostgreSQL (ADR 0010): every stored document is read back locked, judged by the
 * application, and its verdict written through pg_marks.c exactly as a new import's is. The
 * state of the open rebuild lives in struct markr_pg_rebuild, not on the connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_chunks.h"
#include "pg_internal.h"
#include "pg_listen.h"
#include "pg_marks.h"
#include "pg_vault.h"

static int rebuild_begin(void *ctx, int all, struct markr_error *err)
{
    struct markr_pg_rebuild *rb = ctx;
    struct markr_pg *pg = rb->pg;

    rb->all = all;
    if (markr_pg_ensure(pg, err) != 0 || markr_pg_command(pg, "starting a rebuild", "BEGIN", NULL, err) != 0)
        return -1;
    if (!all) {
        /* The table locks first, then the import's row, as a full rebuild takes them: a
         * one-import rebuild that locked its row first could deadlock with one. */
        if (markr_pg_command(pg, "locking the marks", "LOCK TABLE marks, import_names IN ROW EXCLUSIVE MODE", NULL,
                             err) == 0)
            return 0;
        markr_pg_rollback(pg);
        return -1;
    }
    /* EXCLUSIVE lets readers (SELECT) through and holds off every writer of marks until the
     * commit, so that no import lands between the snapshot and the replay. A failure rolls
     * back here: the caller only finishes a rebuild that began. */
    if (markr_pg_command(pg, "locking the marks", "LOCK TABLE marks, import_names IN EXCLUSIVE MODE", NULL,
                         err) != 0 ||
        markr_pg_command(pg, "keeping the marks before the rebuild",
                     "CREATE TEMPORARY TABLE markr_marks_before ON COMMIT DROP AS\n"
                     "SELECT test_id, student_number, available, obtained FROM marks",
                     NULL, err) != 0 ||
        markr_pg_command(pg, "clearing the marks", "DELETE FROM marks", NULL, err) != 0 ||
        markr_pg_command(pg, "clearing the names", "DELETE FROM import_names", NULL, err) != 0) {
        markr_pg_rollback(pg);
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
    if ((out->content_type = markr_pg_value_copy(res, 0, 2)) == NULL) {
        markr_stored_import_free(out);
        return markr_pg_oom(err);
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
    struct markr_pg *pg = ((struct markr_pg_rebuild *)ctx)->pg;
    struct markr_pg_params params = {0};
    PGresult *res;
    int rc;

    markr_pg_param_int8(&params, after_id);
    if ((res = markr_pg_exec_binary(pg, "reading the next import", next_sql, &params, err)) == NULL)
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
    struct markr_pg *pg = ((struct markr_pg_rebuild *)ctx)->pg;
    struct markr_pg_params params = {0};
    PGresult *res;
    int rc;

    markr_pg_param_int8(&params, id);
    markr_pg_param_text(&params, MARKR_PG_TEXT, want != NULL ? want : "accepted");
    markr_pg_param_text(&params, MARKR_PG_TEXT, want != NULL ? want : "rejected");
    if ((res = markr_pg_exec_binary(pg, "reading an import", fetch_sql, &params, err)) == NULL)
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
        return markr_pg_oom(err);
    for (int r = 0; r < rows; ++r) {
        if (((*out)[r] = markr_pg_value_copy(res, r, 0)) == NULL)
            return markr_pg_oom(err);
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
    struct markr_pg *pg = ((struct markr_pg_rebuild *)ctx)->pg;
    struct markr_pg_params params = {0};
    char *arrays[MARKR_PG_MARK_COLUMNS] = {NULL};
    size_t lengths[MARKR_PG_MARK_COLUMNS];
    PGresult *res;
    int rc = -1;

    *tests = NULL;
    *count = 0;
    if (markr_pg_marks_arrays(marks, arrays, lengths) != 0) {
        free_arrays(arrays, MARKR_PG_MARK_COLUMNS);
        return markr_pg_oom(err);
    }
    markr_pg_param_binary(&params, MARKR_PG_TEXT_ARRAY, arrays[0], lengths[0]);
    markr_pg_param_binary(&params, MARKR_PG_TEXT_ARRAY, arrays[1], lengths[1]);
    markr_pg_param_binary(&params, MARKR_PG_INT4_ARRAY, arrays[4], lengths[4]);
    markr_pg_param_binary(&params, MARKR_PG_INT4_ARRAY, arrays[5], lengths[5]);
    if ((res = markr_pg_exec(pg, "comparing marks", raise_sql, &params, err)) != NULL) {
        rc = read_strings(res, tests, count, err);
        PQclear(res);
    }
    free_arrays(arrays, MARKR_PG_MARK_COLUMNS);
    return rc;
}

static int rebuild_apply_accepted(void *ctx, int64_t id, const struct markr_marks *marks, size_t result_count,
                                  int alone, struct markr_error *err)
{
    struct markr_pg_rebuild *rb = ctx;
    /* After a rebuild of all cleared every names row, no import has its own left, and one
     * flush at the commit replaces the notifications of each. */
    int flags = rb->all ? 0 : MARKR_PG_APPLY_REPLACE | MARKR_PG_APPLY_NOTIFY;

    return markr_pg_apply_marks(rb->pg, id, marks, result_count, flags | (alone ? MARKR_PG_APPLY_CHECKED : 0), err);
}

static int rebuild_apply_rejected(void *ctx, int64_t id, const struct markr_error *reason, size_t result_count,
                                  struct markr_error *err)
{
    static const char reject_sql[] =
        "WITH r AS (SELECT " MARKR_PG_REASON_JSONB("$2", "$3", "$4", "$5", "$6") " AS reason)\n"
        "UPDATE imports SET status = 'rejected', reason = r.reason, result_count = $7, processed_at = now()\n"
        "FROM r WHERE id = $1 AND (status, imports.reason, result_count) IS DISTINCT FROM ('rejected', r.reason, $7)";
    struct markr_pg_rebuild *rb = ctx;
    struct markr_pg_params params = {0};
    struct markr_pg_reason text = {0};
    int rc = -1;

    markr_pg_param_int8(&params, id);
    if (markr_pg_reason_params(&params, &text, reason, err) == 0 && (rb->all || markr_pg_clear_import_rows(rb->pg, id, err) == 0)) {
        markr_pg_param_int4(&params, (int64_t)result_count);
        rc = markr_pg_command(rb->pg, "recording a refusal", reject_sql, &params, err);
    }
    markr_pg_reason_free(&text);
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
    struct markr_pg *pg = ((struct markr_pg_rebuild *)ctx)->pg;
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
    struct markr_pg_rebuild *rb = ctx;
    struct markr_pg *pg = rb->pg;

    if (commit && PQtransactionStatus(pg->conn) == PQTRANS_INERROR) {
        /* A statement failed inside: nothing can be committed, and the caller must know. */
        markr_pg_rollback(pg);
        return markr_error_set(err, MARKR_ERR_INTERNAL, "database_error",
                               "the rebuild failed inside its transaction and was rolled back");
    }
    /* A rebuild of every mark may change any test: caches flush at commit (ADR 0012). */
    if (commit && rb->all && markr_pg_command(pg, "announcing the change", MARKR_PG_NOTIFY_FLUSH_SQL, NULL, err) != 0) {
        markr_pg_rollback(pg);
        return -1;
    }
    if (!commit) {
        /* Also after abandon: the rollback frees the rows this rebuild locked at once. */
        markr_pg_rollback(pg);
        return PQstatus(pg->conn) == CONNECTION_OK ? 0 : markr_pg_fail(pg, NULL, "rolling back", err);
    }
    if (markr_pg_command(pg, "committing the rebuild", "COMMIT", NULL, err) != 0)
        return -1;
    markr_pg_reads_committed(pg); /* reads must now reflect it (ADR 0030) */
    return 0;
}

struct markr_vault_rebuild markr_pg_vault_rebuild(struct markr_pg_rebuild *state, struct markr_pg *pg)
{
    *state = (struct markr_pg_rebuild){.pg = pg};
    return (struct markr_vault_rebuild){.ctx = state,
                                        .begin = rebuild_begin,
                                        .next = rebuild_next,
                                        .fetch = rebuild_fetch,
                                        .would_raise = rebuild_would_raise,
                                        .apply_accepted = rebuild_apply_accepted,
                                        .apply_rejected = rebuild_apply_rejected,
                                        .changed_tests = rebuild_changed_tests,
                                        .finish = rebuild_finish};
}
