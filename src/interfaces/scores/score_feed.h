/*
 * The live score feed's client (ADR 0027): with MARKR_FEED_URL set, `markr serve` runs one
 * thread of its own that takes the feed's lock (one consumer among the instances sharing a
 * database), subscribes with libcurl (Last-Event-ID: the stored position), hands each event
 * to the feed's use cases (application/feed.h) and reconnects after a drop: after the
 * server's retry delay (1 s when none, 250 ms at least), backing off exponentially up to 30 s while the
 * source is unreachable or answers anything but 200 text/event-stream. It never runs on the
 * HTTP event loop; GET /feed reads its status through a monitor.
 */
#ifndef MARKR_INTERFACES_SCORES_SCORE_FEED_H
#define MARKR_INTERFACES_SCORES_SCORE_FEED_H

#include "application/feed.h"
#include "application/services.h"

#define MARKR_FEED_RETRY_DEFAULT_MS 1000
#define MARKR_FEED_BACKOFF_MAX_MS 30000
/* The shortest wait before a reconnection, whatever the server's retry: says: `retry: 0`
 * would otherwise reconnect in a loop with no pause (and its backoff would stay at 0). */
#define MARKR_FEED_RETRY_MIN_MS 250
/* How often the holder checks that its lock's connection still holds the lock, and how
 * often the others try to take it (a takeover comes within this and a connection). */
#define MARKR_FEED_LOCK_POLL_MS 1000
/* A connection whose answer's head has not come in this long (or in the idle timeout, when
 * shorter) fails as no_answer: a source that accepts and says nothing must not hold the
 * feed. Once answered, a stream that sends no byte for the idle timeout
 * (MARKR_FEED_IDLE_TIMEOUT_S; sources send comments as keep-alives) is dropped as
 * idle_timeout; TCP keep-alives (idle 10 s, then every 10 s) find a dead peer sooner. */
#define MARKR_FEED_HEAD_TIMEOUT_MS 10000
#define MARKR_FEED_IDLE_TIMEOUT_DEFAULT_S 90
#define MARKR_FEED_KEEPALIVE_S 10L

struct markr_score_feed;

/* The feed's name, the key of its stored position and of its lock: the URL without user and
 * password (GET /feed and the logs show it without its query too). Returns 0, or -1 when url
 * is not an http or https URL (message in errbuf). */
int markr_score_feed_name(const char *url, char *out, size_t cap, char *errbuf, size_t errlen);

/* Starts the thread. url: http or https; idle_timeout_s: how long a stream may stay silent
 * (at least 1); factory: the services it stores through (one connection of its own); lock:
 * the feed's lock (its own connection too). Returns NULL with err when it cannot start. */
struct markr_score_feed *markr_score_feed_start(const char *url, unsigned idle_timeout_s,
                                                const struct markr_service_factory *factory,
                                                struct markr_feed_lock *lock, struct markr_error *err);
/* Stores the batch gathered so far, gives the lock up and stops the thread. */
void markr_score_feed_stop(struct markr_score_feed *feed);
/* The monitor for GET /feed (valid until stop). */
struct markr_feed_monitor markr_score_feed_monitor(struct markr_score_feed *feed);

#endif
