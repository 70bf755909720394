/*
 * Server-Sent Events written by the loop (ADR 0013): the clients of the aggregate streams
 * and of /events. Knows nothing of what the events say; live.c decides who hears what. One
 * per h2o context (so per loop), used from that loop's thread only.
 */
#ifndef MARKR_INTERFACES_HTTP_SSE_H
#define MARKR_INTERFACES_HTTP_SSE_H

#include <stddef.h>
#include <stdint.h>

#include <h2o.h>

#include "domain/error.h"

struct markr_sse;
struct markr_sse_client;

/* For an event that is always sent (see markr_sse_send_event). */
#define MARKR_SSE_UNVERSIONED UINT64_MAX

/* The streams of ctx's loop; ctx must outlive it. A send of a client that makes no progress
 * for write_timeout (the loop's h2o_timeout_t; NULL: no limit) closes its connection. NULL
 * when out of memory. */
struct markr_sse *markr_sse_create(h2o_context_t *ctx, h2o_timeout_t *write_timeout);
/* Call once every client has ended (markr_sse_end_all) and the loop is done with them. */
void markr_sse_destroy(struct markr_sse *sse);
/* A comment to every started client, which also keeps proxies from closing idle streams. */
void markr_sse_heartbeat(struct markr_sse *sse);
/* Started clients whose connection is still there (ended ones count until h2o disposes of
 * their request, which frees what they hold). */
size_t markr_sse_open(const struct markr_sse *sse);
/* Ends every started client (for shutdown). */
void markr_sse_end_all(struct markr_sse *sse);

/* A client answering req, allocated in req's pool and freed with it, in list (the caller's,
 * may be NULL) until it ends or is refused. Nothing is sent until the first event (or
 * markr_sse_start). With replace, an event replaces whatever is still pending for the client
 * (newer figures supersede older ones); otherwise events queue up. */
struct markr_sse_client *markr_sse_client_create(struct markr_sse *sse, h2o_req_t *req, h2o_linklist_t *list,
                                                 int replace);
/* The client whose list link is link. */
struct markr_sse_client *markr_sse_client_of(h2o_linklist_t *link);
/* Sends the headers of the stream, then text (comments or whole events). */
void markr_sse_start(struct markr_sse_client *c, const char *text, size_t len);
/* Sends "event: NAME\ndata: DATA\n\n" (data is one line), starting the stream with it when
 * it has not started. An event of the version the client was last sent is skipped (it shows
 * that already), unless version is MARKR_SSE_UNVERSIONED. */
void markr_sse_send_event(struct markr_sse_client *c, uint64_t version, const char *name, const char *data,
                          size_t len);
/* Answers err instead of a stream, for a client that has not started (otherwise nothing):
 * it leaves its list and sends nothing more. */
void markr_sse_refuse(struct markr_sse_client *c, const struct markr_error *err);

#endif
