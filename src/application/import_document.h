/*
 * Use case: import one document of results. Every document lands in the vault; an
 * accepted one brings its marks in the same transaction, a refused one its reason.
 */
#ifndef MARKR_APPLICATION_IMPORT_DOCUMENT_H
#define MARKR_APPLICATION_IMPORT_DOCUMENT_H

#include <stddef.h>
#include <stdint.h>

#include "judgement.h"
#include "ports.h"

struct markr_import_deps {
    struct markr_formats formats;
    struct markr_import_store store;
};

/* Runs the use case on a decoded body; content_encoding is how it arrived (the vault records
 * it; NULL: identity). Returns 0 when the document was accepted and stored, -1 otherwise
 * (outcome->error says why). Always call markr_import_outcome_free afterwards. */
int markr_import_document(const struct markr_import_deps *deps, const char *content_type,
                          const char *content_encoding, const char *body, size_t len,
                          struct markr_import_outcome *outcome);

/* The same for a batch of a live feed: the feed's position after it (NULL: none) is stored
 * in the same transaction, whether the batch is accepted or refused. */
int markr_import_document_at(const struct markr_import_deps *deps, const char *content_type, const char *body,
                             size_t len, const struct markr_stream_position *position,
                             struct markr_import_outcome *outcome);

#endif
