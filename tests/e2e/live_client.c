/*
 * What the live end-to-end tests do to a server and observe of it (live_client.h): imports,
 * aggregate reads, its log and gauges, a raw SSE client over loopback, and the server
 * process's open descriptors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "live_client.h"

double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Count the open descriptors of a server process. */
int open_fds(const struct markr_server *srv)
{
    char path[64];
    DIR *dir;
    int n = 0;

    snprintf(path, sizeof(path), "/proc/%d/fd", (int)srv->pid);
    assert_non_null(dir = opendir(path));
    while (readdir(dir) != NULL)
        ++n;
    closedir(dir);
    return n - 2;
}

/* The descriptor count once connections our earlier requests left have been closed: the
 * same for 200 ms running. */
int settled_fds(const struct markr_server *srv)
{
    int n = open_fds(srv), same = 0;

    for (int i = 0; i < 300 && same < 10; ++i) {
        int m;

        usleep(20000);
        m = open_fds(srv);
        same = m == n ? same + 1 : 0;
        n = m;
    }
    return n;
}

/* --- a raw SSE client: HTTP/1.0, so the stream is the body as is (no chunking) ---------------- */


void sse_open(struct sse *s, const struct markr_server *srv, const char *path, int rcvbuf)
{
    sse_open_with(s, srv, path, rcvbuf, "");
}

void sse_open_with(struct sse *s, const struct markr_server *srv, const char *path, int rcvbuf, const char *headers)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv->port)};
    size_t cap = strlen(path) + strlen(headers) + 64;
    char *req = malloc(cap);
    ssize_t sent = 0;
    int rc;

    assert_non_null(req);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    memset(s, 0, sizeof(*s));
    assert_true((s->fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
    if (rcvbuf > 0)
        setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    snprintf(req, cap, "GET %s HTTP/1.0\r\nHost: localhost\r\n%s\r\n", path, headers);
    /* Checked by hand, to close the socket before failing. */
    if ((rc = connect(s->fd, (struct sockaddr *)&addr, sizeof(addr))) != 0) {
        print_error("ERROR: cannot connect to port %d: %s\n", srv->port, strerror(errno));
    } else {
        for (ssize_t n = 0; (size_t)sent < strlen(req) && (n = write(s->fd, req + sent, strlen(req) - (size_t)sent)) > 0;)
            sent += n;
        if ((size_t)sent == strlen(req)) {
            free(req);
            return;
        }
        print_error("ERROR: sent %lld of the request's %zu bytes\n", (long long)sent, strlen(req));
    }
    free(req);
    close(s->fd);
    s->fd = -1;
    fail();
}

/* Reads until needle appears after offset *from (then *from moves past it). Returns the time
 * it was seen, or fails after timeout_ms. */
double sse_wait(struct sse *s, size_t *from, const char *needle, int timeout_ms)
{
    double deadline = now_ms() + timeout_ms;

    for (;;) {
        char *hit;
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        int left = (int)(deadline - now_ms());
        ssize_t n;

        s->buf[s->len] = '\0';
        if ((hit = strstr(s->buf + *from, needle)) != NULL) {
            *from = (size_t)(hit - s->buf) + strlen(needle);
            return now_ms();
        }
        if (left <= 0 || poll(&p, 1, left) <= 0)
            fail_msg("no '%s' within %d ms; got: %s", needle, timeout_ms, s->buf);
        n = read(s->fd, s->buf + s->len, sizeof(s->buf) - 1 - s->len);
        if (n <= 0)
            fail_msg("stream closed before '%s': %s", needle, s->buf);
        s->len += (size_t)n;
    }
}

void sse_close(struct sse *s)
{
    close(s->fd);
}

/* --- imports, reads, the log and the gauges -------------------------------------------------- */

void import_doc(const struct markr_server *srv, const char *fmt, ...)
{
    char doc[4096];
    struct e2e_response r;
    va_list ap;
    int rc, failed = 1;

    va_start(ap, fmt);
    vsnprintf(doc, sizeof(doc), fmt, ap);
    va_end(ap);
    rc = e2e_http(srv, "POST", "/import", MEDIA_TYPE, doc, strlen(doc), &r);
    /* Said, freed, then failed: fail() leaves by longjmp, past any free after it. */
    if (rc != 0)
        print_error("ERROR: the request got no answer (harness status %d)\n", rc);
    else if (r.status != 201)
        print_error("ERROR: import: %ld %s\n", r.status, r.body);
    else
        failed = 0;
    e2e_response_free(&r);
    if (failed)
        fail();
}


/* count and mean of a test's aggregate from srv; count -1 when 404. */
void read_aggregate(const struct markr_server *srv, const char *test, long *count, double *mean)
{
    char path[256];
    struct e2e_response r;
    json_object *obj = NULL, *v;
    int rc, failed = 1;

    snprintf(path, sizeof(path), "/results/%s/aggregate", test);
    rc = e2e_http(srv, "GET", path, NULL, NULL, 0, &r);
    *count = -1;
    *mean = NAN;
    /* The checks of assert_int_equal, assert_non_null and assert_true spelled out: what went
     * wrong is said, r and obj are released, then fail() leaves by longjmp. */
    if (rc != 0) {
        print_error("ERROR: the request got no answer (harness status %d)\n", rc);
    } else if (r.status == 404) {
        failed = 0;
    } else if (r.status != 200) {
        print_error("ERROR: GET %s: %ld %s\n", path, r.status, r.body);
    } else if ((obj = json_tokener_parse(r.body)) == NULL) {
        print_error("obj = json_tokener_parse(r.body)\n");
    } else if (!json_object_object_get_ex(obj, "count", &v)) {
        print_error("json_object_object_get_ex(obj, \"count\", &v)\n");
    } else {
        *count = (long)json_object_get_int64(v);
        if (!json_object_object_get_ex(obj, "mean", &v)) {
            print_error("json_object_object_get_ex(obj, \"mean\", &v)\n");
        } else {
            *mean = json_object_get_double(v);
            failed = 0;
        }
    }
    json_object_put(obj);
    e2e_response_free(&r);
    if (failed)
        fail();
}

/* Reads srv until test shows count and mean; returns the milliseconds that took after `since`.
 * Fails past 2 s. Once right, the next reads must stay right. */
double wait_exact(const struct markr_server *srv, const char *test, long count, double mean, double since)
{
    long c;
    double m, took;

    for (;;) {
        read_aggregate(srv, test, &c, &m);
        took = now_ms() - since;
        if (c == count && fabs(m - mean) < 1e-9)
            break;
        if (took > 2000)
            fail_msg("%s: still count %ld mean %g, expected %ld %g after %.0f ms", test, c, m, count, mean, took);
        usleep(1000);
    }
    for (int i = 0; i < 3; ++i) {
        read_aggregate(srv, test, &c, &m);
        assert_int_equal(c, count);
        assert_true(fabs(m - mean) < 1e-9);
    }
    return took;
}


/* How many times the log says `needle`. */
int log_count(const struct markr_server *srv, const char *needle)
{
    size_t len;
    char *log = e2e_read_file(srv->log_path, &len);
    int seen = 0;

    for (char *p = log; p != NULL && (p = strstr(p, needle)) != NULL; p += strlen(needle))
        ++seen;
    free(log);
    return seen;
}

/* Waits until the server's log has said `line` `times` times (the feed's up/down lines). */
void wait_log(const struct markr_server *srv, const char *line, int times)
{
    double deadline = now_ms() + 10000;

    while (now_ms() < deadline) {
        if (log_count(srv, line) >= times)
            return;
        usleep(10000);
    }
    fail_msg("%s never said '%s' %d times", srv->log_path, line, times);
}


/* Waits until srv's gauge `sample` is at most `at_most`; returns the milliseconds it took, or
 * fails after timeout_ms. */
double wait_metric_at_most(const struct markr_server *srv, const char *sample, long at_most, int timeout_ms)
{
    double start = now_ms();
    long v;

    while ((v = e2e_metric(srv, sample)) > at_most || v < 0) {
        if (now_ms() - start > timeout_ms)
            fail_msg("%s is still %ld after %d ms, expected at most %ld", sample, v, timeout_ms, at_most);
        usleep(2000);
    }
    return now_ms() - start;
}

/* One import of `tests` tests through srv whose marks all rise to `obtained` (so each is
 * announced): an /events event of about 60 bytes per test. */
void import_many_tests(const struct markr_server *srv, int tests, int obtained)
{
    size_t cap = (size_t)tests * 320 + 64, len = 0;
    char *doc = malloc(cap);
    struct e2e_response r;
    int rc;

    assert_non_null(doc);
    len += (size_t)snprintf(doc + len, cap - len, "<mcq-test-results>");
    for (int i = 0; i < tests; ++i)
        len += (size_t)snprintf(doc + len, cap - len,
                                "<mcq-test-result><student-number>behind</student-number>"
                                "<test-id>behind-%03d-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx</test-id>"
                                "<summary-marks available=\"1000\" obtained=\"%d\"/></mcq-test-result>",
                                i, obtained);
    len += (size_t)snprintf(doc + len, cap - len, "</mcq-test-results>");
    rc = e2e_http(srv, "POST", "/import", MEDIA_TYPE, doc, len, &r);
    free(doc);
    if (rc != 0 || r.status != 201) {
        print_error("ERROR: import of %d tests: %d %ld %s\n", tests, rc, r.status, r.body != NULL ? r.body : "");
        e2e_response_free(&r);
        fail();
    }
    e2e_response_free(&r);
}

/* Reads the next import event of s and forgets what came before (its buffer stays small). */
void next_import_event(struct sse *s)
{
    size_t at = 0;

    sse_wait(s, &at, "event: import\ndata: {\"import_id\":", 5000);
    sse_wait(s, &at, "}\n\n", 5000);
    memmove(s->buf, s->buf + at, s->len - at);
    s->len -= at;
}
