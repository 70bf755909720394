/*
 * Liveness and readiness. /health never touches the database, so it answers while the
 * database is slow or gone; /ready asks a worker, so it also says whether the pool is
 * moving at all.
 */
#include <stdlib.h>

#include "handlers.h"
#include "http_job.h"
#include "responses.h"

int markr_handle_health(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match)
{
    json_object *body = json_object_new_object();

    json_object_object_add(body, "status", markr_json_string("UP"));
    markr_http_send_json(req, 200, body);
    return 0;
}

struct ready_job {
    struct markr_http_job base;
    struct markr_error error;
    int rc;
};

static void ready_run(struct markr_job *job, struct markr_services *services)
{
    struct ready_job *self = (struct ready_job *)job;

    json_object *body;

    if ((self->rc = markr_check_readiness(&services->readiness, &self->error)) != 0) {
        markr_http_answer_error(&self->base.answer, &self->error, 0);
        return;
    }
    body = json_object_new_object();
    json_object_object_add(body, "status", markr_json_string("READY"));
    markr_http_answer_json(&self->base.answer, 200, body);
}

static void ready_destroy(struct markr_http_job *job)
{
    free(job);
}

int markr_handle_ready(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match)
{
    struct ready_job *job = calloc(1, sizeof(*job));

    if (job == NULL)
        return -1;
    job->base.job.run = ready_run;
    job->base.destroy = ready_destroy;
    markr_http_job_start(&job->base, req, handler->pool);
    return 0;
}
