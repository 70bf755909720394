/*
 * End to end, raw downloads (GET /imports/{id}/raw): the real markr executable, a real
 * PostgreSQL, raw sockets over loopback. Proves that a download is streamed a chunk at a
 * time: 30 clients that never read a ~19 MB document leave the server's RSS within 100 MB
 * and are closed at the write timeout; the cap answers the 17th download at once 503; a
 * download that reads is byte for byte the stored body; a broken body closes the
 * connection short of its Content-Length; and the answer's headers are markr's own
 * (a stored Content-Type is never served back verbatim).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "test_db.h"

#define MEDIA_TYPE "text/xml+markr"
#define BIG_BYTES (19u * 1024 * 1024 + 600 * 1024) /* 20 chunks, the last one partial */
#define STALLED 30
/* ASan keeps freed memory in quarantine (256 MB by default), which an RSS bound would then
 * measure; a small one keeps the sanitizer build's RSS about what the code holds. */
#define SERVER_ASAN "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:quarantine_size_mb=4"

static char *conninfo;
static struct markr_server srv; /* default write timeout and download cap */
static struct markr_server quick; /* a short write timeout, started by one test */
static int quick_running;         /* stopped by the teardown when that test failed */
static char *big;                 /* the stored big body */
static int64_t big_id;

/* --- helpers ------------------------------------------------------------------------------ */

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* A socket that sent "GET path", reading nothing yet; with rcvbuf > 0 a small receive
 * buffer, so that the server's writes stall soon. -1 on failure (said). */
static int open_get(const struct markr_server *s, const char *path, int rcvbuf)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
    char req[256];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n", path);

    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0)
        return -1;
    if (rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || write(fd, req, (size_t)n) != n) {
        print_error("ERROR: GET %s on port %d: %s\n", path, s->port, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

struct answer {
    char *raw; /* headers and body as received, NUL-terminated */
    size_t len;
    char *body; /* into raw */
    size_t body_len;
    long status;
};

static void answer_free(struct answer *a)
{
    free(a->raw);
    memset(a, 0, sizeof(*a));
}

/* GET path over one HTTP/1.0 connection, read until the server closes it (30 s at most).
 * Returns 0 when an answer with a header block came back. */
static int fetch(const struct markr_server *s, const char *path, struct answer *a)
{
    int fd = open_get(s, path, 0);
    size_t cap = 1 << 16;
    double deadline = now_ms() + 30000;
    char *end;

    memset(a, 0, sizeof(*a));
    if (fd < 0 || (a->raw = malloc(cap)) == NULL)
        return -1;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t n;

        if (a->len + 65536 + 1 > cap && (a->raw = realloc(a->raw, cap *= 2)) == NULL)
            break;
        if (poll(&p, 1, (int)(deadline - now_ms())) <= 0)
            break;
        if ((n = read(fd, a->raw + a->len, cap - a->len - 1)) <= 0)
            break;
        a->len += (size_t)n;
    }
    close(fd);
    if (a->raw == NULL)
        return -1;
    a->raw[a->len] = '\0';
    if ((end = strstr(a->raw, "\r\n\r\n")) == NULL || sscanf(a->raw, "HTTP/1.%*d %ld", &a->status) != 1)
        return -1;
    a->body = end + 4;
    a->body_len = a->len - (size_t)(a->body - a->raw);
    return 0;
}

/* The value of header name in a's header block (malloc'd), or NULL. */
static char *header(const struct answer *a, const char *name)
{
    size_t n = strlen(name);

    for (const char *line = strstr(a->raw, "\r\n"); line != NULL && line + 2 < a->body;
         line = strstr(line + 2, "\r\n")) {
        const char *h = line + 2, *eol = strstr(h, "\r\n");

        if (strncasecmp(h, name, n) == 0 && h[n] == ':') {
            h += n + 1;
            while (*h == ' ')
                ++h;
            return strndup(h, (size_t)(eol - h));
        }
    }
    return NULL;
}

static void expect_header(const struct answer *a, const char *name, const char *expected)
{
    char *v = header(a, name);

    if (v == NULL || strcmp(v, expected) != 0) {
        print_error("ERROR: %s: expected '%s', got '%s'\n", name, expected, v != NULL ? v : "(none)");
        free(v);
        fail();
    }
    free(v);
}

/* The value of a gauge of /metrics, or -1. */
static long gauge(const struct markr_server *s, const char *name)
{
    struct e2e_response r;
    long v = -1;
    char needle[96];
    const char *at;

    if (e2e_http(s, "GET", "/metrics", NULL, NULL, 0, &r) != 0)
        return -1;
    snprintf(needle, sizeof(needle), "\n%s ", name);
    if ((at = strstr(r.body, needle)) != NULL)
        v = atol(at + strlen(needle));
    e2e_response_free(&r);
    return v;
}

/* The resident memory of process pid, in kB (VmRSS), or -1. */
static long vmrss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* Waits until gauge name of s is value (timeout_ms at most), sampling the peak VmRSS of s
 * in *peak_kb meanwhile when it is not NULL. Returns the time waited, or fails. */
static double wait_gauge(const struct markr_server *s, const char *name, long value, int timeout_ms, long *peak_kb)
{
    double start = now_ms();
    long last = -1;

    while (now_ms() - start < timeout_ms) {
        if (peak_kb != NULL) {
            long kb = vmrss_kb(s->pid);

            if (kb > *peak_kb)
                *peak_kb = kb;
        }
        if ((last = gauge(s, name)) == value)
            return now_ms() - start;
        poll(NULL, 0, 20);
    }
    fail_msg("%s stayed %ld, not %ld, for %d ms", name, last, value, timeout_ms);
    return -1;
}

/* POSTs body; returns the import id of the answer (stored, accepted or refused). */
static int64_t store(const char *type, const char *body, size_t len)
{
    struct e2e_response r;
    const char *at;
    int64_t id = -1;

    assert_int_equal(e2e_http(&srv, "POST", "/import", type, body, len, &r), 0);
    if ((at = strstr(r.body, "\"import_id\":")) != NULL)
        id = atoll(at + strlen("\"import_id\":"));
    if (id < 1)
        print_error("ERROR: POST /import answered %ld: %s\n", r.status, r.body);
    e2e_response_free(&r);
    assert_true(id >= 1);
    return id;
}

static void expect_whole(const struct answer *a, const char *body, size_t len)
{
    char length[24];

    assert_int_equal(a->status, 200);
    snprintf(length, sizeof(length), "%zu", len);
    expect_header(a, "content-length", length);
    assert_int_equal(a->body_len, len);
    assert_memory_equal(a->body, body, len);
}

/* --- suite set-up ------------------------------------------------------------------------- */

static int suite_setup(void **state)
{
    const char *env[] = {"MARKR_MAX_BODY_BYTES=33554432", SERVER_ASAN, NULL};
    uint32_t x = 2463534242u;

    conninfo = markr_test_db_create("e2e_raw");
    if (e2e_migrate(conninfo) != 0 || e2e_server_start(&srv, conninfo, env) != 0)
        return -1;
    /* Bytes of every value (NUL and invalid UTF-8 included): refused as malformed XML, and
     * stored all the same. */
    if ((big = malloc(BIG_BYTES)) == NULL)
        return -1;
    for (size_t i = 0; i < BIG_BYTES; ++i) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        big[i] = (char)(x >> 24);
    }
    big_id = store(MEDIA_TYPE, big, BIG_BYTES);
    return 0;
}

static int suite_teardown(void **state)
{
    int rc = e2e_server_stop_clean(&srv);

    if (quick_running)
        e2e_server_stop(&quick, SIGKILL);
    markr_test_db_drop(conninfo);
    free(conninfo);
    free(big);
    return rc;
}

/* --- tests -------------------------------------------------------------------------------- */

/* A client that reads gets the body byte for byte, 20 chunks of it, with its length. */
static void a_download_is_the_stored_body(void **state)
{
    struct answer a;
    char path[64];

    snprintf(path, sizeof(path), "/imports/%lld/raw", (long long)big_id);
    assert_int_equal(fetch(&srv, path, &a), 0);
    expect_whole(&a, big, BIG_BYTES);
    answer_free(&a);
    assert_int_equal(gauge(&srv, "markr_raw_downloads_in_flight"), 0);
}

/* The stored Content-Type came from a client: the answer's is markr's own, in a sandbox, as
 * an attachment, whatever the row says. */
static void the_answer_s_headers_are_markr_s_own(void **state)
{
    static const char doc[] = "<mcq-test-results/>";
    static const struct {
        const char *stored, *served;
    } cases[] = {
        {"text/xml+markr;,text/html", MEDIA_TYPE}, /* browsers read it as HTML */
        {"TEXT/XML+MARKR", MEDIA_TYPE},
        {"text/xml+markr; charset=UTF-8", MEDIA_TYPE "; charset=utf-8"},
        {"text/xml+markr;charset=\"ISO-8859-1\"", MEDIA_TYPE "; charset=iso-8859-1"},
        {"text/xml+markr; foo=bar; charset=us-ascii", MEDIA_TYPE}, /* the strict rule refuses it */
        {"text/xml+markr; charset=utf-7", MEDIA_TYPE},
        {"text/xml+markr; charset=utf-8,text/html", MEDIA_TYPE},
        {"text/html", "application/octet-stream"},
        {"text/html; x=text/xml+markr", "application/octet-stream"},
    };
    int64_t id = store(MEDIA_TYPE, doc, sizeof(doc) - 1);
    char path[64], sql[256], disposition[64];

    snprintf(path, sizeof(path), "/imports/%lld/raw", (long long)id);
    snprintf(disposition, sizeof(disposition), "attachment; filename=\"import-%lld.xml\"", (long long)id);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        struct answer a;

        /* Whatever the upload path lets in, a row may hold it (older servers stored it). */
        snprintf(sql, sizeof(sql), "UPDATE imports SET content_type = '%s' WHERE id = %lld", cases[i].stored,
                 (long long)id);
        assert_int_equal(markr_test_db_exec(conninfo, sql), 0);
        assert_int_equal(fetch(&srv, path, &a), 0);
        expect_whole(&a, doc, sizeof(doc) - 1);
        expect_header(&a, "content-type", cases[i].served);
        expect_header(&a, "content-security-policy", "sandbox");
        expect_header(&a, "x-content-type-options", "nosniff");
        expect_header(&a, "content-disposition", disposition);
        answer_free(&a);
    }
    /* Uploaded with that type: whatever the upload path decides, what it stored is served
     * as markr's type. */
    {
        struct e2e_response r;
        const char *at;
        struct answer a;

        assert_int_equal(e2e_http(&srv, "POST", "/import", "text/xml+markr;,text/html", doc, sizeof(doc) - 1, &r), 0);
        at = strstr(r.body, "\"import_id\":");
        id = at != NULL ? atoll(at + strlen("\"import_id\":")) : 0;
        e2e_response_free(&r);
        if (id >= 1) {
            snprintf(path, sizeof(path), "/imports/%lld/raw", (long long)id);
            assert_int_equal(fetch(&srv, path, &a), 0);
            expect_whole(&a, doc, sizeof(doc) - 1);
            expect_header(&a, "content-type", MEDIA_TYPE);
            expect_header(&a, "content-security-policy", "sandbox");
            answer_free(&a);
        }
    }
}

/* Chunks that do not make the body: before the headers, an error; after them, the connection
 * is closed short of the promised length. */
static void a_broken_body_is_never_served_whole(void **state)
{
    size_t len = 3 * 1024 * 1024 + 17; /* 4 chunks */
    int64_t late = store(MEDIA_TYPE, big, len), early = store(MEDIA_TYPE, big, len);
    char path[64], sql[128], length[24];
    struct answer a;

    snprintf(sql, sizeof(sql), "DELETE FROM import_chunks WHERE import_id = %lld AND seq = 2", (long long)late);
    assert_int_equal(markr_test_db_exec(conninfo, sql), 0);
    snprintf(path, sizeof(path), "/imports/%lld/raw", (long long)late);
    assert_int_equal(fetch(&srv, path, &a), 0);
    assert_int_equal(a.status, 200);
    snprintf(length, sizeof(length), "%zu", len);
    expect_header(&a, "content-length", length);
    assert_int_equal(a.body_len, 2 * 1024 * 1024); /* chunks 0 and 1, then the close */
    assert_memory_equal(a.body, big, a.body_len);
    answer_free(&a);

    snprintf(sql, sizeof(sql), "DELETE FROM import_chunks WHERE import_id = %lld AND seq = 0", (long long)early);
    assert_int_equal(markr_test_db_exec(conninfo, sql), 0);
    snprintf(path, sizeof(path), "/imports/%lld/raw", (long long)early);
    assert_int_equal(fetch(&srv, path, &a), 0);
    assert_int_equal(a.status, 500);
    assert_non_null(strstr(a.body, "\"database_error\""));
    answer_free(&a);
    /* Unknown imports are still 404, and nothing stays counted. */
    assert_int_equal(fetch(&srv, "/imports/987654321/raw", &a), 0);
    assert_int_equal(a.status, 404);
    answer_free(&a);
    assert_int_equal(gauge(&srv, "markr_raw_downloads_in_flight"), 0);
}

/* 16 downloads at once (the default cap) that do not read; the 17th is 503 at once. A client
 * that leaves frees its place. */
static void the_cap_refuses_the_seventeenth(void **state)
{
    int fds[16];
    char path[64];
    struct e2e_response r;
    struct answer a;

    snprintf(path, sizeof(path), "/imports/%lld/raw", (long long)big_id);
    for (int i = 0; i < 16; ++i)
        assert_true((fds[i] = open_get(&srv, path, 4096)) >= 0);
    wait_gauge(&srv, "markr_raw_downloads_in_flight", 16, 20000, NULL);
    assert_int_equal(e2e_http(&srv, "GET", path, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.body, "\"overloaded\""));
    assert_string_equal(r.retry_after, "1");
    e2e_response_free(&r);
    for (int i = 0; i < 16; ++i)
        close(fds[i]); /* unread bytes: a reset, and the server's next write fails */
    wait_gauge(&srv, "markr_raw_downloads_in_flight", 0, 20000, NULL);
    assert_int_equal(fetch(&srv, path, &a), 0);
    expect_whole(&a, big, BIG_BYTES);
    answer_free(&a);
}

/* A client that reads slowly but steadily (about 160 KB/s: its download lasts about ten times
 * the write timeout of s) gets the whole body: the timeout is about writes that stall, not
 * about how long a download takes. */
static void slow_reader_is_not_cut_off(const struct markr_server *s)
{
    size_t len = 1536 * 1024, got = 0, cap = len + (1 << 16);
    int64_t id = store(MEDIA_TYPE, big, len);
    char path[64], *buf = malloc(cap), *body;
    double deadline = now_ms() + 60000;
    int fd;

    assert_non_null(buf);
    snprintf(path, sizeof(path), "/imports/%lld/raw", (long long)id);
    assert_true((fd = open_get(s, path, 4096)) >= 0);
    while (now_ms() < deadline) {
        ssize_t n;

        poll(NULL, 0, 50);
        if ((n = read(fd, buf + got, cap - got < 8192 ? cap - got : 8192)) <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    buf[got < cap ? got : cap - 1] = '\0';
    body = strstr(buf, "\r\n\r\n");
    if (body == NULL || got - (size_t)(body + 4 - buf) != len || memcmp(body + 4, big, len) != 0) {
        free(buf);
        fail_msg("a slow reader got %zu bytes in all, not the %zu of the body and its headers", got, len);
    }
    free(buf);
}

/* 30 clients that never read the big document: the server holds a chunk or so for each
 * (RSS within 100 MB of what it was), and closes them all at the write timeout although
 * they never close their side; one that reads slowly is served whole. */
static void stalled_readers_hold_little_and_are_closed(void **state)
{
    const char *env[] = {"MARKR_WRITE_TIMEOUT_MS=1000", "MARKR_MAX_DOWNLOADS=64", SERVER_ASAN, NULL};
    int fds[STALLED];
    char path[64];
    long base_kb, peak_kb = 0;
    struct answer a;
    double closed_after;

    assert_int_equal(e2e_server_start(&quick, conninfo, env), 0);
    quick_running = 1;
    snprintf(path, sizeof(path), "/imports/%lld/raw", (long long)big_id);
    /* One whole download first: what a download needs at all is in the baseline. */
    assert_int_equal(fetch(&quick, path, &a), 0);
    expect_whole(&a, big, BIG_BYTES);
    answer_free(&a);
    base_kb = vmrss_kb(quick.pid);
    assert_true(base_kb > 0);
    for (int i = 0; i < STALLED; ++i)
        assert_true((fds[i] = open_get(&quick, path, 4096)) >= 0);
    wait_gauge(&quick, "markr_raw_downloads_in_flight", STALLED, 20000, &peak_kb);
    /* Closed by the server: their connections go, the clients still holding theirs. */
    closed_after = wait_gauge(&quick, "markr_raw_downloads_in_flight", 0, 30000, &peak_kb);
    wait_gauge(&quick, "markr_http_connections", 1, 10000, &peak_kb); /* the /metrics one */
    print_message("stalled downloads: RSS %ld -> peak %ld kB; closed %.0f ms after all had started\n", base_kb,
                  peak_kb, closed_after);
    if (peak_kb - base_kb >= 100 * 1024)
        fail_msg("the server's RSS grew by %ld kB, not less than 100 MB", peak_kb - base_kb);
    for (int i = 0; i < STALLED; ++i)
        close(fds[i]);
    /* Still serving. */
    assert_int_equal(fetch(&quick, path, &a), 0);
    expect_whole(&a, big, BIG_BYTES);
    answer_free(&a);
    slow_reader_is_not_cut_off(&quick);
    quick_running = 0;
    assert_int_equal(e2e_server_stop_clean(&quick), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_download_is_the_stored_body),
        cmocka_unit_test(the_answer_s_headers_are_markr_s_own),
        cmocka_unit_test(a_broken_body_is_never_served_whole),
        cmocka_unit_test(the_cap_refuses_the_seventeenth),
        cmocka_unit_test(stalled_readers_hold_little_and_are_closed),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("e2e_raw", tests, suite_setup, suite_teardown);
}
