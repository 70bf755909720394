/*
 * Reprocessing: every stored document is judged again by the parser the build has now,
 * exactly as the live import judges it, and its verdict and marks are written through the
 * rebuild port inside one transaction. Replaying in order of receipt with the live rules
 * reproduces the live marks (the property the e2e suite checks).
 */
#include "reprocess.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void markr_stored_import_free(struct markr_stored_import *s)
{
    free(s->content_type);
    free(s->body);
    memset(s, 0, sizeof(*s));
}

void markr_reprocess_report_free(struct markr_reprocess_report *r)
{
    for (size_t i = 0; i < r->changed_test_count; ++i)
        free(r->changed_tests[i]);
    free(r->changed_tests);
    free(r->flips);
    markr_import_outcome_free(&r->outcome);
    memset(r, 0, sizeof(*r));
}

enum verdict { VERDICT_ACCEPTED, VERDICT_REJECTED, VERDICT_FAILED };

static int add_flip(struct markr_reprocess_report *r, int64_t id, const char *from, const char *to)
{
    struct markr_status_flip *grown = realloc(r->flips, (r->flip_count + 1) * sizeof(*grown));

    if (grown == NULL)
        return -1;
    r->flips = grown;
    grown[r->flip_count].id = id;
    snprintf(grown[r->flip_count].from, MARKR_STATUS_MAX, "%s", from);
    snprintf(grown[r->flip_count].to, MARKR_STATUS_MAX, "%s", to);
    r->flip_count++;
    return 0;
}

/* Judges s and writes its verdict; report->outcome says what it amounted to. alone: see
 * apply_accepted (every import but those of a rebuild of all, which replays them in order of
 * receipt). one: an import reprocessed on its own, whose raises are reported and which is
 * left alone when the rules now refuse it but it is accepted. Returns the verdict. */
static enum verdict rejudge(const struct markr_reprocess_deps *deps, const struct markr_stored_import *s, int alone,
                            int one, struct markr_reprocess_report *report, struct markr_error *err)
{
    const struct markr_vault_rebuild *rb = &deps->rebuild;
    struct markr_judgement j;
    enum verdict v;
    const char *now;

    markr_import_outcome_free(&report->outcome);
    if (markr_judge_document(&deps->formats, s->content_type, s->body, s->len, &j, err) != 0) {
        markr_judgement_free(&j);
        return VERDICT_FAILED;
    }
    v = j.accepted ? VERDICT_ACCEPTED : VERDICT_REJECTED;
    now = j.accepted ? "accepted" : "rejected";
    if (markr_outcome_of(&j, &report->outcome) != 0) {
        *err = report->outcome.error;
        v = VERDICT_FAILED;
    }
    report->outcome.import_id = s->id;
    if (v == VERDICT_ACCEPTED) {
        if (one && rb->would_raise(rb->ctx, &j.marks, &report->changed_tests, &report->changed_test_count, err) != 0)
            v = VERDICT_FAILED;
        else if (rb->apply_accepted(rb->ctx, s->id, &j.marks, j.doc.count, alone, err) != 0)
            v = VERDICT_FAILED;
    } else if (v == VERDICT_REJECTED) {
        if (one && strcmp(s->status, "accepted") == 0) {
            markr_error_set(err, MARKR_ERR_INVALID, "needs_full_rebuild",
                            "import %lld is accepted but the current rules refuse it (%s); its marks can only be "
                            "taken back by rebuilding them all: markr reprocess --all",
                            (long long)s->id, j.refusal.message);
            v = VERDICT_FAILED;
        } else if (rb->apply_rejected(rb->ctx, s->id, &j.refusal, j.doc.count, err) != 0) {
            v = VERDICT_FAILED;
        }
    }
    if (v != VERDICT_FAILED) {
        snprintf(report->status, sizeof(report->status), "%s", now);
        if (strcmp(s->status, now) != 0 && add_flip(report, s->id, s->status, now) != 0) {
            markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
            v = VERDICT_FAILED;
        }
    }
    markr_judgement_free(&j);
    return v;
}

int markr_reprocess_all(const struct markr_reprocess_deps *deps, int dry_run, struct markr_reprocess_report *report,
                        struct markr_error *err)
{
    const struct markr_vault_rebuild *rb = &deps->rebuild;
    struct markr_error ignored;
    int64_t after = 0;

    memset(report, 0, sizeof(*report));
    markr_error_clear(err);
    if (rb->begin(rb->ctx, 1, err) != 0)
        return -1;
    for (;;) {
        struct markr_stored_import s = {0};
        int found = rb->next(rb->ctx, after, &s, err);
        enum verdict v;

        if (found < 0)
            goto fail;
        if (found == 0)
            break;
        report->imports++;
        v = rejudge(deps, &s, 0, 0, report, err);
        after = s.id;
        markr_stored_import_free(&s);
        if (v == VERDICT_FAILED)
            goto fail;
    }
    markr_import_outcome_free(&report->outcome); /* of the last import only: not the rebuild's */
    memset(&report->outcome, 0, sizeof(report->outcome));
    report->status[0] = '\0';
    if (rb->changed_tests(rb->ctx, &report->changed_tests, &report->changed_test_count, err) != 0)
        goto fail;
    if (rb->finish(rb->ctx, !dry_run, err) != 0) {
        markr_reprocess_report_free(report);
        return -1;
    }
    return 0;
fail:
    rb->finish(rb->ctx, 0, &ignored);
    markr_reprocess_report_free(report);
    return -1;
}

int markr_reprocess_one(const struct markr_reprocess_deps *deps, int64_t id, int dry_run,
                        struct markr_reprocess_report *report, struct markr_error *err)
{
    const struct markr_vault_rebuild *rb = &deps->rebuild;
    struct markr_stored_import s = {0};
    struct markr_error ignored;
    enum verdict v;
    int found;

    memset(report, 0, sizeof(*report));
    markr_error_clear(err);
    if (rb->begin(rb->ctx, 0, err) != 0)
        return -1;
    if ((found = rb->fetch(rb->ctx, id, NULL, &s, err)) <= 0) {
        if (found == 0)
            markr_error_set(err, MARKR_ERR_NOT_FOUND, "unknown_import",
                            "no accepted or rejected import has id %lld", (long long)id);
        goto fail;
    }
    report->imports = 1;
    v = rejudge(deps, &s, 1, 1, report, err);
    markr_stored_import_free(&s);
    if (v == VERDICT_FAILED)
        goto fail;
    if (rb->finish(rb->ctx, !dry_run, err) != 0) {
        markr_reprocess_report_free(report);
        return -1;
    }
    return 0;
fail:
    rb->finish(rb->ctx, 0, &ignored);
    markr_reprocess_report_free(report);
    return -1;
}

int markr_process_queued(const struct markr_reprocess_deps *deps, int64_t id, struct markr_reprocess_report *report,
                         struct markr_error *err)
{
    const struct markr_vault_rebuild *rb = &deps->rebuild;
    struct markr_stored_import s = {0};
    struct markr_error ignored;
    int found;

    memset(report, 0, sizeof(*report));
    markr_error_clear(err);
    if (rb->begin(rb->ctx, 0, err) != 0)
        return -1;
    /* The lock taken here is what makes processing happen once: a second server that claimed
     * the same import waits, then finds it no longer 'processing'. */
    if ((found = rb->fetch(rb->ctx, id, "processing", &s, err)) <= 0) {
        rb->finish(rb->ctx, 0, &ignored);
        return found;
    }
    report->imports = 1;
    if (rejudge(deps, &s, 1, 0, report, err) == VERDICT_FAILED) {
        markr_stored_import_free(&s);
        rb->finish(rb->ctx, 0, &ignored);
        markr_reprocess_report_free(report);
        return -1;
    }
    markr_stored_import_free(&s);
    if (rb->finish(rb->ctx, 1, err) != 0) {
        markr_reprocess_report_free(report);
        return -1;
    }
    return 1;
}
