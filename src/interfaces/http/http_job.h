/*
 * A request whose answer comes from a worker thread. The job is heap memory owned by
 * whoever finishes second: if the client goes away first, h2o disposes of the request and
 * the job is freed when the worker hands it back; otherwise the job answers and frees itself.
 * The request's pool holds only an anchor whose dispose hook tells the job its request died.
 *
 * The answer is made on the worker: run() fills job->answer (markr_http_answer_json or
 * markr_http_answer_error build, serialise and free the JSON there), and the loop only
 * hands those bytes to h2o, which then owns them with the request's pool. A job whose
 * client left before a worker took it is not run at all.
 */
#ifndef MARKR_INTERFACES_HTTP_JOB_H
#define MARKR_INTERFACES_HTTP_JOB_H

#include <stdatomic.h>

#include <h2o.h>

#include "responses.h"
#include "worker_pool.h"

struct markr_http_anchor;

struct markr_http_job {
    struct markr_job job; /* set job.run before starting */
    /* On the loop thread, when the worker is done and the request is still alive. NULL (the
     * usual case) sends job->answer; a handler that streams its answer sets its own. */
    void (*respond)(struct markr_http_job *self, h2o_req_t *req);
    /* Frees the job (always called exactly once, after respond if that ran). */
    void (*destroy)(struct markr_http_job *self);
    h2o_req_t *req; /* NULL once the request is gone */
    struct markr_http_anchor *anchor;
    struct markr_http_answer answer; /* freed by markr_http_job_start's own hooks */
    /* Private: the handler's run, and whether the client left (read by the worker). */
    void (*run)(struct markr_job *job, struct markr_services *services);
    atomic_int client_gone;
};

/* Ties job to req and queues it. A worker runs job.run only if the client is still there
 * when it takes the job (otherwise it only counts it, markr_http_jobs_skipped). When the waiting line is full, answers 503 with
 * Retry-After and destroys the job. */
void markr_http_job_start(struct markr_http_job *job, h2o_req_t *req, struct markr_worker_pool *pool);

/* Copies the request's body into *body (*len bytes) and content_type into
 * *content_type_copy (NUL-terminated), heap memory of the job's: req->entity lives in h2o's connection
 * buffers, which h2o frees when the client goes away, and that can happen while a worker
 * still reads the body. Only the loop thread may read req->entity. Returns 0, or -1 when
 * out of memory; either way the caller frees both (free(NULL) does nothing). */
/* Jobs that a worker did not run because their client had gone (for GET /metrics). */
unsigned long long markr_http_jobs_skipped(void);

int markr_http_copy_body(h2o_req_t *req, h2o_iovec_t content_type, char **content_type_copy, char **body,
                         size_t *len);

#endif
