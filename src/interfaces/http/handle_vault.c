/*
 * The import vault over HTTP: GET /imports (newest first, keyset pagination),
 * GET /imports/{id}, GET /imports/{id}/raw (the verbatim body), GET /tests/{id}/conflicts,
 * and the administrators' POST /imports/{id}/reprocess. Parameters are checked here, on the
 * loop; the database work runs on a worker thread like every other endpoint.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "application/reprocess.h"
#include "handlers.h"
#include "http_job.h"
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
    json_object_object_add(o, "error", json_object_new_string(reason->reason));
    json_object_object_add(o, "message", json_object_new_string(reason->message));
    if (reason->result_index > 0)
        json_object_object_add(o, "result_index", json_object_new_uint64(reason->result_index));
    if (reason->line > 0)
        json_object_object_add(o, "line", json_object_new_uint64(reason->line));
    if (reason->field[0] != '\0')
        json_object_object_add(o, "field", json_object_new_string(reason->field));
    return o;
}

static json_object *info_json(const struct markr_import_info *info, int with_tests)
{
    json_object *o = json_object_new_object();
    char raw[48];

    json_object_object_add(o, "import_id", json_object_new_int64(info->id));
    json_object_object_add(o, "status", json_object_new_string(info->status));
    json_object_object_add(o, "received_at", json_object_new_string(info->received_at));
    json_object_object_add(o, "processed_at",
                           info->processed_at[0] != '\0' ? json_object_new_string(info->processed_at) : NULL);
    json_object_object_add(o, "content_type", json_object_new_string(info->content_type));
    json_object_object_add(o, "size_bytes", json_object_new_int64(info->size_bytes));
    json_object_object_add(o, "sha256", json_object_new_string(info->sha256));
    json_object_object_add(o, "results", json_object_new_int64(info->result_count));
    json_object_object_add(o, "reason", reason_json(&info->reason));
    if (with_tests) {
        json_object *tests = json_object_new_array_ext((int)info->test_count);

        for (size_t i = 0; i < info->test_count; ++i)
            json_object_array_add(tests, json_object_new_string(info->tests[i]));
        json_object_object_add(o, "tests", tests);
    }
    snprintf(raw, sizeof(raw), "/imports/%lld/raw", (long long)info->id);
    json_object_object_add(o, "raw", json_object_new_string(raw));
    return o;
}

static json_object *strings_json(char **items, size_t count)
{
    json_object *a = json_object_new_array_ext((int)count);

    for (size_t i = 0; i < count; ++i)
        json_object_array_add(a, json_object_new_string(items[i]));
    return a;
}

/* --- the job ------------------------------------------------------------------------------------- */

/* What a job does: one kind per route. */
enum vault_kind { VAULT_LIST, VAULT_INFO, VAULT_RAW, VAULT_CONFLICTS, VAULT_REPROCESS };

struct vault_job {
    struct markr_http_job base;
    enum vault_kind kind;
    int64_t id;
    int dry_run;
    struct markr_import_filter filter;
    char test_id[MARKR_ROUTE_ID_MAX + 1];
    size_t test_id_len;
    int rc;
    struct markr_error error;
    /* results, by route */
    struct markr_import_page page;
    struct markr_import_info info;
    char *content_type, *body;
    size_t len;
    struct markr_conflicts conflicts;
    struct markr_reprocess_report report;
};

static void vault_answer(struct vault_job *self);

/* On the worker: the use case, then (but for the raw body) the JSON answer. */
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
    case VAULT_RAW:
        self->rc = markr_get_raw_import(v, self->id, &self->content_type, &self->body, &self->len, &self->error);
        break;
    case VAULT_CONFLICTS:
        self->rc = markr_list_conflicts(v, self->test_id, self->test_id_len, &self->conflicts, &self->error);
        break;
    case VAULT_REPROCESS:
        self->rc = markr_reprocess_one(&services->reprocess, self->id, self->dry_run, &self->report, &self->error);
        break;
    }
    if (self->kind != VAULT_RAW)
        vault_answer(self);
}

/* The body belongs to the request's pool from here on: freed when the request ends. */
static void free_body(void *p)
{
    free(*(char **)p);
}

static void respond_raw(struct vault_job *self, h2o_req_t *req)
{
    static h2o_generator_t generator = {NULL, NULL};
    char **owner = h2o_mem_alloc_shared(&req->pool, sizeof(*owner), free_body);
    h2o_iovec_t buf = h2o_iovec_init(self->body, self->len);

    *owner = self->body;
    self->body = NULL;
    req->res.status = 200;
    req->res.reason = "OK";
    req->res.content_length = self->len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   h2o_strdup(&req->pool, self->content_type, SIZE_MAX).base, strlen(self->content_type));
    /* The bytes are a document to look at, never something a browser should guess about. */
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-content-type-options"), 0, NULL,
                          H2O_STRLIT("nosniff"));
    h2o_start_response(req, &generator);
    h2o_send(req, &buf, 1, H2O_SEND_STATE_FINAL);
}

static json_object *conflicts_json(const struct vault_job *self)
{
    json_object *o = json_object_new_object(), *list = json_object_new_array_ext((int)self->conflicts.count);

    json_object_object_add(o, "test_id", json_object_new_string_len(self->test_id, (int)self->test_id_len));
    for (size_t i = 0; i < self->conflicts.count; ++i) {
        const struct markr_conflict *c = &self->conflicts.items[i];
        json_object *item = json_object_new_object(), *names = json_object_new_array_ext((int)c->name_count);

        json_object_object_add(item, "student_number", json_object_new_string(c->student_number));
        for (size_t j = 0; j < c->name_count; ++j) {
            const struct markr_name_seen *n = &c->names[j];
            json_object *name = json_object_new_object(), *ids = json_object_new_array_ext((int)n->import_count);

            json_object_object_add(name, "first_name", n->first_name ? json_object_new_string(n->first_name) : NULL);
            json_object_object_add(name, "last_name", n->last_name ? json_object_new_string(n->last_name) : NULL);
            for (size_t k = 0; k < n->import_count; ++k)
                json_object_array_add(ids, json_object_new_int64(n->import_ids[k]));
            json_object_object_add(name, "import_ids", ids);
            json_object_array_add(names, name);
        }
        json_object_object_add(item, "names", names);
        json_object_array_add(list, item);
    }
    json_object_object_add(o, "conflicts", list);
    return o;
}

static json_object *report_json(const struct vault_job *self)
{
    const struct markr_reprocess_report *r = &self->report;
    json_object *o = json_object_new_object();

    json_object_object_add(o, "import_id", json_object_new_int64(self->id));
    json_object_object_add(o, "dry_run", json_object_new_boolean(self->dry_run));
    json_object_object_add(o, "previous_status",
                           json_object_new_string(r->flip_count != 0 ? r->flips[0].from : r->status));
    json_object_object_add(o, "status", json_object_new_string(r->status));
    json_object_object_add(o, "reason", reason_json(&r->outcome.error));
    json_object_object_add(o, "changed_tests", strings_json(r->changed_tests, r->changed_test_count));
    return o;
}

/* The answer of every route but the raw body, built, serialised and freed on the worker. */
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
                               self->page.next_before_id != 0 ? json_object_new_string(cursor) : NULL);
        break;
    }
    case VAULT_INFO:
        body = info_json(&self->info, 1);
        break;
    case VAULT_CONFLICTS:
        body = conflicts_json(self);
        break;
    case VAULT_RAW: /* answered by vault_respond_raw */
    case VAULT_REPROCESS:
    default:
        body = report_json(self);
        break;
    }
    markr_http_answer_json(&self->base.answer, 200, body);
}

/* On the loop: the raw body, or the error of its use case. */
static void vault_respond_raw(struct markr_http_job *job, h2o_req_t *req)
{
    struct vault_job *self = (struct vault_job *)job;

    if (self->rc != 0) {
        markr_http_send_error(req, &self->error, 0);
        return;
    }
    respond_raw(self, req);
}

static void vault_destroy(struct markr_http_job *job)
{
    struct vault_job *self = (struct vault_job *)job;

    markr_import_page_free(&self->page);
    markr_import_info_free(&self->info);
    markr_conflicts_free(&self->conflicts);
    markr_reprocess_report_free(&self->report);
    free(self->content_type);
    free(self->body);
    free(self);
}

/* --- entry --------------------------------------------------------------------------------------- */

/* Constant time in the length of the expected token: a wrong guess learns nothing from timing. */
static int token_matches(h2o_iovec_t given, const char *expected)
{
    size_t n = strlen(expected);
    unsigned char diff = given.len != n;

    for (size_t i = 0; i < n; ++i)
        diff |= (unsigned char)(expected[i] ^ (i < given.len ? given.base[i] : 0));
    return diff == 0;
}

/* POST /imports/{id}/reprocess is for administrators: without a configured token (unset or
 * empty) it does not exist (404); a missing or wrong bearer token is 401. The token is
 * never logged. */
static int authorised(const char *admin_token, h2o_req_t *req)
{
    ssize_t h;
    h2o_iovec_t v;

    if (admin_token == NULL || admin_token[0] == '\0') {
        markr_http_send_problem(req, 404, "not_found", "no such resource");
        return 0;
    }
    if ((h = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1)) >= 0) {
        v = req->headers.entries[h].value;
        if (v.len > 7 && strncasecmp(v.base, "Bearer ", 7) == 0 &&
            token_matches(h2o_iovec_init(v.base + 7, v.len - 7), admin_token))
            return 1;
    }
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE, NULL, H2O_STRLIT("Bearer"));
    markr_http_send_problem(req, 401, "unauthorized", "this endpoint needs Authorization: Bearer <MARKR_ADMIN_TOKEN>");
    return 0;
}

static int bad_query(h2o_req_t *req, const char *message)
{
    markr_http_send_problem(req, 400, "bad_query", message);
    return 0;
}

/* Reads the filters of GET /imports into job; answers 400 and returns -1 when one is bad. */
static int read_list_query(h2o_req_t *req, struct vault_job *job)
{
    static const char *const known[] = {"limit", "cursor", "status", "test_id", NULL};
    static const char *const statuses[] = {"queued", "processing", "accepted", "rejected", NULL};
    char value[MARKR_ROUTE_ID_MAX + 1];
    size_t len;
    int rc;
    int64_t n;

    job->filter.limit = 50;
    if (!markr_query_only(req->path.base, req->path.len, known))
        return bad_query(req, "GET /imports takes limit, cursor, status and test_id"), -1;
    if ((rc = QUERY_GET(req, "limit", value, &len)) < 0 ||
        (rc == 1 && ((n = markr_parse_id(value, len)) < 1 || n > MARKR_IMPORT_PAGE_MAX)))
        return bad_query(req, "limit must be an integer from 1 to 1000"), -1;
    if (rc == 1)
        job->filter.limit = (unsigned)n;
    if ((rc = QUERY_GET(req, "cursor", value, &len)) < 0 || (rc == 1 && (n = markr_parse_id(value, len)) < 1))
        return bad_query(req, "cursor must be the next_cursor of a previous page"), -1;
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
    return 0;
}

static struct vault_job *new_job(enum vault_kind kind)
{
    struct vault_job *job = calloc(1, sizeof(*job));

    if (job == NULL)
        return NULL;
    job->kind = kind;
    job->base.job.run = vault_run;
    job->base.respond = kind == VAULT_RAW ? vault_respond_raw : NULL; /* NULL: sends job->base.answer */
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

int markr_handle_import_raw(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match)
{
    struct vault_job *job = new_job(VAULT_RAW);

    return job != NULL ? start(handler, req, job, read_import_id(req, match, job)) : -1;
}

int markr_handle_test_conflicts(struct markr_http_handler *handler, h2o_req_t *req,
                                const struct markr_route_match *match)
{
    struct vault_job *job = new_job(VAULT_CONFLICTS);

    if (job == NULL)
        return -1;
    memcpy(job->test_id, match->id, match->id_len);
    job->test_id_len = match->id_len;
    return start(handler, req, job, 0);
}

/* Reads ?dry_run=true|false into job; answers 400 and returns -1 for anything else. */
static int read_reprocess_query(h2o_req_t *req, struct vault_job *job)
{
    static const char *const known[] = {"dry_run", NULL};
    char value[8];
    size_t len;
    int rc = QUERY_GET(req, "dry_run", value, &len);

    if (!markr_query_only(req->path.base, req->path.len, known) || rc < 0 ||
        (rc == 1 && strcmp(value, "true") != 0 && strcmp(value, "false") != 0))
        return bad_query(req, "reprocess takes dry_run=true or dry_run=false"), -1;
    job->dry_run = rc == 1 && strcmp(value, "true") == 0;
    return 0;
}

int markr_handle_import_reprocess(struct markr_http_handler *handler, h2o_req_t *req,
                                  const struct markr_route_match *match)
{
    struct vault_job *job;

    if (!authorised(handler->settings->admin_token, req))
        return 0;
    if ((job = new_job(VAULT_REPROCESS)) == NULL)
        return -1;
    return start(handler, req, job, read_import_id(req, match, job) != 0 || read_reprocess_query(req, job) != 0);
}
