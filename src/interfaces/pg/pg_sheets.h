/*
 * The kept answer sheets (migration 0006, ADR 0026): the one statement that writes them,
 * run by markr_pg_apply_marks right after the statement of rule 2, in its transaction.
 * Private to the adapter, like pg_marks.h.
 */
#ifndef MARKR_INTERFACES_PG_SHEETS_H
#define MARKR_INTERFACES_PG_SHEETS_H

#include <stdint.h>

#include "domain/document.h"
#include "domain/error.h"
#include "pg_batch.h"
#include "pg_internal.h"

#define MARKR_PG_SHEET_ARRAYS 5

/* The one statement that writes the kept sheets, prepared once per backend (pg_batch.h). */
extern const struct markr_pg_statement markr_pg_apply_sheets_statement;

/* The OID of the type of the sheets' parameter (answer_sheet_columns, migration 0011) into
 * *type: the first call on a connection looks it up (one statement), later ones answer from
 * the connection (pg->sheet_type; a type keeps its OID, so one known from an earlier
 * connection to the database stays right unless the type is made again). outside: no
 * transaction is open, so the connection is first made usable (markr_pg_ensure: one found
 * broken is reset, and the type looked up on the new one); else the look-up is one
 * statement of the transaction (a rebuild's). Returns 0, or -1 with err when the connection
 * or the look-up failed. */
int markr_pg_sheets_type(struct markr_pg *pg, int outside, Oid *type, struct markr_error *err);

/* The sheets statement with its parameters, ready to run alone or in a batch, for import id
 * (0: the imports row this transaction inserted last, as markr_pg_marks_statement), with
 * sheet_type from markr_pg_sheets_type. Touches no connection. announce is an enum
 * markr_pg_announce (pg_marks.h). Returns 0 (free it with markr_pg_sheets_statement_free),
 * or -1 with err when out of memory. */
struct markr_pg_sheets_statement {
    struct markr_pg_params params; /* point into the arrays: do not copy the struct */
    char *arrays[MARKR_PG_SHEET_ARRAYS];
};
int markr_pg_sheets_statement(struct markr_pg_sheets_statement *s, Oid sheet_type, int64_t id,
                              const struct markr_marks *marks, int announce, struct markr_error *err);
void markr_pg_sheets_statement_free(struct markr_pg_sheets_statement *s);

/* Inside the transaction that has just applied marks (so it holds their rows' locks): makes
 * each kept scan of the document the pair's sheet when it is the kept one now, and
 * announces (as announce says) the tests whose sheets changed but whose marks did not
 * (those the marks statement announced). Returns 0, or -1 with err. */
int markr_pg_apply_sheets(struct markr_pg *pg, int64_t id, const struct markr_marks *marks, int announce,
                          struct markr_error *err);

#endif
