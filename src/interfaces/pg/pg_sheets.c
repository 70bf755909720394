/*
 * Writing the kept answer sheets (pg_sheets.h). The document's kept scans travel as binary
 * arrays (pg_arrays.h, the writer of the marks' arrays too), one element per mark: test,
 * student, obtained, total, and the sheet's four columns as one composite of binary arrays
 * (answer_sheet_columns, migration 0011). So each row of the statement is one element of
 * each parameter, the statement one round trip whatever the size, and nothing in it is
 * parsed from text.
 */
#include "pg_sheets.h"

#include <stdlib.h>
#include <string.h>

#include "interfaces/observe/log.h"
#include "pg_arrays.h"
#include "pg_listen.h"
#include "pg_marks.h"

/* A sheet's four columns, in the order of answer_sheet_columns (migration 0011). */
enum sheet_column { SHEET_QUESTIONS, SHEET_RESPONSES, SHEET_AWARDED, SHEET_AVAILABLE, SHEET_COLUMNS };

/* The bytes sheet_element writes for sheet: the element's length and column count, per
 * column its type, length and array header (20 bytes), per answer its four elements. */
static size_t sheet_size(const struct markr_answer_sheet *sheet)
{
    size_t size = 8 + SHEET_COLUMNS * (8 + 20);

    for (size_t i = 0; i < sheet->count; ++i)
        size += 4 + strlen(sheet->answers[i].question) + 4 + strlen(sheet->answers[i].response) + 2 * 8;
    return size;
}

/* One sheet as an element of answer_sheet_columns[]: a composite of four binary arrays, an
 * element per answer, which the server reads without parsing any text. */
static void sheet_element(struct markr_pg_buffer *b, const struct markr_answer_sheet *sheet)
{
    static const Oid types[SHEET_COLUMNS] = {MARKR_PG_TEXT_ARRAY, MARKR_PG_TEXT_ARRAY, MARKR_PG_INT4_ARRAY,
                                             MARKR_PG_INT4_ARRAY};
    size_t element = markr_pg_value_open(b);

    markr_pg_record_begin(b, SHEET_COLUMNS);
    for (int c = 0; c < SHEET_COLUMNS; ++c) {
        size_t column;

        markr_pg_record_column(b, types[c]);
        column = markr_pg_value_open(b);
        markr_pg_array_begin(b, c < SHEET_AWARDED ? MARKR_PG_TEXT : MARKR_PG_INT4, sheet->count, 0);
        for (size_t i = 0; i < sheet->count; ++i) {
            const struct markr_answer *a = &sheet->answers[i];

            if (c == SHEET_QUESTIONS)
                markr_pg_array_bytes(b, a->question, strlen(a->question));
            else if (c == SHEET_RESPONSES)
                markr_pg_array_bytes(b, a->response, strlen(a->response));
            else
                markr_pg_array_int4(b, c == SHEET_AWARDED ? a->awarded : a->available);
        }
        markr_pg_value_close(b, column);
    }
    markr_pg_value_close(b, element);
}

/* The OID of answer_sheet_columns, which the binary array's header names (recent minor
 * releases of PostgreSQL accept any OID there for a type that is not built in, older ones
 * only the right one): looked up once per connection (a reset forgets it with the prepared
 * statements, pg_conn.c). pg_sheets.h says what outside means. */
int markr_pg_sheets_type(struct markr_pg *pg, int outside, Oid *type, struct markr_error *err)
{
    PGresult *res;

    /* Outside a transaction a look-up on a connection lost meanwhile is made again once on
     * a new one, as a transaction whose COMMIT was not sent is (pg_conn.c). */
    for (int attempt = 0;; ++attempt) {
        if (outside && markr_pg_ensure(pg, err) != 0)
            return -1;
        if (pg->sheet_type != 0)
            break;
        if ((res = markr_pg_exec(pg, "looking up the answer sheets' type",
                                 "SELECT 'answer_sheet_columns'::regtype::oid", NULL, err)) != NULL) {
            pg->sheet_type = (Oid)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
            PQclear(res);
            break;
        }
        if (!outside || attempt > 0 || !markr_pg_connection_lost(pg))
            return -1;
        markr_log(MARKR_LOG_INFO, "database connection lost before a look-up; looking it up again", "operation",
                  "looking up the answer sheets' type", NULL);
    }
    *type = pg->sheet_type;
    return 0;
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
 * array, looked up by key only: the plan is the same whatever the tables' statistics (each
 * lookup is by the whole primary key, the only index of either table on both columns; LIMIT
 * 1 keeps the lookups per row: with the arrays' real length known, the planner would
 * otherwise hash the whole marks table). $1 the import (NULL: the imports row this
 * transaction inserted last, MARKR_PG_THIS_IMPORT, so that the statement can be queued in the
 * import's pipeline before its id is known), $2..$5 test, student, the kept scan's obtained
 * and its total (the sum of awarded), $6 its questions, responses, awarded and available
 * (NULL: no valid answer), unnested into four columns, $7 how to announce (enum
 * markr_pg_announce, pg_marks.h): in the transaction, or kept in the session (always set,
 * empty when nothing changed, so that no earlier import's payload lingers) for
 * markr_pg_notify_kept after the COMMIT.
 */
static const char apply_sheets_sql[] =
    "WITH import AS (\n"
    "    SELECT COALESCE($1::bigint, " MARKR_PG_THIS_IMPORT ") AS id\n"
    "), input AS (\n"
    "    SELECT k.t, k.s, k.o, k.n, k.q, k.r, k.aw, k.av,\n"
    "           k.o = m.obtained AND (a.test_id IS NULL OR k.o > a.obtained OR i.id >= a.import_id) AS keep,\n"
    "           a.test_id IS NOT NULL AS had,\n"
    "           (a.questions, a.responses, a.awarded, a.available) IS DISTINCT FROM (k.q, k.r, k.aw, k.av) AS differs,\n"
    "           m.xmin::text = (pg_current_xact_id()::text::bigint % 4294967296)::text AS marks_changed\n"
    "    FROM unnest($2::text[], $3::text[], $4::integer[], $5::bigint[], $6::answer_sheet_columns[])\n"
    "         AS k(t, s, o, n, q, r, aw, av)\n"
    "    CROSS JOIN import AS i\n"
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
    "SELECT CASE WHEN $7 = 1 AND p IS NOT NULL THEN pg_notify('" MARKR_PG_CHANGES_CHANNEL "', p) END,\n"
    "       CASE WHEN $7 = 2 THEN set_config('" MARKR_PG_KEPT_SHEET_CHANGES "', COALESCE(p, ''), false) END\n"
    "FROM payload WHERE $7 <> 0";

const struct markr_pg_statement markr_pg_apply_sheets_statement = {MARKR_PG_SLOT_SHEETS, apply_sheets_sql};

void markr_pg_sheets_statement_free(struct markr_pg_sheets_statement *s)
{
    for (int c = 0; c < MARKR_PG_SHEET_ARRAYS; ++c)
        free(s->arrays[c]);
    memset(s, 0, sizeof(*s));
}

enum { MARK_TEST, MARK_STUDENT, MARK_OBTAINED, MARK_TOTAL, MARK_SHEET, ARRAYS };

int markr_pg_sheets_statement(struct markr_pg_sheets_statement *s, Oid sheet_oid, int64_t id,
                              const struct markr_marks *marks, int announce, struct markr_error *err)
{
    static const Oid types[MARK_SHEET] = {MARKR_PG_TEXT_ARRAY, MARKR_PG_TEXT_ARRAY, MARKR_PG_INT4_ARRAY,
                                          MARKR_PG_INT8_ARRAY};
    struct markr_pg_buffer a[ARRAYS];
    size_t sheets = 20;
    int failed = 0;

    _Static_assert(ARRAYS == MARKR_PG_SHEET_ARRAYS, "one parameter array per column");
    memset(s, 0, sizeof(*s));
    memset(a, 0, sizeof(a));
    if (marks->count > INT32_MAX)
        return markr_error_set(err, MARKR_ERR_INTERNAL, "too_large", "too many marks for one statement");
    for (size_t i = 0; i < marks->count; ++i)
        sheets += 4 + (marks->marks[i].sheet != NULL ? sheet_size(&marks->marks[i].sheet->sheet) : 0);
    markr_pg_buffer_reserve(&a[MARK_SHEET], sheets);
    for (int c = 0; c < ARRAYS; ++c)
        markr_pg_array_begin(&a[c],
                             c == MARK_OBTAINED ? MARKR_PG_INT4
                             : c == MARK_TOTAL  ? MARKR_PG_INT8
                             : c == MARK_SHEET  ? sheet_oid
                                                : MARKR_PG_TEXT,
                             marks->count, c == MARK_SHEET);
    for (size_t i = 0; i < marks->count; ++i) {
        const struct markr_mark *m = &marks->marks[i];
        const struct markr_answer_sheet *sheet = m->sheet != NULL ? &m->sheet->sheet : NULL;
        uint32_t o = m->sheet != NULL ? m->sheet->obtained : m->obtained;

        markr_pg_array_bytes(&a[MARK_TEST], m->test_id, strlen(m->test_id));
        markr_pg_array_bytes(&a[MARK_STUDENT], m->student_number, strlen(m->student_number));
        markr_pg_array_int4(&a[MARK_OBTAINED], o);
        markr_pg_array_int8(&a[MARK_TOTAL], sheet != NULL ? sheet->total : 0);
        if (sheet == NULL || sheet->count == 0)
            markr_pg_array_null(&a[MARK_SHEET]);
        else
            sheet_element(&a[MARK_SHEET], sheet);
    }
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
    for (int c = 0; c < MARK_SHEET; ++c)
        markr_pg_param_binary(&s->params, types[c], a[c].bytes, a[c].len);
    /* Its type is the statement's cast: the array's header names the element's OID. */
    markr_pg_param_binary(&s->params, 0, a[MARK_SHEET].bytes, a[MARK_SHEET].len);
    markr_pg_param_int4(&s->params, announce);
    return 0;
}

int markr_pg_apply_sheets(struct markr_pg *pg, int64_t id, const struct markr_marks *marks, int announce,
                          struct markr_error *err)
{
    struct markr_pg_sheets_statement s;
    Oid type;
    int rc;

    if (markr_pg_sheets_type(pg, 0, &type, err) != 0 || markr_pg_sheets_statement(&s, type, id, marks, announce, err) != 0)
        return -1;
    rc = markr_pg_command(pg, "storing the answer sheets", apply_sheets_sql, &s.params, err);
    markr_pg_sheets_statement_free(&s);
    return rc;
}
