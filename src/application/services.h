/*
 * What one worker thread needs to run every use case: the dependencies of each, filled in
 * by the composition root (typically over one database connection of the worker's own).
 * Drivers (the HTTP adapter, the queue runners) reach the outside world only through these
 * use cases, never through a port directly, and never see which adapters fill them in.
 */
#ifndef MARKR_APPLICATION_SERVICES_H
#define MARKR_APPLICATION_SERVICES_H

#include "change_feed.h"
#include "get_aggregate.h"
#include "import_document.h"
#include "items.h"
#include "queue.h"
#include "readiness.h"
#include "reprocess.h"
#include "vault.h"
#include "views.h"

struct markr_services {
    struct markr_import_deps import;       /* markr_import_document */
    struct markr_results_reader results;   /* markr_get_aggregate, markr_get_items, markr_get_student_sheet */
    struct markr_readiness readiness;      /* markr_check_readiness */
    struct markr_vault_reader vault;       /* markr_list_imports, markr_get_import, ... */
    struct markr_reprocess_deps reprocess; /* markr_reprocess_one, markr_reprocess_all */
    struct markr_queue_deps queue;         /* markr_enqueue_import, markr_process_next_queued */
    struct markr_views_reader views;       /* markr_list_tests, markr_list_results, ... */
};

struct markr_service_factory {
    void *ctx;
    /* Opens the services of one worker thread. Returns NULL with err on failure. */
    struct markr_services *(*open)(void *ctx, struct markr_error *err);
    /* Releases what open returned. */
    void (*close)(void *ctx, struct markr_services *services);
    /* Called from another thread at the shutdown timeout while a worker may be using
     * services: stop its storage work so that nothing more is stored. NULL: none. */
    void (*abandon)(void *ctx, struct markr_services *services);
    /* Committed changes, for the aggregate cache and the live streams (ADR 0012). NULL: no
     * cache, no live updates. */
    const struct markr_change_feed *changes;
};

#endif
