/*
 * What every benchmark times and asks with: a monotonic clock in ms, the median of a run's
 * figures, one HTTP request on a reused libcurl handle, and SQL that must succeed (a
 * benchmark whose set-up failed would only print meaningless figures, so it exits).
 */
#ifndef MARKR_BENCH_UTIL_H
#define MARKR_BENCH_UTIL_H

#include <curl/curl.h>
#include <libpq-fe.h>
#include <stddef.h>

/* CLOCK_MONOTONIC in ms: wall-clock steps (NTP) must not enter a measurement. */
double bench_now_ms(void);

/* Sorts v ascending in place. */
void bench_sort(double *v, size_t n);

/* The median of n > 0 figures (the mean of the middle two when n is even). Sorts v in place,
 * so v[0] is the best figure afterwards, which callers print next to the median. */
double bench_median(double *v, size_t n);

/* A libcurl write callback that drops the response: only its status and time are measured. */
size_t bench_discard(char *ptr, size_t size, size_t nmemb, void *userdata);

/* One request to base_url + path on a reused handle (its connection kept alive): a POST of
 * body's len bytes, or a GET when body is NULL. Headers are the caller's, set on the handle.
 * Returns the HTTP status (0 when the transfer failed) and sets *ms, unless ms is NULL, to
 * the request's wall time. */
long bench_request(CURL *curl, const char *base_url, const char *path, const char *body, size_t len, double *ms);

/* Runs sql with PQexec (so it may hold several statements) and exits unless it succeeded. */
void bench_exec_or_die(PGconn *conn, const char *sql);

/* Runs sql with nparams text parameters (PQexecParams: one statement) and exits unless it
 * succeeded. */
void bench_exec_params_or_die(PGconn *conn, const char *sql, int nparams, const char *const *params);

#endif
