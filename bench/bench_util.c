/* What every benchmark times and asks with (bench_util.h). */
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

double bench_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

void bench_sort(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), by_value);
}

double bench_median(double *v, size_t n)
{
    bench_sort(v, n);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

size_t bench_discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    (void)ptr;
    (void)userdata;
    return size * nmemb;
}

long bench_request(CURL *curl, const char *base_url, const char *path, const char *body, size_t len, double *ms)
{
    char url[512];
    long status = 0;
    double start = bench_now_ms();

    snprintf(url, sizeof(url), "%s%s", base_url, path);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, bench_discard);
    if (body != NULL) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else {
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    }
    if (curl_easy_perform(curl) == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (ms != NULL)
        *ms = bench_now_ms() - start;
    return status;
}

/* Both variants accept rows as well as none: some of the statements run are SELECTs whose
 * side effect (pg_notify, a timed aggregate) is the point. */
static void check_or_die(PGconn *conn, PGresult *res, const char *sql)
{
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "bench: %s\n%s", sql, PQerrorMessage(conn));
        exit(1);
    }
    PQclear(res);
}

void bench_exec_or_die(PGconn *conn, const char *sql)
{
    check_or_die(conn, PQexec(conn, sql), sql);
}

void bench_exec_params_or_die(PGconn *conn, const char *sql, int nparams, const char *const *params)
{
    check_or_die(conn, PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0), sql);
}
