/*
 * End to end: compressed request bodies (ADR 0023), over loopback against the real server
 * and PostgreSQL. gzip and deflate (zlib and raw) documents are accepted on both import
 * paths and stored decoded (GET /imports/{id}/raw gives the XML, the info names the coding
 * and the decoded size); identity is a plain body; the body limit applies to the decoded
 * size, so a gzip bomb (1 GiB of zeros, made here with zlib streaming) is 413 with the
 * server still answering and its peak RSS far below the bomb; any other coding is 415
 * unsupported_content_encoding; corrupt or truncated data is 400 bad_content_encoding;
 * neither of those is stored.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zlib.h>

#include "harness.h"

#define MEDIA_TYPE "text/xml+markr"
#define BODY_LIMIT (4 << 20) /* MARKR_MAX_BODY_BYTES: a 1 GiB bomb packs to about 1 MiB */
#define GZIP_BITS (16 + MAX_WBITS)
#define ZLIB_BITS MAX_WBITS
#define RAW_BITS (-MAX_WBITS)

static char *conninfo;
static struct markr_server srv;

/* Appends what z has produced into *buf (grown as needed). */
static void drain_deflate(z_stream *z, int flush, char **buf, size_t *len, size_t *cap)
{
    int rc;

    do {
        char out[65536];

        z->next_out = (Bytef *)out;
        z->avail_out = sizeof(out);
        rc = deflate(z, flush);
        assert_true(rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR);
        size_t n = sizeof(out) - z->avail_out;

        if (n == 0)
            continue;
        if (*len + n > *cap) {
            *cap = (*len + n) * 2;
            assert_non_null(*buf = realloc(*buf, *cap));
        }
        memcpy(*buf + *len, out, n);
        *len += n;
    } while (z->avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
}

/* `repeat` times the n bytes at in, compressed with window bits `bits`, streamed (the plain
 * text is never held whole). malloc'd, *out_len bytes. */
static char *pack(int bits, const char *in, size_t n, size_t repeat, size_t *out_len)
{
    z_stream z = {0};
    char *buf = NULL;
    size_t len = 0, cap = 0;

    assert_int_equal(deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, bits, 9, Z_DEFAULT_STRATEGY), Z_OK);
    for (size_t i = 0; i < repeat; ++i) {
        z.next_in = (Bytef *)(uintptr_t)in;
        z.avail_in = (uInt)n;
        drain_deflate(&z, Z_NO_FLUSH, &buf, &len, &cap);
        assert_int_equal(z.avail_in, 0);
    }
    drain_deflate(&z, Z_FINISH, &buf, &len, &cap);
    deflateEnd(&z);
    *out_len = len;
    return buf;
}

static size_t make_doc(char *buf, size_t cap, const char *test_id)
{
    int n = snprintf(buf, cap,
                     "<mcq-test-results><mcq-test-result><first-name>F</first-name><last-name>L</last-name>"
                     "<student-number>7</student-number><test-id>%s</test-id>"
                     "<summary-marks available=\"20\" obtained=\"13\"/></mcq-test-result></mcq-test-results>",
                     test_id);

    assert_true(n > 0 && (size_t)n < cap);
    return (size_t)n;
}

static json_object *get_json(const char *path)
{
    struct e2e_response r;
    json_object *o;

    assert_int_equal(e2e_http(&srv, "GET", path, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(o = json_tokener_parse(r.body));
    e2e_response_free(&r);
    return o;
}

static const char *str_of(json_object *o, const char *key)
{
    json_object *v;

    assert_true(json_object_object_get_ex(o, key, &v));
    return json_object_get_string(v);
}

static int64_t int_of(json_object *o, const char *key)
{
    json_object *v;

    assert_true(json_object_object_get_ex(o, key, &v));
    return json_object_get_int64(v);
}

static size_t vault_count(void)
{
    json_object *o = get_json("/imports?limit=100"), *items;
    size_t n;

    assert_true(json_object_object_get_ex(o, "imports", &items));
    n = json_object_array_length(items);
    json_object_put(o);
    return n;
}

/* POSTs body with "Content-Encoding: coding" (none when NULL) and the extra header extra
 * (may be NULL). */
static void post(const char *coding, const char *extra, const char *body, size_t len, struct e2e_response *r)
{
    char header[128];
    const char *headers[3] = {NULL, NULL, NULL};
    size_t n = 0;

    if (coding != NULL) {
        snprintf(header, sizeof(header), "Content-Encoding: %s", coding);
        headers[n++] = header;
    }
    if (extra != NULL)
        headers[n++] = extra;
    assert_int_equal(e2e_http_with(&srv, "POST", "/import", MEDIA_TYPE, headers, body, len, r), 0);
}

/* The import behind Location is (or becomes, when queued) accepted, its info names coding
 * and the document's decoded size, and its raw body is the document. */
static void stored_decoded(const struct e2e_response *r, const char *coding, const char *doc, size_t doc_len)
{
    char path[160];
    json_object *info = NULL;
    struct e2e_response raw;

    assert_true(r->location[0] == '/');
    /* A queued import reaches its verdict through a queue runner: wait for it, boundedly. */
    for (int i = 0; i < 3000; ++i) {
        json_object_put(info);
        info = get_json(r->location);
        if (strcmp(str_of(info, "status"), "queued") != 0 && strcmp(str_of(info, "status"), "processing") != 0)
            break;
        poll(NULL, 0, 10);
    }
    assert_string_equal(str_of(info, "status"), "accepted");
    assert_string_equal(str_of(info, "content_encoding"), coding);
    assert_int_equal(int_of(info, "size_bytes"), (int64_t)doc_len);
    json_object_put(info);
    snprintf(path, sizeof(path), "%s/raw", r->location);
    assert_int_equal(e2e_http(&srv, "GET", path, NULL, NULL, 0, &raw), 0);
    assert_int_equal(raw.status, 200);
    assert_int_equal(raw.len, doc_len);
    assert_memory_equal(raw.body, doc, doc_len);
    e2e_response_free(&raw);
}

static int suite_setup(void **state)
{
    char limit[64];
    const char *env[] = {limit, "MARKR_WORKERS=2", NULL};

    (void)state;
    snprintf(limit, sizeof(limit), "MARKR_MAX_BODY_BYTES=%d", BODY_LIMIT);
    return e2e_suite_start("e2e_encoding", env, &srv, &conninfo);
}

static int suite_teardown(void **state)
{
    (void)state;
    return e2e_suite_stop(&srv, conninfo);
}

static void compressed_documents_are_stored_decoded(void **state)
{
    static const struct {
        const char *coding, *stored, *test;
        int bits;
        int async;
    } cases[] = {
        {"gzip", "gzip", "enc-gzip", GZIP_BITS, 0},
        {"deflate", "deflate", "enc-zlib", ZLIB_BITS, 0},
        {"Deflate", "deflate", "enc-raw", RAW_BITS, 0},
        {"x-gzip", "gzip", "enc-xgzip", GZIP_BITS, 0},
        {"gzip", "gzip", "enc-gzip-async", GZIP_BITS, 1},
        {"deflate", "deflate", "enc-zlib-async", ZLIB_BITS, 1},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        char doc[512], path[128];
        size_t len = make_doc(doc, sizeof(doc), cases[i].test), packed_len;
        char *packed = pack(cases[i].bits, doc, len, 1, &packed_len);
        struct e2e_response r;

        post(cases[i].coding, cases[i].async ? "Prefer: respond-async" : NULL, packed, packed_len, &r);
        assert_int_equal(r.status, cases[i].async ? 202 : 201);
        stored_decoded(&r, cases[i].stored, doc, len);
        e2e_response_free(&r);
        free(packed);
        snprintf(path, sizeof(path), "/results/%s/aggregate", cases[i].test);
        json_object_put(get_json(path)); /* 200: the marks are in */
    }
}

static void identity_is_a_plain_body(void **state)
{
    char doc[512];
    size_t len = make_doc(doc, sizeof(doc), "enc-identity");
    struct e2e_response r;

    (void)state;
    post("identity", NULL, doc, len, &r);
    assert_int_equal(r.status, 201);
    stored_decoded(&r, "identity", doc, len);
    e2e_response_free(&r);
    post(NULL, NULL, doc, len, &r);
    assert_int_equal(r.status, 201);
    stored_decoded(&r, "identity", doc, len);
    e2e_response_free(&r);
}

static long peak_rss_kib(pid_t pid)
{
    char path[64], line[256];
    long kib = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    assert_non_null(f = fopen(path, "r"));
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* 1 GiB of zeros, about 1 MiB on the wire: inflating it would take 1 GiB. The server stops
 * at the limit, answers 413 on both paths, stores nothing and still answers; its peak RSS
 * grows by far less than the bomb. */
static void a_gzip_bomb_is_413_and_costs_at_most_the_limit(void **state)
{
    static char zeros[1 << 20];
    size_t packed_len, before = vault_count();
    char *bomb = pack(GZIP_BITS, zeros, sizeof(zeros), 1024, &packed_len);
    long rss_before = peak_rss_kib(srv.pid);
    struct e2e_response r;

    (void)state;
    assert_true(packed_len < BODY_LIMIT);
    for (int async = 0; async <= 1; ++async) {
        post("gzip", async ? "Prefer: respond-async" : NULL, bomb, packed_len, &r);
        assert_int_equal(r.status, 413);
        assert_non_null(strstr(r.body, "\"payload_too_large\""));
        /* The same sentence as a body too large as sent: the limit's value and name. */
        assert_non_null(strstr(r.body, async ? "4194304 bytes (4 MiB, MARKR_MAX_ASYNC_BODY_BYTES)"
                                             : "4194304 bytes (4 MiB, MARKR_MAX_BODY_BYTES)"));
        e2e_response_free(&r);
    }
    free(bomb);
    assert_int_equal(e2e_http(&srv, "GET", "/health", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    e2e_response_free(&r);
    assert_int_equal(vault_count(), before);
    /* Each attempt may hold the packed copy and the limit at once; 1 GiB would show. */
    print_message("peak RSS of the server: %ld KiB before the bombs, %ld KiB after\n", rss_before,
                  peak_rss_kib(srv.pid));
    assert_true(peak_rss_kib(srv.pid) - rss_before < 256 * 1024);
}

/* The encoded copy and the decoded document are held at once, both counted against
 * MARKR_MAX_BUFFERED_BYTES: a document that can never fit beside its encoded copy is 413
 * naming the cap (a 503 would have the client retry for ever), and one that fits is stored
 * and gives its room back. */
static void a_document_larger_than_the_buffer_cap_is_413(void **state)
{
    static const char *const env[] = {"MARKR_MAX_BODY_BYTES=65536", "MARKR_MAX_BUFFERED_BYTES=65536",
                                      "MARKR_WORKERS=1", NULL};
    static const char *const gzip[] = {"Content-Encoding: gzip", NULL};
    char *big = NULL, *small = e2e_results_document("enc-cap-small", 5, 1);
    size_t big_len = 0, small_len = strlen(small), big_packed, small_packed;
    char *big_gz, *small_gz = pack(GZIP_BITS, small, small_len, 1, &small_packed);
    struct markr_server s;
    struct e2e_response r;

    (void)state;
    /* Within the body limit decoded, but not beside its encoded copy. */
    for (int n = 10; big_len < 62000; n += 10) {
        free(big);
        big = e2e_results_document("enc-cap-big", n, 1);
        big_len = strlen(big);
    }
    assert_true(big_len <= 65536);
    big_gz = pack(GZIP_BITS, big, big_len, 1, &big_packed);
    assert_true(big_packed + big_len > 65536);
    assert_int_equal(e2e_server_start(&s, conninfo, env), 0);
    for (int attempt = 0; attempt < 3; ++attempt) { /* the same answer however often */
        assert_int_equal(e2e_http_with(&s, "POST", "/import", MEDIA_TYPE, gzip, big_gz, big_packed, &r), 0);
        if (r.status != 413)
            fail_msg("attempt %d: %ld %s", attempt, r.status, r.body);
        assert_non_null(strstr(r.body, "65536 bytes (MARKR_MAX_BUFFERED_BYTES)"));
        e2e_response_free(&r);
    }
    for (int attempt = 0; attempt < 3; ++attempt) { /* each gives back what it held */
        assert_int_equal(e2e_http_with(&s, "POST", "/import", MEDIA_TYPE, gzip, small_gz, small_packed, &r), 0);
        if (r.status != 201)
            fail_msg("attempt %d: %ld %s", attempt, r.status, r.body);
        e2e_response_free(&r);
    }
    assert_int_equal(e2e_server_stop_clean(&s), 0);
    free(big);
    free(small);
    free(big_gz);
    free(small_gz);
}

static void other_codings_are_415(void **state)
{
    static const char *const codings[] = {"br", "compress", "zstd", "gzip, deflate", "identity, gzip"};
    char doc[512];
    size_t len = make_doc(doc, sizeof(doc), "enc-unsupported"), before = vault_count();
    struct e2e_response r;
    const char *two[] = {"Content-Encoding: gzip", "Content-Encoding: gzip", NULL};

    (void)state;
    for (size_t i = 0; i < sizeof(codings) / sizeof(codings[0]); ++i) {
        for (int async = 0; async <= 1; ++async) {
            post(codings[i], async ? "Prefer: respond-async" : NULL, doc, len, &r);
            assert_int_equal(r.status, 415);
            assert_non_null(strstr(r.body, "\"unsupported_content_encoding\""));
            e2e_response_free(&r);
        }
    }
    /* Two headers are a list of codings too. */
    assert_int_equal(e2e_http_with(&srv, "POST", "/import", MEDIA_TYPE, two, doc, len, &r), 0);
    assert_int_equal(r.status, 415);
    e2e_response_free(&r);
    assert_int_equal(vault_count(), before);
}

static void corrupt_data_is_400(void **state)
{
    char doc[512];
    size_t len = make_doc(doc, sizeof(doc), "enc-corrupt"), packed_len, before = vault_count();
    char *packed = pack(GZIP_BITS, doc, len, 1, &packed_len);
    struct e2e_response r;

    (void)state;
    for (int async = 0; async <= 1; ++async) {
        const char *prefer = async ? "Prefer: respond-async" : NULL;

        post("gzip", prefer, doc, len, &r); /* plain XML under gzip */
        assert_int_equal(r.status, 400);
        assert_non_null(strstr(r.body, "\"bad_content_encoding\""));
        e2e_response_free(&r);
        post("gzip", prefer, packed, packed_len - 4, &r); /* truncated: no size trailer */
        assert_int_equal(r.status, 400);
        assert_non_null(strstr(r.body, "\"bad_content_encoding\""));
        e2e_response_free(&r);
        post("deflate", prefer, "\x78\x9c\xff\xff", 4, &r);
        assert_int_equal(r.status, 400);
        e2e_response_free(&r);
    }
    free(packed);
    assert_int_equal(vault_count(), before);
    assert_int_equal(e2e_http(&srv, "GET", "/results/enc-corrupt/aggregate", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 404);
    e2e_response_free(&r);
}

/* A refused document that came compressed is kept decoded too, with its coding. */
static void a_refused_document_is_kept_decoded(void **state)
{
    static const char bad[] = "<mcq-test-results><mcq-test-result>";
    size_t packed_len;
    char *packed = pack(GZIP_BITS, bad, sizeof(bad) - 1, 1, &packed_len);
    struct e2e_response r;
    char path[160];
    json_object *info;

    (void)state;
    post("gzip", NULL, packed, packed_len, &r);
    free(packed);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "\"malformed_xml\""));
    {
        json_object *body = json_tokener_parse(r.body);

        assert_non_null(body);
        snprintf(path, sizeof(path), "/imports/%lld", (long long)int_of(body, "import_id"));
        json_object_put(body);
    }
    e2e_response_free(&r);
    info = get_json(path);
    assert_string_equal(str_of(info, "status"), "rejected");
    assert_string_equal(str_of(info, "content_encoding"), "gzip");
    assert_int_equal(int_of(info, "size_bytes"), (int64_t)(sizeof(bad) - 1));
    json_object_put(info);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(compressed_documents_are_stored_decoded),
        cmocka_unit_test(identity_is_a_plain_body),
        cmocka_unit_test(a_gzip_bomb_is_413_and_costs_at_most_the_limit),
        cmocka_unit_test(a_document_larger_than_the_buffer_cap_is_413),
        cmocka_unit_test(other_codings_are_415),
        cmocka_unit_test(corrupt_data_is_400),
        cmocka_unit_test(a_refused_document_is_kept_decoded),
    };

    return cmocka_run_group_tests(tests, suite_setup, suite_teardown);
}
