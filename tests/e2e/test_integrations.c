/*
 * End to end: what teams building on Markr rely on, over loopback against the real server
 * and database (ADR 0028). Answers carry strong ETags that If-None-Match turns into a
 * bodiless 304 until an import changes them; answers over 1 KiB are gzip when the client
 * accepts it, and decode (with zlib, not markr's code) to the identity answer; pages of the
 * listed origins may read the open read endpoints (the readers' only once reader tokens exist,
 * the operators' never; imports only when switched on, the admin
 * route never), with preflights answered 204, and nothing is shared when CORS is unset.
 * The CSV exports have a suite of their own (test_exports.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <curl/curl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "harness.h"

#define MEDIA_TYPE "text/xml+markr"

static char *conninfo;
static struct markr_server srv;

static void import(const char *test_id, int n, int obtained_base)
{
    e2e_import_results(&srv, test_id, n, obtained_base);
}

/* GET path with extra headers; the answer's ETag into tag (empty when none). */
static void get(const char *path, const char *const *headers, struct e2e_response *r, char tag[128])
{
    assert_int_equal(e2e_http_with(&srv, "GET", path, NULL, headers, NULL, 0, r), 0);
    if (e2e_header(r, "etag", tag, 128) == NULL)
        tag[0] = '\0';
}

/* --- entity tags ------------------------------------------------------------------------------ */

static void answers_revalidate_until_an_import_changes_them(void **state)
{
    static const char *const paths[] = {"/results/etag-1/aggregate", "/results/etag-1/histogram",
                                        "/results/etag-1", "/tests"};
    char tags[4][128], tag[128], inm[640];
    struct e2e_response r;

    import("etag-1", 3, 5);
    for (size_t i = 0; i < 4; ++i) {
        const char *const match[] = {inm, NULL};

        get(paths[i], NULL, &r, tags[i]);
        assert_int_equal(r.status, 200);
        assert_true(strlen(tags[i]) > 2 && tags[i][0] == '"'); /* strong: no W/ */
        e2e_response_free(&r);
        /* The same tag again, and If-None-Match naming it (in a list, among others): 304. */
        snprintf(inm, sizeof(inm), "If-None-Match: \"other\", %s", tags[i]);
        get(paths[i], match, &r, tag);
        assert_int_equal(r.status, 304);
        assert_int_equal(r.len, 0);
        assert_string_equal(tag, tags[i]);
        e2e_response_free(&r);
        /* A tag that is not its own: the whole answer. */
        snprintf(inm, sizeof(inm), "If-None-Match: \"0000\"");
        get(paths[i], match, &r, tag);
        assert_int_equal(r.status, 200);
        assert_true(r.len > 0);
        e2e_response_free(&r);
    }
    /* An import that changes the test changes every tag: the first GET after its 201 on the
     * same instance is 200 with a new one (read-your-writes: the aggregate cache has taken
     * the import in before the 201 went out). */
    import("etag-1", 4, 9);
    for (size_t i = 0; i < 4; ++i) {
        char inm_line[640];
        const char *const match[] = {inm_line, NULL};

        snprintf(inm_line, sizeof(inm_line), "If-None-Match: %s", tags[i]);
        get(paths[i], match, &r, tag);
        if (r.status != 200)
            fail_msg("%s answered %ld right after an import", paths[i], r.status);
        assert_string_not_equal(tag, tags[i]);
        assert_true(r.len > 0);
        e2e_response_free(&r);
    }
}

/* --- CORS ------------------------------------------------------------------------------------ */

#define DASH "https://dash.example.org"
#define ADMIN "admin-token-0123456789abcdef"

static int has_header(const struct e2e_response *r, const char *name)
{
    char value[512];

    return e2e_header(r, name, value, sizeof(value)) != NULL;
}

/* No Access-Control-* header at all in r. */
static void assert_no_cors(const struct e2e_response *r)
{
    for (const char *p = r->headers; (p = strcasestr(p, "access-control-")) != NULL; ++p)
        fail_msg("a CORS header where none belongs: %.60s", p);
}

static void request(const struct markr_server *s, const char *method, const char *path, const char *const *headers,
                    struct e2e_response *r)
{
    assert_int_equal(e2e_http_with(s, method, path, NULL, headers, NULL, 0, r), 0);
}

static void preflight(const struct markr_server *s, const char *path, const char *origin, const char *method,
                      struct e2e_response *r)
{
    char o[128], m[128];
    const char *const headers[] = {o, m, "Access-Control-Request-Headers: authorization", NULL};

    snprintf(o, sizeof(o), "Origin: %s", origin);
    snprintf(m, sizeof(m), "Access-Control-Request-Method: %s", method);
    request(s, "OPTIONS", path, headers, r);
    assert_int_equal(r->status, 204);
    assert_int_equal(r->len, 0);
}

static void cors_is_off_when_unset(void **state)
{
    static const char *const from_dash[] = {"Origin: " DASH, NULL};
    struct e2e_response r;
    char value[256];

    request(&srv, "GET", "/tests", from_dash, &r);
    assert_int_equal(r.status, 200);
    assert_no_cors(&r);
    assert_true(e2e_header(&r, "vary", value, sizeof(value)) == NULL || strstr(value, "origin") == NULL);
    e2e_response_free(&r);
    preflight(&srv, "/results/x/aggregate", DASH, "GET", &r);
    assert_no_cors(&r);
    assert_non_null(e2e_header(&r, "allow", value, sizeof(value)));
    assert_string_equal(value, "GET, HEAD, OPTIONS");
    e2e_response_free(&r);
}

static void listed_origins_read_others_do_not_admin_never(void **state)
{
    static const char *const env[] = {"MARKR_CORS_ORIGINS=" DASH ",http://localhost:3000",
                                      "MARKR_ADMIN_TOKEN=" ADMIN, NULL};
    static const char *const from_dash[] = {"Origin: " DASH, NULL};
    static const char *const from_other[] = {"Origin: https://evil.example", NULL};
    static const char *const admin_from_dash[] = {"Origin: " DASH, "Authorization: Bearer " ADMIN, NULL};
    struct markr_server cors;
    struct e2e_response r;
    char value[256];

    assert_int_equal(e2e_server_start(&cors, conninfo, env), 0);
    import("cors-1", 2, 3);
    /* A listed origin reads, and may read the ETag; caches keep answers apart by Origin. */
    request(&cors, "GET", "/results/cors-1/aggregate", from_dash, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(e2e_header(&r, "access-control-allow-origin", value, sizeof(value)));
    assert_string_equal(value, DASH);
    assert_non_null(e2e_header(&r, "vary", value, sizeof(value)));
    assert_non_null(strstr(value, "origin"));
    assert_non_null(e2e_header(&r, "access-control-expose-headers", value, sizeof(value)));
    assert_non_null(strstr(value, "ETag"));
    assert_false(has_header(&r, "access-control-allow-credentials"));
    e2e_response_free(&r);
    /* Errors too: a page must be able to read why it was refused. */
    request(&cors, "GET", "/results/no-such-test/aggregate", from_dash, &r);
    assert_int_equal(r.status, 404);
    assert_true(has_header(&r, "access-control-allow-origin"));
    e2e_response_free(&r);
    /* An origin not listed: nothing. */
    request(&cors, "GET", "/results/cors-1/aggregate", from_other, &r);
    assert_int_equal(r.status, 200);
    assert_no_cors(&r);
    assert_non_null(e2e_header(&r, "vary", value, sizeof(value)));
    assert_non_null(strstr(value, "origin"));
    e2e_response_free(&r);

    /* Preflight of a read: the methods, the headers (a token, a conditional GET) and how long
     * to keep it. */
    preflight(&cors, "/results/cors-1/aggregate", DASH, "GET", &r);
    assert_non_null(e2e_header(&r, "access-control-allow-origin", value, sizeof(value)));
    assert_string_equal(value, DASH);
    assert_non_null(e2e_header(&r, "access-control-allow-methods", value, sizeof(value)));
    assert_string_equal(value, "GET, HEAD");
    assert_non_null(e2e_header(&r, "access-control-allow-headers", value, sizeof(value)));
    assert_non_null(strstr(value, "Authorization"));
    assert_non_null(strstr(value, "If-None-Match"));
    assert_non_null(e2e_header(&r, "access-control-max-age", value, sizeof(value)));
    assert_string_equal(value, "600");
    e2e_response_free(&r);
    preflight(&cors, "/results/cors-1/aggregate", "https://evil.example", "GET", &r);
    assert_no_cors(&r);
    e2e_response_free(&r);
    preflight(&cors, "/results/cors-1/aggregate", DASH, "DELETE", &r); /* a method the route does not share */
    assert_no_cors(&r);
    e2e_response_free(&r);

    /* Names and marks are open while no reader token exists: no page of another origin
     * reads them. The vault and the feed (operators' routes) are never shared. */
    {
        static const char *const reads[] = {"/results/cors-1", "/students", "/students/s1",
                                            "/tests/cors-1/conflicts", "/imports", "/imports/1",
                                            "/imports/1/raw", "/feed"};

        for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); ++i) {
            request(&cors, "GET", reads[i], from_dash, &r);
            if (strcmp(reads[i], "/feed") != 0 && strcmp(reads[i], "/students/s1") != 0)
                assert_int_equal(r.status, 200);
            assert_no_cors(&r);
            e2e_response_free(&r);
            preflight(&cors, reads[i], DASH, "GET", &r);
            assert_no_cors(&r);
            e2e_response_free(&r);
        }
    }

    /* Imports are not shared unless switched on, the admin route never. */
    preflight(&cors, "/import", DASH, "POST", &r);
    assert_no_cors(&r);
    e2e_response_free(&r);
    preflight(&cors, "/imports/1/reprocess", DASH, "POST", &r);
    assert_no_cors(&r);
    e2e_response_free(&r);
    assert_int_equal(e2e_http_with(&cors, "POST", "/imports/1/reprocess", NULL, admin_from_dash, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_no_cors(&r);
    e2e_response_free(&r);
    assert_int_equal(e2e_server_stop_clean(&cors), 0);
}

static void any_origin_and_imports_when_switched_on(void **state)
{
    static const char *const env[] = {"MARKR_CORS_ORIGINS=*", "MARKR_CORS_IMPORT=true",
                                      "MARKR_ADMIN_TOKEN=" ADMIN, NULL};
    static const char *const from_anyone[] = {"Origin: https://anyone.example", NULL};
    struct markr_server cors;
    struct e2e_response r;
    char value[256], *doc = e2e_results_document("cors-2", 1, 1);

    assert_int_equal(e2e_server_start(&cors, conninfo, env), 0);
    request(&cors, "GET", "/tests", from_anyone, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(e2e_header(&r, "access-control-allow-origin", value, sizeof(value)));
    assert_string_equal(value, "*");
    e2e_response_free(&r);
    preflight(&cors, "/import", "https://anyone.example", "POST", &r);
    assert_non_null(e2e_header(&r, "access-control-allow-methods", value, sizeof(value)));
    assert_string_equal(value, "POST");
    assert_non_null(e2e_header(&r, "access-control-allow-headers", value, sizeof(value)));
    assert_non_null(strstr(value, "Content-Type"));
    assert_non_null(strstr(value, "Content-Encoding")); /* a gzip upload from a page */
    e2e_response_free(&r);
    assert_int_equal(e2e_http_with(&cors, "POST", "/import", MEDIA_TYPE, from_anyone, doc, strlen(doc), &r), 0);
    assert_int_equal(r.status, 201);
    assert_true(has_header(&r, "access-control-allow-origin"));
    e2e_response_free(&r);
    free(doc);
    preflight(&cors, "/imports/1/reprocess", "https://anyone.example", "POST", &r);
    assert_no_cors(&r);
    e2e_response_free(&r);
    assert_int_equal(e2e_server_stop_clean(&cors), 0);
}

/* With reader tokens, a page needs a token to read names and marks: then they are shared.
 * The vault stays unshared even with operator tokens. */
static void reader_routes_are_shared_once_tokens_protect_them(void **state)
{
    static const char *const env[] = {"MARKR_CORS_ORIGINS=" DASH, "MARKR_READER_TOKENS=reader-token-0123456789ab",
                                      "MARKR_OPERATOR_TOKENS=operator-token-0123456789", NULL};
    static const char *const reader[] = {"Origin: " DASH, "Authorization: Bearer reader-token-0123456789ab", NULL};
    static const char *const anonymous[] = {"Origin: " DASH, NULL};
    static const char *const operator[] = {"Origin: " DASH, "Authorization: Bearer operator-token-0123456789",
                                           NULL};
    struct markr_server cors;
    struct e2e_response r;
    char value[256];

    assert_int_equal(e2e_server_start(&cors, conninfo, env), 0);
    import("cors-3", 2, 3);
    request(&cors, "GET", "/results/cors-3", reader, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(e2e_header(&r, "access-control-allow-origin", value, sizeof(value)));
    assert_string_equal(value, DASH);
    e2e_response_free(&r);
    request(&cors, "GET", "/students", anonymous, &r); /* the refusal is readable */
    assert_int_equal(r.status, 401);
    assert_true(has_header(&r, "access-control-allow-origin"));
    e2e_response_free(&r);
    preflight(&cors, "/students", DASH, "GET", &r);
    assert_true(has_header(&r, "access-control-allow-methods"));
    e2e_response_free(&r);
    request(&cors, "GET", "/imports", operator, &r);
    assert_int_equal(r.status, 200);
    assert_no_cors(&r);
    e2e_response_free(&r);
    preflight(&cors, "/imports/1/raw", DASH, "GET", &r);
    assert_no_cors(&r);
    e2e_response_free(&r);
    assert_int_equal(e2e_server_stop_clean(&cors), 0);
}

/* Files of the binary (the dashboard's, the API description) revalidate too. */
static void compiled_in_files_revalidate(void **state)
{
    static const char *const paths[] = {"/static/app.js", "/", "/openapi.json"};
    char tag[128], again[128], line[200];
    const char *const match[] = {line, NULL};
    struct e2e_response r;

    for (size_t i = 0; i < 3; ++i) {
        get(paths[i], NULL, &r, tag);
        assert_int_equal(r.status, 200);
        assert_true(tag[0] == '"');
        e2e_response_free(&r);
        snprintf(line, sizeof(line), "If-None-Match: W/%s", tag); /* compared weakly */
        get(paths[i], match, &r, again);
        assert_int_equal(r.status, 304);
        assert_int_equal(r.len, 0);
        e2e_response_free(&r);
    }
}

/* Event streams are never compressed, whatever the client accepts: each event goes out as
 * written. The stream is read until its first event, then left. */
struct first_event {
    struct e2e_response r; /* its headers, for e2e_header */
    char text[512];        /* the stream's first bytes, NUL-terminated */
    size_t len;
};

static size_t event_bytes(char *data, size_t size, size_t n, void *arg)
{
    struct first_event *ev = arg;
    size_t len = size * n, room = sizeof(ev->text) - 1 - ev->len, take = len < room ? len : room;

    memcpy(ev->text + ev->len, data, take);
    ev->len += take;
    ev->text[ev->len] = '\0';
    return strstr(ev->text, "\n\n") != NULL || room == 0 ? 0 : len; /* 0: enough, stop reading */
}

static size_t event_header(char *line, size_t size, size_t n, void *arg)
{
    struct e2e_response *r = &((struct first_event *)arg)->r;
    size_t len = size * n;

    if (len < sizeof(r->headers) - r->headers_len) {
        memcpy(r->headers + r->headers_len, line, len);
        r->headers_len += len;
        r->headers[r->headers_len] = '\0';
    }
    return len;
}

static void event_streams_are_never_compressed(void **state)
{
    struct first_event ev;
    struct curl_slist *headers = curl_slist_append(NULL, "Accept-Encoding: gzip");
    CURL *curl = curl_easy_init();
    char url[256], value[64];

    import("sse-1", 3, 1);
    memset(&ev, 0, sizeof(ev));
    snprintf(url, sizeof(url), "%s/results/sse-1/aggregate/stream", srv.base_url);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, event_bytes);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &ev);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, event_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &ev);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
    assert_int_equal(curl_easy_perform(curl), CURLE_WRITE_ERROR); /* stopped after the event */
    curl_easy_cleanup(curl);
    curl_slist_free_all(headers);
    assert_non_null(e2e_header(&ev.r, "content-type", value, sizeof(value)));
    assert_string_equal(value, "text/event-stream");
    assert_null(e2e_header(&ev.r, "content-encoding", value, sizeof(value)));
    assert_non_null(strstr(ev.text, "event: aggregate\ndata: {\"mean\""));
}

/* --- compression ------------------------------------------------------------------------------ */

/* gunzip of len bytes (malloc'd, NUL-terminated), or NULL when they are not gzip. */
static char *gunzip(const char *in, size_t len, size_t *out_len)
{
    z_stream z = {0};
    size_t cap = len * 20 + 1024;
    char *out = malloc(cap);
    int rc;

    assert_non_null(out);
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
        free(out);
        return NULL;
    }
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)(cap - 1);
    rc = inflate(&z, Z_FINISH);
    *out_len = z.total_out;
    inflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    out[*out_len] = '\0';
    return out;
}

/* The answer to `GET path HTTP/1.0` with Accept-Encoding: gzip, head and body, from a raw
 * socket (a client library speaks 1.1). Freed by the caller. */
static char *get_http10(const char *path)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port)};
    size_t cap = 1 << 20;
    char request[256], *answer = malloc(cap);
    int fd = socket(AF_INET, SOCK_STREAM, 0), got;

    assert_non_null(answer);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    snprintf(request, sizeof(request), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n\r\n", path);
    assert_int_equal(write(fd, request, strlen(request)), (ssize_t)strlen(request));
    got = e2e_read_answers(fd, answer, cap, 1, 20000);
    close(fd);
    if (!got) {
        free(answer);
        fail_msg("GET %s HTTP/1.0: no whole answer", path);
    }
    return answer;
}

static void large_answers_are_gzip_when_accepted(void **state)
{
    static const char *const gzip[] = {"Accept-Encoding: gzip, deflate", NULL};
    static const char *const none[] = {"Accept-Encoding: identity", NULL};
    struct e2e_response plain, packed, small;
    char value[128], plain_tag[128], packed_tag[128];
    char *decoded;
    size_t decoded_len;

    import("gzip-1", 200, 0);
    get("/results/gzip-1?limit=200", none, &plain, plain_tag);
    assert_int_equal(plain.status, 200);
    assert_true(plain.len > 1024);
    assert_null(e2e_header(&plain, "content-encoding", value, sizeof(value)));
    get("/results/gzip-1?limit=200", gzip, &packed, packed_tag);
    assert_int_equal(packed.status, 200);
    assert_non_null(e2e_header(&packed, "content-encoding", value, sizeof(value)));
    assert_string_equal(value, "gzip");
    assert_non_null(e2e_header(&packed, "vary", value, sizeof(value)));
    assert_non_null(strstr(value, "accept-encoding"));
    assert_true(packed.len < plain.len / 2);
    assert_non_null(decoded = gunzip(packed.body, packed.len, &decoded_len));
    assert_int_equal(decoded_len, plain.len);
    assert_memory_equal(decoded, plain.body, plain.len);
    /* Two encodings of one answer are two sequences of bytes: two strong tags. */
    assert_string_not_equal(plain_tag, packed_tag);
    free(decoded);
    /* h2o never compresses for HTTP/1.0: such a client gets the plain bytes, so the plain tag. */
    {
        char *answer = get_http10("/results/gzip-1?limit=200"), *head_end = strstr(answer, "\r\n\r\n"), tag_line[160];

        assert_non_null(head_end);
        *head_end = '\0';
        snprintf(tag_line, sizeof(tag_line), "\r\netag: %s\r\n", plain_tag);
        strcat(answer, "\r\n");
        if (strcasestr(answer, tag_line) == NULL || strcasestr(answer, "content-encoding") != NULL)
            fail_msg("HTTP/1.0 with Accept-Encoding: gzip: want the plain tag %s and no Content-Encoding, got: %s",
                     plain_tag, answer);
        free(answer);
    }
    e2e_response_free(&plain);
    e2e_response_free(&packed);

    /* Small answers stay as they are, whatever the client accepts. */
    get("/results/gzip-1/aggregate", gzip, &small, value);
    assert_int_equal(small.status, 200);
    assert_true(small.len < 1024);
    assert_null(e2e_header(&small, "content-encoding", value, sizeof(value)));
    e2e_response_free(&small);
    /* The dashboard's script is large: compressed too. */
    get("/static/app.js", gzip, &packed, packed_tag);
    assert_int_equal(packed.status, 200);
    assert_non_null(e2e_header(&packed, "content-encoding", value, sizeof(value)));
    assert_non_null(decoded = gunzip(packed.body, packed.len, &decoded_len));
    free(decoded);
    e2e_response_free(&packed);
}

static int suite_setup(void **state)
{
    return e2e_suite_start("markr_e2e_integrations", NULL, &srv, &conninfo);
}

static int suite_teardown(void **state)
{
    return e2e_suite_stop(&srv, conninfo);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(answers_revalidate_until_an_import_changes_them),
        cmocka_unit_test(large_answers_are_gzip_when_accepted),
        cmocka_unit_test(compiled_in_files_revalidate),
        cmocka_unit_test(event_streams_are_never_compressed),
        cmocka_unit_test(cors_is_off_when_unset),
        cmocka_unit_test(reader_routes_are_shared_once_tokens_protect_them),
        cmocka_unit_test(listed_origins_read_others_do_not_admin_never),
        cmocka_unit_test(any_origin_and_imports_when_switched_on),
    };

    return cmocka_run_group_tests_name("e2e_integrations", tests, suite_setup, suite_teardown);
}
