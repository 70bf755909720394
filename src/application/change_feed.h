/*
 * Port (issue 4): committed changes of the marks, as the database announces them. The HTTP
 * adapter uses it to keep its aggregate cache exact and to feed the live streams; the
 * PostgreSQL adapter fills it with LISTEN/NOTIFY (ADR 0012).
 */
#ifndef MARKR_APPLICATION_CHANGE_FEED_H
#define MARKR_APPLICATION_CHANGE_FEED_H

#include <stddef.h>

/* Where the feed reports. Called on the feed's own thread: implementations hand over to
 * their own thread and return quickly. */
struct markr_change_sink {
    void *ctx;
    /* Listening (again): every change committed from now on will be reported. */
    void (*up)(void *ctx);
    /* Listening lost: changes may go unreported until the next up. */
    void (*down)(void *ctx);
    /* One committed import: payload is JSON, {"import_id":N,"tests":[...]} or, when the
     * list did not fit, {"import_id":N,"flush":true} (every test may have changed). Not
     * NUL-terminated; valid during the call only. */
    void (*changed)(void *ctx, const char *payload, size_t len);
};

struct markr_change_feed {
    void *ctx;
    /* Blocks until stop: connects, listens, reports through sink, reconnects after a loss
     * (sink->down, then sink->up once listening again). */
    void (*run)(void *ctx, const struct markr_change_sink *sink);
    /* Makes run return soon. Safe from any thread. */
    void (*stop)(void *ctx);
};

#endif
