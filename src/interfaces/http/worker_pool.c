/*
 * The worker pool: a mutex-protected FIFO of jobs, N threads that each own the services
 * opened for them, and an h2o multithread receiver that wakes the event loop when a job
 * comes back. FIFO so that no request waits for ever; bounded so that overload turns into
 * fast 503s instead of unbounded memory.
 */
#include "worker_pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct worker {
    struct markr_worker_pool *pool;
    pthread_t thread;
    struct markr_services *services;
};

struct markr_worker_pool {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct markr_job *head, *tail; /* waiting jobs, FIFO */
    size_t queued;                 /* jobs in the waiting line */
    size_t queue_max;
    size_t pending; /* submitted, done not yet called; loop thread only */
    size_t running; /* jobs a worker is running; under lock */
    int stopping;

    h2o_multithread_queue_t *queue;
    h2o_multithread_receiver_t receiver;

    const struct markr_service_factory *factory;
    struct worker *workers;
    unsigned started;
};

/* On the loop thread: every job that came back since the last wake-up. */
static void on_jobs_done(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    struct markr_worker_pool *pool = H2O_STRUCT_FROM_MEMBER(struct markr_worker_pool, receiver, receiver);

    while (!h2o_linklist_is_empty(messages)) {
        struct markr_job *job = H2O_STRUCT_FROM_MEMBER(struct markr_job, message.link, messages->next);

        h2o_linklist_unlink(&job->message.link);
        --pool->pending;
        job->done(job);
    }
}

static struct markr_job *take_job(struct markr_worker_pool *pool)
{
    struct markr_job *job;

    pthread_mutex_lock(&pool->lock);
    while (pool->head == NULL && !pool->stopping)
        pthread_cond_wait(&pool->wake, &pool->lock);
    job = pool->head; /* queued jobs are still run when stopping: drain, then exit */
    if (job != NULL) {
        pool->head = job->next;
        if (pool->head == NULL)
            pool->tail = NULL;
        --pool->queued;
        ++pool->running;
    }
    pthread_mutex_unlock(&pool->lock);
    return job;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct markr_job *job;

    while ((job = take_job(w->pool)) != NULL) {
        job->run(job, w->services);
        pthread_mutex_lock(&w->pool->lock);
        --w->pool->running;
        pthread_mutex_unlock(&w->pool->lock);
        h2o_multithread_send_message(&w->pool->receiver, &job->message);
    }
    return NULL;
}

static void stop_workers(struct markr_worker_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    pool->stopping = 1;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (unsigned i = 0; i < pool->started; ++i) {
        pthread_join(pool->workers[i].thread, NULL);
        pool->factory->close(pool->factory->ctx, pool->workers[i].services);
    }
    pool->started = 0;
}

struct markr_worker_pool *markr_worker_pool_create(h2o_loop_t *loop, unsigned workers, size_t queue_max,
                                                   const struct markr_service_factory *factory,
                                                   struct markr_error *err)
{
    struct markr_worker_pool *pool = calloc(1, sizeof(*pool));

    if (pool == NULL || (pool->workers = calloc(workers, sizeof(*pool->workers))) == NULL) {
        free(pool);
        markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
        return NULL;
    }
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pool->queue_max = queue_max;
    pool->factory = factory;
    pool->queue = h2o_multithread_create_queue(loop);
    h2o_multithread_register_receiver(pool->queue, &pool->receiver, on_jobs_done);

    for (unsigned i = 0; i < workers; ++i) {
        struct worker *w = &pool->workers[i];

        w->pool = pool;
        if ((w->services = factory->open(factory->ctx, err)) == NULL)
            goto fail;
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            factory->close(factory->ctx, w->services);
            markr_error_set(err, MARKR_ERR_INTERNAL, "thread_failed", "cannot start worker thread %u", i);
            goto fail;
        }
        pool->started = i + 1;
    }
    return pool;

fail:
    markr_worker_pool_destroy(pool);
    return NULL;
}

int markr_worker_pool_submit(struct markr_worker_pool *pool, struct markr_job *job)
{
    int rc = -1;

    job->next = NULL;
    memset(&job->message, 0, sizeof(job->message));
    pthread_mutex_lock(&pool->lock);
    if (!pool->stopping && pool->queued < pool->queue_max) {
        if (pool->tail != NULL)
            pool->tail->next = job;
        else
            pool->head = job;
        pool->tail = job;
        ++pool->queued;
        ++pool->pending;
        pthread_cond_signal(&pool->wake);
        rc = 0;
    }
    pthread_mutex_unlock(&pool->lock);
    return rc;
}

size_t markr_worker_pool_pending(const struct markr_worker_pool *pool)
{
    return pool->pending;
}

void markr_worker_pool_destroy(struct markr_worker_pool *pool)
{
    if (pool == NULL)
        return;
    stop_workers(pool);
    h2o_multithread_unregister_receiver(pool->queue, &pool->receiver);
    h2o_multithread_destroy_queue(pool->queue);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->lock);
    free(pool->workers);
    free(pool);
}

void markr_worker_pool_stats(struct markr_worker_pool *pool, size_t *workers, size_t *in_use, size_t *waiting)
{
    pthread_mutex_lock(&pool->lock);
    *workers = pool->started;
    *in_use = pool->running;
    *waiting = pool->queued;
    pthread_mutex_unlock(&pool->lock);
}

void markr_worker_pool_abandon(struct markr_worker_pool *pool)
{
    if (pool->factory->abandon == NULL)
        return;
    for (unsigned i = 0; i < pool->started; ++i)
        pool->factory->abandon(pool->factory->ctx, pool->workers[i].services);
}

void markr_worker_pool_close(struct markr_worker_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    pool->stopping = 1; /* workers still run what is queued, then exit */
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
}
