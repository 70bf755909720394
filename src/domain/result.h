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
    int summary_present;                         /* <summary-marks> was there, marks or not */
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

/* XML's white space (production S): other bytes, including non-breaking spaces, are data. */
static inline int markr_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Trims surrounding XML white space (space, tab, CR, LF) in place of pointer and length.
 * Inline: every answer trims four values of a byte or two, for which a call cost more than
 * the trimming. */
static inline void markr_trim(const char **text, size_t *len)
{
    const char *p = *text;
    size_t n = *len;

    while (n > 0 && markr_is_space(*p)) {
        ++p;
        --n;
    }
    while (n > 0 && markr_is_space(p[n - 1]))
        --n;
    *text = p;
    *len = n;
}

/* Parses a mark: decimal digits only (after trimming), at most INT32_MAX (a 32-bit integer,
 * as SQL `integer`). Returns 0 and sets *out, or -1 when the text is empty, has another
 * character, or overflows. Inline, as markr_trim: every answer parses two marks. */
static inline int markr_parse_mark(const char *text, size_t len, uint32_t *out)
{
    uint64_t value = 0;

    if (text == NULL)
        return -1;
    markr_trim(&text, &len);
    if (len == 0)
        return -1;
    for (size_t i = 0; i < len; ++i) {
        if (text[i] < '0' || text[i] > '9')
            return -1; /* no sign, no space inside, no decimal point */
        value = value * 10 + (uint64_t)(text[i] - '0');
        if (value > INT32_MAX)
            return -1; /* a signed 32-bit integer, as SQL `integer` */
    }
    *out = (uint32_t)value;
    return 0;
}

#endif
