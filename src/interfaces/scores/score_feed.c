/*
 * The feed client (score_feed.h): one thread, libcurl's multi interface polled in slices of
 * at most 50 ms, so that a batch closes on time (MARKR_FEED_BATCH_MS) while the stream is
 * quiet, the lock is checked every MARKR_FEED_LOCK_POLL_MS, and a stop is seen at once.
 * Events are stored on this thread, through the services of its own connection.
 */
#include "score_feed.h"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "interfaces/observe/log.h"
#include "interfaces/observe/metrics.h"
#include "score_format.h"

struct markr_score_feed {
    char *url; /* as configured: may hold credentials, never shown */
    char name[MARKR_FEED_NAME_MAX + 1];
    const struct markr_service_factory *factory;
    struct markr_feed_lock *lock;
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

static int64_t now_ms(void)
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
static void log_state(struct markr_score_feed *f, enum markr_log_level level, const char *state, const char *msg,
                      const char *detail)
{
    if (strcmp(f->logged, state) == 0)
        return;
    snprintf(f->logged, sizeof(f->logged), "%s", state);
    markr_log(level, msg, "feed", f->name, "state", state, "last_event_id", f->status.last_event_id,
              detail != NULL ? "detail" : NULL, detail, NULL);
}

static void set_connected(struct markr_score_feed *f, int held, int connected)
{
    pthread_mutex_lock(&f->mu);
    f->status.held = held;
    f->status.connected = connected;
    pthread_mutex_unlock(&f->mu);
    markr_metrics_feed_connected(connected);
}

/* Publishes what the stream counted since the last report. */
static void report(struct stream *s)
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

static void event_seen(struct markr_score_feed *f)
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

static int stopping(struct markr_score_feed *f)
{
    int s;

    pthread_mutex_lock(&f->mu);
    s = f->stopping;
    pthread_mutex_unlock(&f->mu);
    return s;
}

/* --- one connection ------------------------------------------------------------------------ */

static void fail(struct stream *s, int lost, const char *problem)
{
    s->failed = 1;
    s->lost |= lost;
    if (s->problem[0] == '\0')
        snprintf(s->problem, sizeof(s->problem), "%s", problem);
}

static void stored_failed(struct stream *s, const struct markr_error *err)
{
    markr_log(MARKR_LOG_WARN, "feed batch not stored", "feed", s->feed->name, "error", err->reason, "message",
              err->message, NULL);
    markr_feed_batch_clear(&s->batch); /* sent again from the stored position */
    fail(s, 1, err->reason);
}

static int on_event(void *ctx, const struct markr_event_stream_event *event)
{
    struct stream *s = ctx;
    struct markr_error err;

    event_seen(s->feed);
    if (markr_feed_take(&s->deps, &s->batch, event, now_ms(), &s->counts, &err) != 0) {
        stored_failed(s, &err);
        return 1;
    }
    return 0;
}

/* Whether the answer is 200 with a text/event-stream body (any parameters). */
static int answer_is_stream(CURL *easy, long *code)
{
    char *type = NULL;
    size_t n = strlen(MARKR_SCORE_MEDIA_TYPE);

    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, code);
    curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &type);
    return *code == 200 && type != NULL && strncasecmp(type, MARKR_SCORE_MEDIA_TYPE, n) == 0 &&
           (type[n] == '\0' || type[n] == ';' || type[n] == ' ');
}

static void answered(struct stream *s)
{
    struct markr_score_feed *f = s->feed;

    s->answered = 1;
    set_connected(f, 1, 1);
    log_state(f, MARKR_LOG_INFO, "connected", "feed connected", NULL);
}

/* The state of an answer that is not a stream, as logged: no_content, not_event_stream,
 * http_NNN. */
static void refused_answer(struct stream *s, long code)
{
    char problem[64];

    snprintf(problem, sizeof(problem), code == 204 ? "no_content" : code == 200 ? "not_event_stream" : "http_%ld",
             code);
    fail(s, 0, problem);
}

/* At the end of the headers (an empty line) the answer is judged, before any body: a source
 * that answers 200 text/html and then says nothing must not hold the feed. */
static size_t on_header(char *line, size_t size, size_t n, void *ctx)
{
    struct stream *s = ctx;
    size_t len = size * n;
    long code = 0;

    if (s->answered || !(len <= 2 && (line[0] == '\r' || line[0] == '\n')))
        return len;
    if (answer_is_stream(s->easy, &code)) {
        answered(s);
        return len;
    }
    if (code >= 100 && code < 200)
        return len; /* an interim answer: the real one follows */
    refused_answer(s, code);
    return 0; /* aborts the transfer */
}

static size_t on_body(char *bytes, size_t size, size_t n, void *ctx)
{
    struct stream *s = ctx;
    size_t len = size * n;
    int rc;

    if (!s->answered)
        return 0; /* on_header refused the answer */
    if ((rc = markr_event_stream_feed(&s->parser, bytes, len)) != 0) {
        if (rc < 0)
            fail(s, 0, rc == MARKR_EVENT_STREAM_TOO_LONG ? "event_too_long" : "out_of_memory");
        return 0;
    }
    return len;
}

static void flush(struct stream *s)
{
    struct markr_error err;

    if (s->batch.events != 0 && markr_feed_flush(&s->deps, &s->batch, &s->counts, &err) != 0)
        stored_failed(s, &err);
}

/* Runs one connection until it ends, fails or the feed stops. */
static void run_stream(struct stream *s, const char *last_event_id)
{
    struct markr_score_feed *f = s->feed;
    struct curl_slist *headers = NULL;
    char header[MARKR_EVENT_STREAM_ID_MAX + 32];
    CURLM *multi = curl_multi_init();
    int running = 1;
    int64_t checked = now_ms();

    s->easy = curl_easy_init();
    if (multi == NULL || s->easy == NULL) {
        fail(s, 0, "out_of_memory");
        goto out;
    }
    headers = curl_slist_append(headers, "Accept: text/event-stream");
    headers = curl_slist_append(headers, "Cache-Control: no-cache");
    /* The parser never yields an id with CR, LF or NUL; a position written by hand might. */
    if (last_event_id[0] != '\0' && strpbrk(last_event_id, "\r\n") == NULL) {
        snprintf(header, sizeof(header), "Last-Event-ID: %s", last_event_id);
        headers = curl_slist_append(headers, header);
    }
    curl_easy_setopt(s->easy, CURLOPT_URL, f->url);
    curl_easy_setopt(s->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(s->easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(s->easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(s->easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(s->easy, CURLOPT_HEADERDATA, s);
    curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
    curl_multi_add_handle(multi, s->easy);
    while (running && !s->failed) {
        int64_t t;

        if (curl_multi_perform(multi, &running) != CURLM_OK) {
            fail(s, 0, "client_error");
            break;
        }
        t = now_ms();
        if (markr_feed_due(&s->batch, t))
            flush(s);
        if (t - checked >= MARKR_FEED_LOCK_POLL_MS) {
            struct markr_error err;

            checked = t;
            if (f->lock->check(f->lock->ctx, &err) != 0)
                fail(s, 1, "lock_lost");
        }
        report(s);
        if (stopping(f) || !running || s->failed)
            break;
        curl_multi_poll(multi, NULL, 0, 50, NULL);
    }
    if (!s->failed && !running) {
        long code = 0;
        CURLMsg *msg;
        int left;

        while ((msg = curl_multi_info_read(multi, &left)) != NULL)
            if (msg->msg == CURLMSG_DONE && msg->data.result != CURLE_OK && msg->data.result != CURLE_WRITE_ERROR)
                fail(s, 0, msg->data.result == CURLE_COULDNT_CONNECT ? "unreachable" : curl_easy_strerror(msg->data.result));
        if (!s->failed && !s->answered) { /* no headers seen at all */
            curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
            refused_answer(s, code);
        }
    }
    if (!s->lost)
        flush(s); /* every event received whole is stored, also at a drop or a stop */
    report(s);
out:
    if (multi != NULL && s->easy != NULL)
        curl_multi_remove_handle(multi, s->easy);
    curl_easy_cleanup(s->easy);
    s->easy = NULL;
    curl_multi_cleanup(multi);
    curl_slist_free_all(headers);
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
        log_state(f, MARKR_LOG_WARN, "storage_unavailable", "feed storage unavailable", err.message);
        return;
    }
    while (!stopping(f)) {
        struct stream s = {.feed = f,
                           .deps = {.import = &services->import, .content_type = MARKR_SCORE_MEDIA_TYPE,
                                    .result_type = MARKR_SCORE_EVENT_TYPE, .feed = f->name, .generation = generation}};
        long wait;

        markr_feed_batch_init(&s.batch);
        snprintf(s.batch.last_event_id, sizeof(s.batch.last_event_id), "%s", position);
        markr_event_stream_init(&s.parser, on_event, &s);
        snprintf(s.parser.last_id, sizeof(s.parser.last_id), "%s", position);
        if (!first) {
            markr_metrics_feed_reconnect();
            pthread_mutex_lock(&f->mu);
            ++f->status.reconnects;
            pthread_mutex_unlock(&f->mu);
        }
        first = 0;
        run_stream(&s, position);
        if (s.counts.stored_id_set)
            snprintf(position, MARKR_EVENT_STREAM_ID_MAX + 1, "%s", s.counts.stored_id);
        set_connected(f, 1, 0);
        if (s.parser.retry_ms >= 0)
            retry_ms = s.parser.retry_ms;
        wait = retry_ms;
        if (s.answered) {
            failures = 0;
            if (!stopping(f))
                log_state(f, MARKR_LOG_INFO, "dropped", "feed dropped", s.problem[0] != '\0' ? s.problem : NULL);
        } else {
            /* unreachable or a bad answer: 1x, 2x, 4x ... the delay, at most 30 s */
            for (long i = 0; i < failures && wait < MARKR_FEED_BACKOFF_MAX_MS; ++i)
                wait *= 2;
            ++failures;
            log_state(f, MARKR_LOG_WARN, s.problem, "feed refused", NULL);
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

    while (!stopping(f)) {
        struct markr_error err;
        char position[MARKR_EVENT_STREAM_ID_MAX + 1] = "";
        int64_t generation = 0;
        int rc = f->lock->acquire(f->lock->ctx, f->name, &generation, position, sizeof(position), &err);

        if (rc == 1) {
            pthread_mutex_lock(&f->mu);
            snprintf(f->status.last_event_id, sizeof(f->status.last_event_id), "%s", position);
            pthread_mutex_unlock(&f->mu);
            set_connected(f, 1, 0);
            f->logged[0] = '\0';
            log_state(f, MARKR_LOG_INFO, "taken", "feed taken", NULL);
            consume(f, generation, position);
            f->lock->release(f->lock->ctx);
            set_connected(f, 0, 0);
            log_state(f, MARKR_LOG_INFO, "released", "feed released", NULL);
        } else if (rc == 0) {
            log_state(f, MARKR_LOG_INFO, "held_elsewhere", "feed held by another instance", NULL);
        } else {
            log_state(f, MARKR_LOG_WARN, "lock_unavailable", "feed lock unavailable", err.message);
        }
        if (pause_ms(f, MARKR_FEED_LOCK_POLL_MS))
            break;
    }
    return NULL;
}

struct markr_score_feed *markr_score_feed_start(const char *url, const struct markr_service_factory *factory,
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
    snprintf(f->status.url, sizeof(f->status.url), "%s", f->name);
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
