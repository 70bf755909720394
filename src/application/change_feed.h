/*
 * Port: committed changes of the marks, as the database announces them. The HTTP adapter
 * uses it to keep its aggregate cache exact and to feed the live streams; the PostgreSQL
 * adapter fills it with LISTEN/NOTIFY (ADR 0012) and decodes the database's payloads, so
 * that what crosses the port is a plain struct, never the database's wire format.
 */
#ifndef MARKR_APPLICATION_CHANGE_FEED_H
#define MARKR_APPLICATION_CHANGE_FEED_H

#include <stddef.h>
#include <stdint.h>

/* One committed change of the marks. */
struct markr_change_event {
    /* The import that made it; 0 for a change made by no single import (a rebuild of every
     * mark), -1 when it is not known (a notification that could not be read). */
    int64_t import_id;
    /* Every test may have changed (the list did not fit in a notification, a rebuild, or a
     * notification that could not be read); tests is then empty. */
    int flush;
    /* Otherwise the tests whose marks changed, each NUL-terminated: a test id is text of at
     * most 255 bytes and never holds a NUL. */
    const char *const *tests;
    size_t test_count;
};

/* Where the feed reports. Called on the feed's own thread: implementations hand over to
 * their own thread and return quickly. */
struct markr_change_sink {
    void *ctx;
    /* Listening (again): every change committed from now on will be reported. */
    void (*up)(void *ctx);
    /* Listening lost: changes may go unreported until the next up. */
    void (*down)(void *ctx);
    /* One committed change. A feed that cannot tell what changed reports a flush: a change
     * is never left unreported. event, and all it points to, is valid during the call only. */
    void (*changed)(void *ctx, const struct markr_change_event *event);
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
