/*
 * What e2e_items computes itself (items_model.c): the kept sheet of each (test, student)
 * from the accepted documents in order of receipt, and the item analysis of a test by the
 * README's definitions.
 */
#ifndef MARKR_TESTS_E2E_ITEMS_MODEL_H
#define MARKR_TESTS_E2E_ITEMS_MODEL_H

#include <stddef.h>

#define MAX_SCANS 400
#define MAX_Q 32
#define MAX_R 8

struct answer {
    char q[32], r[32];
    long aw, av;
};

struct sheet {
    char test[32], student[32];
    long obtained;
    struct answer a[MAX_Q];
    int n;
};

struct response_fig {
    char r[32];
    long count, upper, lower;
    int zero_marks; /* earned 0 on every sheet that chose it */
};

struct item_fig {
    char q[32];
    long answered, max_marks;
    int has_facility, has_disc;
    double facility, disc;
    unsigned flags;
    struct response_fig resp[MAX_R];
    int nr;
};

struct figures {
    long students, questions, group_size;
    int has_totals, has_alpha;
    double mean, sd, alpha, sem;
    struct item_fig items[MAX_Q];
    int k;
};

/* Every kept sheet of every test, in order of first receipt. */
extern struct sheet kept[MAX_SCANS];
extern int kept_count;

/* Applies an accepted document, as received, to the kept sheets. */
void model_apply(const char *doc, size_t len);
/* The figures of test from the kept sheets. */
void expected_figures(const char *test, struct figures *f);
/* qsort order of struct item_fig by question (the README's question order). */
int question_order(const void *x, const void *y);
/* The answer of sheet s to question q, or NULL. */
const struct answer *answer_of(const struct sheet *s, const char *q);

#endif
