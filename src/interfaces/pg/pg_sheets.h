/*
 * The kept answer sheets (migration 0014, ADR 0034) as the statement of rule 2 receives
 * them (pg_marks.c writes them into the marks rows): the parameters built from a document's
 * marks, and the OID of their type. Private to the adapter, like pg_marks.h.
 */
#ifndef MARKR_INTERFACES_PG_SHEETS_H
#define MARKR_INTERFACES_PG_SHEETS_H

#include <stddef.h>
#include <stdint.h>

#include "domain/document.h"
#include "domain/error.h"
#include "pg_internal.h"

/* The OID of the type of the sheets' parameter (answer_sheet_columns, migration 0011) into
 * *type: the first call on a connection looks it up (one statement), later ones answer from
 * the connection (pg->sheet_type; a type keeps its OID, so one known from an earlier
 * connection to the database stays right unless the type is made again). outside: no
 * transaction is open, so the connection is first made usable (markr_pg_ensure: one found
 * broken is reset, and the type looked up on the new one); else the look-up is one
 * statement of the transaction (a rebuild's). Returns 0, or -1 with err when the connection
 * or the look-up failed. */
int markr_pg_sheets_type(struct markr_pg *pg, int outside, Oid *type, struct markr_error *err);

/* The parameters of the document's kept scans: two arrays, one element per mark in the
 * marks' order, each kept scan's total (bigint[]; 0 without a sheet) and its sheet
 * (answer_sheet_columns[], NULL for a scan without a valid answer); and the shape, one
 * answer_sheet_columns value with the questions and available marks of the first mark's
 * sheet that has an answer (its other columns NULL; the whole NULL when no mark has one).
 * A sheet with the shape's questions and available marks, answer by answer, sends those two
 * columns NULL and the statement takes the shape's: a test's sheets mostly answer the same
 * questions, and each element sent costs the server a function call to receive it (the
 * sheets took about 28 % of a 10,000-result import's server instructions, bench/README.md).
 * The kept scan's obtained is the mark's (the document's highest, domain/document.h), so it
 * is not sent again. */
enum { MARKR_PG_SHEET_TOTAL, MARKR_PG_SHEET_COLUMN, MARKR_PG_SHEET_SHAPE, MARKR_PG_SHEET_ARRAYS };
struct markr_pg_sheet_arrays {
    char *arrays[MARKR_PG_SHEET_ARRAYS];
    size_t lengths[MARKR_PG_SHEET_ARRAYS];
};

/* Builds them for marks, with sheet_type from markr_pg_sheets_type (the sheet array's header
 * names it). Touches no connection. Returns 0 (free them with markr_pg_sheet_arrays_free),
 * or -1 with err when out of memory or past what one statement takes (nothing left
 * allocated). */
int markr_pg_sheet_arrays(struct markr_pg_sheet_arrays *out, Oid sheet_type, const struct markr_marks *marks,
                          struct markr_error *err);
void markr_pg_sheet_arrays_free(struct markr_pg_sheet_arrays *a);

#endif
