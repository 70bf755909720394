/*
 * JSON responses and error mapping. Nothing here knows about use cases: handlers decide
 * what to say, this file decides how it looks on the wire.
 */
#include "responses.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/utf8.h"
#include "interfaces/observe/log.h"
#include "observe_http.h"
#include "representation.h"

json_object *markr_json_string_len(const char *text, size_t len)
{
    json_object *string;
    size_t fixed_len;
    char *fixed;

    if (text == NULL || len > INT32_MAX / 3)
        return NULL;
    if (markr_utf8_valid(text, len))
        return json_object_new_string_len(text, (int)len);
    if ((fixed = markr_utf8_copy(text, len, &fixed_len)) == NULL)
        return NULL;
    string = json_object_new_string_len(fixed, (int)fixed_len);
    free(fixed);
    return string;
}

json_object *markr_json_string(const char *text)
{
    return text != NULL ? markr_json_string_len(text, strlen(text)) : NULL;
}

int markr_http_status_of(enum markr_error_code code)
{
    switch (code) {
    case MARKR_OK:
        return 200;
    case MARKR_ERR_MALFORMED:
    case MARKR_ERR_BAD_REQUEST:
        return 400;
    case MARKR_ERR_INVALID:
        return 422;
    case MARKR_ERR_NOT_FOUND:
        return 404;
    case MARKR_ERR_UNAVAILABLE:
        return 503;
    case MARKR_ERR_INTERNAL:
        break;
    }
    return 500;
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";    
    case 401: return "Unauthorized";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Entity";
    case 431: return "Request Header Fields Too Large";
    case 499: return "Client Closed Request";
    case 503: return "Service Unavailable";
    default: return status < 500 ? "Client Error" : "Internal Server Error";
    }
}

/* Status line and headers of every answer, in the order they always had: Location,
 * Retry-After (every 503 tells clients when to come back, but for retry_after < 0: see
 * NO_RETRY_AFTER), Content-Type. */
static void start_answer(h2o_req_t *req, int status, const char *location, int retry_after, size_t len)
{
    req->res.status = status;
    req->res.reason = reason_phrase(status);
    if (location != NULL && location[0] != '\0') {
        size_t n = strlen(location);

        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_LOCATION, NULL, h2o_strdup(&req->pool, location, n).base,
                       n);
    }
    if (retry_after > 0 || (status == 503 && retry_after == 0)) {
        if (h2o_find_header(&req->res.headers, H2O_TOKEN_RETRY_AFTER, -1) < 0) {
            char seconds[16];
            int n = snprintf(seconds, sizeof(seconds), "%d", retry_after > 0 ? retry_after : 1);

            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL,
                           h2o_strdup(&req->pool, seconds, (size_t)n).base, (size_t)n);
        }
    }
    req->res.content_length = len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/json"));
}

/* retry_after of a 503 that must not invite a retry. */
#define NO_RETRY_AFTER (-1)

static void send_json_retry(h2o_req_t *req, int status, json_object *body, int retry_after)
{
    size_t len;
    const char *text = json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN, &len);

    start_answer(req, status, NULL, retry_after, len);
    h2o_send_inline(req, text, len); /* copies text into the request's pool */
    json_object_put(body);
}

void markr_http_send_json(h2o_req_t *req, int status, json_object *body)
{
    size_t len;
    const char *text = json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN, &len);

    start_answer(req, status, NULL, 0, len);
    h2o_send_inline(req, text, len); /* copies text into the request's pool */
    json_object_put(body);
}

void markr_http_answer_json(struct markr_http_answer *answer, int status, json_object *body)
{
    size_t len;
    const char *text = json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN, &len);

    free(answer->body);
    answer->status = status;
    answer->len = 0;
    answer->server_error = 0;
    answer->etag[0] = '\0';
    if (text == NULL || (answer->body = malloc(len != 0 ? len : 1)) == NULL) {
        /* Like every 5xx: a body with the request id (built on the loop, which needs no
         * allocation here). */
        answer->body = NULL;
        markr_http_answer_server_error(answer, 500, "out_of_memory", MARKR_HTTP_OUT_OF_MEMORY_MESSAGE,
                                       "the answer could not be serialised");
    } else {
        memcpy(answer->body, text, len);
        answer->len = len;
        if (status == 200)
            markr_etag_of(answer->body, len, answer->etag);
    }
    json_object_put(body);
}

static void send_server_error(h2o_req_t *req, int status, const char *error, const char *safe_message,
                              const char *detail, const char *sha256);

/* Frees an answer's body with the request's pool. */
struct owned_body {
    char *bytes;
};

static void free_owned_body(void *p)
{
    free(((struct owned_body *)p)->bytes);
}

void markr_http_send_answer(h2o_req_t *req, struct markr_http_answer *answer)
{
    static h2o_generator_t generator = {NULL, NULL}; /* one final send: nothing to proceed or stop */
    int status = answer->status != 0 ? answer->status : 500;
    h2o_iovec_t buf;
    struct owned_body *owned;

    if (answer->server_error && answer->body == NULL) {
        if (answer->retry_after > 0) {
            char seconds[16];
            int n = snprintf(seconds, sizeof(seconds), "%d", answer->retry_after);

            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL,
                           h2o_strdup(&req->pool, seconds, (size_t)n).base, (size_t)n);
        }
        send_server_error(req, status, answer->error, answer->safe_message, answer->detail, answer->sha256);
        return;
    }
    buf = h2o_iovec_init(answer->body, answer->len);
    owned = h2o_mem_alloc_shared(&req->pool, sizeof(*owned), free_owned_body);

    owned->bytes = answer->body;
    answer->body = NULL;
    /* Every full answer to a GET carries its ETag; If-None-Match naming it is a 304. */
    if (status == 200 && (answer->etag[0] != '\0' ? markr_http_conditional_tagged(req, buf.len, answer->etag)
                                                   : markr_http_conditional(req, buf.base, buf.len)))
        return;
    start_answer(req, status, answer->location, answer->retry_after, buf.len);
    h2o_start_response(req, &generator);
    if (markr_http_is_head(req))
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
    else
        h2o_send(req, &buf, buf.len != 0 ? 1 : 0, H2O_SEND_STATE_FINAL);
}

int markr_http_is_head(const h2o_req_t *req)
{
    return h2o_memis(req->input.method.base, req->input.method.len, H2O_STRLIT("HEAD"));
}

static json_object *problem_body(const char *error, const char *message)
{
    json_object *body = json_object_new_object();

    json_object_object_add(body, "error", markr_json_string(error));
    json_object_object_add(body, "message", markr_json_string(message));
    return body;
}

static json_object *error_body(const struct markr_error *err, int64_t import_id)
{
    json_object *body = problem_body(err->reason[0] != '\0' ? err->reason : "error", err->message);

    if (import_id > 0)
        json_object_object_add(body, "import_id", json_object_new_int64(import_id));
    if (err->result_index > 0)
        json_object_object_add(body, "result_index", json_object_new_uint64(err->result_index));
    if (err->line > 0)
        json_object_object_add(body, "line", json_object_new_uint64(err->line));
    if (err->field[0] != '\0')
        json_object_object_add(body, "field", markr_json_string(err->field));
    return body;
}

/* --- 5xx answers ----------------------------------------------------------------------------- */

/* What a client is told of a failure of ours: a fixed sentence per reason, saying what to do.
 * The error's own message may hold libpq's words, a host or socket path, a file name: it is
 * for the log only. */
static const char *safe_message_of(const struct markr_error *err)
{
    static const struct {
        const char *reason, *message;
    } known[] = {
        {"database_unavailable", "the database is unavailable; retry shortly"},
        {"database_busy", "the database is busy; retry shortly"},
        {"overloaded", MARKR_HTTP_OVERLOADED_MESSAGE},
        {"shutting_down", "the server is shutting down; nothing more was stored; retry shortly"},
        {"schema_not_current", "the database schema is not the one this build expects; an operator must run markr migrate"},
        {"out_of_memory", MARKR_HTTP_OUT_OF_MEMORY_MESSAGE},
        /* Not "retry": a resent document may be stored twice. */
        {"outcome_unknown", "the connection to the database was lost during the commit: the document may or may not "
                            "be stored; look it up with GET /imports?sha256= before sending it again"},
    };

    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); ++i)
        if (strcmp(err->reason, known[i].reason) == 0)
            return known[i].message;
    if (strncmp(err->reason, "migration", 9) == 0)
        return "the database schema is not the one this build expects; an operator must run markr migrate";
    return markr_http_status_of(err->code) == 503 ? "the service is unavailable; retry shortly"
                                                  : "an internal error occurred";
}

/* As markr_http_send_server_error, with the body's SHA-256 (may be NULL or empty). A COMMIT
 * whose outcome is unknown (ADR 0022) gets no Retry-After: a client that resent the document
 * might store it twice. It asks GET /imports?sha256= instead. */
static void send_server_error(h2o_req_t *req, int status, const char *error, const char *safe_message,
                              const char *detail, const char *sha256)
{
    char id[MARKR_HTTP_REQUEST_ID_MAX + 1], message[sizeof(((struct markr_http_answer *)0)->safe_message) + 96], code[8];
    json_object *body;

    markr_http_request_id(req, id, sizeof(id));
    snprintf(message, sizeof(message), "%s (request id %s)", safe_message, id);
    snprintf(code, sizeof(code), "%d", status);
    /* Without a detail (a full waiting line, say) the request's own log line says it all. */
    if (detail != NULL && detail[0] != '\0')
        markr_log(status == 503 ? MARKR_LOG_WARN : MARKR_LOG_ERROR, "server error", "request_id", id, "status", code,
                  "error", error, "detail", detail, NULL);
    body = problem_body(error, message);
    json_object_object_add(body, "request_id", markr_json_string(id));
    if (sha256 != NULL && sha256[0] != '\0')
        json_object_object_add(body, "sha256", markr_json_string(sha256));
    send_json_retry(req, status, body, strcmp(error, "outcome_unknown") == 0 ? NO_RETRY_AFTER : 0);
}

void markr_http_send_server_error(h2o_req_t *req, int status, const char *error, const char *safe_message,
                                  const char *detail)
{
    send_server_error(req, status, error, safe_message, detail, NULL);
}

void markr_http_answer_server_error(struct markr_http_answer *answer, int status, const char *error,
                                    const char *safe_message, const char *detail)
{
    free(answer->body);
    answer->body = NULL;
    answer->len = 0;
    answer->status = status;
    answer->server_error = 1;
    answer->sha256[0] = '\0';
    answer->etag[0] = '\0';
    snprintf(answer->error, sizeof(answer->error), "%s", error);
    snprintf(answer->safe_message, sizeof(answer->safe_message), "%s", safe_message);
    snprintf(answer->detail, sizeof(answer->detail), "%s", detail != NULL ? detail : "");
}

void markr_http_send_error(h2o_req_t *req, const struct markr_error *err, int64_t import_id)
{
    int status = markr_http_status_of(err->code);

    if (status >= 500)
        markr_http_send_server_error(req, status, err->reason[0] != '\0' ? err->reason : "error",
                                     safe_message_of(err), err->message);
    else
        markr_http_send_json(req, status, error_body(err, import_id));
}

void markr_http_send_problem(h2o_req_t *req, int status, const char *error, const char *message)
{
    if (status >= 500) /* every 5xx gives the request id */
        markr_http_send_server_error(req, status, error, message, NULL);
    else
        markr_http_send_json(req, status, problem_body(error, message));
}

void markr_http_answer_error(struct markr_http_answer *answer, const struct markr_error *err, int64_t import_id)
{
    int status = markr_http_status_of(err->code);

    if (status >= 500)
        markr_http_answer_server_error(answer, status, err->reason[0] != '\0' ? err->reason : "error",
                                       safe_message_of(err), err->message);
    else
        markr_http_answer_json(answer, status, error_body(err, import_id));
}

void markr_http_answer_problem(struct markr_http_answer *answer, int status, const char *error, const char *message)
{
    if (status >= 500)
        markr_http_answer_server_error(answer, status, error, message, NULL);
    else
        markr_http_answer_json(answer, status, problem_body(error, message));
}

json_object *markr_json_percent(double value)
{
    json_object *number = json_object_new_double(value);

    /* The userdata is the printf format json_object_double_to_json_string uses; it keeps the
     * trailing ".0" of whole numbers, so 65 prints as 65.0 as in the brief. */
    json_object_set_serializer(number, json_object_double_to_json_string, (void *)"%.15g", NULL);
    return number;
}

/* --- h2o's own errors as JSON ------------------------------------------------------------ */

struct rewrite_ostream {
    h2o_ostream_t super;
    h2o_iovec_t json;
};

static void rewrite_do_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t bufcnt,
                            h2o_send_state_t state)
{
    struct rewrite_ostream *os = (struct rewrite_ostream *)self;

    /* h2o_send_error_generic sends its text in one final call: replace it, keep the state. */
    if (bufcnt != 0)
        h2o_ostream_send_next(&os->super, req, &os->json, 1, state);
    else
        h2o_ostream_send_next(&os->super, req, NULL, 0, state);
}

static const char *error_code_for(int status)
{
    switch (status) {
    case 400: return "bad_request";
    case 404: return "not_found";
    case 408: return "request_timeout";
    case 413: return "payload_too_large";
    case 417: return "expectation_failed";
    case 421: return "misdirected_request";
    default: return status < 500 ? "client_error" : "server_error";
    }
}

void markr_http_too_large_message(char *out, size_t cap, const char *setting, uint64_t limit)
{
    uint64_t mib = (uint64_t)1 << 20;

    if (limit >= mib && limit % mib == 0)
        snprintf(out, cap, "the body is larger than this server's limit of %" PRIu64 " bytes (%" PRIu64 " MiB, %s): "
                 "send a smaller document, or split it into several", limit, limit / mib, setting);
    else
        snprintf(out, cap, "the body is larger than this server's limit of %" PRIu64 " bytes (%s): "
                 "send a smaller document, or split it into several", limit, setting);
}

/* Every answer passes this filter as it starts (JSON, streams, the dashboard's files and
 * the errors h2o makes itself, on the fallback path too), so the headers every answer must
 * carry are added once, here: a browser must never guess a media type other than the one
 * sent (a stored document served as text/html would be a stored XSS). */
static void on_setup_ostream(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    ssize_t ct;

    /* h2o 2.2.5 has no token for it: by name, in lower case as h2o sends every name. */
    h2o_set_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-content-type-options"), 0,
                          H2O_STRLIT("nosniff"), 1);
    ct = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1);
    if (req->res.status >= 400 && ct >= 0 &&
        h2o_memis(req->res.headers.entries[ct].value.base, req->res.headers.entries[ct].value.len,
                  H2O_STRLIT("text/plain; charset=utf-8"))) {
        struct rewrite_ostream *os = (void *)h2o_add_ostream(req, sizeof(*os), slot);
        char too_large[200];
        const char *message = req->res.reason;
        json_object *body;
        size_t len;
        const char *text;

        /* h2o's own 413 is its max_request_entity_size, which is MARKR_MAX_BODY_BYTES. */
        if (req->res.status == 413) {
            markr_http_too_large_message(too_large, sizeof(too_large), "MARKR_MAX_BODY_BYTES",
                                         req->conn->ctx->globalconf->max_request_entity_size);
            message = too_large;
        }
        body = problem_body(error_code_for(req->res.status), message);
        text = json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN, &len);

        os->json = h2o_strdup(&req->pool, text, len);
        json_object_put(body);
        os->super.do_send = rewrite_do_send;
        req->res.headers.entries[ct].value = h2o_iovec_init(H2O_STRLIT("application/json"));
        req->res.content_length = os->json.len;
        slot = &os->super.next;
    }
    h2o_setup_next_ostream(req, slot);
}

void markr_http_register_error_filter(h2o_pathconf_t *pathconf)
{
    h2o_filter_t *filter = h2o_create_filter(pathconf, sizeof(*filter));

    filter->on_setup_ostream = on_setup_ostream;
}

json_object *markr_aggregate_json(const struct markr_aggregate *a)
{
    json_object *body = json_object_new_object();

    json_object_object_add(body, "mean", markr_json_percent(a->mean));
    json_object_object_add(body, "stddev", markr_json_percent(a->stddev));
    json_object_object_add(body, "min", markr_json_percent(a->min));
    json_object_object_add(body, "max", markr_json_percent(a->max));
    json_object_object_add(body, "p25", markr_json_percent(a->p25));
    json_object_object_add(body, "p50", markr_json_percent(a->p50));
    json_object_object_add(body, "p75", markr_json_percent(a->p75));
    json_object_object_add(body, "count", json_object_new_uint64(a->count));
    return body;
}
