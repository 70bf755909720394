/*
 * A parser of the WHATWG event-stream format (text/event-stream, HTML "Server-sent events",
 * section 9.2.6): lines end in CRLF, LF or CR; a blank line dispatches the event gathered so
 * far; "field: value" lines set id, event, data (several data lines join with LF) and retry;
 * lines that start with ':' are comments; unknown fields are ignored; a leading UTF-8 BOM
 * is skipped. It is incremental (bytes may arrive in pieces of any size, a CRLF split
 * between two of them included), so the feed client and a posted document read alike, and
 * pure (libc only), so it is unit-tested and fuzzed on its own.
 *
 * Every event handed over carries its block verbatim: the bytes from its first field line
 * to the end of the blank line that dispatched it (comments among its fields included), so
 * a batch of events can be stored as the bytes that were received and read again alike.
 * Comments and blank lines between events belong to no block and are not kept.
 */
#ifndef MARKR_APPLICATION_EVENT_STREAM_H
#define MARKR_APPLICATION_EVENT_STREAM_H

#include <stddef.h>

/* Bounds: a longer line, a longer event (its block) or a longer id stops the parse with
 * MARKR_EVENT_STREAM_TOO_LONG, or, on a live stream (skip_too_long), is handed over as an
 * event too_long and skipped. A score event is under 200 bytes. */
#define MARKR_EVENT_STREAM_LINE_MAX 65536
#define MARKR_EVENT_STREAM_BLOCK_MAX 131072
#define MARKR_EVENT_STREAM_ID_MAX 255

struct markr_event_stream_event {
    const char *type; /* the event field, "message" when none; NUL-terminated */
    size_t type_len;  /* compare with it: a type may hold a NUL */
    const char *data; /* data lines joined with LF, without the last LF; NUL-terminated */
    size_t data_len;
    const char *last_id; /* the last event id after this event ("" when none yet); NUL-terminated */
    unsigned long line;  /* line (1-based) of the event's first field */
    size_t index;        /* 1-based position among the events of the stream */
    const char *block;   /* the event's bytes as received (not NUL-terminated) */
    size_t block_len;
    /* An event that passed a bound (skip_too_long only): its type and data are "", block is
     * what was received of it up to and including the byte that passed the bound (at most
     * MARKR_EVENT_STREAM_BLOCK_MAX + 1 bytes), so that read again as a document it passes
     * the same bound and is refused alike; last_id is its id when one came before that byte.
     * The rest of it, up to the blank line that ends it, is skipped unread. */
    int too_long;
};

/* Called for each dispatched event; everything it points at lives only for the call.
 * Return 0 to go on, anything else to stop the parse (markr_event_stream_feed returns it). */
typedef int (*markr_event_stream_fn)(void *ctx, const struct markr_event_stream_event *event);

enum markr_event_stream_status {
    MARKR_EVENT_STREAM_OK = 0,
    MARKR_EVENT_STREAM_TOO_LONG = -1, /* a bound above was passed; stream_line says where */
    MARKR_EVENT_STREAM_NO_MEMORY = -2,
};

struct markr_event_stream {
    markr_event_stream_fn on_event;
    void *ctx;
    long retry_ms;            /* the last valid retry field, -1 when none was seen */
    int skip_too_long;        /* set after init on a live stream: an event past a bound is
                                 handed over too_long and skipped, the parse goes on (a
                                 stream that stopped would get the same event again) */
    unsigned long line;       /* lines completed so far */
    size_t events;            /* events dispatched so far */
    char last_id[MARKR_EVENT_STREAM_ID_MAX + 1]; /* the stream's last event id: set on dispatch */
    /* private */
    char *buf;                /* the current block's bytes */
    size_t len, cap;
    size_t line_start;        /* offset in buf of the line being read */
    char *data, *type;        /* the event being gathered */
    size_t data_len, data_cap, type_len, type_cap;
    unsigned long event_line; /* first field line of the event being gathered, 0 when none */
    char id_buf[MARKR_EVENT_STREAM_ID_MAX + 1]; /* the last event id buffer of the spec */
    int pending_dispatch;     /* a blank line ended by CR: dispatch once we know whether LF follows */
    int after_cr;             /* the last byte was a CR: a LF now ends nothing */
    int bom_checked;
    size_t bom_seen;
    int skipping;             /* the rest of an event too long: up to its blank line */
    int skip_at_line_start;   /* while skipping: the last byte ended a line */
    int byte_unread;          /* the byte that passed the block's bound was kept, not read */
};

void markr_event_stream_init(struct markr_event_stream *s, markr_event_stream_fn on_event, void *ctx);
void markr_event_stream_free(struct markr_event_stream *s);

/* Forgets the bytes and the event being gathered (a new connection starts afresh) but keeps
 * last_id, retry_ms and the counts, as a reconnecting EventSource does. The new connection's
 * id buffer starts at last_id, not empty: an event without an id field keeps the position
 * (the specification would reset it to "", and a restart would then replay the whole
 * stream); only an explicit empty `id:` resets it, as the source asked. */
void markr_event_stream_reset(struct markr_event_stream *s);

/* A parser just initialised that resumes a stream at last_id (the stored position, the
 * Last-Event-ID sent): last_id and the id buffer both start there, as after a reset. An id
 * longer than MARKR_EVENT_STREAM_ID_MAX is cut there. */
void markr_event_stream_resume(struct markr_event_stream *s, const char *last_id);

/* Reads len more bytes. Returns MARKR_EVENT_STREAM_OK, a negative status, or what the
 * callback returned when it stopped the parse. After a non-zero return the parser must be
 * reset or freed. */
int markr_event_stream_feed(struct markr_event_stream *s, const char *bytes, size_t len);

/* The end of a document: a last line without its end is a line, and an event gathered but
 * not yet dispatched by a blank line is dispatched (a stream drops it instead: call
 * markr_event_stream_reset). Returns as markr_event_stream_feed. */
int markr_event_stream_finish(struct markr_event_stream *s);

#endif
