/*
 * Lifetime of requests answered from worker threads; see http_job.h for the rule.
 * Everything here runs on the loop thread, so the two owners never race.
 */
#include "http_job.h"

#include <stdlib.h>
#include <string.h>

#include "responses.h"

struct markr_http_anchor {
    struct markr_http_job *job; /* NULL once the job has answered */
};

static atomic_ullong jobs_skipped;

unsigned long long markr_http_jobs_skipped(void)
{
    return atomic_load(&jobs_skipped);
}

static void on_anchor_dispose(void *p)
{
    struct markr_http_anchor *anchor = p;

    if (anchor->job != NULL) {
        anchor->job->req = NULL; /* the client left: the job frees itself when done */
        anchor->job->anchor = NULL;
        atomic_store(&anchor->job->client_gone, 1); /* and a worker that has not started it skips it */
    }
}

/* On the worker: nobody waits for the answer of a job whose client left, so its work (a
 * query, a JSON body) is not done at all. */
static void run_unless_gone(struct markr_job *base, struct markr_services *services)
{
    struct markr_http_job *job = H2O_STRUCT_FROM_MEMBER(struct markr_http_job, job, base);

    if (atomic_load(&job->client_gone)) {
        atomic_fetch_add(&jobs_skipped, 1);
        return;
    }
    job->run(base, services);
}

static void on_job_done(struct markr_job *base)
{
    struct markr_http_job *job = H2O_STRUCT_FROM_MEMBER(struct markr_http_job, job, base);

    if (job->req != NULL) {
        job->anchor->job = NULL;
        if (job->respond != NULL)
            job->respond(job, job->req);
        else
            markr_http_send_answer(job->req, &job->answer);
    }
    free(job->answer.body); /* NULL once sent: the request's pool owns it then */
    job->destroy(job);
}

void markr_http_job_start(struct markr_http_job *job, h2o_req_t *req, struct markr_worker_pool *pool)
{
    job->req = req;
    job->anchor = h2o_mem_alloc_shared(&req->pool, sizeof(*job->anchor), on_anchor_dispose);
    job->anchor->job = job;
    atomic_init(&job->client_gone, 0);
    job->run = job->job.run;
    job->job.run = run_unless_gone;
    job->job.done = on_job_done;
    if (markr_worker_pool_submit(pool, &job->job) != 0) {
        job->anchor->job = NULL;
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, H2O_STRLIT("1"));
        markr_http_send_problem(req, 503, "overloaded", "too many requests are waiting for the database; retry shortly");
        job->destroy(job);
    }
}

int markr_http_copy_body(h2o_req_t *req, h2o_iovec_t content_type, char **content_type_copy, char **body,
                         size_t *len)
{
    *content_type_copy = strndup(content_type.base, content_type.len);
    *len = req->entity.len;
    *body = malloc(*len != 0 ? *len : 1);
    if (*content_type_copy == NULL || *body == NULL)
        return -1;
    if (*len != 0)
        memcpy(*body, req->entity.base, *len);
    return 0;
}
