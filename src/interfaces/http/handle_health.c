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

/* Each read replica's state (ADR 0030): {"name":"host:port","state":"up","lag_seconds":0}. */
static json_object *standbys_json(const struct markr_readiness *readiness)
{
    struct markr_standby_status standbys[8];
    size_t n = markr_readiness_standbys(readiness, standbys, sizeof(standbys) / sizeof(standbys[0]));
    json_object *list = json_object_new_array();

    for (size_t i = 0; i < n; ++i) {
        json_object *one = json_object_new_object();

        json_object_object_add(one, "name", markr_json_string(standbys[i].name));
        json_object_object_add(one, "state", markr_json_string(standbys[i].state));
        json_object_object_add(one, "lag_seconds", json_object_new_double(standbys[i].lag_seconds));
        json_object_array_add(list, one);
    }
    return list;
}

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
    /* Only when replicas are configured, so that the answer without them stays as it was. */
    if (services->readiness.standbys != NULL) {
        json_object *standbys = standbys_json(&services->readiness);

        if (json_object_array_length(standbys) != 0)
            json_object_object_add(body, "standbys", standbys);
        else
            json_object_put(standbys);
    }
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
