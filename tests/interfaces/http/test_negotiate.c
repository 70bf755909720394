/*
 * Content negotiation alone (negotiate.h): the format parameter wins, then Accept's
 * qualities, JSON by default; a format that is neither is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "interfaces/http/negotiate.h"

static int form(const char *format, const char *accept)
{
    return markr_negotiate_format(format, format != NULL ? strlen(format) : 0, accept,
                                  accept != NULL ? strlen(accept) : 0);
}

static int quality(const char *accept, const char *type)
{
    return markr_accept_quality(accept, strlen(accept), type);
}

static void the_format_parameter_wins(void **state)
{
    assert_int_equal(form("csv", NULL), MARKR_FORM_CSV);
    assert_int_equal(form("json", "text/csv"), MARKR_FORM_JSON);
    assert_int_equal(form("csv", "application/json"), MARKR_FORM_CSV);
    assert_int_equal(form("xml", NULL), -1);
    assert_int_equal(form("CSV", NULL), -1); /* values are words of markr's, as written */
    assert_int_equal(form("", NULL), -1);
    assert_int_equal(markr_negotiate_format("csv\0x", 5, NULL, 0), -1);
}

static void accept_picks_csv_only_when_it_prefers_it(void **state)
{
    assert_int_equal(form(NULL, NULL), MARKR_FORM_JSON);
    assert_int_equal(form(NULL, "*/*"), MARKR_FORM_JSON);
    assert_int_equal(form(NULL, "text/csv"), MARKR_FORM_CSV);
    assert_int_equal(form(NULL, "TEXT/CSV; charset=utf-8"), MARKR_FORM_CSV);
    assert_int_equal(form(NULL, "text/*"), MARKR_FORM_JSON); /* wildcards do not ask for CSV */
    assert_int_equal(form(NULL, "application/json, text/csv"), MARKR_FORM_JSON); /* a tie: the default */
    assert_int_equal(form(NULL, "application/json;q=0.5, text/csv"), MARKR_FORM_CSV);
    assert_int_equal(form(NULL, "application/json, text/csv;q=0.9"), MARKR_FORM_JSON);
    assert_int_equal(form(NULL, "text/csv;q=0"), MARKR_FORM_JSON);
    assert_int_equal(form(NULL, "text/csv;q=bad"), MARKR_FORM_JSON);
    assert_int_equal(form(NULL, "text/csvx"), MARKR_FORM_JSON);
    assert_int_equal(form(NULL, "xtext/csv"), MARKR_FORM_JSON);
}

static void qualities_are_read_as_rfc_9110_writes_them(void **state)
{
    assert_int_equal(quality("text/csv", "text/csv"), 1000);
    assert_int_equal(quality("text/csv;q=0.5", "text/csv"), 500);
    assert_int_equal(quality("text/csv ; Q=0.25 ", "text/csv"), 250);
    assert_int_equal(quality("text/csv;q=1.000", "text/csv"), 1000);
    assert_int_equal(quality("text/csv;q=0.001", "text/csv"), 1);
    assert_int_equal(quality("text/csv;q=1.5", "text/csv"), 0);
    assert_int_equal(quality("text/csv;q=0.12345", "text/csv"), 0);
    assert_int_equal(quality("text/csv;q=", "text/csv"), 0);
    assert_int_equal(quality("text/csv;charset=utf-8;q=0.3", "text/csv"), 300);
    assert_int_equal(quality("text/html, text/csv;q=0.2, text/csv;q=0.7", "text/csv"), 700);
    assert_int_equal(quality("text/html", "text/csv"), -1);
    assert_int_equal(quality("", "text/csv"), -1);
    assert_int_equal(quality(",,,", "text/csv"), -1);
    assert_int_equal(markr_accept_quality("text/csv", 4, "text/csv"), -1); /* never past len */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_format_parameter_wins),
        cmocka_unit_test(accept_picks_csv_only_when_it_prefers_it),
        cmocka_unit_test(qualities_are_read_as_rfc_9110_writes_them),
    };

    return cmocka_run_group_tests_name("http_negotiate", tests, NULL, NULL);
}
