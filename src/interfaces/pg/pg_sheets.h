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
#include "pg_internal.h"

/* Inside the transaction that has just applied marks (so it holds their rows' locks): makes
 * each kept scan of the document the pair's sheet when it is the kept one now, and
 * announces, when notify is set, the tests whose sheets changed but whose marks did not
 * (those the marks statement announced). Returns 0, or -1 with err. */
int markr_pg_apply_sheets(struct markr_pg *pg, int64_t id, const struct markr_marks *marks, int notify,
                          struct markr_error *err);

#endif
