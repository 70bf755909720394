/*
 * Import one document: judge it (judgement.h), then hand the vault entry and the marks to
 * the store in one call, so that acceptance is one transaction. A refused document is
 * stored too, with its reason (rule 5: raw first). The store may begin with the body while
 * the document is judged (ADR 0033); the verdict then finishes what it began.
 */
#include "import_document.h"

#include <string.h>

/* The document was refused: keep it in the vault with its reason. The outcome keeps the
 * refusal as its error; a failure to store replaces it (the client must retry). */
static int store_refusal(const struct markr_import_deps *deps, const struct markr_vault_entry *entry,
                         struct markr_import_outcome *outcome)
{
    struct markr_error store_err;

    markr_error_clear(&store_err);
    if (deps->store.save_rejected(deps->store.ctx, entry, &outcome->error, &outcome->import_id, &store_err) != 0) {
        outcome->import_id = 0;
        outcome->error = store_err;
    }
    return -1;
}

/* No verdict after all: what the store began with the body is dropped. */
static void abandon_begun(const struct markr_import_deps *deps, struct markr_vault_entry *entry)
{
    if (entry->begun != NULL)
        deps->store.abandon(deps->store.ctx, entry->begun);
    entry->begun = NULL;
}

/* Judges the entry's body and stores it: accepted with its marks, or refused with its reason.
 * The body may already be on its way to the store while it is judged. */
static int import_entry(const struct markr_import_deps *deps, struct markr_vault_entry *entry,
                        struct markr_import_outcome *outcome)
{
    struct markr_judgement j;
    int rc = -1;

    memset(outcome, 0, sizeof(*outcome));
    entry->begun = deps->store.begin != NULL && deps->store.abandon != NULL ? deps->store.begin(deps->store.ctx, entry)
                                                                            : NULL;
    if (markr_judge_document(&deps->formats, entry->content_type, entry->body, entry->body_len, &j, &outcome->error) != 0) {
        abandon_begun(deps, entry);
        markr_judgement_free(&j); /* no verdict (e.g. out of memory): nothing to keep */
        return -1;
    }
    entry->result_count = j.doc.count;
    if (markr_outcome_of(&j, outcome) != 0) {
        abandon_begun(deps, entry);
        rc = -1;
    } else if (!j.accepted)
        rc = store_refusal(deps, entry, outcome);
    else if (deps->store.save_accepted(deps->store.ctx, entry, &j.marks, &outcome->import_id, &outcome->error) == 0)
        rc = 0;
    else
        outcome->import_id = 0; /* whatever the store wrote there: nothing was stored */
    markr_judgement_free(&j);
    return rc;
}

int markr_import_document(const struct markr_import_deps *deps, const char *content_type,
                          const char *content_encoding, const char *body, size_t len,
                          struct markr_import_outcome *outcome)
{
    struct markr_vault_entry entry = {
        .content_type = content_type, .content_encoding = content_encoding, .body = body, .body_len = len};

    return import_entry(deps, &entry, outcome);
}

int markr_import_document_at(const struct markr_import_deps *deps, const char *content_type, const char *body,
                             size_t len, const struct markr_stream_position *position,
                             struct markr_import_outcome *outcome)
{
    struct markr_vault_entry entry = {
        .content_type = content_type, .body = body, .body_len = len, .position = position};

    return import_entry(deps, &entry, outcome);
}
