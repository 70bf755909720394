/*
 * The answers of a result (its <answer> elements) and the rule that says which of them an
 * item analysis may use. Answers are not fields of rule 1: an invalid one is left out of
 * the analysis and never refuses a document. Adapters hand over the raw text, the domain
 * trims, bounds and converts it, as for the fields of a result (result.h).
 */
#ifndef MARKR_DOMAIN_ANSWERS_H
#define MARKR_DOMAIN_ANSWERS_H

#include <stddef.h>
#include <stdint.h>

/* Answers read per result; a parser ignores those past it (a paper has a few hundred
 * questions at most, so this only bounds the memory a hostile document can claim). */
#define MARKR_ANSWERS_MAX 1000

/* One <answer> as read from a document, before any rule. Text is borrowed (not
 * NUL-terminated) and need only live for the call it is passed to. */
struct markr_raw_answer {
    const char *question; /* attribute question; NULL when absent */
    size_t question_len;
    const char *available; /* attribute marks-available; NULL when absent */
    size_t available_len;
    const char *awarded; /* attribute marks-awarded; NULL when absent */
    size_t awarded_len;
    const char *response; /* the element's text; NULL or empty when it has none */
    size_t response_len;
    int too_long; /* the adapter could not keep all of a value: the answer is invalid */
};

/* A valid answer. Strings are NUL-terminated and owned by the result that holds it. */
struct markr_answer {
    const char *question; /* trimmed, 1..MARKR_TEXT_MAX bytes */
    const char *response; /* trimmed, 0..MARKR_TEXT_MAX bytes ("" is a blank) */
    uint32_t question_len, response_len; /* their lengths, without the NULs */
    uint32_t awarded; /* <= available */
    uint32_t available;
};

/* The valid answers of one result: a repeated question keeps its last occurrence; sorted in
 * the order of questions (markr_question_compare; one answer per question). */
struct markr_answer_sheet {
    struct markr_answer *answers; /* owned, with the text they point to */
    size_t count;
    uint64_t total; /* the sum of awarded: the sheet's total in the item analysis */
    /* The bytes of its questions and of its responses, NULs not counted (the size of the
     * block that holds them; a writer that copies the texts counts their own lengths). */
    size_t question_bytes, response_bytes;
};

/* Whether raw is a valid answer: a question that is not empty after trimming, marks that are
 * decimal integers (markr_parse_mark) with awarded <= available, and a question and a
 * response of at most MARKR_TEXT_MAX bytes after trimming. Returns 1 and fills out (its
 * strings borrowed from raw, trimmed, NOT NUL-terminated: see its lengths) or 0. */
int markr_answer_check(const struct markr_raw_answer *raw, struct markr_answer *out);

/* Builds the sheet of count raw answers (at most MARKR_ANSWERS_MAX are looked at). Returns
 * 0, or -1 when out of memory (sheet left empty). */
int markr_answer_sheet_build(const struct markr_raw_answer *raw, size_t count, struct markr_answer_sheet *sheet);
void markr_answer_sheet_free(struct markr_answer_sheet *sheet);

/* The order of questions in every answer: decimal integers first, by value (leading zeros
 * aside), then the others; ties, and the others among themselves, in byte order. Returns
 * <0, 0 or >0 as strcmp. */
int markr_question_compare(const char *a, const char *b);

#endif
