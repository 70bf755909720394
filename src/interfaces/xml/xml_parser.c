/*
 * XML adapter: the document parser port over libxml2's push (SAX2) parser. The body is fed
 * in chunks and only the few fields of a result are kept, each in a bounded buffer (its
 * answers in xml_answers.c), so memory stays flat however large the document; entities are
 * refused, never resolved (ADR 0005).
 */
#include "xml_parser.h"

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>

#include "domain/document.h"
#include "domain/error.h"
#include "domain/result.h"
#include "domain/utf8.h"
#include "xml_answers.h"
#include "xml_messages.h"
#include "xml_parse.h"

#define ROOT "mcq-test-results"
#define RESULT "mcq-test-result"
#define SUMMARY "summary-marks"
#define ANSWER "answer"

/* Depths of the elements we read; the root is 1. */
enum { DEPTH_ROOT = 1, DEPTH_RESULT = 2, DEPTH_FIELD = 3 };

/* The direct children of <mcq-test-result> that are read: <summary-marks>, <answer> and the
 * text fields. */
enum child { CHILD_SUMMARY, CHILD_ANSWER, CHILD_TEXT };

static const struct {
    const char *element;
    enum child kind;
    enum markr_field field; /* of a CHILD_TEXT */
} children[] = {
    {SUMMARY, CHILD_SUMMARY, MARKR_FIELD_COUNT},
    {ANSWER, CHILD_ANSWER, MARKR_FIELD_COUNT},
    {"first-name", CHILD_TEXT, MARKR_FIELD_FIRST_NAME},
    {"last-name", CHILD_TEXT, MARKR_FIELD_LAST_NAME},
    {"student-number", CHILD_TEXT, MARKR_FIELD_STUDENT_NUMBER},
    {"test-id", CHILD_TEXT, MARKR_FIELD_TEST_ID},
};

/* --- helpers ------------------------------------------------------------------------------ */

/* The longest prefix of s, at most max bytes, that does not split a UTF-8 character
 * (domain/utf8.h), so that a quoted name or message stays valid UTF-8 in the JSON answer. */
static int utf8_prefix(const char *s, size_t max)
{
    return (int)markr_utf8_cut(s, strlen(s), max);
}

unsigned long markr_xml_line_now(const struct markr_xml_parse *p)
{
    int line = xmlSAX2GetLineNumber(p->ctxt);

    return line > 0 ? (unsigned long)line : 0;
}

/* An element we read has no prefix; its namespace, if any default one, does not matter. */
static int is(const xmlChar *localname, const xmlChar *prefix, const char *name)
{
    return prefix == NULL && strcmp((const char *)localname, name) == 0;
}

void markr_xml_refuse(struct markr_xml_parse *p, const char *reason, const char *field, unsigned long line,
                      const char *fmt, ...)
{
    va_list ap;

    /* markr_error_setv cuts an over-long message between characters. */
    va_start(ap, fmt);
    markr_error_setv(p->err, MARKR_ERR_INVALID, reason, fmt, ap);
    va_end(ap);
    markr_error_locate(p->err, p->in_result ? p->doc->count + 1 : 0, line, field);
    p->stopped = 1;
    xmlStopParser(p->ctxt);
}

/* --- elements and text -------------------------------------------------------------------- */

static void begin_result(struct markr_xml_parse *p, unsigned long line)
{
    memset(&p->raw, 0, sizeof(p->raw));
    p->raw.line = line;
    p->in_result = 1;
    p->summary_seen = 0;
    p->field = -1;
    markr_xml_answers_reset(&p->answers);
}

/* The result is complete: the domain applies rule 1 and keeps a copy, or refuses. */
static void end_result(struct markr_xml_parse *p)
{
    p->raw.answer_count = markr_xml_answers_finish(&p->answers, &p->raw.answers);
    if (markr_document_add(p->doc, &p->raw, p->err) != 0) {
        p->stopped = 1;
        xmlStopParser(p->ctxt);
    }
    p->in_result = 0;
}

/* A repeated identifying field or mark in one result is ambiguous on paper (which one did
 * the machine mean?), so it is refused rather than guessed. Names are not: see
 * begin_text_field. */
static void refuse_duplicate(struct markr_xml_parse *p, const char *name, unsigned long line)
{
    markr_xml_refuse(p, "duplicate_field", name, line, "result %zu (line %lu): %s appears more than once", p->doc->count + 1,
           line, name);
}

static void refuse_too_long(struct markr_xml_parse *p, enum markr_field field, unsigned long line)
{
    const char *name = markr_field_name(field);

    markr_xml_refuse(p, "field_too_long", name, line, "result %zu (line %lu): %s is longer than %d bytes", p->doc->count + 1,
           line, name, MARKR_XML_MAX_FIELD_BYTES);
}

static void begin_text_field(struct markr_xml_parse *p, enum markr_field field, unsigned long line)
{
    /* A repeated name cannot put a mark under the wrong student or test: the last one wins
     * (a rescan's correction), as across documents the latest scan's names win. */
    int is_name = field == MARKR_FIELD_FIRST_NAME || field == MARKR_FIELD_LAST_NAME;

    if (p->raw.text[field] != NULL && !is_name) {
        refuse_duplicate(p, markr_field_name(field), line);
        return;
    }
    p->raw.text[field] = p->buf[field];
    p->raw.len[field] = 0;
    p->raw.field_line[field] = line;
    p->field = (int)field;
    p->field_depth = p->depth;
}

/* Reads available and obtained. Attributes defaulted by a DTD's ATTLIST are the last
 * nb_defaulted of the array and are skipped: a mark counts only when it is on the paper. */
static void read_summary(struct markr_xml_parse *p, int nb_attributes, int nb_defaulted, const xmlChar **attributes,
                         unsigned long line)
{
    if (p->summary_seen) {
        refuse_duplicate(p, SUMMARY, line);
        return;
    }
    p->summary_seen = 1;
    p->raw.summary_present = 1;
    for (int i = 0; i < nb_attributes - nb_defaulted; ++i) {
        const xmlChar **a = &attributes[5 * i]; /* localname, prefix, URI, value, end */
        enum markr_field field;
        size_t len;

        if (is(a[0], a[1], "available"))
            field = MARKR_FIELD_AVAILABLE;
        else if (is(a[0], a[1], "obtained"))
            field = MARKR_FIELD_OBTAINED;
        else
            continue; /* extra attributes are ignored */
        len = (size_t)(a[4] - a[3]);
        if (len > MARKR_XML_MAX_FIELD_BYTES) {
            refuse_too_long(p, field, line);
            return;
        }
        memcpy(p->buf[field], a[3], len);
        p->raw.text[field] = p->buf[field];
        p->raw.len[field] = len;
        p->raw.field_line[field] = line;
    }
}

static void out_of_memory(struct markr_xml_parse *p)
{
    markr_error_set(p->err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory while parsing XML");
    p->stopped = 1;
    xmlStopParser(p->ctxt);
}

static void on_start(void *user, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
                     int nb_namespaces, const xmlChar **namespaces, int nb_attributes, int nb_defaulted,
                     const xmlChar **attributes)
{
    struct markr_xml_parse *p = user;
    unsigned long line;

    if (p->stopped)
        return;
    line = markr_xml_line_now(p);
    if (++p->depth > MARKR_XML_MAX_DEPTH) {
        markr_xml_refuse(p, "too_deep", NULL, line, "line %lu: elements are nested deeper than %d levels", line,
               MARKR_XML_MAX_DEPTH);
        return;
    }
    /* libxml2 looks a prefix up through every namespace declared by the open elements: their
     * number, not only each tag's, is bounded, before a tag inside them is read. */
    p->namespaces[p->depth] = (unsigned)nb_namespaces;
    if ((p->namespaces_in_scope += (unsigned)nb_namespaces) > MARKR_XML_MAX_ATTRIBUTES) {
        markr_xml_refuse(p, "too_many_attributes", NULL, line,
                         "line %lu: the open elements declare more than %d namespaces", line, MARKR_XML_MAX_ATTRIBUTES);
        return;
    }
    if (p->depth == DEPTH_ROOT) {
        p->root_seen = 1;
        /* Another kind of document from the machines: refuse it before reading any of it. */
        if (!is(localname, prefix, ROOT)) {
            const char *ns = prefix != NULL ? (const char *)prefix : "";

            /* Both names are quoted whole characters only, and bounded, whatever their length. */
            markr_xml_refuse(p, "wrong_root", NULL, line, "line %lu: the root element is <%.*s%s%.*s>, not <" ROOT ">: "
                   "this is not a document of test results", line, utf8_prefix(ns, MARKR_XML_QUOTE_MAX / 4), ns,
                   prefix != NULL ? ":" : "", utf8_prefix((const char *)localname, MARKR_XML_QUOTE_MAX / 2),
                   (const char *)localname);
        }
        return;
    }
    if (p->depth == DEPTH_RESULT) {
        if (is(localname, prefix, RESULT))
            begin_result(p, line);
        return;
    }
    if (p->depth != DEPTH_FIELD || !p->in_result || prefix != NULL)
        return; /* anything deeper, outside a result or prefixed is not ours */
    /* Every child of every result comes here: comparing the first byte first leaves one
     * strcmp per element (two for the names beginning with 's'), not one per name tried. */
    for (size_t i = 0; i < sizeof(children) / sizeof(children[0]); ++i) {
        const char *name = children[i].element;

        if (localname[0] != (xmlChar)name[0] || strcmp((const char *)localname, name) != 0)
            continue;
        switch (children[i].kind) {
        case CHILD_SUMMARY:
            read_summary(p, nb_attributes, nb_defaulted, attributes, line);
            break;
        case CHILD_ANSWER:
            if (markr_xml_answers_begin(&p->answers, p->depth, nb_attributes, nb_defaulted, attributes) != 0)
                out_of_memory(p);
            break;
        case CHILD_TEXT:
            begin_text_field(p, children[i].field, line);
            break;
        }
        return;
    }
}

static void on_end(void *user, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
    struct markr_xml_parse *p = user;

    if (p->stopped)
        return;
    if (p->field >= 0 && p->depth == p->field_depth)
        p->field = -1;
    else if (p->depth == DEPTH_RESULT && p->in_result)
        end_result(p);
    else
        markr_xml_answers_end(&p->answers, p->depth);
    p->namespaces_in_scope -= p->namespaces[p->depth];
    --p->depth;
}

/* Text, CDATA and white space alike. Only the text inside a field we read is kept (all of
 * it, nested elements included, as XPath's string value); the rest is never copied. */
static void on_text(void *user, const xmlChar *text, int len)
{
    struct markr_xml_parse *p = user;
    enum markr_field field;
    size_t have;

    if (p->stopped || len <= 0)
        return;
    if (p->answers.in_answer) {
        if (markr_xml_answers_text(&p->answers, (const char *)text, (size_t)len) != 0)
            out_of_memory(p);
        return;
    }
    if (p->field < 0)
        return;
    field = (enum markr_field)p->field;
    have = p->raw.len[field];
    if ((size_t)len > MARKR_XML_MAX_FIELD_BYTES - have) {
        refuse_too_long(p, field, p->raw.field_line[field]);
        return;
    }
    memcpy(p->buf[field] + have, text, (size_t)len);
    p->raw.len[field] = have + (size_t)len;
}

/* --- errors ------------------------------------------------------------------------------- */

/* Every libxml2 error of this parse arrives here (never on stderr). The first error of the
 * highest level is kept: it is the one that made the document not well-formed. Namespace
 * errors (an undeclared prefix on an extra element) do not break XML 1.0 and are ignored. */
static void on_xml_error(void *user, xmlErrorPtr e)
{
    struct markr_xml_parse *p = user;
    const char *msg;
    int n;

    if (e == NULL || e->level < XML_ERR_ERROR || e->domain == XML_FROM_NAMESPACE || (int)e->level <= p->xml_level)
        return;
    p->xml_level = (int)e->level;
    p->xml_code = e->code;
    p->xml_line = e->line;
    msg = e->message != NULL ? e->message : "unknown error";
    n = utf8_prefix(msg, MARKR_XML_QUOTE_MAX);
    memcpy(p->xml_message, msg, (size_t)n);
    /* libxml2 ends its messages with a newline; a sentence of ours must be one line. */
    while (n > 0 && (p->xml_message[n - 1] == '\n' || p->xml_message[n - 1] == ' '))
        --n;
    p->xml_message[n] = '\0';
    for (char *c = p->xml_message; *c != '\0'; ++c)
        if (*c == '\n' || *c == '\t' || *c == '\r')
            *c = ' ';
}

/* The old, unstructured channels: silent, as everything goes through on_xml_error. */
static void on_message(void *user, const char *fmt, ...)
{
}

static int refuse_malformed(struct markr_xml_parse *p)
{
    unsigned long line = p->xml_line > 0 ? (unsigned long)p->xml_line : markr_xml_line_now(p);
    const char *what = p->xml_message[0] != '\0' ? p->xml_message : "parse error";
    char sentence[MARKR_ERROR_MESSAGE_MAX];

    if (p->xml_code == XML_ERR_NO_MEMORY)
        return markr_error_set(p->err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory while parsing XML");
    /* libxml2 says "Extra content at the end of the document" for an empty document and for
     * one cut short too, which would send a person looking for content that is not there,
     * and "Start tag expected" for a body that is no XML at all (a CSV, JSON). */
    if ((p->xml_code == XML_ERR_DOCUMENT_END || p->xml_code == XML_ERR_DOCUMENT_EMPTY) && !p->root_seen &&
        markr_xml_describe_no_root(p->body, p->len, sentence, sizeof(sentence), &line) >= 0)
        what = sentence;
    else if ((p->xml_code == XML_ERR_DOCUMENT_END || p->xml_code == XML_ERR_DOCUMENT_EMPTY) && !p->root_seen)
        what = "the document is empty: it has no root element";
    else if (p->xml_code == XML_ERR_DOCUMENT_END && p->depth > 0)
        what = "the document ends before its elements are closed (was it cut short?)";
    else if ((p->xml_code == XML_ERR_INVALID_CHAR || p->xml_code == XML_ERR_INVALID_ENCODING) &&
             markr_xml_read_as_utf8(p->body, p->len, (const char *)p->ctxt->encoding) &&
             markr_xml_describe_bad_byte(p->body, p->len, (const char *)p->ctxt->encoding, sentence, sizeof(sentence),
                                         &line))
        what = sentence;
    markr_error_set(p->err, MARKR_ERR_MALFORMED, "malformed_xml", "the document is not well-formed XML: line %lu: %s",
                    line, what);
    markr_error_locate(p->err, p->in_result ? p->doc->count + 1 : 0, line, NULL);
    return -1;
}

/* --- the port ------------------------------------------------------------------------------ */

/* Every load libxml2 might attempt (external DTD, external entity, XInclude) lands here. */
static xmlParserInputPtr refuse_load(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
    return NULL;
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init(void)
{
    xmlInitParser();
    xmlSetExternalEntityLoader(refuse_load);
}

void markr_xml_global_init(void)
{
    pthread_once(&init_once, init);
}

static void init_sax(xmlSAXHandler *sax)
{
    memset(sax, 0, sizeof(*sax));
    sax->initialized = XML_SAX2_MAGIC;
    sax->startElementNs = on_start;
    sax->endElementNs = on_end;
    sax->characters = on_text;
    sax->cdataBlock = on_text;
    sax->ignorableWhitespace = on_text;
    markr_xml_refuse_entities(sax); /* xml_entities.c */
    sax->serror = on_xml_error;
    sax->warning = on_message;
    sax->error = on_message;
    sax->fatalError = on_message;
}

static int parse(void *ctx, const char *body, size_t len, struct markr_document *doc, struct markr_error *err)
{
    /* The first bytes go to the constructor, which detects the encoding from them. */
    size_t head = len < 4 ? len : 4;
    xmlSAXHandler sax;
    struct markr_xml_parse *p;
    int rc;

    markr_xml_global_init(); /* cheap when done; a forgotten call must not weaken the loader */
    markr_error_clear(err);
    if ((p = malloc(sizeof(*p))) == NULL)
        return markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory while parsing XML");
    memset(p, 0, offsetof(struct markr_xml_parse, buf));
    p->doc = doc;
    p->err = err;
    p->body = body;
    p->len = len;
    p->field = -1;
    init_sax(&sax);
    p->ctxt = xmlCreatePushParserCtxt(&sax, p, head != 0 ? body : NULL, (int)head, NULL);
    if (p->ctxt == NULL) {
        free(p);
        return markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory while parsing XML");
    }
    /* NONET, and none of NOENT (substitute entities), DTDLOAD or HUGE (lift the limits). */
    xmlCtxtUseOptions(p->ctxt, XML_PARSE_NONET);
    markr_xml_answers_init(&p->answers, p->ctxt->dict);

    markr_xml_feed(p, head); /* xml_feed.c */

    if (p->stopped)
        rc = -1; /* err already says why */
    else if (!p->ctxt->wellFormed)
        rc = refuse_malformed(p);
    else
        rc = markr_document_finish(doc, err);

    /* libxml2 builds a document of its own when it meets an entity declaration, even in SAX
     * mode ("expat compatibility"); it is ours to free. */
    if (p->ctxt->myDoc != NULL)
        xmlFreeDoc(p->ctxt->myDoc);
    xmlFreeParserCtxt(p->ctxt);
    markr_xml_answers_free(&p->answers);
    free(p);
    return rc;
}

struct markr_document_parser markr_xml_parser(void)
{
    return (struct markr_document_parser){.ctx = NULL, .parse = parse};
}

struct markr_format markr_xml_format(void)
{
    return (struct markr_format){.media_type = MARKR_XML_MEDIA_TYPE, .parser = markr_xml_parser()};
}
