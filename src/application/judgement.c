/*
 * Judging a document (judgement.h). Whole-document rules are checked here, not left to
 * each parser, so that every format obeys them alike.
 */
#include "judgement.h"

#include <stdlib.h>
#include <string.h>

int markr_judge_document(const struct markr_formats *formats, const char *content_type, const char *body,
                         size_t len, struct markr_judgement *j, struct markr_error *err)
{
    /* By media type alone: what is stored was accepted under the rules of its day (an upload
     * passed the strict rule of markr_formats_parse at the door), and a rebuild must not
     * refuse a document for a parameter an older version let through. */
    const struct markr_format *format =
        content_type != NULL ? markr_formats_find(formats, content_type, strlen(content_type)) : NULL;
    const struct markr_document_parser *parser = format != NULL ? &format->parser : NULL;

    memset(j, 0, sizeof(*j));
    markr_document_init(&j->doc);
    markr_error_clear(&j->refusal);
    markr_error_clear(err);
    if (parser == NULL) {
        markr_error_set(&j->refusal, MARKR_ERR_INVALID, "unsupported_media_type", "%s: '%.100s'",
                        markr_content_type_problem(MARKR_CONTENT_TYPE_UNKNOWN), content_type != NULL ? content_type : "");
        return 0;
    }
    if (parser->parse(parser->ctx, body, len, &j->doc, &j->refusal) != 0 ||
        markr_document_finish(&j->doc, &j->refusal) != 0) {
        if (j->refusal.code == MARKR_ERR_MALFORMED || j->refusal.code == MARKR_ERR_INVALID)
            return 0;
        *err = j->refusal; /* not a verdict on the document (e.g. out of memory) */
        markr_error_clear(&j->refusal);
        return -1;
    }
    if (markr_marks_from_document(&j->doc, &j->marks, err) != 0)
        return -1;
    j->accepted = 1;
    return 0;
}

void markr_judgement_free(struct markr_judgement *j)
{
    markr_marks_free(&j->marks);
    markr_document_free(&j->doc);
    j->accepted = 0;
}

int markr_outcome_of(const struct markr_judgement *j, struct markr_import_outcome *outcome)
{
    const struct markr_marks *marks = &j->marks;

    memset(outcome, 0, sizeof(*outcome));
    markr_error_clear(&outcome->error);
    outcome->results = j->doc.count;
    if (!j->accepted) {
        outcome->error = j->refusal;
        return 0;
    }
    outcome->students = marks->students;
    outcome->marks = marks->count;
    outcome->tests = calloc(marks->test_count != 0 ? marks->test_count : 1, sizeof(*outcome->tests));
    if (outcome->tests == NULL)
        return markr_error_set(&outcome->error, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
    for (size_t i = 0; i < marks->test_count; ++i) {
        if ((outcome->tests[i] = strdup(marks->tests[i])) == NULL)
            return markr_error_set(&outcome->error, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
        outcome->test_count = i + 1;
    }
    return 0;
}

void markr_import_outcome_free(struct markr_import_outcome *outcome)
{
    for (size_t i = 0; i < outcome->test_count; ++i)
        free(outcome->tests[i]);
    free(outcome->tests);
    outcome->tests = NULL;
    outcome->test_count = 0;
}
