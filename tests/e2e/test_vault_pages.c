/*
 * End to end, the vault's lists are bounded: the real markr executable, a real PostgreSQL,
 * HTTP over loopback. The conflicts of a test come a page at a time in student order (each
 * conflicted student exactly once, whatever the page size) and their parameters are refused
 * when malformed; GET /imports/{id} lists at most 1000 of an import's tests with the
 * whole count.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "test_db.h"

#define MEDIA_TYPE "text/xml+markr"
#define STUDENTS 250     /* conflicted students of test "paged": more than a default page */
#define TESTS_LISTED 1000 /* MARKR_IMPORT_TESTS_MAX */

static char *conninfo;
static struct markr_server srv;
static int64_t ada_id, bea_id; /* the two imports that name every student of "paged" */

/* --- helpers ------------------------------------------------------------------------------ */

/* GET path: its status and its body parsed (NULL when it is not JSON). */
static json_object *get_json(const char *path, long *status)
{
    struct e2e_response r;
    json_object *obj;

    if (e2e_http(&srv, "GET", path, NULL, NULL, 0, &r) != 0)
        fail_msg("GET %s got no answer", path);
    *status = r.status;
    obj = json_tokener_parse(r.body);
    e2e_response_free(&r);
    return obj;
}

static const char *json_str(json_object *obj, const char *key)
{
    json_object *v;

    return json_object_object_get_ex(obj, key, &v) && v != NULL ? json_object_get_string(v) : NULL;
}

/* A document of count results: student i numbered prefix and i in three digits, of test
 * `test` (or test "t" and i in four digits when test is NULL), named first (NULL: no name). */
static char *results_doc(size_t count, const char *test, const char *prefix, const char *first, size_t *len)
{
    size_t cap = 220 * count + 64;
    char *doc = malloc(cap);

    assert_non_null(doc);
    *len = (size_t)snprintf(doc, cap, "<mcq-test-results>\n");
    for (size_t i = 0; i < count; ++i) {
        char test_id[32];

        snprintf(test_id, sizeof(test_id), "t%04u", (unsigned)i);
        *len += (size_t)snprintf(doc + *len, cap - *len,
                                 "<mcq-test-result><student-number>%s%03u</student-number><test-id>%s</test-id>"
                                 "%s%s%s<summary-marks available=\"10\" obtained=\"5\"/></mcq-test-result>\n",
                                 prefix, (unsigned)i, test != NULL ? test : test_id, first ? "<first-name>" : "",
                                 first ? first : "", first ? "</first-name>" : "");
    }
    *len += (size_t)snprintf(doc + *len, cap - *len, "</mcq-test-results>\n");
    return doc;
}

/* POSTs the results_doc of these arguments and returns its import id; fails unless it was
 * accepted. */
static int64_t post(size_t count, const char *test, const char *prefix, const char *first)
{
    struct e2e_response r;
    json_object *obj, *id;
    size_t len;
    char *doc = results_doc(count, test, prefix, first, &len);
    int64_t n;

    assert_int_equal(e2e_http(&srv, "POST", "/import", MEDIA_TYPE, doc, len, &r), 0);
    free(doc);
    if (r.status != 201)
        fail_msg("POST /import: %ld %s", r.status, r.body);
    obj = json_tokener_parse(r.body);
    e2e_response_free(&r);
    assert_non_null(obj);
    assert_true(json_object_object_get_ex(obj, "import_id", &id));
    n = json_object_get_int64(id);
    json_object_put(obj);
    return n;
}

static int suite_setup(void **state)
{
    const char *env[] = {"MARKR_MAX_BODY_BYTES=4000000", NULL};

    if (e2e_suite_start("e2e_vault_pages", env, &srv, &conninfo) != 0)
        return -1;
    /* Every student of "paged" under two names; "q" students under one name twice and
     * students without any name are no conflict. */
    ada_id = post(STUDENTS, "paged", "p", "Ada");
    bea_id = post(STUDENTS, "paged", "p", "Bea");
    post(20, "paged", "q", "Cy");
    post(20, "paged", "q", "Cy");
    post(STUDENTS, "paged", "p", NULL);
    return 0;
}

static int suite_teardown(void **state)
{
    return e2e_suite_stop(&srv, conninfo);
}

/* --- conflicts ---------------------------------------------------------------------------- */

/* Walks the conflicts of "paged" with the query `limit` ("" for the default), page_max
 * students a page; checks that every student comes once, in order, with both names. */
static void walk(const char *limit, unsigned page_max, unsigned expected_pages)
{
    char path[256], cursor[64] = "";
    unsigned seen = 0, pages = 0;

    for (;;) {
        long status;
        json_object *obj, *list, *next;

        snprintf(path, sizeof(path), "/tests/paged/conflicts?%s%s%s", limit, cursor[0] && limit[0] ? "&" : "",
                 cursor[0] ? cursor : "");
        obj = get_json(path, &status);
        assert_int_equal(status, 200);
        assert_non_null(obj);
        assert_string_equal(json_str(obj, "test_id"), "paged");
        assert_true(json_object_object_get_ex(obj, "conflicts", &list));
        assert_true(json_object_array_length(list) <= page_max);
        for (size_t i = 0; i < json_object_array_length(list); ++i) {
            json_object *item = json_object_array_get_idx(list, i), *names = json_object_object_get(item, "names");
            char expected[16];

            snprintf(expected, sizeof(expected), "p%03u", seen++);
            assert_string_equal(json_str(item, "student_number"), expected);
            assert_int_equal(json_object_array_length(names), 2);
            assert_string_equal(json_str(json_object_array_get_idx(names, 0), "first_name"), "Ada");
            assert_string_equal(json_str(json_object_array_get_idx(names, 1), "first_name"), "Bea");
            assert_int_equal(json_object_get_int64(json_object_array_get_idx(
                                 json_object_object_get(json_object_array_get_idx(names, 0), "import_ids"), 0)),
                             ada_id);
            assert_int_equal(json_object_get_int64(json_object_array_get_idx(
                                 json_object_object_get(json_object_array_get_idx(names, 1), "import_ids"), 0)),
                             bea_id);
        }
        ++pages;
        assert_true(json_object_object_get_ex(obj, "next_cursor", &next)); /* present, null on the last page */
        if (next == NULL) {
            json_object_put(obj);
            break;
        }
        /* Only a full page says more follow; its cursor is its last student. */
        assert_int_equal(json_object_array_length(list), page_max);
        assert_string_equal(json_object_get_string(next),
                            json_str(json_object_array_get_idx(list, page_max - 1), "student_number"));
        snprintf(cursor, sizeof(cursor), "cursor=%s", json_object_get_string(next));
        json_object_put(obj);
        assert_true(pages < 1000);
    }
    assert_int_equal(seen, STUDENTS);
    assert_int_equal(pages, expected_pages);
}

static void conflicts_come_page_by_page(void **state)
{
    walk("", 100, 3);                 /* the default: 100, 100, 50 */
    walk("limit=7", 7, 36);           /* 35 full pages and 5 */
    walk("limit=50", 50, 5);          /* 5 full pages, the last one says it is the last */
    walk("limit=1000", 1000, 1);      /* the maximum */
}

static void conflict_parameters_are_checked(void **state)
{
    static const struct {
        const char *query;
        const char *error;
    } bad[] = {
        {"page=2", "bad_query"},       {"limit=1&offset=3", "bad_query"}, {"limit", "bad_query"},
        {"limit=0", "bad_limit"},      {"limit=1001", "bad_limit"},       {"limit=-1", "bad_limit"},
        {"limit=abc", "bad_limit"},    {"limit=%zz", "bad_limit"},        {"limit=99999999999999999999", "bad_limit"},
        {"cursor=", "bad_cursor"},     {"cursor=%20p001", "bad_cursor"},  {"cursor=p001%20", "bad_cursor"},
        {"cursor=p%00", "bad_cursor"}, {"cursor=%zz", "bad_cursor"},
    };
    char path[512], cursor[300];
    long status;
    json_object *obj;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        snprintf(path, sizeof(path), "/tests/paged/conflicts?%s", bad[i].query);
        obj = get_json(path, &status);
        if (status != 400 || obj == NULL || strcmp(json_str(obj, "error"), bad[i].error) != 0)
            fail_msg("%s: %ld %s", path, status, obj ? json_object_to_json_string(obj) : "(not JSON)");
        json_object_put(obj);
    }
    /* A cursor longer than any id (256 bytes) names nothing. */
    memset(cursor, 'p', 256);
    cursor[256] = '\0';
    snprintf(path, sizeof(path), "/tests/paged/conflicts?cursor=%s", cursor);
    obj = get_json(path, &status);
    assert_int_equal(status, 400);
    assert_string_equal(json_str(obj, "error"), "bad_cursor");
    json_object_put(obj);
    /* A cursor past the last student, or bytes that are not text: an empty last page. */
    obj = get_json("/tests/paged/conflicts?cursor=p249", &status);
    assert_int_equal(status, 200);
    assert_string_equal(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN),
                        "{\"test_id\":\"paged\",\"conflicts\":[],\"next_cursor\":null}");
    json_object_put(obj);
    obj = get_json("/tests/paged/conflicts?cursor=%FF", &status);
    assert_int_equal(status, 200);
    assert_int_equal(json_object_array_length(json_object_object_get(obj, "conflicts")), 0);
    json_object_put(obj);
}

/* --- the tests of an import --------------------------------------------------------------- */

static void an_imports_tests_are_cut_at_a_thousand(void **state)
{
    int64_t big = post(TESTS_LISTED + 1, NULL, "s", NULL);
    int64_t small = post(3, NULL, "s", NULL);
    char path[64];
    long status;
    json_object *obj, *tests, *v;

    snprintf(path, sizeof(path), "/imports/%lld", (long long)big);
    obj = get_json(path, &status);
    assert_int_equal(status, 200);
    tests = json_object_object_get(obj, "tests");
    assert_int_equal(json_object_array_length(tests), TESTS_LISTED);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(tests, 0)), "t0000");
    assert_string_equal(json_object_get_string(json_object_array_get_idx(tests, TESTS_LISTED - 1)), "t0999");
    assert_true(json_object_object_get_ex(obj, "test_count", &v));
    assert_int_equal(json_object_get_int64(v), TESTS_LISTED + 1);
    assert_true(json_object_object_get_ex(obj, "tests_truncated", &v));
    assert_true(json_object_get_boolean(v));
    json_object_put(obj);

    snprintf(path, sizeof(path), "/imports/%lld", (long long)small);
    obj = get_json(path, &status);
    assert_int_equal(status, 200);
    assert_string_equal(json_object_to_json_string_ext(json_object_object_get(obj, "tests"), JSON_C_TO_STRING_PLAIN),
                        "[\"t0000\",\"t0001\",\"t0002\"]");
    assert_int_equal(json_object_get_int64(json_object_object_get(obj, "test_count")), 3);
    assert_true(json_object_object_get_ex(obj, "tests_truncated", &v));
    assert_false(json_object_get_boolean(v));
    json_object_put(obj);

    /* The test left off is reachable the other way round. */
    obj = get_json("/imports?test_id=t1000", &status);
    assert_int_equal(status, 200);
    tests = json_object_object_get(obj, "imports");
    assert_int_equal(json_object_array_length(tests), 1);
    assert_int_equal(json_object_get_int64(json_object_object_get(json_object_array_get_idx(tests, 0), "import_id")),
                     big);
    json_object_put(obj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(conflicts_come_page_by_page),
        cmocka_unit_test(conflict_parameters_are_checked),
        cmocka_unit_test(an_imports_tests_are_cut_at_a_thousand),
    };

    return cmocka_run_group_tests_name("e2e_vault_pages", tests, suite_setup, suite_teardown);
}
