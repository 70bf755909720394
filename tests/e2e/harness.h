/*
 * End-to-end harness: runs the real markr executable (MARKR_BINARY) against a real
 * PostgreSQL database and talks to it over loopback with libcurl.
 */
#ifndef MARKR_TESTS_E2E_HARNESS_H
#define MARKR_TESTS_E2E_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

struct markr_server {
    pid_t pid;
    int port;
    char base_url[64];
    char log_path[128];
};

/* Starts `markr serve` on 127.0.0.1 with a free port, DATABASE_URL=conninfo and the extra
 * NAME=VALUE settings (NULL-terminated list, may be NULL). Waits until it logs
 * msg=listening addr=127.0.0.1:PORT. Returns 0,
 * or -1 when it exits or does not listen within 15 s. */
int e2e_server_start(struct markr_server *server, const char *conninfo, const char *const *env);

/* Sends sig (SIGTERM for a clean stop, SIGKILL for a crash) and waits. Returns the exit
 * status as waitpid gives it. Then checks the server's log: every line it wrote to stdout
 * and stderr must be a logfmt line (logfmt.h); otherwise the running cmocka test fails
 * (fail_msg), after printing the lines that are not. */
int e2e_server_stop(struct markr_server *server, int sig);

/* Stops server with SIGTERM and checks it exited 0 (the sanitizer build reports leaks at
 * that exit). Returns 0, or -1 after saying where its log is. */
int e2e_server_stop_clean(struct markr_server *server);

/* `markr migrate` on conninfo. Returns its exit code, printing its output when not 0. */
int e2e_migrate(const char *conninfo);

/* A suite's own database (named from prefix, migrated) in *conninfo (malloc'd), and a server
 * on it with the extra settings env (may be NULL). Returns 0, or -1 after saying why. */
int e2e_suite_start(const char *prefix, const char *const *env, struct markr_server *server, char **conninfo);

/* Stops server (e2e_server_stop_clean), then drops the suite's database and frees conninfo
 * whatever happened. Returns 0, or -1 when the server did not stop cleanly. */
int e2e_suite_stop(struct markr_server *server, char *conninfo);

/* Runs markr with argv (argv[0] is the first argument after the binary, NULL-terminated)
 * and the extra settings; captures stdout+stderr into *output (malloc'd). Returns the exit
 * code, or -1 when it did not exit normally. */
int e2e_run_cli(const char *conninfo, const char *const *argv, const char *const *env, char **output);
/* As e2e_run_cli, in the working directory dir (where markr reads ./.env); NULL: this one. */
int e2e_run_cli_in(const char *dir, const char *conninfo, const char *const *argv, const char *const *env,
                   char **output);

struct e2e_response {
    long status;
    char *body; /* NUL-terminated */
    size_t len;
    char content_type[128];
    char location[128];
    char retry_after[32];
    char allow[64];
    char request_id[80]; /* X-Request-Id */
    char www_authenticate[64];
    char nosniff[32];    /* X-Content-Type-Options */
    char csp[512];       /* Content-Security-Policy */
    char referrer_policy[32];
    /* Every header line as received ("name: value\r\n" each), cut at its size; read one
     * with e2e_header. */
    char headers[4096];
    size_t headers_len;
};

/* The value of header name (any case) of r into dst (cap bytes, NUL-terminated, cut to
 * fit): the first one when there are several. Returns dst, or NULL when r has none. */
const char *e2e_header(const struct e2e_response *r, const char *name, char *dst, size_t cap);

/* One HTTP request to server (path relative to its base URL). content_type may be NULL
 * (then no Content-Type header is sent). Returns 0 when an answer came back. */
int e2e_http(const struct markr_server *server, const char *method, const char *path, const char *content_type,
             const char *body, size_t len, struct e2e_response *out);
/* As e2e_http, with extra "Name: value" headers (NULL-terminated list, may be NULL). */
int e2e_http_with(const struct markr_server *server, const char *method, const char *path, const char *content_type,
                  const char *const *extra_headers, const char *body, size_t len, struct e2e_response *out);
void e2e_response_free(struct e2e_response *r);

/* The value of one sample of server's GET /metrics, e.g. "markr_stream_clients" (a name
 * and, when it has labels, its labels as printed). -1 when there is no such sample or no
 * answer. */
long e2e_metric(const struct markr_server *server, const char *sample);

/* A document of results (malloc'd, NUL-terminated) of one test with n students: student
 * numbers 000000 up, names First<i> Last<i>, (obtained_base + i) % 21 marks of 20. */
char *e2e_results_document(const char *test_id, int n, int obtained_base);

/* POSTs that document to server's /import and fails the test unless it is answered 201. */
void e2e_import_results(const struct markr_server *server, const char *test_id, int n, int obtained_base);

/* Over a raw socket fd, for what a client library would not send (pipelined requests, odd
 * framings): reads into buf (cap bytes, NUL-terminated) until it holds n whole answers,
 * each a head with a Content-Length and that many bytes of body. Returns 1 then; 0 when
 * timeout_ms pass, the peer closes or buf fills first. */
int e2e_read_answers(int fd, char *buf, size_t cap, int n, int timeout_ms);

/* The same, until buf holds needle (returns 1), or timeout_ms pass, the peer closes or buf
 * fills first (0). */
int e2e_read_until(int fd, char *buf, size_t cap, const char *needle, int timeout_ms);

/* The start of answer i (0: the first) of what e2e_read_answers read, or NULL. */
const char *e2e_answer(const char *text, int i);

/* Whether the peer closes fd within timeout_ms (bytes that arrive before are discarded):
 * 1 when it does, 0 at the timeout or when the connection breaks otherwise. */
int e2e_peer_closes(int fd, int timeout_ms);

/* Reads a whole file (malloc'd, NUL-terminated). Aborts on failure. */
char *e2e_read_file(const char *path, size_t *len);

#endif
