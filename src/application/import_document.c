/*
 * Import one document: parse it (rule 1 is applied result by result as the parser goes),
 * apply the duplicate rule, and hand the vault entry and the marks to the store in one
 * call, so that acceptance is one transaction. A refused document is stored too, with its
 * reason (rule 5: raw first).
 */
#include "import_document.h"

#include <stdlib.h>
#include <string.h>

/* Copies the distinct test ids out of marks, which borrow them from the document. */
static int copy_tests(const struct markr_marks *marks, struct markr_import_outcome *outcome)
{
    outcome->tests = calloc(marks->test_count != 0 ? marks->test_count : 1, sizeof(*outcome->tests));
    if (outcome->tests == NULL)
        return -1;
    for (size_t i = 0; i < marks->test_count; ++i) {
        if ((outcome->tests[i] = strdup(marks->tests[i])) == NULL)
            return -1;
        outcome->test_count = i + 1;
    }
    return 0;
}

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

int markr_import_document(const struct markr_import_deps *deps, const char *content_type, const char *body,
                          size_t len, struct markr_import_outcome *outcome)
{
    struct markr_document doc;
    struct markr_marks marks;
    struct markr_vault_entry entry = {.content_type = content_type, .body = body, .body_len = len};
    int rc = -1;

    memset(outcome, 0, sizeof(*outcome));
    markr_error_clear(&outcome->error);
    markr_document_init(&doc);

    /* The whole-document rules are checked here, not left to each parser. */
    if (deps->parser.parse(deps->parser.ctx, body, len, &doc, &outcome->error) != 0 ||
        markr_document_finish(&doc, &outcome->error) != 0) {
        entry.result_count = doc.count;
        markr_document_free(&doc);
        if (outcome->error.code != MARKR_ERR_MALFORMED && outcome->error.code != MARKR_ERR_INVALID)
            return -1; /* not a verdict on the document (e.g. out of memory): nothing to keep */
        return store_refusal(deps, &entry, outcome);
    }
    entry.result_count = doc.count;
    outcome->results = doc.count;

    if (markr_marks_from_document(&doc, &marks, &outcome->error) == 0) {
        outcome->students = marks.students;
        outcome->marks = marks.count;
        if (copy_tests(&marks, outcome) != 0)
            markr_error_set(&outcome->error, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
        else if (deps->store.save_accepted(deps->store.ctx, &entry, &marks, &outcome->import_id, &outcome->error) == 0)
            rc = 0;
        markr_marks_free(&marks);
    }
    markr_document_free(&doc);
    if (rc != 0)
        outcome->import_id = 0;
    return rc;
}

void markr_import_outcome_free(struct markr_import_outcome *outcome)
{
    for (size_t i = 0; i < outcome->test_count; ++i)
        free(outcome->tests[i]);
    free(outcome->tests);
    outcome->tests = NULL;
    outcome->test_count = 0;
}
