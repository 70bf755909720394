/*
 * Writing the kept answer sheets (pg_sheets.h). The document's kept scans travel as binary
 * arrays (pg_arrays.h, the writer of the marks' arrays too), one element per mark: test,
 * student, obtained, total, the sheet's four columns, each as the text of an array. So each row of the statement is one
 * element of each parameter, and the statement one round trip whatever the size.
 */
#include "pg_sheets.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_arrays.h"
#include "pg_listen.h"
#include "pg_marks.h"

/* The text form of one sheet's column as PostgreSQL's array input reads it ({"a","b"} or
 * {1,0}), into scratch: every text element quoted, with \ and " escaped, so any response
 * (NUL aside, which is not valid in one) reads back as it was. */
enum sheet_column { SHEET_QUESTIONS, SHEET_RESPONSES, SHEET_AWARDED, SHEET_AVAILABLE, SHEET_COLUMNS };

static void sheet_literal(struct markr_pg_buffer *scratch, const struct markr_answer_sheet *sheet,
                          enum sheet_column column)
{
    scratch->len = 0;
    markr_pg_buffer_put(scratch, "{", 1);
    for (size_t i = 0; i < sheet->count; ++i) {
        const struct markr_answer *a = &sheet->answers[i];

        if (i != 0)
            markr_pg_buffer_put(scratch, ",", 1);
        if (column == SHEET_AWARDED || column == SHEET_AVAILABLE) {
            char digits[16];
            int n = snprintf(digits, sizeof(digits), "%" PRIu32, column == SHEET_AWARDED ? a->awarded : a->available);

            markr_pg_buffer_put(scratch, digits, (size_t)n);
            continue;
        }
        markr_pg_buffer_put(scratch, "\"", 1);
        for (const char *c = column == SHEET_QUESTIONS ? a->question : a->response; *c != '\0'; ++c) {
            if (*c == '"' || *c == '\\')
                markr_pg_buffer_put(scratch, "\\", 1);
            markr_pg_buffer_put(scratch, c, 1);
        }
        markr_pg_buffer_put(scratch, "\"", 1);
    }
    markr_pg_buffer_put(scratch, "}", 1);
}

/*
 * The kept-sheet rule, beside rule 2 (pg_marks.c), which has run first in this transaction:
 * a scan is the pair's kept sheet now when it supplied the mark's obtained (the document's
 * kept scan has the document's highest obtained, so it equals the mark's exactly when it is
 * not lower than what was stored), unless the stored sheet has that obtained and came from a
 * later import (a rebuild of one older import). The marks statement locked every row of the
 * document's pairs, so no other writer of these sheets runs between the two statements:
 * whether a pair has a sheet is known from the lookup, and a new sheet is a plain INSERT
 * (ON CONFLICT's speculative insertion cost 30 ms more per 10,000 sheets; bench/README.md),
 * an old one an UPDATE by key. A
 * kept scan without a valid answer removes the pair's old sheet: its answers are not the
 * kept ones any more. Tests whose marks this transaction changed (rows it wrote: xmin is
 * its own xid) were announced by the marks statement; the others whose sheets changed are
 * announced here, in the same payload shape and bound. Every row is one element of each
 * array, looked up by key only: the plan is the same whatever the tables' statistics. The
 * arrays' text is read once per row (OFFSET 0 keeps the planner from copying the casts into
 * each use), and each pair is looked up by its key (LIMIT 1 keeps the lookups per row: with
 * the arrays' real length known, the planner would otherwise hash the whole marks table). $1 the
 * import (NULL: the imports row this transaction inserted last, MARKR_PG_THIS_IMPORT, so that
 * the statement can be queued in the import's pipeline before its id is known), $2..$5 test,
 * student, the kept scan's obtained and its total (the sum of awarded), $6..$9 its questions,
 * responses, awarded and available as array literals (NULL: no valid answer), $10 how to
 * announce (enum markr_pg_announce, pg_marks.h): in the transaction, or kept in the session
 * (always set, empty when nothing changed, so that no earlier import's payload lingers) for
 * markr_pg_notify_kept after the COMMIT.
 */
static const char apply_sheets_sql[] =
    "WITH import AS (\n"
    "    SELECT COALESCE($1::bigint, " MARKR_PG_THIS_IMPORT ") AS id\n"
    "), input AS (\n"
    "    SELECT k.t, k.s, k.o, k.n, v.q, v.r, v.aw, v.av,\n"
    "           k.o = m.obtained AND (a.test_id IS NULL OR k.o > a.obtained OR i.id >= a.import_id) AS keep,\n"
    "           a.test_id IS NOT NULL AS had,\n"
    "           (a.questions, a.responses, a.awarded, a.available) IS DISTINCT FROM (v.q, v.r, v.aw, v.av) AS differs,\n"
    "           m.xmin::text = (pg_current_xact_id()::text::bigint % 4294967296)::text AS marks_changed\n"
    "    FROM unnest($2::text[], $3::text[], $4::integer[], $5::bigint[], $6::text[], $7::text[], $8::text[],\n"
    "                $9::text[]) AS k(t, s, o, n, q, r, aw, av)\n"
    "    CROSS JOIN import AS i\n"
    "    CROSS JOIN LATERAL (SELECT k.q::text[] AS q, k.r::text[] AS r, k.aw::integer[] AS aw,\n"
    "                               k.av::integer[] AS av OFFSET 0) AS v\n"
    "    CROSS JOIN LATERAL (SELECT obtained, xmin FROM marks\n"
    "                        WHERE test_id = k.t AND student_number = k.s LIMIT 1) AS m\n"
    "    LEFT JOIN LATERAL (SELECT * FROM answer_sheets\n"
    "                       WHERE test_id = k.t AND student_number = k.s LIMIT 1) AS a ON true\n"
    "), inserted AS (\n"
    "    INSERT INTO answer_sheets (test_id, student_number, obtained, import_id, total,\n"
    "                               questions, responses, awarded, available)\n"
    "    SELECT t, s, o, (SELECT id FROM import), n, q, r, aw, av FROM input WHERE keep AND q IS NOT NULL AND NOT had\n"
    "), updated AS (\n"
    "    UPDATE answer_sheets AS a SET obtained = input.o, import_id = (SELECT id FROM import), total = input.n,\n"
    "        questions = input.q, responses = input.r, awarded = input.aw, available = input.av\n"
    "    FROM input\n"
    "    WHERE input.keep AND input.q IS NOT NULL AND input.had AND a.test_id = input.t AND a.student_number = input.s\n"
    "), dropped AS (\n"
    "    DELETE FROM answer_sheets AS a USING input\n"
    "    WHERE input.keep AND input.q IS NULL AND input.had AND a.test_id = input.t AND a.student_number = input.s\n"
    "), changed AS (\n"
    "    SELECT json_build_object('import_id', (SELECT id FROM import), 'tests', json_agg(t))::text AS p\n"
    "    FROM (SELECT t FROM input GROUP BY t HAVING bool_or(keep AND differs) AND NOT bool_or(marks_changed)) AS c\n"
    "    HAVING count(*) > 0\n"
    "), payload AS (\n"
    "    SELECT (SELECT CASE WHEN octet_length(p) < 7900 THEN p\n"
    "                        ELSE json_build_object('import_id', (SELECT id FROM import), 'flush', true)::text END\n"
    "            FROM changed) AS p\n"
    ")\n"
    "SELECT CASE WHEN $10 = 1 AND p IS NOT NULL THEN pg_notify('" MARKR_PG_CHANGES_CHANNEL "', p) END,\n"
    "       CASE WHEN $10 = 2 THEN set_config('" MARKR_PG_KEPT_SHEET_CHANGES "', COALESCE(p, ''), false) END\n"
    "FROM payload WHERE $10 <> 0";

const struct markr_pg_statement markr_pg_apply_sheets_statement = {MARKR_PG_SLOT_SHEETS, apply_sheets_sql};

void markr_pg_sheets_statement_free(struct markr_pg_sheets_statement *s)
{
    for (int c = 0; c < MARKR_PG_SHEET_ARRAYS; ++c)
        free(s->arrays[c]);
    memset(s, 0, sizeof(*s));
}

enum { MARK_TEST, MARK_STUDENT, MARK_OBTAINED, MARK_TOTAL, ARRAYS = MARK_TOTAL + 1 + SHEET_COLUMNS };

int markr_pg_sheets_statement(struct markr_pg_sheets_statement *s, int64_t id, const struct markr_marks *marks,
                              int announce, struct markr_error *err)
{
    static const Oid types[ARRAYS] = {MARKR_PG_TEXT_ARRAY, MARKR_PG_TEXT_ARRAY, MARKR_PG_INT4_ARRAY,
                                      MARKR_PG_INT8_ARRAY, MARKR_PG_TEXT_ARRAY, MARKR_PG_TEXT_ARRAY, MARKR_PG_TEXT_ARRAY,
                                      MARKR_PG_TEXT_ARRAY};
    struct markr_pg_buffer a[ARRAYS], scratch = {0};
    int failed = 0;

    _Static_assert(ARRAYS == MARKR_PG_SHEET_ARRAYS, "one parameter array per column");
    memset(s, 0, sizeof(*s));
    memset(a, 0, sizeof(a));
    if (marks->count > INT32_MAX)
        return markr_error_set(err, MARKR_ERR_INTERNAL, "too_large", "too many marks for one statement");
    for (int c = 0; c < ARRAYS; ++c)
        markr_pg_array_begin(&a[c], c == MARK_OBTAINED ? MARKR_PG_INT4 : c == MARK_TOTAL ? MARKR_PG_INT8 : MARKR_PG_TEXT,
                    marks->count, c > MARK_TOTAL);
    for (size_t i = 0; i < marks->count; ++i) {
        const struct markr_mark *m = &marks->marks[i];
        const struct markr_answer_sheet *sheet = m->sheet != NULL ? &m->sheet->sheet : NULL;
        uint32_t o = m->sheet != NULL ? m->sheet->obtained : m->obtained;

        markr_pg_array_bytes(&a[MARK_TEST], m->test_id, strlen(m->test_id));
        markr_pg_array_bytes(&a[MARK_STUDENT], m->student_number, strlen(m->student_number));
        markr_pg_array_int4(&a[MARK_OBTAINED], o);
        markr_pg_array_int8(&a[MARK_TOTAL], sheet != NULL ? sheet->total : 0);
        for (int c = 0; c < SHEET_COLUMNS; ++c) {
            if (sheet == NULL || sheet->count == 0) {
                markr_pg_array_null(&a[MARK_TOTAL + 1 + c]);
                continue;
            }
            sheet_literal(&scratch, sheet, (enum sheet_column)c);
            markr_pg_array_bytes(&a[MARK_TOTAL + 1 + c], scratch.bytes, scratch.len);
        }
    }
    free(scratch.bytes);
    failed = scratch.failed;
    for (int c = 0; c < ARRAYS; ++c) {
        failed |= a[c].failed;
        s->arrays[c] = a[c].bytes;
    }
    if (failed) {
        markr_pg_sheets_statement_free(s);
        return markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
    }
    if (id > 0)
        markr_pg_param_int8(&s->params, id);
    else
        markr_pg_param_text(&s->params, MARKR_PG_INT8, NULL); /* the imports row inserted last */
    for (int c = 0; c < ARRAYS; ++c)
        markr_pg_param_binary(&s->params, types[c], a[c].bytes, a[c].len);
    markr_pg_param_int4(&s->params, announce);
    return 0;
}

int markr_pg_apply_sheets(struct markr_pg *pg, int64_t id, const struct markr_marks *marks, int announce,
                          struct markr_error *err)
{
    struct markr_pg_sheets_statement s;
    int rc;

    if (markr_pg_sheets_statement(&s, id, marks, announce, err) != 0)
        return -1;
    rc = markr_pg_command(pg, "storing the answer sheets", apply_sheets_sql, &s.params, err);
    markr_pg_sheets_statement_free(&s);
    return rc;
}
