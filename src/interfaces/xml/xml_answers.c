/*
 * The answers of a result as the parser meets them (xml_answers.h).
 */
#include "xml_answers.h"

#include <stdlib.h>
#include <string.h>

#include "domain/copy.h"

/* Bytes of one value of an <answer> as written (an attribute, or its text), white space
 * included: past it the answer is invalid (answers.h), never the document. */
#define ANSWER_VALUE_MAX 1024

/* The arena's first size: the answers of a sample result fit many times over. */
#define ARENA_FIRST 16384

/* The values of an <answer>, in the order of xml_answers.h's names. */
enum { ANSWER_QUESTION, ANSWER_AVAILABLE, ANSWER_AWARDED, ANSWER_RESPONSE, ANSWER_VALUES };

/* The attributes that hold the first three. */
static const char *const attribute_names[] = {"question", "marks-available", "marks-awarded"};

void markr_xml_answers_init(struct markr_xml_answers *a, xmlDictPtr dict)
{
    for (int v = 0; v < ANSWER_RESPONSE; ++v)
        a->names[v] = dict != NULL ? xmlDictLookup(dict, (const xmlChar *)attribute_names[v], -1) : NULL;
}

void markr_xml_answers_reset(struct markr_xml_answers *a)
{
    a->count = 0;
    a->in_answer = 0;
    a->arena_len = 0;
}

/* The four values of r, where grow_arena moves them. */
static void move_values(struct markr_raw_answer *r, const char *from, char *to)
{
    const char **values[ANSWER_VALUES] = {&r->question, &r->available, &r->awarded, &r->response};

    for (int v = 0; v < ANSWER_VALUES; ++v)
        if (*values[v] != NULL)
            *values[v] = to + (*values[v] - from);
}

/* Makes room for len more bytes in the arena. It is copied to a larger block rather than
 * realloc'd, so that the values of this result's answers, which point into it, can be moved
 * into the new block while the old one is still there to measure them against. It grows
 * rarely: its memory is kept from one result to the next. Returns -1 when out of memory. */
static int grow_arena(struct markr_xml_answers *a, size_t len)
{
    size_t cap = a->arena_cap;
    char *arena;

    while (cap - a->arena_len < len)
        cap *= 2; /* at most 4 * ANSWER_VALUE_MAX * MARKR_ANSWERS_MAX bytes are ever kept */
    if ((arena = malloc(cap)) == NULL)
        return -1;
    memcpy(arena, a->arena, a->arena_len);
    for (size_t i = 0; i < a->count; ++i)
        move_values(&a->raw[i], a->arena, arena);
    free(a->arena);
    a->arena = arena;
    a->arena_cap = cap;
    return 0;
}

/* Appends len bytes to the value of answer r at *value (NULL while absent), *value_len bytes
 * long; a value past ANSWER_VALUE_MAX makes the answer invalid and is not copied further.
 * Returns -1 when out of memory. Always inline: four of these run per answer, and a call
 * cost more than the copy of a value of a byte or two. */
static inline __attribute__((always_inline)) int append(struct markr_xml_answers *a, struct markr_raw_answer *r,
                                                        const char **value, size_t *value_len,
                                                        const char *text, size_t len)
{
    if (r->too_long)
        return 0;
    if (len > ANSWER_VALUE_MAX - *value_len) {
        r->too_long = 1;
        return 0;
    }
    if (a->arena_cap - a->arena_len < len && grow_arena(a, len) != 0)
        return -1;
    if (*value == NULL)
        *value = a->arena + a->arena_len;
    else if (*value + *value_len != a->arena + a->arena_len)
        return 0; /* only the response grows, and it is the last value written */
    markr_copy(a->arena + a->arena_len, text, len);
    a->arena_len += len;
    *value_len += len;
    return 0;
}

/* The value an unprefixed attribute of <answer> holds (ANSWER_QUESTION, ANSWER_AVAILABLE or
 * ANSWER_AWARDED), or -1. Every attribute of every answer comes here. libxml2 hands over
 * names from its dictionary, so ours are first recognised by their address; a name not
 * found so (another attribute, or a dictionary that could not be asked) is compared byte by
 * byte, the first byte first, which leaves one strcmp per such name. */
static int attribute_value(const struct markr_xml_answers *a, const char *name)
{
    for (int v = 0; v < ANSWER_RESPONSE; ++v)
        if ((const char *)a->names[v] == name)
            return v;
    for (int v = 0; v < ANSWER_RESPONSE; ++v)
        if (name[0] == attribute_names[v][0] && strcmp(name, attribute_names[v]) == 0)
            return v;
    return -1;
}

int markr_xml_answers_begin(struct markr_xml_answers *a, unsigned depth, int nb_attributes, int nb_defaulted,
                            const xmlChar **attributes)
{
    struct markr_raw_answer *r;

    if (a->count == MARKR_ANSWERS_MAX)
        return 0; /* not read */
    if (a->raw == NULL) {
        /* Both at once, so that the arena is never NULL for a value to point into. */
        a->raw = malloc(MARKR_ANSWERS_MAX * sizeof(*a->raw));
        a->arena = malloc(ARENA_FIRST);
        if (a->raw == NULL || a->arena == NULL) {
            markr_xml_answers_free(a);
            return -1;
        }
        a->arena_cap = ARENA_FIRST;
    }
    r = &a->raw[a->count++];
    *r = (struct markr_raw_answer){0}; /* every value absent, the response until text comes */
    for (int i = 0; i < nb_attributes - nb_defaulted; ++i) {
        const xmlChar **at = &attributes[5 * i]; /* localname, prefix, URI, value, end */
        const char **value;
        size_t *value_len;

        switch (at[1] == NULL ? attribute_value(a, (const char *)at[0]) : -1) {
        case ANSWER_QUESTION:
            value = &r->question, value_len = &r->question_len;
            break;
        case ANSWER_AVAILABLE:
            value = &r->available, value_len = &r->available_len;
            break;
        case ANSWER_AWARDED:
            value = &r->awarded, value_len = &r->awarded_len;
            break;
        default:
            continue;
        }
        /* A repeated attribute is not well-formed XML: the first one is kept regardless. */
        if (*value == NULL && append(a, r, value, value_len, (const char *)at[3], (size_t)(at[4] - at[3])) != 0)
            return -1;
    }
    a->in_answer = 1;
    a->depth = depth;
    return 0;
}

int markr_xml_answers_text(struct markr_xml_answers *a, const char *text, size_t len)
{
    struct markr_raw_answer *r;

    if (!a->in_answer)
        return 0;
    r = &a->raw[a->count - 1];
    return append(a, r, &r->response, &r->response_len, text, len);
}

void markr_xml_answers_end(struct markr_xml_answers *a, unsigned depth)
{
    if (a->in_answer && depth == a->depth)
        a->in_answer = 0;
}

size_t markr_xml_answers_finish(const struct markr_xml_answers *a, const struct markr_raw_answer **raw)
{
    *raw = a->raw;
    return a->count;
}

void markr_xml_answers_free(struct markr_xml_answers *a)
{
    free(a->raw);
    free(a->arena);
    memset(a, 0, sizeof(*a));
}
