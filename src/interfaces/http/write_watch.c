/*
 * Write timeouts of streaming answers; see write_watch.h.
 */
#include "write_watch.h"

#include <string.h>
#include <sys/socket.h>

#include "interfaces/observe/log.h"

void markr_http_abort_connection(h2o_req_t *req)
{
    h2o_conn_t *conn = req->conn;
    h2o_socket_t *sock = conn->callbacks->get_socket != NULL ? conn->callbacks->get_socket(conn) : NULL;
    int fd;

    /* A shut-down TCP socket is writable at once and every write to it fails (EPIPE; SIGPIPE
     * is ignored), so h2o's pending write completes with an error on the next turn of the
     * loop, and h2o's HTTP/1 closes the connection. */
    if (sock != NULL && (fd = h2o_socket_get_fd(sock)) >= 0)
        shutdown(fd, SHUT_RDWR);
}

static void on_stalled(h2o_timeout_entry_t *entry)
{
    struct markr_write_watch *w = H2O_STRUCT_FROM_MEMBER(struct markr_write_watch, entry, entry);

    markr_log(MARKR_LOG_INFO, "closing a stalled stream: its client read nothing for MARKR_WRITE_TIMEOUT_MS", NULL);
    markr_http_abort_connection(w->req);
}

void markr_write_watch_init(struct markr_write_watch *w)
{
    memset(w, 0, sizeof(*w));
    w->entry.cb = on_stalled;
}

void markr_write_watch_arm(struct markr_write_watch *w, h2o_timeout_t *timeout, h2o_req_t *req)
{
    markr_write_watch_disarm(w);
    if (timeout == NULL)
        return;
    w->req = req;
    h2o_timeout_link(req->conn->ctx->loop, timeout, &w->entry);
}

void markr_write_watch_disarm(struct markr_write_watch *w)
{
    if (h2o_timeout_is_linked(&w->entry))
        h2o_timeout_unlink(&w->entry);
}
