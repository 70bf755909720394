/*
 * GET /imports/{id}/raw: the stored body, streamed from the database a chunk at a time.
 * A first job reads the imports row (content type and size); then each chunk (1 MiB, ADR
 * 0018) is read by a job of its own, asked for only once h2o has written the previous one
 * (the generator's proceed). So a download holds one chunk whatever the body's size, and a
 * client that reads nothing holds one chunk until the write timeout closes it. A chunk goes
 * out in slices of SLICE_BYTES: h2o says only when a whole send is written, and the write
 * timeout must see a slow reader's progress, not just a chunk's end. The loop
 * never waits on the database: every read runs on a worker thread, through the vault's use
 * cases. Downloads at once are capped (MARKR_MAX_DOWNLOADS).
 *
 * The answer's headers are markr's own, never the client's words: the stored Content-Type
 * came from whoever uploaded the document, so it is served as the media type of its format
 * (with a plain charset at most), in a sandbox, as an attachment.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "application/formats.h"
#include "application/vault.h"
#include "handlers.h"
#include "http_job.h"
#include "interfaces/observe/log.h"
#include "query.h"
#include "responses.h"
#include "write_watch.h"

/* One send: a client reading at SLICE_BYTES per MARKR_WRITE_TIMEOUT_MS is still making
 * progress. */
#define SLICE_BYTES (64 * 1024)

/* --- the answer's Content-Type ------------------------------------------------------------------ */

/* The Content-Type a download is served with, built by markr (in pool): the canonical type
 * of the stored one (formats.h: the format's media type and a plain charset); for a type no
 * format reads, application/octet-stream. Nothing else of what the client sent. */
static h2o_iovec_t raw_content_type(h2o_mem_pool_t *pool, const struct markr_formats *formats, const char *stored)
{
    char canonical[128];

    if (markr_formats_canonical(formats, stored, canonical, sizeof(canonical)) == NULL)
        return h2o_iovec_init(H2O_STRLIT("application/octet-stream"));
    return h2o_strdup(pool, canonical, SIZE_MAX);
}

/* --- a download ---------------------------------------------------------------------------------- */

/* In the request's pool: it goes when the request goes (the answer ended, the client left, or
 * the connection was closed), and it counts in the handler's downloads until then. */
struct raw_download {
    h2o_generator_t gen; /* first: h2o hands it back */
    struct markr_http_handler *handler;
    h2o_req_t *req;
    int64_t id;
    h2o_iovec_t content_type; /* the answer's, in the request's pool */
    size_t size;              /* the body's bytes (the Content-Length) */
    size_t sent;              /* bytes handed to h2o */
    int32_t next_seq;         /* the chunk to ask for next */
    int started;              /* the headers went out with the first chunk */
    char *chunk;              /* the chunk h2o is writing (h2o sends from it until proceed) */
    size_t chunk_len, chunk_at; /* its bytes; those handed to h2o */
    struct markr_write_watch watch;
};

enum raw_kind { RAW_HEAD, RAW_CHUNK };

/* One read on a worker. It touches its download only in respond, which runs only while the
 * request (and so the download) is alive; destroy frees what the job holds alone. */
struct raw_job {
    struct markr_http_job base;
    enum raw_kind kind;
    struct raw_download *download;
    int64_t id;
    int32_t seq;
    size_t remaining; /* bytes of the body still to come, for a chunk */
    int rc;
    struct markr_error error;
    char *content_type; /* the stored one (RAW_HEAD) */
    size_t size;
    char *bytes; /* a chunk (RAW_CHUNK) */
    size_t len;
};

static void raw_run(struct markr_job *job, struct markr_services *services)
{
    struct raw_job *self = (struct raw_job *)job;

    if (self->kind == RAW_HEAD)
        self->rc = markr_open_raw_import(&services->vault, self->id, &self->content_type, &self->size, &self->error);
    else
        self->rc = markr_read_raw_chunk(&services->vault, self->id, self->seq, self->remaining, &self->bytes,
                                        &self->len, &self->error);
}

static void raw_respond(struct markr_http_job *job, h2o_req_t *req);

static void raw_destroy(struct markr_http_job *job)
{
    struct raw_job *self = (struct raw_job *)job;

    free(self->content_type);
    free(self->bytes);
    free(self);
}

static struct raw_job *new_job(enum raw_kind kind, struct raw_download *d)
{
    struct raw_job *job = calloc(1, sizeof(*job));

    if (job == NULL)
        return NULL;
    job->kind = kind;
    job->download = d;
    job->id = d->id;
    job->base.job.run = raw_run;
    job->base.respond = raw_respond;
    job->base.destroy = raw_destroy;
    return job;
}

/* A download that cannot go on. Before its headers, an error answer; after them, the length
 * is promised and cannot be kept: the connection is closed, so the client sees a short body,
 * never a wrong one. */
static void download_fail(struct raw_download *d, const struct markr_error *err)
{
    char id[24];

    if (!d->started) {
        markr_http_send_error(d->req, err, 0);
        return;
    }
    snprintf(id, sizeof(id), "%lld", (long long)d->id);
    markr_log(MARKR_LOG_WARN, "a raw download broke off", "import_id", id, "error", err->reason, "message",
              err->message, NULL);
    h2o_send(d->req, NULL, 0, H2O_SEND_STATE_ERROR);
}

/* Asks a worker for the next chunk. */
static void fetch_next(struct raw_download *d)
{
    static const struct markr_error busy = {.code = MARKR_ERR_UNAVAILABLE,
                                            .reason = "overloaded",
                                            .message = "too many requests are waiting for the database; retry shortly"};
    struct raw_job *job = new_job(RAW_CHUNK, d);

    if (job == NULL) {
        struct markr_error oom;

        markr_error_set(&oom, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
        download_fail(d, &oom);
        return;
    }
    job->seq = d->next_seq++;
    job->remaining = d->size - d->sent;
    if (markr_http_job_try_start(&job->base, d->req, d->handler->pool) != 0) {
        raw_destroy(&job->base);
        download_fail(d, &busy);
    }
}

static void start_answer(struct raw_download *d)
{
    h2o_req_t *req = d->req;
    char disposition[64];
    int n;

    req->res.status = 200;
    req->res.reason = "OK";
    req->res.content_length = d->size;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, d->content_type.base,
                   d->content_type.len);
    /* Never a page of markr's origin, whatever a browser makes of the bytes. */
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("content-security-policy"), 0, NULL,
                          H2O_STRLIT("sandbox"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-content-type-options"), 0, NULL,
                          H2O_STRLIT("nosniff"));
    /* A block of score events is text, not XML: named so that no viewer parses it as XML. */
    n = snprintf(disposition, sizeof(disposition), "attachment; filename=\"import-%lld.%s\"", (long long)d->id,
                 d->content_type.len >= 17 && memcmp(d->content_type.base, "text/event-stream", 17) == 0 ? "txt"
                                                                                                       : "xml");
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("content-disposition"), 0, NULL,
                          h2o_strdup(&req->pool, disposition, (size_t)n).base, (size_t)n);
    h2o_start_response(req, &d->gen);
    d->started = 1;
}

/* Hands the next slice of the chunk to h2o; the last slice of the body ends the answer. */
static void send_slice(struct raw_download *d)
{
    size_t n = d->chunk_len - d->chunk_at < SLICE_BYTES ? d->chunk_len - d->chunk_at : SLICE_BYTES;
    h2o_iovec_t buf = h2o_iovec_init(d->chunk + d->chunk_at, n);

    d->chunk_at += n;
    d->sent += n;
    markr_write_watch_arm(&d->watch, d->handler->write_timeout, d->req);
    h2o_send(d->req, &buf, 1, d->sent == d->size ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS);
}

static void on_chunk(struct raw_download *d, struct raw_job *job)
{
    if (job->rc != 0) {
        download_fail(d, &job->error);
        return;
    }
    d->chunk = job->bytes; /* the download's now, until its last slice is written */
    d->chunk_len = job->len;
    d->chunk_at = 0;
    job->bytes = NULL;
    if (!d->started)
        start_answer(d);
    send_slice(d);
}

static void on_head(struct raw_download *d, struct raw_job *job)
{
    if (job->rc != 0) {
        download_fail(d, &job->error);
        return;
    }
    d->size = job->size;
    d->content_type = raw_content_type(&d->req->pool, &d->handler->settings->formats, job->content_type);
    if (d->size != 0) {
        fetch_next(d);
        return;
    }
    start_answer(d);
    h2o_send(d->req, NULL, 0, H2O_SEND_STATE_FINAL);
}

static void raw_respond(struct markr_http_job *job, h2o_req_t *req)
{
    struct raw_job *self = (struct raw_job *)job;

    if (self->kind == RAW_HEAD)
        on_head(self->download, self);
    else
        on_chunk(self->download, self);
}

/* h2o wrote a slice: the next one goes; after the chunk's last, it is freed, and only then
 * is the next chunk asked for. */
static void on_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
    struct raw_download *d = (struct raw_download *)gen;

    markr_write_watch_disarm(&d->watch);
    if (d->chunk_at < d->chunk_len) {
        send_slice(d);
        return;
    }
    free(d->chunk);
    d->chunk = NULL;
    d->chunk_len = d->chunk_at = 0;
    if (d->sent < d->size)
        fetch_next(d);
}

static void on_stop(h2o_generator_t *gen, h2o_req_t *req)
{
    /* The request is being disposed of; on_download_dispose frees what the download holds. */
}

static void on_download_dispose(void *p)
{
    struct raw_download *d = p;

    markr_write_watch_disarm(&d->watch);
    free(d->chunk);
    --d->handler->raw_downloads;
}

/* --- entry --------------------------------------------------------------------------------------- */

int markr_handle_import_raw(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match)
{
    int64_t id = markr_parse_id(match->id, match->id_len);
    struct raw_download *d;
    struct raw_job *job;

    if (id < 1) {
        markr_http_send_problem(req, 400, "bad_import_id", "an import id is a positive decimal integer");
        return 0;
    }
    if (handler->raw_downloads >= handler->settings->max_downloads) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, H2O_STRLIT("1"));
        markr_http_send_problem(req, 503, "overloaded", "too many raw downloads at once; retry shortly");
        return 0;
    }
    d = h2o_mem_alloc_shared(&req->pool, sizeof(*d), on_download_dispose);
    memset(d, 0, sizeof(*d));
    d->gen.proceed = on_proceed;
    d->gen.stop = on_stop;
    d->handler = handler;
    d->req = req;
    d->id = id;
    markr_write_watch_init(&d->watch);
    ++handler->raw_downloads; /* until the request goes (on_download_dispose) */
    if ((job = new_job(RAW_HEAD, d)) == NULL)
        return -1;
    markr_http_job_start(&job->base, req, handler->pool);
    return 0;
}
