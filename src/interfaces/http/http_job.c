/*
 * Lifetime of requests answered from worker threads; see http_job.h for the rule.
 * Everything here runs on the loop thread, so the two owners never race.
 */
#include "http_job.h"

#include <openssl/evp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interfaces/observe/log.h"
#include "responses.h"

struct markr_http_anchor {
    struct markr_http_job *job; /* NULL once the job has answered */
};

static atomic_ullong jobs_skipped;

unsigned long long markr_http_jobs_skipped(void)
{
    return atomic_load(&jobs_skipped);
}

static void on_anchor_dispose(void *p)
{
    struct markr_http_anchor *anchor = p;

    if (anchor->job != NULL) {
        anchor->job->req = NULL; /* the client left: the job frees itself when done */
        anchor->job->anchor = NULL;
        atomic_store(&anchor->job->client_gone, 1); /* and a worker that has not started it skips it */
    }
}

/* Whether the peer of fd has closed its side: an end of stream is waiting. Only looks (poll
 * with no wait); the loop owns the socket. Should the loop have closed it meanwhile and the
 * number been reused, client_gone was set first, and the job is skipped either way. */
static int peer_closed(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};

    return fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

/* On the worker: nobody waits for the answer of a read whose client left, so its work (a
 * query, a JSON body) is not done at all. A write is done all the same: its request arrived
 * whole, and skipping it would lose what the client sent. A peer's end of stream may be a
 * half-close (shutdown(SHUT_WR), nc -N, some proxies) by a client that still waits for the
 * answer; nginx takes that for an abort, but for a write that would drop data. */
static void run_unless_gone(struct markr_job *base, struct markr_services *services)
{
    struct markr_http_job *job = H2O_STRUCT_FROM_MEMBER(struct markr_http_job, job, base);

    if (atomic_load(&job->client_gone) || peer_closed(job->fd)) {
        if (job->runs_even_if_gone) {
            markr_log(MARKR_LOG_INFO, "client closed; its write runs all the same", "request_id", job->request_id,
                      "route", job->route, NULL);
            job->run(base, services);
            return;
        }
        job->skipped = 1;
        atomic_fetch_add(&jobs_skipped, 1);
        /* For h2o's log line, should the request still be alive (nginx's "client closed"). */
        markr_http_answer_problem(&job->answer, 499, "client_closed_request",
                                  "the client closed the connection before its request was run");
        return;
    }
    job->run(base, services);
}

static void on_job_done(struct markr_job *base)
{
    struct markr_http_job *job = H2O_STRUCT_FROM_MEMBER(struct markr_http_job, job, base);

    if (job->req != NULL) {
        job->anchor->job = NULL;
        if (job->respond != NULL && !job->skipped)
            job->respond(job, job->req);
        else if (job->skipped && job->req->_generator != NULL)
            /* A streamed answer (a raw download between two chunks) has started already: its
             * status and length are out, so it can only be ended short. */
            h2o_send(job->req, NULL, 0, H2O_SEND_STATE_ERROR);
        else
            markr_http_send_answer(job->req, &job->answer);
    }
    free(job->answer.body); /* NULL once sent: the request's pool owns it then */
    job->destroy(job);
}

int markr_http_job_try_start(struct markr_http_job *job, h2o_req_t *req, struct markr_worker_pool *pool)
{
    job->req = req;
    job->anchor = h2o_mem_alloc_shared(&req->pool, sizeof(*job->anchor), on_anchor_dispose);
    job->anchor->job = job;
    atomic_init(&job->client_gone, 0);
    job->fd = -1;
    if (req->conn->callbacks->get_socket != NULL) {
        h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);

        if (sock != NULL)
            job->fd = h2o_socket_get_fd(sock);
    }
    if (job->runs_even_if_gone) {
        markr_http_request_id(req, job->request_id, sizeof(job->request_id));
        job->route = markr_http_request_route(req);
    }
    job->run = job->job.run;
    job->job.run = run_unless_gone;
    job->job.done = on_job_done;
    if (markr_worker_pool_submit(pool, &job->job) != 0) {
        job->anchor->job = NULL;
        return -1;
    }
    return 0;
}

void markr_http_job_start(struct markr_http_job *job, h2o_req_t *req, struct markr_worker_pool *pool)
{
    if (markr_http_job_try_start(job, req, pool) != 0) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, H2O_STRLIT("1"));
        markr_http_send_problem(req, 503, "overloaded", MARKR_HTTP_OVERLOADED_MESSAGE);
        job->destroy(job);
    }
}

/* Bodies held by jobs at once. h2o 2.2.5 has already read each one whole into its connection
 * buffers when a handler sees it (at most MARKR_MAX_BODY_BYTES each), so what this bounds
 * is the copies that outlive the connection while workers hold them. */
static atomic_size_t buffered_cap = SIZE_MAX;
static atomic_size_t buffered;

void markr_http_set_buffered_cap(size_t cap)
{
    atomic_store(&buffered_cap, cap);
}

size_t markr_http_buffered_bytes(void)
{
    return atomic_load(&buffered);
}

/* Takes n bytes from the cap, or returns -1 and takes nothing when they do not fit. */
static int take_buffered(size_t n)
{
    size_t cap = atomic_load(&buffered_cap), now = atomic_load(&buffered);

    do {
        if (n > cap || now > cap - n)
            return -1;
    } while (!atomic_compare_exchange_weak(&buffered, &now, now + n));
    return 0;
}

int markr_http_copy_body(h2o_req_t *req, h2o_iovec_t content_type, struct markr_http_body *out)
{
    size_t len = req->entity.len;

    memset(out, 0, sizeof(*out));
    if (take_buffered(len) != 0) {
        markr_http_send_problem(req, 503, "overloaded", MARKR_HTTP_BUFFERS_FULL_MESSAGE);
        return 1;
    }
    out->counted = len;
    out->encoding = out->arrived = markr_http_request_encoding(req);
    out->content_type = strndup(content_type.base, content_type.len);
    out->bytes = malloc(len != 0 ? len : 1);
    if (out->content_type == NULL || out->bytes == NULL)
        return -1;
    if (len != 0)
        memcpy(out->bytes, req->entity.base, len);
    out->len = len;
    return 0;
}

enum markr_content_encoding markr_http_request_encoding(h2o_req_t *req)
{
    ssize_t h = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_ENCODING, -1);

    if (h < 0)
        return MARKR_ENCODING_IDENTITY;
    if (h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_ENCODING, h) >= 0)
        return MARKR_ENCODING_UNSUPPORTED;
    return markr_content_encoding_parse(req->headers.entries[h].value.base, req->headers.entries[h].value.len);
}

static int take_for_decoding(size_t n, void *ctx)
{
    (void)ctx;
    return take_buffered(n);
}

int markr_http_body_decode(struct markr_http_body *body, size_t limit, const char *limit_name,
                           struct markr_http_answer *answer)
{
    /* The encoded copy stays counted while it is decoded, and the output buffer is counted
     * as it grows: both are held at once. So a document is decoded to at most what the cap
     * leaves beside its encoded copy; one that passes that could never be taken in, however
     * often the client retries: 413, naming the cap, rather than a 503 for ever. */
    size_t cap = atomic_load(&buffered_cap), room = cap > body->counted + 1 ? cap - body->counted - 1 : 0;
    size_t decode_limit = limit < room ? limit : room;
    struct markr_decode_budget budget = {.take = take_for_decoding};
    char *decoded, message[256];
    size_t len;

    if (body->encoding == MARKR_ENCODING_IDENTITY)
        return 0;
    switch (markr_content_decode_counted(body->encoding, body->bytes, body->len, decode_limit, &budget, &decoded,
                                         &len)) {
    case MARKR_DECODE_OK:
        break;
    case MARKR_DECODE_TOO_LARGE:
        atomic_fetch_sub(&buffered, budget.taken);
        if (decode_limit < limit)
            markr_http_too_large_message(message, sizeof(message), "MARKR_MAX_BUFFERED_BYTES", cap);
        else
            markr_http_too_large_message(message, sizeof(message), limit_name, limit);
        markr_http_answer_problem(answer, 413, "payload_too_large", message);
        return -1;
    case MARKR_DECODE_CORRUPT:
        atomic_fetch_sub(&buffered, budget.taken);
        snprintf(message, sizeof(message), "the body is not valid %s data (corrupt or truncated)",
                 markr_content_encoding_name(body->encoding));
        markr_http_answer_problem(answer, 400, "bad_content_encoding", message);
        return -1;
    case MARKR_DECODE_NO_MEMORY:
        atomic_fetch_sub(&buffered, budget.taken);
        markr_http_answer_problem(answer, 500, "out_of_memory", MARKR_HTTP_OUT_OF_MEMORY_MESSAGE);
        return -1;
    case MARKR_DECODE_NO_ROOM: /* other requests hold the cap now: it may fit later */
        atomic_fetch_sub(&buffered, budget.taken);
        answer->retry_after = 1;
        markr_http_answer_problem(answer, 503, "overloaded", MARKR_HTTP_BUFFERS_FULL_MESSAGE);
        return -1;
    }
    /* The decoded document replaces the encoded copy; its buffer is trimmed to its length
     * (the buffer grew by doubling), and the room it no longer holds is given back. */
    free(body->bytes);
    atomic_fetch_sub(&buffered, body->counted);
    if (len != 0 && len < budget.taken) {
        char *trimmed = realloc(decoded, len);

        if (trimmed != NULL) {
            decoded = trimmed;
            atomic_fetch_sub(&buffered, budget.taken - len);
            budget.taken = len;
        }
    }
    body->bytes = decoded;
    body->len = len;
    body->counted = budget.taken;
    body->encoding = MARKR_ENCODING_IDENTITY;
    return 0;
}

void markr_http_answer_note_digest(struct markr_http_answer *answer, const struct markr_http_body *body)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned n = 0;

    if (!answer->server_error || strcmp(answer->error, "outcome_unknown") != 0 ||
        EVP_Digest(body->bytes != NULL ? body->bytes : "", body->len, digest, &n, EVP_sha256(), NULL) != 1 ||
        n != 32)
        return;
    for (unsigned i = 0; i < n; ++i)
        snprintf(answer->sha256 + 2 * i, 3, "%02x", digest[i]);
}

void markr_http_body_free(struct markr_http_body *body)
{
    free(body->content_type);
    free(body->bytes);
    atomic_fetch_sub(&buffered, body->counted);
    memset(body, 0, sizeof(*body));
}
