/*
 * The queue runners (see queue_runner.h). A runner never holds an import between two
 * transactions except for the moment between its claim and its processing; if its process
 * dies anywhere, the import is either still 'queued', or 'processing' without a lock, and
 * the next claim by any server takes it again. Processing commits verdict, marks and
 * status together, so it happens exactly once.
 */
#include "queue_runner.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "application/queue.h"
#include "interfaces/observe/log.h"
#include "interfaces/observe/metrics.h"

/* How long an idle runner waits for a notification before looking again anyway (a
 * notification can be missed while the connection is being re-established). */
#define RUNNER_WAIT_MS 500

struct runner_thread {
    pthread_t thread;
    struct markr_queue_runner *owner;
    struct markr_services *services;
    int started;
};

struct markr_queue_runner {
    const struct markr_service_factory *factory;
    atomic_int stopping;
    unsigned count;
    struct runner_thread threads[];
};

static void pause_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* One step of the queue, logged and counted: the outcome is the one struct every import
 * path reports, so these counters agree with those of the synchronous import. */
static void step(struct markr_services *s)
{
    struct markr_reprocess_report report;
    struct markr_error err;
    char import_id[24];
    int64_t id;
    int rc = markr_process_next_queued(&s->queue, &id, &report, &err);

    snprintf(import_id, sizeof(import_id), "%lld", (long long)id);
    if (rc == MARKR_QUEUE_PROCESSED) {
        const struct markr_import_outcome *o = &report.outcome;

        if (o->error.code == MARKR_OK)
            markr_metrics_import_accepted(o->results, o->marks);
        else
            markr_metrics_import_refused(o->error.reason);
        markr_log(MARKR_LOG_INFO, "queued import processed", "import_id", import_id, "status", report.status, NULL);
    } else if (rc < 0 && id != 0) {
        markr_log(MARKR_LOG_WARN, "queued import not processed; will retry", "import_id", import_id, "error",
                  err.message, NULL);
    } else if (rc < 0) {
        markr_log(MARKR_LOG_WARN, "cannot read the import queue", "error", err.message, NULL);
    }
    markr_reprocess_report_free(&report);
    if (rc < 0)
        pause_ms(RUNNER_WAIT_MS);
    else if (rc == MARKR_QUEUE_EMPTY)
        markr_wait_for_queued(&s->queue, RUNNER_WAIT_MS);
}

static void *run(void *arg)
{
    struct runner_thread *t = arg;

    while (!atomic_load(&t->owner->stopping))
        step(t->services);
    return NULL;
}

/* Runners start with every signal blocked: stop signals belong to the server's loop (its
 * signalfd), and one delivered to a runner would kill the process instead. */
static int spawn(struct runner_thread *t)
{
    sigset_t all, old;
    int rc;

    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rc = pthread_create(&t->thread, NULL, run, t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

struct markr_queue_runner *markr_queue_runner_start(const struct markr_service_factory *factory, unsigned threads,
                                                    struct markr_error *err)
{
    struct markr_queue_runner *r = calloc(1, sizeof(*r) + threads * sizeof(r->threads[0]));

    if (r == NULL) {
        markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
        return NULL;
    }
    r->factory = factory;
    atomic_init(&r->stopping, 0);
    for (unsigned i = 0; i < threads; ++i) {
        struct runner_thread *t = &r->threads[i];

        t->owner = r;
        if ((t->services = factory->open(factory->ctx, err)) == NULL)
            goto fail;
        r->count = i + 1;
        if (spawn(t) != 0) {
            markr_error_set(err, MARKR_ERR_INTERNAL, "thread", "cannot start a queue runner");
            goto fail;
        }
        t->started = 1;
    }
    return r;
fail:
    markr_queue_runner_stop(r);
    return NULL;
}

void markr_queue_runner_stop(struct markr_queue_runner *r)
{
    if (r == NULL)
        return;
    atomic_store(&r->stopping, 1);
    for (unsigned i = 0; i < r->count; ++i) {
        struct runner_thread *t = &r->threads[i];

        if (t->started)
            pthread_join(t->thread, NULL);
        if (t->services != NULL)
            r->factory->close(r->factory->ctx, t->services);
    }
    free(r);
}
