/*
 * Item analysis of one test from its kept answer sheets (README "Item analysis" gives the
 * definitions; ADR 0026 the storage and SQL), and the sheet of one student. The figures are
 * computed by the store; this file holds their plain structs (an answer in JSON, CSV or the
 * dashboard walks them), the flags an exam board acts on, and the use cases.
 */
#ifndef MARKR_APPLICATION_ITEMS_H
#define MARKR_APPLICATION_ITEMS_H

#include <stddef.h>
#include <stdint.h>

#include "../domain/error.h"

/* Bounds of one answer: the first questions in question order, and of each question the
 * first distinct responses in byte order, are listed; the whole-test figures, counts and
 * flags always cover every sheet, question and response. */
#define MARKR_ITEMS_MAX_QUESTIONS 1000
#define MARKR_ITEMS_MAX_RESPONSES 100

/* The flags' thresholds (README). */
#define MARKR_FLAG_EASY_ABOVE 90.0  /* facility > 90: too_easy */
#define MARKR_FLAG_HARD_BELOW 20.0  /* facility < 20: too_hard */
#define MARKR_FLAG_WEAK_BELOW 0.2   /* discrimination < 0.2: weak */
#define MARKR_FLAG_NEGATIVE_BELOW 0 /* discrimination < 0: negative */

enum markr_item_flag {
    MARKR_FLAG_TOO_EASY = 1 << 0,
    MARKR_FLAG_TOO_HARD = 1 << 1,
    MARKR_FLAG_WEAK = 1 << 2,
    MARKR_FLAG_NEGATIVE = 1 << 3,
    MARKR_FLAG_DISTRACTOR_ATTRACTS_TOP = 1 << 4,
    MARKR_FLAG_COUNT = 5
};

/* The name of flag number i (0 .. MARKR_FLAG_COUNT - 1) in answers: "too_easy", ... */
const char *markr_item_flag_name(int i);

struct markr_item_response {
    char *response; /* "" for a blank */
    uint64_t count, upper, lower;
};

struct markr_item {
    char *question;
    uint64_t answered;
    int64_t max_marks;
    int has_facility, has_discrimination; /* 0: null */
    double facility, discrimination;
    /* From the store: a non-blank response that earned 0 marks on every sheet choosing it is
     * chosen by more of the upper group than of the lower one. */
    int distractor_attracts_top;
    unsigned flags; /* enum markr_item_flag, set by markr_get_items */
    struct markr_item_response *responses;
    size_t response_count;
    uint64_t distinct_responses; /* all of them; response_count may be fewer */
};

struct markr_items {
    uint64_t students, questions, group_size;
    int has_totals, has_alpha; /* 0: mean_total and sd_total (resp. alpha and sem) are null */
    double mean_total, sd_total, alpha, sem;
    struct markr_item *items; /* question order */
    size_t count;             /* at most MARKR_ITEMS_MAX_QUESTIONS; questions counts them all */
};

/* Frees what a store filled in (every string and array is malloc'd) and zeroes it. */
void markr_items_free(struct markr_items *items);

/* The flags of an item from its figures and the thresholds above. */
unsigned markr_item_flags(const struct markr_item *item);

struct markr_sheet_answer {
    char *question, *response;
    int64_t awarded, available;
};

/* One student's mark and kept sheet in one test. */
struct markr_student_sheet {
    int64_t obtained, available;
    double percent;
    struct markr_sheet_answer *answers; /* question order; none when the kept scan had none */
    size_t count;
};

void markr_student_sheet_free(struct markr_student_sheet *sheet);

struct markr_results_reader;

/* The items of a test; MARKR_ERR_NOT_FOUND "unknown_test" when it has no marks (and for an id
 * that cannot name one, without asking the store). The caller frees out. Returns 0 or -1. */
int markr_get_items(const struct markr_results_reader *reader, const char *test_id, size_t len,
                    struct markr_items *out, struct markr_error *err);

/* A student's sheet; MARKR_ERR_NOT_FOUND "unknown_student" when the student has no mark in
 * the test. The caller frees out. Returns 0 or -1. */
int markr_get_student_sheet(const struct markr_results_reader *reader, const char *test_id, size_t test_len,
                            const char *student, size_t student_len, struct markr_student_sheet *out,
                            struct markr_error *err);

#endif
