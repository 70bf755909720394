/*
 * The text/event-stream import format: a block of Server-Sent Events whose events of type
 * `score` carry one result each as JSON, {"exam": <integer or string>, "studentId":
 * <non-empty string>, "score": <number from 0 to 1>}. Other event types and comments are
 * ignored. A score is stored as a mark of MARKR_SCORE_AVAILABLE available and
 * round(score x MARKR_SCORE_AVAILABLE) obtained, so its percentage reads back as 100 x score
 * to within 5e-8 percentage points everywhere marks are read (ADR 0027).
 */
#ifndef MARKR_INTERFACES_SCORES_SCORE_FORMAT_H
#define MARKR_INTERFACES_SCORES_SCORE_FORMAT_H

#include "application/formats.h"

#define MARKR_SCORE_MEDIA_TYPE "text/event-stream"
#define MARKR_SCORE_EVENT_TYPE "score"
/* 10^9: the largest power of ten that a mark (an SQL integer) holds. */
#define MARKR_SCORE_AVAILABLE 1000000000L
/* Longest JSON data of one score event. */
#define MARKR_SCORE_DATA_MAX 4096

/* The parser port. Stateless and thread-safe. Refusals (MARKR_ERR_INVALID, result_index the
 * event's 1-based index among the block's events, line the event's first line, field one of
 * data, exam, studentId, score): not_json, missing_field, not_an_integer (exam), not_a_string
 * (studentId), not_a_number, score_out_of_range, field_too_long, no_results; and
 * malformed_event_stream (MARKR_ERR_MALFORMED) for a line, event or id over the parser's
 * bounds. */
struct markr_document_parser markr_score_parser(void);
struct markr_format markr_score_format(void);

#endif
