/*
 * The feed client (score_feed.h): the thread, which takes the lock and connects again and
 * again (feed_stream.c runs one connection), and the status GET /feed reads.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "feed_internal.h"
#include "interfaces/observe/metrics.h"
#include "score_format.h"

int64_t markr_feed_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int markr_score_feed_name(const char *url, char *out, size_t cap, char *errbuf, size_t errlen)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *shown = NULL;
    int rc = -1;

    if (u == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        return -1;
    }
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK || curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
        snprintf(errbuf, errlen, "MARKR_FEED_URL must be an http or https URL");
        goto out;
    }
    curl_url_set(u, CURLUPART_USER, NULL, 0);
    curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
    if (curl_url_get(u, CURLUPART_URL, &shown, 0) != CURLUE_OK || strlen(shown) >= cap) {
        snprintf(errbuf, errlen, "MARKR_FEED_URL is longer than %zu bytes", cap - 1);
        goto out;
    }
    memcpy(out, shown, strlen(shown) + 1);
    rc = 0;
out:
    curl_free(scheme);
    curl_free(shown);
    curl_url_cleanup(u);
    return rc;
}

/* --- status and logs ----------------------------------------------------------------------- */

/* One logfmt line when the feed's state changes (state names it, e.g. "connected"). */
void markr_feed_log_state(struct markr_score_feed *f, enum markr_log_level level, const char *state, const char *msg,
                      const char *detail)
{
    if (strcmp(f->logged, state) == 0)
        return;
    snprintf(f->logged, sizeof(f->logged), "%s", state);
    markr_log(level, msg, "feed", f->status.url, "state", state, "last_event_id", f->status.last_event_id,
              detail != NULL ? "detail" : NULL, detail, NULL);
}

/* "Connected" (GET /feed, markr_feed_connected) means this instance is the feed's consumer:
 * it holds the lock and its stream is open. A stream is only opened under the lock, but the
 * rule is written here, once, rather than trusted to every caller. */
void markr_feed_set_connected(struct markr_score_feed *f, int held, int connected)
{
    connected = held && connected;
    pthread_mutex_lock(&f->mu);
    f->status.held = held;
    f->status.connected = connected;
    pthread_mutex_unlock(&f->mu);
    markr_metrics_feed_connected(connected);
}

/* Publishes what the stream counted since the last report. */
void markr_feed_report(struct stream *s)
{
    struct markr_score_feed *f = s->feed;
    const struct markr_feed_counts *c = &s->counts, *r = &s->reported;

    markr_metrics_feed_events("accepted", c->accepted - r->accepted);
    markr_metrics_feed_events("refused", c->refused - r->refused);
    markr_metrics_feed_events("ignored", c->ignored - r->ignored);
    pthread_mutex_lock(&f->mu);
    f->status.events_accepted += c->accepted - r->accepted;
    f->status.events_refused += c->refused - r->refused;
    f->status.events_ignored += c->ignored - r->ignored;
    if (s->counts.stored_id_set)
        snprintf(f->status.last_event_id, sizeof(f->status.last_event_id), "%s", s->counts.stored_id);
    pthread_mutex_unlock(&f->mu);
    s->reported = s->counts;
}

void markr_feed_event_seen(struct markr_score_feed *f)
{
    struct timespec ts;
    struct tm tm;
    char date[24];

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
    pthread_mutex_lock(&f->mu);
    snprintf(f->status.last_event_at, sizeof(f->status.last_event_at), "%.19s.%03dZ", date,
             (int)(ts.tv_nsec / 1000000) % 1000);
    pthread_mutex_unlock(&f->mu);
}

static int monitor_read(void *ctx, struct markr_feed_status *out)
{
    struct markr_score_feed *f = ctx;

    pthread_mutex_lock(&f->mu);
    *out = f->status;
    pthread_mutex_unlock(&f->mu);
    return 0;
}

struct markr_feed_monitor markr_score_feed_monitor(struct markr_score_feed *feed)
{
    return (struct markr_feed_monitor){.ctx = feed, .read = monitor_read};
}

/* Waits ms or until stopped. Returns 1 when stopping. */
static int pause_ms(struct markr_score_feed *f, long ms)
{
    struct timespec until;
    int stopping;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec += 1;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&f->mu);
    while (!f->stopping && pthread_cond_timedwait(&f->wake, &f->mu, &until) == 0)
        ;
    stopping = f->stopping;
    pthread_mutex_unlock(&f->mu);
    return stopping;
}

int markr_feed_stopping(struct markr_score_feed *f)
{
    int s;

    pthread_mutex_lock(&f->mu);
    s = f->stopping;
    pthread_mutex_unlock(&f->mu);
    return s;
}

/* --- the thread ------------------------------------------------------------------------------ */

/* Holds the lock: opens the services, then connects again and again until the lock or the
 * storage is lost or the feed stops. */
static void consume(struct markr_score_feed *f, int64_t generation, char *position)
{
    struct markr_error err;
    struct markr_services *services = f->factory->open(f->factory->ctx, &err);
    long failures = 0, retry_ms = MARKR_FEED_RETRY_DEFAULT_MS; /* the server's retry: lasts */
    int first = 1;

    if (services == NULL) {
        markr_feed_log_state(f, MARKR_LOG_WARN, "storage_unavailable", "feed storage unavailable", err.message);
        return;
    }
    while (!markr_feed_stopping(f)) {
        struct stream s = {.feed = f,
                           .deps = {.import = &services->import, .content_type = MARKR_SCORE_MEDIA_TYPE,
                                    .result_type = MARKR_SCORE_EVENT_TYPE, .feed = f->name, .generation = generation}};
        long wait;

        markr_feed_batch_init(&s.batch);
        snprintf(s.batch.last_event_id, sizeof(s.batch.last_event_id), "%s", position);
        markr_event_stream_init(&s.parser, markr_feed_on_event, &s);
        markr_event_stream_resume(&s.parser, position); /* an event without id keeps it */
        s.parser.skip_too_long = 1; /* kept refused and skipped, never a stop on the same event */
        if (!first) {
            markr_metrics_feed_reconnect();
            pthread_mutex_lock(&f->mu);
            ++f->status.reconnects;
            pthread_mutex_unlock(&f->mu);
        }
        first = 0;
        markr_feed_run_stream(&s, position);
        if (s.counts.stored_id_set)
            snprintf(position, MARKR_EVENT_STREAM_ID_MAX + 1, "%s", s.counts.stored_id);
        markr_feed_set_connected(f, 1, 0);
        if (s.parser.retry_ms >= 0)
            retry_ms = s.parser.retry_ms;
        wait = retry_ms > MARKR_FEED_RETRY_MIN_MS ? retry_ms : MARKR_FEED_RETRY_MIN_MS;
        if (s.answered) {
            failures = 0;
            if (!markr_feed_stopping(f))
                markr_feed_log_state(f, MARKR_LOG_INFO, "dropped", "feed dropped", s.problem[0] != '\0' ? s.problem : NULL);
        } else {
            /* unreachable or a bad answer: 1x, 2x, 4x ... the delay, at most 30 s */
            for (long i = 0; i < failures && wait < MARKR_FEED_BACKOFF_MAX_MS; ++i)
                wait *= 2;
            ++failures;
            markr_feed_log_state(f, MARKR_LOG_WARN, s.problem, "feed refused", NULL);
        }
        markr_event_stream_free(&s.parser);
        markr_feed_batch_free(&s.batch);
        if (s.lost)
            break;
        if (pause_ms(f, wait < MARKR_FEED_BACKOFF_MAX_MS ? wait : MARKR_FEED_BACKOFF_MAX_MS))
            break;
    }
    f->factory->close(f->factory->ctx, services);
}

static void *run(void *arg)
{
    struct markr_score_feed *f = arg;

    while (!markr_feed_stopping(f)) {
        struct markr_error err;
        char position[MARKR_EVENT_STREAM_ID_MAX + 1] = "";
        int64_t generation = 0;
        int rc = f->lock->acquire(f->lock->ctx, f->name, &generation, position, sizeof(position), &err);

        if (rc == 1) {
            pthread_mutex_lock(&f->mu);
            snprintf(f->status.last_event_id, sizeof(f->status.last_event_id), "%s", position);
            pthread_mutex_unlock(&f->mu);
            markr_feed_set_connected(f, 1, 0);
            f->logged[0] = '\0';
            markr_feed_log_state(f, MARKR_LOG_INFO, "taken", "feed taken", NULL);
            consume(f, generation, position);
            f->lock->release(f->lock->ctx);
            markr_feed_set_connected(f, 0, 0);
            markr_feed_log_state(f, MARKR_LOG_INFO, "released", "feed released", NULL);
        } else if (rc == 0) {
            markr_feed_log_state(f, MARKR_LOG_INFO, "held_elsewhere", "feed held by another instance", NULL);
        } else {
            markr_feed_log_state(f, MARKR_LOG_WARN, "lock_unavailable", "feed lock unavailable", err.message);
        }
        if (pause_ms(f, MARKR_FEED_LOCK_POLL_MS))
            break;
    }
    return NULL;
}

struct markr_score_feed *markr_score_feed_start(const char *url, unsigned idle_timeout_s,
                                                const struct markr_service_factory *factory,
                                                struct markr_feed_lock *lock, struct markr_error *err)
{
    struct markr_score_feed *f = calloc(1, sizeof(*f));
    char message[128];
    sigset_t all, old;
    int started;

    if (f == NULL || (f->url = strdup(url)) == NULL) {
        free(f);
        markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
        return NULL;
    }
    if (markr_score_feed_name(url, f->name, sizeof(f->name), message, sizeof(message)) != 0) {
        markr_error_set(err, MARKR_ERR_BAD_REQUEST, "bad_feed_url", "%s", message);
        goto fail;
    }
    /* Shown and logged without its query either: a token may sit there too. */
    snprintf(f->status.url, sizeof(f->status.url), "%.*s%s", (int)strcspn(f->name, "?#"), f->name,
             f->name[strcspn(f->name, "?#")] != '\0' ? "?..." : "");
    f->idle_timeout_s = idle_timeout_s != 0 ? idle_timeout_s : MARKR_FEED_IDLE_TIMEOUT_DEFAULT_S;
    f->factory = factory;
    f->lock = lock;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->wake, NULL);
    /* Started with every signal blocked, as the queue runners: stop signals belong to the
     * server's loop (its signalfd), and one delivered here would kill the process. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    started = pthread_create(&f->thread, NULL, run, f);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (started != 0) {
        markr_error_set(err, MARKR_ERR_INTERNAL, "thread", "cannot start the feed thread");
        pthread_cond_destroy(&f->wake);
        pthread_mutex_destroy(&f->mu);
        goto fail;
    }
    return f;
fail:
    free(f->url);
    free(f);
    return NULL;
}

void markr_score_feed_stop(struct markr_score_feed *f)
{
    if (f == NULL)
        return;
    pthread_mutex_lock(&f->mu);
    f->stopping = 1;
    pthread_cond_broadcast(&f->wake);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->thread, NULL);
    pthread_cond_destroy(&f->wake);
    pthread_mutex_destroy(&f->mu);
    free(f->url);
    free(f);
}
