/*
 * The kept answer sheets' parameters (pg_sheets.h). The document's kept scans travel as
 * binary arrays (pg_arrays.h, the writer of the marks' arrays too), one element per mark,
 * beside the marks' own arrays in the statement of rule 2 (pg_marks.c): the sheet's total,
 * and its four columns as one composite of binary arrays (answer_sheet_columns, migration
 * 0011). So nothing in them is parsed from text. The questions and available marks that
 * a document's sheets share travel once, as its shape (pg_sheets.h).
 */
#include "pg_sheets.h"

#include <stdlib.h>
#include <string.h>

#include "interfaces/observe/log.h"
#include "pg_arrays.h"

/* A sheet's four columns, in the order of answer_sheet_columns (migration 0011). */
enum sheet_column { SHEET_QUESTIONS, SHEET_RESPONSES, SHEET_AWARDED, SHEET_AVAILABLE, SHEET_COLUMNS };

/* The bytes of column c's elements: per answer a text's length and bytes, or an int4's
 * length and value. Counted from the answers themselves, each text's own length, which is
 * what the writer copies: the room asked for can never be short of what is written. */
static size_t column_bytes(const struct markr_answer_sheet *sheet, enum sheet_column c)
{
    size_t bytes = sheet->count * (c < SHEET_AWARDED ? 4 : 8);

    if (c == SHEET_QUESTIONS)
        for (size_t i = 0; i < sheet->count; ++i)
            bytes += sheet->answers[i].question_len;
    else if (c == SHEET_RESPONSES)
        for (size_t i = 0; i < sheet->count; ++i)
            bytes += sheet->answers[i].response_len;
    return bytes;
}

/* The bytes sheet_element writes for sheet: the element's length and column count, per
 * column its type, length and array header (20 bytes), and its elements. */
static size_t sheet_size(const struct markr_answer_sheet *sheet)
{
    size_t size = 8 + SHEET_COLUMNS * (8 + 20);

    for (int c = 0; c < SHEET_COLUMNS; ++c)
        size += column_bytes(sheet, (enum sheet_column)c);
    return size;
}

/* Whether sheet has the shape's questions and available marks, answer by answer. */
static int same_shape(const struct markr_answer_sheet *sheet, const struct markr_answer_sheet *shape)
{
    if (sheet->count != shape->count)
        return 0;
    for (size_t i = 0; i < sheet->count; ++i) {
        const struct markr_answer *a = &sheet->answers[i], *b = &shape->answers[i];

        if (a->available != b->available || a->question_len != b->question_len ||
            memcmp(a->question, b->question, a->question_len) != 0)
            return 0;
    }
    return 1;
}

/* One sheet as a composite of four binary arrays, an element per answer, which the server
 * reads without parsing any text: an element of answer_sheet_columns[], or the shape. The
 * columns in `omit` (a bit per column) are sent NULL: for a sheet of the shape, its
 * questions and available marks, which the statement takes from the shape. Each column's
 * elements are written in one run, their room asked for once, so that nothing is checked
 * or decided per answer. */
static void sheet_element(struct markr_pg_buffer *b, const struct markr_answer_sheet *sheet, unsigned omit)
{
    static const Oid types[SHEET_COLUMNS] = {MARKR_PG_TEXT_ARRAY, MARKR_PG_TEXT_ARRAY, MARKR_PG_INT4_ARRAY,
                                             MARKR_PG_INT4_ARRAY};
    const struct markr_answer *a = sheet->answers, *end = sheet->answers + sheet->count;
    size_t element = markr_pg_value_open(b);

    markr_pg_record_begin(b, SHEET_COLUMNS);
    for (int c = 0; c < SHEET_COLUMNS; ++c) {
        size_t elements, column;
        char *p;

        markr_pg_record_column(b, types[c]);
        if (omit & (1u << c)) {
            markr_pg_array_null(b);
            continue;
        }
        elements = column_bytes(sheet, (enum sheet_column)c);
        column = markr_pg_value_open(b);
        markr_pg_array_begin(b, c < SHEET_AWARDED ? MARKR_PG_TEXT : MARKR_PG_INT4, sheet->count, 0);
        if ((p = markr_pg_buffer_room(b, elements)) == NULL)
            return; /* the buffer failed: markr_pg_sheet_arrays drops it */
        switch ((enum sheet_column)c) {
        case SHEET_QUESTIONS:
            for (const struct markr_answer *x = a; x < end; ++x)
                p = markr_pg_element_bytes_at(p, x->question, x->question_len);
            break;
        case SHEET_RESPONSES:
            for (const struct markr_answer *x = a; x < end; ++x)
                p = markr_pg_element_bytes_at(p, x->response, x->response_len);
            break;
        case SHEET_AWARDED:
            for (const struct markr_answer *x = a; x < end; ++x)
                p = markr_pg_element_int4_at(p, x->awarded);
            break;
        default:
            for (const struct markr_answer *x = a; x < end; ++x)
                p = markr_pg_element_int4_at(p, x->available);
            break;
        }
        markr_pg_buffer_wrote(b, p);
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

void markr_pg_sheet_arrays_free(struct markr_pg_sheet_arrays *a)
{
    for (int c = 0; c < MARKR_PG_SHEET_ARRAYS; ++c)
        free(a->arrays[c]);
    memset(a, 0, sizeof(*a));
}

/* The columns a sheet of the shape leaves to it. */
#define SHAPE_COLUMNS ((1u << SHEET_QUESTIONS) | (1u << SHEET_AVAILABLE))

int markr_pg_sheet_arrays(struct markr_pg_sheet_arrays *out, Oid sheet_oid, const struct markr_marks *marks,
                          struct markr_error *err)
{
    struct markr_pg_buffer a[MARKR_PG_SHEET_ARRAYS];
    const struct markr_answer_sheet *shape = NULL;
    size_t sheets = 20;
    int failed = 0;

    memset(out, 0, sizeof(*out));
    memset(a, 0, sizeof(a));
    if (marks->count > INT32_MAX)
        return markr_error_set(err, MARKR_ERR_INTERNAL, "too_large", "too many marks for one statement");
    for (size_t i = 0; i < marks->count; ++i) {
        const struct markr_result *kept = marks->marks[i].sheet;

        sheets += 4 + (kept != NULL ? sheet_size(&kept->sheet) : 0);
        if (shape == NULL && kept != NULL && kept->sheet.count > 0)
            shape = &kept->sheet; /* the first with an answer, in the marks' order: sheets mostly share it */
    }
    if (shape != NULL) {
        markr_pg_buffer_reserve(&a[MARKR_PG_SHEET_SHAPE], sheet_size(shape));
        sheet_element(&a[MARKR_PG_SHEET_SHAPE], shape, (1u << SHEET_RESPONSES) | (1u << SHEET_AWARDED));
    }
    markr_pg_buffer_reserve(&a[MARKR_PG_SHEET_COLUMN], sheets);
    markr_pg_array_begin(&a[MARKR_PG_SHEET_TOTAL], MARKR_PG_INT8, marks->count, 0);
    markr_pg_array_begin(&a[MARKR_PG_SHEET_COLUMN], sheet_oid, marks->count, 1);
    for (size_t i = 0; i < marks->count; ++i) {
        const struct markr_answer_sheet *sheet = marks->marks[i].sheet != NULL ? &marks->marks[i].sheet->sheet : NULL;

        markr_pg_array_int8(&a[MARKR_PG_SHEET_TOTAL], sheet != NULL ? sheet->total : 0);
        if (sheet == NULL || sheet->count == 0)
            markr_pg_array_null(&a[MARKR_PG_SHEET_COLUMN]);
        else
            sheet_element(&a[MARKR_PG_SHEET_COLUMN], sheet, same_shape(sheet, shape) ? SHAPE_COLUMNS : 0);
    }
    for (int c = 0; c < MARKR_PG_SHEET_ARRAYS; ++c) {
        failed |= a[c].failed;
        out->arrays[c] = a[c].bytes;
        out->lengths[c] = a[c].len;
    }
    if (failed) {
        markr_pg_sheet_arrays_free(out);
        return markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
    }
    return 0;
}
