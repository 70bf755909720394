/*
 * What the live end-to-end tests do to a server and observe of it: imports and aggregate
 * reads, its log and gauges, a raw SSE client (HTTP/1.0, so the stream is the body as is,
 * with no chunking), and the descriptors its process holds. The functions fail the running
 * cmocka test when what they wait for does not come.
 */
#ifndef MARKR_TESTS_E2E_LIVE_CLIENT_H
#define MARKR_TESTS_E2E_LIVE_CLIENT_H

#include <stddef.h>

#include "harness.h"

struct sse {
    int fd;
    char buf[65536];
    size_t len;
};

/* Monotonic milliseconds. */
double now_ms(void);
/* The open descriptors of srv's process, now; and once connections our earlier requests
 * left have been closed (the same for 200 ms running). */
int open_fds(const struct markr_server *srv);
int settled_fds(const struct markr_server *srv);

/* Connects to srv and sends GET path; rcvbuf > 0 sets the socket's receive buffer first. */
void sse_open(struct sse *s, const struct markr_server *srv, const char *path, int rcvbuf);
/* The same with more header lines (each ending in CRLF; "" for none). */
void sse_open_with(struct sse *s, const struct markr_server *srv, const char *path, int rcvbuf, const char *headers);
/* Reads until needle appears after offset *from (then *from moves past it). Returns the
 * time it was seen, or fails after timeout_ms. */
double sse_wait(struct sse *s, size_t *from, const char *needle, int timeout_ms);
void sse_close(struct sse *s);


#define MEDIA_TYPE "text/xml+markr"

/* One mark as a document. */
#define MARK_DOC                                                                                                     \
    "<mcq-test-results><mcq-test-result><student-number>%s</student-number><test-id>%s</test-id>"                  \
    "<summary-marks available=\"100\" obtained=\"%d\"/></mcq-test-result></mcq-test-results>"

/* POSTs the document (printf format) to srv; fails unless 201. */
void import_doc(const struct markr_server *srv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* One import of `tests` tests through srv whose marks all rise to `obtained` (so each is
 * announced): an /events event of about 60 bytes per test. */
void import_many_tests(const struct markr_server *srv, int tests, int obtained);
/* count and mean of a test's aggregate from srv; count -1 when 404. */
void read_aggregate(const struct markr_server *srv, const char *test, long *count, double *mean);
/* Reads srv until test shows count and mean; returns the milliseconds that took after
 * `since`. Fails past 2 s. Once right, the next reads must stay right. */
double wait_exact(const struct markr_server *srv, const char *test, long count, double mean, double since);
/* How many times srv's log says needle; waits until it has said line `times` times (10 s). */
int log_count(const struct markr_server *srv, const char *needle);
void wait_log(const struct markr_server *srv, const char *line, int times);
/* Waits until srv's gauge `sample` is at most `at_most`; returns the milliseconds it took,
 * or fails after timeout_ms. */
double wait_metric_at_most(const struct markr_server *srv, const char *sample, long at_most, int timeout_ms);
/* Reads the next import event of s and forgets what came before (its buffer stays small). */
void next_import_event(struct sse *s);

#endif
