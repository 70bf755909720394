/*
 * Worker threads that run use cases off the event loop (ADR 0002). The loop submits a job;
 * a worker runs it with its own services (its own database connection), then posts it back
 * through an h2o multithread queue, and the loop calls `done`. The waiting line is bounded:
 * when it is full, submit fails at once and the caller answers 503.
 */
#ifndef MARKR_INTERFACES_HTTP_WORKER_POOL_H
#define MARKR_INTERFACES_HTTP_WORKER_POOL_H

#include <stddef.h>

#include <h2o.h>

#include "application/services.h"

struct markr_job;

struct markr_job {
    /* Runs on a worker thread; must not touch the loop or any h2o object. */
    void (*run)(struct markr_job *job, struct markr_services *services);
    /* Runs on the loop thread once run has returned; owns the job from then on. */
    void (*done)(struct markr_job *job);
    /* Private to the pool. */
    h2o_multithread_message_t message;
    struct markr_job *next;
};

struct markr_worker_pool;

/* Starts `workers` threads, each opening its services through factory first. Returns NULL
 * with err when a thread or its services cannot be started (every started one is stopped). */
struct markr_worker_pool *markr_worker_pool_create(h2o_loop_t *loop, unsigned workers, size_t queue_max,
                                                   const struct markr_service_factory *factory,
                                                   struct markr_error *err);

/* Queues job. Returns 0, or -1 when the waiting line is full or the pool is stopping. */
int markr_worker_pool_submit(struct markr_worker_pool *pool, struct markr_job *job);

/* Jobs queued or running, whose done has not been called yet. */
size_t markr_worker_pool_pending(const struct markr_worker_pool *pool);

/* Worker threads, jobs running on them and jobs waiting for one (for GET /metrics). */
void markr_worker_pool_stats(struct markr_worker_pool *pool, size_t *workers, size_t *in_use, size_t *waiting);

/* At the shutdown timeout: asks every worker's services to stop their database work (see
 * markr_service_factory.abandon); the jobs then come back with errors. */
void markr_worker_pool_abandon(struct markr_worker_pool *pool);

/* Refuses every later submission (submit returns -1: the caller answers 503); jobs queued
 * or running still finish and come back. For shutdown, before the last drain. */
void markr_worker_pool_close(struct markr_worker_pool *pool);

/* Stops the threads and closes their services. Call from the loop thread once pending() is
 * 0 (keep running the loop until then: that is where finished jobs come back). */
void markr_worker_pool_destroy(struct markr_worker_pool *pool);

#endif
