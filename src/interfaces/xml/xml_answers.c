/*
 * The answers of a result as the parser meets them (xml_answers.h).
 */
#include "xml_answers.h"

#include <stdlib.h>
#include <string.h>

/* Bytes of one value of an <answer> as written (an attribute, or its text), white space
 * included: past it the answer is invalid (answers.h), never the document. */
#define ANSWER_VALUE_MAX 1024

/* The values of an <answer>. */
enum { ANSWER_QUESTION, ANSWER_AVAILABLE, ANSWER_AWARDED, ANSWER_RESPONSE, ANSWER_VALUES };

/* The attributes that hold the first three. */
static const char *const attribute_names[] = {"question", "marks-available", "marks-awarded"};

struct markr_xml_pending_answer {
    size_t off[ANSWER_VALUES], len[ANSWER_VALUES];
    int present[ANSWER_VALUES];
    int too_long;
};

void markr_xml_answers_reset(struct markr_xml_answers *a)
{
    a->count = 0;
    a->in_answer = 0;
    a->arena_len = 0;
}

/* Appends len bytes to value v of answer p; a value past ANSWER_VALUE_MAX makes the answer
 * invalid and is not copied further. Returns -1 when out of memory. */
static int append(struct markr_xml_answers *a, struct markr_xml_pending_answer *p, int v, const char *text,
                  size_t len)
{
    if (p->too_long)
        return 0;
    if (len > ANSWER_VALUE_MAX - p->len[v]) {
        p->too_long = 1;
        return 0;
    }
    if (!p->present[v]) {
        p->present[v] = 1;
        p->off[v] = a->arena_len;
    } else if (p->off[v] + p->len[v] != a->arena_len) {
        return 0; /* only the response grows, and it is the last value written */
    }
    if (a->arena_cap - a->arena_len < len) {
        size_t cap = a->arena_cap != 0 ? a->arena_cap : 16384;
        char *arena;

        while (cap - a->arena_len < len)
            cap *= 2;
        if ((arena = realloc(a->arena, cap)) == NULL)
            return -1;
        a->arena = arena;
        a->arena_cap = cap;
    }
    memcpy(a->arena + a->arena_len, text, len);
    a->arena_len += len;
    p->len[v] += len;
    return 0;
}

/* The value an unprefixed attribute of <answer> holds (ANSWER_QUESTION, ANSWER_AVAILABLE or
 * ANSWER_AWARDED), or -1. Every attribute of every answer comes here: comparing the first
 * byte first leaves one strcmp per attribute (two for marks-awarded), not one per name. */
static int attribute_value(const char *name)
{
    for (int v = 0; v < ANSWER_RESPONSE; ++v)
        if (name[0] == attribute_names[v][0] && strcmp(name, attribute_names[v]) == 0)
            return v;
    return -1;
}

int markr_xml_answers_begin(struct markr_xml_answers *a, unsigned depth, int nb_attributes, int nb_defaulted,
                            const xmlChar **attributes)
{
    struct markr_xml_pending_answer *p;

    if (a->count == MARKR_ANSWERS_MAX)
        return 0; /* not read */
    if (a->pending == NULL && (a->pending = malloc(MARKR_ANSWERS_MAX * sizeof(*a->pending))) == NULL)
        return -1;
    if (a->raw == NULL && (a->raw = malloc(MARKR_ANSWERS_MAX * sizeof(*a->raw))) == NULL)
        return -1;
    p = &a->pending[a->count++];
    memset(p, 0, sizeof(*p));
    for (int i = 0; i < nb_attributes - nb_defaulted; ++i) {
        const xmlChar **at = &attributes[5 * i]; /* localname, prefix, URI, value, end */
        int v = at[1] == NULL ? attribute_value((const char *)at[0]) : -1;

        if (v >= 0 && !p->present[v] && append(a, p, v, (const char *)at[3], (size_t)(at[4] - at[3])) != 0)
            return -1;
    }
    a->in_answer = 1;
    a->depth = depth;
    return 0;
}

int markr_xml_answers_text(struct markr_xml_answers *a, const char *text, size_t len)
{
    return a->in_answer ? append(a, &a->pending[a->count - 1], ANSWER_RESPONSE, text, len) : 0;
}

void markr_xml_answers_end(struct markr_xml_answers *a, unsigned depth)
{
    if (a->in_answer && depth == a->depth)
        a->in_answer = 0;
}

size_t markr_xml_answers_finish(struct markr_xml_answers *a, const struct markr_raw_answer **raw)
{
    for (size_t i = 0; i < a->count; ++i) {
        const struct markr_xml_pending_answer *p = &a->pending[i];
        const char *at[ANSWER_VALUES];

        for (int v = 0; v < ANSWER_VALUES; ++v)
            at[v] = p->present[v] ? a->arena + p->off[v] : NULL;
        a->raw[i] = (struct markr_raw_answer){
            .question = at[ANSWER_QUESTION], .question_len = p->len[ANSWER_QUESTION],
            .available = at[ANSWER_AVAILABLE], .available_len = p->len[ANSWER_AVAILABLE],
            .awarded = at[ANSWER_AWARDED], .awarded_len = p->len[ANSWER_AWARDED],
            .response = at[ANSWER_RESPONSE] != NULL ? at[ANSWER_RESPONSE] : "",
            .response_len = p->len[ANSWER_RESPONSE], .too_long = p->too_long};
    }
    *raw = a->raw;
    return a->count;
}

void markr_xml_answers_free(struct markr_xml_answers *a)
{
    free(a->pending);
    free(a->raw);
    free(a->arena);
    memset(a, 0, sizeof(*a));
}
