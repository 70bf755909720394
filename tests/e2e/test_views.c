/*
 * End to end: the dashboard views against the real server and a real database.
 * /tests page by page (a keyset cursor, every bad limit and cursor), a student's tests page
 * by page, a test's students page by page (every edge of limit and offset, both sorts and
 * orders), a student across tests with the mean of their percentages, every student in byte
 * order by limit and offset, the histogram's
 * bands (100 % in the last band), and a clear 400 for every malformed parameter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"
#include "test_db.h"

#define MEDIA_TYPE "text/xml+markr"

static char *conninfo;
static struct markr_server srv;

/* Five students of test "views": percentages 50, 100, 25, 75, 0 (student numbers s1..s5),
 * and s1 also in test "other" with 90 %. */
static const char doc[] =
    "<mcq-test-results>"
    "<mcq-test-result><first-name>Ada</first-name><last-name>Lovelace</last-name>"
    "<student-number>s1</student-number><test-id>views</test-id><summary-marks available=\"20\" obtained=\"10\"/>"
    "</mcq-test-result>"
    "<mcq-test-result><student-number>s2</student-number><test-id>views</test-id>"
    "<summary-marks available=\"4\" obtained=\"4\"/></mcq-test-result>"
    "<mcq-test-result><student-number>s3</student-number><test-id>views</test-id>"
    "<summary-marks available=\"8\" obtained=\"2\"/></mcq-test-result>"
    "<mcq-test-result><student-number>s4</student-number><test-id>views</test-id>"
    "<summary-marks available=\"4\" obtained=\"3\"/></mcq-test-result>"
    "<mcq-test-result><student-number>s5</student-number><test-id>views</test-id>"
    "<summary-marks available=\"10\" obtained=\"0\"/></mcq-test-result>"
    "<mcq-test-result><student-number>s1</student-number><test-id>other</test-id>"
    "<summary-marks available=\"10\" obtained=\"9\"/></mcq-test-result>"
    "</mcq-test-results>";

/* The helpers spell out their checks (print_error, release, fail()) where assert_* would leave
 * by longjmp with a response or a document of theirs still allocated. */
static json_object *get_json(const char *path, long status)
{
    struct e2e_response r;
    json_object *obj = NULL;
    int rc = e2e_http(&srv, "GET", path, NULL, NULL, 0, &r);

    if (rc != 0)
        print_error("ERROR: the request got no answer (harness status %d)\n", rc);
    else if (r.status != status)
        print_error("ERROR: GET %s: expected %ld, got %ld: %s\n", path, status, r.status, r.body);
    else if (strcmp(r.content_type, "application/json") != 0)
        print_error("ERROR: content type \"%s\", expected application/json\n", r.content_type);
    else if ((obj = json_tokener_parse(r.body)) == NULL)
        print_error("ERROR: not JSON: %s\n", r.body);
    e2e_response_free(&r);
    if (obj == NULL)
        fail();
    return obj;
}

/* The member key of obj, which is part of root; root (a helper's own document, or NULL) is
 * released before failing. */
static json_object *field_of(json_object *root, json_object *obj, const char *key)
{
    json_object *v;

    if (!json_object_object_get_ex(obj, key, &v)) {
        print_error("ERROR: no %s in %s\n", key, json_object_to_json_string(obj));
        json_object_put(root);
        fail();
    }
    return v;
}

static json_object *field(json_object *obj, const char *key)
{
    return field_of(NULL, obj, key);
}

static void expect_error(const char *path, long status, const char *code)
{
    json_object *obj = get_json(path, status);
    const char *error = json_object_get_string(field_of(obj, obj, "error"));
    int failed = 1;

    if (error == NULL || strcmp(error, code) != 0)
        print_error("ERROR: error \"%s\", expected \"%s\"\n", error != NULL ? error : "(none)", code);
    else if (json_object_get_string(field_of(obj, obj, "message")) == NULL)
        print_error("json_object_get_string(field(obj, \"message\"))\n");
    else
        failed = 0;
    json_object_put(obj);
    if (failed)
        fail();
}

/* The student numbers of a page, joined by commas. */
static void page_students(const char *path, const char *expected, int64_t total)
{
    json_object *obj = get_json(path, 200), *rows = field_of(obj, obj, "results");
    int64_t got = json_object_get_int64(field_of(obj, obj, "total"));
    char joined[256] = "";
    int failed;

    if (got != total) {
        print_error("ERROR: total %lld, expected %lld\n", (long long)got, (long long)total);
        json_object_put(obj);
        fail();
    }
    for (size_t i = 0; i < json_object_array_length(rows); ++i) {
        json_object *row = json_object_array_get_idx(rows, i);

        if (i != 0)
            strcat(joined, ",");
        strcat(joined, json_object_get_string(field_of(obj, row, "student_number")));
    }
    if ((failed = strcmp(joined, expected) != 0))
        print_error("ERROR: GET %s: students %s, expected %s\n", path, joined, expected);
    json_object_put(obj);
    if (failed)
        fail();
}

static int suite_setup(void **state)
{
    struct e2e_response r;

    if (e2e_suite_start("views", NULL, &srv, &conninfo) != 0)
        return -1;
    if (e2e_http(&srv, "POST", "/import", MEDIA_TYPE, doc, strlen(doc), &r) != 0 || r.status != 201) {
        fprintf(stderr, "import failed: %s\n", r.body);
        return -1;
    }
    e2e_response_free(&r);
    return 0;
}

static int suite_teardown(void **state)
{
    return e2e_suite_stop(&srv, conninfo);
}

static void tests_lists_every_test_with_count_and_last_change(void **state)
{
    json_object *obj = get_json("/tests", 200), *tests = field(obj, "tests");
    json_object *first, *second;

    assert_int_equal(json_object_array_length(tests), 2);
    first = json_object_array_get_idx(tests, 0);
    second = json_object_array_get_idx(tests, 1);
    assert_string_equal(json_object_get_string(field(first, "test_id")), "other");
    assert_int_equal(json_object_get_int64(field(first, "students")), 1);
    assert_string_equal(json_object_get_string(field(second, "test_id")), "views");
    assert_int_equal(json_object_get_int64(field(second, "students")), 5);
    /* An ISO 8601 UTC timestamp. */
    assert_int_equal(strlen(json_object_get_string(field(second, "last_change"))), strlen("2026-01-01T00:00:00.000000Z"));
    assert_non_null(strstr(json_object_get_string(field(second, "last_change")), "Z"));
    json_object_put(obj);
}

/* The test ids of a page of GET /tests, joined by commas, and its next_cursor ("" for null). */
static void tests_page(const char *path, const char *expected, const char *expected_next)
{
    json_object *obj = get_json(path, 200), *tests = field_of(obj, obj, "tests");
    json_object *next = field_of(obj, obj, "next_cursor");
    char joined[256] = "";
    const char *next_text = next != NULL ? json_object_get_string(next) : "";
    int failed;

    for (size_t i = 0; i < json_object_array_length(tests); ++i) {
        json_object *id = field_of(obj, json_object_array_get_idx(tests, i), "test_id");

        snprintf(joined + strlen(joined), sizeof(joined) - strlen(joined), "%s%s", i != 0 ? "," : "",
                 json_object_get_string(id));
    }
    failed = strcmp(joined, expected) != 0 || strcmp(next_text, expected_next) != 0;
    if (failed)
        print_error("ERROR: GET %s: tests \"%s\" next \"%s\", expected \"%s\" next \"%s\"\n", path, joined, next_text,
                    expected, expected_next);
    json_object_put(obj);
    if (failed)
        fail();
}

static void tests_are_paged_by_a_keyset_cursor(void **state)
{
    char path[400];

    tests_page("/tests", "other,views", ""); /* the default limit holds both: no next page */
    tests_page("/tests?limit=1", "other", "other");
    tests_page("/tests?limit=1&cursor=other", "views", ""); /* the last page */
    tests_page("/tests?limit=1&cursor=views", "", "");
    tests_page("/tests?limit=2", "other,views", ""); /* a page ending on the last test */
    tests_page("/tests?cursor=a", "other,views", "");      /* a cursor need not be a test */
    tests_page("/tests?cursor=p&limit=1000", "views", "");
    tests_page("/tests?cursor=%E2%82%AC", "", "");         /* any text sorts somewhere */

    expect_error("/tests?limit=0", 400, "bad_limit");
    expect_error("/tests?limit=1001", 400, "bad_limit");
    expect_error("/tests?limit=ten", 400, "bad_limit");
    expect_error("/tests?limit=", 400, "bad_limit");
    expect_error("/tests?cursor=", 400, "bad_cursor");
    expect_error("/tests?cursor=%ZZ", 400, "bad_cursor");
    expect_error("/tests?cursor=a%00b", 400, "bad_cursor");
    expect_error("/tests?cursor=%FF", 400, "bad_cursor"); /* not UTF-8: the database cannot compare it */
    expect_error("/tests?cursor=%C0%80", 400, "bad_cursor"); /* an overlong NUL */
    tests_page("/tests?cursor=%F0%9F%98%80", "", "");     /* four bytes: text, after every id here */
    expect_error("/tests?offset=1", 400, "bad_query");
    expect_error("/tests?limit", 400, "bad_query");
    snprintf(path, sizeof(path), "/tests?cursor=");
    memset(path + strlen(path), 'x', 256); /* one byte over the longest test id */
    path[strlen("/tests?cursor=") + 256] = '\0';
    expect_error(path, 400, "bad_cursor");
    path[strlen("/tests?cursor=") + 255] = '\0';
    tests_page(path, "", "");
}

static void results_rows_carry_names_marks_and_percent(void **state)
{
    json_object *obj = get_json("/results/views?limit=1", 200), *row;

    assert_string_equal(json_object_get_string(field(obj, "test_id")), "views");
    assert_int_equal(json_object_get_int64(field(obj, "limit")), 1);
    assert_int_equal(json_object_get_int64(field(obj, "offset")), 0);
    assert_string_equal(json_object_get_string(field(obj, "sort")), "student_number");
    assert_string_equal(json_object_get_string(field(obj, "order")), "asc");
    row = json_object_array_get_idx(field(obj, "results"), 0);
    assert_string_equal(json_object_get_string(field(row, "student_number")), "s1");
    assert_string_equal(json_object_get_string(field(row, "first_name")), "Ada");
    assert_string_equal(json_object_get_string(field(row, "last_name")), "Lovelace");
    assert_int_equal(json_object_get_int64(field(row, "obtained")), 10);
    assert_int_equal(json_object_get_int64(field(row, "available")), 20);
    assert_true(json_object_get_double(field(row, "percent")) == 50.0);
    json_object_put(obj);

    obj = get_json("/results/views?offset=1&limit=1", 200);
    row = json_object_array_get_idx(field(obj, "results"), 0);
    assert_true(json_object_is_type(field(row, "first_name"), json_type_null));
    json_object_put(obj);
}

static void results_pages_and_sorts(void **state)
{
    page_students("/results/views", "s1,s2,s3,s4,s5", 5);
    page_students("/results/views?limit=2", "s1,s2", 5);
    page_students("/results/views?limit=2&offset=2", "s3,s4", 5);
    page_students("/results/views?limit=2&offset=4", "s5", 5);    /* a short last page */
    page_students("/results/views?limit=2&offset=5", "", 5);      /* just past the end */
    page_students("/results/views?offset=100000000", "", 5);      /* the largest offset */
    page_students("/results/views?limit=1000", "s1,s2,s3,s4,s5", 5); /* the largest limit */
    page_students("/results/views?order=desc", "s5,s4,s3,s2,s1", 5);
    page_students("/results/views?sort=percent", "s5,s3,s1,s4,s2", 5);
    page_students("/results/views?sort=percent&order=desc&limit=3", "s2,s4,s1", 5);
    page_students("/results/views?sort=percent&order=desc&limit=3&offset=3", "s3,s5", 5);
    page_students("/results/views?sort=student_number", "s1,s2,s3,s4,s5", 5);
}

static void results_bad_parameters_are_400(void **state)
{
    expect_error("/results/views?limit=0", 400, "bad_limit");
    expect_error("/results/views?limit=1001", 400, "bad_limit");
    expect_error("/results/views?limit=abc", 400, "bad_limit");
    expect_error("/results/views?limit=", 400, "bad_limit");
    expect_error("/results/views?limit=-1", 400, "bad_limit");
    expect_error("/results/views?limit=9999999999", 400, "bad_limit");
    expect_error("/results/views?offset=-1", 400, "bad_offset");
    expect_error("/results/views?offset=100000001", 400, "bad_offset");
    expect_error("/results/views?offset=1e3", 400, "bad_offset");
    expect_error("/results/views?sort=name", 400, "bad_sort");
    expect_error("/results/views?sort=%zz", 400, "bad_sort");
    expect_error("/results/views?order=up", 400, "bad_order");
    expect_error("/results/no-such-test", 404, "unknown_test");
    expect_error("/results/%20views", 404, "unknown_test");
    expect_error("/results/%FF", 404, "unknown_test");
}

static void student_across_tests_with_mean(void **state)
{
    json_object *obj = get_json("/students/s1", 200), *tests = field(obj, "tests"), *t;

    assert_string_equal(json_object_get_string(field(obj, "student_number")), "s1");
    assert_true(json_object_get_double(field(obj, "mean_percent")) == 70.0); /* (90 + 50) / 2 */
    assert_int_equal(json_object_array_length(tests), 2);
    t = json_object_array_get_idx(tests, 0);
    assert_string_equal(json_object_get_string(field(t, "test_id")), "other");
    assert_true(json_object_get_double(field(t, "percent")) == 90.0);
    t = json_object_array_get_idx(tests, 1);
    assert_string_equal(json_object_get_string(field(t, "test_id")), "views");
    assert_int_equal(json_object_get_int64(field(t, "obtained")), 10);
    json_object_put(obj);

    expect_error("/students/nobody", 404, "unknown_student");
    expect_error("/students/s1%00", 404, "unknown_student");
    expect_error("/students/%80", 404, "unknown_student");
    expect_error("/students/%80?cursor=a", 404, "unknown_student");
}

/* A student's tests come a page at a time like the list of tests; the mean is of them all. */
static void student_tests_are_paged(void **state)
{
    json_object *obj = get_json("/students/s1?limit=1", 200), *tests = field(obj, "tests");

    assert_int_equal(json_object_array_length(tests), 1);
    assert_string_equal(json_object_get_string(field(json_object_array_get_idx(tests, 0), "test_id")), "other");
    assert_string_equal(json_object_get_string(field(obj, "next_cursor")), "other");
    assert_true(json_object_get_double(field(obj, "mean_percent")) == 70.0);
    json_object_put(obj);
    obj = get_json("/students/s1?limit=1&cursor=other", 200);
    tests = field(obj, "tests");
    assert_int_equal(json_object_array_length(tests), 1);
    assert_string_equal(json_object_get_string(field(json_object_array_get_idx(tests, 0), "test_id")), "views");
    assert_null(field(obj, "next_cursor"));
    json_object_put(obj);
    /* Past the end: a known student, no rows, the same mean. */
    obj = get_json("/students/s1?cursor=views", 200);
    assert_int_equal(json_object_array_length(field(obj, "tests")), 0);
    assert_true(json_object_get_double(field(obj, "mean_percent")) == 70.0);
    json_object_put(obj);

    expect_error("/students/s1?limit=0", 400, "bad_limit");
    expect_error("/students/s1?limit=1001", 400, "bad_limit");
    expect_error("/students/s1?cursor=", 400, "bad_cursor");
    expect_error("/students/s1?cursor=%FF", 400, "bad_cursor");
    expect_error("/students/s1?cursor=%ED%A0%80", 400, "bad_cursor"); /* a surrogate: not UTF-8 */
    expect_error("/students/s1?sort=percent", 400, "bad_query");
    expect_error("/students/nobody?cursor=a", 404, "unknown_student");
}

/* Every student with a mark, by offset, in byte order of student number whatever the
 * database's locale ("B2" before "a1"), each with their count of tests and mean. */
static void students_are_listed_in_byte_order(void **state)
{
    static const char more[] =
        "<mcq-test-results>"
        "<mcq-test-result><student-number>a1</student-number><test-id>order</test-id>"
        "<summary-marks available=\"2\" obtained=\"1\"/></mcq-test-result>"
        "<mcq-test-result><student-number>B2</student-number><test-id>order</test-id>"
        "<summary-marks available=\"2\" obtained=\"2\"/></mcq-test-result></mcq-test-results>";
    static const char *const order[] = {"B2", "a1", "s1", "s2", "s3", "s4", "s5"};
    struct e2e_response r;
    json_object *obj, *list, *s;

    assert_int_equal(e2e_http(&srv, "POST", "/import", MEDIA_TYPE, more, strlen(more), &r), 0);
    assert_int_equal(r.status, 201);
    e2e_response_free(&r);
    obj = get_json("/students", 200);
    list = field(obj, "students");
    assert_int_equal(json_object_get_int64(field(obj, "total")), 7);
    assert_int_equal(json_object_get_int64(field(obj, "limit")), 100);
    assert_int_equal(json_object_get_int64(field(obj, "offset")), 0);
    assert_int_equal(json_object_array_length(list), 7);
    for (size_t i = 0; i < 7; ++i)
        assert_string_equal(json_object_get_string(field(json_object_array_get_idx(list, i), "student_number")),
                            order[i]);
    s = json_object_array_get_idx(list, 2);
    assert_int_equal(json_object_get_int64(field(s, "tests")), 2);
    assert_true(json_object_get_double(field(s, "mean_percent")) == 70.0);
    json_object_put(obj);

    obj = get_json("/students?limit=2&offset=1", 200);
    list = field(obj, "students");
    assert_int_equal(json_object_array_length(list), 2);
    assert_string_equal(json_object_get_string(field(json_object_array_get_idx(list, 0), "student_number")), "a1");
    assert_true(json_object_get_double(field(json_object_array_get_idx(list, 0), "mean_percent")) == 50.0);
    assert_int_equal(json_object_get_int64(field(obj, "offset")), 1);
    json_object_put(obj);
    obj = get_json("/students?limit=1000&offset=7", 200); /* past the end: empty, still counted */
    assert_int_equal(json_object_array_length(field(obj, "students")), 0);
    assert_int_equal(json_object_get_int64(field(obj, "total")), 7);
    json_object_put(obj);

    expect_error("/students?limit=0", 400, "bad_limit");
    expect_error("/students?limit=1001", 400, "bad_limit");
    expect_error("/students?limit=x", 400, "bad_limit");
    expect_error("/students?offset=-1", 400, "bad_offset");
    expect_error("/students?offset=100000001", 400, "bad_offset");
    expect_error("/students?cursor=a", 400, "bad_query");
    expect_error("/feed", 404, "no_feed"); /* no MARKR_FEED_URL here */
}

static void histogram_bands(void **state)
{
    json_object *obj = get_json("/results/views/histogram?bins=4", 200), *bands = field(obj, "bands");
    /* 0, 25, 50, 75, 100 in bands [0,25) [25,50) [50,75) [75,100]. */
    const int64_t expected[] = {1, 1, 1, 2};

    assert_int_equal(json_object_get_int64(field(obj, "bins")), 4);
    assert_int_equal(json_object_get_int64(field(obj, "count")), 5);
    assert_int_equal(json_object_array_length(bands), 4);
    for (size_t i = 0; i < 4; ++i) {
        json_object *band = json_object_array_get_idx(bands, i);

        assert_true(json_object_get_double(field(band, "from")) == 25.0 * i);
        assert_true(json_object_get_double(field(band, "to")) == 25.0 * (i + 1));
        assert_int_equal(json_object_get_int64(field(band, "count")), expected[i]);
    }
    json_object_put(obj);

    obj = get_json("/results/views/histogram", 200); /* default: 10 bands */
    assert_int_equal(json_object_array_length(field(obj, "bands")), 10);
    assert_int_equal(json_object_get_int64(field(json_object_array_get_idx(field(obj, "bands"), 9), "count")), 1);
    json_object_put(obj);
    obj = get_json("/results/views/histogram?bins=1", 200);
    assert_int_equal(json_object_get_int64(field(json_object_array_get_idx(field(obj, "bands"), 0), "count")), 5);
    json_object_put(obj);
    obj = get_json("/results/views/histogram?bins=100", 200);
    assert_int_equal(json_object_array_length(field(obj, "bands")), 100);
    assert_int_equal(json_object_get_int64(field(json_object_array_get_idx(field(obj, "bands"), 99), "count")), 1);
    assert_int_equal(json_object_get_int64(field(json_object_array_get_idx(field(obj, "bands"), 75), "count")), 1);
    json_object_put(obj);

    /* A percentage exactly on a band's lower edge is in that band: 3/7 = 42.857...% is where
     * band 10 of 21 starts, 7/9 = 77.7...% where band 36 of 45 starts (float division puts
     * both one band low). */
    {
        static const char edge[] =
            "<mcq-test-results>"
            "<mcq-test-result><student-number>e1</student-number><test-id>edges</test-id>"
            "<summary-marks available=\"7\" obtained=\"3\"/></mcq-test-result>"
            "<mcq-test-result><student-number>e2</student-number><test-id>edges</test-id>"
            "<summary-marks available=\"9\" obtained=\"7\"/></mcq-test-result></mcq-test-results>";
        struct e2e_response r;

        assert_int_equal(e2e_http(&srv, "POST", "/import", MEDIA_TYPE, edge, strlen(edge), &r), 0);
        assert_int_equal(r.status, 201);
        e2e_response_free(&r);
        obj = get_json("/results/edges/histogram?bins=21", 200);
        assert_int_equal(json_object_get_int64(field(json_object_array_get_idx(field(obj, "bands"), 9), "count")), 1);
        json_object_put(obj);
        obj = get_json("/results/edges/histogram?bins=45", 200);
        assert_int_equal(json_object_get_int64(field(json_object_array_get_idx(field(obj, "bands"), 35), "count")), 1);
        json_object_put(obj);
    }

    expect_error("/results/views/histogram?bins=0", 400, "bad_bins");
    expect_error("/results/views/histogram?bins=101", 400, "bad_bins");
    expect_error("/results/views/histogram?bins=ten", 400, "bad_bins");
    expect_error("/results/views/histogram?bins=", 400, "bad_bins");
    expect_error("/results/nothing/histogram", 404, "unknown_test");
}

static void views_refuse_other_methods(void **state)
{
    struct e2e_response r;

    assert_int_equal(e2e_http(&srv, "POST", "/tests", MEDIA_TYPE, "x", 1, &r), 0);
    assert_int_equal(r.status, 405);
    assert_string_equal(r.allow, "GET, HEAD, OPTIONS");
    e2e_response_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tests_lists_every_test_with_count_and_last_change),
        cmocka_unit_test(tests_are_paged_by_a_keyset_cursor),
        cmocka_unit_test(results_rows_carry_names_marks_and_percent),
        cmocka_unit_test(results_pages_and_sorts),
        cmocka_unit_test(results_bad_parameters_are_400),
        cmocka_unit_test(student_across_tests_with_mean),
        cmocka_unit_test(student_tests_are_paged),
        cmocka_unit_test(students_are_listed_in_byte_order),
        cmocka_unit_test(histogram_bands),
        cmocka_unit_test(views_refuse_other_methods),
    };

    return cmocka_run_group_tests_name("e2e_views", tests, suite_setup, suite_teardown);
}
