/*
 * Which answers an item analysis uses (answers.h): validity, the last occurrence of a
 * repeated question, and the order questions are shown in.
 */
#include "answers.h"

#include <stdlib.h>
#include <string.h>

#include "copy.h"
#include "result.h"

/* Whether the len bytes at s hold a NUL. Most values are a byte or two, which a loop reads
 * in fewer instructions than a call to memchr costs. */
static int has_nul(const char *s, size_t len)
{
    if (len > 16)
        return memchr(s, '\0', len) != NULL;
    for (size_t i = 0; i < len; ++i)
        if (s[i] == '\0')
            return 1;
    return 0;
}

int markr_answer_check(const struct markr_raw_answer *raw, struct markr_answer *out)
{
    const char *q = raw->question, *r = raw->response;
    size_t qlen = raw->question_len, rlen = raw->response_len;

    if (raw->too_long || q == NULL || raw->available == NULL || raw->awarded == NULL)
        return 0;
    markr_trim(&q, &qlen);
    if (r == NULL)
        r = "", rlen = 0;
    markr_trim(&r, &rlen);
    if (qlen == 0 || qlen > MARKR_TEXT_MAX || rlen > MARKR_TEXT_MAX)
        return 0;
    if (markr_parse_mark(raw->available, raw->available_len, &out->available) != 0 ||
        markr_parse_mark(raw->awarded, raw->awarded_len, &out->awarded) != 0 || out->awarded > out->available)
        return 0;
    /* A NUL inside would cut the text when it is stored: such a question names nothing. */
    if (has_nul(q, qlen) || has_nul(r, rlen))
        return 0;
    out->question = q;
    out->response = r;
    out->question_len = (uint32_t)qlen; /* at most MARKR_TEXT_MAX */
    out->response_len = (uint32_t)rlen;
    return 1;
}

/* A valid answer with its position, before the copies are made (its text is still raw's). */
struct candidate {
    struct markr_answer a;
    size_t position;
};

/* Candidates a sheet builds without an allocation (a few KiB of stack): a paper has a few dozen
 * questions; a longer sheet's, up to MARKR_ANSWERS_MAX, are allocated rather than put on a
 * worker's stack. */
#define CANDIDATES_ON_STACK 64

/* Whether the len bytes at s are a decimal integer. */
static int is_decimal(const char *s, size_t len)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; ++i)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* Byte order, a prefix first. */
static int compare_bytes(const char *a, size_t la, const char *b, size_t lb)
{
    int c = memcmp(a, b, la < lb ? la : lb);

    return c != 0 ? c : (la > lb) - (la < lb);
}

/* markr_question_compare of two texts given by length. */
static int question_order(const char *a, size_t la, const char *b, size_t lb)
{
    int da = is_decimal(a, la), db = is_decimal(b, lb);

    if (da != db)
        return da ? -1 : 1;
    if (da) {
        const char *x = a, *y = b;
        size_t lx = la, ly = lb;

        for (; lx > 0 && *x == '0'; --lx)
            ++x;
        for (; ly > 0 && *y == '0'; --ly)
            ++y;
        if (lx != ly)
            return lx < ly ? -1 : 1;
        /* Digits of the same count: the first that differs decides (as memcmp would, with
         * no call for the digit or two of most questions). */
        for (size_t i = 0; i < lx; ++i)
            if (x[i] != y[i])
                return x[i] < y[i] ? -1 : 1;
    }
    return compare_bytes(a, la, b, lb);
}

static int compare_candidates(const void *x, const void *y)
{
    const struct candidate *a = x, *b = y;
    int c = question_order(a->a.question, a->a.question_len, b->a.question, b->a.question_len);

    if (c == 0)
        c = (a->position > b->position) - (a->position < b->position);
    return c;
}

static int same_question(const struct candidate *a, const struct candidate *b)
{
    return a->a.question_len == b->a.question_len && memcmp(a->a.question, b->a.question, a->a.question_len) == 0;
}

/* The valid answers of raw into c, in the order of questions with the last occurrence of each
 * question only. Returns how many. Papers list their questions in order, each once: while
 * the answers come so, each is compared with the one before only (the check of markr_sort,
 * sort.h), and a question equal to that one replaces it (questions that compare equal are
 * the same bytes: the order breaks its ties in byte order). The first answer out of order
 * leaves the rest to qsort, by question then position, and a pass that keeps the last of
 * each question. */
static size_t candidates(const struct markr_raw_answer *raw, size_t count, struct candidate *c)
{
    size_t n = 0, kept = 0;
    int in_order = 1;

    for (size_t i = 0; i < count; ++i) {
        struct candidate *next = &c[n];
        int order;

        if (!markr_answer_check(&raw[i], &next->a))
            continue;
        next->position = i;
        if (!in_order || n == 0) {
            ++n;
            continue;
        }
        order = question_order(c[n - 1].a.question, c[n - 1].a.question_len, next->a.question, next->a.question_len);
        if (order == 0)
            c[n - 1] = *next; /* the later occurrence of the same question */
        else if (order > 0)
            in_order = 0, ++n;
        else
            ++n;
    }
    if (in_order)
        return n;
    qsort(c, n, sizeof(*c), compare_candidates);
    for (size_t i = 0; i < n; ++i)
        if (i + 1 == n || !same_question(&c[i], &c[i + 1]))
            c[kept++] = c[i];
    return kept;
}

int markr_answer_sheet_build(const struct markr_raw_answer *raw, size_t count, struct markr_answer_sheet *sheet)
{
    struct candidate on_stack[CANDIDATES_ON_STACK], *c = on_stack;
    size_t kept;
    char *p;

    memset(sheet, 0, sizeof(*sheet));
    if (count > MARKR_ANSWERS_MAX)
        count = MARKR_ANSWERS_MAX;
    if (count == 0)
        return 0;
    if (count > CANDIDATES_ON_STACK && (c = malloc(count * sizeof(*c))) == NULL)
        return -1;
    if ((kept = candidates(raw, count, c)) == 0)
        goto done;
    for (size_t i = 0; i < kept; ++i) {
        sheet->question_bytes += c[i].a.question_len;
        sheet->response_bytes += c[i].a.response_len;
    }
    /* One block: the answers, then their text, each string with its NUL. */
    if ((sheet->answers = malloc(kept * sizeof(*sheet->answers) + sheet->question_bytes + sheet->response_bytes +
                                 2 * kept)) == NULL) {
        sheet->question_bytes = sheet->response_bytes = 0;
        if (c != on_stack)
            free(c);
        return -1;
    }
    p = (char *)(sheet->answers + kept);
    for (size_t i = 0; i < kept; ++i) {
        struct markr_answer *a = &sheet->answers[i];

        *a = c[i].a;
        sheet->total += a->awarded;
        markr_copy(p, a->question, a->question_len);
        p[a->question_len] = '\0';
        a->question = p;
        p += a->question_len + 1;
        markr_copy(p, a->response, a->response_len);
        p[a->response_len] = '\0';
        a->response = p;
        p += a->response_len + 1;
    }
    sheet->count = kept;
done:
    if (c != on_stack)
        free(c);
    return 0;
}

void markr_answer_sheet_free(struct markr_answer_sheet *sheet)
{
    free(sheet->answers);
    memset(sheet, 0, sizeof(*sheet));
}

int markr_question_compare(const char *a, const char *b)
{
    return question_order(a, strlen(a), b, strlen(b));
}
