/*
 * The item analysis use cases through a fake results reader: ids that cannot name a test or
 * a student are 404 without asking, the store's figures come back with their flags at the
 * README's thresholds, and a store that fails leaves nothing allocated.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "application/items.h"
#include "application/ports.h"

static int asked;
static int fail_after_filling;

/* Three items: too easy and weak, too hard and negative, a distractor; a fourth with nulls. */
static int fake_items(void *ctx, const char *id, size_t len, struct markr_items *out, struct markr_error *err)
{
    static const struct {
        double facility, disc;
        int has_f, has_d, distractor;
    } rows[] = {{95.0, 0.1, 1, 1, 0}, {10.0, -0.3, 1, 1, 0}, {50.0, 0.5, 1, 1, 1}, {0, 0, 0, 0, 0},
                {90.0, 0.2, 1, 1, 0}, {20.0, 0.0, 1, 1, 0}};

    ++asked;
    out->items = calloc(6, sizeof(*out->items));
    for (size_t i = 0; i < 6; ++i) {
        out->items[i].question = strdup("q");
        out->items[i].facility = rows[i].facility;
        out->items[i].discrimination = rows[i].disc;
        out->items[i].has_facility = rows[i].has_f;
        out->items[i].has_discrimination = rows[i].has_d;
        out->items[i].distractor_attracts_top = rows[i].distractor;
        out->items[i].responses = calloc(1, sizeof(*out->items[i].responses));
        out->items[i].responses[0].response = strdup("A");
        out->items[i].response_count = 1;
        out->count = i + 1;
    }
    if (fail_after_filling)
        return markr_error_set(err, MARKR_ERR_UNAVAILABLE, "database_unavailable", "down");
    return 0;
}

static int fake_sheet(void *ctx, const char *t, size_t tl, const char *s, size_t sl, struct markr_student_sheet *out,
                      struct markr_error *err)
{
    ++asked;
    return markr_error_set(err, MARKR_ERR_NOT_FOUND, "unknown_student", "none");
}

static const struct markr_results_reader reader = {.items = fake_items, .student_sheet = fake_sheet};

static void flags_follow_the_thresholds(void **state)
{
    struct markr_items items;
    struct markr_error err;

    asked = fail_after_filling = 0;
    assert_int_equal(markr_get_items(&reader, "t", 1, &items, &err), 0);
    assert_int_equal(items.items[0].flags, MARKR_FLAG_TOO_EASY | MARKR_FLAG_WEAK);
    assert_int_equal(items.items[1].flags, MARKR_FLAG_TOO_HARD | MARKR_FLAG_WEAK | MARKR_FLAG_NEGATIVE);
    assert_int_equal(items.items[2].flags, MARKR_FLAG_DISTRACTOR_ATTRACTS_TOP);
    assert_int_equal(items.items[3].flags, 0); /* nulls raise nothing */
    assert_int_equal(items.items[4].flags, 0); /* the thresholds are strict */
    assert_int_equal(items.items[5].flags, MARKR_FLAG_WEAK);
    assert_string_equal(markr_item_flag_name(4), "distractor_attracts_top");
    markr_items_free(&items);
    assert_null(items.items);
}

static void ids_that_name_nothing_are_not_asked_for(void **state)
{
    struct markr_items items;
    struct markr_student_sheet sheet;
    struct markr_error err;

    asked = 0;
    assert_int_equal(markr_get_items(&reader, "", 0, &items, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_NOT_FOUND);
    assert_string_equal(err.reason, "unknown_test");
    assert_int_equal(markr_get_items(&reader, "a\0b", 3, &items, &err), -1);
    assert_int_equal(markr_get_student_sheet(&reader, "t", 1, " s", 2, &sheet, &err), -1);
    assert_string_equal(err.reason, "unknown_student");
    assert_int_equal(asked, 0);
    assert_int_equal(markr_get_student_sheet(&reader, "t", 1, "s", 1, &sheet, &err), -1);
    assert_int_equal(asked, 1);
}

/* Whatever the store filled before it failed is freed by the use case. */
static void a_failing_store_leaves_nothing(void **state)
{
    struct markr_items items;
    struct markr_error err;

    fail_after_filling = 1;
    assert_int_equal(markr_get_items(&reader, "t", 1, &items, &err), -1);
    assert_int_equal(err.code, MARKR_ERR_UNAVAILABLE);
    assert_null(items.items);
    fail_after_filling = 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(flags_follow_the_thresholds),
        cmocka_unit_test(ids_that_name_nothing_are_not_asked_for),
        cmocka_unit_test(a_failing_store_leaves_nothing),
    };

    return cmocka_run_group_tests_name("items_use_cases", tests, NULL, NULL);
}
