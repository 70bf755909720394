/*
 * POST /import with `Prefer: respond-async` (ADR 0011): the document is stored in the vault
 * as 'queued' and answered 202 with Location /imports/{id} as soon as it is durable; a
 * queue runner (queue_runner.c) of any server sharing the database then judges it. Its
 * bound is MARKR_MAX_ASYNC_BODY_BYTES, which can only lower MARKR_MAX_BODY_BYTES.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "handlers.h"
#include "http_job.h"
#include "responses.h"

struct async_job {
    struct markr_http_job base;
    struct markr_http_body body;
    size_t limit; /* MARKR_MAX_ASYNC_BODY_BYTES, for the decoded body */
    int64_t import_id;
    struct markr_error error;
    int rc;
};

/* "Prefer: respond-async", possibly among other preferences ("respond-async, wait=10"). */
int markr_wants_async(h2o_req_t *req)
{
    for (ssize_t h = -1; (h = h2o_find_header_by_str(&req->headers, H2O_STRLIT("prefer"), h)) >= 0;) {
        h2o_iovec_t v = req->headers.entries[h].value;

        for (size_t i = 0; i + 13 <= v.len; ++i) {
            if (strncasecmp(v.base + i, "respond-async", 13) == 0 && (i == 0 || v.base[i - 1] == ' ' ||
                                                                      v.base[i - 1] == ',' || v.base[i - 1] == '\t') &&
                (i + 13 == v.len || v.base[i + 13] == ',' || v.base[i + 13] == ';' || v.base[i + 13] == ' '))
                return 1;
        }
    }
    return 0;
}

static void async_run(struct markr_job *job, struct markr_services *services)
{
    struct async_job *self = (struct async_job *)job;
    json_object *body;

    markr_error_clear(&self->error);
    /* The vault keeps the decoded document: the queue runner judges what is stored. */
    if (markr_http_body_decode(&self->body, self->limit, "MARKR_MAX_ASYNC_BODY_BYTES", &self->base.answer) != 0) {
        markr_http_body_free(&self->body);
        return;
    }
    self->rc = markr_enqueue_import(&services->queue, self->body.content_type,
                                    markr_content_encoding_name(self->body.arrived), self->body.bytes,
                                    self->body.len, &self->import_id, &self->error);
    if (self->rc != 0) {
        markr_http_answer_error(&self->base.answer, &self->error, 0);
        markr_http_answer_note_digest(&self->base.answer, &self->body);
    }
    /* The copy is no longer needed: give its memory back before the answer goes out. */
    markr_http_body_free(&self->body);
    if (self->rc != 0)
        return;
    body = json_object_new_object();
    json_object_object_add(body, "import_id", json_object_new_int64(self->import_id));
    json_object_object_add(body, "status", markr_json_string("queued"));
    snprintf(self->base.answer.location, sizeof(self->base.answer.location), "/imports/%lld",
             (long long)self->import_id);
    self->base.answer.retry_after = 1;
    markr_http_answer_json(&self->base.answer, 202, body);
}

static void async_destroy(struct markr_http_job *job)
{
    struct async_job *self = (struct async_job *)job;

    markr_http_body_free(&self->body);
    free(self);
}

int markr_handle_import_async(struct markr_worker_pool *pool, h2o_req_t *req, h2o_iovec_t content_type,
                              size_t limit)
{
    struct async_job *job = calloc(1, sizeof(*job));
    int rc;

    if (job == NULL)
        return -1;
    /* The worker streams the body to PostgreSQL as chunks (COPY, no second copy in libpq;
     * ADR 0018) but still from a copy of its own, since the client may leave while it is
     * still sending (markr_http_copy_body). */
    if ((rc = markr_http_copy_body(req, content_type, &job->body)) != 0) {
        async_destroy(&job->base);
        return rc < 0 ? -1 : 0; /* 1: the 503 has gone out */
    }
    job->limit = limit;
    job->base.job.run = async_run;
    job->base.destroy = async_destroy;
    job->base.runs_even_if_gone = 1; /* the document has arrived whole: it is queued whatever its client does */
    markr_http_job_start(&job->base, req, pool);
    return 0;
}
