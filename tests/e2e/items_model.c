/*
 * The e2e_items suite's own computation (items_model.h): the kept sheets of the documents it
 * sent, read back with libxml2, and the figures of the README's definitions in two-pass
 * floating point, independent of the server's SQL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "items_model.h"

/* --- the model: the kept sheets, from the documents as sent -------------------------------- */



/* Every kept sheet of every test, in order of first receipt. */
struct sheet kept[MAX_SCANS];
int kept_count;

static void trim(const char **s, size_t *len)
{
    while (*len > 0 && strchr(" \t\r\n", **s) != NULL)
        ++*s, --*len;
    while (*len > 0 && strchr(" \t\r\n", (*s)[*len - 1]) != NULL)
        --*len;
}

/* A mark as the README defines it: decimal digits only, trimmed, up to 2^31 - 1. -1 when
 * not one. */
static long mark_of(const char *text)
{
    size_t len;
    long v = 0;

    if (text == NULL)
        return -1;
    len = strlen(text);
    trim(&text, &len);
    if (len == 0 || len > 10)
        return -1;
    for (size_t i = 0; i < len; ++i) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        v = v * 10 + (text[i] - '0');
    }
    return v <= 2147483647 ? v : -1;
}

static void copy_trimmed(char *out, size_t cap, const char *text)
{
    size_t len = strlen(text);

    trim(&text, &len);
    assert_true(len < cap);
    memcpy(out, text, len);
    out[len] = '\0';
}

static char *prop(xmlNode *n, const char *name)
{
    return (char *)xmlGetProp(n, (const xmlChar *)name);
}

/* The valid answers of one <mcq-test-result>, a repeated question keeping its last valid
 * occurrence (invalid ones are ignored first). */
static void read_answers(xmlNode *result, struct sheet *s)
{
    s->n = 0;
    for (xmlNode *c = result->children; c != NULL; c = c->next) {
        char *q, *av, *aw, *text;
        long vav, vaw;
        struct answer a;

        if (c->type != XML_ELEMENT_NODE || strcmp((const char *)c->name, "answer") != 0)
            continue;
        q = prop(c, "question"), av = prop(c, "marks-available"), aw = prop(c, "marks-awarded");
        text = (char *)xmlNodeGetContent(c);
        vav = mark_of(av), vaw = mark_of(aw);
        if (q != NULL && vav >= 0 && vaw >= 0 && vaw <= vav) {
            int i;

            copy_trimmed(a.q, sizeof(a.q), q);
            copy_trimmed(a.r, sizeof(a.r), text);
            a.aw = vaw, a.av = vav;
            if (a.q[0] != '\0') {
                for (i = 0; i < s->n && strcmp(s->a[i].q, a.q) != 0; ++i)
                    ;
                assert_true(i < MAX_Q);
                s->a[i] = a;
                if (i == s->n)
                    ++s->n;
            }
        }
        xmlFree(q), xmlFree(av), xmlFree(aw), xmlFree(text);
    }
}

static char *child_text(xmlNode *result, const char *name)
{
    for (xmlNode *c = result->children; c != NULL; c = c->next)
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
            return (char *)xmlNodeGetContent(c);
    return NULL;
}

/* Applies an accepted document, as received, to the kept sheets: a scan replaces the kept
 * one when its obtained is not lower (so the later of equals wins). */
void model_apply(const char *doc, size_t len)
{
    xmlDoc *d = xmlReadMemory(doc, (int)len, "doc.xml", NULL, XML_PARSE_NONET);

    assert_non_null(d);
    for (xmlNode *r = xmlDocGetRootElement(d)->children; r != NULL; r = r->next) {
        struct sheet s;
        char *test, *student, *obtained = NULL;
        int i;

        if (r->type != XML_ELEMENT_NODE || strcmp((const char *)r->name, "mcq-test-result") != 0)
            continue;
        test = child_text(r, "test-id"), student = child_text(r, "student-number");
        for (xmlNode *c = r->children; c != NULL; c = c->next)
            if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, "summary-marks") == 0)
                obtained = prop(c, "obtained");
        copy_trimmed(s.test, sizeof(s.test), test);
        copy_trimmed(s.student, sizeof(s.student), student);
        s.obtained = mark_of(obtained);
        read_answers(r, &s);
        xmlFree(test), xmlFree(student), xmlFree(obtained);
        for (i = 0; i < kept_count && (strcmp(kept[i].test, s.test) != 0 || strcmp(kept[i].student, s.student) != 0);
             ++i)
            ;
        assert_true(i < MAX_SCANS);
        if (i == kept_count)
            kept[kept_count++] = s;
        else if (s.obtained >= kept[i].obtained)
            kept[i] = s;
    }
    xmlFreeDoc(d);
}

/* --- the figures, by the definitions ------------------------------------------------------ */




static int is_decimal(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s != '\0'; ++s)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

/* Question order: decimal integers by value, then the others, ties in byte order. */
int question_order(const void *x, const void *y)
{
    const char *a = ((const struct item_fig *)x)->q, *b = ((const struct item_fig *)y)->q;
    int da = is_decimal(a), db = is_decimal(b);

    if (da != db)
        return da ? -1 : 1;
    if (da) {
        double va = strtod(a, NULL), vb = strtod(b, NULL); /* our questions are small */

        if (va != vb)
            return va < vb ? -1 : 1;
    }
    return strcmp(a, b);
}

static int response_order(const void *x, const void *y)
{
    return strcmp(((const struct response_fig *)x)->r, ((const struct response_fig *)y)->r);
}

struct ranked {
    const struct sheet *s;
    long total;
};

static int by_total(const void *x, const void *y)
{
    const struct ranked *a = x, *b = y;

    if (a->total != b->total)
        return a->total > b->total ? -1 : 1;
    return strcmp(a->s->student, b->s->student);
}

const struct answer *answer_of(const struct sheet *s, const char *q)
{
    for (int i = 0; i < s->n; ++i)
        if (strcmp(s->a[i].q, q) == 0)
            return &s->a[i];
    return NULL;
}

void expected_figures(const char *test, struct figures *f)
{
    struct ranked rk[MAX_SCANS];
    long n = 0;
    double sum = 0, var = 0, item_var = 0;

    memset(f, 0, sizeof(*f));
    for (int i = 0; i < kept_count; ++i) {
        if (strcmp(kept[i].test, test) != 0 || kept[i].n == 0)
            continue;
        rk[n].s = &kept[i];
        rk[n].total = 0;
        for (int j = 0; j < kept[i].n; ++j) {
            int q;

            rk[n].total += kept[i].a[j].aw;
            for (q = 0; q < f->k && strcmp(f->items[q].q, kept[i].a[j].q) != 0; ++q)
                ;
            if (q == f->k) {
                assert_true(f->k < MAX_Q);
                strcpy(f->items[f->k++].q, kept[i].a[j].q);
            }
        }
        ++n;
    }
    f->students = n;
    f->questions = f->k;
    if (n == 0)
        return;
    qsort(rk, (size_t)n, sizeof(rk[0]), by_total);
    qsort(f->items, (size_t)f->k, sizeof(f->items[0]), question_order);
    f->group_size = (27 * n + 50) / 100 > 1 ? (27 * n + 50) / 100 : 1;
    for (long j = 0; j < n; ++j)
        sum += (double)rk[j].total;
    f->mean = sum / (double)n;
    for (long j = 0; j < n; ++j)
        var += ((double)rk[j].total - f->mean) * ((double)rk[j].total - f->mean);
    var /= (double)n;
    f->sd = sqrt(var);
    f->has_totals = 1;

    for (int q = 0; q < f->k; ++q) {
        struct item_fig *it = &f->items[q];
        double sx = 0, sy = 0, mx, my, cxy = 0, vx = 0, vy = 0, all = 0, mall, vall = 0;

        for (long j = 0; j < n; ++j) {
            const struct answer *a = answer_of(rk[j].s, it->q);
            int r;

            all += a != NULL ? (double)a->aw : 0;
            if (a == NULL)
                continue;
            ++it->answered;
            if (a->av > it->max_marks)
                it->max_marks = a->av;
            sx += (double)a->aw;
            sy += (double)(rk[j].total - a->aw);
            for (r = 0; r < it->nr && strcmp(it->resp[r].r, a->r) != 0; ++r)
                ;
            if (r == it->nr) {
                assert_true(it->nr < MAX_R);
                strcpy(it->resp[it->nr].r, a->r);
                it->resp[it->nr++].zero_marks = 1;
            }
            ++it->resp[r].count;
            it->resp[r].upper += j < f->group_size;
            it->resp[r].lower += j >= n - f->group_size;
            if (a->aw != 0)
                it->resp[r].zero_marks = 0;
        }
        /* var(x_q) over all N sheets, 0 where the question is missing */
        mall = all / (double)n;
        for (long j = 0; j < n; ++j) {
            const struct answer *a = answer_of(rk[j].s, it->q);
            double x = a != NULL ? (double)a->aw : 0;

            vall += (x - mall) * (x - mall);
        }
        item_var += vall / (double)n;
        if (it->max_marks > 0) {
            it->has_facility = 1;
            it->facility = 100.0 * sx / ((double)it->answered * (double)it->max_marks);
        }
        mx = sx / (double)it->answered, my = sy / (double)it->answered;
        for (long j = 0; j < n; ++j) {
            const struct answer *a = answer_of(rk[j].s, it->q);
            double x, y;

            if (a == NULL)
                continue;
            x = (double)a->aw, y = (double)(rk[j].total - a->aw);
            cxy += (x - mx) * (y - my), vx += (x - mx) * (x - mx), vy += (y - my) * (y - my);
        }
        if (it->answered >= 2 && vx > 0 && vy > 0) {
            it->has_disc = 1;
            it->disc = cxy / sqrt(vx * vy);
        }
        qsort(it->resp, (size_t)it->nr, sizeof(it->resp[0]), response_order);
        it->flags = (it->has_facility && it->facility > 90 ? 1u : 0) | (it->has_facility && it->facility < 20 ? 2u : 0) |
                    (it->has_disc && it->disc < 0.2 ? 4u : 0) | (it->has_disc && it->disc < 0 ? 8u : 0);
        for (int r = 0; r < it->nr; ++r)
            if (it->resp[r].r[0] != '\0' && it->resp[r].zero_marks && it->resp[r].upper > it->resp[r].lower)
                it->flags |= 16u;
    }
    if (f->k >= 2 && var > 0) {
        f->has_alpha = 1;
        f->alpha = (double)f->k / (f->k - 1) * (1 - item_var / var);
        f->sem = f->sd * sqrt(1 - f->alpha);
    }
}
