/*
 * GET /results/{test-id}/aggregate: the figures come from SQL (percentile_cont and
 * friends) through the results reader, on a worker thread.
 */
#include <stdlib.h>
#include <string.h>

#include "application/get_aggregate.h"
#include "handlers.h"
#include "http_job.h"
#include "responses.h"

struct aggregate_job {
    struct markr_http_job base;
    char test_id[MARKR_ROUTE_ID_MAX + 1];
    size_t test_id_len;
    struct markr_aggregate aggregate;
    struct markr_error error;
    int rc;
};

static void aggregate_run(struct markr_job *job, struct markr_services *services)
{
    struct aggregate_job *self = (struct aggregate_job *)job;

    self->rc = markr_get_aggregate(&services->results, self->test_id, self->test_id_len, &self->aggregate,
                                   &self->error);
    if (self->rc != 0)
        markr_http_answer_error(&self->base.answer, &self->error, 0);
    else
        markr_http_answer_json(&self->base.answer, 200, markr_aggregate_json(&self->aggregate));
}

static void aggregate_destroy(struct markr_http_job *job)
{
    free(job);
}

int markr_handle_aggregate(struct markr_worker_pool *pool, h2o_req_t *req, const struct markr_route_match *match)
{
    struct aggregate_job *job = calloc(1, sizeof(*job));

    if (job == NULL)
        return -1;
    memcpy(job->test_id, match->id, match->id_len);
    job->test_id_len = match->id_len;
    job->base.job.run = aggregate_run;
    job->base.destroy = aggregate_destroy;
    markr_http_job_start(&job->base, req, pool);
    return 0;
}
