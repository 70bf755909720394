/*
 * The JSON answers of GET /results/{test-id}/items and GET /results/{test-id}/students/
 * {student-number} (application/items.h), for the handlers and the cache alike. Figures go
 * out at json-c's full double precision: clients compare them with their own computations.
 */
#include "responses_items.h"

static json_object *nullable(int has, double value)
{
    return has ? json_object_new_double(value) : NULL;
}

static json_object *item_json(const struct markr_item *it)
{
    json_object *item = json_object_new_object(), *flags = json_object_new_array(),
                *responses = json_object_new_array();

    json_object_object_add(item, "question", markr_json_string(it->question));
    json_object_object_add(item, "answered", json_object_new_int64((int64_t)it->answered));
    json_object_object_add(item, "max_marks", json_object_new_int64(it->max_marks));
    json_object_object_add(item, "facility", nullable(it->has_facility, it->facility));
    json_object_object_add(item, "discrimination", nullable(it->has_discrimination, it->discrimination));
    for (int f = 0; f < MARKR_FLAG_COUNT; ++f)
        if (it->flags & (1u << f))
            json_object_array_add(flags, json_object_new_string(markr_item_flag_name(f)));
    json_object_object_add(item, "flags", flags);
    for (size_t j = 0; j < it->response_count; ++j) {
        const struct markr_item_response *r = &it->responses[j];
        json_object *resp = json_object_new_object();

        json_object_object_add(resp, "response", markr_json_string(r->response));
        json_object_object_add(resp, "count", json_object_new_int64((int64_t)r->count));
        json_object_object_add(resp, "upper", json_object_new_int64((int64_t)r->upper));
        json_object_object_add(resp, "lower", json_object_new_int64((int64_t)r->lower));
        json_object_array_add(responses, resp);
    }
    json_object_object_add(item, "responses", responses);
    json_object_object_add(item, "responses_truncated",
                           json_object_new_boolean(it->distinct_responses > it->response_count));
    return item;
}

json_object *markr_items_json(const char *test_id, size_t test_id_len, const struct markr_items *items)
{
    json_object *body = json_object_new_object(), *list = json_object_new_array();

    json_object_object_add(body, "test_id", markr_json_string_len(test_id, test_id_len));
    json_object_object_add(body, "students", json_object_new_int64((int64_t)items->students));
    json_object_object_add(body, "questions", json_object_new_int64((int64_t)items->questions));
    json_object_object_add(body, "mean_total", nullable(items->has_totals, items->mean_total));
    json_object_object_add(body, "sd_total", nullable(items->has_totals, items->sd_total));
    json_object_object_add(body, "alpha", nullable(items->has_alpha, items->alpha));
    json_object_object_add(body, "sem", nullable(items->has_alpha, items->sem));
    json_object_object_add(body, "group_size", json_object_new_int64((int64_t)items->group_size));
    for (size_t i = 0; i < items->count; ++i)
        json_object_array_add(list, item_json(&items->items[i]));
    json_object_object_add(body, "items", list);
    json_object_object_add(body, "items_truncated", json_object_new_boolean(items->questions > items->count));
    return body;
}

json_object *markr_student_sheet_json(const char *test_id, size_t test_id_len, const char *student,
                                      size_t student_len, const struct markr_student_sheet *sheet)
{
    json_object *body = json_object_new_object(), *answers = json_object_new_array();

    json_object_object_add(body, "test_id", markr_json_string_len(test_id, test_id_len));
    json_object_object_add(body, "student_number", markr_json_string_len(student, student_len));
    json_object_object_add(body, "obtained", json_object_new_int64(sheet->obtained));
    json_object_object_add(body, "available", json_object_new_int64(sheet->available));
    json_object_object_add(body, "percent", markr_json_percent(sheet->percent));
    for (size_t i = 0; i < sheet->count; ++i) {
        const struct markr_sheet_answer *a = &sheet->answers[i];
        json_object *answer = json_object_new_object();

        json_object_object_add(answer, "question", markr_json_string(a->question));
        json_object_object_add(answer, "response", markr_json_string(a->response));
        json_object_object_add(answer, "awarded", json_object_new_int64(a->awarded));
        json_object_object_add(answer, "available", json_object_new_int64(a->available));
        json_object_array_add(answers, answer);
    }
    json_object_object_add(body, "answers", answers);
    return body;
}
