/*
 * XML adapter: reads a text/xml+markr document with libxml2's streaming SAX2 parser, so
 * memory grows with the results kept, not with a DOM. It never touches the network or the
 * file system and never expands entities: a document that declares or references one
 * (other than the five predefined) is refused.
 */
#ifndef MARKR_INTERFACES_XML_PARSER_H
#define MARKR_INTERFACES_XML_PARSER_H

#include "application/formats.h"

/* Deepest element nesting accepted; the format needs 3. */
#define MARKR_XML_MAX_DEPTH 32
/* Longest raw text kept for one field before trimming; more refuses the document. */
#define MARKR_XML_MAX_FIELD_BYTES 4096
/* Most attributes (namespace declarations included) of one element; the format's own carry
 * at most four. More refuses the document before libxml2 reads the element (xml_tags.h). */
#define MARKR_XML_MAX_ATTRIBUTES 256

/* Once per process, before any thread parses: initialises libxml2 and installs an
 * external-entity loader that refuses every load. Idempotent and thread-safe; the first
 * parse calls it too, so forgetting it cannot weaken the loader. */
void markr_xml_global_init(void);

/* The parser port. Stateless: safe to use from several threads at once. Refusal reasons
 * beyond the domain's: malformed_xml (MARKR_ERR_MALFORMED), wrong_root, entity_refused,
 * too_deep, too_many_attributes, unsupported_encoding, field_too_long and duplicate_field
 * (MARKR_ERR_INVALID). See ADR 0005 and ADR 0043. */
struct markr_document_parser markr_xml_parser(void);

/* The media type of the format, and the format itself (that type with this parser). */
#define MARKR_XML_MEDIA_TYPE "text/xml+markr"
struct markr_format markr_xml_format(void);

#endif
