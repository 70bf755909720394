/*
 * Use cases: rebuild the marks from the import vault under the current parsing rules
 * (`markr reprocess`, POST /imports/{id}/reprocess), and process one queued asynchronous
 * import. Each stored document is judged as a new one is (judgement.h). ADR 0010 states
 * the semantics; ADR 0011 the queue.
 */
#ifndef MARKR_APPLICATION_REPROCESS_H
#define MARKR_APPLICATION_REPROCESS_H

#include <stddef.h>
#include <stdint.h>

#include "judgement.h"
#include "vault.h"

struct markr_reprocess_deps {
    struct markr_formats formats;
    struct markr_vault_rebuild rebuild;
};

struct markr_status_flip {
    int64_t id;
    char from[MARKR_STATUS_MAX];
    char to[MARKR_STATUS_MAX];
};

/* What a reprocessing did (or, dry, would do). Owned: markr_reprocess_report_free. */
struct markr_reprocess_report {
    size_t imports; /* documents read again */
    struct markr_status_flip *flips;
    size_t flip_count;
    char **changed_tests; /* tests whose aggregate changes, sorted */
    size_t changed_test_count;
    /* One import: its status now, and its outcome (the counts when accepted; the refusal as
     * outcome.error when rejected, code MARKR_OK otherwise). */
    char status[MARKR_STATUS_MAX];
    struct markr_import_outcome outcome;
};
void markr_reprocess_report_free(struct markr_reprocess_report *r);

/* Rebuilds every mark from the stored documents in order of receipt, in one transaction;
 * dry_run rolls it back. Returns 0, or -1 with err (nothing written). */
int markr_reprocess_all(const struct markr_reprocess_deps *deps, int dry_run, struct markr_reprocess_report *report,
                        struct markr_error *err);

/* Re-runs import id: a refused document that now passes becomes accepted and its marks are
 * applied by rule 2; a refused one gets its current reason. An accepted document that the
 * current rules refuse is not changed (MARKR_ERR_INVALID "needs_full_rebuild": marks kept by
 * the maximum rule cannot be taken back one document at a time). MARKR_ERR_NOT_FOUND when no
 * accepted or rejected import has that id. */
int markr_reprocess_one(const struct markr_reprocess_deps *deps, int64_t id, int dry_run,
                        struct markr_reprocess_report *report, struct markr_error *err);

/* Processes queued import id that this caller has claimed ('processing'): verdict, marks
 * and status in one transaction. Returns 1 when it processed it (report->status says how),
 * 0 when the import was no longer waiting (another server finished it), -1 with err
 * (nothing written; the import stays claimable). */
int markr_process_queued(const struct markr_reprocess_deps *deps, int64_t id, struct markr_reprocess_report *report,
                         struct markr_error *err);

#endif
