/*
 * The test SSE source (sse_server.h).
 */
#include "sse_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Reads a request's head (at most 8 KiB, 5 s). Returns its length, or -1. */
static int read_head(int fd, char *buf, size_t cap)
{
    size_t len = 0;

    while (len + 1 < cap) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t n;

        if (poll(&p, 1, 5000) <= 0)
            return -1;
        if ((n = read(fd, buf + len, cap - 1 - len)) <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, "\r\n\r\n") != NULL)
            return (int)len;
    }
    return -1;
}

static void header_value(const char *head, const char *name, char *out, size_t cap)
{
    const char *p = head;
    size_t n = strlen(name);

    out[0] = '\0';
    while ((p = strstr(p, "\r\n")) != NULL) {
        p += 2;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1, *end = strstr(v, "\r\n");

            while (*v == ' ')
                ++v;
            snprintf(out, cap, "%.*s", (int)(end - v), v);
            return;
        }
    }
}

static int write_all(int fd, const char *text, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, text, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        text += n;
        len -= (size_t)n;
    }
    return 0;
}

static void answer(struct sse_server *s, int fd)
{
    char head[8192], id[300], reply[256];
    int status;

    if (read_head(fd, head, sizeof(head)) < 0) {
        close(fd);
        return;
    }
    header_value(head, "Last-Event-ID", id, sizeof(id));
    pthread_mutex_lock(&s->mu);
    status = s->status;
    if (status == 0)
        reply[0] = '\0'; /* silent: the connection is held open and never answered */
    else if (status == 200)
        snprintf(reply, sizeof(reply), "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nCache-Control: no-cache\r\n\r\n",
                 s->content_type);
    else
        snprintf(reply, sizeof(reply), "HTTP/1.1 %d Test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status);
    if (write_all(fd, reply, strlen(reply)) != 0 || (status != 200 && status != 0)) {
        close(fd);
        fd = -1;
    } else {
        if (s->client_fd >= 0)
            close(s->client_fd);
        s->client_fd = fd;
    }
    if (s->connections < SSE_SERVER_CONNECTIONS_MAX)
        snprintf(s->last_event_id[s->connections], sizeof(s->last_event_id[0]), "%s", id);
    ++s->connections;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->mu);
}

static void *run(void *arg)
{
    struct sse_server *s = arg;

    for (;;) {
        struct pollfd p = {.fd = s->listen_fd, .events = POLLIN};
        int stop;

        pthread_mutex_lock(&s->mu);
        stop = s->stop;
        pthread_mutex_unlock(&s->mu);
        if (stop)
            return NULL;
        if (poll(&p, 1, 50) == 1) {
            int fd = accept(s->listen_fd, NULL, NULL);

            if (fd >= 0)
                answer(s, fd);
        }
    }
}

int sse_server_start(struct sse_server *s)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(addr);

    memset(s, 0, sizeof(*s));
    s->client_fd = -1;
    s->status = 200;
    snprintf(s->content_type, sizeof(s->content_type), "text/event-stream");
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->changed, NULL);
    if ((s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        bind(s->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(s->listen_fd, 16) != 0 ||
        getsockname(s->listen_fd, (struct sockaddr *)&addr, &len) != 0)
        return -1;
    s->port = ntohs(addr.sin_port);
    snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d/scores", s->port);
    return pthread_create(&s->thread, NULL, run, s) == 0 ? 0 : -1;
}

void sse_server_stop(struct sse_server *s)
{
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    if (s->client_fd >= 0)
        close(s->client_fd);
    close(s->listen_fd);
    pthread_cond_destroy(&s->changed);
    pthread_mutex_destroy(&s->mu);
}

void sse_server_answer(struct sse_server *s, int status, const char *content_type)
{
    pthread_mutex_lock(&s->mu);
    s->status = status;
    snprintf(s->content_type, sizeof(s->content_type), "%s", content_type);
    pthread_mutex_unlock(&s->mu);
}

int sse_server_send(struct sse_server *s, const char *text)
{
    int rc = -1;

    pthread_mutex_lock(&s->mu);
    if (s->client_fd >= 0)
        rc = write_all(s->client_fd, text, strlen(text));
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void sse_server_drop(struct sse_server *s)
{
    pthread_mutex_lock(&s->mu);
    if (s->client_fd >= 0) {
        shutdown(s->client_fd, SHUT_RDWR);
        close(s->client_fd);
    }
    s->client_fd = -1;
    pthread_mutex_unlock(&s->mu);
}

int sse_server_wait(struct sse_server *s, int n, int timeout_ms)
{
    struct timespec until;
    int rc = 0;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec += 1;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    while (s->connections < n && rc == 0)
        rc = pthread_cond_timedwait(&s->changed, &s->mu, &until);
    rc = s->connections >= n ? 0 : -1;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int sse_server_connections(struct sse_server *s)
{
    int n;

    pthread_mutex_lock(&s->mu);
    n = s->connections;
    pthread_mutex_unlock(&s->mu);
    return n;
}

const char *sse_server_last_event_id(struct sse_server *s, int i)
{
    return i >= 0 && i < SSE_SERVER_CONNECTIONS_MAX ? s->last_event_id[i] : "";
}
