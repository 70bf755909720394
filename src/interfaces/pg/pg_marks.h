/*
 * The marks as the database receives them, and the writes that apply a verdict: the one
 * statement of the duplicate rule (rule 2) with the names rows of the import (one per test
 * it touched: they are also the record of its tests) and the change notification, and the
 * one encoding of a refusal. The synchronous import (pg_store.c) and the rebuilds and queue
 * (pg_rebuild.c) both write through here, so they cannot apply the rules differently. Private to the adapter, like pg_internal.h.
 */
#ifndef MARKR_INTERFACES_PG_MARKS_H
#define MARKR_INTERFACES_PG_MARKS_H

#include <stddef.h>
#include <stdint.h>

#include "domain/document.h"
#include "domain/error.h"
#include "pg_batch.h"
#include "pg_internal.h"
#include "pg_sheets.h"

/* The marks' six columns (test id, student number, first name, last name, available,
 * obtained) as binary arrays, in the order of struct markr_marks. Each array is malloc'd
 * (the caller frees it). Returns 0, or -1 when out of memory (the caller frees what is not
 * NULL). */
#define MARKR_PG_MARK_COLUMNS 6
int markr_pg_marks_arrays(const struct markr_marks *marks, char *arrays[MARKR_PG_MARK_COLUMNS],
                          size_t lengths[MARKR_PG_MARK_COLUMNS]);

/* How markr_pg_apply_marks writes. */
enum {
    /* Applied out of the order of receipt (a queued import, one reprocessed alone): names
     * that newer imports carried stay. */
    MARKR_PG_APPLY_CHECKED = 1,
    MARKR_PG_APPLY_NOTIFY = 2,  /* announce the tests whose marks changed, at commit */
    MARKR_PG_APPLY_REPLACE = 4, /* the import may have names rows already: drop them */
    /* Keep the announcement in the session instead, for markr_pg_notify_kept to send right
     * after the COMMIT: a transaction that notifies holds the notification queue's lock from
     * before its commit record until it is flushed, so notifying imports would commit one
     * at a time instead of sharing WAL flushes (ADR 0024). */
    MARKR_PG_APPLY_NOTIFY_KEPT = 8,
    /* The imports row was written by this transaction as accepted with its result count (an
     * upload): the statement does not set the verdict. Not with MARKR_PG_APPLY_CHECKED. */
    MARKR_PG_APPLY_ROW_WRITTEN = 16,
};

/* The slots of the adapter's prepared statements (pg_batch.h). */
enum {
    MARKR_PG_SLOT_MARKS_IN_ORDER,
    MARKR_PG_SLOT_MARKS_CHECKED,
    MARKR_PG_SLOT_NOTIFY_KEPT,
    MARKR_PG_SLOT_ACCEPTED_ROW,
    MARKR_PG_SLOT_REJECTED_ROW,
    MARKR_PG_SLOT_ACCEPTED_VERDICT,
    MARKR_PG_SLOT_REJECTED_VERDICT,
    MARKR_PG_SLOT_MARKS_ROW_WRITTEN,
};

/* How the marks statement announces the change: not at all, by pg_notify in the
 * transaction (delivered at its commit: rebuilds and the queue), or kept in the session for
 * markr_pg_notify_kept after the COMMIT (the synchronous import; a session setting, so a
 * rolled-back transaction takes it back too). */
enum markr_pg_announce {
    MARKR_PG_ANNOUNCE_NONE = 0,
    MARKR_PG_ANNOUNCE_IN_TRANSACTION = 1,
    MARKR_PG_ANNOUNCE_KEPT = 2,
};
/* The announcement that markr_pg_apply_marks's flags ask for. */
enum markr_pg_announce markr_pg_announce_of(int flags);

/* The imports row that the current transaction inserted last, in SQL: how a statement queued
 * behind that INSERT in the same batch names the import before its id is known. */
#define MARKR_PG_THIS_IMPORT "currval(pg_get_serial_sequence('imports', 'id'))"

/* The session setting that holds a kept announcement. */
#define MARKR_PG_KEPT_CHANGES "markr.changes"

/* The statement of rule 2, in order of receipt or checked against newer imports, and the one
 * that sends a kept announcement (after the COMMIT of the statement that kept it). */
extern const struct markr_pg_statement markr_pg_apply_in_order, markr_pg_apply_checked, markr_pg_notify_kept;

/* The statement of rule 2 with its parameters, ready to run alone or in a batch. */
#define MARKR_PG_SCAN_COLUMNS 4
struct markr_pg_marks_statement {
    const struct markr_pg_statement *statement;
    struct markr_pg_params params; /* point into the arrays: do not copy the struct */
    char *arrays[MARKR_PG_MARK_COLUMNS], *scans[MARKR_PG_SCAN_COLUMNS];
    struct markr_pg_sheet_arrays sheets; /* the kept scans (pg_sheets.h) */
};

/* Builds the statement that applies marks and their kept sheets for import id, as
 * markr_pg_apply_marks runs it (flags as there, MARKR_PG_APPLY_REPLACE aside), with
 * sheet_type from markr_pg_sheets_type; id 0 means the imports row that the same
 * transaction inserted last (its identity's currval), so that the statement can be queued
 * behind that INSERT before the id is known. Touches no connection. Returns 0 (free it with
 * markr_pg_marks_statement_free), or -1 with err when out of memory. */
int markr_pg_marks_statement(struct markr_pg_marks_statement *s, Oid sheet_type, int64_t id,
                             const struct markr_marks *marks, size_t result_count, int flags,
                             struct markr_error *err);
void markr_pg_marks_statement_free(struct markr_pg_marks_statement *s);

/* Inside an open transaction, for import id (its imports row exists): applies marks by rule
 * 2 with their kept sheets (ADR 0034), records the names each scan carried and, with them,
 * the tests of the scans (ADR 0009, 0038: marks->scans must hold every result the marks
 * came from, as markr_marks_from_document gives them), and marks the import accepted with
 * result_count results (processed now, when that changes its row). Returns 0, or -1 with
 * err. */
int markr_pg_apply_marks(struct markr_pg *pg, int64_t id, const struct markr_marks *marks, size_t result_count,
                         int flags, struct markr_error *err);

/* Drops the names rows of import id, and with them the record of its tests (before they are
 * written again, or when it is refused). Returns 0, or -1 with err. */
int markr_pg_clear_import_rows(struct markr_pg *pg, int64_t id, struct markr_error *err);

/* The refusal, stored as jsonb built by the server from five consecutive parameters: code,
 * message, result index, line, field (zero positions and an empty field are "not about
 * one" and left out). SQL text, with the numbers of those parameters. */
#define MARKR_PG_REASON_JSONB(CODE, MESSAGE, INDEX, LINE, FIELD)                                         \
    "jsonb_strip_nulls(jsonb_build_object('error', " CODE "::text, 'message', " MESSAGE "::text,\n"      \
    "    'result_index', NULLIF(" INDEX ", 0), 'line', NULLIF(" LINE ", 0), 'field', NULLIF(" FIELD       \
    "::text, '')))"

/* Storage for the text of a refusal made storable (markr_pg_utf8_copy: a parser's message
 * may quote the document, cut at a byte limit). */
struct markr_pg_reason {
    char *code, *message, *field;
};
/* Appends reason's five parameters to p. Returns 0, or -1 when out of memory (err set).
 * Always call markr_pg_reason_free once p has been used. */
int markr_pg_reason_params(struct markr_pg_params *p, struct markr_pg_reason *text, const struct markr_error *reason,
                           struct markr_error *err);
void markr_pg_reason_free(struct markr_pg_reason *text);

#endif
