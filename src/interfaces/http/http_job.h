/*
 * A request whose answer comes from a worker thread. The job is heap memory owned by
 * whoever finishes second: if the client goes away first, h2o disposes of the request and
 * the job is freed when the worker hands it back; otherwise the job answers and frees itself.
 * The request's pool holds only an anchor whose dispose hook tells the job its request died.
 *
 * The answer is made on the worker: run() fills job->answer (markr_http_answer_json or
 * markr_http_answer_error build, serialise and free the JSON there), and the loop only
 * hands those bytes to h2o, which then owns them with the request's pool. A read whose
 * client left before a worker took it is not run at all; a write is run all the same.
 */
#ifndef MARKR_INTERFACES_HTTP_JOB_H
#define MARKR_INTERFACES_HTTP_JOB_H

#include <stdatomic.h>

#include <h2o.h>

#include "content_encoding.h"
#include "observe_http.h"
#include "responses.h"
#include "worker_pool.h"

struct markr_http_anchor;

struct markr_http_job {
    struct markr_job job; /* set job.run before starting */
    /* On the loop thread, when the worker is done and the request is still alive. NULL (the
     * usual case) sends job->answer; a handler that streams its answer sets its own. */
    void (*respond)(struct markr_http_job *self, h2o_req_t *req);
    /* Frees the job (always called exactly once, after respond if that ran). */
    void (*destroy)(struct markr_http_job *self);
    /* Set by the handler before starting when the job changes what is stored (an import, a
     * reprocessing that commits): its request has arrived whole, so it is run even if its
     * client has gone (a client that half-closed after sending still waits for the answer,
     * and one that closed looks the same until the answer is written). 0, the default, is
     * for a read, which is not run once its client has gone. */
    int runs_even_if_gone;
    h2o_req_t *req; /* NULL once the request is gone */
    struct markr_http_anchor *anchor;
    struct markr_http_answer answer; /* freed by markr_http_job_start's own hooks */
    /* Private: the handler's run; whether the client left (h2o disposed of the request, read
     * by the worker); the connection's socket, to see whether its peer closed it; whether the
     * worker skipped run (read by the loop once the job is back); for a job that runs even if
     * gone, the request's id and route, for the worker's log line when its client has left
     * (the request may be gone by then). */
    void (*run)(struct markr_job *job, struct markr_services *services);
    atomic_int client_gone;
    int fd;
    int skipped;
    char request_id[MARKR_HTTP_REQUEST_ID_MAX + 1];
    const char *route;
};

/* Ties job to req and queues it. When a worker takes the job, it looks whether the client
 * has gone: h2o has disposed of the request, or the connection's peer has closed its side
 * (h2o 2.2.5 does not read a connection while its request is being answered, so a client
 * that left is seen only here). A read (runs_even_if_gone 0) whose client has gone is not
 * run: it is counted (markr_http_jobs_skipped) and, if h2o still holds the request, answered
 * 499 without calling respond. A write (runs_even_if_gone 1) is run whatever the client did,
 * with an info log line naming its request when the client has gone; its answer is sent if
 * h2o still holds the request, dropped otherwise. When the waiting line is full, answers 503
 * with Retry-After and destroys the job. */
void markr_http_job_start(struct markr_http_job *job, h2o_req_t *req, struct markr_worker_pool *pool);

/* As markr_http_job_start, for a request that may have started its answer already: when the
 * waiting line is full, returns -1 and leaves the job (and the answer) to the caller. */
int markr_http_job_try_start(struct markr_http_job *job, h2o_req_t *req, struct markr_worker_pool *pool);

/* Reads that a worker did not run because their client had gone (for GET /metrics). */
unsigned long long markr_http_jobs_skipped(void);

/* A request's body as a job holds it: its own copy, counted against the cap on bodies
 * buffered at once (MARKR_MAX_BUFFERED_BYTES) until markr_http_body_free. */
struct markr_http_body {
    char *content_type; /* NUL-terminated */
    enum markr_content_encoding encoding; /* of bytes: as it arrived, identity once decoded */
    enum markr_content_encoding arrived;  /* as it arrived, for the vault */
    char *bytes;
    size_t len;
    size_t counted; /* bytes taken from the cap */
};

/* The cap on the bytes of all bodies held at once (set once, before serving). */
void markr_http_set_buffered_cap(size_t cap);

/* Copies the request's body and content_type into *out, heap memory of the job's:
 * req->entity lives in h2o's connection buffers, which h2o frees when the client goes away,
 * and that can happen while a worker still reads the body. Only the loop thread may read
 * req->entity. The coding is read from the request (markr_http_request_encoding), the bytes
 * are copied as they are: decoding is the worker's (markr_http_body_decode). Returns 0; 1
 * when the copy would pass the buffered cap (nothing is taken and 503 overloaded with
 * Retry-After has been sent); -1 when out of memory. Either way the caller calls
 * markr_http_body_free. */
int markr_http_copy_body(h2o_req_t *req, h2o_iovec_t content_type, struct markr_http_body *out);

/* The request's Content-Encoding (h2o keeps it in req->headers): identity when there is
 * none; MARKR_ENCODING_UNSUPPORTED for another coding, an empty value or more than one
 * header (a list of codings, which we do not stack). On the loop: reads the header only. */
enum markr_content_encoding markr_http_request_encoding(h2o_req_t *req);

/* On the worker: decodes body in place when it arrived encoded, so that the decoded size is
 * at most limit bytes and is what counts against MARKR_MAX_BUFFERED_BYTES from then on
 * (the encoded copy is freed). Returns 0 (body->bytes is the document, body->arrived still
 * names the coding), or -1 with the answer made: 413 payload_too_large past limit (which
 * limit_name names) or when it could not fit the cap beside its encoded copy, 400
 * bad_content_encoding for data that is not of its coding (corrupt, truncated), 503
 * overloaded when other bodies hold the cap, 500 out of memory. */
int markr_http_body_decode(struct markr_http_body *body, size_t limit, const char *limit_name,
                           struct markr_http_answer *answer);

/* On the worker, when answer is a 503 outcome_unknown (ADR 0022: the COMMIT's result is not
 * known): puts the SHA-256 of body's bytes (the document as the vault keeps it) in the
 * answer, so that the client can ask GET /imports?sha256= whether it was stored. */
void markr_http_answer_note_digest(struct markr_http_answer *answer, const struct markr_http_body *body);

/* Frees the copy and gives its bytes back to the cap (thread-safe; again is harmless). */
void markr_http_body_free(struct markr_http_body *body);

/* Bytes of bodies held now (for tests and GET /metrics). */
size_t markr_http_buffered_bytes(void);

#endif
