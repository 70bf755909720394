/*
 * Item analysis and a student's sheet (items.h): ids checked as everywhere (ids.h), then the
 * store's figures, then the flags.
 */
#include "items.h"

#include <stdlib.h>
#include <string.h>

#include "get_aggregate.h"
#include "ids.h"
#include "ports.h"

static const char *const flag_names[MARKR_FLAG_COUNT] = {"too_easy", "too_hard", "weak", "negative",
                                                         "distractor_attracts_top"};

const char *markr_item_flag_name(int i)
{
    return i >= 0 && i < MARKR_FLAG_COUNT ? flag_names[i] : "?";
}

unsigned markr_item_flags(const struct markr_item *item)
{
    unsigned flags = 0;

    if (item->has_facility && item->facility > MARKR_FLAG_EASY_ABOVE)
        flags |= MARKR_FLAG_TOO_EASY;
    if (item->has_facility && item->facility < MARKR_FLAG_HARD_BELOW)
        flags |= MARKR_FLAG_TOO_HARD;
    if (item->has_discrimination && item->discrimination < MARKR_FLAG_WEAK_BELOW)
        flags |= MARKR_FLAG_WEAK;
    if (item->has_discrimination && item->discrimination < MARKR_FLAG_NEGATIVE_BELOW)
        flags |= MARKR_FLAG_NEGATIVE;
    if (item->distractor_attracts_top)
        flags |= MARKR_FLAG_DISTRACTOR_ATTRACTS_TOP;
    return flags;
}

void markr_items_free(struct markr_items *items)
{
    for (size_t i = 0; items->items != NULL && i < items->count; ++i) {
        struct markr_item *it = &items->items[i];

        for (size_t j = 0; it->responses != NULL && j < it->response_count; ++j)
            free(it->responses[j].response);
        free(it->responses);
        free(it->question);
    }
    free(items->items);
    memset(items, 0, sizeof(*items));
}

void markr_student_sheet_free(struct markr_student_sheet *sheet)
{
    for (size_t i = 0; sheet->answers != NULL && i < sheet->count; ++i) {
        free(sheet->answers[i].question);
        free(sheet->answers[i].response);
    }
    free(sheet->answers);
    memset(sheet, 0, sizeof(*sheet));
}

int markr_get_items(const struct markr_results_reader *reader, const char *test_id, size_t len,
                    struct markr_items *out, struct markr_error *err)
{
    memset(out, 0, sizeof(*out));
    markr_error_clear(err);
    if (!markr_id_valid(test_id, len))
        return markr_aggregate_unknown(err);
    if (reader->items(reader->ctx, test_id, len, out, err) != 0) {
        markr_items_free(out);
        return -1;
    }
    for (size_t i = 0; i < out->count; ++i)
        out->items[i].flags = markr_item_flags(&out->items[i]);
    return 0;
}

static int unknown_student(struct markr_error *err)
{
    return markr_error_set(err, MARKR_ERR_NOT_FOUND, "unknown_student", "no mark of that student in that test");
}

int markr_get_student_sheet(const struct markr_results_reader *reader, const char *test_id, size_t test_len,
                            const char *student, size_t student_len, struct markr_student_sheet *out,
                            struct markr_error *err)
{
    memset(out, 0, sizeof(*out));
    markr_error_clear(err);
    if (!markr_id_valid(test_id, test_len) || !markr_id_valid(student, student_len))
        return unknown_student(err);
    if (reader->student_sheet(reader->ctx, test_id, test_len, student, student_len, out, err) != 0) {
        markr_student_sheet_free(out);
        return -1;
    }
    return 0;
}
