/*
 * One connection of the feed client: libcurl's multi interface polled in slices of at most
 * 50 ms, so that a batch closes on time (MARKR_FEED_BATCH_MS) while the stream is quiet, the
 * lock is checked every MARKR_FEED_LOCK_POLL_MS, and a stop is seen at once. The answer is
 * judged at the end of its headers; events are stored on this thread, through the services
 * of its own connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "feed_internal.h"
#include "score_format.h"

static void fail(struct stream *s, int lost, const char *problem)
{
    s->failed = 1;
    s->lost |= lost;
    if (s->problem[0] == '\0')
        snprintf(s->problem, sizeof(s->problem), "%s", problem);
}

static void stored_failed(struct stream *s, const struct markr_error *err)
{
    markr_log(MARKR_LOG_WARN, "feed batch not stored", "feed", s->feed->status.url, "error", err->reason, "message",
              err->message, NULL);
    markr_feed_batch_clear(&s->batch); /* sent again from the stored position */
    fail(s, 1, err->reason);
}

int markr_feed_on_event(void *ctx, const struct markr_event_stream_event *event)
{
    struct stream *s = ctx;
    struct markr_error err;

    markr_feed_event_seen(s->feed);
    if (event->too_long)
        markr_log(MARKR_LOG_WARN, "feed event too long: kept refused and skipped", "feed", s->feed->status.url,
                  "reason", "event_too_long", "last_event_id", event->last_id, NULL);
    if (markr_feed_take(&s->deps, &s->batch, event, markr_feed_now_ms(), &s->counts, &err) != 0) {
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
    markr_feed_set_connected(f, 1, 1);
    markr_feed_log_state(f, MARKR_LOG_INFO, "connected", "feed connected", NULL);
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
        if (rc < 0) /* no bound stops it (skip_too_long): only memory can */
            fail(s, 0, "out_of_memory");
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
void markr_feed_run_stream(struct stream *s, const char *last_event_id)
{
    struct markr_score_feed *f = s->feed;
    struct curl_slist *headers = NULL;
    char header[MARKR_EVENT_STREAM_ID_MAX + 32];
    CURLM *multi = curl_multi_init();
    int running = 1;
    int64_t checked = markr_feed_now_ms(), opened = checked;
    int64_t head_ms = (int64_t)f->idle_timeout_s * 1000 < MARKR_FEED_HEAD_TIMEOUT_MS ? (int64_t)f->idle_timeout_s * 1000
                                                                                   : MARKR_FEED_HEAD_TIMEOUT_MS;

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
    curl_easy_setopt(s->easy, CURLOPT_TCP_KEEPIDLE, MARKR_FEED_KEEPALIVE_S);
    curl_easy_setopt(s->easy, CURLOPT_TCP_KEEPINTVL, MARKR_FEED_KEEPALIVE_S);
    /* less than a byte a second for the idle timeout: the stream is dead or the source stalled */
    curl_easy_setopt(s->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(s->easy, CURLOPT_LOW_SPEED_TIME, (long)f->idle_timeout_s);
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
        t = markr_feed_now_ms();
        if (!s->answered && t - opened >= head_ms) {
            fail(s, 0, "no_answer");
            break;
        }
        if (markr_feed_due(&s->batch, t))
            flush(s);
        if (t - checked >= MARKR_FEED_LOCK_POLL_MS) {
            struct markr_error err;

            checked = t;
            if (f->lock->check(f->lock->ctx, &err) != 0)
                fail(s, 1, "lock_lost");
        }
        markr_feed_report(s);
        if (markr_feed_stopping(f) || !running || s->failed)
            break;
        curl_multi_poll(multi, NULL, 0, 50, NULL);
    }
    if (!s->failed && !running) {
        long code = 0;
        CURLMsg *msg;
        int left;

        while ((msg = curl_multi_info_read(multi, &left)) != NULL)
            if (msg->msg == CURLMSG_DONE && msg->data.result != CURLE_OK && msg->data.result != CURLE_WRITE_ERROR)
                fail(s, 0, msg->data.result == CURLE_COULDNT_CONNECT      ? "unreachable"
                           : msg->data.result == CURLE_OPERATION_TIMEDOUT ? (s->answered ? "idle_timeout" : "no_answer")
                                                                          : curl_easy_strerror(msg->data.result));
        if (!s->failed && !s->answered) { /* no headers seen at all */
            curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
            refused_answer(s, code);
        }
    }
    if (!s->lost)
        flush(s); /* every event received whole is stored, also at a drop or a stop */
    markr_feed_report(s);
out:
    if (multi != NULL && s->easy != NULL)
        curl_multi_remove_handle(multi, s->easy);
    curl_easy_cleanup(s->easy);
    s->easy = NULL;
    curl_multi_cleanup(multi);
    curl_slist_free_all(headers);
}

