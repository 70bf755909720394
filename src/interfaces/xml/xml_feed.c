/*
 * The XML adapter's feeding of libxml2: the body goes to the push parser a chunk at a time,
 * each only after the lexer of xml_tags.h has counted the attributes of the start tags in it,
 * and only while libxml2 decodes the document as the lexer reads it (ADR 0043).
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include <libxml/encoding.h>
#include <libxml/parser.h>

#include "domain/utf8.h"
#include "xml_parse.h"
#include "xml_tags.h"

/* Bytes handed to libxml2 per call: few calls, yet libxml2's own input buffer stays small
 * because it drops what it has parsed. */
#define CHUNK_BYTES (64 * 1024)

/* The line of the byte at offset `at`: libxml2's own count, one per line feed. */
static unsigned long line_at(const char *body, size_t at)
{
    unsigned long line = 1;

    for (const char *c = body, *end = body + at; (c = memchr(c, '\n', (size_t)(end - c))) != NULL; ++c)
        ++line;
    return line;
}

static void refuse_attributes(struct markr_xml_parse *p, size_t tag_at)
{
    unsigned long line = line_at(p->body, tag_at);

    markr_xml_refuse(p, "too_many_attributes", NULL, line, "line %lu: an element has more than %d attributes", line,
                     MARKR_XML_MAX_ATTRIBUTES);
}

/* The decoder libxml2 reads the document's bytes with; NULL for UTF-8, read as it is. */
static const xmlCharEncodingHandler *encoder_of(const struct markr_xml_parse *p)
{
    return p->ctxt->input != NULL && p->ctxt->input->buf != NULL ? p->ctxt->input->buf->encoder : NULL;
}

/* Encodings, besides UTF-8, in which every byte below 0x80 is the ASCII character and
 * never part of another: the lexer of xml_tags.h then reads them byte by byte. */
static int single_byte_ascii(const char *name)
{
    static const char *const prefixes[] = {"ISO-8859-", "ISO8859-", "ISO_8859-", "WINDOWS-125", "CP125"};
    /* Not every "LATIN" name: glibc's LATIN-GREEK reads some ASCII bytes as Greek letters. */
    static const char *const names[] = {"UTF-8",  "UTF8",   "ASCII",  "US-ASCII", "ISO-LATIN-1", "KOI8-R",
                                        "KOI8-U", "LATIN1", "LATIN2", "LATIN3",   "LATIN4",      "LATIN5",
                                        "LATIN6", "LATIN7", "LATIN8", "LATIN9",   "LATIN10",     "LATIN-9"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); ++i)
        if (strcasecmp(name, names[i]) == 0)
            return 1;
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); ++i)
        if (strncasecmp(name, prefixes[i], strlen(prefixes[i])) == 0)
            return 1;
    return 0;
}

/* Whether the lexer reads the document as libxml2 now decodes it (after its first bytes,
 * then after its XML declaration): UTF-8 or an encoding of single_byte_ascii for bytes,
 * UTF-16 of the detected byte order for two-byte units, UCS-4 (which libxml2 reads big-endian
 * only) for four. Refuses the document when not. */
static int readable_encoding(struct markr_xml_parse *p, const struct markr_xml_tags *t)
{
    static const char *const ucs4[] = {"ISO-10646-UCS-4", "UCS-4", "UCS-4BE", "UCS4"};
    const xmlCharEncodingHandler *now = encoder_of(p);
    const char *name = now != NULL && now->name != NULL ? now->name : "UTF-8";
    int ok = 0;

    if (t->width == 1)
        ok = now == NULL || single_byte_ascii(name);
    else if (t->width == 2)
        ok = strcmp(name, t->ascii_at == 0 ? "UTF-16LE" : "UTF-16BE") == 0;
    else
        for (size_t i = 0; i < sizeof(ucs4) / sizeof(ucs4[0]); ++i)
            ok |= t->ascii_at == 3 && strcasecmp(name, ucs4[i]) == 0;
    if (!ok)
        markr_xml_refuse(p, "unsupported_encoding", NULL, 1,
                         "line 1: the document is in %.*s, which is not read: send it in UTF-8 (or UTF-16, or an "
                         "ISO-8859 encoding)",
                         (int)markr_utf8_cut(name, strlen(name), MARKR_XML_QUOTE_MAX), name);
    return ok;
}

/* libxml2 goes on only while the document is well-formed and nobody halted it. */
static int going(const struct markr_xml_parse *p)
{
    return !p->stopped && p->ctxt->wellFormed && !p->ctxt->disableSAX;
}

/* Hands libxml2 the body's bytes from offset `from` to `to`, a chunk at a time. */
static void feed(struct markr_xml_parse *p, size_t from, size_t to)
{
    while (from < to && going(p)) {
        size_t n = to - from < CHUNK_BYTES ? to - from : CHUNK_BYTES;

        xmlParseChunk(p->ctxt, p->body + from, (int)n, 0);
        from += n;
    }
}

void markr_xml_feed(struct markr_xml_parse *p, size_t head)
{
    struct markr_xml_tags tags;

    /* libxml2 has chosen its decoder from the first bytes (UTF-16, UCS-4, EBCDIC), and may
     * choose another at the XML declaration: both are checked against what the lexer reads. */
    markr_xml_tags_init(&tags, p->body, head);
    if (readable_encoding(p, &tags) && markr_xml_tags_scan(&tags, p->body, p->len, head) == MARKR_XML_TAGS_PROLOGUE)
        readable_encoding(p, &tags);
    /* Each chunk is fed once the lexer has counted the attributes of its tags; a tag with too
     * many is refused with all before it read, so that an earlier fault still speaks first. */
    for (size_t at = head; at < p->len && going(p);) {
        size_t end = p->len - at < CHUNK_BYTES ? p->len : at + CHUNK_BYTES;
        enum markr_xml_tags_stop stop = markr_xml_tags_scan(&tags, p->body, p->len, end);

        if (stop == MARKR_XML_TAGS_PROLOGUE)
            end = tags.at;
        else if (stop == MARKR_XML_TAGS_TOO_MANY)
            end = tags.tag_at + tags.width; /* with its '<': libxml2 then reads the text before it */
        if (end < at)
            end = at; /* the '<' was fed already */
        feed(p, at, end);
        at = end;
        if (stop == MARKR_XML_TAGS_TOO_MANY && going(p))
            refuse_attributes(p, tags.tag_at);
        else if (stop == MARKR_XML_TAGS_PROLOGUE && going(p))
            readable_encoding(p, &tags);
    }
    if (going(p))
        xmlParseChunk(p->ctxt, NULL, 0, 1);
}
