/*
 * Score events into results (score_format.h): the event-stream parser of the application
 * reads the blocks, json-c the data of each score event, and the domain applies rule 1 to
 * the result built from it, as it does for an XML result.
 */
#include "score_format.h"

#include <json-c/json.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "application/event_stream.h"
#include "domain/utf8.h"

/* What on_event returns to stop the parse at a refusal (err says why): positive, so that it
 * is never taken for one of the parser's own negative statuses. */
#define STOP 1

struct parse {
    struct markr_document *doc;
    struct markr_error *err;
};

static int refuse(struct parse *p, const struct markr_event_stream_event *ev, const char *reason, const char *field,
                  const char *what)
{
    markr_error_set(p->err, MARKR_ERR_INVALID, reason, "event %zu (line %lu): %s %s", ev->index, ev->line, field,
                    what);
    markr_error_locate(p->err, ev->index, ev->line, field);
    return STOP;
}

/* The domain refused the result built from ev: the same refusal in the event's terms. */
static int refused_by_domain(struct parse *p, const struct markr_event_stream_event *ev)
{
    static const struct {
        const char *domain, *event;
    } names[] = {{"test-id", "exam"}, {"student-number", "studentId"}, {"summary-marks/@obtained", "score"}};
    const char *field = "data", *what = "is not a result";
    char reason[MARKR_ERROR_REASON_MAX], message[MARKR_ERROR_MESSAGE_MAX];

    if (p->err->code != MARKR_ERR_INVALID)
        return STOP; /* out of memory: not a verdict, the error says so */
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); ++i)
        if (strcmp(p->err->field, names[i].domain) == 0) {
            const char *after = strstr(p->err->message, names[i].domain);

            field = names[i].event;
            if (after != NULL)
                what = after + strlen(names[i].domain) + (after[strlen(names[i].domain)] == ' ');
        }
    snprintf(reason, sizeof(reason), "%s", p->err->reason);
    snprintf(message, sizeof(message), "%s", what);
    return refuse(p, ev, reason, field, message);
}

static int on_event(void *ctx, const struct markr_event_stream_event *ev)
{
    struct parse *p = ctx;
    struct markr_raw_result raw;
    struct json_object *obj, *exam, *student, *score;
    char exam_text[32], obtained[16], available[16];
    double value;
    int rc;

    if (ev->type_len != strlen(MARKR_SCORE_EVENT_TYPE) || memcmp(ev->type, MARKR_SCORE_EVENT_TYPE, ev->type_len) != 0)
        return 0; /* another type: not a result */
    if (ev->data_len > MARKR_SCORE_DATA_MAX)
        return refuse(p, ev, "field_too_long", "data", "is longer than 4096 bytes");
    /* JSON text is UTF-8 (RFC 8259); json-c would take other bytes into its strings, and the
     * database refuse them. What json-c decodes from UTF-8 stays UTF-8 (a lone surrogate
     * escaped becomes U+FFFD). */
    if (!markr_utf8_valid(ev->data, ev->data_len))
        return refuse(p, ev, "not_json", "data", "is not valid UTF-8");
    {
        struct json_tokener *tok = json_tokener_new();
        size_t used;

        if (tok == NULL) {
            markr_error_set(p->err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
            return STOP;
        }
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        obj = json_tokener_parse_ex(tok, ev->data, (int)ev->data_len);
        used = (size_t)json_tokener_get_parse_end(tok);
        json_tokener_free(tok);
        if (obj != NULL && used != ev->data_len) {
            while (used < ev->data_len && strchr(" \t\r\n", ev->data[used]) != NULL)
                ++used; /* white space after the object is allowed, nothing else */
            if (used != ev->data_len) {
                json_object_put(obj);
                obj = NULL;
            }
        }
    }
    if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
        json_object_put(obj);
        return refuse(p, ev, "not_json", "data", "is not a JSON object");
    }
    memset(&raw, 0, sizeof(raw));
    raw.line = ev->line;
    for (int f = 0; f < MARKR_FIELD_COUNT; ++f)
        raw.field_line[f] = ev->line;
    rc = STOP;
    if (!json_object_object_get_ex(obj, "exam", &exam) || json_object_is_type(exam, json_type_null))
        refuse(p, ev, "missing_field", "exam", "is missing");
    else if (!json_object_object_get_ex(obj, "studentId", &student) || json_object_is_type(student, json_type_null))
        refuse(p, ev, "missing_field", "studentId", "is missing");
    else if (!json_object_object_get_ex(obj, "score", &score) || json_object_is_type(score, json_type_null))
        refuse(p, ev, "missing_field", "score", "is missing");
    else if (!json_object_is_type(exam, json_type_int) && !json_object_is_type(exam, json_type_string))
        refuse(p, ev, "not_an_integer", "exam", "is neither an integer nor a string");
    else if (json_object_is_type(exam, json_type_int) &&
             (json_object_get_int64(exam) == INT64_MAX || json_object_get_int64(exam) == INT64_MIN))
        /* json-c saturates what int64 cannot hold: such an exam would become another's id */
        refuse(p, ev, "not_an_integer", "exam", "is an integer beyond the 64-bit range (send it as a string)");
    else if (!json_object_is_type(student, json_type_string))
        refuse(p, ev, "not_a_string", "studentId", "is not a string");
    else if (!json_object_is_type(score, json_type_double) && !json_object_is_type(score, json_type_int))
        refuse(p, ev, "not_a_number", "score", "is not a number");
    else if (!isfinite(value = json_object_get_double(score)) || value < 0.0 || value > 1.0)
        refuse(p, ev, "score_out_of_range", "score", "is not a number from 0 to 1");
    else {
        if (json_object_is_type(exam, json_type_int)) {
            raw.len[MARKR_FIELD_TEST_ID] = (size_t)snprintf(exam_text, sizeof(exam_text), "%lld",
                                                            (long long)json_object_get_int64(exam));
            raw.text[MARKR_FIELD_TEST_ID] = exam_text;
        } else {
            raw.text[MARKR_FIELD_TEST_ID] = json_object_get_string(exam);
            raw.len[MARKR_FIELD_TEST_ID] = (size_t)json_object_get_string_len(exam);
        }
        raw.text[MARKR_FIELD_STUDENT_NUMBER] = json_object_get_string(student);
        raw.len[MARKR_FIELD_STUDENT_NUMBER] = (size_t)json_object_get_string_len(student);
        raw.len[MARKR_FIELD_AVAILABLE] = (size_t)snprintf(available, sizeof(available), "%ld", MARKR_SCORE_AVAILABLE);
        raw.text[MARKR_FIELD_AVAILABLE] = available;
        raw.len[MARKR_FIELD_OBTAINED] =
            (size_t)snprintf(obtained, sizeof(obtained), "%ld", lround(value * (double)MARKR_SCORE_AVAILABLE));
        raw.text[MARKR_FIELD_OBTAINED] = obtained;
        if (memchr(raw.text[MARKR_FIELD_TEST_ID], '\0', raw.len[MARKR_FIELD_TEST_ID]) != NULL ||
            memchr(raw.text[MARKR_FIELD_STUDENT_NUMBER], '\0', raw.len[MARKR_FIELD_STUDENT_NUMBER]) != NULL)
            refuse(p, ev, "not_a_string", memchr(raw.text[MARKR_FIELD_TEST_ID], '\0', raw.len[MARKR_FIELD_TEST_ID])
                                                  ? "exam" : "studentId", "holds a NUL character");
        else if (markr_document_add(p->doc, &raw, p->err) != 0)
            refused_by_domain(p, ev);
        else
            rc = 0;
    }
    json_object_put(obj);
    return rc;
}

static int parse(void *ctx, const char *body, size_t len, struct markr_document *doc, struct markr_error *err)
{
    struct parse p = {.doc = doc, .err = err};
    struct markr_event_stream s;
    int rc;

    markr_event_stream_init(&s, on_event, &p);
    rc = markr_event_stream_feed(&s, body, len);
    if (rc == 0)
        rc = markr_event_stream_finish(&s);
    if (rc == MARKR_EVENT_STREAM_TOO_LONG) {
        markr_error_set(err, MARKR_ERR_MALFORMED, "malformed_event_stream",
                        "line %lu: a line, an event or an id is longer than the event-stream limits", s.line + 1);
        markr_error_locate(err, 0, s.line + 1, NULL);
    } else if (rc == MARKR_EVENT_STREAM_NO_MEMORY) {
        markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
    }
    markr_event_stream_free(&s);
    return rc == 0 ? 0 : -1;
}

struct markr_document_parser markr_score_parser(void)
{
    return (struct markr_document_parser){.ctx = NULL, .parse = parse};
}

struct markr_format markr_score_format(void)
{
    return (struct markr_format){.media_type = MARKR_SCORE_MEDIA_TYPE, .parser = markr_score_parser()};
}
