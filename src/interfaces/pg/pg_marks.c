/*
 * The marks' arrays, the statement of rule 2, and the refusal's parameters (pg_marks.h).
 * ADR 0003 explains the statement and what was measured.
 */
#include "pg_marks.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_arrays.h"
#include "pg_listen.h"
#include "pg_sheets.h"

/*
 * The marks travel as one-dimensional arrays in PostgreSQL's binary array format
 * (pg_arrays.h), which measured 45 ms faster per 10,000 marks than building and parsing a
 * JSON array of objects (ADR 0003).
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

/* One column of marks as a binary array (malloc'd, *len bytes, allocated once at its exact
 * size), or NULL when out of memory or past the protocol's 1 GB parameter limit. */
static char *marks_array(const struct markr_marks *marks, enum mark_column column, size_t *len)
{
    int numeric = column == COLUMN_AVAILABLE || column == COLUMN_OBTAINED;
    struct markr_pg_buffer b = {0};
    size_t size = 20;
    int nulls = 0;

    for (size_t i = 0; i < marks->count; ++i) {
        const char *text = mark_text(&marks->marks[i], column);

        size += 4 + (numeric ? 4 : text != NULL ? strlen(text) : 0);
        nulls |= !numeric && text == NULL;
    }
    markr_pg_buffer_reserve(&b, size);
    markr_pg_array_begin(&b, numeric ? MARKR_PG_INT4 : MARKR_PG_TEXT, marks->count, nulls);
    for (size_t i = 0; i < marks->count; ++i) {
        const struct markr_mark *m = &marks->marks[i];
        const char *text = mark_text(m, column);

        if (numeric)
            markr_pg_array_int4(&b, column == COLUMN_AVAILABLE ? m->available : m->obtained);
        else if (text == NULL)
            markr_pg_array_null(&b);
        else
            markr_pg_array_bytes(&b, text, strlen(text));
    }
    if (b.failed) {
        free(b.bytes);
        return NULL;
    }
    *len = b.len;
    return b.bytes; /* never NULL: reserving the header allocated it */
}

int markr_pg_marks_arrays(const struct markr_marks *marks, char *arrays[MARKR_PG_MARK_COLUMNS],
                          size_t lengths[MARKR_PG_MARK_COLUMNS])
{
    int oom = 0;

    for (int c = 0; c < COLUMN_COUNT; ++c)
        oom |= (arrays[c] = marks_array(marks, (enum mark_column)c, &lengths[c])) == NULL;
    return oom ? -1 : 0;
}

/* The scans (test, student, first and last name of every result, before the duplicate rule)
 * as four binary text arrays, built by viewing each result as a mark (ADR 0009). When no two
 * scans share a (test, student), each mark is its one scan, names included: the arrays stay
 * NULL, and the statement takes the marks' own (the common case, which then costs neither
 * the four arrays nor the DISTINCT of 10,000 rows; the sort stays, for the column's
 * collation, and finds them in order when that is byte order). Returns 0, or -1 when out of
 * memory (nothing left allocated). */
static int scan_arrays(const struct markr_marks *marks, char *arrays[MARKR_PG_SCAN_COLUMNS],
                       size_t lengths[MARKR_PG_SCAN_COLUMNS])
{
    struct markr_marks view = {.count = marks->scan_count};
    int oom = 0;

    for (int c = 0; c < MARKR_PG_SCAN_COLUMNS; ++c)
        arrays[c] = NULL;
    if (marks->scan_count == marks->count)
        return 0;
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


/*
 * Rule 2 is the ON CONFLICT clause: each mark keeps the highest available and, independently,
 * the highest obtained; names are replaced only by names, those of the latest import in
 * order of receipt (import ids). An upload is the latest; an import applied out of that
 * order (a queued one processed after newer uploads, one reprocessed alone) is CHECKED
 * against the names rows of the newer imports of its tests: where one of them carried a
 * student's first (last) name, the import offers none, so the stored one stays (ADR 0044).
 * A row changes only when something in it changes, and import_id/updated_at name the import
 * that last raised a mark, so they move only on a raise. unnest() yields the rows in array order
 * (sorted by test id, student number), so every writer locks rows in the same order, which
 * keeps overlapping imports from deadlocking. $1 the import (NULL: the imports row this
 * transaction inserted last, so that the statement can follow that INSERT in one pipeline
 * before its id is known), $2 its result count, $3..$8 the marks, $9..$12 the scans (NULL
 * when there are as many marks as scans, each scan then being its own mark), $13
 * how to announce the change (enum markr_pg_announce), $14 and $15 the document's kept
 * scans (pg_sheets.h: each one's total, and its sheet unnested into four columns, NULL
 * without a valid answer), $16 their shape (the questions and available marks that sheets
 * sending those NULL share). The announcement lists the tests whose marks rows changed; a
 * payload must stay under 8000 bytes, past that listeners are told to flush every test (ADR
 * 0012). `changed` is materialized: inlined, its payload would be built twice (once for its
 * length, once to send).
 *
 * The kept-sheet rule (ADR 0026, 0034) is KEPT: the document's kept scan, which has the
 * mark's obtained (the document's highest), becomes the pair's kept sheet when that obtained
 * is higher than the stored one, or equal and the stored sheet is unknown or came from an
 * import not newer than this one (so a rebuild of one older import leaves a later import's
 * sheet in place). A kept scan without a valid answer still records its import and total,
 * with NULL arrays. As a row comparison (import ids are positive, so an unknown sheet is 0)
 * it reads only the old row and EXCLUDED: derived from rule 2 in the same row lock, with no
 * second lookup.
 */
#define KEPT "(EXCLUDED.obtained, EXCLUDED.sheet_import_id) >= (m.obtained, COALESCE(m.sheet_import_id, 0))"
/* A sheet's column that a sheet of the document's shape leaves NULL, to be taken from the
 * shape ($16, pg_sheets.h); a sheet has responses exactly when it has answers. */
#define SHAPED(COL, FIELD) "CASE WHEN r.rs IS NOT NULL THEN COALESCE(" COL ", (SELECT " FIELD " FROM import)) END"
#define SHEET_COLUMN(COL) "        " COL " = CASE WHEN " KEPT " THEN EXCLUDED." COL " ELSE m." COL " END,\n"
/* A name offered replaces the stored one; none offered leaves it. */
#define NAME(COL) "COALESCE(EXCLUDED." COL ", m." COL ")"
/* What the newer imports' names rows (ids above this one's, tests among the marks') say of
 * each student: whether one carried a first name, a last name. */
#define NEWER_NAMES                                                                                          \
    "), newer AS (\n"                                                                                       \
    "    SELECT n.test_id AS t, u.s, bool_or(u.f IS NOT NULL) AS f, bool_or(u.l IS NOT NULL) AS l\n"        \
    "    FROM import_names AS n, unnest(n.student_numbers, n.first_names, n.last_names) AS u(s, f, l)\n"     \
    "    WHERE n.test_id = ANY($3::text[]) AND n.import_id > (SELECT id FROM import)\n"                     \
    "    GROUP BY 1, 2\n"
/* The names a checked import offers, and its rows joined to what the newer imports say,
 * still in array order (a join may reorder; the order is what keeps writers from
 * deadlocking). A student that a newer import carried has a marks row, so a withheld name
 * never reaches an insert. */
#define CHECKED_FIRST "CASE WHEN y.f THEN NULL ELSE r.f END"
#define CHECKED_LAST "CASE WHEN y.l THEN NULL ELSE r.l END"
#define ROWS "r(t, s, f, l, a, o, n, q, rs, aw, av"
#define ROWS_IN_ORDER " AS " ROWS ")\n"
#define ROWS_CHECKED                                                                                         \
    "\n         WITH ORDINALITY AS " ROWS ", k)\n"                                                            \
    "    LEFT JOIN newer AS y ON y.t = r.t AND y.s = r.s ORDER BY r.k\n"
#define APPLY_MARKS(NEWER, FIRST, LAST, JOIN, VERDICT)                                                     \
    "WITH import AS (\n"                                                                                    \
    "    SELECT COALESCE($1::bigint, " MARKR_PG_THIS_IMPORT ") AS id,\n"                                   \
    "           ($16::answer_sheet_columns).questions AS questions,\n"                                       \
    "           ($16::answer_sheet_columns).available AS available\n"                                        \
    NEWER                                                                                                   \
    "), upsert AS (\n"                                                                                      \
    "    INSERT INTO marks AS m (test_id, student_number, first_name, last_name, available, obtained,\n"    \
    "                            import_id, updated_at, sheet_import_id, sheet_total, sheet_questions,\n"  \
    "                            sheet_responses, sheet_awarded, sheet_available)\n"                         \
    "    SELECT r.t, r.s, " FIRST ", " LAST ", r.a, r.o, (SELECT id FROM import), now(), (SELECT id FROM import),\n" \
    "           r.n,\n"                                                                                      \
    "           " SHAPED("r.q", "questions") ", r.rs, r.aw, " SHAPED("r.av", "available") "\n"              \
    "    FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::integer[], $8::integer[],\n"      \
    "                $14::bigint[], $15::answer_sheet_columns[])" JOIN                                       \
    "    ON CONFLICT (test_id, student_number) DO UPDATE SET\n"                                             \
    SHEET_COLUMN("sheet_import_id") SHEET_COLUMN("sheet_total") SHEET_COLUMN("sheet_questions")             \
    SHEET_COLUMN("sheet_responses") SHEET_COLUMN("sheet_awarded") SHEET_COLUMN("sheet_available")           \
    "        available  = GREATEST(m.available, EXCLUDED.available),\n"                                     \
    "        obtained   = GREATEST(m.obtained, EXCLUDED.obtained),\n"                                       \
    "        first_name = " NAME("first_name") ",\n"                                                        \
    "        last_name  = " NAME("last_name") ",\n"                                                         \
    "        import_id  = CASE WHEN EXCLUDED.available > m.available OR EXCLUDED.obtained > m.obtained\n"  \
    "                          THEN EXCLUDED.import_id ELSE m.import_id END,\n"                             \
    "        updated_at = CASE WHEN EXCLUDED.available > m.available OR EXCLUDED.obtained > m.obtained\n"  \
    "                          THEN EXCLUDED.updated_at ELSE m.updated_at END\n"                            \
    "    WHERE EXCLUDED.available > m.available OR EXCLUDED.obtained > m.obtained\n"                        \
    "       OR " NAME("first_name") " IS DISTINCT FROM m.first_name\n"                                    \
    "       OR " NAME("last_name") " IS DISTINCT FROM m.last_name\n"                                      \
    "       OR " KEPT " AND (m.sheet_import_id, m.sheet_total, m.sheet_questions, m.sheet_responses,\n"     \
    "                     m.sheet_awarded, m.sheet_available) IS DISTINCT FROM (EXCLUDED.sheet_import_id,\n" \
    "                     EXCLUDED.sheet_total, EXCLUDED.sheet_questions, EXCLUDED.sheet_responses,\n"      \
    "                     EXCLUDED.sheet_awarded, EXCLUDED.sheet_available)\n"                              \
    "    RETURNING m.test_id\n"                                                                             \
    /* One names row per test of the import (migration 0015, ADR 0035), which is also the    */         \
    /* record of the tests it touched (migration 0017, ADR 0038): its distinct scans,         */         \
    /* grouped in the sorted subquery's order, which the aggregation keeps for all three     */         \
    /* arrays alike, so they stay parallel and in student-number order. Without scans ($9    */         \
    /* NULL: every scan is its own mark) they are the marks, distinct and already in order.   */         \
    "), names AS (\n"                                                                                       \
    "    INSERT INTO import_names (test_id, import_id, student_numbers, first_names, last_names)\n"        \
    "    SELECT n.t, (SELECT id FROM import), array_agg(n.s), array_agg(n.f), array_agg(n.l)\n"            \
    "    FROM (SELECT t, s, f, l FROM unnest($3::text[], $4::text[], $5::text[], $6::text[])\n"            \
    "              AS u(t, s, f, l) WHERE $9::text[] IS NULL\n"                                           \
    "          UNION ALL\n"                                                                                \
    "          SELECT DISTINCT t, s, f, l FROM unnest($9::text[], $10::text[], $11::text[], $12::text[])\n" \
    "              AS u(t, s, f, l)\n"                                                                     \
    "          ORDER BY t, s, f, l) AS n\n"                                                                \
    "    GROUP BY n.t\n"                                                                                   \
    VERDICT                                                                                                 \
    "), changed AS MATERIALIZED (\n"                                                                        \
    "    SELECT json_build_object('import_id', (SELECT id FROM import),\n"                                  \
    "               'tests', COALESCE((SELECT json_agg(DISTINCT test_id) FROM upsert), '[]'))::text AS p\n" \
    "), payload AS (\n"                                                                                     \
    "    SELECT CASE WHEN octet_length(p) < 7900 THEN p\n"                                                  \
    "                ELSE json_build_object('import_id', (SELECT id FROM import), 'flush', true)::text END AS p\n" \
    "    FROM changed\n"                                                                                    \
    ")\n"                                                                                                   \
    "SELECT CASE WHEN $13 = 1 THEN pg_notify('" MARKR_PG_CHANGES_CHANNEL "', p) END,\n"                     \
    "       CASE WHEN $13 = 2 THEN set_config('" MARKR_PG_KEPT_CHANGES "', p, false) END\n"                 \
    "FROM payload WHERE $13 <> 0"

/* The import's verdict, for an imports row that may say otherwise (queued, processing, or
 * rejected before a rebuild). A row that the same transaction wrote with its verdict (an
 * upload, MARKR_PG_APPLY_ROW_WRITTEN) is left alone, and the statement is then one
 * ModifyTable (its indexes opened, its row looked up) lighter. */
#define VERDICT                                                                                               \
    "), verdict AS (\n"                                                                                     \
    "    UPDATE imports SET status = 'accepted', reason = NULL, result_count = $2, processed_at = now()\n"  \
    "    WHERE id = (SELECT id FROM import) AND (status, result_count) IS DISTINCT FROM ('accepted', $2)\n"
static const char apply_in_order_sql[] = APPLY_MARKS("", "r.f", "r.l", ROWS_IN_ORDER, VERDICT);
static const char apply_checked_sql[] = APPLY_MARKS(NEWER_NAMES, CHECKED_FIRST, CHECKED_LAST, ROWS_CHECKED, VERDICT);
/* $2 still counts the results, unused: every variant takes the same parameters. */
static const char apply_written_sql[] = APPLY_MARKS("", "r.f", "r.l", ROWS_IN_ORDER, "");

const struct markr_pg_statement markr_pg_apply_in_order = {MARKR_PG_SLOT_MARKS_IN_ORDER, apply_in_order_sql};
const struct markr_pg_statement markr_pg_apply_checked = {MARKR_PG_SLOT_MARKS_CHECKED, apply_checked_sql};
static const struct markr_pg_statement apply_written = {MARKR_PG_SLOT_MARKS_ROW_WRITTEN, apply_written_sql};

enum markr_pg_announce markr_pg_announce_of(int flags)
{
    return flags & MARKR_PG_APPLY_NOTIFY_KEPT ? MARKR_PG_ANNOUNCE_KEPT
           : flags & MARKR_PG_APPLY_NOTIFY    ? MARKR_PG_ANNOUNCE_IN_TRANSACTION
                                              : MARKR_PG_ANNOUNCE_NONE;
}

/* Sends what the marks statement kept, in a transaction of its own that writes nothing to
 * the WAL, so it waits for no flush while it holds the notification queue's lock. */
const struct markr_pg_statement markr_pg_notify_kept = {
    MARKR_PG_SLOT_NOTIFY_KEPT,
    "SELECT pg_notify('" MARKR_PG_CHANGES_CHANNEL "', current_setting('" MARKR_PG_KEPT_CHANGES "'))"};

int markr_pg_clear_import_rows(struct markr_pg *pg, int64_t id, struct markr_error *err)
{
    struct markr_pg_params params = {0};

    markr_pg_param_int8(&params, id);
    return markr_pg_command(pg, "clearing the names of an import", "DELETE FROM import_names WHERE import_id = $1",
                            &params, err);
}

void markr_pg_marks_statement_free(struct markr_pg_marks_statement *s)
{
    for (int c = 0; c < MARKR_PG_MARK_COLUMNS; ++c)
        free(s->arrays[c]);
    for (int c = 0; c < MARKR_PG_SCAN_COLUMNS; ++c)
        free(s->scans[c]);
    markr_pg_sheet_arrays_free(&s->sheets);
    memset(s, 0, sizeof(*s));
}

int markr_pg_marks_statement(struct markr_pg_marks_statement *s, Oid sheet_type, int64_t id,
                             const struct markr_marks *marks, size_t result_count, int flags,
                             struct markr_error *err)
{
    static const Oid types[MARKR_PG_MARK_COLUMNS] = {MARKR_PG_TEXT_ARRAY, MARKR_PG_TEXT_ARRAY, MARKR_PG_TEXT_ARRAY,
                                                     MARKR_PG_TEXT_ARRAY, MARKR_PG_INT4_ARRAY, MARKR_PG_INT4_ARRAY};
    size_t lengths[MARKR_PG_MARK_COLUMNS], scan_lengths[MARKR_PG_SCAN_COLUMNS];
    enum markr_pg_announce announce = markr_pg_announce_of(flags);

    memset(s, 0, sizeof(*s));
    assert(!(flags & MARKR_PG_APPLY_CHECKED) || !(flags & MARKR_PG_APPLY_ROW_WRITTEN)); /* the header's rule */
    s->statement = flags & MARKR_PG_APPLY_CHECKED       ? &markr_pg_apply_checked
                   : flags & MARKR_PG_APPLY_ROW_WRITTEN ? &apply_written
                                                        : &markr_pg_apply_in_order;
    if (markr_pg_marks_arrays(marks, s->arrays, lengths) != 0 || scan_arrays(marks, s->scans, scan_lengths) != 0) {
        markr_pg_marks_statement_free(s);
        return markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
    }
    if (markr_pg_sheet_arrays(&s->sheets, sheet_type, marks, err) != 0) {
        markr_pg_marks_statement_free(s);
        return -1;
    }
    if (id > 0)
        markr_pg_param_int8(&s->params, id);
    else
        markr_pg_param_text(&s->params, MARKR_PG_INT8, NULL); /* the imports row inserted last */
    markr_pg_param_int4(&s->params, (int64_t)result_count);
    for (int c = 0; c < MARKR_PG_MARK_COLUMNS; ++c)
        markr_pg_param_binary(&s->params, types[c], s->arrays[c], lengths[c]);
    for (int c = 0; c < MARKR_PG_SCAN_COLUMNS; ++c) {
        if (s->scans[c] != NULL)
            markr_pg_param_binary(&s->params, MARKR_PG_TEXT_ARRAY, s->scans[c], scan_lengths[c]);
        else
            markr_pg_param_text(&s->params, MARKR_PG_TEXT_ARRAY, NULL);
    }
    markr_pg_param_int4(&s->params, announce);
    markr_pg_param_binary(&s->params, MARKR_PG_INT8_ARRAY, s->sheets.arrays[MARKR_PG_SHEET_TOTAL],
                          s->sheets.lengths[MARKR_PG_SHEET_TOTAL]);
    /* Its type is the statement's cast: the array's header names the element's OID. */
    markr_pg_param_binary(&s->params, 0, s->sheets.arrays[MARKR_PG_SHEET_COLUMN],
                          s->sheets.lengths[MARKR_PG_SHEET_COLUMN]);
    /* The shape is written as an array's element: its value follows its 4-byte length. */
    if (s->sheets.arrays[MARKR_PG_SHEET_SHAPE] != NULL)
        markr_pg_param_binary(&s->params, 0, s->sheets.arrays[MARKR_PG_SHEET_SHAPE] + 4,
                              s->sheets.lengths[MARKR_PG_SHEET_SHAPE] - 4);
    else
        markr_pg_param_text(&s->params, 0, NULL);
    return 0;
}

int markr_pg_apply_marks(struct markr_pg *pg, int64_t id, const struct markr_marks *marks, size_t result_count,
                         int flags, struct markr_error *err)
{
    struct markr_pg_marks_statement s;
    Oid sheet_type;
    int rc;

    if ((flags & MARKR_PG_APPLY_REPLACE) && markr_pg_clear_import_rows(pg, id, err) != 0)
        return -1;
    if (markr_pg_sheets_type(pg, 0, &sheet_type, err) != 0 ||
        markr_pg_marks_statement(&s, sheet_type, id, marks, result_count, flags, err) != 0)
        return -1;
    rc = markr_pg_command(pg, "storing the marks", s.statement->sql, &s.params, err);
    markr_pg_marks_statement_free(&s);
    return rc;
}

int markr_pg_reason_params(struct markr_pg_params *p, struct markr_pg_reason *text, const struct markr_error *reason,
                           struct markr_error *err)
{
    text->code = markr_pg_utf8_copy(reason->reason);
    text->message = markr_pg_utf8_copy(reason->message);
    text->field = markr_pg_utf8_copy(reason->field);
    if (text->code == NULL || text->message == NULL || text->field == NULL)
        return markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
    markr_pg_param_text(p, MARKR_PG_TEXT, text->code);
    markr_pg_param_text(p, MARKR_PG_TEXT, text->message);
    markr_pg_param_int8(p, (int64_t)reason->result_index);
    markr_pg_param_int8(p, (int64_t)reason->line);
    markr_pg_param_text(p, MARKR_PG_TEXT, text->field);
    return 0;
}

void markr_pg_reason_free(struct markr_pg_reason *text)
{
    free(text->code);
    free(text->message);
    free(text->field);
    memset(text, 0, sizeof(*text));
}
