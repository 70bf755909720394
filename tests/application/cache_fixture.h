/*
 * The fake host and fake database that the aggregate cache's unit tests run the cache
 * through (cache_fixture.c), and the steps the HTTP adapter takes, as test helpers.
 */
#ifndef MARKR_TESTS_APPLICATION_CACHE_FIXTURE_H
#define MARKR_TESTS_APPLICATION_CACHE_FIXTURE_H

#include <stddef.h>

#include "application/aggregate_cache.h"
#include "application/get_aggregate.h"

#define MAX_WAITERS 8
#define MAX_PENDING 8
#define MAX_MARKED 8

struct fake_topic {
    struct markr_cache_entry entry;
    struct markr_cache_ticket waiting[MAX_WAITERS]; /* the requests that wait */
    size_t nwaiting;
    int streams;           /* started or not */
    int unstarted;         /* streams that have not had their first event */
    int answered;          /* requests answered with figures */
    char last_body[64];    /* the figures they got */
    int failed;            /* requests (and unstarted streams) answered with an error */
    enum markr_error_code last_error;
    int stream_events;     /* figures sent to the streams */
};

/* The database: tests with marks, and a switch for an outage. */
struct fake_db {
    const char *marked[MAX_MARKED];
    unsigned long long count[MAX_MARKED];
    int down;
    int queries;
};

struct fixture {
    struct fake_db db;
    struct markr_results_reader reader;
    struct markr_aggregate_cache *cache;
    struct markr_cache_entry *pending[MAX_PENDING]; /* refreshes out, oldest first */
    size_t npending;
    int refuse_refresh; /* the worker pool is full */
    int created, destroyed;
    int evicted;            /* entries evicted to make room */
    char last_evicted[64];  /* the id of the last one */
};

struct fake_topic *topic_of(const struct markr_cache_entry *e);
/* The fake database gives `id` count marks from now on. */
void db_mark(struct fake_db *db, const char *id, unsigned long long count);

/* A cache of max_entries over the fake host (the feed still down). */
struct fixture *make_fixture(size_t max_entries);
/* cmocka: a fixture of MARKR_AGGREGATE_CACHE_MAX with the feed up; teardown checks that
 * every entry created was let go. */
int setup(void **state);
int teardown(void **state);

/* What the HTTP adapter does. The entry of id (looked up, so now the most recently used). */
struct fake_topic *topic(struct fixture *f, const char *id);
/* GET: answered from the cache, or waits for a refresh. */
enum markr_cache_answer get(struct fixture *f, const char *id);
/* A stream opens: starts with the held figures, or a refresh. */
void open_stream(struct fixture *f, const char *id);
/* A worker finishes the oldest refresh: the use case against the fake database. */
void complete(struct fixture *f);
/* The feed reports a change of test, or a flush. */
void change(struct fixture *f, const char *test);
void flush(struct fixture *f);
/* Figures for `marked` and a remembered 404 for `unknown`, both held. */
void hold_both(struct fixture *f, const char *marked, const char *unknown);

#endif
