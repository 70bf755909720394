/*
 * The event-stream parser (event_stream.h), byte by byte over the steps of the WHATWG
 * specification ("Interpreting an event stream").
 */
#include "event_stream.h"

#include <stdlib.h>
#include <string.h>

#include "domain/utf8.h"

static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};

void markr_event_stream_init(struct markr_event_stream *s, markr_event_stream_fn on_event, void *ctx)
{
    memset(s, 0, sizeof(*s));
    s->on_event = on_event;
    s->ctx = ctx;
    s->retry_ms = -1;
}

void markr_event_stream_free(struct markr_event_stream *s)
{
    free(s->buf);
    free(s->data);
    free(s->type);
    s->buf = s->data = s->type = NULL;
    s->len = s->cap = s->data_len = s->data_cap = s->type_len = s->type_cap = 0;
}

void markr_event_stream_reset(struct markr_event_stream *s)
{
    s->len = s->line_start = s->data_len = s->type_len = 0;
    s->event_line = 0;
    s->after_cr = s->pending_dispatch = 0;
    s->bom_checked = 0;
    s->bom_seen = 0;
    s->skipping = s->skip_at_line_start = s->byte_unread = 0;
    memcpy(s->id_buf, s->last_id, sizeof(s->id_buf)); /* the position stays until an id: says otherwise */
}

void markr_event_stream_resume(struct markr_event_stream *s, const char *last_id)
{
    size_t n = strnlen(last_id, MARKR_EVENT_STREAM_ID_MAX);

    memcpy(s->last_id, last_id, n);
    s->last_id[n] = '\0';
    memcpy(s->id_buf, s->last_id, sizeof(s->id_buf));
}

/* Grows *p (of *cap bytes) to hold need bytes. */
static int reserve(char **p, size_t *cap, size_t need)
{
    char *grown;
    size_t n = *cap != 0 ? *cap : 256;

    if (need <= *cap)
        return 0;
    while (n < need)
        n *= 2;
    if ((grown = realloc(*p, n)) == NULL)
        return MARKR_EVENT_STREAM_NO_MEMORY;
    *p = grown;
    *cap = n;
    return 0;
}

/* The byte that passes the block's bound is kept too: an event too long is handed over with
 * it, so that its block passes the bound again when read as a document. */
static int append_byte(struct markr_event_stream *s, char c)
{
    if (reserve(&s->buf, &s->cap, s->len + 1) != 0)
        return MARKR_EVENT_STREAM_NO_MEMORY;
    s->buf[s->len++] = c;
    if (s->len <= MARKR_EVENT_STREAM_BLOCK_MAX)
        return 0;
    s->byte_unread = 1;
    return MARKR_EVENT_STREAM_TOO_LONG;
}

static int set_buffer(char **p, size_t *cap, size_t *len, const char *value, size_t n, int add_lf)
{
    if (reserve(p, cap, *len + n + 2) != 0)
        return MARKR_EVENT_STREAM_NO_MEMORY;
    memcpy(*p + *len, value, n);
    *len += n;
    if (add_lf)
        (*p)[(*len)++] = '\n';
    return 0;
}

/* Ends the event being gathered: the stream's last event id takes the buffer's value, and
 * an event with data is handed over with its block. */
static int dispatch(struct markr_event_stream *s)
{
    struct markr_event_stream_event ev;
    int rc = 0;

    memcpy(s->last_id, s->id_buf, sizeof(s->last_id));
    if (s->data_len != 0) {
        /* data and type are reserved one byte past their length (see the field steps) */
        s->data[--s->data_len] = '\0'; /* the last LF goes */
        if (s->type_len == 0) {
            if (set_buffer(&s->type, &s->type_cap, &s->type_len, "message", 7, 0) != 0)
                return MARKR_EVENT_STREAM_NO_MEMORY;
        }
        s->type[s->type_len] = '\0';
        ev = (struct markr_event_stream_event){.type = s->type, .type_len = s->type_len, .data = s->data,
                                               .data_len = s->data_len, .last_id = s->last_id,
                                               .line = s->event_line, .index = ++s->events,
                                               .block = s->buf, .block_len = s->len};
        rc = s->on_event(s->ctx, &ev);
    }
    s->data_len = s->type_len = 0;
    s->event_line = 0;
    s->len = s->line_start = 0;
    return rc;
}

/* One field line: name up to the first colon, the value after it less one leading space. */
static int field(struct markr_event_stream *s, const char *line, size_t n)
{
    const char *colon = memchr(line, ':', n);
    size_t name_len = colon != NULL ? (size_t)(colon - line) : n;
    const char *value = colon != NULL ? colon + 1 : line + n;
    size_t value_len = (size_t)(line + n - value);

    if (value_len > 0 && value[0] == ' ') {
        ++value;
        --value_len;
    }
    if (s->event_line == 0)
        s->event_line = s->line + 1;
    if (name_len == 4 && memcmp(line, "data", 4) == 0)
        return set_buffer(&s->data, &s->data_cap, &s->data_len, value, value_len, 1);
    if (name_len == 5 && memcmp(line, "event", 5) == 0) {
        s->type_len = 0;
        return set_buffer(&s->type, &s->type_cap, &s->type_len, value, value_len, 0);
    }
    if (name_len == 2 && memcmp(line, "id", 2) == 0) {
        /* The specification ignores an id with a NUL. One that is not UTF-8 (which a browser
         * would read with U+FFFD in it, never as the bytes sent) is ignored too: an id is the
         * stream's position, stored as text and sent back as Last-Event-ID. */
        if (memchr(value, '\0', value_len) != NULL || !markr_utf8_valid(value, value_len))
            return 0;
        if (value_len > MARKR_EVENT_STREAM_ID_MAX)
            return MARKR_EVENT_STREAM_TOO_LONG;
        memcpy(s->id_buf, value, value_len);
        s->id_buf[value_len] = '\0';
        return 0;
    }
    if (name_len == 5 && memcmp(line, "retry", 5) == 0 && value_len > 0) {
        long ms = 0;

        for (size_t i = 0; i < value_len; ++i) {
            if (value[i] < '0' || value[i] > '9')
                return 0; /* not only digits: ignored */
            if (ms < 100000000L)
                ms = ms * 10 + (value[i] - '0');
        }
        s->retry_ms = ms; /* beyond a day it is a day's worth of digits: clamped by the user */
    }
    return 0; /* other fields are ignored */
}

/* The line in buf from line_start, terminator (one byte, already appended) excluded. */
static int end_line(struct markr_event_stream *s, int by_cr)
{
    const char *line = s->buf + s->line_start;
    size_t n = s->len - 1 - s->line_start;
    int rc = 0;

    if (n == 0) {
        ++s->line;
        if (s->event_line == 0 && s->data_len == 0) {
            memcpy(s->last_id, s->id_buf, sizeof(s->last_id));
            s->len = s->line_start = 0; /* blank lines between events: no block */
            return 0;
        }
        if (by_cr) {
            s->pending_dispatch = 1; /* its LF, if one follows, belongs to this block */
            s->line_start = s->len;
            return 0;
        }
        return dispatch(s);
    }
    if (line[0] == ':') {
        ++s->line;
        if (s->event_line == 0)
            s->len = s->line_start = 0; /* a comment between events: no block */
        else
            s->line_start = s->len;
        return 0;
    }
    rc = field(s, line, n);
    ++s->line;
    s->line_start = s->len;
    return rc;
}

static int feed_byte(struct markr_event_stream *s, char c)
{
    int rc;

    if (s->pending_dispatch) {
        s->pending_dispatch = 0;
        if (c == '\n') {
            s->after_cr = 0;
            if ((rc = append_byte(s, c)) != 0)
                return rc;
            return dispatch(s);
        }
        if ((rc = dispatch(s)) != 0)
            return rc;
    }
    if (!s->bom_checked) {
        if ((unsigned char)c == bom[s->bom_seen]) {
            if ((rc = append_byte(s, c)) != 0)
                return rc;
            if (++s->bom_seen == sizeof(bom)) {
                s->bom_checked = 1;
                s->len = s->line_start = 0; /* the BOM is not part of any line or block */
            }
            return 0;
        }
        s->bom_checked = 1; /* the bytes taken so far are the first line's */
    }
    if (c == '\n' && s->after_cr) {
        s->after_cr = 0;
        if (s->len == 0)
            return 0; /* the end of a line that was not kept */
        if ((rc = append_byte(s, c)) != 0)
            return rc;
        s->line_start = s->len;
        return 0;
    }
    s->after_cr = 0;
    if ((rc = append_byte(s, c)) != 0)
        return rc;
    if (c == '\r' || c == '\n') {
        s->after_cr = c == '\r';
        return end_line(s, c == '\r');
    }
    if (s->len - s->line_start > MARKR_EVENT_STREAM_LINE_MAX)
        return MARKR_EVENT_STREAM_TOO_LONG;
    return 0;
}

/* While skipping: lines end as anywhere else (CR, LF, CRLF); an empty one ends the event. */
static void skip_byte(struct markr_event_stream *s, char c)
{
    if (c == '\n' && s->after_cr) {
        s->after_cr = 0;
        return;
    }
    s->after_cr = c == '\r';
    if (c != '\r' && c != '\n') {
        s->skip_at_line_start = 0;
        return;
    }
    ++s->line;
    if (s->skip_at_line_start) {
        s->skipping = s->skip_at_line_start = 0;
        return;
    }
    s->skip_at_line_start = 1;
}

/* A live stream's event that passed a bound: handed over as it stands, then skipped. */
static int too_long(struct markr_event_stream *s)
{
    struct markr_event_stream_event ev = {.type = "", .data = "", .last_id = s->last_id,
                                          .line = s->event_line != 0 ? s->event_line : s->line + 1,
                                          .index = ++s->events, .block = s->buf, .block_len = s->len,
                                          .too_long = 1};
    char last = s->len != 0 ? s->buf[s->len - 1] : '\0';
    int rc;

    memcpy(s->last_id, s->id_buf, sizeof(s->last_id)); /* its id, when it came before the bound */
    s->skipping = 1;
    if (s->byte_unread) { /* the block's bound: its last byte was kept unread, read it now */
        s->byte_unread = s->skip_at_line_start = 0;
        skip_byte(s, last);
    } else { /* a line's bound (mid-line), or an id's (its line has ended) */
        s->skip_at_line_start = last == '\r' || last == '\n';
    }
    rc = s->on_event(s->ctx, &ev);
    s->data_len = s->type_len = 0; /* what was gathered of it goes with its block */
    s->event_line = 0;
    s->len = s->line_start = 0;
    return rc;
}

int markr_event_stream_feed(struct markr_event_stream *s, const char *bytes, size_t len)
{
    for (size_t i = 0; i < len; ++i) {
        int rc;

        if (s->skipping) {
            skip_byte(s, bytes[i]);
            continue;
        }
        rc = feed_byte(s, bytes[i]);
        if (rc == MARKR_EVENT_STREAM_TOO_LONG && s->skip_too_long)
            rc = too_long(s);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int finish_gathered(struct markr_event_stream *s)
{
    int rc;

    if (s->pending_dispatch) {
        s->pending_dispatch = 0;
        return dispatch(s);
    }
    if (s->len > s->line_start) {
        /* A last line without its end is a line: end it with a LF of our own, read it, and
         * take that LF out of the block again (it was not received). */
        if ((rc = append_byte(s, '\n')) != 0 || (rc = end_line(s, 0)) != 0)
            return rc;
        if (s->len > 0) {
            --s->len;
            s->line_start = s->len;
        }
    }
    if (s->event_line != 0 || s->data_len != 0)
        return dispatch(s);
    return 0;
}

int markr_event_stream_finish(struct markr_event_stream *s)
{
    int rc;

    if (s->skipping) { /* the end of an event too long, handed over already */
        s->skipping = s->skip_at_line_start = 0;
        return 0;
    }
    rc = finish_gathered(s);
    if (rc == MARKR_EVENT_STREAM_TOO_LONG && s->skip_too_long) { /* its last line passed a bound */
        s->byte_unread = 0;
        rc = too_long(s);
        s->skipping = s->skip_at_line_start = 0;
    }
    return rc;
}
