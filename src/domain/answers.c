/*
 * Which answers an item analysis uses (answers.h): validity, the last occurrence of a
 * repeated question, and the order questions are shown in.
 */
#include "answers.h"

#include <stdlib.h>
#include <string.h>

#include "result.h"
#include "sort.h"

int markr_answer_check(const struct markr_raw_answer *raw, struct markr_answer *out, size_t *question_len,
                       size_t *response_len)
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
    if (memchr(q, '\0', qlen) != NULL || memchr(r, '\0', rlen) != NULL)
        return 0;
    out->question = q;
    out->response = r;
    *question_len = qlen;
    *response_len = rlen;
    return 1;
}

/* A valid answer with its position, before the copies are made. */
struct candidate {
    struct markr_answer a;
    size_t qlen, rlen, position;
};

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
        int c;

        for (; lx > 0 && *x == '0'; --lx)
            ++x;
        for (; ly > 0 && *y == '0'; --ly)
            ++y;
        if (lx != ly)
            return lx < ly ? -1 : 1;
        if ((c = memcmp(x, y, lx)) != 0)
            return c;
    }
    return compare_bytes(a, la, b, lb);
}

static int compare_candidates(const void *x, const void *y)
{
    const struct candidate *a = x, *b = y;
    int c = question_order(a->a.question, a->qlen, b->a.question, b->qlen);

    if (c == 0)
        c = (a->position > b->position) - (a->position < b->position);
    return c;
}

static int same_question(const struct candidate *a, const struct candidate *b)
{
    return a->qlen == b->qlen && memcmp(a->a.question, b->a.question, a->qlen) == 0;
}

int markr_answer_sheet_build(const struct markr_raw_answer *raw, size_t count, struct markr_answer_sheet *sheet)
{
    struct candidate *c;
    size_t n = 0, kept = 0, text = 0;
    char *p;

    memset(sheet, 0, sizeof(*sheet));
    if (count > MARKR_ANSWERS_MAX)
        count = MARKR_ANSWERS_MAX;
    if (count == 0)
        return 0;
    if ((c = malloc(count * sizeof(*c))) == NULL)
        return -1;
    for (size_t i = 0; i < count; ++i)
        if (markr_answer_check(&raw[i], &c[n].a, &c[n].qlen, &c[n].rlen)) {
            c[n].position = i;
            ++n;
        }
    markr_sort(c, n, sizeof(*c), compare_candidates);
    /* Within a question the later occurrence sorts last: keep only that one (questions that
     * compare equal are the same bytes: the order breaks its ties in byte order). */
    for (size_t i = 0; i < n; ++i)
        if (i + 1 == n || !same_question(&c[i], &c[i + 1])) {
            c[kept++] = c[i];
            text += c[i].qlen + c[i].rlen + 2;
        }
    if (kept == 0) {
        free(c);
        return 0;
    }
    /* One block: the answers, then their text. */
    if ((sheet->answers = malloc(kept * sizeof(*sheet->answers) + text)) == NULL) {
        free(c);
        return -1;
    }
    p = (char *)(sheet->answers + kept);
    for (size_t i = 0; i < kept; ++i) {
        struct markr_answer *a = &sheet->answers[i];

        *a = c[i].a;
        sheet->total += a->awarded;
        memcpy(p, c[i].a.question, c[i].qlen);
        p[c[i].qlen] = '\0';
        a->question = p;
        a->question_len = (uint32_t)c[i].qlen; /* at most MARKR_TEXT_MAX */
        p += c[i].qlen + 1;
        memcpy(p, c[i].a.response, c[i].rlen);
        p[c[i].rlen] = '\0';
        a->response = p;
        a->response_len = (uint32_t)c[i].rlen;
        p += c[i].rlen + 1;
    }
    sheet->count = kept;
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
