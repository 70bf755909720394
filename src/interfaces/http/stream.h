/*
 * Answers streamed a piece at a time from worker threads (ADR 0028): each piece is made by
 * a job of its own, asked for only once h2o has written the previous one (the generator's
 * proceed), and handed to h2o in slices, each under the write timeout. So an answer of any
 * length holds one piece, and a client that reads nothing holds it until the write timeout
 * closes the connection. The loop never waits on the database.
 *
 * A source's state is flat memory (no pointer into the request): each job works on a copy
 * of it and the copy comes back to the stream with the piece, so a job never touches a
 * request that its client may have left.
 */
#ifndef MARKR_INTERFACES_HTTP_STREAM_H
#define MARKR_INTERFACES_HTTP_STREAM_H

#include <stddef.h>

#include <h2o.h>

#include "domain/error.h"
#include "handlers.h"

struct markr_services;

struct markr_http_stream_source {
    size_t state_size; /* bytes of the source's state */
    /* On a worker: the next piece of the answer from state (what it changes there is kept
     * for the next piece) into *bytes (malloc'd, *len bytes; NULL for none), *last set when
     * nothing follows. Returns 0, or -1 with err: before anything was sent the answer is
     * err's; after, the answer is cut short (the connection closed, never a wrong end). */
    int (*next)(void *state, struct markr_services *services, char **bytes, size_t *len, int *last,
                struct markr_error *err);
    /* On the loop, before the first piece goes out: the answer's headers (its status is
     * 200, its length unknown). */
    void (*headers)(h2o_req_t *req, const void *state);
    const char *name; /* for the log line of an answer broken off */
};

/* Starts the answer of req from source, its state a copy of state. Returns 0 (answered or
 * under way), -1 when out of memory before anything was answered. */
int markr_http_stream_start(struct markr_http_handler *handler, h2o_req_t *req,
                            const struct markr_http_stream_source *source, const void *state);

#endif
