/*
 * The one acceptance rule of Markr: a document is judged (parsed by the parser of its
 * format, rule 1 result by result, the whole-document rules, then the duplicate rule) into
 * either the marks to apply or a refusal. The synchronous import, the queue and
 * reprocessing all judge through markr_judge_document and report through one outcome, so
 * what they accept, refuse and count cannot drift apart.
 */
#ifndef MARKR_APPLICATION_JUDGEMENT_H
#define MARKR_APPLICATION_JUDGEMENT_H

#include <stddef.h>
#include <stdint.h>

#include "formats.h"

struct markr_judgement {
    int accepted;              /* 1: marks are to be applied; 0: refused, refusal says why */
    struct markr_document doc; /* the results read (up to the refusal, when refused) */
    struct markr_marks marks;  /* accepted only; borrows from doc */
    struct markr_error refusal; /* refused only: MARKR_ERR_MALFORMED or MARKR_ERR_INVALID */
};

/* Judges body, a document of content_type (NUL-terminated, as received). Returns 0 with a
 * verdict in j, or -1 with err when no verdict could be reached (out of memory, a parser's
 * own failure): then nothing is to be stored. Always call markr_judgement_free. */
int markr_judge_document(const struct markr_formats *formats, const char *content_type, const char *body,
                         size_t len, struct markr_judgement *j, struct markr_error *err);
void markr_judgement_free(struct markr_judgement *j);

/* What one accepted or refused document amounts to, whichever path took it. On acceptance:
 * the counts and the tests touched. On refusal: error (MARKR_ERR_MALFORMED or
 * MARKR_ERR_INVALID) and the vault id of the refused document. On failure to store: error,
 * and import_id 0. */
struct markr_import_outcome {
    int64_t import_id; /* 0 when nothing was stored */
    size_t results;    /* results in the document (read before the refusal, when refused) */
    size_t students;   /* distinct student numbers */
    size_t marks;      /* marks written: one per distinct (test, student) */
    char **tests;      /* owned: distinct test ids, sorted; NULL when refused */
    size_t test_count;
    struct markr_error error; /* code MARKR_OK when accepted */
};

/* Fills outcome (cleared first) from a verdict: the counts, the tests of accepted marks, or
 * the refusal as its error. Returns 0, or -1 when out of memory (outcome->error says so). */
int markr_outcome_of(const struct markr_judgement *j, struct markr_import_outcome *outcome);
void markr_import_outcome_free(struct markr_import_outcome *outcome);

#endif
