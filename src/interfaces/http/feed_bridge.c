/*
 * The change feed's thread and its hand-over to the loop (feed_bridge.h). The feed reports
 * on its own thread; each report is copied into one message (a change with its test ids)
 * and posted to the loop, which hands it to the caller's sink and frees it.
 *
 * A change must never be lost, even for want of memory: a flush message is allocated up
 * front and posted instead of any change that cannot be copied. While it is queued, it
 * already stands for every change lost after it was posted (it is applied later than their
 * commits), so one spare is enough.
 */
#include "feed_bridge.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct message {
    h2o_multithread_message_t super;
    enum { FEED_UP, FEED_DOWN, FEED_CHANGED } kind;
    struct markr_change_event event; /* FEED_CHANGED: tests points at the array below */
    const char *tests[];             /* then the bytes of the test ids */
};

struct markr_feed_bridge {
    struct markr_change_feed feed;
    struct markr_change_sink sink;    /* the feed's, called on its thread */
    struct markr_change_sink on_loop; /* the caller's */
    pthread_t thread;
    int running;
    int stopped; /* loop thread only: reports are no longer handed over */
    h2o_multithread_queue_t *queue;
    h2o_multithread_receiver_t receiver;
    struct message *spare;    /* the flush that needs no allocation */
    atomic_int spare_posted;  /* it is queued (set by the feed's thread, cleared by the loop) */
};

/* --- on the loop ------------------------------------------------------------------------------ */

static void on_messages(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    struct markr_feed_bridge *b = H2O_STRUCT_FROM_MEMBER(struct markr_feed_bridge, receiver, receiver);

    while (!h2o_linklist_is_empty(messages)) {
        struct message *m = H2O_STRUCT_FROM_MEMBER(struct message, super.link, messages->next);

        h2o_linklist_unlink(&m->super.link);
        /* Cleared before the flush is applied, so that a change lost from now on posts it
         * again rather than being covered by a flush already applied. */
        if (m == b->spare)
            atomic_store(&b->spare_posted, 0);
        if (!b->stopped) {
            if (m->kind == FEED_CHANGED)
                b->on_loop.changed(b->on_loop.ctx, &m->event);
            else if (m->kind == FEED_UP)
                b->on_loop.up(b->on_loop.ctx);
            else
                b->on_loop.down(b->on_loop.ctx);
        }
        if (m != b->spare)
            free(m);
    }
}

/* --- on the feed's thread --------------------------------------------------------------------- */

static void post(struct markr_feed_bridge *b, int kind, const struct markr_change_event *event)
{
    size_t count = event != NULL && !event->flush ? event->test_count : 0, size = sizeof(struct message);
    struct message *m;
    char *bytes;

    for (size_t i = 0; i < count; ++i)
        size += sizeof(m->tests[0]) + strlen(event->tests[i]) + 1;
    if ((m = calloc(1, size)) == NULL) {
        /* Up and down carry no data and are rarely sent; a change becomes the spare flush. */
        if (kind == FEED_CHANGED && atomic_exchange(&b->spare_posted, 1) == 0)
            h2o_multithread_send_message(&b->receiver, &b->spare->super);
        return;
    }
    m->kind = kind;
    if (event != NULL) {
        m->event = *event;
        m->event.tests = m->tests;
        m->event.test_count = count;
    }
    bytes = (char *)(m->tests + count);
    for (size_t i = 0; i < count; ++i) {
        size_t len = strlen(event->tests[i]) + 1;

        memcpy(bytes, event->tests[i], len);
        m->tests[i] = bytes;
        bytes += len;
    }
    h2o_multithread_send_message(&b->receiver, &m->super);
}

static void sink_up(void *ctx)
{
    post(ctx, FEED_UP, NULL);
}

static void sink_down(void *ctx)
{
    post(ctx, FEED_DOWN, NULL);
}

static void sink_changed(void *ctx, const struct markr_change_event *event)
{
    post(ctx, FEED_CHANGED, event);
}

static void *feed_main(void *arg)
{
    struct markr_feed_bridge *b = arg;

    b->feed.run(b->feed.ctx, &b->sink);
    return NULL;
}

/* --- life cycle ------------------------------------------------------------------------------- */

struct markr_feed_bridge *markr_feed_bridge_start(h2o_loop_t *loop, const struct markr_change_feed *feed,
                                                  const struct markr_change_sink *on_loop)
{
    struct markr_feed_bridge *b = calloc(1, sizeof(*b));

    if (b == NULL)
        return NULL;
    if ((b->spare = calloc(1, sizeof(*b->spare))) == NULL) {
        free(b);
        return NULL;
    }
    b->spare->kind = FEED_CHANGED;
    b->spare->event = (struct markr_change_event){.import_id = -1, .flush = 1};
    b->feed = *feed;
    b->on_loop = *on_loop;
    b->sink = (struct markr_change_sink){.ctx = b, .up = sink_up, .down = sink_down, .changed = sink_changed};
    b->queue = h2o_multithread_create_queue(loop);
    h2o_multithread_register_receiver(b->queue, &b->receiver, on_messages);
    if (pthread_create(&b->thread, NULL, feed_main, b) != 0) {
        markr_feed_bridge_destroy(b);
        return NULL;
    }
    b->running = 1;
    return b;
}

void markr_feed_bridge_stop(struct markr_feed_bridge *b)
{
    if (b->running) {
        b->feed.stop(b->feed.ctx);
        pthread_join(b->thread, NULL);
        b->running = 0;
    }
    b->stopped = 1;
}

void markr_feed_bridge_destroy(struct markr_feed_bridge *b)
{
    if (b == NULL)
        return;
    markr_feed_bridge_stop(b);
    /* Messages the feed posted before it stopped (its thread is joined): freed unread. */
    on_messages(&b->receiver, &b->receiver._messages);
    h2o_multithread_unregister_receiver(b->queue, &b->receiver);
    h2o_multithread_destroy_queue(b->queue);
    free(b->spare);
    free(b);
}
