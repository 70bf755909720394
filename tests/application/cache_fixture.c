/*
 * The fake host of the aggregate cache's unit tests (cache_fixture.h): requests that wait
 * are tickets, a stream is a counter, a refresh waits in a queue until the test completes
 * it by running the aggregate use case against a fake database that counts its queries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_fixture.h"

struct fake_topic *topic_of(const struct markr_cache_entry *e)
{
    return (struct fake_topic *)((char *)e - offsetof(struct fake_topic, entry));
}

/* --- the fake database -------------------------------------------------------------------- */

static int db_aggregate(void *ctx, const char *id, size_t len, struct markr_aggregate *out, struct markr_error *err)
{
    struct fake_db *db = ctx;

    db->queries++;
    if (db->down)
        return markr_error_set(err, MARKR_ERR_UNAVAILABLE, "database_unavailable", "the database is down");
    for (size_t i = 0; i < MAX_MARKED && db->marked[i] != NULL; ++i)
        if (strlen(db->marked[i]) == len && memcmp(db->marked[i], id, len) == 0) {
            memset(out, 0, sizeof(*out));
            out->count = db->count[i];
            return 0;
        }
    return markr_aggregate_unknown(err);
}

void db_mark(struct fake_db *db, const char *id, unsigned long long count)
{
    size_t i = 0;

    while (i < MAX_MARKED - 1 && db->marked[i] != NULL && strcmp(db->marked[i], id) != 0)
        ++i;
    db->marked[i] = id;
    db->count[i] = count;
}

/* --- the fake host ------------------------------------------------------------------------- */

static struct markr_cache_entry *host_create(void *ctx)
{
    struct fixture *f = ctx;
    struct fake_topic *t = calloc(1, sizeof(*t));

    assert_non_null(t);
    f->created++;
    return &t->entry;
}

static void host_destroy(void *ctx, struct markr_cache_entry *e)
{
    struct fixture *f = ctx;

    f->destroyed++;
    free(topic_of(e));
}

static void host_evicted(void *ctx, const struct markr_cache_entry *e)
{
    struct fixture *f = ctx;

    f->evicted++;
    snprintf(f->last_evicted, sizeof(f->last_evicted), "%s", e->id);
}

static unsigned host_interest(void *ctx, const struct markr_cache_entry *e)
{
    struct fake_topic *t = topic_of(e);

    return (t->nwaiting > 0 ? MARKR_CACHE_WAITERS : 0) | (t->streams > 0 ? MARKR_CACHE_STREAMS : 0);
}

static int host_refresh(void *ctx, struct markr_cache_entry *e)
{
    struct fixture *f = ctx;

    if (f->refuse_refresh)
        return -1;
    assert_true(f->npending < MAX_PENDING);
    f->pending[f->npending++] = e;
    return 0;
}

static void host_deliver(void *ctx, struct markr_cache_entry *e, const struct markr_cache_ticket *upto,
                         const char *body, size_t len)
{
    struct fake_topic *t = topic_of(e);
    size_t kept = 0;

    for (size_t i = 0; i < t->nwaiting; ++i) {
        if (upto == NULL || markr_cache_ticket_covers(upto, &t->waiting[i])) {
            t->answered++;
            assert_true(len < sizeof(t->last_body));
            memcpy(t->last_body, body, len);
            t->last_body[len] = '\0';
        } else {
            t->waiting[kept++] = t->waiting[i];
        }
    }
    t->nwaiting = kept;
    if (upto == NULL) {
        t->stream_events += t->streams;
        t->unstarted = 0;
    }
}

static void host_fail(void *ctx, struct markr_cache_entry *e, const struct markr_error *err)
{
    struct fake_topic *t = topic_of(e);

    t->failed += (int)t->nwaiting + t->unstarted;
    if (t->nwaiting > 0 || t->unstarted > 0)
        t->last_error = err->code;
    t->nwaiting = 0;
    t->streams -= t->unstarted;
    t->unstarted = 0;
}

struct fixture *make_fixture(size_t max_entries)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct markr_aggregate_cache_host host = {.create = host_create,
                                              .destroy = host_destroy,
                                              .evicted = host_evicted,
                                              .interest = host_interest,
                                              .refresh = host_refresh,
                                              .deliver = host_deliver,
                                              .fail = host_fail};

    assert_non_null(f);
    host.ctx = f;
    f->reader = (struct markr_results_reader){.ctx = &f->db, .aggregate = db_aggregate};
    f->cache = markr_aggregate_cache_create(&host, max_entries);
    assert_non_null(f->cache);
    return f;
}

int setup(void **state)
{
    struct fixture *f = make_fixture(MARKR_AGGREGATE_CACHE_MAX);

    markr_aggregate_cache_feed(f->cache, 1);
    *state = f;
    return 0;
}

int teardown(void **state)
{
    struct fixture *f = *state;
    int created;

    markr_aggregate_cache_destroy(f->cache);
    created = f->created;
    assert_int_equal(f->destroyed, created); /* every entry let go */
    free(f);
    return 0;
}

/* --- what the HTTP adapter does ------------------------------------------------------------ */

struct fake_topic *topic(struct fixture *f, const char *id)
{
    struct markr_cache_entry *e = markr_aggregate_cache_entry(f->cache, id, strlen(id));

    assert_non_null(e);
    return topic_of(e);
}

/* GET: answered from the cache, or waits for a refresh. */
enum markr_cache_answer get(struct fixture *f, const char *id)
{
    struct fake_topic *t = topic(f, id);
    enum markr_cache_answer answer = markr_aggregate_cache_answer(f->cache, &t->entry);

    if (answer == MARKR_CACHE_UNKNOWN) {
        assert_true(t->nwaiting < MAX_WAITERS);
        t->waiting[t->nwaiting++] = markr_aggregate_cache_ticket(f->cache, &t->entry);
        markr_aggregate_cache_refresh(f->cache, &t->entry);
    }
    return answer;
}

/* A stream opens: starts with the held figures, or a refresh. */
void open_stream(struct fixture *f, const char *id)
{
    struct fake_topic *t = topic(f, id);

    t->streams++;
    if (markr_aggregate_cache_answer(f->cache, &t->entry) == MARKR_CACHE_FIGURES) {
        t->stream_events++;
        return;
    }
    t->unstarted++;
    markr_aggregate_cache_refresh(f->cache, &t->entry);
}

/* A worker finishes the oldest refresh: the use case against the fake database. */
void complete(struct fixture *f)
{
    struct markr_cache_entry *e;
    struct markr_aggregate a;
    struct markr_error err;
    char body[32];
    int n;

    assert_true(f->npending > 0);
    e = f->pending[0];
    memmove(f->pending, f->pending + 1, (--f->npending) * sizeof(f->pending[0]));
    if (markr_get_aggregate(&f->reader, e->id, e->id_len, &a, &err) != 0) {
        markr_aggregate_cache_refreshed(f->cache, e, NULL, 0, &err);
        return;
    }
    n = snprintf(body, sizeof(body), "{\"count\":%llu}", (unsigned long long)a.count);
    markr_aggregate_cache_refreshed(f->cache, e, body, (size_t)n, NULL);
}

void change(struct fixture *f, const char *test)
{
    const char *tests[] = {test};
    struct markr_change_event ev = {.import_id = 7, .tests = tests, .test_count = 1};

    markr_aggregate_cache_changed(f->cache, &ev);
}

void flush(struct fixture *f)
{
    struct markr_change_event ev = {.import_id = -1, .flush = 1};

    markr_aggregate_cache_changed(f->cache, &ev);
}

/* Figures for `marked` and a remembered 404 for `unknown`, both held. */
void hold_both(struct fixture *f, const char *marked, const char *unknown)
{
    db_mark(&f->db, marked, 3);
    get(f, marked);
    get(f, unknown);
    while (f->npending > 0)
        complete(f);
    assert_int_equal(get(f, marked), MARKR_CACHE_FIGURES);
    assert_int_equal(get(f, unknown), MARKR_CACHE_MISSING);
}
