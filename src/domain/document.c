/*
 * Documents and marks: rule 1 (a result is taken only when every important field is
 * present and valid; one bad result refuses the whole document) and rule 2 (duplicates keep
 * the highest obtained and, independently, the highest available).
 */
#include "document.h"
#include "sort.h"

#include <stdlib.h>
#include <string.h>

void markr_document_init(struct markr_document *doc)
{
    memset(doc, 0, sizeof(*doc));
}

/* A result's four strings are one block, which test_id points to (result_texts). */
static void result_free(struct markr_result *r)
{
    free(r->test_id);
    markr_answer_sheet_free(&r->sheet);
}

void markr_document_free(struct markr_document *doc)
{
    for (size_t i = 0; i < doc->count; ++i)
        result_free(&doc->results[i]);
    free(doc->results);
    markr_document_init(doc);
}

/* Copies len bytes of text to *at as a string; returns the copy and moves *at past it. */
static char *put_text(char **at, const char *text, size_t len)
{
    char *s = *at;

    memcpy(s, text, len);
    s[len] = '\0';
    *at = s + len + 1;
    return s;
}

/* Refuses the result at 1-based `index` because of `field`; the line is the field's when
 * it was seen, else the result's. */
static int refuse(struct markr_error *err, const struct markr_raw_result *raw, size_t index, enum markr_field field,
                  const char *reason, const char *what)
{
    unsigned long line = raw->field_line[field] != 0 ? raw->field_line[field] : raw->line;
    const char *name = markr_field_name(field);

    markr_error_set(err, MARKR_ERR_INVALID, reason, "result %zu (line %lu): %s %s", index, line, name, what);
    markr_error_locate(err, index, line, name);
    return -1;
}

/* A required text field, trimmed and bounded. */
static int required_text(const struct markr_raw_result *raw, size_t index, enum markr_field field, const char **text,
                         size_t *len, struct markr_error *err)
{
    *text = raw->text[field];
    *len = raw->len[field];
    if (*text == NULL)
        return refuse(err, raw, index, field, "missing_field", "is missing");
    markr_trim(text, len);
    if (*len == 0)
        return refuse(err, raw, index, field, "missing_field", "is empty");
    if (*len > MARKR_TEXT_MAX)
        return refuse(err, raw, index, field, "field_too_long", "is longer than 255 bytes");
    return 0;
}

static int required_mark(const struct markr_raw_result *raw, size_t index, enum markr_field field, uint32_t *out,
                         struct markr_error *err)
{
    const char *text;
    size_t len;

    if (required_text(raw, index, field, &text, &len, err) != 0)
        return -1;
    if (markr_parse_mark(text, len, out) != 0)
        return refuse(err, raw, index, field, "not_an_integer", "is not a non-negative integer below 2^31");
    return 0;
}

/* An optional name, trimmed and bounded: absent or empty after trimming gives NULL. */
static int optional_text(const struct markr_raw_result *raw, size_t index, enum markr_field field, const char **text,
                         size_t *len, struct markr_error *err)
{
    *text = raw->text[field];
    *len = raw->len[field];
    if (*text == NULL)
        return 0;
    markr_trim(text, len);
    if (*len == 0)
        *text = NULL;
    else if (*len > MARKR_TEXT_MAX)
        return refuse(err, raw, index, field, "field_too_long", "is longer than 255 bytes");
    return 0;
}

/* Copies the result's strings into one block (a malloc per result rather than four: this
 * runs for every result of a document); the names stay NULL when absent. */
static int result_texts(struct markr_result *r, const char *const text[4], const size_t len[4])
{
    char **out[4] = {&r->test_id, &r->student_number, &r->first_name, &r->last_name};
    size_t size = 0;
    char *at;

    for (int i = 0; i < 4; ++i)
        size += text[i] != NULL ? len[i] + 1 : 0; /* each at most MARKR_TEXT_MAX */
    if ((at = malloc(size)) == NULL)
        return -1;
    for (int i = 0; i < 4; ++i)
        *out[i] = text[i] != NULL ? put_text(&at, text[i], len[i]) : NULL;
    return 0;
}

static int grow(struct markr_document *doc, struct markr_error *err)
{
    size_t capacity = doc->capacity != 0 ? doc->capacity * 2 : 64;
    struct markr_result *results;

    if (capacity > SIZE_MAX / sizeof(*results) ||
        (results = realloc(doc->results, capacity * sizeof(*results))) == NULL)
        return markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
    doc->results = results;
    doc->capacity = capacity;
    return 0;
}

int markr_document_add(struct markr_document *doc, const struct markr_raw_result *raw, struct markr_error *err)
{
    size_t index = doc->count + 1;
    struct markr_result r = {.line = raw->line};
    /* test id, student number, first and last name: the order of result_texts */
    const char *text[4];
    size_t len[4];

    if (raw->text[MARKR_FIELD_AVAILABLE] == NULL && raw->text[MARKR_FIELD_OBTAINED] == NULL) {
        markr_error_set(err, MARKR_ERR_INVALID, "missing_field",
                        raw->summary_present ? "result %zu (line %lu): summary-marks has neither available nor obtained"
                                             : "result %zu (line %lu): summary-marks is missing",
                        index, raw->line);
        markr_error_locate(err, index, raw->line, "summary-marks");
        return -1;
    }
    if (required_text(raw, index, MARKR_FIELD_STUDENT_NUMBER, &text[1], &len[1], err) != 0 ||
        required_text(raw, index, MARKR_FIELD_TEST_ID, &text[0], &len[0], err) != 0 ||
        required_mark(raw, index, MARKR_FIELD_AVAILABLE, &r.available, err) != 0 ||
        required_mark(raw, index, MARKR_FIELD_OBTAINED, &r.obtained, err) != 0)
        return -1;
    if (r.available == 0)
        return refuse(err, raw, index, MARKR_FIELD_AVAILABLE, "zero_available", "is 0: no percentage can be given");
    if (r.obtained > r.available)
        return refuse(err, raw, index, MARKR_FIELD_OBTAINED, "obtained_exceeds_available",
                      "is greater than summary-marks/@available");

    if (optional_text(raw, index, MARKR_FIELD_FIRST_NAME, &text[2], &len[2], err) != 0 ||
        optional_text(raw, index, MARKR_FIELD_LAST_NAME, &text[3], &len[3], err) != 0)
        return -1;
    if (doc->count == doc->capacity && grow(doc, err) != 0)
        return -1;
    if (result_texts(&r, text, len) != 0 ||
        markr_answer_sheet_build(raw->answers, raw->answer_count, &r.sheet) != 0) {
        result_free(&r);
        return markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
    }
    doc->results[doc->count++] = r;
    return 0;
}

int markr_document_finish(const struct markr_document *doc, struct markr_error *err)
{
    if (doc->count == 0)
        return markr_error_set(err, MARKR_ERR_INVALID, "no_results",
                               "the document holds no result (no <mcq-test-result>, no score event): nothing to import");
    return 0;
}

/* Orders results by (test id, student number), then by position, so that within a pair the
 * later scan comes last. */
static int compare_results(const void *a, const void *b)
{
    const struct markr_result *x = *(const struct markr_result *const *)a;
    const struct markr_result *y = *(const struct markr_result *const *)b;
    int c = strcmp(x->test_id, y->test_id);

    if (c == 0)
        c = strcmp(x->student_number, y->student_number);
    if (c == 0)
        c = (x > y) - (x < y);
    return c;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static size_t count_distinct_students(const struct markr_marks *out, const char **scratch)
{
    size_t distinct = 0;

    for (size_t i = 0; i < out->count; ++i)
        scratch[i] = out->marks[i].student_number;
    markr_sort(scratch, out->count, sizeof(*scratch), compare_strings);
    for (size_t i = 0; i < out->count; ++i)
        if (i == 0 || strcmp(scratch[i], scratch[i - 1]) != 0)
            ++distinct;
    return distinct;
}

int markr_marks_from_document(const struct markr_document *doc, struct markr_marks *out, struct markr_error *err)
{
    size_t n = doc->count;
    const struct markr_result **order = calloc(n != 0 ? n : 1, sizeof(*order));

    memset(out, 0, sizeof(*out));
    out->marks = calloc(n != 0 ? n : 1, sizeof(*out->marks));
    out->tests = calloc(n != 0 ? n : 1, sizeof(*out->tests));
    if (order == NULL || out->marks == NULL || out->tests == NULL) {
        free(order);
        markr_marks_free(out);
        return markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
    }
    for (size_t i = 0; i < n; ++i)
        order[i] = &doc->results[i];
    markr_sort(order, n, sizeof(*order), compare_results);

    for (size_t i = 0; i < n; ++i) {
        const struct markr_result *r = order[i];
        struct markr_mark *last = out->count != 0 ? &out->marks[out->count - 1] : NULL;

        if (last == NULL || strcmp(last->test_id, r->test_id) != 0 ||
            strcmp(last->student_number, r->student_number) != 0) {
            if (last == NULL || strcmp(last->test_id, r->test_id) != 0)
                out->tests[out->test_count++] = r->test_id;
            last = &out->marks[out->count++];
            *last = (struct markr_mark){.test_id = r->test_id, .student_number = r->student_number};
        }
        if (r->available > last->available)
            last->available = r->available;
        if (r->obtained > last->obtained)
            last->obtained = r->obtained;
        /* The kept sheet: the scan of the highest obtained, the later one among equals
         * (results of a pair come in document order). */
        if (last->sheet == NULL || r->obtained >= last->sheet->obtained)
            last->sheet = r;
        if (r->first_name != NULL)
            last->first_name = r->first_name;
        if (r->last_name != NULL)
            last->last_name = r->last_name;
    }
    /* `order` is no longer needed: reuse it as scratch for the distinct student count. */
    out->students = count_distinct_students(out, (const char **)order);
    free(order);
    out->scans = doc->results;
    out->scan_count = n;
    return 0;
}

void markr_marks_free(struct markr_marks *marks)
{
    free(marks->marks);
    free(marks->tests);
    memset(marks, 0, sizeof(*marks));
}
