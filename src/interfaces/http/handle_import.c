/*
 * POST /import: checks the size and the Content-Type here, on the loop (cheap, and a 415 is
 * not a document of ours, so it is not vaulted), strictly: only a format's media type with
 * at most an allowed charset is stored, since the stored value is served again later.
 * Copies the body, because the request's buffers die with the connection while the worker
 * may still be parsing, and runs the import use case on a worker thread. h2o refuses bodies
 * over MARKR_MAX_BODY_BYTES before reading them (server.c); the lower asynchronous limit,
 * when set, is checked here, and the copy counts against MARKR_MAX_BUFFERED_BYTES
 * (http_job.c). A gzip or deflate body (Content-Encoding) is decoded on the worker, where the
 * body limit applies to the decoded size (ADR 0023); another coding is 415 here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "application/import_document.h"
#include "handlers.h"
#include "http_job.h"
#include "live.h"
#include "interfaces/observe/metrics.h"
#include "responses.h"

struct import_job {
    struct markr_http_job base;
    struct markr_http_body body; /* owned copy of the request body */
    size_t limit;                /* MARKR_MAX_BODY_BYTES, for the decoded body */
    struct markr_import_outcome outcome;
    struct markr_live *live; /* the loop's aggregate cache */
};

/* The 415 answer says what is wrong and names the media types the formats read. */
static void refuse_media_type(h2o_req_t *req, const struct markr_formats *formats,
                              enum markr_content_type_verdict verdict)
{
    char message[320];
    int n = snprintf(message, sizeof(message), "%s; documents must be sent with Content-Type: ",
                     markr_content_type_problem(verdict));

    for (size_t i = 0; i < formats->count && n > 0 && (size_t)n < sizeof(message); ++i)
        n += snprintf(message + n, sizeof(message) - (size_t)n, "%s%s", i != 0 ? " or " : "",
                      formats->items[i].media_type);
    if (n > 0 && (size_t)n < sizeof(message))
        snprintf(message + n, sizeof(message) - (size_t)n,
                 " (optionally with a charset: " MARKR_ALLOWED_CHARSETS_TEXT ")");
    markr_http_send_problem(req, 415, "unsupported_media_type", message);
}

/* The answer, on the worker. */
static void import_answer(struct import_job *self)
{
    const struct markr_import_outcome *o = &self->outcome;
    json_object *body, *tests;

    if (o->error.code != MARKR_OK) {
        markr_http_answer_error(&self->base.answer, &o->error, o->import_id);
        return;
    }
    body = json_object_new_object();
    tests = json_object_new_array_ext((int)o->test_count);
    json_object_object_add(body, "import_id", json_object_new_int64(o->import_id));
    json_object_object_add(body, "results", json_object_new_uint64(o->results));
    json_object_object_add(body, "students", json_object_new_uint64(o->students));
    for (size_t i = 0; i < o->test_count; ++i)
        json_object_array_add(tests, markr_json_string(o->tests[i]));
    json_object_object_add(body, "tests", tests);
    snprintf(self->base.answer.location, sizeof(self->base.answer.location), "/imports/%lld",
             (long long)o->import_id);
    markr_http_answer_json(&self->base.answer, 201, body);
}

static void import_run(struct markr_job *job, struct markr_services *services)
{
    struct import_job *self = (struct import_job *)job;
    const struct markr_import_outcome *o = &self->outcome;

    if (markr_http_body_decode(&self->body, self->limit, "MARKR_MAX_BODY_BYTES", &self->base.answer) != 0) {
        markr_http_body_free(&self->body);
        return;
    }
    markr_import_document(&services->import, self->body.content_type,
                          markr_content_encoding_name(self->body.arrived), self->body.bytes, self->body.len,
                          &self->outcome);
    /* Counted here, whether or not the client is still there for the answer; a failure to
     * store a document is not a refusal. */
    if (o->error.code == MARKR_OK)
        markr_metrics_import_accepted(o->results, o->marks);
    else if (o->error.code == MARKR_ERR_MALFORMED || o->error.code == MARKR_ERR_INVALID)
        markr_metrics_import_refused(o->error.reason);
    import_answer(self);
    markr_http_answer_note_digest(&self->base.answer, &self->body);
    /* The body copy is no longer needed: give its memory back before the answer goes out. */
    markr_http_body_free(&self->body);
}
/* On the loop, once the worker is done: an accepted import's tests are forgotten by this
 * instance's cache before its 201 goes out (read-your-writes), without waiting for the
 * change feed to report the commit. */
static void import_respond(struct markr_http_job *job, h2o_req_t *req)
{
    struct import_job *self = (struct import_job *)job;

    if (self->outcome.error.code == MARKR_OK)
        markr_live_committed(self->live, (const char *const *)self->outcome.tests, self->outcome.test_count);
    markr_http_send_answer(req, &job->answer);
}

static void import_destroy(struct markr_http_job *job)
{
    struct import_job *self = (struct import_job *)job;

    markr_import_outcome_free(&self->outcome);
    markr_http_body_free(&self->body);
    free(self);
}

int markr_handle_import(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match)
{
    ssize_t ct = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
    const struct markr_format *format;
    char charset[MARKR_CHARSET_MAX];
    enum markr_content_type_verdict verdict;
    struct import_job *job;
    int async = markr_wants_async(req), rc;
    const struct markr_http_settings *settings = handler->settings;

    if (req->entity.len > (async ? settings->max_async_body_bytes : settings->max_body_bytes)) {
        char message[200];

        markr_http_too_large_message(message, sizeof(message),
                                     async ? "MARKR_MAX_ASYNC_BODY_BYTES" : "MARKR_MAX_BODY_BYTES",
                                     async ? settings->max_async_body_bytes : settings->max_body_bytes);
        markr_http_send_problem(req, 413, "payload_too_large", message);
        return 0;
    }
    /* Decided here for both paths (the queue's enqueue applies the same rule,
     * markr_formats_parse); a rebuild reads a stored type by its media type only, so what is
     * accepted now stays accepted. A second Content-Type header is refused too: which one a
     * client means is not ours to guess. */
    verdict = ct < 0 ? MARKR_CONTENT_TYPE_MISSING
                     : markr_formats_parse(&settings->formats, req->headers.entries[ct].value.base,
                                           req->headers.entries[ct].value.len, &format, charset, sizeof(charset));
    if (verdict == MARKR_CONTENT_TYPE_OK && h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, ct) >= 0)
        verdict = MARKR_CONTENT_TYPE_MALFORMED;
    if (verdict != MARKR_CONTENT_TYPE_OK) {
        refuse_media_type(req, &settings->formats, verdict);
        return 0;
    }
    if (markr_http_request_encoding(req) == MARKR_ENCODING_UNSUPPORTED) {
        markr_http_send_problem(req, 415, "unsupported_content_encoding",
                                "the only Content-Encodings accepted are gzip, deflate and identity, one of them");
        return 0;
    }
    if (async)
        return markr_handle_import_async(handler->pool, req, req->headers.entries[ct].value,
                                         settings->max_async_body_bytes);
    if ((job = calloc(1, sizeof(*job))) == NULL)
        return -1;
    if ((rc = markr_http_copy_body(req, req->headers.entries[ct].value, &job->body)) != 0) {
        import_destroy(&job->base);
        return rc < 0 ? -1 : 0; /* 1: the 503 has gone out */
    }
    job->limit = settings->max_body_bytes;
    job->base.job.run = import_run;
    job->base.respond = import_respond;
    job->base.destroy = import_destroy;
    job->base.runs_even_if_gone = 1; /* the document has arrived whole: it is stored whatever its client does */
    job->live = handler->live;
    markr_http_job_start(&job->base, req, handler->pool);
    return 0;
}
