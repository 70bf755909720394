/*
 * GET /imports/{id}/raw: the stored body, streamed from the database a chunk at a time by
 * the streamed-answer module (stream.h): the first piece reads the imports row (content
 * type and size) and the first chunk (1 MiB, ADR 0018), each next piece the next chunk, read
 * only once h2o has written the previous one. So a download holds one chunk whatever the
 * body's size, and a client that reads nothing holds one chunk until the write timeout
 * closes it. The loop never waits on the database: every read runs on a worker thread,
 * through the vault's use cases. Downloads at once are capped (MARKR_MAX_DOWNLOADS).
 *
 * The answer's headers are markr's own, never the client's words: the stored Content-Type
 * came from whoever uploaded the document, so it is served as the media type of its format
 * (with a plain charset at most), in a sandbox, as an attachment.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "application/formats.h"
#include "application/vault.h"
#include "handlers.h"
#include "query.h"
#include "representation.h"
#include "responses.h"
#include "stream.h"

/* --- the answer's Content-Type ------------------------------------------------------------------ */

/* The Content-Type a download is served with, built by markr into out (cap bytes): the
 * canonical type of the stored one (formats.h: the format's media type and a plain
 * charset); for a type no format reads, application/octet-stream. Nothing else of what the
 * client sent. */
static void raw_content_type(const struct markr_formats *formats, const char *stored, char *out, size_t cap)
{
    if (stored == NULL || markr_formats_canonical(formats, stored, out, cap) == NULL)
        snprintf(out, cap, "application/octet-stream");
}

/* --- a download ---------------------------------------------------------------------------------- */

/* What the download's jobs work on (stream.h): flat, each job has a copy. */
struct raw_state {
    int64_t id;
    const struct markr_formats *formats; /* the server's settings, which outlive every request */
    char content_type[128];              /* the answer's (raw_content_type), once the head is read */
    size_t size;                         /* the body's bytes (the Content-Length) */
    size_t sent;                         /* bytes of the chunks read so far */
    int32_t next_seq;                    /* the chunk to read next */
    int head_read;
};

/* On a worker: the first piece reads the imports row (type and size) and the first chunk,
 * each next one the next chunk. */
static int raw_next(void *state, struct markr_services *services, char **bytes, size_t *len, int *last,
                    struct markr_error *err)
{
    struct raw_state *s = state;

    if (!s->head_read) {
        char *stored = NULL;

        if (markr_open_raw_import(&services->vault, s->id, &stored, &s->size, err) != 0)
            return -1;
        raw_content_type(s->formats, stored, s->content_type, sizeof(s->content_type));
        free(stored);
        s->head_read = 1;
    }
    *bytes = NULL;
    *len = 0;
    if (s->sent < s->size &&
        markr_read_raw_chunk(&services->vault, s->id, s->next_seq++, s->size - s->sent, bytes, len, err) != 0)
        return -1;
    s->sent += *len;
    *last = s->sent >= s->size;
    return 0;
}

static void raw_headers(h2o_req_t *req, const void *state)
{
    const struct raw_state *s = state;
    char disposition[64];
    size_t type_len = strlen(s->content_type);
    int n;

    req->res.content_length = s->size;
    /* The stored bytes as they are, with their length: never re-encoded on the way. */
    markr_http_no_compression(req);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   h2o_strdup(&req->pool, s->content_type, type_len).base, type_len);
    /* Never a page of markr's origin, whatever a browser makes of the bytes. */
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("content-security-policy"), 0, NULL,
                          H2O_STRLIT("sandbox"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-content-type-options"), 0, NULL,
                          H2O_STRLIT("nosniff"));
    /* A block of score events is text, not XML: named so that no viewer parses it as XML. */
    n = snprintf(disposition, sizeof(disposition), "attachment; filename=\"import-%lld.%s\"", (long long)s->id,
                 strncmp(s->content_type, "text/event-stream", 17) == 0 ? "txt" : "xml");
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("content-disposition"), 0, NULL,
                          h2o_strdup(&req->pool, disposition, (size_t)n).base, (size_t)n);
}

static const struct markr_http_stream_source raw_source = {
    .state_size = sizeof(struct raw_state),
    .next = raw_next,
    .headers = raw_headers,
    .name = "raw download",
};

/* Counts the download in the handler's until the request goes. */
struct raw_count {
    struct markr_http_handler *handler;
};

static void on_download_dispose(void *p)
{
    --((struct raw_count *)p)->handler->raw_downloads;
}

/* --- entry --------------------------------------------------------------------------------------- */

int markr_handle_import_raw(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match)
{
    int64_t id = markr_parse_id(match->id, match->id_len);
    struct raw_state state = {.id = id, .formats = &handler->settings->formats};
    struct raw_count *count;

    if (id < 1) {
        markr_http_send_problem(req, 400, "bad_import_id", "an import id is a positive decimal integer");
        return 0;
    }
    if (handler->raw_downloads >= handler->settings->max_downloads) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, H2O_STRLIT("1"));
        markr_http_send_problem(req, 503, "overloaded", "too many raw downloads at once; retry shortly");
        return 0;
    }
    count = h2o_mem_alloc_shared(&req->pool, sizeof(*count), on_download_dispose);
    count->handler = handler;
    ++handler->raw_downloads; /* until the request goes (on_download_dispose) */
    return markr_http_stream_start(handler, req, &raw_source, &state);
}
