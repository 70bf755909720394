/*
 * GET /results/{test-id}/items computed by a worker (the cache's plain path, as
 * handle_aggregate.c is the aggregate's), and GET /results/{test-id}/students/
 * {student-number}: a student's mark with the answers of the kept sheet (personal data:
 * readers only, routes.c).
 */
#include <stdlib.h>
#include <string.h>

#include "application/items.h"
#include "handlers.h"
#include "http_job.h"
#include "responses.h"
#include "responses_items.h"

struct items_job {
    struct markr_http_job base;
    char test_id[MARKR_ROUTE_ID_MAX + 1];
    size_t test_id_len;
    char student[MARKR_ROUTE_ID_MAX + 1];
    size_t student_len;
};

static void items_run(struct markr_job *job, struct markr_services *services)
{
    struct items_job *self = (struct items_job *)job;
    struct markr_items items;
    struct markr_error err;

    if (markr_get_items(&services->results, self->test_id, self->test_id_len, &items, &err) != 0) {
        markr_http_answer_error(&self->base.answer, &err, 0);
        return;
    }
    markr_http_answer_json(&self->base.answer, 200, markr_items_json(self->test_id, self->test_id_len, &items));
    markr_items_free(&items);
}

static void sheet_run(struct markr_job *job, struct markr_services *services)
{
    struct items_job *self = (struct items_job *)job;
    struct markr_student_sheet sheet;
    struct markr_error err;

    if (markr_get_student_sheet(&services->results, self->test_id, self->test_id_len, self->student,
                                self->student_len, &sheet, &err) != 0) {
        markr_http_answer_error(&self->base.answer, &err, 0);
        return;
    }
    markr_http_answer_json(&self->base.answer, 200,
                           markr_student_sheet_json(self->test_id, self->test_id_len, self->student,
                                                    self->student_len, &sheet));
    markr_student_sheet_free(&sheet);
}

static void items_destroy(struct markr_http_job *job)
{
    free(job);
}

static int start(struct markr_worker_pool *pool, h2o_req_t *req, const struct markr_route_match *match,
                 void (*run)(struct markr_job *, struct markr_services *))
{
    struct items_job *job = calloc(1, sizeof(*job));

    if (job == NULL)
        return -1;
    memcpy(job->test_id, match->id, match->id_len);
    job->test_id_len = match->id_len;
    memcpy(job->student, match->id2, match->id2_len);
    job->student_len = match->id2_len;
    job->base.job.run = run;
    job->base.destroy = items_destroy;
    markr_http_job_start(&job->base, req, pool);
    return 0;
}

int markr_handle_items(struct markr_worker_pool *pool, h2o_req_t *req, const struct markr_route_match *match)
{
    return start(pool, req, match, items_run);
}

int markr_handle_student_sheet(struct markr_http_handler *handler, h2o_req_t *req,
                               const struct markr_route_match *match)
{
    return start(handler->pool, req, match, sheet_run);
}
