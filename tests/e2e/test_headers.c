/*
 * End to end: what every answer's headers and bodies promise a browser, over loopback
 * against the real server and database. Every answer says nosniff (JSON, the dashboard,
 * h2o's own errors, 415s and 421s) and the dashboard carries its policy; a Content-Type
 * beyond the strict rule is 415 on both import paths and stores nothing; a Host that is not
 * allowed is 421, /health included, under the loopback default and under a list; and every
 * JSON answer is UTF-8 whatever bytes the path or the document held.
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
#define LIMIT "4096" /* both body limits: a larger body is h2o's own 413 */

static char *conninfo;
static struct markr_server srv;    /* MARKR_ALLOWED_HOSTS unset, bound to 127.0.0.1 */
static struct markr_server listed; /* MARKR_ALLOWED_HOSTS=markr.example.org,[::1]:9 */

static const char doc[] = "<mcq-test-results><mcq-test-result><student-number>h1</student-number>"
                          "<test-id>headers</test-id><summary-marks available=\"2\" obtained=\"1\"/>"
                          "</mcq-test-result></mcq-test-results>";

static const char *const async[] = {"Prefer: respond-async", NULL};

static long imports(void)
{
    char *v = markr_test_db_value(conninfo, "SELECT count(*) FROM imports");
    long n = v != NULL ? strtol(v, NULL, 10) : -1;

    free(v);
    return n;
}

/* The body of r parsed by json-c with its own UTF-8 check (not markr's): NULL, after
 * saying why, when it is not JSON or not UTF-8. The caller releases it. */
static json_object *strict_json(const struct e2e_response *r)
{
    struct json_tokener *tok = json_tokener_new();
    json_object *obj;

    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    obj = json_tokener_parse_ex(tok, r->body, (int)r->len);
    if (obj == NULL || json_tokener_get_error(tok) != json_tokener_success)
        print_error("ERROR: not strict UTF-8 JSON (%s): %s\n", json_tokener_error_desc(json_tokener_get_error(tok)),
                    r->body);
    json_tokener_free(tok);
    return obj;
}

/* Checks status, nosniff, a JSON body in UTF-8 and, when error is not NULL, its error
 * member; returns the body (the caller releases it) or fails, releasing r. */
static json_object *expect(struct e2e_response *r, long status, const char *error)
{
    json_object *obj = NULL, *e;
    int ok = 0;

    if (r->status != status)
        print_error("ERROR: status %ld, expected %ld: %s\n", r->status, status, r->body);
    else if (strcmp(r->nosniff, "nosniff") != 0)
        print_error("ERROR: X-Content-Type-Options \"%s\"\n", r->nosniff);
    else if (strcmp(r->content_type, "application/json") != 0)
        print_error("ERROR: Content-Type \"%s\"\n", r->content_type);
    else if ((obj = strict_json(r)) == NULL)
        ;
    else if (error != NULL && (!json_object_object_get_ex(obj, "error", &e) ||
                               strcmp(json_object_get_string(e), error) != 0))
        print_error("ERROR: expected error %s: %s\n", error, r->body);
    else
        ok = 1;
    if (!ok) {
        json_object_put(obj);
        e2e_response_free(r);
        fail();
    }
    e2e_response_free(r);
    return obj;
}

static int suite_setup(void **state)
{
    static const char *const limits[] = {"MARKR_MAX_BODY_BYTES=" LIMIT, "MARKR_MAX_ASYNC_BODY_BYTES=" LIMIT,
                                         "MARKR_QUEUE_RUNNERS=0", NULL};
    static const char *const list[] = {"MARKR_ALLOWED_HOSTS=markr.example.org, [::1]:9", NULL};

    conninfo = markr_test_db_create("headers");
    if (e2e_migrate(conninfo) != 0 || e2e_server_start(&srv, conninfo, limits) != 0 ||
        e2e_server_start(&listed, conninfo, list) != 0)
        return -1;
    return 0;
}

static int suite_teardown(void **state)
{
    int rc = e2e_server_stop_clean(&srv) | e2e_server_stop_clean(&listed);

    markr_test_db_drop(conninfo);
    free(conninfo);
    return rc != 0 ? -1 : 0;
}

static void every_answer_says_nosniff(void **state)
{
    struct e2e_response r;
    char *big = calloc(1, 8192);

    assert_int_equal(e2e_http(&srv, "GET", "/health", NULL, NULL, 0, &r), 0);
    json_object_put(expect(&r, 200, NULL));
    assert_int_equal(e2e_http(&srv, "GET", "/nowhere", NULL, NULL, 0, &r), 0);
    json_object_put(expect(&r, 404, "not_found"));
    assert_int_equal(e2e_http(&srv, "POST", "/import", "text/html", doc, strlen(doc), &r), 0);
    json_object_put(expect(&r, 415, "unsupported_media_type"));
    /* Larger than both limits: h2o answers before any handler, on its fallback path. */
    assert_non_null(big);
    memset(big, ' ', 8191);
    assert_int_equal(e2e_http(&srv, "POST", "/import", MEDIA_TYPE, big, 8191, &r), 0);
    free(big);
    json_object_put(expect(&r, 413, "payload_too_large"));

    /* The dashboard and its files: nosniff, and the page under its strict policy. */
    assert_int_equal(e2e_http(&srv, "GET", "/", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.nosniff, "nosniff");
    assert_string_equal(r.referrer_policy, "no-referrer");
    assert_non_null(strstr(r.csp, "default-src 'none'"));
    assert_non_null(strstr(r.csp, "script-src 'self';"));
    assert_non_null(strstr(r.csp, "style-src 'self';"));
    assert_non_null(strstr(r.csp, "frame-ancestors 'none'"));
    assert_null(strstr(r.csp, "unsafe-inline"));
    /* Nothing inline for the policy to block. */
    assert_null(strstr(r.body, "<script>"));
    assert_null(strstr(r.body, "<style"));
    assert_null(strstr(r.body, " style="));
    e2e_response_free(&r);
    assert_int_equal(e2e_http(&srv, "GET", "/static/app.js", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.nosniff, "nosniff");
    e2e_response_free(&r);
}

static void content_types_beyond_the_rule_are_415_on_both_paths(void **state)
{
    static const char *const refused[] = {
        "text/xml+markr;,text/html",          /* a browser reads text/html */
        "text/xml+markr, text/html",
        "text/xml+markr; charset=\"utf-8,text/html\"",
        "text/xml+markr; x=y",
        "text/xml+markr; charset=utf-8; boundary=b",
        "text/xml+markr; charset=utf-7",
        "text/xml+markr;",
        "text/xml+markr; charset=\"\xc3\xa9\"", /* h2o itself refuses control bytes (400) */
        "text/html",
    };
    long before = imports();
    struct e2e_response r;
    json_object *obj, *message;

    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); ++i) {
        assert_int_equal(e2e_http(&srv, "POST", "/import", refused[i], doc, strlen(doc), &r), 0);
        obj = expect(&r, 415, "unsupported_media_type");
        assert_true(json_object_object_get_ex(obj, "message", &message));
        assert_non_null(strstr(json_object_get_string(message), "text/xml+markr"));
        json_object_put(obj);
        assert_int_equal(e2e_http_with(&srv, "POST", "/import", refused[i], async, doc, strlen(doc), &r), 0);
        json_object_put(expect(&r, 415, "unsupported_media_type"));
    }
    assert_int_equal(imports(), before); /* nothing stored, nothing queued */

    assert_int_equal(e2e_http(&srv, "POST", "/import", "Text/XML+Markr ; Charset=\"UTF-8\"", doc, strlen(doc), &r), 0);
    json_object_put(expect(&r, 201, NULL));
    assert_int_equal(e2e_http_with(&srv, "POST", "/import", MEDIA_TYPE "; charset=us-ascii", async, doc, strlen(doc),
                                   &r), 0);
    json_object_put(expect(&r, 202, NULL));
    assert_int_equal(imports(), before + 2);
}

/* GET path on s with "Host: host" (NULL: curl's own, 127.0.0.1:PORT). */
static void get_as(const struct markr_server *s, const char *path, const char *host, struct e2e_response *r)
{
    char header[160];
    const char *headers[] = {header, NULL};

    snprintf(header, sizeof(header), "Host: %s", host);
    assert_int_equal(e2e_http_with(s, "GET", path, NULL, host != NULL ? headers : NULL, NULL, 0, r), 0);
}

static void hosts_outside_the_rule_are_421(void **state)
{
    static const char *const loopback_ok[] = {NULL, "localhost", "LOCALHOST:8085", "127.0.0.1:1", "[::1]:8085"};
    static const char *const loopback_refused[] = {"rebound.example", "rebound.example:8085",
                                                   "localhost.rebound.example", "127.0.0.2", "localhost:x", "[::1"};
    struct e2e_response r;

    for (size_t i = 0; i < sizeof(loopback_ok) / sizeof(loopback_ok[0]); ++i) {
        get_as(&srv, "/health", loopback_ok[i], &r);
        json_object_put(expect(&r, 200, NULL));
    }
    for (size_t i = 0; i < sizeof(loopback_refused) / sizeof(loopback_refused[0]); ++i) {
        get_as(&srv, "/health", loopback_refused[i], &r);
        json_object_put(expect(&r, 421, "misdirected_request"));
        get_as(&srv, "/tests", loopback_refused[i], &r);
        json_object_put(expect(&r, 421, "misdirected_request"));
    }
    /* The dashboard too: a rebound page gets no script of ours. */
    get_as(&srv, "/static/app.js", "rebound.example", &r);
    json_object_put(expect(&r, 421, "misdirected_request"));

    /* A list replaces the default, ports ignored. */
    get_as(&listed, "/health", "markr.example.org", &r);
    json_object_put(expect(&r, 200, NULL));
    get_as(&listed, "/health", "Markr.Example.Org:443", &r);
    json_object_put(expect(&r, 200, NULL));
    get_as(&listed, "/health", "[::1]:8085", &r);
    json_object_put(expect(&r, 200, NULL));
    get_as(&listed, "/health", NULL, &r); /* 127.0.0.1 is not listed */
    json_object_put(expect(&r, 421, "misdirected_request"));
    get_as(&listed, "/health", "localhost", &r);
    json_object_put(expect(&r, 421, "misdirected_request"));
}

static void json_answers_are_utf8_whatever_was_sent(void **state)
{
    struct e2e_response r;
    json_object *obj, *v;
    char *body = NULL, path[64];
    size_t n = 0, cap = 4096;
    int64_t id;

    /* A path byte that is no character: echoed as U+FFFD, not raw. */
    assert_int_equal(e2e_http(&srv, "GET", "/tests/%FF/conflicts", NULL, NULL, 0, &r), 0);
    obj = expect(&r, 200, NULL);
    assert_true(json_object_object_get_ex(obj, "test_id", &v));
    assert_string_equal(json_object_get_string(v), "\xef\xbf\xbd");
    json_object_put(obj);
    assert_int_equal(e2e_http(&srv, "GET", "/tests/a%C3%A9%E2%82/conflicts", NULL, NULL, 0, &r), 0);
    obj = expect(&r, 200, NULL);
    assert_true(json_object_object_get_ex(obj, "test_id", &v));
    assert_string_equal(json_object_get_string(v), "a\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd");
    json_object_put(obj);

    /* A refusal that quotes a long name of two-byte characters at an odd offset: the
     * message is cut between characters, in the answer and in the vault. */
    assert_non_null(body = malloc(cap));
    n += (size_t)snprintf(body + n, cap - n, "<a");
    for (int i = 0; i < 150; ++i)
        n += (size_t)snprintf(body + n, cap - n, "\xc3\xa9");
    n += (size_t)snprintf(body + n, cap - n, ":r xmlns:a");
    for (int i = 0; i < 150; ++i)
        n += (size_t)snprintf(body + n, cap - n, "\xc3\xa9");
    n += (size_t)snprintf(body + n, cap - n, "=\"urn:x\"/>");
    assert_true(n < cap);
    assert_int_equal(e2e_http(&srv, "POST", "/import", MEDIA_TYPE, body, n, &r), 0);
    free(body);
    obj = expect(&r, 422, "wrong_root");
    assert_true(json_object_object_get_ex(obj, "import_id", &v));
    id = json_object_get_int64(v);
    json_object_put(obj);
    snprintf(path, sizeof(path), "/imports/%lld", (long long)id);
    assert_int_equal(e2e_http(&srv, "GET", path, NULL, NULL, 0, &r), 0);
    json_object_put(expect(&r, 200, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_answer_says_nosniff),
        cmocka_unit_test(content_types_beyond_the_rule_are_415_on_both_paths),
        cmocka_unit_test(hosts_outside_the_rule_are_421),
        cmocka_unit_test(json_answers_are_utf8_whatever_was_sent),
    };

    return cmocka_run_group_tests_name("e2e_headers", tests, suite_setup, suite_teardown);
}
