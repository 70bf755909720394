/*
 * Every answer of the HTTP adapter goes out through here: JSON bodies made with json-c
 * (ADR 0006), the one mapping from application error codes to HTTP statuses, and a filter
 * that turns the plain-text errors h2o produces itself (413, broken requests) into the same
 * JSON shape, so that every error a client sees looks alike.
 */
#ifndef MARKR_INTERFACES_HTTP_RESPONSES_H
#define MARKR_INTERFACES_HTTP_RESPONSES_H

#include <stdint.h>

#include <h2o.h>

#include "etag.h"
#include <json-c/json.h>

#include "domain/aggregate.h"
#include "domain/error.h"

/* Every string of a JSON answer is made here: a JSON text must be UTF-8 (RFC 8259), and a
 * string may come from a client's path or a stored document, so bytes that are not valid
 * UTF-8 become U+FFFD (domain/utf8.h) rather than reach the client raw. NULL text gives
 * NULL (JSON null); so does running out of memory. */
json_object *markr_json_string(const char *text);
json_object *markr_json_string_len(const char *text, size_t len);

/* The sentences of a 503 overloaded, written once: every waiting line that is full (the
 * workers' queue, a stream's next page, the aggregate cache's fetches) says the first, the
 * cap on bodies held at once the second. */
#define MARKR_HTTP_OVERLOADED_MESSAGE "too many requests are waiting for the database; retry shortly"
#define MARKR_HTTP_BUFFERS_FULL_MESSAGE                                                                          \
    "too many documents are being received at once (MARKR_MAX_BUFFERED_BYTES); retry shortly"
#define MARKR_HTTP_OUT_OF_MEMORY_MESSAGE "the server is out of memory; retry shortly"

/* The HTTP status for an application error code. */
int markr_http_status_of(enum markr_error_code code);

/* A final answer made away from the loop (on a worker thread, see http_job.h): the JSON
 * is built, serialised and freed there, and the loop only sends the bytes. */
struct markr_http_answer {
    int status;          /* 0: run() made none (see respond) */
    char *body;          /* malloc'd JSON text, len bytes; NULL when none */
    size_t len;
    char location[64];   /* a Location header when not empty */
    int retry_after;     /* a Retry-After header (seconds) when > 0; every 503 has one */
    /* Set by markr_http_answer_server_error: a 5xx whose body needs the request id, so it is
     * built (and its detail logged) on the loop by markr_http_send_answer; body stays NULL. */
    int server_error;
    char error[MARKR_ERROR_REASON_MAX];
    char safe_message[256];
    char detail[MARKR_ERROR_MESSAGE_MAX];
    /* The request body's SHA-256 (hex) for a 503 outcome_unknown, else empty: markr_http_answer_note_digest. */
    char sha256[65];
    /* The body's identity ETag, hashed on the worker by markr_http_answer_json so that the
     * loop does not hash it; empty when none was computed. */
    char etag[MARKR_ETAG_MAX];
};

/* The one builder of 5xx answers (ADR 0025): the body carries error, safe_message (a fixed
 * sentence of ours, never internal text) followed by the request id, and request_id; detail
 * (libpq's text, a socket path, anything internal; may be NULL) goes only to a log line with
 * the same request id, so an operator finds what a client reports. markr_http_send_error
 * and markr_http_send_problem come here for every status of 500 or more. */
void markr_http_send_server_error(h2o_req_t *req, int status, const char *error, const char *safe_message,
                                  const char *detail);

/* As markr_http_send_server_error, made on a worker into answer (sent by
 * markr_http_send_answer, which knows the request id). */
void markr_http_answer_server_error(struct markr_http_answer *answer, int status, const char *error,
                                    const char *safe_message, const char *detail);

/* Serialises body (consumed) into answer with status. Thread-safe (no h2o object is touched).
 * Out of memory gives a 500 out_of_memory (markr_http_answer_server_error). */
void markr_http_answer_json(struct markr_http_answer *answer, int status, json_object *body);

/* As markr_http_send_error and markr_http_send_problem, into answer. A status of 500 or more
 * goes through markr_http_answer_server_error: an error's message stays in the log, a
 * problem's (a fixed sentence) is the safe message. */
void markr_http_answer_error(struct markr_http_answer *answer, const struct markr_error *err, int64_t import_id);
void markr_http_answer_problem(struct markr_http_answer *answer, int status, const char *error, const char *message);

/* On the loop: sends answer; its body passes to the request's pool (answer->body is NULL
 * afterwards), so it is freed with the request and never copied. */
void markr_http_send_answer(h2o_req_t *req, struct markr_http_answer *answer);

/* A HEAD request: its answer has the headers of the GET's and no body. h2o 2.2.5 leaves the
 * body out only of what h2o_send_inline sends; every other generator must not send one, or
 * the bytes would be read as the start of the connection's next answer. */
int markr_http_is_head(const h2o_req_t *req);

/* Sends body (consumed: its reference is dropped) as application/json with status. For the
 * small answers the loop makes itself (a refused parameter, /health). */
void markr_http_send_json(h2o_req_t *req, int status, json_object *body);

/* Sends {"error","message", and where known "import_id","result_index","line","field"} with
 * the status of err->code. 503 answers carry Retry-After. import_id 0 is left out. */
void markr_http_send_error(h2o_req_t *req, const struct markr_error *err, int64_t import_id);

/* Sends an error that the HTTP layer itself detects (415, 405, 404 of a route...). */
void markr_http_send_problem(h2o_req_t *req, int status, const char *error, const char *message);

/* A JSON number for a percentage, printed with 15 significant digits (65.0, 66.6666666666667)
 * rather than json-c's default 17, which shows binary noise. */
json_object *markr_json_percent(double value);

/* The sentence of a 413: the limit in bytes (and MiB when it is whole ones) and the setting
 * that sets it, so that a client knows how much fits and an operator what to raise. */
void markr_http_too_large_message(char *out, size_t cap, const char *setting, uint64_t limit);

/* Registers, on pathconf, the filter that rewrites h2o's own text/plain errors as JSON. */
void markr_http_register_error_filter(h2o_pathconf_t *pathconf);

/* The answer of GET /results/{test-id}/aggregate (the brief's shape), for the handler, the
 * cache and the streams alike. */
json_object *markr_aggregate_json(const struct markr_aggregate *a);

#endif
