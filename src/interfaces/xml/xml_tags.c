/*
 * The attribute counter of xml_tags.h: a state machine over code units, run over the body
 * a stretch at a time. Where units are bytes, memchr skips text and end tags to the next
 * '<', and skip() passes short start tags whole.
 */
#include "xml_tags.h"

#include <string.h>

enum state {
    TEXT,          /* character data, or between markup */
    LT,            /* '<' read */
    START_TAG,     /* in a start tag, outside its values: each '=' is an attribute */
    START_QUOTE,   /* in one of its values */
    END_TAG,       /* "</" read: until '>' */
    PI,            /* "<?" read: until "?>" */
    BANG,          /* "<!" read */
    BANG_DASH,     /* "<!-" read */
    COMMENT,       /* "<!--" read: until "-->" */
    CDATA,         /* "<![" read: until "]]>" */
    DOCTYPE,       /* another "<!": the document type declaration, outside its subset */
    DOCTYPE_QUOTE, /* in one of its literals */
    SUBSET,        /* in its internal subset, between declarations */
    SUBSET_LT,     /* '<' read there */
    SUBSET_BANG,   /* "<!" read there */
    SUBSET_DASH,   /* "<!-" read there */
    SUBSET_COMMENT,
    SUBSET_PI,
    SUBSET_DECL,  /* in a markup declaration (<!ELEMENT, <!ATTLIST...): until '>' */
    SUBSET_QUOTE, /* in one of its literals */
};

/* A unit's character when it is ASCII; 0x80 stands for any other, which can only be part of
 * a name or of text. */
enum { OTHER = 0x80 };

/* Bytes of the shortest attribute with the space before it: ` a=""`. */
enum { SHORTEST_ATTRIBUTE = 5 };

void markr_xml_tags_init(struct markr_xml_tags *t, const char *head, size_t len)
{
    static const struct {
        unsigned char bytes[4];
        size_t len;
        unsigned width, ascii_at;
    } detect[] = {
        /* As libxml2's xmlDetectCharEncoding, in its order: UCS-4 in its four byte orders,
         * then UTF-16 from "<?" or from a byte order mark. */
        {{0x00, 0x00, 0x00, 0x3c}, 4, 4, 3}, {{0x3c, 0x00, 0x00, 0x00}, 4, 4, 0},
        {{0x00, 0x00, 0x3c, 0x00}, 4, 4, 2}, {{0x00, 0x3c, 0x00, 0x00}, 4, 4, 1},
        {{0x3c, 0x00, 0x3f, 0x00}, 4, 2, 0}, {{0x00, 0x3c, 0x00, 0x3f}, 4, 2, 1},
        {{0xfe, 0xff}, 2, 2, 1},             {{0xff, 0xfe}, 2, 2, 0},
    };

    memset(t, 0, sizeof(*t));
    t->width = 1;
    /* libxml2 looks only when it is given four bytes or more. */
    for (size_t i = 0; len >= 4 && i < sizeof(detect) / sizeof(detect[0]); ++i)
        if (memcmp(head, detect[i].bytes, detect[i].len) == 0) {
            t->width = detect[i].width;
            t->ascii_at = detect[i].ascii_at;
            break;
        }
}

static int name_start(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || c == OTHER;
}

/* Advances over "-->", "]]>" or "?>": whether c, read after t->run of `mark`, ends it. */
static int closes(struct markr_xml_tags *t, int c, int mark, unsigned marks)
{
    if (c == '>' && t->run >= marks)
        return 1;
    t->run = c == mark ? t->run + 1 : 0;
    return 0;
}

/* One unit, character c, whose first byte is at offset `at` of the body. */
static enum markr_xml_tags_stop step(struct markr_xml_tags *t, int c, size_t at)
{
    switch ((enum state)t->state) {
    case TEXT:
        if (c == '<') {
            t->state = LT;
            t->tag_at = at;
        }
        break;
    case LT:
        t->run = 0;
        if (c == '/')
            t->state = END_TAG;
        else if (c == '?')
            t->state = PI;
        else if (c == '!')
            t->state = BANG;
        else if (name_start(c)) {
            t->state = START_TAG;
            t->attributes = 0;
        } else if (c == '<')
            t->tag_at = at;
        else
            t->state = TEXT; /* not well-formed: libxml2 says so */
        break;
    case START_TAG:
        if (c == '"' || c == '\'') {
            t->quote = c;
            t->state = START_QUOTE;
        } else if (c == '=') {
            if (++t->attributes > MARKR_XML_MAX_ATTRIBUTES)
                return MARKR_XML_TAGS_TOO_MANY;
        } else if (c == '>')
            t->state = TEXT;
        break;
    case START_QUOTE:
        if (c == t->quote)
            t->state = START_TAG;
        break;
    case END_TAG:
        if (c == '>')
            t->state = TEXT;
        break;
    case PI:
        if (closes(t, c, '?', 1)) {
            t->state = TEXT;
            if (!t->prologue_seen) {
                t->prologue_seen = 1;
                return MARKR_XML_TAGS_PROLOGUE;
            }
        }
        break;
    case BANG:
        t->run = 0;
        t->state = c == '-' ? BANG_DASH : c == '[' ? CDATA : DOCTYPE;
        if (t->state == DOCTYPE)
            return step(t, c, at);
        break;
    case BANG_DASH:
        t->state = c == '-' ? COMMENT : DOCTYPE;
        break;
    case COMMENT:
        if (closes(t, c, '-', 2))
            t->state = TEXT;
        break;
    case CDATA:
        if (closes(t, c, ']', 2))
            t->state = TEXT;
        break;
    case DOCTYPE:
        if (c == '"' || c == '\'') {
            t->quote = c;
            t->state = DOCTYPE_QUOTE;
        } else if (c == '[')
            t->state = SUBSET;
        else if (c == '>')
            t->state = TEXT;
        break;
    case DOCTYPE_QUOTE:
        if (c == t->quote)
            t->state = DOCTYPE;
        break;
    case SUBSET:
        if (c == '<')
            t->state = SUBSET_LT;
        else if (c == ']')
            t->state = DOCTYPE; /* its '>' follows */
        break;
    case SUBSET_LT:
        t->run = 0;
        t->state = c == '!' ? SUBSET_BANG : c == '?' ? SUBSET_PI : SUBSET_DECL;
        break;
    case SUBSET_BANG:
        t->state = c == '-' ? SUBSET_DASH : SUBSET_DECL;
        break;
    case SUBSET_DASH:
        t->state = c == '-' ? SUBSET_COMMENT : SUBSET_DECL;
        break;
    case SUBSET_COMMENT:
        if (closes(t, c, '-', 2))
            t->state = SUBSET;
        break;
    case SUBSET_PI:
        if (closes(t, c, '?', 1))
            t->state = SUBSET;
        break;
    case SUBSET_DECL:
        if (c == '"' || c == '\'') {
            t->quote = c;
            t->state = SUBSET_QUOTE;
        } else if (c == '>')
            t->state = SUBSET;
        break;
    case SUBSET_QUOTE:
        if (c == t->quote)
            t->state = SUBSET_DECL;
        break;
    }
    return MARKR_XML_TAGS_END;
}

/* The character of the unit at u, of t->width bytes. */
static int unit_char(const struct markr_xml_tags *t, const unsigned char *u)
{
    if (t->width == 1)
        return u[0] < 0x80 ? u[0] : OTHER;
    for (unsigned i = 0; i < t->width; ++i)
        if (i != t->ascii_at && u[i] != 0)
            return OTHER;
    return u[t->ascii_at] < 0x80 ? u[t->ascii_at] : OTHER;
}

static size_t count_equals(const unsigned char *b, size_t n)
{
    size_t count = 0;

    for (size_t i = 0; i < n; ++i)
        count += b[i] == '=';
    return count;
}

/* Where units are bytes, the states that make up most of a document are crossed at once: a
 * '<' cannot be in an attribute's value nor in text, so from a start tag's name to the next
 * '<' lie all of the tag's attributes, and the text after it. When that stretch is too
 * short to hold more attributes than a tag may have (each takes at least five bytes: a
 * space, a name, '=' and two quotes), or holds no more '=' than that, it is passed whole;
 * else it is read unit by unit, which counts exactly. An end tag and the text after it hold
 * no '<' either. */
static void skip(struct markr_xml_tags *t, const unsigned char *b, size_t len)
{
    const unsigned char *next;
    size_t end;

    if (t->state == END_TAG)
        t->state = TEXT;
    if (t->state == START_TAG && t->attributes == 0 && t->at == t->tag_at + 2) {
        next = memchr(b + t->at, '<', len - t->at);
        end = next != NULL ? (size_t)(next - b) : len;
        if (end - t->at < SHORTEST_ATTRIBUTE * (MARKR_XML_MAX_ATTRIBUTES + 1) ||
            count_equals(b + t->at, end - t->at) <= MARKR_XML_MAX_ATTRIBUTES) {
            t->state = TEXT;
            t->at = end; /* at the next '<', or the end */
            return;
        }
    }
    if (t->state == TEXT) {
        next = memchr(b + t->at, '<', len - t->at);
        t->at = next != NULL ? (size_t)(next - b) : len;
    }
}

enum markr_xml_tags_stop markr_xml_tags_scan(struct markr_xml_tags *t, const char *body, size_t len, size_t upto)
{
    const unsigned char *b = (const unsigned char *)body;

    if (upto > len)
        upto = len;
    while (t->at < upto && len - t->at >= t->width) {
        size_t at = t->at;
        enum markr_xml_tags_stop stop;

        t->at += t->width;
        if ((stop = step(t, unit_char(t, b + at), at)) != MARKR_XML_TAGS_END)
            return stop;
        if (t->width == 1)
            skip(t, b, len);
    }
    return MARKR_XML_TAGS_END;
}
