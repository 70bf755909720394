/*
 * Field-level rules of a result: trimming, marks as 32-bit decimal integers, and the names
 * people read in refusals.
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

/* XML's white space (production S): other bytes, including non-breaking spaces, are data. */
static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void markr_trim(const char **text, size_t *len)
{
    const char *p = *text;
    size_t n = *len;

    while (n > 0 && is_space(*p)) {
        ++p;
        --n;
    }
    while (n > 0 && is_space(p[n - 1]))
        --n;
    *text = p;
    *len = n;
}

int markr_parse_mark(const char *text, size_t len, uint32_t *out)
{
    uint64_t value = 0;

    if (text == NULL)
        return -1;
    markr_trim(&text, &len);
    if (len == 0)
        return -1;
    for (size_t i = 0; i < len; ++i) {
        if (text[i] < '0' || text[i] > '9')
            return -1; /* no sign, no space inside, no decimal point */
        value = value * 10 + (uint64_t)(text[i] - '0');
        if (value > INT32_MAX)
            return -1; /* a signed 32-bit integer, as SQL `integer` */
    }
    *out = (uint32_t)value;
    return 0;
}
