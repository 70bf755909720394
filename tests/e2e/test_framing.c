/*
 * End to end: request smuggling refused (ADR 0023), raw sockets over loopback against the
 * real server and PostgreSQL. Each ambiguous framing (two Content-Lengths, conflicting or
 * equal; Content-Length with Transfer-Encoding: chunked; a Transfer-Encoding other than
 * one "chunked") is sent with a second request pipelined behind it, an import of a test of
 * its own: exactly one answer comes back, a 400, the server closes the connection, and
 * neither the first nor the second document reaches the vault. A Content-Length that is
 * not plain digits is refused by h2o itself, closing, with nothing behind it served. A
 * truncated body is never accepted (by length or chunked). Imports framed by one plain
 * Content-Length share a connection, pipelined in one write or sent after the answer, and
 * a markr refusal after such a body keeps it too; one chunked coding alone imports, but
 * closes its connection after the answer, and a request pipelined behind it is never
 * served. GETs, one after the other or pipelined, share one connection. A target in
 * absolute form is served as its path, its authority checked in place of the Host header.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define MEDIA_TYPE "text/xml+markr"
#define WAIT_MS 30000 /* generous: the machine is shared */

static char *conninfo;
static struct markr_server srv;

static int connect_to(const struct markr_server *s)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        fd = -1;
    }
    assert_true(fd >= 0);
    return fd;
}

static void send_all(int fd, const char *text, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, text, len, MSG_NOSIGNAL);

        assert_true(n > 0);
        text += n;
        len -= (size_t)n;
    }
}

static double now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

/* Reads into buf (NUL-terminated) until the peer closes (returns 1) or WAIT_MS pass, the
 * buffer fills, or the connection breaks otherwise (0). */
static int read_to_close(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    double end = now_ms() + WAIT_MS;

    buf[0] = '\0';
    while (len + 1 < cap) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int left = (int)(end - now_ms());
        ssize_t n;

        if (left <= 0 || poll(&p, 1, left) != 1)
            return 0;
        if ((n = recv(fd, buf + len, cap - 1 - len, 0)) == 0)
            return 1;
        if (n < 0)
            return 0;
        len += (size_t)n;
        buf[len] = '\0';
    }
    return 0;
}

static int count_answers(const char *text)
{
    int n = 0;

    for (const char *p = text; (p = strstr(p, "HTTP/1.1 ")) != NULL; p += 9)
        ++n;
    return n;
}

/* A one-result document of test test_id. */
static size_t make_doc(char *buf, size_t cap, const char *test_id)
{
    int n = snprintf(buf, cap,
                     "<mcq-test-results><mcq-test-result><first-name>F</first-name><last-name>L</last-name>"
                     "<student-number>1</student-number><test-id>%s</test-id>"
                     "<summary-marks available=\"20\" obtained=\"13\"/></mcq-test-result></mcq-test-results>",
                     test_id);

    assert_true(n > 0 && (size_t)n < cap);
    return (size_t)n;
}

/* A whole pipelined request: an import of a document of test_id, framed correctly. */
static size_t make_import(char *buf, size_t cap, const char *test_id)
{
    char doc[512];
    size_t len = make_doc(doc, sizeof(doc), test_id);
    int n = snprintf(buf, cap,
                     "POST /import HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " MEDIA_TYPE
                     "\r\nContent-Length: %zu\r\n\r\n%s",
                     len, doc);

    assert_true(n > 0 && (size_t)n < cap);
    return (size_t)n;
}

static long status_of(const char *path)
{
    struct e2e_response r;
    long status;

    assert_int_equal(e2e_http(&srv, "GET", path, NULL, NULL, 0, &r), 0);
    status = r.status;
    e2e_response_free(&r);
    return status;
}

/* How many imports the vault holds (the suite stays far below one page). */
static size_t vault_count(void)
{
    struct e2e_response r;
    json_object *body, *items;
    size_t n;

    assert_int_equal(e2e_http(&srv, "GET", "/imports?limit=100", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(body = json_tokener_parse(r.body));
    assert_true(json_object_object_get_ex(body, "imports", &items));
    n = json_object_array_length(items);
    json_object_put(body);
    e2e_response_free(&r);
    return n;
}

/* Sends head (up to and including its blank line), body, and a correct import of
 * smuggled_test behind them, in one write. Expects exactly one answer, a 400, then the
 * server's close, and neither document stored. */
static void refused_and_closed(const char *head, const char *body, const char *first_test, const char *smuggled_test)
{
    char request[4096], second[1024], answer[8192], path[128];
    size_t before = vault_count(), n;
    int fd = connect_to(&srv);

    n = (size_t)snprintf(request, sizeof(request), "%s%s", head, body);
    memcpy(request + n, second, make_import(second, sizeof(second), smuggled_test));
    n += strlen(second);
    send_all(fd, request, n);
    assert_true(read_to_close(fd, answer, sizeof(answer)));
    close(fd);
    assert_int_equal(count_answers(answer), 1);
    assert_non_null(strstr(answer, "HTTP/1.1 400 "));
    assert_non_null(strstr(answer, "Connection: close"));
    snprintf(path, sizeof(path), "/results/%s/aggregate", smuggled_test);
    assert_int_equal(status_of(path), 404);
    snprintf(path, sizeof(path), "/results/%s/aggregate", first_test);
    assert_int_equal(status_of(path), 404);
    assert_int_equal(vault_count(), before);
}

static int suite_setup(void **state)
{
    const char *env[] = {"MARKR_WORKERS=2", NULL};

    (void)state;
    return e2e_suite_start("e2e_framing", env, &srv, &conninfo);
}

static int suite_teardown(void **state)
{
    (void)state;
    return e2e_suite_stop(&srv, conninfo);
}

/* The case: h2o would take the first length, 5, and read the rest as a request. */
static void conflicting_lengths_are_refused(void **state)
{
    char doc[512], head[512];
    size_t len = make_doc(doc, sizeof(doc), "framing-cl-first");

    (void)state;
    snprintf(head, sizeof(head),
             "POST /import HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " MEDIA_TYPE
             "\r\nContent-Length: 5\r\nContent-Length: %zu\r\n\r\n",
             len);
    refused_and_closed(head, doc, "framing-cl-first", "framing-cl-smuggled");
}

static void equal_lengths_are_refused(void **state)
{
    char doc[512], head[512];
    size_t len = make_doc(doc, sizeof(doc), "framing-eq-first");

    (void)state;
    snprintf(head, sizeof(head),
             "POST /import HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " MEDIA_TYPE
             "\r\nContent-Length: %zu\r\ncontent-length: %zu\r\n\r\n",
             len, len);
    refused_and_closed(head, doc, "framing-eq-first", "framing-eq-smuggled");
}

/* h2o would read the chunked body (empty) and then the document as the next request. */
static void length_with_chunked_is_refused(void **state)
{
    char doc[512], head[512], body[600];
    size_t len = make_doc(doc, sizeof(doc), "framing-te-first");

    (void)state;
    snprintf(body, sizeof(body), "%zx\r\n%s\r\n0\r\n\r\n", len, doc);
    snprintf(head, sizeof(head),
             "POST /import HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " MEDIA_TYPE
             "\r\nContent-Length: %zu\r\nTransfer-Encoding: chunked\r\n\r\n",
             strlen(body));
    refused_and_closed(head, body, "framing-te-first", "framing-te-smuggled");
    /* The other order, the length last. */
    snprintf(head, sizeof(head),
             "POST /import HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nContent-Type: " MEDIA_TYPE
             "\r\nContent-Length: 3\r\n\r\n");
    refused_and_closed(head, body, "framing-te-first", "framing-te-smuggled2");
}

/* h2o refuses a single unknown coding itself (before any handler); two headers whose last
 * is chunked it would accept, and that is refused here. */
static void other_transfer_codings_are_refused(void **state)
{
    static const char *const codings[] = {"Transfer-Encoding: gzip, chunked\r\n", "Transfer-Encoding: identity\r\n",
                                          "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"};
    char doc[512], head[512], body[600], smuggled[64];
    size_t len = make_doc(doc, sizeof(doc), "framing-tx-first");

    (void)state;
    snprintf(body, sizeof(body), "%zx\r\n%s\r\n0\r\n\r\n", len, doc);
    for (size_t i = 0; i < sizeof(codings) / sizeof(codings[0]); ++i) {
        snprintf(head, sizeof(head),
                 "POST /import HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " MEDIA_TYPE "\r\n%s\r\n", codings[i]);
        snprintf(smuggled, sizeof(smuggled), "framing-tx-smuggled-%zu", i);
        refused_and_closed(head, body, "framing-tx-first", smuggled);
    }
}

/* The refusal is a JSON problem of ours, which names the framing. */
static void the_refusal_says_why(void **state)
{
    static const char request[] = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n"
                                  "Content-Length: 0\r\n\r\n";
    char answer[4096];
    int fd = connect_to(&srv);

    (void)state;
    send_all(fd, request, strlen(request));
    assert_true(read_to_close(fd, answer, sizeof(answer)));
    close(fd);
    assert_non_null(strstr(answer, "HTTP/1.1 400 "));
    assert_non_null(strstr(answer, "application/json"));
    assert_non_null(strstr(answer, "\"ambiguous_framing\""));
    assert_non_null(strstr(answer, "more than one Content-Length"));
}

/* Half the declared body, then the client stops sending: no answer, nothing stored. */
static void a_truncated_body_is_never_accepted(void **state)
{
    char doc[512], request[1024], answer[4096];
    size_t len = make_doc(doc, sizeof(doc), "framing-truncated"), before = vault_count();
    int fd = connect_to(&srv), n;

    (void)state;
    n = snprintf(request, sizeof(request),
                 "POST /import HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " MEDIA_TYPE
                 "\r\nContent-Length: %zu\r\n\r\n%.*s",
                 len, (int)(len / 2), doc);
    send_all(fd, request, (size_t)n);
    shutdown(fd, SHUT_WR);
    assert_true(read_to_close(fd, answer, sizeof(answer)));
    close(fd);
    assert_int_equal(count_answers(answer), 0);
    assert_int_equal(status_of("/results/framing-truncated/aggregate"), 404);
    assert_int_equal(vault_count(), before);
}

/* A chunked body cut before its last chunk, then the client stops sending: no answer,
 * nothing stored. */
static void a_truncated_chunked_body_is_never_accepted(void **state)
{
    char doc[512], request[1024], answer[4096];
    size_t len = make_doc(doc, sizeof(doc), "framing-truncated-chunked"), before = vault_count();
    int fd = connect_to(&srv), n;

    (void)state;
    n = snprintf(request, sizeof(request),
                 "POST /import HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " MEDIA_TYPE
                 "\r\nTransfer-Encoding: chunked\r\n\r\n%zx\r\n%s\r\n",
                 len, doc);
    send_all(fd, request, (size_t)n);
    shutdown(fd, SHUT_WR);
    assert_true(read_to_close(fd, answer, sizeof(answer)));
    close(fd);
    assert_int_equal(count_answers(answer), 0);
    assert_int_equal(status_of("/results/framing-truncated-chunked/aggregate"), 404);
    assert_int_equal(vault_count(), before);
}

/* One chunked Transfer-Encoding alone is a correct framing: imported. But a proxy that
 * ignored the coding would read the chunks as requests, so the connection closes after the
 * answer and an import pipelined behind it is never served. */
static void a_chunked_import_is_accepted_then_closed(void **state)
{
    char doc[512], request[2048], answer[8192];
    size_t len = make_doc(doc, sizeof(doc), "framing-chunked"), half = len / 2, before = vault_count();
    int fd = connect_to(&srv), n;

    (void)state;
    n = snprintf(request, sizeof(request),
                 "POST /import HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " MEDIA_TYPE
                 "\r\nTransfer-Encoding: chunked\r\n\r\n%zx\r\n%.*s\r\n%zx\r\n%s\r\n0\r\n\r\n",
                 half, (int)half, doc, len - half, doc + half);
    assert_true(n > 0 && (size_t)n < sizeof(request));
    n += (int)make_import(request + n, sizeof(request) - (size_t)n, "framing-chunked-behind");
    send_all(fd, request, (size_t)n);
    assert_true(read_to_close(fd, answer, sizeof(answer)));
    close(fd);
    assert_int_equal(count_answers(answer), 1);
    assert_non_null(strstr(answer, "HTTP/1.1 201 "));
    assert_non_null(strstr(answer, "Connection: close"));
    assert_int_equal(status_of("/results/framing-chunked/aggregate"), 200);
    assert_int_equal(status_of("/results/framing-chunked-behind/aggregate"), 404);
    assert_int_equal(vault_count(), before + 1);
}

/* Answer i of text is a 201 that keeps the connection. */
static void created_and_kept(const char *text, int i)
{
    const char *answer = e2e_answer(text, i), *next = e2e_answer(text, i + 1), *kept;

    assert_non_null(answer);
    assert_memory_equal(answer, "HTTP/1.1 201 ", 13);
    kept = strstr(answer, "Connection: keep-alive\r\n");
    assert_true(kept != NULL && (next == NULL || kept < next));
}

/* A GET on fd is still answered: the connection was kept. */
static void still_open(int fd)
{
    static const char get[] = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    char answer[4096];

    send_all(fd, get, strlen(get));
    assert_true(e2e_read_answers(fd, answer, sizeof(answer), 1, WAIT_MS));
    assert_memory_equal(answer, "HTTP/1.1 200 ", 13);
    assert_non_null(strstr(answer, "Connection: keep-alive"));
}

/* One plain Content-Length frames a body the same way for every parser: two imports in one
 * write are both answered, in order, both stored, and the connection stays open. */
static void pipelined_imports_share_a_connection(void **state)
{
    char request[4096], answer[8192];
    size_t n = make_import(request, sizeof(request), "framing-keep-first"), before = vault_count();
    int fd = connect_to(&srv);

    (void)state;
    n += make_import(request + n, sizeof(request) - n, "framing-keep-second");
    send_all(fd, request, n);
    assert_true(e2e_read_answers(fd, answer, sizeof(answer), 2, WAIT_MS));
    created_and_kept(answer, 0);
    created_and_kept(answer, 1);
    assert_null(e2e_answer(answer, 2));
    still_open(fd);
    close(fd);
    assert_int_equal(status_of("/results/framing-keep-first/aggregate"), 200);
    assert_int_equal(status_of("/results/framing-keep-second/aggregate"), 200);
    assert_int_equal(vault_count(), before + 2);
}

/* The same, the second import sent only once the first is answered (as a client that
 * reuses its connection does). */
static void an_import_after_an_answer_reuses_the_connection(void **state)
{
    char request[2048], answer[8192];
    size_t before = vault_count();
    int fd = connect_to(&srv);

    (void)state;
    send_all(fd, request, make_import(request, sizeof(request), "framing-reuse-first"));
    assert_true(e2e_read_answers(fd, answer, sizeof(answer), 1, WAIT_MS));
    created_and_kept(answer, 0);
    send_all(fd, request, make_import(request, sizeof(request), "framing-reuse-second"));
    assert_true(e2e_read_answers(fd, answer, sizeof(answer), 1, WAIT_MS));
    created_and_kept(answer, 0);
    still_open(fd);
    close(fd);
    assert_int_equal(status_of("/results/framing-reuse-first/aggregate"), 200);
    assert_int_equal(status_of("/results/framing-reuse-second/aggregate"), 200);
    assert_int_equal(vault_count(), before + 2);
}

/* markr's own refusal after a plainly framed body (here 415: no Content-Type) is sent once
 * the whole body is read (h2o reads it before any handler runs): nothing of it is left to
 * be read as a request, so the connection is kept and the next import is served. */
static void a_refusal_after_a_plain_body_keeps_the_connection(void **state)
{
    char doc[512], request[4096], answer[8192];
    size_t len = make_doc(doc, sizeof(doc), "framing-refused-kept"), before = vault_count();
    int fd = connect_to(&srv), n;

    (void)state;
    n = snprintf(request, sizeof(request), "POST /import HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %zu\r\n\r\n%s",
                 len, doc);
    assert_true(n > 0 && (size_t)n < sizeof(request));
    n += (int)make_import(request + n, sizeof(request) - (size_t)n, "framing-after-refusal");
    send_all(fd, request, (size_t)n);
    assert_true(e2e_read_answers(fd, answer, sizeof(answer), 2, WAIT_MS));
    assert_memory_equal(answer, "HTTP/1.1 415 ", 13);
    assert_non_null(strstr(answer, "Connection: keep-alive"));
    created_and_kept(answer, 1);
    still_open(fd);
    close(fd);
    assert_int_equal(status_of("/results/framing-refused-kept/aggregate"), 404);
    assert_int_equal(status_of("/results/framing-after-refusal/aggregate"), 200);
    assert_int_equal(vault_count(), before + 1);
}

/* A Content-Length that is not plain digits (a sign, a list, hexadecimal, white space
 * after, a fraction, more than 19 digits) could be read another way by another parser.
 * h2o 2.2.5 reads the value with h2o_strtosize, digits only, and refuses each of these
 * itself (400, closing) before any handler; were one accepted, framing.c would not call it
 * plain and the connection would close after its answer all the same. Nothing pipelined
 * behind it is ever served. */
static void a_length_that_is_not_plain_digits_is_never_kept(void **state)
{
    char doc[512], head[1024], smuggled[64];
    size_t len = make_doc(doc, sizeof(doc), "framing-odd-first");
    char spellings[7][64];

    (void)state;
    assert_true(len >= 100 && len <= 999); /* three digits: 000...0len has 21 */
    snprintf(spellings[0], sizeof(spellings[0]), "+%zu", len);
    snprintf(spellings[1], sizeof(spellings[1]), "%zu,%zu", len, len);
    snprintf(spellings[2], sizeof(spellings[2]), "%zu, %zu", len, len);
    snprintf(spellings[3], sizeof(spellings[3]), "0x%zx", len);
    snprintf(spellings[4], sizeof(spellings[4]), "%zu ", len);
    snprintf(spellings[5], sizeof(spellings[5]), "%zu.0", len);
    snprintf(spellings[6], sizeof(spellings[6]), "000000000000000000%zu", len);
    for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]); ++i) {
        snprintf(head, sizeof(head),
                 "POST /import HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " MEDIA_TYPE
                 "\r\nContent-Length: %s\r\n\r\n",
                 spellings[i]);
        snprintf(smuggled, sizeof(smuggled), "framing-odd-smuggled-%zu", i);
        refused_and_closed(head, doc, "framing-odd-first", smuggled);
    }
}

/* Three GETs one after the other on one connection, each answered, the connection kept. */
static void keep_alive_gets_share_a_connection(void **state)
{
    static const char get[] = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    char answer[4096];
    int fd = connect_to(&srv);

    (void)state;
    for (int i = 0; i < 3; ++i) {
        send_all(fd, get, strlen(get));
        assert_true(e2e_read_until(fd, answer, sizeof(answer), "}", WAIT_MS));
        assert_non_null(strstr(answer, "HTTP/1.1 200 "));
        assert_non_null(strstr(answer, "Connection: keep-alive"));
    }
    /* Pipelined: two GETs in one write, two answers in order. */
    {
        char two[256], both[8192];
        int n = snprintf(two, sizeof(two), "%s%s", get, get);
        size_t got = 0;
        double end = now_ms() + WAIT_MS;

        send_all(fd, two, (size_t)n);
        both[0] = '\0';
        /* Until the second answer's JSON body has arrived. */
        while (count_answers(both) < 2 || strchr(strstr(strstr(both, "HTTP/1.1 ") + 9, "HTTP/1.1 "), '}') == NULL) {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            int left = (int)(end - now_ms());
            ssize_t r;

            assert_true(left > 0 && poll(&p, 1, left) == 1);
            assert_true((r = recv(fd, both + got, sizeof(both) - 1 - got, 0)) > 0);
            got += (size_t)r;
            both[got] = '\0';
        }
        assert_int_equal(count_answers(both), 2);
    }
    close(fd);
}

/* HEAD on an answer that is streamed (an export as CSV, a stored body, an event stream),
 * pipelined with a GET on the same connection: the HEAD gets the GET's head and no body, so
 * that the next bytes are the GET's answer (a body after the head would be read as its
 * start). A server that closes the connection after the HEAD instead sends nothing more. */
static void a_head_of_a_streamed_answer_sends_no_body(void **state)
{
    static const char health[] = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    const char *paths[] = {"/tests?format=csv", NULL, "/events"};
    char raw[64], request[512], answer[16384];
    struct e2e_response r;
    char *doc = e2e_results_document("head-streamed", 3, 0);
    const char *id;

    (void)state;
    assert_int_equal(e2e_http(&srv, "POST", "/import", MEDIA_TYPE, doc, strlen(doc), &r), 0);
    free(doc);
    assert_int_equal(r.status, 201);
    assert_non_null(id = strstr(r.body, "\"import_id\":"));
    snprintf(raw, sizeof(raw), "/imports/%ld/raw", strtol(id + strlen("\"import_id\":"), NULL, 10));
    e2e_response_free(&r);
    paths[1] = raw;
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); ++i) {
        int fd = connect_to(&srv), n;
        const char *head_end;
        int answered;

        n = snprintf(request, sizeof(request), "HEAD %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n%s", paths[i], health);
        send_all(fd, request, (size_t)n);
        /* Until the health check's JSON body has come (or the server closed). */
        answered = e2e_read_until(fd, answer, sizeof(answer), "\"UP\"", WAIT_MS);
        close(fd);
        assert_int_equal(strncmp(answer, "HTTP/1.1 200 ", 13), 0);
        assert_non_null(head_end = strstr(answer, "\r\n\r\n"));
        head_end += 4;
        if (answered)
            assert_int_equal(strncmp(head_end, "HTTP/1.1 200 ", 13), 0);
        else
            assert_string_equal(head_end, "");
    }
}

/* One request over its own connection, "Connection: close" added after the head's first
 * line: the whole answer, read to the server's close. */
static void exchange(const char *request_line, const char *headers, const char *body, char *answer, size_t cap)
{
    char request[4096];
    int fd = connect_to(&srv);
    int n = snprintf(request, sizeof(request), "%s\r\nConnection: close\r\n%s\r\n%s", request_line, headers,
                     body != NULL ? body : "");

    assert_true(n > 0 && (size_t)n < sizeof(request));
    send_all(fd, request, (size_t)n);
    assert_true(read_to_close(fd, answer, cap));
    close(fd);
}

/* A target in absolute form (RFC 9112, section 3.2.2) is served as its path, query
 * included, whatever the case of its scheme; its authority, not the Host header, is the one
 * the Host rule checks; one without a host or with user info is a 400 that says so. */
static void an_absolute_target_is_served_as_its_path(void **state)
{
    char line[256], headers[256], doc[512], answer[8192];
    size_t len = make_doc(doc, sizeof(doc), "absolute-form");

    (void)state;
    snprintf(line, sizeof(line), "GET http://127.0.0.1:%d/health HTTP/1.1", srv.port);
    exchange(line, "Host: 127.0.0.1\r\n", NULL, answer, sizeof(answer));
    assert_int_equal(strncmp(answer, "HTTP/1.1 200 ", 13), 0);
    assert_non_null(strstr(answer, "\"UP\""));

    snprintf(line, sizeof(line), "POST HTTP://localhost:%d/import HTTP/1.1", srv.port);
    snprintf(headers, sizeof(headers), "Host: 127.0.0.1\r\nContent-Type: " MEDIA_TYPE "\r\nContent-Length: %zu\r\n",
             len);
    exchange(line, headers, doc, answer, sizeof(answer));
    assert_int_equal(strncmp(answer, "HTTP/1.1 201 ", 13), 0);
    exchange("GET http://127.0.0.1/results/absolute-form/aggregate?x=1 HTTP/1.1", "Host: 127.0.0.1\r\n", NULL, answer,
             sizeof(answer));
    assert_int_equal(strncmp(answer, "HTTP/1.1 400 ", 13), 0); /* the query was read: x is unknown */
    assert_non_null(strstr(answer, "unknown parameter 'x'"));
    exchange("GET http://127.0.0.1/results/absolute-form/aggregate HTTP/1.1", "Host: 127.0.0.1\r\n", NULL, answer,
             sizeof(answer));
    assert_int_equal(strncmp(answer, "HTTP/1.1 200 ", 13), 0);
    assert_non_null(strstr(answer, "\"count\":1"));
    /* No path is the root. */
    exchange("GET http://127.0.0.1 HTTP/1.1", "Host: 127.0.0.1\r\n", NULL, answer, sizeof(answer));
    assert_null(strstr(answer, "HTTP/1.1 400 "));
    assert_null(strstr(answer, "HTTP/1.1 404 "));

    /* The target's authority is the request's: a name this server does not answer to is
     * refused whatever the Host header says, and an allowed one admits an odd Host. */
    exchange("GET http://rebound.example/health HTTP/1.1", "Host: 127.0.0.1\r\n", NULL, answer, sizeof(answer));
    assert_int_equal(strncmp(answer, "HTTP/1.1 421 ", 13), 0);
    exchange("GET http://localhost/health HTTP/1.1", "Host: rebound.example\r\n", NULL, answer, sizeof(answer));
    assert_int_equal(strncmp(answer, "HTTP/1.1 200 ", 13), 0);

    exchange("GET http:///health HTTP/1.1", "Host: 127.0.0.1\r\n", NULL, answer, sizeof(answer));
    assert_int_equal(strncmp(answer, "HTTP/1.1 400 ", 13), 0);
    assert_non_null(strstr(answer, "\"bad_request_target\""));
    exchange("GET http://user@127.0.0.1/health HTTP/1.1", "Host: 127.0.0.1\r\n", NULL, answer, sizeof(answer));
    assert_int_equal(strncmp(answer, "HTTP/1.1 400 ", 13), 0);
    assert_non_null(strstr(answer, "\"bad_request_target\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(conflicting_lengths_are_refused),
        cmocka_unit_test(equal_lengths_are_refused),
        cmocka_unit_test(length_with_chunked_is_refused),
        cmocka_unit_test(other_transfer_codings_are_refused),
        cmocka_unit_test(the_refusal_says_why),
        cmocka_unit_test(a_truncated_body_is_never_accepted),
        cmocka_unit_test(a_truncated_chunked_body_is_never_accepted),
        cmocka_unit_test(a_length_that_is_not_plain_digits_is_never_kept),
        cmocka_unit_test(a_chunked_import_is_accepted_then_closed),
        cmocka_unit_test(pipelined_imports_share_a_connection),
        cmocka_unit_test(an_import_after_an_answer_reuses_the_connection),
        cmocka_unit_test(a_refusal_after_a_plain_body_keeps_the_connection),
        cmocka_unit_test(keep_alive_gets_share_a_connection),
        cmocka_unit_test(a_head_of_a_streamed_answer_sends_no_body),
        cmocka_unit_test(an_absolute_target_is_served_as_its_path),
    };

    return cmocka_run_group_tests(tests, suite_setup, suite_teardown);
}
