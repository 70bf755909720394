/*
 * What the parts of the XML adapter share (private to src/interfaces/xml): the state of one
 * parse, kept by xml_parser.c's SAX callbacks, and the refusal that halts libxml2, used by
 * them and by the entity handlers of xml_entities.c.
 */
#ifndef MARKR_INTERFACES_XML_PARSE_H
#define MARKR_INTERFACES_XML_PARSE_H

#include <stddef.h>

#include <libxml/parser.h>

#include "domain/document.h"
#include "domain/error.h"
#include "domain/result.h"
#include "xml_answers.h"
#include "xml_parser.h"

/* Bytes of a libxml2 message or of a document's name quoted in a refusal, so that the whole
 * sentence fits in MARKR_ERROR_MESSAGE_MAX without being cut by vsnprintf. */
#define MARKR_XML_QUOTE_MAX 160

/* The state of one parse; heap memory so that worker threads keep small stacks. */
struct markr_xml_parse {
    xmlParserCtxtPtr ctxt;
    struct markr_document *doc;
    struct markr_error *err;
    int stopped;          /* err holds our (or the domain's) refusal; libxml2 was halted */
    int root_seen;        /* the root element has started */
    unsigned depth;       /* of the innermost open element; 0 outside the root */
    int in_result;        /* inside a <mcq-test-result> child of the root */
    int summary_seen;     /* <summary-marks> already read in this result */
    int field;            /* the text field being read (an enum markr_field), or -1 */
    unsigned field_depth; /* depth of that field's element */
    unsigned attribute_decls; /* attributes the DOCTYPE has declared (xml_entities.c) */
    unsigned namespaces[MARKR_XML_MAX_DEPTH + 1]; /* declared by the open element at each depth */
    unsigned namespaces_in_scope;                 /* their sum */
    /* The first libxml2 error of the highest level seen, for a document not well-formed. */
    int xml_level;
    int xml_code;
    int xml_line;
    char xml_message[MARKR_XML_QUOTE_MAX + 1];
    const char *body; /* the whole body, for the sentences of xml_messages.h */
    size_t len;
    struct markr_raw_result raw;      /* points into buf */
    struct markr_xml_answers answers; /* of the result being read (xml_answers.h) */
    /* Last, and not zeroed (parse): a field's bytes are read only up to its length, once
     * written; zeroing these 24 KiB was 3 % of the parse of a 30-result document. */
    char buf[MARKR_FIELD_COUNT][MARKR_XML_MAX_FIELD_BYTES];
};

/* The line libxml2 is reading (0 when unknown). */
unsigned long markr_xml_line_now(const struct markr_xml_parse *p);

/* Refuses the document (MARKR_ERR_INVALID) and halts libxml2 so that nothing more is read.
 * The result index is the one being read, if any. */
void markr_xml_refuse(struct markr_xml_parse *p, const char *reason, const char *field, unsigned long line,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Feeds libxml2 the body after its first `head` bytes (given to the parser's constructor),
 * then its end, behind the checks of xml_feed.c; stops once the document is refused. */
void markr_xml_feed(struct markr_xml_parse *p, size_t head);

/* Sets sax's entity and DTD handlers (xml_entities.c): every entity refuses the document,
 * and so do more attribute declarations than MARKR_XML_MAX_ATTRIBUTES. */
void markr_xml_refuse_entities(xmlSAXHandler *sax);

#endif
