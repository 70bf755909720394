/*
 * The <answer> elements of the result being parsed (xml_parser.c), kept until the result
 * ends: their attributes and text in one growing arena, bounded (MARKR_ANSWERS_MAX answers,
 * ANSWER_VALUE_MAX bytes a value), then handed to the domain as raw answers (answers.h),
 * which decides which are valid. Private to the XML adapter.
 */
#ifndef MARKR_INTERFACES_XML_ANSWERS_H
#define MARKR_INTERFACES_XML_ANSWERS_H

#include <stddef.h>

#include <libxml/parser.h>

#include "domain/answers.h"

struct markr_xml_pending_answer;

struct markr_xml_answers {
    struct markr_xml_pending_answer *pending; /* allocated at the first answer */
    struct markr_raw_answer *raw;
    size_t count;
    int in_answer;  /* the text being read is the response of the last answer */
    unsigned depth; /* of that <answer> */
    char *arena;    /* values at offsets, since it grows */
    size_t arena_len, arena_cap;
};

/* A new result: no answers yet (memory is kept for the next ones). */
void markr_xml_answers_reset(struct markr_xml_answers *a);
/* An <answer> element at depth, with SAX2's attributes (the defaulted ones are not on paper,
 * so they are skipped). Returns 0, or -1 when out of memory. */
int markr_xml_answers_begin(struct markr_xml_answers *a, unsigned depth, int nb_attributes, int nb_defaulted,
                            const xmlChar **attributes);
/* Text inside the current answer, if any (all of it, nested elements included). Returns 0,
 * or -1 when out of memory. */
int markr_xml_answers_text(struct markr_xml_answers *a, const char *text, size_t len);
/* An element ends at depth: the current answer, if it is that one. */
void markr_xml_answers_end(struct markr_xml_answers *a, unsigned depth);
/* The raw answers of the result, valid until the next reset. */
size_t markr_xml_answers_finish(struct markr_xml_answers *a, const struct markr_raw_answer **raw);
void markr_xml_answers_free(struct markr_xml_answers *a);

#endif
