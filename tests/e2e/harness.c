/*
 * Process and HTTP plumbing for the end-to-end suites. The server's stderr goes to a log
 * file that is polled for its msg=listening line, so a chatty server never blocks on a
 * full pipe; when the server is stopped, every line of that file must be logfmt
 * (logfmt.h), or the test that stopped it fails.
 */
#include "harness.h"

#include "logfmt.h"
#include "test_db.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *binary(void)
{
    const char *path = getenv("MARKR_BINARY");

    if (path == NULL) {
        fprintf(stderr, "MARKR_BINARY is not set: run the suites with `make test` or `meson test`\n");
        abort();
    }
    return path;
}

static void put_settings(const char *conninfo, const char *const *env)
{
    setenv("DATABASE_URL", conninfo, 1);
    for (; env != NULL && *env != NULL; ++env) {
        char *copy = strdup(*env), *eq = strchr(copy, '=');

        *eq = '\0';
        setenv(copy, eq + 1, 1);
        free(copy);
    }
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* The servers started and not stopped yet. A test that fails jumps past its own stop (cmocka
 * leaves a test at its first failed assertion); the process ends what is left on its way
 * out, so that a failed run leaves no server behind. */
#define LIVE_MAX 64
static pid_t live[LIVE_MAX];

static void end_live_servers(void)
{
    for (int i = 0; i < LIVE_MAX; ++i) {
        /* Only a child of this process that has not been reaped: a pid that a test reaped
         * itself may belong to another process by now. */
        if (live[i] > 0 && waitpid(live[i], NULL, WNOHANG) == 0) {
            kill(live[i], SIGKILL);
            while (waitpid(live[i], NULL, 0) < 0 && errno == EINTR)
                ;
        }
        live[i] = 0;
    }
}

/* Adds pid to the live servers (on), or removes it. */
static void track(pid_t pid, int on)
{
    static int registered;

    if (!registered)
        registered = atexit(end_live_servers) == 0;
    for (int i = 0; i < LIVE_MAX; ++i)
        if (on ? live[i] == 0 : live[i] == pid) {
            live[i] = on ? pid : 0;
            return;
        }
}

int e2e_server_start(struct markr_server *server, const char *conninfo, const char *const *env)
{
    static int serial;

    memset(server, 0, sizeof(*server));
    snprintf(server->log_path, sizeof(server->log_path), "/tmp/markr-e2e-%d-%d.log", (int)getpid(), ++serial);
    /* A log of an earlier run may have this name (process ids come round again): gone before
     * the fork, so the msg=listening read below can only be this server's. */
    unlink(server->log_path);
    if ((server->pid = fork()) == 0) {
        int fd = open(server->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

        dup2(fd, 1);
        dup2(fd, 2);
        setenv("MARKR_LISTEN", "127.0.0.1:0", 1);
        unsetenv("MARKR_WORKERS");
        put_settings(conninfo, env);
        execl(binary(), binary(), "serve", (char *)NULL);
        _exit(127);
    }
    if (server->pid > 0)
        track(server->pid, 1);
    for (int waited = 0; waited < 15000; waited += 10) {
        static const char listening[] = " msg=listening addr=127.0.0.1:";
        char line[256];
        FILE *log = fopen(server->log_path, "r");
        int status;

        while (log != NULL && fgets(line, sizeof(line), log) != NULL) {
            const char *at = strstr(line, listening);

            if (at != NULL) {
                server->port = atoi(at + strlen(listening));
                snprintf(server->base_url, sizeof(server->base_url), "http://127.0.0.1:%d", server->port);
                fclose(log);
                return 0;
            }
        }
        if (log != NULL)
            fclose(log);
        if (waitpid(server->pid, &status, WNOHANG) == server->pid) {
            track(server->pid, 0);
            server->pid = 0;
            break;
        }
        sleep_ms(10);
    }
    {
        size_t len;
        char *log = e2e_read_file(server->log_path, &len);

        fprintf(stderr, "markr serve did not start; its log:\n%s\n", log);
        free(log);
    }
    if (server->pid > 0)
        e2e_server_stop(server, SIGKILL);
    return -1;
}

int e2e_server_stop(struct markr_server *server, int sig)
{
    int status = -1, bad;

    if (server->pid <= 0)
        return -1;
    kill(server->pid, sig);
    while (waitpid(server->pid, &status, 0) < 0 && errno == EINTR)
        ;
    track(server->pid, 0);
    server->pid = 0;
    /* Everything markr serve prints is structured: a raw line fails whoever stopped it. */
    if ((bad = e2e_logfmt_check_file(server->log_path, 5)) != 0)
        fail_msg("markr serve wrote %d line(s) that are not logfmt to %s (shown above)", bad, server->log_path);
    return status;
}

int e2e_server_stop_clean(struct markr_server *server)
{
    int status = e2e_server_stop(server, SIGTERM);

    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    fprintf(stderr, "markr serve did not stop cleanly (status %d); see %s\n", status, server->log_path);
    return -1;
}

int e2e_migrate(const char *conninfo)
{
    const char *argv[] = {"migrate", NULL};
    char *output = NULL;
    int rc = e2e_run_cli(conninfo, argv, NULL, &output);

    if (rc != 0)
        fprintf(stderr, "markr migrate failed (%d): %s\n", rc, output != NULL ? output : "");
    free(output);
    return rc;
}

int e2e_suite_start(const char *prefix, const char *const *env, struct markr_server *server, char **conninfo)
{
    if ((*conninfo = markr_test_db_create(prefix)) == NULL)
        return -1;
    return e2e_migrate(*conninfo) == 0 && e2e_server_start(server, *conninfo, env) == 0 ? 0 : -1;
}

int e2e_suite_stop(struct markr_server *server, char *conninfo)
{
    int rc = e2e_server_stop_clean(server);

    if (conninfo != NULL)
        markr_test_db_drop(conninfo);
    free(conninfo);
    return rc;
}

int e2e_run_cli(const char *conninfo, const char *const *argv, const char *const *env, char **output)
{
    return e2e_run_cli_in(NULL, conninfo, argv, env, output);
}

int e2e_run_cli_in(const char *dir, const char *conninfo, const char *const *argv, const char *const *env,
                   char **output)
{
    char path[128];
    int status;
    size_t len;
    pid_t pid;

    snprintf(path, sizeof(path), "/tmp/markr-e2e-cli-%d.out", (int)getpid());
    if ((pid = fork()) == 0) {
        const char *args[32] = {binary()};
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        size_t n = 1;

        dup2(fd, 1);
        dup2(fd, 2);
        if (dir != NULL && chdir(dir) != 0)
            _exit(126);
        if (conninfo != NULL)
            put_settings(conninfo, env);
        else
            put_settings("", env);
        for (; argv[n - 1] != NULL && n < 31; ++n)
            args[n] = argv[n - 1];
        args[n] = NULL;
        execv(binary(), (char *const *)args);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    *output = e2e_read_file(path, &len);
    unlink(path);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct sink {
    char *data;
    size_t len;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct sink *sink = userdata;
    size_t n = size * nmemb;
    char *grown = realloc(sink->data, sink->len + n + 1);

    if (grown == NULL)
        return 0;
    memcpy(grown + sink->len, ptr, n);
    sink->data = grown;
    sink->len += n;
    sink->data[sink->len] = '\0';
    return n;
}

/* Copies the value of line into dst when line is header name's. Returns 1 then, else 0. */
static int copy_header(const char *line, size_t len, const char *name, char *dst, size_t cap)
{
    size_t name_len = strlen(name);

    if (len > name_len + 1 && strncasecmp(line, name, name_len) == 0 && line[name_len] == ':') {
        const char *v = line + name_len + 1;
        size_t vlen = len - name_len - 1;

        while (vlen > 0 && (*v == ' ' || *v == '\t'))
            ++v, --vlen;
        while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n'))
            --vlen;
        if (vlen >= cap)
            vlen = cap - 1;
        memcpy(dst, v, vlen);
        dst[vlen] = '\0';
        return 1;
    }
    return 0;
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *userdata)
{
    struct e2e_response *r = userdata;
    size_t len = size * nmemb;

    copy_header(line, len, "content-type", r->content_type, sizeof(r->content_type));
    copy_header(line, len, "location", r->location, sizeof(r->location));
    copy_header(line, len, "retry-after", r->retry_after, sizeof(r->retry_after));
    copy_header(line, len, "x-request-id", r->request_id, sizeof(r->request_id));
    copy_header(line, len, "allow", r->allow, sizeof(r->allow));
    copy_header(line, len, "www-authenticate", r->www_authenticate, sizeof(r->www_authenticate));
    copy_header(line, len, "x-content-type-options", r->nosniff, sizeof(r->nosniff));
    copy_header(line, len, "content-security-policy", r->csp, sizeof(r->csp));
    copy_header(line, len, "referrer-policy", r->referrer_policy, sizeof(r->referrer_policy));
    if (strncmp(line, "HTTP/", 5) == 0) /* a new answer (after a 100 Continue): only its own */
        r->headers_len = 0;
    if (len < sizeof(r->headers) - r->headers_len) {
        memcpy(r->headers + r->headers_len, line, len);
        r->headers_len += len;
        r->headers[r->headers_len] = '\0';
    }
    return len;
}

const char *e2e_header(const struct e2e_response *r, const char *name, char *dst, size_t cap)
{
    size_t at = 0;

    while (at < r->headers_len) {
        const char *line = r->headers + at, *end = memchr(line, '\n', r->headers_len - at);
        size_t len = end != NULL ? (size_t)(end - line) + 1 : r->headers_len - at;

        if (copy_header(line, len, name, dst, cap))
            return dst;
        at += len;
    }
    dst[0] = '\0';
    return NULL;
}

int e2e_http(const struct markr_server *server, const char *method, const char *path, const char *content_type,
             const char *body, size_t len, struct e2e_response *out)
{
    return e2e_http_with(server, method, path, content_type, NULL, body, len, out);
}

int e2e_http_with(const struct markr_server *server, const char *method, const char *path, const char *content_type,
                  const char *const *extra_headers, const char *body, size_t len, struct e2e_response *out)
{
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = NULL;
    struct sink sink = {0};
    char url[4096], header[256];
    CURLcode rc;

    memset(out, 0, sizeof(*out));
    snprintf(url, sizeof(url), "%s%s", server->base_url, path);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    if (body != NULL) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    if (content_type != NULL) {
        snprintf(header, sizeof(header), "Content-Type: %s", content_type);
        headers = curl_slist_append(headers, header);
    } else {
        headers = curl_slist_append(headers, "Content-Type:"); /* curl would add a form type */
    }
    for (; extra_headers != NULL && *extra_headers != NULL; ++extra_headers)
        headers = curl_slist_append(headers, *extra_headers);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
    rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    out->body = sink.data != NULL ? sink.data : strdup("");
    out->len = sink.len;
    if (rc != CURLE_OK)
        fprintf(stderr, "%s %s: %s\n", method, path, curl_easy_strerror(rc));
    return rc == CURLE_OK ? 0 : -1;
}

void e2e_response_free(struct e2e_response *r)
{
    free(r->body);
    r->body = NULL;
}

char *e2e_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long size;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "cannot read %s: %s\n", path, strerror(errno));
        abort();
    }
    buf = malloc((size_t)size + 1);
    if (buf == NULL || fread(buf, 1, (size_t)size, f) != (size_t)size)
        abort();
    buf[size] = '\0';
    *len = (size_t)size;
    fclose(f);
    return buf;
}

long e2e_metric(const struct markr_server *server, const char *sample)
{
    struct e2e_response r;
    size_t n = strlen(sample);
    long value = -1;

    if (e2e_http(server, "GET", "/metrics", NULL, NULL, 0, &r) != 0)
        return -1;
    for (const char *line = r.status == 200 ? r.body : NULL; line != NULL && *line != '\0';) {
        if (strncmp(line, sample, n) == 0 && line[n] == ' ') {
            value = atol(line + n + 1);
            break;
        }
        line = strchr(line, '\n');
        line = line != NULL ? line + 1 : NULL;
    }
    e2e_response_free(&r);
    return value;
}

char *e2e_results_document(const char *test_id, int n, int obtained_base)
{
    /* A row is under 240 bytes besides its test id: room for every row, never cut. */
    size_t cap = 64 + (size_t)n * (240 + strlen(test_id)), len = 0;
    char *doc = malloc(cap);

    if (doc == NULL)
        abort();
    len += (size_t)snprintf(doc + len, cap - len, "<mcq-test-results>");
    for (int i = 0; i < n; ++i)
        len += (size_t)snprintf(doc + len, cap - len,
                                "<mcq-test-result><first-name>First%d</first-name><last-name>Last%d</last-name>"
                                "<student-number>%06d</student-number><test-id>%s</test-id>"
                                "<summary-marks available=\"20\" obtained=\"%d\"/></mcq-test-result>",
                                i, i, i, test_id, (obtained_base + i) % 21);
    snprintf(doc + len, cap - len, "</mcq-test-results>");
    return doc;
}

void e2e_import_results(const struct markr_server *server, const char *test_id, int n, int obtained_base)
{
    char *doc = e2e_results_document(test_id, n, obtained_base);
    struct e2e_response r;

    assert_int_equal(e2e_http(server, "POST", "/import", "text/xml+markr", doc, strlen(doc), &r), 0);
    if (r.status != 201)
        fail_msg("import: %ld %s", r.status, r.body);
    e2e_response_free(&r);
    free(doc);
}

static double monotonic_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

/* The length of the whole answer at the start of the len bytes of text, or 0 while its
 * head or its body is not all there (or its head has no Content-Length). */
static size_t whole_answer(const char *text, size_t len)
{
    static const char header[] = "content-length:";
    const char *end = strstr(text, "\r\n\r\n"), *line;
    size_t head, body;

    if (end == NULL)
        return 0;
    for (line = strstr(text, "\r\n"); line != NULL && line < end; line = strstr(line + 2, "\r\n"))
        if (strncasecmp(line + 2, header, sizeof(header) - 1) == 0)
            break;
    if (line == NULL || line >= end)
        return 0;
    body = (size_t)strtoull(line + 2 + sizeof(header) - 1, NULL, 10);
    head = (size_t)(end + 4 - text);
    return head + body <= len ? head + body : 0;
}

/* How many whole answers the len bytes of text hold. */
static int whole_answers(const char *text, size_t len)
{
    int n = 0;

    for (size_t at = 0, one; at < len && (one = whole_answer(text + at, len - at)) != 0; at += one)
        ++n;
    return n;
}

/* Reads from fd into buf (NUL-terminated) until done(buf, len, arg), the peer closes, buf
 * fills or timeout_ms pass; returns done's last word. The one loop of both readers below. */
static int read_while(int fd, char *buf, size_t cap, int timeout_ms, int (*done)(const char *, size_t, const void *),
                      const void *arg)
{
    size_t len = 0;
    double end = monotonic_ms() + timeout_ms;

    buf[0] = '\0';
    while (!done(buf, len, arg) && len + 1 < cap) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int left = (int)(end - monotonic_ms());
        ssize_t got;

        if (left <= 0 || poll(&p, 1, left) != 1 || (got = recv(fd, buf + len, cap - 1 - len, 0)) <= 0)
            break;
        len += (size_t)got;
        buf[len] = '\0';
    }
    return done(buf, len, arg);
}

static int holds_answers(const char *text, size_t len, const void *n)
{
    return whole_answers(text, len) >= *(const int *)n;
}

static int holds_needle(const char *text, size_t len, const void *needle)
{
    (void)len;
    return strstr(text, needle) != NULL;
}

int e2e_read_answers(int fd, char *buf, size_t cap, int n, int timeout_ms)
{
    return read_while(fd, buf, cap, timeout_ms, holds_answers, &n);
}

int e2e_read_until(int fd, char *buf, size_t cap, const char *needle, int timeout_ms)
{
    return read_while(fd, buf, cap, timeout_ms, holds_needle, needle);
}

const char *e2e_answer(const char *text, int i)
{
    size_t len = strlen(text), at = 0, one;

    for (; i > 0; --i) {
        if ((one = whole_answer(text + at, len - at)) == 0)
            return NULL;
        at += one;
    }
    return at < len ? text + at : NULL;
}

int e2e_peer_closes(int fd, int timeout_ms)
{
    double end = monotonic_ms() + timeout_ms;
    char sink[4096];

    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int left = (int)(end - monotonic_ms());
        ssize_t got;

        if (left <= 0 || poll(&p, 1, left) != 1 || (got = recv(fd, sink, sizeof(sink), 0)) < 0)
            return 0;
        if (got == 0)
            return 1;
    }
}
