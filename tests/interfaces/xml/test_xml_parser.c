/*
 * The XML adapter against the real libxml2: the fixture read whole, every way a document is
 * refused (with the code, reason, result index, line and field a person needs), extra content
 * ignored, and hostile documents refused quickly in bounded memory without touching a file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/xmlmemory.h>

#include "domain/document.h"
#include "domain/utf8.h"
#include "interfaces/xml/xml_parser.h"

/* --- libxml2's memory, counted ------------------------------------------------------------ */

/* Every block libxml2 allocates carries its size in front, so the live total and its peak are
 * known: that is how "memory stays bounded" is proved, not guessed from the process size. */
union header {
    size_t size;
    max_align_t align;
};

static atomic_size_t xml_live;
static atomic_size_t xml_peak;

static void count_add(size_t n)
{
    size_t live = atomic_fetch_add(&xml_live, n) + n;
    size_t peak = atomic_load(&xml_peak);

    while (live > peak && !atomic_compare_exchange_weak(&xml_peak, &peak, live))
        ;
}

static void *count_malloc(size_t n)
{
    union header *h = malloc(sizeof(*h) + n);

    if (h == NULL)
        return NULL;
    h->size = n;
    count_add(n);
    return h + 1;
}

static void count_free(void *ptr)
{
    union header *h;

    if (ptr == NULL)
        return;
    h = (union header *)ptr - 1;
    atomic_fetch_sub(&xml_live, h->size);
    free(h);
}

static void *count_realloc(void *ptr, size_t n)
{
    union header *h, *moved;
    size_t old;

    if (ptr == NULL)
        return count_malloc(n);
    h = (union header *)ptr - 1;
    old = h->size;
    if ((moved = realloc(h, sizeof(*h) + n)) == NULL)
        return NULL;
    moved->size = n;
    atomic_fetch_sub(&xml_live, old);
    count_add(n);
    return moved + 1;
}

static char *count_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy = count_malloc(n);

    if (copy != NULL)
        memcpy(copy, s, n);
    return copy;
}

/* Starts measuring the peak of libxml2's memory from now on. */
static size_t peak_reset(void)
{
    size_t live = atomic_load(&xml_live);

    atomic_store(&xml_peak, live);
    return live;
}

/* --- every load libxml2 attempts, counted ------------------------------------------------- */

static xmlExternalEntityLoader markr_loader; /* the adapter's, installed by global init */
static atomic_int loads;

static xmlParserInputPtr spy_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
    atomic_fetch_add(&loads, 1);
    return markr_loader(url, id, ctxt);
}

/* --- helpers ------------------------------------------------------------------------------ */

static int parse_bytes(const char *xml, size_t len, struct markr_document *doc, struct markr_error *err)
{
    struct markr_document_parser parser = markr_xml_parser();

    return parser.parse(parser.ctx, xml, len, doc, err);
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* A growing string for the documents too big to write out. */
struct text {
    char *s;
    size_t len;
    size_t cap;
};

static void text_add(struct text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->s = realloc(t->s, t->cap);
        assert_non_null(t->s);
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
}

static void text_puts(struct text *t, const char *s)
{
    text_add(t, s, strlen(s));
}

static void text_repeat(struct text *t, const char *s, size_t times)
{
    for (size_t i = 0; i < times; ++i)
        text_puts(t, s);
}

static char *read_fixture(size_t *len)
{
    const char *path = getenv("MARKR_FIXTURE");
    FILE *f;
    long size;
    char *buf;

    if (path == NULL)
        fail_msg("MARKR_FIXTURE is not set");
    if ((f = fopen(path, "rb")) == NULL)
        fail_msg("cannot open the fixture %s", path);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    size = ftell(f);
    assert_true(size > 0);
    rewind(f);
    buf = malloc((size_t)size + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
    buf[size] = '\0';
    fclose(f);
    *len = (size_t)size;
    return buf;
}

/* --- documents ---------------------------------------------------------------------------- */

/* Jane Austen's result from the brief, lines 2 to 8 of every small document. */
#define HEAD "<mcq-test-results>\n" /* line 1 */
#define JANE                                                                                             \
    "  <mcq-test-result scanned-on=\"2017-12-04T12:12:10+11:00\">\n" /* 2 */                            \
    "    <first-name>Jane</first-name>\n"                              /* 3 */                            \
    "    <last-name>Austen</last-name>\n"                              /* 4 */                            \
    "    <student-number>521585128</student-number>\n"                 /* 5 */                            \
    "    <test-id>1234</test-id>\n"                                    /* 6 */                            \
    "    <summary-marks available=\"20\" obtained=\"13\" />\n"         /* 7 */                            \
    "  </mcq-test-result>\n"                                           /* 8 */
#define TAIL "</mcq-test-results>\n"

/* A second result after Jane's, one line per field, so a refusal has a known place. A field
 * left out is replaced by a comment, which keeps the line numbers. */
#define DOC2(first, last, student, test, marks)                                                        \
    HEAD JANE "  <mcq-test-result>\n" first "\n" last "\n" student "\n" test "\n" marks "\n"             \
              "  </mcq-test-result>\n" TAIL
#define L_RESULT 9
#define L_FIRST 10
#define L_LAST 11
#define L_STUDENT 12
#define L_TEST 13
#define L_MARKS 14

#define FIRST "    <first-name>Ann</first-name>"
#define LAST "    <last-name>Lee</last-name>"
#define STUDENT "    <student-number>7</student-number>"
#define TEST "    <test-id>1234</test-id>"
#define MARKS(a, o) "    <summary-marks available=\"" a "\" obtained=\"" o "\" />"
#define NONE "    <!-- left out -->"

/* The second result, every field given but one. */
#define WITH_FIRST(x) DOC2(x, LAST, STUDENT, TEST, MARKS("20", "13"))
#define WITH_LAST(x) DOC2(FIRST, x, STUDENT, TEST, MARKS("20", "13"))
#define WITH_STUDENT(x) DOC2(FIRST, LAST, x, TEST, MARKS("20", "13"))
#define WITH_TEST(x) DOC2(FIRST, LAST, STUDENT, x, MARKS("20", "13"))
#define WITH_MARKS(x) DOC2(FIRST, LAST, STUDENT, TEST, x)

/* The XML prologue and DOCTYPE of the entity documents: the declarations are on line 3. */
#define DTD(decls) "<?xml version=\"1.0\"?>\n<!DOCTYPE mcq-test-results [\n" decls "\n]>\n"

/* --- refusals, table-driven --------------------------------------------------------------- */

struct refusal {
    const char *name;
    const char *xml;
    enum markr_error_code code;
    const char *reason;
    size_t index;
    unsigned long line;
    const char *field;
};

static void check_refusal(const struct refusal *c, const char *xml, size_t len)
{
    struct markr_document doc;
    struct markr_error err;
    int rc;

    markr_document_init(&doc);
    rc = parse_bytes(xml, len, &doc, &err);
    if (rc != -1)
        fail_msg("%s: accepted, expected a refusal (%s)", c->name, c->reason);
    if (err.code != c->code || strcmp(err.reason, c->reason) != 0 || err.result_index != c->index ||
        err.line != c->line || strcmp(err.field, c->field) != 0)
        fail_msg("%s: got code %d reason %s index %zu line %lu field '%s' (%s); want code %d reason %s index %zu "
                 "line %lu field '%s'",
                 c->name, err.code, err.reason, err.result_index, err.line, err.field, err.message, c->code, c->reason,
                 c->index, c->line, c->field);
    if (err.message[0] == '\0' || strchr(err.message, '\n') != NULL)
        fail_msg("%s: the message must be one non-empty line: '%s'", c->name, err.message);
    markr_document_free(&doc);
}

static void check_refusals(const struct refusal *cases, size_t n)
{
    for (size_t i = 0; i < n; ++i)
        check_refusal(&cases[i], cases[i].xml, strlen(cases[i].xml));
}

#define INVALID(name, xml, reason, index, line, field) {name, xml, MARKR_ERR_INVALID, reason, index, line, field}
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Rule 1: each important field missing, or present and empty after trimming. */
static void refuses_missing_fields(void **state)
{
    static const struct refusal cases[] = {
        INVALID("no student-number", WITH_STUDENT(NONE), "missing_field", 2, L_RESULT, "student-number"),
        INVALID("no test-id", WITH_TEST(NONE), "missing_field", 2, L_RESULT, "test-id"),
        INVALID("no summary-marks", WITH_MARKS(NONE), "missing_field", 2, L_RESULT, "summary-marks"),
        INVALID("summary-marks without marks", WITH_MARKS("    <summary-marks/>"), "missing_field", 2, L_RESULT,
                "summary-marks"),
        INVALID("no available", WITH_MARKS("    <summary-marks obtained=\"13\"/>"), "missing_field", 2, L_RESULT,
                "summary-marks/@available"),
        INVALID("no obtained", WITH_MARKS("    <summary-marks available=\"20\"/>"), "missing_field", 2, L_RESULT,
                "summary-marks/@obtained"),
        INVALID("blank student-number", WITH_STUDENT("<student-number> \t\r </student-number>"), "missing_field", 2,
                L_STUDENT, "student-number"),
        INVALID("empty test-id", WITH_TEST("<test-id/>"), "missing_field", 2, L_TEST, "test-id"),
        INVALID("empty obtained", WITH_MARKS(MARKS("20", "")), "missing_field", 2, L_MARKS,
                "summary-marks/@obtained"),
        INVALID("blank available", WITH_MARKS(MARKS("  ", "1")), "missing_field", 2, L_MARKS,
                "summary-marks/@available"),
        INVALID("first result", HEAD "  <mcq-test-result>\n    <student-number>1</student-number>\n" MARKS("2", "1")
                                     "\n  </mcq-test-result>\n" TAIL,
                "missing_field", 1, 2, "test-id"),
    };

    check_refusals(cases, COUNT(cases));
}

/* Rule 1: marks are decimal integers that fit in 32 bits (signed, as SQL integer). */
static void refuses_marks_that_are_not_integers(void **state)
{
    static const struct refusal cases[] = {
        INVALID("12a", WITH_MARKS(MARKS("20", "12a")), "not_an_integer", 2, L_MARKS, "summary-marks/@obtained"),
        INVALID("-1", WITH_MARKS(MARKS("20", "-1")), "not_an_integer", 2, L_MARKS, "summary-marks/@obtained"),
        INVALID("+3", WITH_MARKS(MARKS("20", "+3")), "not_an_integer", 2, L_MARKS, "summary-marks/@obtained"),
        INVALID("' 1 2'", WITH_MARKS(MARKS("20", " 1 2")), "not_an_integer", 2, L_MARKS, "summary-marks/@obtained"),
        INVALID("1.5", WITH_MARKS(MARKS("20", "1.5")), "not_an_integer", 2, L_MARKS, "summary-marks/@obtained"),
        INVALID("0x10", WITH_MARKS(MARKS("20", "0x10")), "not_an_integer", 2, L_MARKS, "summary-marks/@obtained"),
        INVALID("2^32", WITH_MARKS(MARKS("4294967296", "1")), "not_an_integer", 2, L_MARKS,
                "summary-marks/@available"),
        INVALID("2^31", WITH_MARKS(MARKS("2147483648", "1")), "not_an_integer", 2, L_MARKS,
                "summary-marks/@available"),
        INVALID("twenty", WITH_MARKS(MARKS("twenty", "1")), "not_an_integer", 2, L_MARKS,
                "summary-marks/@available"),
        INVALID("obtained > available", WITH_MARKS(MARKS("20", "21")), "obtained_exceeds_available", 2, L_MARKS,
                "summary-marks/@obtained"),
        INVALID("available 0", WITH_MARKS(MARKS("0", "0")), "zero_available", 2, L_MARKS, "summary-marks/@available"),
    };

    check_refusals(cases, COUNT(cases));
}

/* An identifying field or the marks twice in one result is ambiguous on paper: refused,
 * never guessed (ADR 0005). A repeated name is not refused: see
 * reads_cdata_and_character_references. */
static void refuses_a_repeated_field(void **state)
{
    static const struct refusal cases[] = {
        INVALID("two student-numbers",
                WITH_STUDENT("<student-number>7</student-number><student-number>8</student-number>"),
                "duplicate_field", 2, L_STUDENT, "student-number"),
        INVALID("two test-ids", WITH_TEST("<test-id>8</test-id><test-id>9</test-id>"), "duplicate_field", 2, L_TEST,
                "test-id"),
        INVALID("two summary-marks", WITH_MARKS(MARKS("20", "1") MARKS("20", "2")), "duplicate_field", 2, L_MARKS,
                "summary-marks"),
    };

    check_refusals(cases, COUNT(cases));
}

static void refuses_a_document_without_results(void **state)
{
    static const struct refusal cases[] = {
        INVALID("empty root", HEAD TAIL, "no_results", 0, 0, ""),
        INVALID("self-closed root", "<?xml version=\"1.0\"?>\n<mcq-test-results/>", "no_results", 0, 0, ""),
        INVALID("only extras", HEAD "  <mcq-test-summary count=\"0\"/>\n" TAIL, "no_results", 0, 0, ""),
    };

    check_refusals(cases, COUNT(cases));
}

/* Another kind of document is refused at its root element, before anything else is read:
 * even a broken tail is never reached. */
static void refuses_another_root_at_once(void **state)
{
    static const struct refusal cases[] = {
        INVALID("a single result", JANE, "wrong_root", 0, 1, ""),
        INVALID("html with a broken tail", "<?xml version=\"1.0\"?>\n<html><body><p>not ours <unclosed", "wrong_root",
                0, 2, ""),
        INVALID("prefixed root", "<m:mcq-test-results xmlns:m=\"urn:markr\">" JANE "</m:mcq-test-results>",
                "wrong_root", 0, 1, ""),
    };
    struct markr_document doc;
    struct markr_error err;

    check_refusals(cases, COUNT(cases));

    markr_document_init(&doc);
    assert_int_equal(parse_bytes(cases[1].xml, strlen(cases[1].xml), &doc, &err), -1);
    assert_non_null(strstr(err.message, "<html>"));
    assert_non_null(strstr(err.message, "mcq-test-results"));
    markr_document_free(&doc);

    /* Long names of two-byte characters, prefix and local name: the quote is bounded and
     * cut between characters, and so is the message, so the JSON answer stays UTF-8. */
    {
        struct text t = {0};

        text_puts(&t, "<a"); /* an odd offset: a byte limit falls inside a character */
        text_repeat(&t, "\xc3\xa9", 150);
        text_puts(&t, ":x");
        text_repeat(&t, "\xc3\xa9", 150);
        text_puts(&t, " xmlns:a");
        text_repeat(&t, "\xc3\xa9", 150);
        text_puts(&t, "=\"urn:x\"/>");
        markr_document_init(&doc);
        assert_int_equal(parse_bytes(t.s, t.len, &doc, &err), -1);
        assert_string_equal(err.reason, "wrong_root");
        assert_true(markr_utf8_valid(err.message, strlen(err.message)));
        assert_non_null(strstr(err.message, "not <mcq-test-results>"));
        markr_document_free(&doc);
        free(t.s);
    }
}

/* Not well-formed: 400, with libxml2's reason on one line and the place. */
static void refuses_xml_that_is_not_well_formed(void **state)
{
    static const struct refusal cases[] = {
        {"truncated", HEAD JANE, MARKR_ERR_MALFORMED, "malformed_xml", 0, 8, ""},
        {"truncated in a result", HEAD JANE "  <mcq-test-result>\n    <first-name>Ann", MARKR_ERR_MALFORMED,
         "malformed_xml", 2, 10, ""},
        {"mismatched tags", WITH_FIRST("    <first-name>Ann</last-name>"), MARKR_ERR_MALFORMED, "malformed_xml", 2,
         L_FIRST, ""},
        {"unclosed attribute", WITH_MARKS("    <summary-marks available=\"20 obtained=\"1\"/>"), MARKR_ERR_MALFORMED,
         "malformed_xml", 2, L_MARKS, ""},
        {"two roots", HEAD JANE TAIL "<mcq-test-results/>\n", MARKR_ERR_MALFORMED, "malformed_xml", 0, 10, ""},
        {"text after the root", HEAD JANE TAIL "trailing\n", MARKR_ERR_MALFORMED, "malformed_xml", 0, 10, ""},
        {"invalid byte 0xFF", WITH_FIRST("    <first-name>An\xff</first-name>"), MARKR_ERR_MALFORMED,
         "malformed_xml", 2, L_FIRST, ""},
        {"overlong UTF-8", WITH_LAST("    <last-name>\xc0\xaf</last-name>"), MARKR_ERR_MALFORMED, "malformed_xml", 2,
         L_LAST, ""},
        {"cut UTF-8 sequence", WITH_LAST("    <last-name>Le\xc3</last-name>"), MARKR_ERR_MALFORMED,
         "malformed_xml", 2, L_LAST, ""},
        {"UTF-16 surrogate in UTF-8", WITH_LAST("    <last-name>\xed\xa0\x80</last-name>"), MARKR_ERR_MALFORMED,
         "malformed_xml", 2, L_LAST, ""},
        {"invalid character reference", WITH_FIRST("    <first-name>&#0;</first-name>"), MARKR_ERR_MALFORMED,
         "malformed_xml", 2, L_FIRST, ""},
        {"bare ampersand", WITH_LAST("    <last-name>Lee & Co</last-name>"), MARKR_ERR_MALFORMED, "malformed_xml", 2,
         L_LAST, ""},
        {"not XML at all", "student,test,obtained\n1,1234,13\n", MARKR_ERR_MALFORMED, "malformed_xml", 0, 1, ""},
        {"white space only", " \n\t\n", MARKR_ERR_MALFORMED, "malformed_xml", 0, 3, ""},
    };
    struct markr_document doc;
    struct markr_error err;

    check_refusals(cases, COUNT(cases));

    /* The message carries the line and libxml2's own words, trimmed to one line. */
    markr_document_init(&doc);
    assert_int_equal(parse_bytes(cases[2].xml, strlen(cases[2].xml), &doc, &err), -1);
    assert_non_null(strstr(err.message, "line 10"));
    assert_non_null(strstr(err.message, "Opening and ending tag mismatch"));
    assert_null(strchr(err.message, '\n'));
    markr_document_free(&doc);
    markr_document_init(&doc);
    assert_int_equal(parse_bytes(cases[0].xml, strlen(cases[0].xml), &doc, &err), -1);
    assert_non_null(strstr(err.message, "cut short"));
    markr_document_free(&doc);

    /* An empty body, and a NUL byte inside a name (strlen would hide both). */
    check_refusal(&(struct refusal){"empty body", "", MARKR_ERR_MALFORMED, "malformed_xml", 0, 1, ""}, "", 0);
    markr_document_init(&doc);
    assert_int_equal(parse_bytes("", 0, &doc, &err), -1);
    assert_non_null(strstr(err.message, "empty"));
    markr_document_free(&doc);
    {
        static const char nul[] = HEAD JANE "  <mcq-test-result>\n    <first-name>A\0n</first-name>\n";
        check_refusal(&(struct refusal){"NUL byte", nul, MARKR_ERR_MALFORMED, "malformed_xml", 2, L_FIRST, ""}, nul,
                      sizeof(nul) - 1);
    }
}

/* The message of a refusal of xml (len bytes), which must hold needle. */
static void expect_message(const char *xml, size_t len, const char *needle, unsigned long line)
{
    struct markr_document doc;
    struct markr_error err;

    markr_document_init(&doc);
    assert_int_equal(parse_bytes(xml, len, &doc, &err), -1);
    if (strstr(err.message, needle) == NULL || err.line != line)
        fail_msg("message '%s' (line %lu); want '%s' at line %lu", err.message, err.line, needle, line);
    assert_true(markr_utf8_valid(err.message, strlen(err.message)));
    assert_null(strchr(err.message, '\n'));
    markr_document_free(&doc);
}

/* Refusals say what is wrong and what to do, in sentences of ours where libxml2's words
 * would mislead: a body that is not XML, an empty one, a byte that is not UTF-8 (which byte,
 * on which line), entities. */
static void messages_say_what_is_wrong(void **state)
{
    static const char bad_byte[] = WITH_FIRST("    <first-name>An\xff</first-name>");
    static const char control[] = WITH_FIRST("    <first-name>An\x01</first-name>");
    char needle[128];

    expect_message("hello", 5, "line 1: the body is not XML: it starts with 'hello' where an XML document starts "
                               "with '<'", 1);
    expect_message("{\"a\":1}", 7, "the body is not XML: it starts with '{\"a\":1}'", 1);
    expect_message("\n\n  student,test,obtained,available,scanned\n", 45,
                   "line 3: the body is not XML: it starts with 'student,test,obtained,av...'", 3);
    expect_message("\xff\xfe\x01", 3, "it starts with '?\?\?'", 1);
    {
        static const char none[] = WITH_MARKS("    <summary-marks/>"), gone[] = WITH_MARKS(NONE);

        expect_message(none, sizeof(none) - 1, "summary-marks has neither available nor obtained", L_RESULT);
        expect_message(gone, sizeof(gone) - 1, "summary-marks is missing", L_RESULT);
    }
    expect_message("", 0, "the document is empty: it has no root element", 1);
    expect_message(" \n", 2, "the document is empty", 2);
    snprintf(needle, sizeof(needle), "line %d: byte %zu (0xFF) is not valid UTF-8", L_FIRST,
             (size_t)(strchr(bad_byte, '\xff') - bad_byte) + 1);
    expect_message(bad_byte, strlen(bad_byte), needle, L_FIRST);
    expect_message(bad_byte, strlen(bad_byte), "declare the encoding it is in", L_FIRST);
    snprintf(needle, sizeof(needle), "line %d: byte %zu (0x01) is a control character", L_FIRST,
             (size_t)(strchr(control, '\x01') - control) + 1);
    expect_message(control, strlen(control), needle, L_FIRST);
    expect_message(DTD("  <!ENTITY a \"x\">") HEAD TAIL, strlen(DTD("  <!ENTITY a \"x\">") HEAD TAIL),
                   "line 3: the document declares the entity 'a'; documents may not declare entities", 3);
    expect_message(WITH_FIRST("<first-name>&foo;</first-name>"), strlen(WITH_FIRST("<first-name>&foo;</first-name>")),
                   "the document uses the entity 'foo'; only XML's own", L_FIRST);
}

/* The fixture, cut in the middle of a result, is refused whole. */
static void refuses_the_fixture_truncated(void **state)
{
    size_t len;
    char *xml = read_fixture(&len);
    struct markr_document doc;
    struct markr_error err;

    markr_document_init(&doc);
    assert_int_equal(parse_bytes(xml, len / 2, &doc, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_MALFORMED);
    assert_string_equal(err.reason, "malformed_xml");
    assert_true(err.line > 0);
    assert_int_equal(err.result_index, doc.count + 1); /* the result being read when the bytes ran out */
    markr_document_free(&doc);
    free(xml);
}

/* --- accepted documents --------------------------------------------------------------------- */

/* Parses xml, which must be accepted with `count` results. */
static void accept(const char *xml, size_t len, size_t count, struct markr_document *doc)
{
    struct markr_error err;

    markr_document_init(doc);
    if (parse_bytes(xml, len, doc, &err) != 0)
        fail_msg("refused: %s (%s, line %lu, field '%s')", err.message, err.reason, err.line, err.field);
    assert_int_equal(err.code, MARKR_OK);
    assert_int_equal(doc->count, count);
}

static void accept_text(const char *xml, size_t count, struct markr_document *doc)
{
    accept(xml, strlen(xml), count, doc);
}

/* The values a test finds itself in the fixture's text, to compare with the parser's. */
struct expected {
    unsigned long line;
    char first[64], last[64], student[64], test[64];
    unsigned available, obtained;
};

static void element_text(const char *from, const char *to, const char *name, char *out, size_t size)
{
    char open[64], close[64];
    const char *a, *b;

    snprintf(open, sizeof(open), "<%s>", name);
    snprintf(close, sizeof(close), "</%s>", name);
    a = strstr(from, open);
    assert_true(a != NULL && a < to);
    a += strlen(open);
    b = strstr(a, close);
    assert_true(b != NULL && b < to && (size_t)(b - a) < size);
    memcpy(out, a, (size_t)(b - a));
    out[b - a] = '\0';
}

/* The next <mcq-test-result> start tag at or after from, or NULL. */
static const char *next_result(const char *from)
{
    static const char tag[] = "<mcq-test-result";

    for (const char *r = from; (r = strstr(r, tag)) != NULL; ++r)
        if (r[sizeof(tag) - 1] == ' ' || r[sizeof(tag) - 1] == '>' || r[sizeof(tag) - 1] == '\n')
            return r;
    return NULL;
}

static size_t scan_fixture(const char *xml, struct expected *out, size_t max)
{
    const char *counted = xml; /* the newlines before it are in line */
    unsigned long line = 1;
    size_t n = 0;

    for (const char *r = next_result(xml); r != NULL; r = next_result(r + 1)) {
        const char *end = strstr(r, "</mcq-test-result>");
        const char *marks = strstr(r, "<summary-marks");

        assert_true(end != NULL && n < max);
        for (; counted < r; ++counted)
            line += *counted == '\n';
        out[n].line = line;
        element_text(r, end, "first-name", out[n].first, sizeof(out[n].first));
        element_text(r, end, "last-name", out[n].last, sizeof(out[n].last));
        element_text(r, end, "student-number", out[n].student, sizeof(out[n].student));
        element_text(r, end, "test-id", out[n].test, sizeof(out[n].test));
        assert_true(marks != NULL && marks < end);
        assert_int_equal(sscanf(marks, "<summary-marks available=\"%u\" obtained=\"%u\"", &out[n].available,
                                &out[n].obtained),
                         2);
        ++n;
    }
    return n;
}

/* The fixture: 100 results of test 9863, each with the names, ids, marks and line that a
 * plain text scan of the file finds. */
static void reads_the_fixture_whole(void **state)
{
    static struct expected want[128];
    size_t len, n;
    char *xml = read_fixture(&len);
    struct markr_document doc;

    n = scan_fixture(xml, want, COUNT(want));
    assert_int_equal(n, 100);
    accept(xml, len, 100, &doc);
    for (size_t i = 0; i < n; ++i) {
        const struct markr_result *r = &doc.results[i];

        assert_int_equal(r->line, want[i].line);
        assert_string_equal(r->first_name, want[i].first);
        assert_string_equal(r->last_name, want[i].last);
        assert_string_equal(r->student_number, want[i].student);
        assert_string_equal(r->test_id, want[i].test);
        assert_int_equal(r->available, want[i].available);
        assert_int_equal(r->obtained, want[i].obtained);
    }
    /* An anchor that does not depend on the scan: the first result of the file. */
    assert_int_equal(doc.results[0].line, 3);
    assert_string_equal(doc.results[0].first_name, "KJ");
    assert_string_equal(doc.results[0].last_name, "Alysander");
    assert_string_equal(doc.results[0].student_number, "002299");
    assert_string_equal(doc.results[0].test_id, "9863");
    assert_int_equal(doc.results[0].available, 20);
    assert_int_equal(doc.results[0].obtained, 13);
    markr_document_free(&doc);
    free(xml);
}

/* Student numbers and test ids are opaque: 002299 and 2299 are two students. */
static void keeps_leading_zeros(void **state)
{
    struct markr_document doc;
    struct markr_marks marks;
    struct markr_error err;

    accept_text(WITH_STUDENT("    <student-number>\n   002299\n</student-number>"), 2, &doc);
    assert_string_equal(doc.results[1].student_number, "002299");
    markr_document_free(&doc);

    accept_text(HEAD JANE "<mcq-test-result><student-number>002299</student-number><test-id>0042</test-id>" MARKS(
                    "20", "1") "</mcq-test-result><mcq-test-result><student-number>2299</student-number>"
                               "<test-id>42</test-id>" MARKS("20", "2") "</mcq-test-result>" TAIL,
                3, &doc);
    assert_string_equal(doc.results[1].student_number, "002299");
    assert_string_equal(doc.results[1].test_id, "0042");
    assert_string_equal(doc.results[2].student_number, "2299");
    assert_string_equal(doc.results[2].test_id, "42");
    assert_int_equal(markr_marks_from_document(&doc, &marks, &err), 0);
    assert_int_equal(marks.students, 3);
    assert_int_equal(marks.test_count, 3);
    markr_marks_free(&marks);
    markr_document_free(&doc);
}

/* Extra elements, attributes, comments, processing instructions and namespaces are ignored;
 * fields are read only as direct children of a result. */
static void ignores_extra_content(void **state)
{
    static const char xml[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<?machine firmware=\"1.2\"?>\n"
        "<mcq-test-results xmlns=\"urn:markr\" version=\"2\" scanner=\"B-12\">\n"
        "  <generated-by>machine 7<first-name>Not a result</first-name></generated-by>\n"
        "  <!-- a comment -->\n"
        "  <mcq-test-result scanned-on=\"2017-12-04T12:12:10+11:00\" sheet=\"4\">\n"
        "    <extras><first-name>Impostor</first-name><student-number>999</student-number></extras>\n"
        "    <first-name>Jane</first-name>\n"
        "    <x:student-number xmlns:x=\"urn:x\">777</x:student-number>\n"
        "    <y:undeclared-prefix>ignored</y:undeclared-prefix>\n"
        "    <last-name lang=\"en\">Austen</last-name>\n"
        "    <student-number>521585128</student-number>\n"
        "    <test-id>1234</test-id>\n"
        "    <answer question=\"0\" marks-available=\"1\" marks-awarded=\"1\">D</answer>\n"
        "    <summary-marks available=\"20\" obtained=\"13\" x:obtained=\"99\" grade=\"B\" xmlns:x=\"urn:x\"/>\n"
        "    <mcq-test-result><student-number>nested</student-number></mcq-test-result>\n"
        "  </mcq-test-result>\n"
        "  <mcq-test-summary results=\"1\"/>\n"
        "</mcq-test-results>\n";
    struct markr_document doc;

    accept_text(xml, 1, &doc);
    assert_string_equal(doc.results[0].first_name, "Jane");
    assert_string_equal(doc.results[0].last_name, "Austen");
    assert_string_equal(doc.results[0].student_number, "521585128");
    assert_string_equal(doc.results[0].test_id, "1234");
    assert_int_equal(doc.results[0].available, 20);
    assert_int_equal(doc.results[0].obtained, 13);
    assert_int_equal(doc.results[0].line, 6);
    markr_document_free(&doc);
}

/* Names are optional; empty ones are stored as absent. */
static void takes_results_without_names(void **state)
{
    struct markr_document doc;

    accept_text(DOC2(NONE, "<last-name>  </last-name>", STUDENT, TEST, MARKS("20", "13")), 2, &doc);
    assert_null(doc.results[1].first_name);
    assert_null(doc.results[1].last_name);
    assert_int_equal(doc.results[1].line, L_RESULT);
    markr_document_free(&doc);
}

/* CDATA, character references and the five predefined entities are plain text. */
static void reads_cdata_and_character_references(void **state)
{
    struct markr_document doc;

    accept_text(DOC2("<first-name><![CDATA[Ann & <Co>]]></first-name>",
                     "<last-name>Lee &amp; Co &lt;&gt;&quot;&apos; &#65;&#x42;&#x20AC;</last-name>",
                     "<student-number>00<![CDATA[22]]>99</student-number>", "<test-id>&#49;234</test-id>",
                     "<summary-marks available=\"&#50;0\" obtained=\" 13 \"/>"),
                2, &doc);
    assert_string_equal(doc.results[1].first_name, "Ann & <Co>");
    assert_string_equal(doc.results[1].last_name, "Lee & Co <>\"' AB\xe2\x82\xac");
    assert_string_equal(doc.results[1].student_number, "002299");
    assert_string_equal(doc.results[1].test_id, "1234");
    assert_int_equal(doc.results[1].available, 20);
    assert_int_equal(doc.results[1].obtained, 13);
    markr_document_free(&doc);

    /* A repeated name is not ambiguous about whose mark it is: the last one wins. */
    accept_text(WITH_FIRST("<first-name>A</first-name><first-name>Bea</first-name>"), 2, &doc);
    assert_string_equal(doc.results[1].first_name, "Bea");
    markr_document_free(&doc);
    accept_text(WITH_LAST("<last-name>X</last-name><last-name>  Lee </last-name>"), 2, &doc);
    assert_string_equal(doc.results[1].last_name, "Lee");
    markr_document_free(&doc);

    /* The text of a field is all of its text, nested elements included. */
    accept_text(WITH_FIRST("<first-name>An<b>n</b></first-name>"), 2, &doc);
    assert_string_equal(doc.results[1].first_name, "Ann");
    markr_document_free(&doc);
}

/* Encodings: a declared Latin-1 document and a UTF-8 byte order mark; names come out UTF-8. */
static void reads_declared_encodings(void **state)
{
    struct markr_document doc;

    accept_text("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n" HEAD "<mcq-test-result>"
                "<first-name>Zo\xeb</first-name><student-number>1</student-number><test-id>1</test-id>" MARKS(
                    "2", "1") "</mcq-test-result>" TAIL,
                1, &doc);
    assert_string_equal(doc.results[0].first_name, "Zo\xc3\xab");
    markr_document_free(&doc);

    accept_text("\xef\xbb\xbf" HEAD JANE TAIL, 1, &doc);
    assert_string_equal(doc.results[0].first_name, "Jane");
    markr_document_free(&doc);
}

/* A two-byte character split between two chunks given to libxml2 is read whole: it is put
 * at every position around the first 64 KiB boundary, wherever the adapter cuts. */
static void reads_a_character_across_chunks(void **state)
{
    static const char open[] = "<mcq-test-result><first-name>Zo";
    const size_t boundary = 64 * 1024;

    for (size_t at = boundary - 8; at <= boundary + 8; ++at) {
        struct text t = {0};
        struct markr_document doc;

        text_puts(&t, HEAD JANE);
        text_repeat(&t, " ", at - t.len - (sizeof(open) - 1));
        text_puts(&t, open);
        assert_int_equal(t.len, at);
        text_puts(&t, "\xc3\xab</first-name><student-number>1</student-number><test-id>1</test-id>" MARKS("2", "1")
                      "</mcq-test-result>" TAIL);
        accept(t.s, t.len, 2, &doc);
        assert_string_equal(doc.results[1].first_name, "Zo\xc3\xab");
        markr_document_free(&doc);
        free(t.s);
    }
}

/* --- limits --------------------------------------------------------------------------------- */

/* Raw text is bounded by MARKR_XML_MAX_FIELD_BYTES (white space included), trimmed text by
 * the domain's MARKR_TEXT_MAX. */
static void bounds_the_length_of_fields(void **state)
{
    struct text t = {0};
    struct markr_document doc;
    struct refusal c = {"", NULL, MARKR_ERR_INVALID, "field_too_long", 2, L_FIRST, "first-name"};

    /* Exactly the limit, mostly white space: taken and trimmed. */
    text_puts(&t, HEAD JANE "  <mcq-test-result>\n<first-name>Ann");
    text_repeat(&t, " ", MARKR_XML_MAX_FIELD_BYTES - 3);
    text_puts(&t, "</first-name>\n" LAST "\n" STUDENT "\n" TEST "\n" MARKS("20", "13") "\n  </mcq-test-result>\n" TAIL);
    accept(t.s, t.len, 2, &doc);
    assert_string_equal(doc.results[1].first_name, "Ann");
    markr_document_free(&doc);
    free(t.s);

    /* One byte more: refused by the adapter. */
    memset(&t, 0, sizeof(t));
    text_puts(&t, HEAD JANE "  <mcq-test-result>\n<first-name>Ann");
    text_repeat(&t, " ", MARKR_XML_MAX_FIELD_BYTES - 2);
    text_puts(&t, "</first-name>\n" LAST "\n" STUDENT "\n" TEST "\n" MARKS("20", "13") "\n  </mcq-test-result>\n" TAIL);
    c.name = "one byte over the raw limit";
    check_refusal(&c, t.s, t.len);
    free(t.s);

    /* A long attribute value, refused by the adapter too. */
    memset(&t, 0, sizeof(t));
    text_puts(&t, HEAD JANE "  <mcq-test-result>\n" FIRST "\n" LAST "\n" STUDENT "\n" TEST "\n"
                            "<summary-marks available=\"");
    text_repeat(&t, "0", MARKR_XML_MAX_FIELD_BYTES + 1);
    text_puts(&t, "20\" obtained=\"1\"/>\n  </mcq-test-result>\n" TAIL);
    c = (struct refusal){"long attribute", NULL, MARKR_ERR_INVALID, "field_too_long", 2, L_MARKS,
                         "summary-marks/@available"};
    check_refusal(&c, t.s, t.len);
    free(t.s);

    /* 256 bytes of student number: within the raw limit, over the domain's. */
    memset(&t, 0, sizeof(t));
    text_puts(&t, HEAD JANE "  <mcq-test-result>\n" FIRST "\n" LAST "\n<student-number>");
    text_repeat(&t, "1", MARKR_TEXT_MAX + 1);
    text_puts(&t, "</student-number>\n" TEST "\n" MARKS("20", "13") "\n  </mcq-test-result>\n" TAIL);
    c = (struct refusal){"student-number of 256 bytes", NULL, MARKR_ERR_INVALID, "field_too_long", 2, L_STUDENT,
                         "student-number"};
    check_refusal(&c, t.s, t.len);
    free(t.s);
}

static char *nested(const char *before, size_t levels, const char *after, size_t *len)
{
    struct text t = {0};

    text_puts(&t, before);
    text_repeat(&t, "<a>", levels);
    text_repeat(&t, "</a>", levels);
    text_puts(&t, after);
    *len = t.len;
    return t.s;
}

/* MARKR_XML_MAX_DEPTH levels are read; one more is refused, and 10,000 cost no more. */
static void refuses_deep_nesting(void **state)
{
    struct markr_document doc;
    struct timespec start;
    size_t len;
    char *xml;
    struct refusal c = {"10,000 levels in a result", NULL, MARKR_ERR_INVALID, "too_deep", 2, L_RESULT + 1, ""};

    /* root (1), result (2), then 30 levels of <a>: 32 in all. */
    xml = nested(HEAD JANE "  <mcq-test-result>\n", MARKR_XML_MAX_DEPTH - 2,
                 "\n" STUDENT "\n" TEST "\n" MARKS("20", "13") "\n</mcq-test-result>" TAIL, &len);
    accept(xml, len, 2, &doc);
    markr_document_free(&doc);
    free(xml);

    xml = nested(HEAD JANE "  <mcq-test-result>\n", MARKR_XML_MAX_DEPTH - 1,
                 "\n" STUDENT "\n" TEST "\n" MARKS("20", "13") "\n</mcq-test-result>" TAIL, &len);
    c.name = "one level too many";
    check_refusal(&c, xml, len);
    free(xml);

    clock_gettime(CLOCK_MONOTONIC, &start);
    xml = nested(HEAD JANE "  <mcq-test-result>\n", 10000, "</mcq-test-result>" TAIL, &len);
    c.name = "10,000 levels in a result";
    check_refusal(&c, xml, len);
    free(xml);

    xml = nested(HEAD, 10000, TAIL, &len);
    c = (struct refusal){"10,000 levels under the root", NULL, MARKR_ERR_INVALID, "too_deep", 0, 2, ""};
    check_refusal(&c, xml, len);
    free(xml);
    assert_true(seconds_since(&start) < 2.0);
}

/* An extra element <x a0="" a1="" ...> of n attributes (sep between them), alone on its line. */
static void text_attributes(struct text *t, size_t n, const char *sep)
{
    char name[32];

    text_puts(t, "<x");
    for (size_t i = 0; i < n; ++i) {
        snprintf(name, sizeof(name), "%sa%zu=\"\"", sep, i);
        text_puts(t, name);
    }
    text_puts(t, "/>\n");
}

/* Jane's document with an extra element of n attributes on line 9, after `before`. */
static char *with_attributes(const char *before, size_t n, const char *sep, size_t *len)
{
    struct text t = {0};

    text_puts(&t, HEAD JANE);
    text_puts(&t, before);
    text_attributes(&t, n, sep);
    text_puts(&t, TAIL);
    *len = t.len;
    return t.s;
}

/* The same document in UTF-16 (of the byte order `big`) or big-endian UCS-4, with a byte
 * order mark for UTF-16, and for UCS-4 the declaration that names it. */
static char *widened(const char *utf8, size_t len, unsigned width, int big, size_t *out_len)
{
    static const char decl[] = "<?xml version=\"1.0\" encoding=\"UCS-4\"?>";
    size_t head = width == 4 ? sizeof(decl) - 1 : 1, n = (head + len) * width;
    unsigned char *out = calloc(n, 1);

    assert_non_null(out);
    if (width == 2) {
        out[0] = big ? 0xfe : 0xff;
        out[1] = big ? 0xff : 0xfe;
    }
    for (size_t i = 0; i < head + len; ++i) {
        unsigned char c = (unsigned char)(i < head ? (width == 4 ? decl[i] : 0) : utf8[i - head]);

        assert_true(c < 0x80); /* ASCII documents only: one unit per byte */
        if (width == 4 || i >= head)
            out[i * width + (big ? width - 1 : 0)] = c;
    }
    *out_len = n;
    return (char *)out;
}

/* A start tag of more than MARKR_XML_MAX_ATTRIBUTES attributes is refused before libxml2
 * reads it (libxml2 2.9 compares its attributes pair by pair: 160,000 took 15 s); as many
 * is read. The count is of the tag alone: '=' in text, values, comments, CDATA, processing
 * instructions and a DOCTYPE is not counted, in every encoding the lexer reads. */
static void refuses_a_tag_of_too_many_attributes(void **state)
{
    struct refusal c = {"257 attributes", NULL, MARKR_ERR_INVALID, "too_many_attributes", 0, 9, ""};
    struct markr_document doc;
    struct text t = {0};
    size_t len, wide_len;
    char *xml, *wide;

    xml = with_attributes("", MARKR_XML_MAX_ATTRIBUTES, " ", &len);
    accept(xml, len, 1, &doc);
    markr_document_free(&doc);
    free(xml);
    xml = with_attributes("", MARKR_XML_MAX_ATTRIBUTES + 1, " ", &len);
    check_refusal(&c, xml, len);
    free(xml);
    /* On many lines, inside a result (its index), and far past libxml2's first chunk. */
    xml = with_attributes("  <mcq-test-result>\n", 160000, "\n", &len);
    c = (struct refusal){"160,000 attributes in a result", NULL, MARKR_ERR_INVALID, "too_many_attributes", 2, 10, ""};
    check_refusal(&c, xml, len);
    free(xml);
    text_puts(&t, "<!--");
    text_repeat(&t, "-pad", 20000);
    text_puts(&t, "-->\n");
    xml = with_attributes(t.s, 1000, " ", &len);
    c = (struct refusal){"1,000 attributes past 64 KiB", NULL, MARKR_ERR_INVALID, "too_many_attributes", 0, 10, ""};
    check_refusal(&c, xml, len);
    free(xml);
    free(t.s);

    /* UTF-16 of both byte orders, big-endian UCS-4: counted alike. */
    xml = with_attributes("", MARKR_XML_MAX_ATTRIBUTES + 1, " ", &len);
    for (int i = 0; i < 3; ++i) {
        wide = widened(xml, len, i < 2 ? 2 : 4, i != 0, &wide_len);
        c = (struct refusal){i == 0 ? "UTF-16LE" : i == 1 ? "UTF-16BE" : "UCS-4", NULL, MARKR_ERR_INVALID,
                             "too_many_attributes", 0, 9, ""};
        check_refusal(&c, wide, wide_len);
        free(wide);
    }
    free(xml);

    /* Thousands of '=' that are no attributes. */
    memset(&t, 0, sizeof(t));
    text_puts(&t, "<?xml version=\"1.0\"?>\n<!DOCTYPE mcq-test-results [ <!-- \" ]> --> <!ATTLIST x y CDATA \"]>\">"
                  " ]>\n" HEAD JANE "<x a=\"");
    text_repeat(&t, "=", 2000);
    text_puts(&t, "\" b='");
    text_repeat(&t, "=\"", 2000);
    text_puts(&t, "'>");
    text_repeat(&t, "a = b ", 2000);
    text_puts(&t, "<!--");
    text_repeat(&t, " <y z=1", 2000);
    text_puts(&t, " --><![CDATA[<y ");
    text_repeat(&t, "z=\"1 ", 2000);
    text_puts(&t, "]]><?pi <y ");
    text_repeat(&t, "z=1 ", 2000);
    text_puts(&t, "?></x>\n" TAIL);
    accept(t.s, t.len, 1, &doc);
    markr_document_free(&doc);
    wide = widened(t.s, t.len, 2, 0, &wide_len);
    accept(wide, wide_len, 1, &doc);
    markr_document_free(&doc);
    free(wide);
    /* The DOCTYPE's quotes and brackets above do not hide a tag that follows it. */
    t.len = 0;
    text_puts(&t, "<?xml version=\"1.0\"?>\n<!DOCTYPE mcq-test-results [ <!-- ' ]> --> <!ATTLIST x y CDATA \"'\"> ]>\n"
                  HEAD JANE);
    text_attributes(&t, MARKR_XML_MAX_ATTRIBUTES + 1, " ");
    text_puts(&t, TAIL);
    c = (struct refusal){"after a DOCTYPE", NULL, MARKR_ERR_INVALID, "too_many_attributes", 0, 11, ""};
    check_refusal(&c, t.s, t.len);

    /* A fault in the text just before such a tag is still the one reported. */
    xml = with_attributes("\x01", MARKR_XML_MAX_ATTRIBUTES + 1, " ", &len);
    c = (struct refusal){"a control byte before", NULL, MARKR_ERR_MALFORMED, "malformed_xml", 0, 9, ""};
    check_refusal(&c, xml, len);
    free(xml);

    /* libxml2 looks prefixes up through the namespaces of all open elements: their number is
     * bounded too. 25 levels of 10 declarations are read, 26 refused at the 26th. */
    for (int levels = 25; levels <= 26; ++levels) {
        char decl[64];

        t.len = 0;
        text_puts(&t, HEAD JANE);
        for (int d = 0; d < levels; ++d) {
            text_puts(&t, "<n");
            for (int i = 0; i < 10; ++i) {
                snprintf(decl, sizeof(decl), " xmlns:p%d_%d=\"urn:x\"", d, i);
                text_puts(&t, decl);
            }
            text_puts(&t, ">\n");
        }
        for (int d = 0; d < levels; ++d)
            text_puts(&t, "</n>");
        text_puts(&t, "\n" TAIL);
        if (levels == 25) {
            accept(t.s, t.len, 1, &doc);
            markr_document_free(&doc);
        } else {
            c = (struct refusal){"namespaces in scope", NULL, MARKR_ERR_INVALID, "too_many_attributes", 0, 34, ""};
            check_refusal(&c, t.s, t.len);
        }
    }

    /* Attributes the DOCTYPE declares with a default are added to every tag of their element
     * by libxml2, through the same comparisons: as many declarations are read, one more is
     * refused, before any tag. */
    for (int extra = 0; extra <= 1; ++extra) {
        char decl[64];

        t.len = 0;
        text_puts(&t, "<!DOCTYPE mcq-test-results [\n<!ATTLIST x");
        for (int i = 0; i < MARKR_XML_MAX_ATTRIBUTES + extra; ++i) {
            snprintf(decl, sizeof(decl), " %sa%d CDATA \"v\"", i % 2 ? "xmlns:" : "", i);
            text_puts(&t, decl);
        }
        text_puts(&t, ">\n]>\n" HEAD JANE "<x/>\n" TAIL);
        if (!extra) {
            accept(t.s, t.len, 1, &doc);
            markr_document_free(&doc);
        } else {
            c = (struct refusal){"declared attributes", NULL, MARKR_ERR_INVALID, "too_many_attributes", 0, 2, ""};
            check_refusal(&c, t.s, t.len);
        }
    }
    free(t.s);
}

/* The lexer reads UTF-8, UTF-16, UCS-4 and the encodings in which ASCII bytes are ASCII
 * characters; a document libxml2 would read otherwise (EBCDIC, or one whose declaration
 * names another encoding, in which a quote or '=' can be half of a character) is refused. */
static void refuses_encodings_the_lexer_cannot_read(void **state)
{
    static const char ebcdic[] = "\x4c\x6f\xa7\x94\x93\x40\xa5\x85\x99\xa2\x89\x96\x95\x7e\x7f\xf1\x4b\xf0\x7f\x40"
                                 "\x85\x95\x83\x96\x84\x89\x95\x87\x7e\x7f\xc9\xc2\xd4\xf0\xf3\xf7\x7f\x6f\x6e";
    static const char *const refused[] = {"Shift_JIS", "UTF-7", "ISO-2022-JP", "EUC-JP"};
    static const char *const read[] = {"ISO-8859-1", "latin1", "windows-1252", "ISO-8859-15", "UTF-8"};
    struct refusal c = {"EBCDIC", NULL, MARKR_ERR_INVALID, "unsupported_encoding", 0, 1, ""};
    struct markr_document doc;
    char xml[512];

    check_refusal(&c, ebcdic, sizeof(ebcdic) - 1);
    for (size_t i = 0; i < COUNT(refused); ++i) {
        snprintf(xml, sizeof(xml), "<?xml version=\"1.0\" encoding=\"%s\"?>\n" HEAD JANE TAIL, refused[i]);
        c.name = refused[i];
        check_refusal(&c, xml, strlen(xml));
    }
    for (size_t i = 0; i < COUNT(read); ++i) {
        snprintf(xml, sizeof(xml), "<?xml version=\"1.0\" encoding=\"%s\"?>\n" HEAD JANE TAIL, read[i]);
        accept_text(xml, 1, &doc);
        markr_document_free(&doc);
    }
}

#define TEN_MB (10u * 1024 * 1024)
/* libxml2's memory during a parse, whatever the size of the text: a few chunks and tables. */
#define XML_MEMORY_BOUND (1024 * 1024)

/* 10 MB in a field we read is refused as soon as the limit is passed; 10 MB in an element we
 * ignore is well-formed and taken, and in both cases libxml2's memory stays far below the text. */
static void bounds_memory_on_huge_text(void **state)
{
    struct text t = {0};
    struct markr_document doc;
    size_t base, peak;
    struct refusal c = {"10 MB first-name", NULL, MARKR_ERR_INVALID, "field_too_long", 2, L_FIRST, "first-name"};

    text_puts(&t, HEAD JANE "  <mcq-test-result>\n<first-name>");
    text_repeat(&t, "Jane Austen ", TEN_MB / 12);
    text_puts(&t, "</first-name>\n" LAST "\n" STUDENT "\n" TEST "\n" MARKS("20", "13") "\n  </mcq-test-result>\n" TAIL);
    base = peak_reset();
    check_refusal(&c, t.s, t.len);
    peak = atomic_load(&xml_peak) - base;
    print_message("libxml2 peak for a 10 MB first-name: %zu bytes\n", peak);
    assert_true(peak < XML_MEMORY_BOUND);
    free(t.s);

    memset(&t, 0, sizeof(t));
    text_puts(&t, HEAD JANE "  <mcq-test-result>\n" FIRST "\n" LAST "\n" STUDENT "\n" TEST "\n"
                            "<answer question=\"0\">");
    text_repeat(&t, "D \xc3\xa9 &amp; &#65; ", TEN_MB / 16);
    text_puts(&t, "</answer>\n" MARKS("20", "13") "\n  </mcq-test-result>\n" TAIL);
    base = peak_reset();
    accept(t.s, t.len, 2, &doc);
    peak = atomic_load(&xml_peak) - base;
    print_message("libxml2 peak for a 10 MB answer: %zu bytes\n", peak);
    assert_true(peak < XML_MEMORY_BOUND);
    assert_int_equal(atomic_load(&xml_live), base); /* and all of it given back */
    assert_string_equal(doc.results[1].first_name, "Ann");
    markr_document_free(&doc);
    free(t.s);
}

/* --- hostile documents: entities -------------------------------------------------------------- */

/* External entities are refused at their declaration: no file is ever opened. */
static void refuses_external_entities_without_reading_them(void **state)
{
    static const struct refusal cases[] = {
        INVALID("XXE", DTD("  <!ENTITY xxe SYSTEM \"file:///etc/passwd\">") HEAD
                "<mcq-test-result><first-name>&xxe;</first-name></mcq-test-result>" TAIL,
                "entity_refused", 0, 3, ""),
        INVALID("XXE over the network", DTD("  <!ENTITY xxe SYSTEM \"http://127.0.0.1:9/x\">") HEAD TAIL,
                "entity_refused", 0, 3, ""),
        INVALID("external parameter entity", DTD("  <!ENTITY % pe SYSTEM \"file:///etc/passwd\"> %pe;") HEAD TAIL,
                "entity_refused", 0, 3, ""),
        INVALID("unparsed entity",
                DTD("  <!NOTATION gif SYSTEM \"image/gif\"><!ENTITY img SYSTEM \"file:///etc/passwd\" NDATA gif>")
                    HEAD TAIL,
                "entity_refused", 0, 3, ""),
        INVALID("parameter entity reference", DTD("  %undeclared;") HEAD TAIL, "entity_refused", 0, 3, ""),
    };
    struct markr_document doc;
    struct markr_error err;

    atomic_store(&loads, 0);
    check_refusals(cases, COUNT(cases));
    markr_document_init(&doc);
    assert_int_equal(parse_bytes(cases[0].xml, strlen(cases[0].xml), &doc, &err), -1);
    assert_null(strstr(err.message, "root:"));
    assert_non_null(strstr(err.message, "xxe"));
    markr_document_free(&doc);
    assert_int_equal(atomic_load(&loads), 0);

    /* And the loader the adapter installs refuses whatever it is asked. */
    assert_null(markr_loader("file:///etc/passwd", NULL, NULL));
    assert_null(markr_loader("http://127.0.0.1:9/markr.dtd", "-//X//DTD//EN", NULL));
}

/* The billion laughs: refused at the first declaration, long before any expansion. */
static void refuses_an_entity_expansion_bomb_quickly(void **state)
{
    static const struct refusal bomb = INVALID(
        "billion laughs",
        DTD("  <!ENTITY lol \"lol\"><!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
            "  <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
            "  <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
            "  <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
            "  <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
            "  <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
            "  <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
            "  <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
            "  <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">") HEAD
        "<mcq-test-result><first-name>&lol9;</first-name><student-number>1</student-number>"
        "<test-id>1</test-id>" MARKS("2", "1") "</mcq-test-result>" TAIL,
        "entity_refused", 0, 3, "");
    struct timespec start;
    size_t base = peak_reset();

    clock_gettime(CLOCK_MONOTONIC, &start);
    check_refusal(&bomb, bomb.xml, strlen(bomb.xml));
    assert_true(seconds_since(&start) < 1.0);
    assert_true(atomic_load(&xml_peak) - base < XML_MEMORY_BOUND);
}

/* Only the five predefined entities and character references are text; any other reference
 * is refused, in content and in attributes, declared or not. */
static void refuses_references_to_other_entities(void **state)
{
    static const struct refusal cases[] = {
        INVALID("undeclared in a field", WITH_FIRST("<first-name>&foo;</first-name>"), "entity_refused", 2, L_FIRST,
                ""),
        INVALID("undeclared in an ignored element", WITH_FIRST("<answer>&nbsp;</answer>"), "entity_refused", 2,
                L_FIRST, ""),
        INVALID("undeclared in an attribute", WITH_MARKS("<summary-marks available=\"&twenty;\" obtained=\"1\"/>"),
                "entity_refused", 2, L_MARKS, ""),
        INVALID("undeclared with an external DTD",
                "<!DOCTYPE mcq-test-results SYSTEM \"markr.dtd\">\n" HEAD "<mcq-test-result>\n"
                "<first-name>&foo;</first-name></mcq-test-result>" TAIL,
                "entity_refused", 1, 4, ""),
    };

    atomic_store(&loads, 0);
    check_refusals(cases, COUNT(cases));
    assert_int_equal(atomic_load(&loads), 0);
}

/* A DOCTYPE is accepted (old firmware may write one) but its external subset is never
 * loaded, and defaults declared in it are not marks: only what is on the paper counts. */
static void accepts_a_doctype_without_entities(void **state)
{
    struct markr_document doc;
    static const struct refusal defaulted = INVALID(
        "obtained from an ATTLIST default",
        "<!DOCTYPE mcq-test-results [\n<!ATTLIST summary-marks obtained CDATA \"13\">\n]>\n" HEAD
        "<mcq-test-result>\n<student-number>1</student-number><test-id>1</test-id>"
        "<summary-marks available=\"20\"/></mcq-test-result>" TAIL,
        "missing_field", 1, 5, "summary-marks/@obtained");

    atomic_store(&loads, 0);
    accept_text("<?xml version=\"1.0\"?>\n<!DOCTYPE mcq-test-results SYSTEM \"file:///etc/passwd\">\n" HEAD JANE TAIL,
                1, &doc);
    assert_int_equal(doc.results[0].line, 4);
    markr_document_free(&doc);

    accept_text("<!DOCTYPE mcq-test-results PUBLIC \"-//Markr//DTD Results 1.0//EN\" "
                "\"http://127.0.0.1:9/markr.dtd\">\n" HEAD JANE TAIL,
                1, &doc);
    markr_document_free(&doc);

    accept_text("<!DOCTYPE mcq-test-results [\n"
                "  <!ELEMENT mcq-test-results (mcq-test-result*)>\n"
                "  <!ATTLIST mcq-test-result scanned-on CDATA #IMPLIED>\n"
                "  <!-- no entities here -->\n"
                "]>\n" HEAD JANE TAIL,
                1, &doc);
    assert_string_equal(doc.results[0].student_number, "521585128");
    markr_document_free(&doc);
    assert_int_equal(atomic_load(&loads), 0);

    check_refusal(&defaulted, defaulted.xml, strlen(defaulted.xml));
}

/* --- threads ------------------------------------------------------------------------------------ */

struct worker {
    const char *xml;
    size_t len;
    unsigned long sum; /* of lines and marks over every result of every round */
    size_t results;
};

static void *parse_rounds(void *arg)
{
    struct worker *w = arg;

    for (int round = 0; round < 5; ++round) {
        struct markr_document doc;
        struct markr_error err;

        markr_document_init(&doc);
        if (parse_bytes(w->xml, w->len, &doc, &err) == 0) {
            w->results += doc.count;
            for (size_t i = 0; i < doc.count; ++i)
                w->sum += doc.results[i].line + doc.results[i].obtained + doc.results[i].available;
        }
        markr_document_free(&doc);
    }
    return NULL;
}

/* Several threads parse at once and each gets the whole fixture: no shared state. */
static void parses_on_several_threads_at_once(void **state)
{
    enum { THREADS = 4 };
    struct worker alone = {0}, w[THREADS];
    pthread_t tid[THREADS];
    size_t len;
    char *xml = read_fixture(&len);

    alone.xml = xml;
    alone.len = len;
    parse_rounds(&alone);
    assert_int_equal(alone.results, 500);
    for (int i = 0; i < THREADS; ++i) {
        w[i] = (struct worker){.xml = xml, .len = len};
        assert_int_equal(pthread_create(&tid[i], NULL, parse_rounds, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; ++i) {
        assert_int_equal(pthread_join(tid[i], NULL), 0);
        assert_int_equal(w[i].results, alone.results);
        assert_int_equal(w[i].sum, alone.sum);
    }
    free(xml);
}

/* Answers: attributes and text reach the domain (trimmed, CDATA and nested text included,
 * defaulted attributes ignored); an over-long or broken answer is left out without refusing
 * the document; answers past MARKR_ANSWERS_MAX are not read. */
static void reads_the_answers_of_each_result(void **state)
{
    struct markr_document doc;
    struct text t = {0};

    accept_text("<!DOCTYPE mcq-test-results [<!ATTLIST answer question CDATA \"99\">]><mcq-test-results>"
                "<mcq-test-result><student-number>1</student-number><test-id>t</test-id>"
                "<answer question=\" 2 \" marks-available=\"2\" marks-awarded=\"1\"> <![CDATA[B]]><i>!</i> </answer>"
                "<answer question=\"1\" marks-available=\"1\" marks-awarded=\"x\">A</answer>"
                "<answer marks-available=\"1\" marks-awarded=\"1\">defaulted question: not on paper</answer>"
                "<summary-marks available=\"3\" obtained=\"1\"/></mcq-test-result></mcq-test-results>",
                1, &doc);
    assert_int_equal(doc.results[0].sheet.count, 1);
    assert_string_equal(doc.results[0].sheet.answers[0].question, "2");
    assert_string_equal(doc.results[0].sheet.answers[0].response, "B!");
    assert_int_equal(doc.results[0].sheet.answers[0].awarded, 1);
    assert_int_equal(doc.results[0].sheet.answers[0].available, 2);
    assert_int_equal(doc.results[0].sheet.total, 1);
    markr_document_free(&doc);

    /* One over-long answer, then 1001 valid: the document is accepted, the first 1000
     * elements read, the over-long one left out. */
    text_puts(&t, "<mcq-test-results><mcq-test-result><student-number>1</student-number><test-id>t</test-id>");
    text_puts(&t, "<answer question=\"long\" marks-available=\"1\" marks-awarded=\"1\">");
    text_repeat(&t, "x", 5000);
    text_puts(&t, "</answer>");
    for (int i = 0; i < 1001; ++i) {
        char a[96];

        snprintf(a, sizeof(a), "<answer question=\"%d\" marks-available=\"1\" marks-awarded=\"1\">A</answer>", i);
        text_puts(&t, a);
    }
    text_puts(&t, "<summary-marks available=\"3\" obtained=\"1\"/></mcq-test-result></mcq-test-results>");
    accept(t.s, t.len, 1, &doc);
    assert_int_equal(doc.results[0].sheet.count, MARKR_ANSWERS_MAX - 1);
    assert_int_equal(doc.results[0].sheet.total, MARKR_ANSWERS_MAX - 1);
    markr_document_free(&doc);
    free(t.s);
}

/* The answers' values are kept in an arena that grows while a result is read, and that the
 * result's values already read point into: a first result whose answers, white space
 * included, are many times the arena's first size (each answer's response in pieces: text,
 * CDATA, a nested element's text) keeps every value whole; a second result, read into the
 * arena kept from the first, keeps its own; an answer without text is a blank. */
static void answers_survive_the_growth_of_their_arena(void **state)
{
    enum { ANSWERS = 60, PAD = 300 };
    struct markr_document doc;
    struct text t = {0};

    (void)state;
    text_puts(&t, "<mcq-test-results><mcq-test-result><student-number>1</student-number><test-id>t</test-id>");
    for (int i = 0; i < ANSWERS; ++i) {
        char q[32];

        text_puts(&t, "<answer question=\"");
        text_repeat(&t, " ", PAD);
        snprintf(q, sizeof(q), "q%d", i);
        text_puts(&t, q);
        text_repeat(&t, " ", PAD);
        text_puts(&t, "\" marks-available=\"");
        text_repeat(&t, " ", PAD);
        text_puts(&t, "2\" marks-awarded=\"1\">");
        text_repeat(&t, "\n", PAD);
        snprintf(q, sizeof(q), "r%d", i);
        text_puts(&t, q);
        text_puts(&t, "<![CDATA[-]]><i>z</i>");
        text_repeat(&t, " ", PAD);
        text_puts(&t, "</answer>");
    }
    text_puts(&t, "<summary-marks available=\"3\" obtained=\"1\"/></mcq-test-result>"
                  "<mcq-test-result><student-number>2</student-number><test-id>t</test-id>"
                  "<answer question=\"b\" marks-available=\"1\" marks-awarded=\"0\"/>"
                  "<answer question=\"a\" marks-available=\"3\" marks-awarded=\"3\">A</answer>"
                  "<summary-marks available=\"3\" obtained=\"1\"/></mcq-test-result></mcq-test-results>");
    assert_true(t.len > 4 * 16384);
    accept(t.s, t.len, 2, &doc);
    assert_int_equal(doc.results[0].sheet.count, ANSWERS);
    assert_int_equal(doc.results[0].sheet.total, ANSWERS);
    for (int i = 0; i < ANSWERS; ++i) {
        char want[32];
        /* The order of questions: "q0", "q1", "q10", ... in byte order. */
        const struct markr_answer *a = NULL;

        snprintf(want, sizeof(want), "q%d", i);
        for (size_t k = 0; k < doc.results[0].sheet.count; ++k)
            if (strcmp(doc.results[0].sheet.answers[k].question, want) == 0)
                a = &doc.results[0].sheet.answers[k];
        assert_non_null(a);
        snprintf(want, sizeof(want), "r%d-z", i);
        assert_string_equal(a->response, want);
        assert_int_equal(a->available, 2);
        assert_int_equal(a->awarded, 1);
    }
    assert_int_equal(doc.results[1].sheet.count, 2);
    assert_string_equal(doc.results[1].sheet.answers[0].question, "a");
    assert_string_equal(doc.results[1].sheet.answers[0].response, "A");
    assert_string_equal(doc.results[1].sheet.answers[1].question, "b");
    assert_string_equal(doc.results[1].sheet.answers[1].response, ""); /* a blank */
    assert_int_equal(doc.results[1].sheet.total, 3);
    markr_document_free(&doc);
    free(t.s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_the_fixture_whole),
        cmocka_unit_test(keeps_leading_zeros),
        cmocka_unit_test(ignores_extra_content),
        cmocka_unit_test(takes_results_without_names),
        cmocka_unit_test(reads_cdata_and_character_references),
        cmocka_unit_test(reads_declared_encodings),
        cmocka_unit_test(reads_a_character_across_chunks),
        cmocka_unit_test(refuses_missing_fields),
        cmocka_unit_test(refuses_marks_that_are_not_integers),
        cmocka_unit_test(refuses_a_repeated_field),
        cmocka_unit_test(refuses_a_document_without_results),
        cmocka_unit_test(refuses_another_root_at_once),
        cmocka_unit_test(refuses_xml_that_is_not_well_formed),
        cmocka_unit_test(messages_say_what_is_wrong),
        cmocka_unit_test(refuses_the_fixture_truncated),
        cmocka_unit_test(bounds_the_length_of_fields),
        cmocka_unit_test(refuses_deep_nesting),
        cmocka_unit_test(refuses_a_tag_of_too_many_attributes),
        cmocka_unit_test(refuses_encodings_the_lexer_cannot_read),
        cmocka_unit_test(bounds_memory_on_huge_text),
        cmocka_unit_test(refuses_external_entities_without_reading_them),
        cmocka_unit_test(refuses_an_entity_expansion_bomb_quickly),
        cmocka_unit_test(refuses_references_to_other_entities),
        cmocka_unit_test(accepts_a_doctype_without_entities),
        cmocka_unit_test(parses_on_several_threads_at_once),
        cmocka_unit_test(reads_the_answers_of_each_result),
        cmocka_unit_test(answers_survive_the_growth_of_their_arena),
    };

    /* libxml2 allocates through the counting functions from its first allocation on. */
    if (xmlMemSetup(count_free, count_malloc, count_realloc, count_strdup) != 0)
        return 1;
    markr_xml_global_init();
    markr_loader = xmlGetExternalEntityLoader();
    xmlSetExternalEntityLoader(spy_loader);
    return cmocka_run_group_tests_name("xml_parser", tests, NULL, NULL);
}
