#include "xml_messages.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "domain/utf8.h"

/* Bytes of a body's start quoted in the "not XML" sentence. */
#define QUOTED_START 24

static int is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static unsigned long line_at(const char *body, size_t at)
{
    unsigned long line = 1;

    for (size_t i = 0; i < at; ++i)
        line += body[i] == '\n';
    return line;
}

int markr_xml_describe_no_root(const char *body, size_t len, char *out, size_t cap, unsigned long *line)
{
    size_t at = 0, n, i, q = 0;
    char quoted[QUOTED_START + 1];
    int more;

    if (len >= 3 && memcmp(body, "\xef\xbb\xbf", 3) == 0) /* a UTF-8 byte order mark */
        at = 3;
    while (at < len && is_blank((unsigned char)body[at]))
        ++at;
    *line = line_at(body, at);
    if (at == len) {
        snprintf(out, cap, "the document is empty: it has no root element (send an <mcq-test-results> document)");
        return 0;
    }
    if (body[at] == '<')
        return -1; /* XML-like: libxml2's words say more */
    /* The first bytes, up to the end of their line, as printable text: a control byte or one
     * that is no UTF-8 becomes '?', so the sentence stays one line of UTF-8. */
    n = markr_utf8_cut(body + at, len - at, QUOTED_START);
    i = at;
    while (i < at + n && body[i] != '\n' && body[i] != '\r') {
        size_t s = markr_utf8_sequence((const unsigned char *)body + i, at + n - i);

        if (s == 0 || (s == 1 && ((unsigned char)body[i] < 0x20 || body[i] == 0x7f))) {
            quoted[q++] = '?';
            i += 1;
        } else {
            memcpy(quoted + q, body + i, s);
            q += s;
            i += s;
        }
    }
    quoted[q] = '\0';
    /* "..." when the line goes on past the quote. */
    more = i < len && body[i] != '\n' && body[i] != '\r';
    snprintf(out, cap,
             "the body is not XML: it starts with '%s%s' where an XML document starts with '<' "
             "(<?xml ...?> or <mcq-test-results>)",
             quoted, more ? "..." : "");
    return 1;
}

int markr_xml_describe_bad_byte(const char *body, size_t len, const char *declared, char *out, size_t cap,
                                unsigned long *line)
{
    const char *encoding = declared != NULL ? declared : "none";

    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)body[i];
        size_t s = markr_utf8_sequence((const unsigned char *)body + i, len - i);

        if (s == 0) {
            *line = line_at(body, i);
            snprintf(out, cap,
                     "byte %zu (0x%02X) is not valid UTF-8, which this document is read as (its declared "
                     "encoding: %s): save it as UTF-8, or declare the encoding it is in, e.g. "
                     "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>",
                     i + 1, c, encoding);
            return 1;
        }
        if (s == 1 && c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
            *line = line_at(body, i);
            snprintf(out, cap, "byte %zu (0x%02X) is a control character, which XML does not allow: remove it", i + 1,
                     c);
            return 1;
        }
        i += s;
    }
    return 0;
}

int markr_xml_read_as_utf8(const char *body, size_t len, const char *declared)
{
    if (len >= 2 && ((unsigned char)body[0] == 0xfe || (unsigned char)body[0] == 0xff))
        return 0;
    return declared == NULL || strcasecmp(declared, "UTF-8") == 0 || strcasecmp(declared, "UTF8") == 0;
}

void markr_xml_describe_entity(enum markr_xml_entity_use use, const char *name, size_t quote, char *out, size_t cap)
{
    int n = (int)markr_utf8_cut(name, strlen(name), quote);

    switch (use) {
    case MARKR_XML_ENTITY_DECLARED:
        snprintf(out, cap,
                 "the document declares the entity '%.*s'; documents may not declare entities (they are refused, "
                 "never expanded): remove the declaration",
                 n, name);
        break;
    case MARKR_XML_ENTITY_REFERENCED:
        snprintf(out, cap,
                 "the document uses the entity '%.*s'; only XML's own (&amp; &lt; &gt; &quot; &apos;) and character "
                 "references (&#233;) are read: write the character itself",
                 n, name);
        break;
    case MARKR_XML_ENTITY_LOADED:
        snprintf(out, cap, "the document asks to load '%.*s'; documents may not load anything: remove the reference", n,
                 name);
        break;
    }
}
