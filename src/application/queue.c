/*
 * The queue's use cases (queue.h). A claim and its processing are two transactions: if the
 * process dies between them, the import is 'processing' without a lock, and the next claim
 * by any server takes it again; processing commits verdict, marks and status together, so
 * it happens exactly once.
 */
#include "queue.h"

#include <string.h>

int markr_enqueue_import(const struct markr_queue_deps *deps, const char *content_type,
                         const char *content_encoding, const char *body, size_t len, int64_t *import_id,
                         struct markr_error *err)
{
    const struct markr_formats *formats = &deps->reprocess.formats;
    const struct markr_format *format;
    char charset[MARKR_CHARSET_MAX];
    enum markr_content_type_verdict verdict = markr_formats_parse(
        formats, content_type, content_type != NULL ? strlen(content_type) : 0, &format, charset, sizeof(charset));

    *import_id = 0;
    if (verdict != MARKR_CONTENT_TYPE_OK)
        return markr_error_set(err, MARKR_ERR_INVALID, "unsupported_media_type", "%s",
                               markr_content_type_problem(verdict));
    return deps->queue.enqueue(deps->queue.ctx, content_type, content_encoding, body, len, import_id, err);
}

int markr_process_next_queued(const struct markr_queue_deps *deps, int64_t *import_id,
                              struct markr_reprocess_report *report, struct markr_error *err)
{
    int rc;

    memset(report, 0, sizeof(*report));
    *import_id = 0;
    if ((rc = deps->queue.claim(deps->queue.ctx, import_id, err)) <= 0)
        return rc < 0 ? -1 : MARKR_QUEUE_EMPTY;
    rc = markr_process_queued(&deps->reprocess, *import_id, report, err);
    /* Processing that the database cut short (its connection lost, a deadlock) is run once
     * more at once, under the same claim: every claim counts one of the import's attempts,
     * and a valid document must not be given up for interruptions that were not its own.
     * Nothing of the first run stayed unless it committed, and then the second finds the
     * import no longer 'processing' and does nothing (so does one that another server took
     * meanwhile, once the first run's session ended). */
    if (rc < 0 && err->code == MARKR_ERR_UNAVAILABLE) {
        markr_reprocess_report_free(report);
        rc = markr_process_queued(&deps->reprocess, *import_id, report, err);
    }
    return rc < 0 ? -1 : rc == 1 ? MARKR_QUEUE_PROCESSED : MARKR_QUEUE_TAKEN;
}

void markr_wait_for_queued(const struct markr_queue_deps *deps, int timeout_ms)
{
    struct markr_error ignored; /* a wait that fails only shortens the wait */

    deps->queue.wait(deps->queue.ctx, timeout_ms, &ignored);
}
