/*
 * What the feed client's two files share (score_feed.c: the thread, the lock, the status;
 * feed_stream.c: one connection). Private to src/interfaces/scores.
 */
#ifndef MARKR_INTERFACES_SCORES_FEED_INTERNAL_H
#define MARKR_INTERFACES_SCORES_FEED_INTERNAL_H

#include <curl/curl.h>
#include <pthread.h>

#include "interfaces/observe/log.h"
#include "score_feed.h"

struct markr_score_feed {
    char *url; /* as configured: may hold credentials, never shown */
    char name[MARKR_FEED_NAME_MAX + 1];
    const struct markr_service_factory *factory;
    struct markr_feed_lock *lock;
    unsigned idle_timeout_s; /* MARKR_FEED_IDLE_TIMEOUT_S */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    int stopping;                  /* under mu */
    struct markr_feed_status status; /* under mu */
    char logged[96];               /* the last state logged: one line per change, not per attempt */
};

/* What one connection needs (the thread's own). */
struct stream {
    struct markr_score_feed *feed;
    struct markr_feed_deps deps;
    struct markr_feed_batch batch;
    struct markr_feed_counts counts, reported;
    struct markr_event_stream parser;
    CURL *easy;
    int answered;  /* 200 text/event-stream seen */
    int failed;    /* the stream must be dropped: lost, storage away, or a bad answer */
    int lost;      /* the lock or the storage failed: take the feed again */
    char problem[96];
};

int64_t markr_feed_now_ms(void);
/* One logfmt line when the feed's state changes (not per attempt). */
void markr_feed_log_state(struct markr_score_feed *f, enum markr_log_level level, const char *state, const char *msg,
               const char *detail);
/* connected: the stream is open; published as connected only while held as well. */
void markr_feed_set_connected(struct markr_score_feed *f, int held, int connected);
/* Publishes what the stream counted since the last report (GET /feed, metrics). */
void markr_feed_report(struct stream *s);
void markr_feed_event_seen(struct markr_score_feed *f);
int markr_feed_stopping(struct markr_score_feed *f);
/* The parser's callback: one event through the feed's use cases (ctx: the stream). */
int markr_feed_on_event(void *ctx, const struct markr_event_stream_event *event);
/* Runs one connection (Last-Event-ID: last_event_id) until it ends, fails or the feed stops;
 * every event received whole is stored, also at a drop or a stop. */
void markr_feed_run_stream(struct stream *s, const char *last_event_id);

#endif
