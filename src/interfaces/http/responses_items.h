/*
 * JSON of the item analysis and of a student's sheet (responses_items.c).
 */
#ifndef MARKR_INTERFACES_HTTP_RESPONSES_ITEMS_H
#define MARKR_INTERFACES_HTTP_RESPONSES_ITEMS_H

#include "application/items.h"
#include "responses.h"

/* {"test_id","students","questions","mean_total","sd_total","alpha","sem","group_size",
 *  "items":[{"question","answered","max_marks","facility","discrimination","flags",
 *  "responses":[{"response","count","upper","lower"}],"responses_truncated"}],"items_truncated"} */
json_object *markr_items_json(const char *test_id, size_t test_id_len, const struct markr_items *items);

/* {"test_id","student_number","obtained","available","percent",
 *  "answers":[{"question","response","awarded","available"}]} */
json_object *markr_student_sheet_json(const char *test_id, size_t test_id_len, const char *student,
                                      size_t student_len, const struct markr_student_sheet *sheet);

#endif
