/*
 * libFuzzer target: the event-stream parser (application/event_stream.h). The input is read
 * once at once and once a byte at a time; both reads must give the same events, and the
 * concatenation of the events' blocks (what the feed stores) must read back as the same
 * events; a live read (events too long skipped) never stops on a bound and gives the same
 * events at once and a byte at a time. Any crash, sanitizer report or broken invariant is a finding.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "application/event_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
    size_t events;
    uint64_t digest; /* of types, data and ids, in order */
    char *blocks;
    size_t blocks_len;
};

static uint64_t mix(uint64_t h, const char *p, size_t n)
{
    for (size_t i = 0; i < n; ++i)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    return h * 31 + n;
}

static int on_event(void *ctx, const struct markr_event_stream_event *ev)
{
    struct run *r = ctx;
    char *grown = realloc(r->blocks, r->blocks_len + ev->block_len + 1);

    if (grown == NULL)
        abort();
    r->blocks = grown;
    memcpy(r->blocks + r->blocks_len, ev->block, ev->block_len);
    r->blocks_len += ev->block_len;
    ++r->events;
    r->digest = mix(mix(r->digest, ev->type, ev->type_len), ev->data, ev->data_len) + (uint64_t)ev->too_long;
    if (ev->block_len > MARKR_EVENT_STREAM_BLOCK_MAX + 1)
        abort();
    if (ev->data[ev->data_len] != '\0' || ev->type[ev->type_len] != '\0')
        abort();
    return 0;
}

static int run(const char *p, size_t n, size_t step, int skip, struct run *r)
{
    struct markr_event_stream s;
    int rc = 0;

    memset(r, 0, sizeof(*r));
    markr_event_stream_init(&s, on_event, r);
    s.skip_too_long = skip;
    for (size_t off = 0; off < n && rc == 0; off += step)
        rc = markr_event_stream_feed(&s, p + off, n - off < step ? n - off : step);
    if (rc == 0)
        rc = markr_event_stream_finish(&s);
    markr_event_stream_free(&s);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct run whole, bytes, again;
    int rc_whole = run((const char *)data, size, size != 0 ? size : 1, 0, &whole);
    int rc_bytes = run((const char *)data, size, 1, 0, &bytes);

    if (rc_whole != rc_bytes || (rc_whole == 0 && (whole.events != bytes.events || whole.digest != bytes.digest)))
        abort();
    {
        /* a live stream never stops on a bound, and skips alike in any pieces */
        struct run live_whole, live_bytes;
        int rc_live = run((const char *)data, size, size != 0 ? size : 1, 1, &live_whole);

        if (rc_live == MARKR_EVENT_STREAM_TOO_LONG || run((const char *)data, size, 1, 1, &live_bytes) != rc_live ||
            live_whole.events != live_bytes.events || live_whole.digest != live_bytes.digest)
            abort();
        free(live_whole.blocks);
        free(live_bytes.blocks);
    }
    if (rc_whole == 0 && whole.blocks_len != 0) {
        /* a block keeps its BOM-less bytes; only the very first event may have lost a BOM */
        if (run(whole.blocks, whole.blocks_len, whole.blocks_len, 0, &again) != 0 || again.events != whole.events)
            abort();
        free(again.blocks);
    }
    free(whole.blocks);
    free(bytes.blocks);
    return 0;
}
