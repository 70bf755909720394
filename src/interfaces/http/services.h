/*
 * What the HTTP adapter needs from the composition root: for each worker thread, the
 * dependencies of the use cases (its own database connection, typically). The adapter
 * never sees which adapters fill them in.
 */
#ifndef MARKR_INTERFACES_HTTP_SERVICES_H
#define MARKR_INTERFACES_HTTP_SERVICES_H

#include "application/import_document.h"
#include "application/ports.h"
#include "application/reprocess.h"
#include "application/vault.h"
#include "application/views.h"
#include "application/change_feed.h"

struct markr_services {
    struct markr_import_deps import;
    struct markr_results_reader results;
    struct markr_readiness readiness;
    /* issue 3: the import vault */
    struct markr_vault_reader vault;
    struct markr_reprocess_deps reprocess;
    struct markr_import_queue queue;
    struct markr_views_reader views; /* issue 4 */
};

struct markr_service_factory {
    void *ctx;
    /* Opens the services of one worker thread. Returns NULL with err on failure. */
    struct markr_services *(*open)(void *ctx, struct markr_error *err);
    /* Releases what open returned. */
    void (*close)(void *ctx, struct markr_services *services);
    /* issue 5: called from the loop thread at the shutdown timeout while a worker may be
     * using services: stop its database work so that nothing more is stored. NULL: none. */
    void (*abandon)(void *ctx, struct markr_services *services);
    /* issue 4: committed changes, for the aggregate cache and the live streams (ADR 0012).
     * NULL: no cache, no live updates. */
    const struct markr_change_feed *changes;
};

#endif
