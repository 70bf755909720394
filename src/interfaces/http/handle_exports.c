/*
 * CSV answers of the list reads (exports.h): a stream source per list, each page read
 * through its use case on a worker and written as CSV rows (csv.h) there, so the loop
 * only sends bytes. A whole export follows a keyset: each page starts after the last row
 * sent (a test's students: its sort key, percentage and student number, in the order asked
 * for; the tests: the last test id), so an import committed meanwhile can neither repeat a
 * row nor push one out of the export. A mark that changes during the export may move its
 * student across the cursor: listed twice or not at all (ADR 0028). A single page
 * (limit/offset) is what it says.
 */
#include "exports.h"

#include <stdio.h>
#include <string.h>

#include "application/items.h"
#include "application/views.h"
#include "csv.h"
#include "query.h"
#include "responses.h"
#include "stream.h"

/* --- negotiation --------------------------------------------------------------------------- */

int markr_http_negotiate(h2o_req_t *req)
{
    char format[8];
    size_t format_len = 0;
    int found = markr_query_get(req->path.base, req->path.len, "format", format, sizeof(format) - 1, &format_len);
    ssize_t h = h2o_find_header(&req->headers, H2O_TOKEN_ACCEPT, -1);
    int chosen = found < 0 ? -1
                           : markr_negotiate_format(found == 1 ? format : NULL, format_len,
                                                    h >= 0 ? req->headers.entries[h].value.base : NULL,
                                                    h >= 0 ? req->headers.entries[h].value.len : 0);

    /* Either form depends on Accept: a cache must keep them apart. */
    h2o_set_header_token(&req->pool, &req->res.headers, H2O_TOKEN_VARY, H2O_STRLIT("accept"));
    if (chosen < 0)
        markr_http_send_problem(req, 400, "bad_format", "format must be json or csv");
    return chosen;
}

/* Headers of every CSV answer: the type, with its header row, and a file name. */
static void csv_headers(h2o_req_t *req, const char *filename)
{
    char disposition[96];
    int n = snprintf(disposition, sizeof(disposition), "attachment; filename=\"%s\"", filename);

    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("text/csv; charset=utf-8; header=present"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("content-disposition"), 0, NULL,
                          h2o_strdup(&req->pool, disposition, (size_t)n).base, (size_t)n);
}

/* A page that could not be written whole (out of memory) fails rather than go out short. */
static int take_page(struct markr_csv *csv, char **bytes, size_t *len, struct markr_error *err)
{
    if (csv->failed) {
        markr_csv_free(csv);
        return markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
    }
    *bytes = markr_csv_take(csv, len);
    return 0;
}

/* --- a test's students ------------------------------------------------------------------------ */

struct results_state {
    char id[MARKR_ROUTE_ID_MAX + 1];
    size_t id_len;
    struct markr_results_page page; /* the next one */
    int whole;                      /* every student, else exactly one page */
    int header_done;
    /* The last row sent, where a whole export's next page starts. The state is copied
     * between the loop and the workers, so page.after is pointed at it afresh each page. */
    char last[MARKR_TEXT_MAX + 1];
    int has_last;
};

struct results_visit {
    struct markr_csv *csv;
    uint64_t rows;
    struct results_state *state;
};

static void visit_student(void *arg, const struct markr_result_row *r)
{
    struct results_visit *v = arg;

    markr_csv_string(v->csv, r->student_number);
    markr_csv_string(v->csv, r->first_name);
    markr_csv_string(v->csv, r->last_name);
    markr_csv_int(v->csv, r->obtained);
    markr_csv_int(v->csv, r->available);
    markr_csv_number(v->csv, r->percent);
    markr_csv_end_row(v->csv);
    ++v->rows;
    if (v->state->whole) {
        size_t n = strlen(r->student_number);

        if (n > MARKR_TEXT_MAX)
            n = MARKR_TEXT_MAX; /* never: the store keeps ids of at most that */
        memcpy(v->state->last, r->student_number, n);
        v->state->last[n] = '\0';
        v->state->page.after_len = n;
        v->state->page.after_percent = r->percent;
    }
}

static int results_next(void *state, struct markr_services *services, char **bytes, size_t *len, int *last,
                        struct markr_error *err)
{
    static const char *const header[] = {"student_number", "first_name", "last_name", "obtained", "available",
                                         "percent", NULL};
    struct results_state *s = state;
    struct markr_csv csv;
    struct results_visit v = {.csv = &csv, .state = s};
    uint64_t total = 0;

    markr_csv_init(&csv);
    if (!s->header_done)
        markr_csv_header(&csv, header);
    s->page.after = s->has_last ? s->last : NULL;
    if (markr_list_results(&services->views, s->id, s->id_len, &s->page, visit_student, &v, &total, err) != 0) {
        /* The test lost its last student after the first page: the export ends there. */
        if (!s->header_done || err->code != MARKR_ERR_NOT_FOUND) {
            markr_csv_free(&csv);
            return -1;
        }
        total = 0;
    }
    s->header_done = 1;
    s->page.after = NULL; /* pointed at s->last again by the next call, wherever s is then */
    if (s->whole) {
        s->has_last = v.rows != 0 || s->has_last;
        *last = v.rows < s->page.limit;
    } else {
        *last = 1;
    }
    return take_page(&csv, bytes, len, err);
}

static void results_headers(h2o_req_t *req, const void *state)
{
    csv_headers(req, "results.csv");
}

static const struct markr_http_stream_source results_source = {
    .state_size = sizeof(struct results_state),
    .next = results_next,
    .headers = results_headers,
    .name = "results.csv",
};

int markr_export_results(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match,
                         const struct markr_results_page *page, int whole)
{
    struct results_state *s = h2o_mem_alloc_pool(&req->pool, sizeof(*s));

    memset(s, 0, sizeof(*s));
    memcpy(s->id, match->id, match->id_len);
    s->id_len = match->id_len;
    s->page = *page;
    s->whole = whole;
    if (whole) {
        s->page.limit = MARKR_EXPORT_PAGE_ROWS;
        s->page.offset = 0;
    }
    return markr_http_stream_start(handler, req, &results_source, s);
}

/* --- the tests ------------------------------------------------------------------------------- */

struct tests_state {
    uint64_t limit;
    char cursor[MARKR_TEXT_MAX + 2]; /* one byte more than an id, so that the use case refuses more */
    size_t cursor_len;
    int has_cursor; /* else the first page */
    int whole;
    int header_done;
};

static void visit_test(void *arg, const struct markr_test_summary *t)
{
    struct markr_csv *csv = arg;

    markr_csv_string(csv, t->test_id);
    markr_csv_uint(csv, t->students);
    markr_csv_string(csv, t->last_change);
    markr_csv_end_row(csv);
}

static int tests_next(void *state, struct markr_services *services, char **bytes, size_t *len, int *last,
                      struct markr_error *err)
{
    static const char *const header[] = {"test_id", "students", "last_change", NULL};
    struct tests_state *s = state;
    struct markr_tests_page page = {.limit = s->limit,
                                    .after = s->has_cursor ? s->cursor : NULL,
                                    .after_len = s->cursor_len};
    struct markr_csv csv;
    char next[MARKR_TEXT_MAX + 1];

    markr_csv_init(&csv);
    if (!s->header_done)
        markr_csv_header(&csv, header);
    if (markr_list_tests(&services->views, &page, visit_test, &csv, next, err) != 0) {
        markr_csv_free(&csv);
        return -1;
    }
    s->header_done = 1;
    s->cursor_len = strlen(next);
    memcpy(s->cursor, next, s->cursor_len + 1);
    s->has_cursor = s->cursor_len != 0;
    *last = !s->whole || !s->has_cursor;
    return take_page(&csv, bytes, len, err);
}

static void tests_headers(h2o_req_t *req, const void *state)
{
    csv_headers(req, "tests.csv");
}

static const struct markr_http_stream_source tests_source = {
    .state_size = sizeof(struct tests_state),
    .next = tests_next,
    .headers = tests_headers,
    .name = "tests.csv",
};

int markr_export_tests(struct markr_http_handler *handler, h2o_req_t *req, uint64_t limit, const char *cursor,
                       size_t cursor_len, int whole)
{
    struct tests_state *s = h2o_mem_alloc_pool(&req->pool, sizeof(*s));

    memset(s, 0, sizeof(*s));
    s->limit = whole ? MARKR_EXPORT_PAGE_ROWS : limit;
    s->whole = whole;
    if (cursor != NULL) {
        if (cursor_len > sizeof(s->cursor) - 1)
            cursor_len = sizeof(s->cursor) - 1; /* still one byte too many: refused as the JSON one is */
        memcpy(s->cursor, cursor, cursor_len);
        s->cursor_len = cursor_len;
        s->has_cursor = 1;
    }
    return markr_http_stream_start(handler, req, &tests_source, s);
}

/* --- the students ---------------------------------------------------------------------------- */

/* One page (limit, offset), as the JSON answer: the list is read by offset (a page is asked
 * for by its position), so a whole export by offset could repeat or drop students while
 * imports run; a client pages through it as through the JSON form. */
struct students_state {
    uint64_t limit, offset;
};

static void visit_student_summary(void *arg, const struct markr_student_summary *st)
{
    struct markr_csv *csv = arg;

    markr_csv_string(csv, st->student_number);
    markr_csv_uint(csv, st->tests);
    markr_csv_number(csv, st->mean_percent);
    markr_csv_end_row(csv);
}

static int students_next(void *state, struct markr_services *services, char **bytes, size_t *len, int *last,
                         struct markr_error *err)
{
    static const char *const header[] = {"student_number", "tests", "mean_percent", NULL};
    struct students_state *s = state;
    struct markr_csv csv;
    uint64_t total = 0;

    markr_csv_init(&csv);
    markr_csv_header(&csv, header);
    if (markr_list_students(&services->views, s->limit, s->offset, visit_student_summary, &csv, &total, err) != 0) {
        markr_csv_free(&csv);
        return -1;
    }
    *last = 1;
    return take_page(&csv, bytes, len, err);
}

static void students_headers(h2o_req_t *req, const void *state)
{
    csv_headers(req, "students.csv");
}

static const struct markr_http_stream_source students_source = {
    .state_size = sizeof(struct students_state),
    .next = students_next,
    .headers = students_headers,
    .name = "students.csv",
};

int markr_export_students(struct markr_http_handler *handler, h2o_req_t *req, uint64_t limit, uint64_t offset)
{
    struct students_state *s = h2o_mem_alloc_pool(&req->pool, sizeof(*s));

    s->limit = limit;
    s->offset = offset;
    return markr_http_stream_start(handler, req, &students_source, s);
}

/* --- a test's item figures ------------------------------------------------------------------ */

/* Computed on a worker by the use case, not from the cache's JSON on the loop: the answer
 * can reach 1000 questions of 100 responses each, too much to parse and rewrite on the
 * loop. It is one page, bounded by those limits of the use case (markr_get_items). */
struct items_state {
    char id[MARKR_ROUTE_ID_MAX + 1];
    size_t id_len;
};

static void optional_number(struct markr_csv *csv, int has, double value)
{
    if (has)
        markr_csv_number(csv, value);
    else
        markr_csv_text(csv, "", 0); /* JSON's null */
}

/* One row per response of an item (one with empty response cells when it has none). */
static void item_rows(struct markr_csv *csv, const struct markr_item *it)
{
    char flags[256];
    size_t n = 0;

    flags[0] = '\0';
    for (int f = 0; f < MARKR_FLAG_COUNT; ++f)
        if ((it->flags & (1u << f)) && n < sizeof(flags))
            n += (size_t)snprintf(flags + n, sizeof(flags) - n, "%s%s", n != 0 ? ";" : "", markr_item_flag_name(f));
    for (size_t j = 0; j == 0 || j < it->response_count; ++j) {
        markr_csv_string(csv, it->question);
        markr_csv_uint(csv, it->answered);
        markr_csv_int(csv, it->max_marks);
        optional_number(csv, it->has_facility, it->facility);
        optional_number(csv, it->has_discrimination, it->discrimination);
        markr_csv_string(csv, flags);
        if (j < it->response_count) {
            markr_csv_string(csv, it->responses[j].response);
            markr_csv_uint(csv, it->responses[j].count);
            markr_csv_uint(csv, it->responses[j].upper);
            markr_csv_uint(csv, it->responses[j].lower);
        } else {
            for (int k = 0; k < 4; ++k)
                markr_csv_text(csv, "", 0);
        }
        markr_csv_end_row(csv);
    }
}

static int items_next(void *state, struct markr_services *services, char **bytes, size_t *len, int *last,
                      struct markr_error *err)
{
    static const char *const header[] = {"question", "answered", "max_marks", "facility", "discrimination", "flags",
                                         "response", "count",    "upper",     "lower",    NULL};
    struct items_state *s = state;
    struct markr_items items;
    struct markr_csv csv;

    if (markr_get_items(&services->results, s->id, s->id_len, &items, err) != 0)
        return -1;
    markr_csv_init(&csv);
    markr_csv_header(&csv, header);
    for (size_t i = 0; i < items.count; ++i)
        item_rows(&csv, &items.items[i]);
    markr_items_free(&items);
    *last = 1;
    return take_page(&csv, bytes, len, err);
}

static void items_headers(h2o_req_t *req, const void *state)
{
    csv_headers(req, "items.csv");
}

static const struct markr_http_stream_source items_source = {
    .state_size = sizeof(struct items_state),
    .next = items_next,
    .headers = items_headers,
    .name = "items.csv",
};

int markr_export_items(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match)
{
    struct items_state *s = h2o_mem_alloc_pool(&req->pool, sizeof(*s));

    memcpy(s->id, match->id, match->id_len);
    s->id_len = match->id_len;
    return markr_http_stream_start(handler, req, &items_source, s);
}
