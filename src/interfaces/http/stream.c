/*
 * Streamed answers (stream.h), the generator and its jobs.
 */
#include "stream.h"

#include <stdlib.h>
#include <string.h>

#include "http_job.h"
#include "interfaces/observe/log.h"
#include "responses.h"
#include "write_watch.h"

/* One send: a client reading SLICE_BYTES per MARKR_WRITE_TIMEOUT_MS is still making progress. */
#define SLICE_BYTES (64 * 1024)

/* In the request's pool: it goes when the request goes. */
struct stream {
    h2o_generator_t gen; /* first: h2o hands it back */
    struct markr_http_handler *handler;
    h2o_req_t *req;
    const struct markr_http_stream_source *source;
    void *state;               /* source->state_size bytes, in the request's pool */
    int started;               /* the headers went out */
    int last;                  /* the piece held is the last */
    char *piece;               /* what h2o is writing (it sends from it until proceed) */
    size_t piece_len, piece_at; /* its bytes; those handed to h2o */
    struct markr_write_watch watch;
};

struct stream_job {
    struct markr_http_job base;
    struct stream *stream; /* touched in respond only, when the request is alive */
    const struct markr_http_stream_source *source;
    int rc, last;
    struct markr_error error;
    char *bytes;
    size_t len;
    char state[]; /* a copy of the stream's */
};

static void job_run(struct markr_job *job, struct markr_services *services)
{
    struct stream_job *self = (struct stream_job *)job;

    self->rc = self->source->next(self->state, services, &self->bytes, &self->len, &self->last, &self->error);
}

static void job_destroy(struct markr_http_job *job)
{
    struct stream_job *self = (struct stream_job *)job;

    free(self->bytes);
    free(self);
}

/* An answer that cannot go on: an error answer before the headers, else ended short. */
static void stream_fail(struct stream *s, const struct markr_error *err)
{
    if (!s->started) {
        markr_http_send_error(s->req, err, 0);
        return;
    }
    markr_log(MARKR_LOG_WARN, "a streamed answer broke off", "answer", s->source->name, "error", err->reason,
              "message", err->message, NULL);
    h2o_send(s->req, NULL, 0, H2O_SEND_STATE_ERROR);
}

static void job_respond(struct markr_http_job *job, h2o_req_t *req);

static void fetch_next(struct stream *s)
{
    static const struct markr_error busy = {.code = MARKR_ERR_UNAVAILABLE,
                                            .reason = "overloaded",
                                            .message = MARKR_HTTP_OVERLOADED_MESSAGE};
    struct stream_job *job = calloc(1, sizeof(*job) + s->source->state_size);

    if (job == NULL) {
        struct markr_error oom;

        markr_error_set(&oom, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
        stream_fail(s, &oom);
        return;
    }
    job->stream = s;
    job->source = s->source;
    memcpy(job->state, s->state, s->source->state_size);
    job->base.job.run = job_run;
    job->base.respond = job_respond;
    job->base.destroy = job_destroy;
    if (markr_http_job_try_start(&job->base, s->req, s->handler->pool) != 0) {
        job_destroy(&job->base);
        stream_fail(s, &busy);
    }
}

/* Hands the next slice of the piece to h2o; the last slice of the last piece ends the answer. */
static void send_slice(struct stream *s)
{
    size_t n = s->piece_len - s->piece_at < SLICE_BYTES ? s->piece_len - s->piece_at : SLICE_BYTES;
    h2o_iovec_t buf = h2o_iovec_init(s->piece + s->piece_at, n);
    int final = s->last && s->piece_at + n == s->piece_len;

    s->piece_at += n;
    markr_write_watch_arm(&s->watch, s->handler->write_timeout, s->req);
    h2o_send(s->req, &buf, n != 0 ? 1 : 0, final ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS);
}

static void job_respond(struct markr_http_job *job, h2o_req_t *req)
{
    struct stream_job *self = (struct stream_job *)job;
    struct stream *s = self->stream;

    if (self->rc != 0) {
        stream_fail(s, &self->error);
        return;
    }
    memcpy(s->state, self->state, s->source->state_size);
    s->piece = self->bytes; /* the stream's now, until its last slice is written */
    s->piece_len = self->len;
    s->piece_at = 0;
    s->last = self->last;
    self->bytes = NULL;
    if (!s->started) {
        req->res.status = 200;
        req->res.reason = "OK";
        s->source->headers(req, s->state);
        h2o_start_response(req, &s->gen);
        s->started = 1;
        if (markr_http_is_head(req)) { /* the GET's headers, from its first piece; no body */
            free(s->piece);
            s->piece = NULL;
            s->piece_len = s->piece_at = 0;
            s->last = 1;
            h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
            return;
        }
    }
    if (s->piece_len == 0 && !s->last) { /* nothing in this piece: on to the next */
        free(s->piece);
        s->piece = NULL;
        fetch_next(s);
        return;
    }
    send_slice(s);
}

/* h2o wrote a slice: the next one goes; after the piece's last, it is freed, and only then
 * is the next piece asked for. */
static void on_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
    struct stream *s = (struct stream *)gen;

    markr_write_watch_disarm(&s->watch);
    if (s->piece_at < s->piece_len) {
        send_slice(s);
        return;
    }
    free(s->piece);
    s->piece = NULL;
    s->piece_len = s->piece_at = 0;
    if (!s->last)
        fetch_next(s);
}

static void on_stop(h2o_generator_t *gen, h2o_req_t *req)
{
    /* The request is being disposed of; on_stream_dispose frees what the stream holds. */
}

static void on_stream_dispose(void *p)
{
    struct stream *s = p;

    markr_write_watch_disarm(&s->watch);
    free(s->piece);
}

int markr_http_stream_start(struct markr_http_handler *handler, h2o_req_t *req,
                            const struct markr_http_stream_source *source, const void *state)
{
    struct stream *s = h2o_mem_alloc_shared(&req->pool, sizeof(*s), on_stream_dispose);

    memset(s, 0, sizeof(*s));
    s->gen.proceed = on_proceed;
    s->gen.stop = on_stop;
    s->handler = handler;
    s->req = req;
    s->source = source;
    s->state = h2o_mem_alloc_pool(&req->pool, source->state_size);
    memcpy(s->state, state, source->state_size);
    markr_write_watch_init(&s->watch);
    fetch_next(s);
    return 0;
}
