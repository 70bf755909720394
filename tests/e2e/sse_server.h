/*
 * A Server-Sent Events source for the feed's end-to-end suite: a real HTTP/1.1 server on
 * 127.0.0.1 (a free port), on a thread of its own. It answers every connection with the
 * status and content type the test chose, records each request's Last-Event-ID, and sends
 * what the test writes to the newest connection until the test drops it.
 */
#ifndef MARKR_TESTS_E2E_SSE_SERVER_H
#define MARKR_TESTS_E2E_SSE_SERVER_H

#include <pthread.h>

#define SSE_SERVER_CONNECTIONS_MAX 64

struct sse_server {
    int listen_fd, port;
    char url[64];
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t changed;
    int client_fd;   /* the newest connection answered 200 (or held silent), -1 when none */
    int connections; /* requests answered so far */
    char last_event_id[SSE_SERVER_CONNECTIONS_MAX][300]; /* "" when the request had none */
    int status;               /* for the next connections; 200 by default */
    char content_type[64];    /* "text/event-stream" by default */
    int stop;
};

/* Starts the server. Returns 0, or -1. */
int sse_server_start(struct sse_server *s);
void sse_server_stop(struct sse_server *s);
/* How the next connections are answered (status other than 200: no body, then closed;
 * 0: never answered, held open until the next connection, a drop or the stop). */
void sse_server_answer(struct sse_server *s, int status, const char *content_type);
/* Writes text to the newest connection. Returns 0, or -1 when there is none or it broke. */
int sse_server_send(struct sse_server *s, const char *text);
/* Closes the newest connection. */
void sse_server_drop(struct sse_server *s);
/* Waits until at least n requests were answered (at most timeout_ms). Returns 0, or -1. */
int sse_server_wait(struct sse_server *s, int n, int timeout_ms);
/* The requests answered so far. */
int sse_server_connections(struct sse_server *s);
/* The Last-Event-ID of request i (0-based), "" when it sent none. */
const char *sse_server_last_event_id(struct sse_server *s, int i);

#endif
