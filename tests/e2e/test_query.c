/*
 * End to end: query parameters are checked the same way on every route (the route table
 * lists what each takes; the dispatcher refuses the rest). For every endpoint that takes
 * parameters: an unknown one, a repeated one and one without a value are 400 bad_query
 * naming it, and each documented bound is enforced at both ends. An endpoint that takes
 * none refuses any.
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

#define MEDIA_TYPE "text/xml+markr"
#define ADMIN "query-admin-token-0123456789"

static char *conninfo;
static struct markr_server srv;
static const char *const admin_header[] = {"Authorization: Bearer " ADMIN, NULL};

static const char doc[] = "<mcq-test-results><mcq-test-result><first-name>A</first-name><last-name>B</last-name>"
                          "<student-number>q1</student-number><test-id>query</test-id>"
                          "<summary-marks available=\"10\" obtained=\"5\"/></mcq-test-result></mcq-test-results>";

/* Sends method path and checks the answer's status, error code and that its message holds
 * needle (NULL: any). */
static void expect(const char *method, const char *path, long status, const char *code, const char *needle)
{
    struct e2e_response r;
    json_object *obj, *v;
    const char *error = NULL, *message = NULL;

    assert_int_equal(e2e_http_with(&srv, method, path, NULL, admin_header, NULL, 0, &r), 0);
    if (r.status != status)
        print_error("%s %s: status %ld, expected %ld: %s\n", method, path, r.status, status, r.body);
    assert_int_equal(r.status, status);
    if (code == NULL) {
        e2e_response_free(&r);
        return;
    }
    obj = json_tokener_parse(r.body);
    assert_non_null(obj);
    if (json_object_object_get_ex(obj, "error", &v))
        error = json_object_get_string(v);
    if (json_object_object_get_ex(obj, "message", &v))
        message = json_object_get_string(v);
    if (error == NULL || strcmp(error, code) != 0 || message == NULL ||
        (needle != NULL && strstr(message, needle) == NULL))
        print_error("%s %s: %s, expected %s with \"%s\"\n", method, path, r.body, code, needle ? needle : "");
    assert_non_null(error);
    assert_string_equal(error, code);
    assert_non_null(message);
    if (needle != NULL)
        assert_non_null(strstr(message, needle));
    json_object_put(obj);
    e2e_response_free(&r);
}

struct endpoint {
    const char *method, *path; /* path with a '?' and one valid parameter */
    const char *param;         /* that parameter's "name=value" */
};

static const struct endpoint endpoints[] = {
    {"GET", "/imports", "limit=1"},
    {"GET", "/imports", "status=accepted"},
    {"POST", "/imports/1/reprocess", "dry_run=true"},
    {"GET", "/tests/query/conflicts", "limit=1"},
    {"GET", "/tests", "limit=1"},
    {"GET", "/results/query", "limit=1"},
    {"GET", "/results/query", "sort=percent"},
    {"GET", "/tests", "format=csv"},
    {"GET", "/results/query", "format=csv"},
    {"GET", "/students/q1", "limit=1"},
    {"GET", "/results/query/histogram", "bins=4"},
};

static int suite_setup(void **state)
{
    static const char *const env[] = {"MARKR_ADMIN_TOKEN=" ADMIN, NULL};
    struct e2e_response r;

    if (e2e_suite_start("query", env, &srv, &conninfo) != 0)
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

static void valid_parameters_pass(void **state)
{
    char path[256];

    for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); ++i) {
        snprintf(path, sizeof(path), "%s?%s", endpoints[i].path, endpoints[i].param);
        expect(endpoints[i].method, path, 200, NULL, NULL);
    }
}

static void unknown_parameters_are_named(void **state)
{
    char path[256];

    for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); ++i) {
        snprintf(path, sizeof(path), "%s?%s&colour=red", endpoints[i].path, endpoints[i].param);
        expect(endpoints[i].method, path, 400, "bad_query", "unknown parameter 'colour'");
    }
    /* The typos of a newcomer: ?bin=4 no longer gives 10 bins, limit is no histogram's. */
    expect("GET", "/results/query/histogram?bin=4", 400, "bad_query", "'bin': this resource takes bins");
    expect("GET", "/results/query/histogram?limit=0", 400, "bad_query", "unknown parameter 'limit'");
    expect("GET", "/results/query?sort=percent&ordr=desc", 400, "bad_query",
           "'ordr': this resource takes limit, offset, sort, order and format");
}

static void repeated_parameters_are_refused(void **state)
{
    char path[256];

    for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); ++i) {
        const char *eq = strchr(endpoints[i].param, '=');
        char quoted[64];

        snprintf(path, sizeof(path), "%s?%s&%s", endpoints[i].path, endpoints[i].param, endpoints[i].param);
        snprintf(quoted, sizeof(quoted), "parameter '%.*s' is given more than once", (int)(eq - endpoints[i].param),
                 endpoints[i].param);
        expect(endpoints[i].method, path, 400, "bad_query", quoted);
    }
}

static void valueless_parameters_are_refused(void **state)
{
    expect("GET", "/imports?limit", 400, "bad_query", "parameter 'limit' has no value");
    expect("GET", "/results/query/histogram?bins", 400, "bad_query", "parameter 'bins' has no value");
}

static void routes_without_parameters_take_none(void **state)
{
    expect("GET", "/health?verbose=1", 400, "bad_query", "'verbose': this resource takes no parameters");
    expect("GET", "/ready?x=1", 400, "bad_query", "unknown parameter 'x'");
    expect("GET", "/results/query/aggregate?bins=4", 400, "bad_query", "unknown parameter 'bins'");
    expect("GET", "/imports/1?raw=1", 400, "bad_query", "unknown parameter 'raw'");
    expect("GET", "/metrics?name=x", 400, "bad_query", "unknown parameter 'name'");
    expect("GET", "/health", 200, NULL, NULL);
}

/* Every documented bound, at both ends. */
static void bounds_are_enforced(void **state)
{
    static const struct {
        const char *path, *code;
        long status;
    } cases[] = {
        {"/imports?limit=0", "bad_limit", 400},
        {"/imports?limit=1001", "bad_limit", 400},
        {"/imports?limit=x", "bad_limit", 400},
        {"/imports?limit=5%00x", "bad_limit", 400}, /* not 5: a value never holds a NUL */
        {"/results/query?sort=percent%00x", "bad_sort", 400},
        {"/imports?cursor=0", "bad_cursor", 400},
        {"/imports?limit=1000", NULL, 200},
        {"/tests?limit=0", "bad_limit", 400},
        {"/tests?limit=1001", "bad_limit", 400},
        {"/tests?limit=1000", NULL, 200},
        {"/students/q1?limit=0", "bad_limit", 400},
        {"/students/q1?limit=1001", "bad_limit", 400},
        {"/tests/query/conflicts?limit=0", "bad_limit", 400},
        {"/tests/query/conflicts?limit=1001", "bad_limit", 400},
        {"/tests/query/conflicts?limit=1000", NULL, 200},
        {"/results/query?limit=0", "bad_limit", 400},
        {"/results/query?limit=1001", "bad_limit", 400},
        {"/results/query?offset=100000001", "bad_offset", 400},
        {"/results/query?offset=100000000", NULL, 200},
        {"/results/query/histogram?bins=0", "bad_bins", 400},
        {"/results/query/histogram?bins=101", "bad_bins", 400},
        {"/results/query/histogram?bins=100", NULL, 200},
        {"/results/query/histogram?bins=1", NULL, 200},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i)
        expect("GET", cases[i].path, cases[i].status, cases[i].code, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_parameters_pass),
        cmocka_unit_test(unknown_parameters_are_named),
        cmocka_unit_test(repeated_parameters_are_refused),
        cmocka_unit_test(valueless_parameters_are_refused),
        cmocka_unit_test(routes_without_parameters_take_none),
        cmocka_unit_test(bounds_are_enforced),
    };

    return cmocka_run_group_tests_name("e2e_query", tests, suite_setup, suite_teardown);
}
