/*
 * The import vault over HTTP: GET /imports (newest first, keyset pagination),
 * GET /imports/{id}, GET /tests/{id}/conflicts (GET /imports/{id}/raw streams: handle_raw.c),
 * and the operators' POST /imports/{id}/reprocess. Parameters are checked here, on the
 * loop; the database work runs on a worker thread like every other endpoint.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "application/reprocess.h"
#include "handlers.h"
#include "http_job.h"
#include "live.h"
#include "query.h"
#include "responses.h"

/* --- parameters ---------------------------------------------------------------------------------- */

/* The decoded value of a query parameter of req into the array value: see markr_query_get. */
#define QUERY_GET(req, name, value, out_len)                                                                \
    markr_query_get((req)->path.base, (req)->path.len, (name), (value), sizeof(value) - 1, (out_len))

/* --- JSON ---------------------------------------------------------------------------------------- */

static json_object *reason_json(const struct markr_error *reason)
{
    json_object *o;

    if (reason->reason[0] == '\0')
        return NULL;
    o = json_object_new_object();
    json_object_object_add(o, "error", markr_json_string(reason->reason));
    json_object_object_add(o, "message", markr_json_string(reason->message));
    if (reason->result_index > 0)
        json_object_object_add(o, "result_index", json_object_new_uint64(reason->result_index));
    if (reason->line > 0)
        json_object_object_add(o, "line", json_object_new_uint64(reason->line));
    if (reason->field[0] != '\0')
        json_object_object_add(o, "field", markr_json_string(reason->field));
    return o;
}

static json_object *info_json(const struct markr_import_info *info, int with_tests)
{
    json_object *o = json_object_new_object();
    char raw[48];

    json_object_object_add(o, "import_id", json_object_new_int64(info->id));
    json_object_object_add(o, "status", markr_json_string(info->status));
    json_object_object_add(o, "received_at", markr_json_string(info->received_at));
    json_object_object_add(o, "processed_at",
                           info->processed_at[0] != '\0' ? markr_json_string(info->processed_at) : NULL);
    json_object_object_add(o, "content_type", markr_json_string(info->content_type));
    json_object_object_add(o, "content_encoding", markr_json_string(info->content_encoding));
    json_object_object_add(o, "size_bytes", json_object_new_int64(info->size_bytes));
    json_object_object_add(o, "sha256", markr_json_string(info->sha256));
    json_object_object_add(o, "results", json_object_new_int64(info->result_count));
    json_object_object_add(o, "reason", reason_json(&info->reason));
    if (with_tests) {
        json_object *tests = json_object_new_array_ext((int)info->test_count);

        for (size_t i = 0; i < info->test_count; ++i)
            json_object_array_add(tests, markr_json_string(info->tests[i]));
        json_object_object_add(o, "tests", tests);
        /* The list is cut at MARKR_IMPORT_TESTS_MAX; the count is always the whole. */
        json_object_object_add(o, "test_count", json_object_new_int64(info->test_total));
        json_object_object_add(o, "tests_truncated", json_object_new_boolean(info->test_total >
                                                                              (int64_t)info->test_count));
    }
    snprintf(raw, sizeof(raw), "/imports/%lld/raw", (long long)info->id);
    json_object_object_add(o, "raw", markr_json_string(raw));
    return o;
}

static json_object *strings_json(char **items, size_t count)
{
    json_object *a = json_object_new_array_ext((int)count);

    for (size_t i = 0; i < count; ++i)
        json_object_array_add(a, markr_json_string(items[i]));
    return a;
}

/* --- the job ------------------------------------------------------------------------------------- */

/* What a job does: one kind per route. */
enum vault_kind { VAULT_LIST, VAULT_INFO, VAULT_CONFLICTS, VAULT_REPROCESS };

struct vault_job {
    struct markr_http_job base;
    enum vault_kind kind;
    int64_t id;
    int dry_run;
    struct markr_import_filter filter;
    char test_id[MARKR_ROUTE_ID_MAX + 1];
    size_t test_id_len;
    char sha256[65];
    struct markr_conflicts_page conflicts_page; /* its cursor points into cursor */
    char cursor[MARKR_TEXT_MAX + 2];            /* one byte more than an id, so that the use case refuses more */
    int rc;
    struct markr_error error;
    /* results, by route */
    struct markr_import_page page;
    struct markr_import_info info;
    struct markr_conflicts conflicts;
    struct markr_reprocess_report report;
    struct markr_live *live; /* a reprocessing's: its tests are forgotten before it answers */
};

static void vault_answer(struct vault_job *self);

/* On the worker: the use case, then the JSON answer. */
static void vault_run(struct markr_job *job, struct markr_services *services)
{
    struct vault_job *self = (struct vault_job *)job;
    const struct markr_vault_reader *v = &services->vault;

    markr_error_clear(&self->error);
    switch (self->kind) {
    case VAULT_LIST:
        self->rc = markr_list_imports(v, &self->filter, &self->page, &self->error);
        break;
    case VAULT_INFO:
        self->rc = markr_get_import(v, self->id, &self->info, &self->error);
        break;
    case VAULT_CONFLICTS:
        self->rc = markr_list_conflicts(v, self->test_id, self->test_id_len, &self->conflicts_page,
                                        &self->conflicts, &self->error);
        break;
    case VAULT_REPROCESS:
        self->rc = markr_reprocess_one(&services->reprocess, self->id, self->dry_run, &self->report, &self->error);
        break;
    }
    vault_answer(self);
}

static json_object *conflicts_json(const struct vault_job *self)
{
    json_object *o = json_object_new_object(), *list = json_object_new_array_ext((int)self->conflicts.count);

    json_object_object_add(o, "test_id", markr_json_string_len(self->test_id, self->test_id_len));
    for (size_t i = 0; i < self->conflicts.count; ++i) {
        const struct markr_conflict *c = &self->conflicts.items[i];
        json_object *item = json_object_new_object(), *names = json_object_new_array_ext((int)c->name_count);

        json_object_object_add(item, "student_number", markr_json_string(c->student_number));
        for (size_t j = 0; j < c->name_count; ++j) {
            const struct markr_name_seen *n = &c->names[j];
            json_object *name = json_object_new_object(), *ids = json_object_new_array_ext((int)n->import_count);

            json_object_object_add(name, "first_name", n->first_name ? markr_json_string(n->first_name) : NULL);
            json_object_object_add(name, "last_name", n->last_name ? markr_json_string(n->last_name) : NULL);
            for (size_t k = 0; k < n->import_count; ++k)
                json_object_array_add(ids, json_object_new_int64(n->import_ids[k]));
            json_object_object_add(name, "import_ids", ids);
            json_object_array_add(names, name);
        }
        json_object_object_add(item, "names", names);
        json_object_array_add(list, item);
    }
    json_object_object_add(o, "conflicts", list);
    /* The cursor of the next page is the last student number of this one. */
    json_object_object_add(o, "next_cursor",
                           self->conflicts.more && self->conflicts.count != 0
                               ? markr_json_string(self->conflicts.items[self->conflicts.count - 1].student_number)
                               : NULL);
    return o;
}

static json_object *report_json(const struct vault_job *self)
{
    const struct markr_reprocess_report *r = &self->report;
    json_object *o = json_object_new_object();

    json_object_object_add(o, "import_id", json_object_new_int64(self->id));
    json_object_object_add(o, "dry_run", json_object_new_boolean(self->dry_run));
    json_object_object_add(o, "previous_status",
                           markr_json_string(r->flip_count != 0 ? r->flips[0].from : r->status));
    json_object_object_add(o, "status", markr_json_string(r->status));
    json_object_object_add(o, "reason", reason_json(&r->outcome.error));
    json_object_object_add(o, "changed_tests", strings_json(r->changed_tests, r->changed_test_count));
    return o;
}

/* The answer, built, serialised and freed on the worker. */
static void vault_answer(struct vault_job *self)
{
    json_object *body;

    if (self->rc != 0) {
        markr_http_answer_error(&self->base.answer, &self->error, 0);
        return;
    }
    switch (self->kind) {
    case VAULT_LIST: {
        json_object *items = json_object_new_array_ext((int)self->page.count);
        char cursor[24];

        body = json_object_new_object();
        for (size_t i = 0; i < self->page.count; ++i)
            json_object_array_add(items, info_json(&self->page.items[i], 0));
        json_object_object_add(body, "imports", items);
        snprintf(cursor, sizeof(cursor), "%lld", (long long)self->page.next_before_id);
        json_object_object_add(body, "next_cursor",
                               self->page.next_before_id != 0 ? markr_json_string(cursor) : NULL);
        break;
    }
    case VAULT_INFO:
        body = info_json(&self->info, 1);
        break;
    case VAULT_CONFLICTS:
        body = conflicts_json(self);
        break;
    case VAULT_REPROCESS:
    default:
        body = report_json(self);
        break;
    }
    markr_http_answer_json(&self->base.answer, 200, body);
}

/* On the loop, once a reprocessing is done: when it committed an accepted document, this
 * instance's cache forgets the document's tests before the 200 goes out (read-your-writes,
 * as for an import), without waiting for the change feed to report the commit. */
static void reprocess_respond(struct markr_http_job *job, h2o_req_t *req)
{
    struct vault_job *self = (struct vault_job *)job;

    if (self->rc == 0 && !self->dry_run && strcmp(self->report.status, "accepted") == 0)
        markr_live_committed(self->live, (const char *const *)self->report.outcome.tests,
                             self->report.outcome.test_count);
    markr_http_send_answer(req, &job->answer);
}

static void vault_destroy(struct markr_http_job *job)
{
    struct vault_job *self = (struct vault_job *)job;

    markr_import_page_free(&self->page);
    markr_import_info_free(&self->info);
    markr_conflicts_free(&self->conflicts);
    markr_reprocess_report_free(&self->report);
    free(self);
}

/* --- entry --------------------------------------------------------------------------------------- */

static int is_sha256(const char *text, size_t len)
{
    if (len != 64)
        return 0;
    for (size_t i = 0; i < len; ++i)
        if (!isxdigit((unsigned char)text[i]))
            return 0;
    return 1;
}

static int bad_query(h2o_req_t *req, const char *message)
{
    markr_http_send_problem(req, 400, "bad_query", message);
    return 0;
}

/* Reads the filters of GET /imports into job (the route takes no others: routes.c); answers 400 and returns -1 when one is bad. */
static int read_list_query(h2o_req_t *req, struct vault_job *job)
{
    static const char *const statuses[] = {"queued", "processing", "accepted", "rejected", NULL};
    char value[MARKR_ROUTE_ID_MAX + 1];
    size_t len;
    int rc;
    int64_t n;

    /* limit and cursor as on every paged route: bad_limit (its bounds the use case's,
     * markr_list_imports) and bad_cursor. */
    job->filter.limit = MARKR_IMPORT_PAGE_DEFAULT;
    if ((rc = QUERY_GET(req, "limit", value, &len)) < 0 ||
        (rc == 1 && (n = markr_parse_uint(value, len, MARKR_IMPORT_PAGE_MAX + 1)) < 0)) {
        markr_http_send_problem(req, 400, "bad_limit", "limit must be an integer from 1 to 1000");
        return -1;
    }
    if (rc == 1)
        job->filter.limit = (unsigned)n; /* 0 or the maximum plus one: refused by the use case */
    if ((rc = QUERY_GET(req, "cursor", value, &len)) < 0 || (rc == 1 && (n = markr_parse_id(value, len)) < 1)) {
        markr_http_send_problem(req, 400, "bad_cursor", "cursor must be the next_cursor of a previous page");
        return -1;
    }
    if (rc == 1)
        job->filter.before_id = n;
    if ((rc = QUERY_GET(req, "status", value, &len)) < 0)
        return bad_query(req, "malformed status"), -1;
    if (rc == 1) {
        const char *const *s = statuses;

        while (*s != NULL && strcmp(*s, value) != 0)
            ++s;
        if (*s == NULL)
            return bad_query(req, "status must be queued, processing, accepted or rejected"), -1;
        job->filter.status = *s; /* a static string: it outlives the job */
    }
    if ((rc = QUERY_GET(req, "test_id", value, &len)) < 0 || (rc == 1 && (len == 0 ||
                                                                              memchr(value, '\0', len) != NULL)))
        return bad_query(req, "test_id must be a non-empty test id"), -1;
    if (rc == 1) {
        memcpy(job->test_id, value, len + 1);
        job->filter.test_id = job->test_id;
    }
    /* The body's SHA-256, as a 503 outcome_unknown gives it: was that document stored? */
    if ((rc = QUERY_GET(req, "sha256", value, &len)) < 0 || (rc == 1 && !is_sha256(value, len)))
        return bad_query(req, "sha256 must be 64 hexadecimal digits"), -1;
    if (rc == 1) {
        for (size_t i = 0; i < len; ++i)
            job->sha256[i] = (char)tolower((unsigned char)value[i]);
        job->sha256[len] = '\0';
        job->filter.sha256 = job->sha256;
    }
    return 0;
}

static struct vault_job *new_job(enum vault_kind kind)
{
    struct vault_job *job = calloc(1, sizeof(*job));

    if (job == NULL)
        return NULL;
    job->kind = kind;
    job->base.job.run = vault_run;
    job->base.respond = NULL; /* sends job->base.answer */
    job->base.destroy = vault_destroy;
    return job;
}

/* Reads the {id} of match into job; answers 400 and returns -1 when it is not an import id. */
static int read_import_id(h2o_req_t *req, const struct markr_route_match *match, struct vault_job *job)
{
    if ((job->id = markr_parse_id(match->id, match->id_len)) >= 1)
        return 0;
    markr_http_send_problem(req, 400, "bad_import_id", "an import id is a positive decimal integer");
    return -1;
}

/* Queues job, unless its parameters were refused (refused != 0: the 400 has gone out); then
 * frees it. */
static int start(struct markr_http_handler *handler, h2o_req_t *req, struct vault_job *job, int refused)
{
    if (refused) {
        free(job);
        return 0;
    }
    markr_http_job_start(&job->base, req, handler->pool);
    return 0;
}

int markr_handle_imports(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match)
{
    struct vault_job *job = new_job(VAULT_LIST);

    return job != NULL ? start(handler, req, job, read_list_query(req, job)) : -1;
}

int markr_handle_import_info(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match)
{
    struct vault_job *job = new_job(VAULT_INFO);

    return job != NULL ? start(handler, req, job, read_import_id(req, match, job)) : -1;
}

/* Reads limit and cursor of GET /tests/{id}/conflicts into job; answers 400 and returns -1
 * when the query is malformed. Their bounds are the use case's (markr_list_conflicts). */
static int read_conflicts_query(h2o_req_t *req, struct vault_job *job)
{
    char value[24];
    size_t len;
    int rc;
    int64_t n = MARKR_CONFLICTS_PAGE_DEFAULT;

    if ((rc = QUERY_GET(req, "limit", value, &len)) < 0 ||
        (rc == 1 && (n = markr_parse_uint(value, len, MARKR_CONFLICTS_PAGE_MAX + 1)) < 0)) {
        markr_http_send_problem(req, 400, "bad_limit", "limit must be an integer from 1 to 1000");
        return -1;
    }
    job->conflicts_page.limit = (unsigned)n; /* 0 or the maximum plus one: refused by the use case */
    if ((rc = QUERY_GET(req, "cursor", job->cursor, &len)) < 0) {
        markr_http_send_problem(req, 400, "bad_cursor", "cursor must be the next_cursor of a previous page");
        return -1;
    }
    if (rc == 1) {
        job->conflicts_page.after = job->cursor;
        job->conflicts_page.after_len = len;
    }
    return 0;
}

int markr_handle_test_conflicts(struct markr_http_handler *handler, h2o_req_t *req,
                                const struct markr_route_match *match)
{
    struct vault_job *job = new_job(VAULT_CONFLICTS);

    if (job == NULL)
        return -1;
    memcpy(job->test_id, match->id, match->id_len);
    job->test_id_len = match->id_len;
    return start(handler, req, job, read_conflicts_query(req, job));
}

/* Reads ?dry_run=true|false into job; answers 400 and returns -1 for anything else. */
static int read_reprocess_query(h2o_req_t *req, struct vault_job *job)
{
    char value[8];
    size_t len;
    int rc = QUERY_GET(req, "dry_run", value, &len);

    if (rc < 0 ||
        (rc == 1 && strcmp(value, "true") != 0 && strcmp(value, "false") != 0))
        return bad_query(req, "reprocess takes dry_run=true or dry_run=false"), -1;
    job->dry_run = rc == 1 && strcmp(value, "true") == 0;
    return 0;
}

int markr_handle_import_reprocess(struct markr_http_handler *handler, h2o_req_t *req,
                                  const struct markr_route_match *match)
{
    struct vault_job *job;
    int refused;

    /* Only an operator gets here: its route's access level (routes.c) is checked first. */
    if ((job = new_job(VAULT_REPROCESS)) == NULL)
        return -1;
    refused = read_import_id(req, match, job) != 0 || read_reprocess_query(req, job) != 0;
    /* A reprocessing that commits changes the marks, so it runs even if its operator leaves;
     * a dry run rolls back and is a read like the others. */
    job->base.runs_even_if_gone = !job->dry_run;
    job->base.respond = reprocess_respond;
    job->live = handler->live;
    return start(handler, req, job, refused);
}
