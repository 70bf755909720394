/*
 * Field-level rules of a result: the names people read in refusals (trimming and marks as
 * 32-bit decimal integers are inline, in result.h).
 */
#include "result.h"

static const char *const field_names[MARKR_FIELD_COUNT] = {
    [MARKR_FIELD_TEST_ID] = "test-id",
    [MARKR_FIELD_STUDENT_NUMBER] = "student-number",
    [MARKR_FIELD_FIRST_NAME] = "first-name",
    [MARKR_FIELD_LAST_NAME] = "last-name",
    [MARKR_FIELD_AVAILABLE] = "summary-marks/@available",
    [MARKR_FIELD_OBTAINED] = "summary-marks/@obtained",
};

const char *markr_field_name(enum markr_field field)
{
    return (unsigned)field < MARKR_FIELD_COUNT ? field_names[field] : "?";
}
