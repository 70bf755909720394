/*
 * The write timeout of streaming answers (raw downloads, live streams). h2o 2.2.5 has no
 * timeout on writes: a client that stops reading keeps its connection, and whatever the
 * answer holds, for ever. A watch is armed while a send is in flight and disarmed when h2o
 * says it was written (the generator's proceed); if it fires, no write made progress for
 * MARKR_WRITE_TIMEOUT_MS and the connection is closed. Loop thread only.
 */
#ifndef MARKR_INTERFACES_HTTP_WRITE_WATCH_H
#define MARKR_INTERFACES_HTTP_WRITE_WATCH_H

#include <h2o.h>

struct markr_write_watch {
    h2o_timeout_entry_t entry; /* linked while a send is in flight */
    h2o_req_t *req;
};

/* Zeroes w. Call once, before anything else. */
void markr_write_watch_init(struct markr_write_watch *w);
/* A send of req has just been handed to h2o: starts (or restarts) the wait on timeout, the
 * loop's h2o_timeout_t of the write timeout. */
void markr_write_watch_arm(struct markr_write_watch *w, h2o_timeout_t *timeout, h2o_req_t *req);
/* The send was written (or the answer is going away): stops the wait. Safe when not armed. */
void markr_write_watch_disarm(struct markr_write_watch *w);

/* Closes the connection of req without waiting for its writes: its socket is shut down both
 * ways, so the send in flight fails and h2o closes the connection and disposes of the request
 * (and of everything in its pool). The socket itself stays h2o's to close: closing it here
 * would leave h2o's connection with a dangling socket. */
void markr_http_abort_connection(h2o_req_t *req);

#endif
