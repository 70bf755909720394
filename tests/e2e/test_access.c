/*
 * End to end, access control (ADR 0021): the real server with reader, operator and admin
 * tokens. Every protected route refuses a missing, wrong or non-bearer token (401 with a
 * Bearer challenge), a reader token on an operator route (403), and takes the right ones;
 * open routes stay open; MARKR_ADMIN_TOKEN alone still guards reprocess only; the import
 * allow-list refuses a peer outside it; no token reaches the server's log; a bad token or
 * range stops start-up naming its setting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "test_db.h"

#define MEDIA_TYPE "text/xml+markr"
#define READER "e2e-reader-token-0123456789"
#define READER2 "e2e-reader-token-second-one"
#define OPERATOR "e2e-operator-token-0123456789"
#define ADMIN "e2e-admin-token-0123456789"
#define WRONG "e2e-wrong-token-0123456789"

static char *conninfo;
static struct markr_server srv; /* every token, and an allow-list that holds loopback */
static char import_path[64], raw_path[80], reprocess_path[96];

static const char doc[] = "<mcq-test-results>"
                          "<mcq-test-result><first-name>Ada</first-name><student-number>s1</student-number>"
                          "<test-id>access</test-id><summary-marks available=\"20\" obtained=\"10\"/>"
                          "</mcq-test-result></mcq-test-results>";

static const char *const no_token[] = {NULL}, *const wrong[] = {"Authorization: Bearer " WRONG, NULL},
                         *const basic[] = {"Authorization: Basic " OPERATOR, NULL},
                         *const bare[] = {"Authorization: " OPERATOR, NULL},
                         *const reader[] = {"Authorization: Bearer " READER, NULL},
                         *const reader2[] = {"Authorization: bearer " READER2, NULL},
                         *const operator_[] = {"Authorization: Bearer " OPERATOR, NULL},
                         *const admin[] = {"Authorization: Bearer " ADMIN, NULL};

/* The "error" member of r's JSON body, copied into code (empty when there is none). */
static void error_of(const struct e2e_response *r, char *code, size_t cap)
{
    json_object *obj = json_tokener_parse(r->body), *v;

    code[0] = '\0';
    if (obj != NULL && json_object_object_get_ex(obj, "error", &v))
        snprintf(code, cap, "%s", json_object_get_string(v));
    json_object_put(obj);
}

/* One request with headers; fails the test, saying what was sent, unless the status is
 * expected and, for an error, its JSON names `code` (and a 401 carries the challenge). */
static void expect(const struct markr_server *s, const char *method, const char *path, const char *const *headers,
                   long status, const char *code)
{
    struct e2e_response r;
    char got[64];

    if (e2e_http_with(s, method, path, NULL, headers, NULL, 0, &r) != 0)
        fail_msg("%s %s: no answer", method, path);
    error_of(&r, got, sizeof(got));
    if (r.status != status ||
        (code != NULL && (strcmp(got, code) != 0 || strcmp(r.content_type, "application/json") != 0)) ||
        (status == 401 && strcmp(r.www_authenticate, "Bearer realm=\"markr\"") != 0)) {
        print_error("ERROR: %s %s with %s: expected %ld %s, got %ld (%s, WWW-Authenticate \"%s\"): %.200s\n", method,
                    path, headers[0] != NULL ? headers[0] : "no header", status, code != NULL ? code : "", r.status,
                    r.content_type, r.www_authenticate, r.body);
        e2e_response_free(&r);
        fail();
    }
    e2e_response_free(&r);
}

/* The status of GET path read from the status line alone, for the event streams, which
 * never end: a raw request on loopback, read with a bound, then the connection closed. */
static long stream_status(const struct markr_server *s, const char *path)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
    struct timeval bound = {.tv_sec = 10};
    char request[256], line[128];
    size_t got = 0;
    long status = -1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof(bound));
    snprintf(request, sizeof(request), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path);
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 &&
        write(fd, request, strlen(request)) == (ssize_t)strlen(request)) {
        while (got < sizeof(line) - 1 && memchr(line, '\n', got) == NULL) {
            ssize_t n = read(fd, line + got, sizeof(line) - 1 - got);

            if (n <= 0)
                break;
            got += (size_t)n;
        }
        line[got] = '\0';
        if (strncmp(line, "HTTP/1.1 ", 9) == 0)
            status = atol(line + 9);
    }
    close(fd);
    return status;
}

static int64_t import_doc(const struct markr_server *s)
{
    struct e2e_response r;
    json_object *obj;
    int64_t id;

    assert_int_equal(e2e_http(s, "POST", "/import", MEDIA_TYPE, doc, sizeof(doc) - 1, &r), 0);
    if (r.status != 201)
        fail_msg("POST /import: %ld %s", r.status, r.body);
    obj = json_tokener_parse(r.body);
    id = json_object_get_int64(json_object_object_get(obj, "import_id"));
    json_object_put(obj);
    e2e_response_free(&r);
    return id;
}

static size_t occurrences(const char *text, const char *what)
{
    size_t n = 0;

    for (const char *at = text; (at = strstr(at, what)) != NULL; at += strlen(what))
        ++n;
    return n;
}

/* The server's log once it holds `line` (the request log is written as a request ends, which
 * may be just after its answer); fails after 10 s. */
static char *await_in_log(const struct markr_server *s, const char *line)
{
    const struct timespec pause = {.tv_nsec = 10 * 1000000L};

    for (int waited = 0; waited < 10000; waited += 10) {
        size_t len;
        char *log = e2e_read_file(s->log_path, &len);

        if (strstr(log, line) != NULL)
            return log;
        free(log);
        nanosleep(&pause, NULL);
    }
    fail_msg("\"%s\" never reached %s", line, s->log_path);
    return NULL;
}

/* --- suite set-up ------------------------------------------------------------------------- */

static int suite_setup(void **state)
{
    static const char *const env[] = {"MARKR_READER_TOKENS=" READER "," READER2, "MARKR_OPERATOR_TOKENS=" OPERATOR,
                                      "MARKR_ADMIN_TOKEN=" ADMIN, "MARKR_IMPORT_ALLOW=10.0.0.0/8,127.0.0.0/8,::1/128",
                                      "MARKR_QUEUE_RUNNERS=0", NULL};

    if (e2e_suite_start("e2e_access", env, &srv, &conninfo) != 0)
        return -1;
    return 0;
}

static int suite_teardown(void **state)
{
    return e2e_suite_stop(&srv, conninfo);
}

/* --- tests -------------------------------------------------------------------------------- */

/* 127.0.0.1 is in 127.0.0.0/8: the import goes through, with no token at all. */
static void an_allowed_peer_imports_without_a_token(void **state)
{
    int64_t id = import_doc(&srv);

    assert_true(id > 0);
    snprintf(import_path, sizeof(import_path), "/imports/%lld", (long long)id);
    snprintf(raw_path, sizeof(raw_path), "/imports/%lld/raw", (long long)id);
    snprintf(reprocess_path, sizeof(reprocess_path), "/imports/%lld/reprocess?dry_run=true", (long long)id);
}

static const char *const refused[] = {"no", "wrong", "basic", "bare"};

static const char *const *refused_headers(size_t i)
{
    const char *const *const all[] = {no_token, wrong, basic, bare};

    return all[i];
}

static void per_student_reads_need_a_reader_token(void **state)
{
    static const char *const paths[] = {"/results/access", "/students/s1", "/tests/access/conflicts", "/students",
                                        "/results/access/students/s1"};

    assert_true(import_path[0] != '\0');
    for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); ++p) {
        for (size_t i = 0; i < sizeof(refused) / sizeof(*refused); ++i)
            expect(&srv, "GET", paths[p], refused_headers(i), 401, "unauthorized");
        expect(&srv, "GET", paths[p], reader, 200, NULL);
        expect(&srv, "GET", paths[p], reader2, 200, NULL); /* any token of the list, any case of Bearer */
        expect(&srv, "GET", paths[p], operator_, 200, NULL);
        expect(&srv, "GET", paths[p], admin, 200, NULL);
        expect(&srv, "HEAD", paths[p], no_token, 401, NULL);
    }
    /* The answer behind the token is the real one. */
    {
        struct e2e_response r;

        assert_int_equal(e2e_http_with(&srv, "GET", "/students/s1", NULL, reader, NULL, 0, &r), 0);
        assert_non_null(strstr(r.body, "Ada"));
        e2e_response_free(&r);
    }
}

static void the_vault_needs_an_operator_token(void **state)
{
    const char *paths[] = {"/imports", import_path, raw_path};

    assert_true(import_path[0] != '\0');
    for (size_t p = 0; p < 3; ++p) {
        for (size_t i = 0; i < sizeof(refused) / sizeof(*refused); ++i)
            expect(&srv, "GET", paths[p], refused_headers(i), 401, "unauthorized");
        expect(&srv, "GET", paths[p], reader, 403, "forbidden");
        expect(&srv, "GET", paths[p], reader2, 403, "forbidden");
        expect(&srv, "GET", paths[p], operator_, 200, NULL);
        expect(&srv, "GET", paths[p], admin, 200, NULL);
    }
    for (size_t i = 0; i < sizeof(refused) / sizeof(*refused); ++i)
        expect(&srv, "POST", reprocess_path, refused_headers(i), 401, "unauthorized");
    expect(&srv, "POST", reprocess_path, reader, 403, "forbidden");
    expect(&srv, "POST", reprocess_path, operator_, 200, NULL);
    expect(&srv, "POST", reprocess_path, admin, 200, NULL);
    /* Access is checked after the route and its method: a wrong method is still 405. */
    expect(&srv, "POST", "/imports", no_token, 405, "method_not_allowed");
}

static void open_routes_stay_open(void **state)
{
    static const char *const paths[] = {"/health", "/ready", "/metrics", "/tests", "/", "/static/app.js",
                                        "/results/access/aggregate", "/results/access/histogram",
                                        "/results/access/items", "/static/items.js"};

    for (size_t p = 0; p < sizeof(paths) / sizeof(*paths); ++p) {
        expect(&srv, "GET", paths[p], no_token, 200, NULL);
        expect(&srv, "GET", paths[p], wrong, 200, NULL); /* a token where none is needed is ignored */
    }
    assert_int_equal(stream_status(&srv, "/events"), 200);
    assert_int_equal(stream_status(&srv, "/results/access/aggregate/stream"), 200);
    assert_int_equal(stream_status(&srv, "/results/access"), 401); /* the probe can fail */
    expect(&srv, "GET", "/no-such-thing", no_token, 404, "not_found");
}

/* MARKR_ADMIN_TOKEN alone, as before reader and operator tokens: it guards reprocess, and the
 * reads stay open. Without it reprocess does not exist, whatever the request says. */
static void the_admin_token_alone_keeps_todays_access(void **state)
{
    static const char *const admin_env[] = {"MARKR_ADMIN_TOKEN=" ADMIN, "MARKR_QUEUE_RUNNERS=0", NULL};
    static const char *const readers_env[] = {"MARKR_READER_TOKENS=" READER, "MARKR_QUEUE_RUNNERS=0", NULL};
    struct markr_server s;

    assert_true(import_path[0] != '\0');
    assert_int_equal(e2e_server_start(&s, conninfo, admin_env), 0);
    expect(&s, "POST", reprocess_path, no_token, 401, "unauthorized");
    expect(&s, "POST", reprocess_path, operator_, 401, "unauthorized");
    expect(&s, "POST", reprocess_path, admin, 200, NULL);
    expect(&s, "OPTIONS", reprocess_path, no_token, 204, NULL); /* it exists: OPTIONS says so */
    expect(&s, "GET", reprocess_path, no_token, 405, "method_not_allowed");
    expect(&s, "GET", import_path, no_token, 200, NULL);
    expect(&s, "GET", "/students/s1", no_token, 200, NULL);
    assert_int_equal(e2e_server_stop_clean(&s), 0);

    assert_int_equal(e2e_server_start(&s, conninfo, readers_env), 0);
    expect(&s, "POST", reprocess_path, reader, 404, "not_found");
    /* A route that does not exist tells nothing of itself to any method: no 204 with Allow
     * to OPTIONS, no 405 with Allow to GET. */
    expect(&s, "OPTIONS", reprocess_path, no_token, 404, "not_found");
    expect(&s, "GET", reprocess_path, no_token, 404, "not_found");
    expect(&s, "GET", "/students/s1", no_token, 401, "unauthorized");
    /* The vault holds the same names and marks verbatim: it closes with them, and with no
     * operator token configured nobody reads it. */
    expect(&s, "GET", raw_path, no_token, 401, "unauthorized");
    expect(&s, "GET", raw_path, reader, 403, "forbidden");
    expect(&s, "GET", "/imports", reader, 403, "forbidden");
    assert_int_equal(e2e_server_stop_clean(&s), 0);
}

/* 127.0.0.1 is outside 10.0.0.0/8 (and ::1/128): POST /import is 403 and stores nothing;
 * the other routes do not look at the address. */
static void the_allow_list_refuses_other_peers(void **state)
{
    static const char *const env[] = {"MARKR_IMPORT_ALLOW=10.0.0.0/8,::1/128", "MARKR_QUEUE_RUNNERS=0", NULL};
    struct markr_server s;
    struct e2e_response r;
    char *before, *after, code[64];

    assert_int_equal(e2e_server_start(&s, conninfo, env), 0);
    before = markr_test_db_value(conninfo, "SELECT count(*) FROM imports");
    assert_int_equal(e2e_http(&s, "POST", "/import", MEDIA_TYPE, doc, sizeof(doc) - 1, &r), 0);
    error_of(&r, code, sizeof(code));
    assert_int_equal(r.status, 403);
    assert_string_equal(code, "forbidden");
    assert_string_equal(r.content_type, "application/json");
    e2e_response_free(&r);
    assert_int_equal(e2e_http_with(&s, "POST", "/import", MEDIA_TYPE, operator_, doc, sizeof(doc) - 1, &r), 0);
    assert_int_equal(r.status, 403); /* no token opens it */
    e2e_response_free(&r);
    after = markr_test_db_value(conninfo, "SELECT count(*) FROM imports");
    assert_string_equal(before, after);
    expect(&s, "GET", "/results/access/aggregate", no_token, 200, NULL);
    expect(&s, "GET", "/students/s1", no_token, 200, NULL);
    free(before);
    free(after);
    assert_int_equal(e2e_server_stop_clean(&s), 0);
}

/* Tokens, right or wrong, never reach the log; the open-data warning is written once, and
 * only when a kind of personal data is open. */
static void no_token_in_the_log_and_one_warning(void **state)
{
    static const char *const plain_env[] = {"MARKR_QUEUE_RUNNERS=0", NULL};
    static const char *const secrets[] = {READER, READER2, OPERATOR, ADMIN, WRONG};
    const char *warning = "personal data is readable without a token";
    struct markr_server plain;
    size_t len;
    char *log;

    expect(&srv, "GET", "/students/s1", wrong, 401, "unauthorized");
    expect(&srv, "GET", "/imports", reader, 403, "forbidden");
    log = await_in_log(&srv, "route=/imports status=403"); /* the requests above are in it */
    for (size_t i = 0; i < sizeof(secrets) / sizeof(*secrets); ++i)
        if (strstr(log, secrets[i]) != NULL)
            fail_msg("a token is in the log: %s", secrets[i]);
    assert_int_equal(occurrences(log, warning), 0);
    free(log);

    assert_int_equal(e2e_server_start(&plain, conninfo, plain_env), 0);
    expect(&plain, "GET", "/students/s1", no_token, 200, NULL);
    expect(&plain, "GET", "/imports", no_token, 200, NULL);
    assert_int_equal(e2e_server_stop_clean(&plain), 0);
    log = e2e_read_file(plain.log_path, &len);
    assert_int_equal(occurrences(log, warning), 1);
    free(log);
}

/* A bad token or range stops `markr serve` naming the setting, and no token is shown. */
static void bad_access_settings_stop_start_up(void **state)
{
    static const struct {
        const char *setting, *name, *secret;
    } bad[] = {
        {"MARKR_READER_TOKENS=" READER ",too-short-one", "MARKR_READER_TOKENS", "too-short-one"},
        {"MARKR_OPERATOR_TOKENS=" OPERATOR ",,", "MARKR_OPERATOR_TOKENS", OPERATOR},
        {"MARKR_ADMIN_TOKEN=admin token with spaces", "MARKR_ADMIN_TOKEN", "admin token"},
        {"MARKR_IMPORT_ALLOW=10.0.0.0/40", "MARKR_IMPORT_ALLOW", NULL},
    };
    const char *const serve[] = {"serve", NULL};

    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); ++i) {
        const char *const env[] = {bad[i].setting, "MARKR_LISTEN=127.0.0.1:0", NULL};
        char *output, expected[64];
        int rc = e2e_run_cli(conninfo, serve, env, &output);

        snprintf(expected, sizeof(expected), "bad setting: %s", bad[i].name);
        if (rc != 2 || strstr(output, expected) == NULL || (bad[i].secret && strstr(output, bad[i].secret))) {
            print_error("ERROR: %s: exit %d: %s\n", bad[i].setting, rc, output);
            free(output);
            fail();
        }
        free(output);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_allowed_peer_imports_without_a_token),
        cmocka_unit_test(per_student_reads_need_a_reader_token),
        cmocka_unit_test(the_vault_needs_an_operator_token),
        cmocka_unit_test(open_routes_stay_open),
        cmocka_unit_test(the_admin_token_alone_keeps_todays_access),
        cmocka_unit_test(the_allow_list_refuses_other_peers),
        cmocka_unit_test(no_token_in_the_log_and_one_warning),
        cmocka_unit_test(bad_access_settings_stop_start_up),
    };

    return cmocka_run_group_tests_name("e2e_access", tests, suite_setup, suite_teardown);
}
