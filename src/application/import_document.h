/*
 * Use case: import one document of results. Every document lands in the vault; an
 * accepted one brings its marks in the same transaction, a refused one its reason.
 */
#ifndef MARKR_APPLICATION_IMPORT_DOCUMENT_H
#define MARKR_APPLICATION_IMPORT_DOCUMENT_H

#include <stddef.h>
#include <stdint.h>

#include "ports.h"

struct markr_import_deps {
    struct markr_document_parser parser;
    struct markr_import_store store;
};

/* What the importer reports back. On acceptance: the counts and the tests touched. On
 * refusal: error (MARKR_ERR_MALFORMED or MARKR_ERR_INVALID) and the vault id of the refused
 * document. On failure to store: error, and import_id 0. */
struct markr_import_outcome {
    int64_t import_id; /* 0 when nothing was stored */
    size_t results;    /* results in the document */
    size_t students;   /* distinct student numbers */
    size_t marks;      /* marks upserted: one per distinct (test, student) */
    char **tests;      /* owned: distinct test ids, sorted; NULL when refused */
    size_t test_count;
    struct markr_error error; /* code MARKR_OK when accepted */
};

/* Runs the use case. Returns 0 when the document was accepted and stored, -1 otherwise
 * (outcome->error says why). Always call markr_import_outcome_free afterwards. */
int markr_import_document(const struct markr_import_deps *deps, const char *content_type, const char *body,
                          size_t len, struct markr_import_outcome *outcome);

void markr_import_outcome_free(struct markr_import_outcome *outcome);

#endif
