/*
 * The XML adapter's entity and DTD handlers: any entity declaration, reference or load
 * refuses the document, and a DOCTYPE builds nothing (ADR 0005: the billion laughs and XXE
 * both need an entity); more attribute declarations than a tag may have attributes refuse
 * it too (ADR 0043).
 */
#include <libxml/SAX2.h>
#include <libxml/parser.h>

#include "xml_messages.h"
#include "xml_parse.h"

static void refuse_entity(struct markr_xml_parse *p, const xmlChar *name, enum markr_xml_entity_use use)
{
    unsigned long line = markr_xml_line_now(p);
    char sentence[MARKR_ERROR_MESSAGE_MAX];

    if (p->stopped)
        return;
    markr_xml_describe_entity(use, (const char *)name, MARKR_XML_QUOTE_MAX / 2, sentence, sizeof(sentence));
    markr_xml_refuse(p, "entity_refused", NULL, line, "line %lu: %s", line, sentence);
}

/* Any entity declaration (internal, external, parameter: the billion laughs and XXE both
 * start with one) refuses the document before it can be used. */
static void on_entity_decl(void *user, const xmlChar *name, int type, const xmlChar *public_id,
                           const xmlChar *system_id, xmlChar *content)
{
    refuse_entity(user, name, MARKR_XML_ENTITY_DECLARED);
}

static void on_unparsed_entity_decl(void *user, const xmlChar *name, const xmlChar *public_id,
                                    const xmlChar *system_id, const xmlChar *notation)
{
    refuse_entity(user, name, MARKR_XML_ENTITY_DECLARED);
}

/* libxml2 answers the five predefined entities itself and asks us only for others: there is
 * no other entity we would give, so the reference refuses the document. */
static xmlEntityPtr on_get_entity(void *user, const xmlChar *name)
{
    refuse_entity(user, name, MARKR_XML_ENTITY_REFERENCED);
    return NULL;
}

static void on_reference(void *user, const xmlChar *name)
{
    refuse_entity(user, name, MARKR_XML_ENTITY_REFERENCED);
}

static xmlParserInputPtr on_resolve_entity(void *user, const xmlChar *public_id, const xmlChar *system_id)
{
    refuse_entity(user, system_id != NULL ? system_id : BAD_CAST "?", MARKR_XML_ENTITY_LOADED);
    return NULL;
}

/* A DOCTYPE is allowed (old machines may write one) but builds nothing, and its external
 * subset is never loaded: this handler is where libxml2 would load it. */
static void on_subset(void *user, const xmlChar *name, const xmlChar *external_id, const xmlChar *system_id)
{
}

/* An attribute declared in the DOCTYPE with a default is added by libxml2 to every start
 * tag of its element, through the same pairwise comparisons as an attribute written in the
 * tag (xml_tags.h): more declarations than a tag may carry attributes (every declaration
 * counts, with a default or not) refuse the document before any tag is read. The
 * enumeration of values is ours to free once we handle this. */
static void on_attribute_decl(void *user, const xmlChar *element, const xmlChar *name, int type, int def,
                              const xmlChar *default_value, xmlEnumerationPtr tree)
{
    struct markr_xml_parse *p = user;
    unsigned long line = markr_xml_line_now(p);

    xmlFreeEnumeration(tree);
    if (!p->stopped && ++p->attribute_decls > MARKR_XML_MAX_ATTRIBUTES)
        markr_xml_refuse(p, "too_many_attributes", NULL, line, "line %lu: the DOCTYPE declares more than %d attributes",
                         line, MARKR_XML_MAX_ATTRIBUTES);
}

void markr_xml_refuse_entities(xmlSAXHandler *sax)
{
    sax->attributeDecl = on_attribute_decl;
    sax->internalSubset = on_subset;
    sax->externalSubset = on_subset;
    sax->entityDecl = on_entity_decl;
    sax->unparsedEntityDecl = on_unparsed_entity_decl;
    sax->getEntity = on_get_entity;
    sax->getParameterEntity = on_get_entity;
    sax->reference = on_reference;
    sax->resolveEntity = on_resolve_entity;
}
