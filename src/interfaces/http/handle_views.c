/*
 * The dashboard's views: GET /tests, /results/{test-id}, /students, /students/{student-number}
 * and /results/{test-id}/histogram. Query parameters are read here (a malformed one is a 400
 * before any work is queued); ranges are checked by the use cases; the JSON body is built,
 * serialised and freed on the worker thread from the rows the views reader visits, so no
 * list is copied twice and the loop only sends the bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "application/views.h"
#include "domain/result.h"
#include "exports.h"
#include "handlers.h"
#include "http_job.h"
#include "query.h"
#include "responses.h"

enum view_kind { VIEW_TESTS, VIEW_RESULTS, VIEW_STUDENT, VIEW_STUDENTS, VIEW_HISTOGRAM };

struct view_job {
    struct markr_http_job base;
    enum view_kind kind;
    char id[MARKR_ROUTE_ID_MAX + 1];
    size_t id_len;
    struct markr_results_page page;
    struct markr_tests_page tests_page; /* GET /tests and /students: its cursor points into cursor */
    char cursor[MARKR_TEXT_MAX + 2];    /* one byte more than an id, so that the use case refuses more */
    unsigned bins;
    json_object *rows; /* filled by the visitors during run */
    struct markr_error error;
    int rc;
};

/* --- query parameters -------------------------------------------------------------------- */

#define PARAM_MAX 64

/* Finds name in the query of req and decodes its value into out (room for PARAM_MAX bytes
 * and a NUL). Returns 1 when found, 0 when absent, -1 when malformed or too long. */
static int query_param(h2o_req_t *req, const char *name, char *out)
{
    size_t len;

    return markr_query_get(req->path.base, req->path.len, name, out, PARAM_MAX, &len);
}

/* A decimal integer parameter: absent gives fallback. Returns 0, or -1 when present but not
 * 1 to 9 decimal digits. */
static int query_number(h2o_req_t *req, const char *name, uint64_t fallback, uint64_t *out)
{
    char value[PARAM_MAX + 1];
    int found = query_param(req, name, value);
    int64_t n;

    *out = fallback;
    if (found == 0)
        return 0;
    if (found < 0 || (n = markr_parse_uint(value, strlen(value), 999999999)) < 0)
        return -1;
    *out = (uint64_t)n;
    return 0;
}

static int bad_param(h2o_req_t *req, const char *error, const char *message)
{
    markr_http_send_problem(req, 400, error, message);
    return 0;
}

/* --- visitors (worker thread) --------------------------------------------------------------- */

static json_object *nullable_string(const char *s)
{
    return s != NULL ? markr_json_string(s) : NULL;
}

static void visit_test(void *arg, const struct markr_test_summary *t)
{
    struct view_job *job = arg;
    json_object *o = json_object_new_object();

    json_object_object_add(o, "test_id", markr_json_string(t->test_id));
    json_object_object_add(o, "students", json_object_new_uint64(t->students));
    json_object_object_add(o, "last_change", markr_json_string(t->last_change));
    json_object_array_add(job->rows, o);
}

static void visit_row(void *arg, const struct markr_result_row *r)
{
    struct view_job *job = arg;
    json_object *o = json_object_new_object();

    if (r->test_id != NULL)
        json_object_object_add(o, "test_id", markr_json_string(r->test_id));
    else
        json_object_object_add(o, "student_number", markr_json_string(r->student_number));
    json_object_object_add(o, "first_name", nullable_string(r->first_name));
    json_object_object_add(o, "last_name", nullable_string(r->last_name));
    json_object_object_add(o, "obtained", json_object_new_int64(r->obtained));
    json_object_object_add(o, "available", json_object_new_int64(r->available));
    json_object_object_add(o, "percent", markr_json_percent(r->percent));
    json_object_array_add(job->rows, o);
}

static void visit_student(void *arg, const struct markr_student_summary *s)
{
    struct view_job *job = arg;
    json_object *o = json_object_new_object();

    json_object_object_add(o, "student_number", markr_json_string(s->student_number));
    json_object_object_add(o, "tests", json_object_new_uint64(s->tests));
    json_object_object_add(o, "mean_percent", markr_json_percent(s->mean_percent));
    json_object_array_add(job->rows, o);
}

static json_object *id_string(const struct view_job *job)
{
    return markr_json_string_len(job->id, job->id_len);
}

static void view_run(struct markr_job *base, struct markr_services *services)
{
    struct view_job *job = (struct view_job *)base;
    const struct markr_views_reader *views = &services->views;
    uint64_t total = 0;
    double mean = 0;
    json_object *body = json_object_new_object();

    job->rows = json_object_new_array();
    switch (job->kind) {
    case VIEW_TESTS: {
        char next[MARKR_TEXT_MAX + 1];

        job->rc = markr_list_tests(views, &job->tests_page, visit_test, job, next, &job->error);
        json_object_object_add(body, "tests", json_object_get(job->rows));
        json_object_object_add(body, "next_cursor", next[0] != '\0' ? markr_json_string(next) : NULL);
        break;
    }
    case VIEW_RESULTS:
        job->rc = markr_list_results(views, job->id, job->id_len, &job->page, visit_row, job, &total, &job->error);
        json_object_object_add(body, "test_id", id_string(job));
        json_object_object_add(body, "total", json_object_new_uint64(total));
        json_object_object_add(body, "limit", json_object_new_uint64(job->page.limit));
        json_object_object_add(body, "offset", json_object_new_uint64(job->page.offset));
        json_object_object_add(body, "sort", markr_json_string(job->page.sort == MARKR_SORT_PERCENT
                                                                               ? "percent" : "student_number"));
        json_object_object_add(body, "order", markr_json_string(job->page.descending ? "desc" : "asc"));
        json_object_object_add(body, "results", json_object_get(job->rows));
        break;
    case VIEW_STUDENT: {
        char next[MARKR_TEXT_MAX + 1];

        job->rc = markr_get_student(views, job->id, job->id_len, &job->tests_page, visit_row, job, &mean, next,
                                    &job->error);
        json_object_object_add(body, "student_number", id_string(job));
        json_object_object_add(body, "mean_percent", markr_json_percent(mean));
        json_object_object_add(body, "tests", json_object_get(job->rows));
        json_object_object_add(body, "next_cursor", next[0] != '\0' ? markr_json_string(next) : NULL);
        break;
    }
    case VIEW_STUDENTS:
        job->rc = markr_list_students(views, job->page.limit, job->page.offset, visit_student, job, &total,
                                      &job->error);
        json_object_object_add(body, "total", json_object_new_uint64(total));
        json_object_object_add(body, "limit", json_object_new_uint64(job->page.limit));
        json_object_object_add(body, "offset", json_object_new_uint64(job->page.offset));
        json_object_object_add(body, "students", json_object_get(job->rows));
        break;
    case VIEW_HISTOGRAM: {
        uint64_t counts[MARKR_HISTOGRAM_BINS_MAX];

        job->rc = markr_get_histogram(views, job->id, job->id_len, job->bins, counts, &total, &job->error);
        if (job->rc == 0) {
            for (unsigned i = 0; i < job->bins; ++i) {
                json_object *band = json_object_new_object();

                json_object_object_add(band, "from", markr_json_percent(100.0 * i / job->bins));
                json_object_object_add(band, "to", markr_json_percent(100.0 * (i + 1) / job->bins));
                json_object_object_add(band, "count", json_object_new_uint64(counts[i]));
                json_object_array_add(job->rows, band);
            }
        }
        json_object_object_add(body, "test_id", id_string(job));
        json_object_object_add(body, "bins", json_object_new_uint64(job->bins));
        json_object_object_add(body, "count", json_object_new_uint64(total));
        json_object_object_add(body, "bands", json_object_get(job->rows));
        break;
    }
    }
    json_object_put(job->rows);
    job->rows = NULL;
    if (job->rc != 0) {
        json_object_put(body);
        markr_http_answer_error(&job->base.answer, &job->error, 0);
        return;
    }
    markr_http_answer_json(&job->base.answer, 200, body);
}

static void view_destroy(struct markr_http_job *base)
{
    struct view_job *job = (struct view_job *)base;

    json_object_put(job->rows);
    free(job);
}

/* --- entry points --------------------------------------------------------------------------- */

static struct view_job *new_job(enum view_kind kind, const struct markr_route_match *match)
{
    struct view_job *job = calloc(1, sizeof(*job));

    if (job == NULL)
        return NULL;
    job->kind = kind;
    memcpy(job->id, match->id, match->id_len); /* empty for GET /tests */
    job->id_len = match->id_len;
    job->base.job.run = view_run;
    job->base.destroy = view_destroy;
    return job;
}

static int start(struct markr_worker_pool *pool, h2o_req_t *req, struct view_job *job)
{
    if (job == NULL)
        return -1;
    markr_http_job_start(&job->base, req, pool);
    return 0;
}

/* The job of a list in test id order (GET /tests, /students/{n}), its limit and cursor read
 * from the query (the route takes nothing else: routes.c). NULL after answering 400 (*refused set) or when
 * out of memory. */
static struct view_job *new_list_job(enum view_kind kind, h2o_req_t *req, const struct markr_route_match *match,
                                     int *refused)
{
    struct view_job *job;
    size_t cursor_len = 0;
    int found;

    *refused = 1;
    if ((job = new_job(kind, match)) == NULL) {
        *refused = 0;
        return NULL;
    }
    if (query_number(req, "limit", MARKR_PAGE_LIMIT_DEFAULT, &job->tests_page.limit) != 0) {
        free(job);
        return bad_param(req, "bad_limit", "limit must be an integer from 1 to 1000"), NULL;
    }
    found = markr_query_get(req->path.base, req->path.len, "cursor", job->cursor, sizeof(job->cursor) - 1, &cursor_len);
    if (found < 0) {
        free(job);
        return bad_param(req, "bad_cursor", "cursor must be the next_cursor of a previous page"), NULL;
    }
    if (found == 1) {
        job->tests_page.after = job->cursor;
        job->tests_page.after_len = cursor_len;
    }
    *refused = 0;
    return job;
}

int markr_handle_tests(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match)
{
    int refused, format = markr_http_negotiate(req);
    struct view_job *job;
    char value[PARAM_MAX + 1];
    int whole;

    if (format < 0)
        return 0;
    if ((job = new_list_job(VIEW_TESTS, req, match, &refused)) == NULL)
        return refused ? 0 : -1;
    if (format == MARKR_FORM_JSON)
        return start(handler->pool, req, job);
    /* CSV: every test, unless a page is asked for (limit or cursor). */
    whole = query_param(req, "limit", value) == 0 && job->tests_page.after == NULL;
    refused = markr_export_tests(handler, req, job->tests_page.limit, job->tests_page.after, job->tests_page.after_len,
                                 whole);
    free(job);
    return refused;
}

int markr_handle_results(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match)
{
    struct markr_results_page page = {0};
    char value[PARAM_MAX + 1];
    int found;
    struct view_job *job;

    /* Ranges are the use case's to check; here only the form (digits, known words). */
    if (query_number(req, "limit", MARKR_PAGE_LIMIT_DEFAULT, &page.limit) != 0)
        return bad_param(req, "bad_limit", "limit must be an integer from 1 to 1000");
    if (query_number(req, "offset", 0, &page.offset) != 0)
        return bad_param(req, "bad_offset", "offset must be an integer from 0 to 100000000");
    if ((found = query_param(req, "sort", value)) != 0) {
        if (found < 0 || (strcmp(value, "percent") != 0 && strcmp(value, "student_number") != 0))
            return bad_param(req, "bad_sort", "sort must be percent or student_number");
        page.sort = value[0] == 'p' ? MARKR_SORT_PERCENT : MARKR_SORT_STUDENT;
    }
    if ((found = query_param(req, "order", value)) != 0) {
        if (found < 0 || (strcmp(value, "asc") != 0 && strcmp(value, "desc") != 0))
            return bad_param(req, "bad_order", "order must be asc or desc");
        page.descending = value[0] == 'd';
    }
    if ((found = markr_http_negotiate(req)) < 0)
        return 0;
    /* CSV: every student in the order asked for, unless a page is (limit or offset). */
    if (found == MARKR_FORM_CSV)
        return markr_export_results(handler, req, match, &page,
                                    query_param(req, "limit", value) == 0 && query_param(req, "offset", value) == 0);
    if ((job = new_job(VIEW_RESULTS, match)) == NULL)
        return -1;
    job->page = page;
    return start(handler->pool, req, job);
}

int markr_handle_student(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match)
{
    int refused;
    struct view_job *job = new_list_job(VIEW_STUDENT, req, match, &refused);

    return refused ? 0 : start(handler->pool, req, job);
}

int markr_handle_students(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match)
{
    struct view_job *job;
    uint64_t limit, offset;
    int form;

    /* The route takes limit, offset and format (routes.c). */
    if (query_number(req, "limit", MARKR_PAGE_LIMIT_DEFAULT, &limit) != 0)
        return bad_param(req, "bad_limit", "limit must be an integer from 1 to 1000");
    if (query_number(req, "offset", 0, &offset) != 0)
        return bad_param(req, "bad_offset", "offset must be an integer from 0 to 100000000");
    if ((form = markr_http_negotiate(req)) < 0)
        return 0;
    if (form == MARKR_FORM_CSV)
        return markr_export_students(handler, req, limit, offset);
    if ((job = new_job(VIEW_STUDENTS, match)) == NULL)
        return -1;
    job->page.limit = limit;
    job->page.offset = offset;
    return start(handler->pool, req, job);
}

int markr_handle_histogram(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match)
{
    uint64_t bins;
    struct view_job *job;

    if (query_number(req, "bins", MARKR_HISTOGRAM_BINS_DEFAULT, &bins) != 0)
        return bad_param(req, "bad_bins", "bins must be an integer from 1 to 100");
    if ((job = new_job(VIEW_HISTOGRAM, match)) == NULL)
        return -1;
    job->bins = bins > MARKR_HISTOGRAM_BINS_MAX ? 0 : (unsigned)bins; /* 0: refused by the use case */
    return start(handler->pool, req, job);
}
