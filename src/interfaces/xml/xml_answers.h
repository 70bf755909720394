/*
 * The <answer> elements of the result being parsed (xml_parser.c), kept until the result
 * ends: their attributes and text in one growing arena, bounded (MARKR_ANSWERS_MAX answers,
 * ANSWER_VALUE_MAX bytes a value), written as raw answers (answers.h) as they are read, for
 * the domain to decide which are valid. Private to the XML adapter.
 */
#ifndef MARKR_INTERFACES_XML_ANSWERS_H
#define MARKR_INTERFACES_XML_ANSWERS_H

#include <stddef.h>

#include <libxml/parser.h>

#include "domain/answers.h"

struct markr_xml_answers {
    /* MARKR_ANSWERS_MAX of them, allocated at the first answer with the arena. Their values
     * point into the arena: whenever it moves (grow_arena) they are moved with it, so they
     * stay valid until the next reset. */
    struct markr_raw_answer *raw;
    size_t count;
    int in_answer;  /* the text being read is the response of the last answer */
    unsigned depth; /* of that <answer> */
    char *arena;
    size_t arena_len, arena_cap;
    /* question, marks-available and marks-awarded as the parser's dictionary holds them
     * (markr_xml_answers_init); NULL when unknown. */
    const xmlChar *names[3];
};

/* Before the first result of a parse whose names libxml2 keeps in dict: looks up the
 * attribute names of <answer> there, so that most attributes are recognised by their address
 * (a lookup that fails only costs that shortcut). a must be zeroed. */
void markr_xml_answers_init(struct markr_xml_answers *a, xmlDictPtr dict);
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
size_t markr_xml_answers_finish(const struct markr_xml_answers *a, const struct markr_raw_answer **raw);
void markr_xml_answers_free(struct markr_xml_answers *a);

#endif
