/*
 * A document of results being received: the validated results in document order, and
 * the rule that turns them into marks (rule 2: duplicates keep the highest obtained and,
 * independently, the highest available). A document is taken whole or refused whole.
 */
#ifndef MARKR_DOMAIN_DOCUMENT_H
#define MARKR_DOMAIN_DOCUMENT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "result.h"

struct markr_document {
    struct markr_result *results; /* owned; document order */
    size_t count;
    size_t capacity;
};

/* One mark per (test, student) after the duplicate rule. Strings point into the
 * document's results: a mark lives no longer than its document. */
struct markr_mark {
    const char *test_id;
    const char *student_number;
    const char *first_name; /* from the last result of the pair that had one; NULL if none */
    const char *last_name;
    uint32_t available; /* highest seen */
    uint32_t obtained;  /* highest seen */
    /* The scan whose answers are the pair's kept sheet: the one that supplied obtained, the
     * last of them in the document when several did. Its sheet may be empty. */
    const struct markr_result *sheet;
};

/* The marks of a document, sorted by (test id, student number) in byte order, so that
 * every writer locks rows in the same order. */
struct markr_marks {
    struct markr_mark *marks; /* owned */
    size_t count;
    size_t students;    /* distinct student numbers over all tests */
    const char **tests; /* owned array; distinct test ids, sorted; strings borrowed */
    size_t test_count;
    /* Every result of the document, before the duplicate rule merged them (borrowed from the
     * document): the names each scan carried, kept by the vault for conflicts (ADR 0009). */
    const struct markr_result *scans;
    size_t scan_count;
};

void markr_document_init(struct markr_document *doc);
void markr_document_free(struct markr_document *doc);

/* Applies rule 1 to raw and, when it passes, appends a copy to doc. On refusal returns -1
 * and fills err with MARKR_ERR_INVALID, the result's 1-based index, its line and field.
 * Allocation failure gives MARKR_ERR_INTERNAL. */
int markr_document_add(struct markr_document *doc, const struct markr_raw_result *raw, struct markr_error *err);

/* Checks the rules that concern the whole document (it has at least one result). */
int markr_document_finish(const struct markr_document *doc, struct markr_error *err);

/* Applies the duplicate rule. Returns 0, or -1 with err set on allocation failure. */
int markr_marks_from_document(const struct markr_document *doc, struct markr_marks *out, struct markr_error *err);
void markr_marks_free(struct markr_marks *marks);

#endif
