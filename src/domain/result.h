/*
 * One result of a marked test as the grading machines send it, and the rules that
 * decide whether it can be taken (rule 1 of the brief). Adapters hand over the raw
 * text of each field; the domain trims, bounds and converts it, so every adapter
 * refuses the same documents for the same reasons.
 */
#ifndef MARKR_DOMAIN_RESULT_H
#define MARKR_DOMAIN_RESULT_H

#include <stddef.h>
#include <stdint.h>

#include "answers.h"
#include "error.h"

/* The fields a result carries, in the order used by struct markr_raw_result. */
enum markr_field {
    MARKR_FIELD_TEST_ID,
    MARKR_FIELD_STUDENT_NUMBER,
    MARKR_FIELD_FIRST_NAME,
    MARKR_FIELD_LAST_NAME,
    MARKR_FIELD_AVAILABLE, /* attribute available of <summary-marks> */
    MARKR_FIELD_OBTAINED,  /* attribute obtained of <summary-marks> */
    MARKR_FIELD_COUNT
};

/* Longest text field kept after trimming, in bytes. Longer ones refuse the document. */
#define MARKR_TEXT_MAX 255

/* The name of a field as a person reads it in the XML ("summary-marks/@obtained"). */
const char *markr_field_name(enum markr_field field);

/* A result as read from a document, before any rule is applied. The text is borrowed from
 * the adapter (not NUL-terminated) and need only live for the call it is passed to. */
struct markr_raw_result {
    const char *text[MARKR_FIELD_COUNT]; /* NULL when the element or attribute is absent */
    size_t len[MARKR_FIELD_COUNT];
    unsigned long field_line[MARKR_FIELD_COUNT]; /* where each field was seen; 0 when absent */
    unsigned long line;                          /* line of <mcq-test-result> */
    const struct markr_raw_answer *answers;      /* its <answer> elements, document order */
    size_t answer_count;
};

/* A result that passed every rule. Strings are NUL-terminated and owned by the
 * markr_document that holds the result. */
struct markr_result {
    char *test_id;
    char *student_number;
    char *first_name; /* NULL when absent or empty */
    char *last_name;  /* NULL when absent or empty */
    uint32_t available;
    uint32_t obtained;
    unsigned long line;
    struct markr_answer_sheet sheet; /* its valid answers (answers.h); owned */
};

/* Parses a mark: decimal digits only (after trimming), at most INT32_MAX (a 32-bit integer,
 * as SQL `integer`). Returns 0 and sets *out, or -1 when the text is empty, has another
 * character, or overflows. */
int markr_parse_mark(const char *text, size_t len, uint32_t *out);

/* Trims surrounding XML white space (space, tab, CR, LF) in place of pointer and length. */
void markr_trim(const char **text, size_t *len);

#endif
