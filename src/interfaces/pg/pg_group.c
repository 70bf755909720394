/*
 * Uploads stored together (pg_group.h, ADR 0039). The line is a queue under one mutex;
 * each waiting upload sleeps on its own condition variable. A slot is held by each import
 * transaction running through the group. An upload that finds nothing running and nobody
 * waiting takes a slot and is stored alone at once, as it would be without a group, so a
 * lone client waits for nothing. Otherwise it queues, and only the first in line may start:
 * once a slot is free and nothing runs, or enough wait, or it has waited long enough (woken
 * when a slot frees, when the line grows, when it becomes first, or at its deadline). It
 * then takes the uploads waiting behind it that fit and stores them with itself in one
 * transaction on its own connection. The others' connections stay idle meanwhile.
 */
#include "pg_group.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "interfaces/observe/log.h"
#include "pg_arrays.h"
#include "pg_batch.h"
#include "pg_chunks.h"
#include "pg_marks.h"

enum { WAITING, LEADING, STORED, ALONE };

struct markr_pg_group {
    pthread_mutex_t lock;
    unsigned slots, running;
    struct markr_pg_member *head, *tail; /* the line, in order of arrival */
    size_t waiting;
    uint64_t groups, members;
};

struct markr_pg_group *markr_pg_group_new(unsigned slots)
{
    struct markr_pg_group *g = calloc(1, sizeof(*g));

    if (g == NULL)
        return NULL;
    if (pthread_mutex_init(&g->lock, NULL) != 0) {
        free(g);
        return NULL;
    }
    g->slots = slots > 0 ? slots : 1;
    return g;
}

void markr_pg_group_free(struct markr_pg_group *g)
{
    if (g == NULL)
        return;
    assert(g->head == NULL && g->running == 0); /* every store is closed first */
    pthread_mutex_destroy(&g->lock);
    free(g);
}

void markr_pg_group_attach(struct markr_pg *pg, struct markr_pg_group *g)
{
    pg->group = g;
}

int markr_pg_group_fits(const struct markr_vault_entry *entry, const struct markr_marks *marks)
{
    return entry->position == NULL && entry->begun == NULL && entry->body_len <= MARKR_PG_CHUNK_BYTES &&
           entry->body_len <= MARKR_PG_GROUP_BYTES && marks->count <= MARKR_PG_GROUP_MARKS &&
           marks->scan_count <= MARKR_PG_GROUP_MARKS;
}

void markr_pg_group_stats(struct markr_pg_group *g, struct markr_pg_group_stats *out)
{
    pthread_mutex_lock(&g->lock);
    out->groups = g->groups;
    out->members = g->members;
    out->running = g->running;
    out->waiting = g->waiting;
    pthread_mutex_unlock(&g->lock);
}

/* --- the group's transaction ---------------------------------------------------------------- */

/*
 * The members' vault rows and bodies (each one chunk), member k's id taken from the
 * identity's sequence in member order, so that ids still grow in order of arrival; the ids
 * are left, as a bigint[] in member order, in a transaction-local setting for the marks
 * statement queued behind (MARKR_PG_GROUP_IDS) and returned. $1..$6: content types, sizes,
 * result counts, codings, SHA-256s, bodies, one element per member.
 */
static const struct markr_pg_statement group_rows = {
    MARKR_PG_SLOT_GROUP_ROWS,
    "WITH v AS (\n"
    "    SELECT u.k, nextval(pg_get_serial_sequence('imports', 'id')) AS id, u.ct, u.size, u.n, u.enc, u.sha, u.body\n"
    "    FROM unnest($1::text[], $2::bigint[], $3::integer[], $4::text[], $5::bytea[], $6::bytea[])\n"
    "         WITH ORDINALITY AS u(ct, size, n, enc, sha, body, k)\n"
    "), vault AS (\n"
    "    INSERT INTO imports (id, content_type, size_bytes, sha256, status, result_count, content_encoding)\n"
    "    OVERRIDING SYSTEM VALUE\n"
    "    SELECT id, ct, size, sha, 'accepted', n, enc FROM v ORDER BY k\n"
    "), chunk AS (\n"
    "    INSERT INTO import_chunks (import_id, seq, bytes)\n"
    "    SELECT id, 0, body FROM v WHERE octet_length(body) > 0\n"
    ")\n"
    "SELECT set_config('" MARKR_PG_GROUP_IDS "', (SELECT array_agg(id ORDER BY k) FROM v)::text, true)"};

enum { ROW_CONTENT_TYPE, ROW_SIZE, ROW_COUNT, ROW_ENCODING, ROW_SHA256, ROW_BODY, ROW_ARRAYS };

/* What one group's transaction needs. */
struct group_run {
    struct markr_pg_member **members;
    size_t count;
    char *rows[ROW_ARRAYS];
    struct markr_pg_params row_params;
    struct markr_marks marks; /* every member's, in one sorted run (borrowed strings) */
    uint32_t *mark_members, *scan_members;
    struct markr_pg_marks_statement apply;
    int64_t ids[MARKR_PG_GROUP_MEMBERS];
    int committed; /* the last run's COMMIT came back successful */
};

/* A byte string of the member's row, for a text or bytea array. */
static void row_bytes(const struct markr_pg_member *m, int column, const char **bytes, size_t *len)
{
    switch (column) {
    case ROW_CONTENT_TYPE:
        *bytes = m->content_type;
        *len = strlen(m->content_type);
        break;
    case ROW_ENCODING:
        *bytes = markr_pg_content_encoding(m->entry->content_encoding);
        *len = strlen(*bytes);
        break;
    case ROW_SHA256:
        *bytes = (const char *)m->digest;
        *len = 32;
        break;
    default:
        *bytes = m->entry->body != NULL ? m->entry->body : "";
        *len = m->entry->body_len;
        break;
    }
}

static int rows_params(struct group_run *r)
{
    static const Oid elements[ROW_ARRAYS] = {MARKR_PG_TEXT, MARKR_PG_INT8, MARKR_PG_INT4,
                                             MARKR_PG_TEXT, MARKR_PG_BYTEA, MARKR_PG_BYTEA};
    static const Oid arrays[ROW_ARRAYS] = {MARKR_PG_TEXT_ARRAY, MARKR_PG_INT8_ARRAY, MARKR_PG_INT4_ARRAY,
                                           MARKR_PG_TEXT_ARRAY, MARKR_PG_BYTEA_ARRAY, MARKR_PG_BYTEA_ARRAY};

    for (int c = 0; c < ROW_ARRAYS; ++c) {
        struct markr_pg_buffer b = {0};

        markr_pg_array_begin(&b, elements[c], r->count, 0);
        for (size_t i = 0; i < r->count; ++i) {
            const struct markr_pg_member *m = r->members[i];
            const char *bytes;
            size_t len;

            if (c == ROW_SIZE) {
                markr_pg_array_int8(&b, (uint64_t)m->entry->body_len);
            } else if (c == ROW_COUNT) {
                markr_pg_array_int4(&b, (uint32_t)m->entry->result_count);
            } else {
                row_bytes(m, c, &bytes, &len);
                markr_pg_array_bytes(&b, bytes, len);
            }
        }
        if (b.failed) {
            free(b.bytes);
            return -1;
        }
        r->rows[c] = b.bytes;
        markr_pg_param_binary(&r->row_params, arrays[c], b.bytes, b.len);
    }
    return 0;
}

/* A mark of member k, for sorting every member's marks into one run. */
struct member_mark {
    const struct markr_mark *mark;
    uint32_t k;
};

/* The domain's order (domain/document.h): test id, then student number, in byte order. */
static int mark_order(const void *a, const void *b)
{
    const struct markr_mark *x = ((const struct member_mark *)a)->mark, *y = ((const struct member_mark *)b)->mark;
    int c = strcmp(x->test_id, y->test_id);

    return c != 0 ? c : strcmp(x->student_number, y->student_number);
}

/* Every member's marks in one sorted run and every member's scans after one another, with
 * the member of each. Returns 0, or -1 when out of memory. */
static int merge_marks(struct group_run *r)
{
    size_t marks = 0, scans = 0, at = 0;
    struct markr_result *all_scans;
    struct member_mark *sorted;

    for (size_t i = 0; i < r->count; ++i) {
        marks += r->members[i]->marks->count;
        scans += r->members[i]->marks->scan_count;
    }
    sorted = calloc(marks > 0 ? marks : 1, sizeof(*sorted));
    r->marks.marks = calloc(marks > 0 ? marks : 1, sizeof(*r->marks.marks));
    r->mark_members = calloc(marks > 0 ? marks : 1, sizeof(*r->mark_members));
    all_scans = calloc(scans > 0 ? scans : 1, sizeof(*all_scans));
    r->scan_members = calloc(scans > 0 ? scans : 1, sizeof(*r->scan_members));
    r->marks.scans = all_scans;
    if (sorted == NULL || r->marks.marks == NULL || r->mark_members == NULL || all_scans == NULL ||
        r->scan_members == NULL) {
        free(sorted);
        return -1;
    }
    for (size_t i = 0; i < r->count; ++i) {
        const struct markr_marks *m = r->members[i]->marks;

        for (size_t j = 0; j < m->count; ++j)
            sorted[at++] = (struct member_mark){&m->marks[j], (uint32_t)i + 1};
    }
    qsort(sorted, marks, sizeof(*sorted), mark_order);
    for (size_t j = 0; j < marks; ++j) {
        r->marks.marks[j] = *sorted[j].mark;
        r->mark_members[j] = sorted[j].k;
    }
    free(sorted);
    at = 0;
    for (size_t i = 0; i < r->count; ++i) {
        const struct markr_marks *m = r->members[i]->marks;

        for (size_t j = 0; j < m->scan_count; ++j) {
            all_scans[at] = m->scans[j];
            r->scan_members[at++] = (uint32_t)i + 1;
        }
    }
    r->marks.count = marks;
    r->marks.scan_count = scans;
    return 0;
}

static void group_run_free(struct group_run *r)
{
    for (int c = 0; c < ROW_ARRAYS; ++c)
        free(r->rows[c]);
    free(r->marks.marks);
    free((void *)r->marks.scans);
    free(r->mark_members);
    free(r->scan_members);
    markr_pg_marks_statement_free(&r->apply);
}

/* Reads the members' ids from the vault rows' result: a bigint[] in text, "{12,13}". */
static int read_ids(const PGresult *res, struct group_run *r, struct markr_error *err)
{
    const char *p;
    size_t k = 0;

    if (res == NULL || PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
        return markr_error_set(err, MARKR_ERR_INTERNAL, "database_error", "the database returned no import ids");
    p = PQgetvalue(res, 0, 0);
    while (*p != '\0' && k < r->count) {
        char *end;

        if (*p == '{' || *p == ',') {
            ++p;
            continue;
        }
        r->ids[k] = strtoll(p, &end, 10);
        if (end == p || r->ids[k] <= 0)
            break;
        ++k;
        p = end;
    }
    if (k != r->count)
        return markr_error_set(err, MARKR_ERR_INTERNAL, "database_error", "the database returned no import ids");
    return 0;
}

/* The group's transaction, in one batch: BEGIN, no JIT (as an upload's, pg_store.c), the
 * vault rows, the marks of every member, COMMIT, then the members' announcements. */
static int group_step(struct markr_pg *pg, void *arg, struct markr_error *err)
{
    static const char what[] = "storing a group of imports";
    struct group_run *r = arg;
    struct markr_pg_batch b = {0};
    int rc;

    markr_pg_batch_add(&b, what, NULL, "BEGIN", NULL);
    markr_pg_batch_add(&b, what, NULL, "SET LOCAL jit = off", NULL);
    markr_pg_batch_add(&b, what, &group_rows, NULL, &r->row_params);
    markr_pg_batch_add(&b, "storing the marks", r->apply.statement, NULL, &r->apply.params);
    markr_pg_batch_add(&b, what, NULL, "COMMIT", NULL);
    markr_pg_batch_add(&b, "announcing the imports", &markr_pg_notify_kept, NULL, NULL);
    rc = markr_pg_batch_run_stored(pg, &b, what, err);
    r->committed = b.committed;
    if (rc == 0 && read_ids(b.results[2], r, err) != 0)
        rc = markr_error_set(err, MARKR_ERR_UNAVAILABLE, "outcome_unknown",
                             "the imports were stored, but the database did not return their ids");
    markr_pg_batch_clear(&b);
    return rc;
}

/* Stores the members in one transaction on the first one's connection. Returns 0 (each
 * member's id set), or -1 with err. */
static int store_group(struct group_run *r, struct markr_error *err)
{
    struct markr_pg_member *first = r->members[0];

    if (rows_params(r) != 0 || merge_marks(r) != 0)
        return markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
    if (markr_pg_group_marks_statement(&r->apply, first->sheet_type, &r->marks, r->mark_members, r->scan_members,
                                       err) != 0)
        return -1;
    return markr_pg_batch_transaction(first->pg, "storing a group of imports", group_step, r, err);
}

/* --- the line ------------------------------------------------------------------------------- */

/* Wakes the first in line, under the lock, to judge whether its transaction may start. */
static void wake_first(struct markr_pg_group *g)
{
    if (g->head != NULL)
        pthread_cond_signal(&g->head->wake);
}

/* Whether m shares a test with any of the members taken so far. Both lists are sorted. */
static int shares_test(const struct markr_pg_member *m, struct markr_pg_member *const *taken, size_t count)
{
    for (size_t i = 0; i < count; ++i) {
        const struct markr_marks *a = m->marks, *b = taken[i]->marks;
        size_t x = 0, y = 0;

        while (x < a->test_count && y < b->test_count) {
            int c = strcmp(a->tests[x], b->tests[y]);

            if (c == 0)
                return 1;
            if (c < 0)
                ++x;
            else
                ++y;
        }
    }
    return 0;
}

/* Takes, under the lock, the members of m's transaction: m (already out of the line), then
 * the uploads waiting after it, in order, up to the first that does not fit beside the ones
 * taken (it shares a test with one, or would pass a bound): none behind it is taken before
 * it, so ids still follow the order of arrival. Returns how many. */
static size_t take_members(struct markr_pg_group *g, struct markr_pg_member *m, struct markr_pg_member **taken)
{
    struct markr_pg_member **link = &g->head; /* always the head: members leave from the front */
    size_t count = 1, bytes = m->entry->body_len, marks = m->marks->count, scans = m->marks->scan_count;

    taken[0] = m;
    while (*link != NULL && count < MARKR_PG_GROUP_MEMBERS) {
        struct markr_pg_member *w = *link;

        if (bytes + w->entry->body_len <= MARKR_PG_GROUP_BYTES && marks + w->marks->count <= MARKR_PG_GROUP_MARKS &&
            scans + w->marks->scan_count <= MARKR_PG_GROUP_MARKS && !shares_test(w, taken, count)) {
            taken[count++] = w;
            bytes += w->entry->body_len;
            marks += w->marks->count;
            scans += w->marks->scan_count;
            *link = w->next;
            g->waiting--;
        } else {
            break;
        }
    }
    if (g->head == NULL)
        g->tail = NULL;
    wake_first(g); /* perhaps first now */
    return count;
}

/* Frees a slot under the lock. */
static void free_slot(struct markr_pg_group *g)
{
    g->running--;
    wake_first(g);
}

/* Runs the transaction of the members taken by m, which holds a slot, and tells each its
 * turn. Returns m's. */
static enum markr_pg_group_turn lead(struct markr_pg_group *g, struct markr_pg_member *m)
{
    struct markr_pg_member *taken[MARKR_PG_GROUP_MEMBERS];
    struct group_run run = {.members = taken};
    struct markr_error err;
    size_t count;
    int rc, unknown;

    count = take_members(g, m, taken);
    if (count == 1) {
        pthread_mutex_unlock(&g->lock);
        m->holds_slot = 1;
        return MARKR_PG_GROUP_ALONE;
    }
    pthread_mutex_unlock(&g->lock);
    run.count = count;
    markr_error_clear(&err);
    rc = store_group(&run, &err);
    group_run_free(&run);
    /* Whether the COMMIT may have run: lost (its outcome unknown), or run when what came
     * after it failed. Then no member is stored again. A COMMIT the server refused rolled
     * back: stored alone. */
    unknown = rc != 0 && (run.committed || strcmp(err.reason, "outcome_unknown") == 0);
    if (unknown)
        markr_pg_announce_flush(m->pg); /* they may be stored, and then nobody was told */
    else if (rc != 0)
        markr_log(MARKR_LOG_INFO, "a group of imports failed before its commit; storing each alone", "error",
                  err.message, NULL);
    pthread_mutex_lock(&g->lock);
    if (rc == 0) {
        g->groups++;
        g->members += count;
    }
    for (size_t i = 0; i < count; ++i) {
        struct markr_pg_member *t = taken[i];

        t->rc = rc == 0 || unknown ? rc : 0;
        t->id = rc == 0 ? run.ids[i] : 0;
        t->err = err;
        t->state = rc == 0 || unknown ? STORED : ALONE;
        /* Stored alone, each holds a slot until stored (m keeps its own), so that no later
         * upload starts before them. */
        t->holds_slot = t->state == ALONE;
        if (t->state == ALONE && t != m)
            g->running++;
        if (t != m)
            pthread_cond_signal(&t->wake);
    }
    if (!m->holds_slot)
        free_slot(g);
    pthread_mutex_unlock(&g->lock);
    return m->state == STORED ? MARKR_PG_GROUP_STORED : MARKR_PG_GROUP_ALONE;
}

/* Whether the first in line, m, starts its transaction now (under the lock): a slot is free
 * and nothing runs, or enough wait to share it, or m has waited long enough. */
static int may_start(const struct markr_pg_group *g, const struct markr_pg_member *m, const struct timespec *now)
{
    return g->running < g->slots &&
           (g->running == 0 || g->waiting >= MARKR_PG_GROUP_ENOUGH ||
            now->tv_sec > m->deadline.tv_sec ||
            (now->tv_sec == m->deadline.tv_sec && now->tv_nsec >= m->deadline.tv_nsec));
}

static void deadline_in(struct timespec *t, long us)
{
    clock_gettime(CLOCK_MONOTONIC, t);
    t->tv_nsec += us * 1000;
    t->tv_sec += t->tv_nsec / 1000000000L;
    t->tv_nsec %= 1000000000L;
}

enum markr_pg_group_turn markr_pg_group_enter(struct markr_pg_group *g, struct markr_pg_member *m)
{
    pthread_condattr_t attr;
    enum markr_pg_group_turn turn;
    int cond;

    m->rc = 0;
    m->id = 0;
    m->holds_slot = 0;
    m->next = NULL;
    markr_error_clear(&m->err);
    /* Its wake-up, timed on the monotonic clock. Without one it cannot wait: stored alone,
     * beside the transactions running, as it would be without a group. */
    if (pthread_condattr_init(&attr) != 0)
        return MARKR_PG_GROUP_ALONE;
    cond = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 && pthread_cond_init(&m->wake, &attr) == 0;
    pthread_condattr_destroy(&attr);
    if (!cond)
        return MARKR_PG_GROUP_ALONE;
    pthread_mutex_lock(&g->lock);
    if (g->running == 0 && g->head == NULL) {
        /* Nothing runs and nobody waits: at once, alone, as without a group. */
        g->running++;
        pthread_mutex_unlock(&g->lock);
        pthread_cond_destroy(&m->wake);
        m->holds_slot = 1;
        return MARKR_PG_GROUP_ALONE;
    }
    m->state = WAITING;
    deadline_in(&m->deadline, MARKR_PG_GROUP_WAIT_US);
    if (g->tail != NULL)
        g->tail->next = m;
    else
        g->head = m;
    g->tail = m;
    g->waiting++;
    if (g->waiting >= MARKR_PG_GROUP_ENOUGH)
        wake_first(g);
    while (m->state == WAITING) {
        struct timespec now;

        clock_gettime(CLOCK_MONOTONIC, &now);
        if (g->head == m && may_start(g, m, &now)) {
            g->running++;
            g->head = m->next;
            if (g->head == NULL)
                g->tail = NULL;
            g->waiting--;
            m->state = LEADING;
            break;
        }
        /* The first in line wakes at its deadline when a slot is free; everyone else, and it
         * while every slot is busy, when woken (a slot freed, enough in line, first now). */
        if (g->head == m && g->running < g->slots)
            pthread_cond_timedwait(&m->wake, &g->lock, &m->deadline);
        else
            pthread_cond_wait(&m->wake, &g->lock);
    }
    if (m->state == LEADING) {
        turn = lead(g, m); /* unlocks */
    } else {
        turn = m->state == STORED ? MARKR_PG_GROUP_STORED : MARKR_PG_GROUP_ALONE;
        pthread_mutex_unlock(&g->lock);
    }
    pthread_cond_destroy(&m->wake);
    return turn;
}

void markr_pg_group_leave(struct markr_pg_group *g, struct markr_pg_member *m)
{
    if (!m->holds_slot)
        return;
    m->holds_slot = 0;
    pthread_mutex_lock(&g->lock);
    free_slot(g);
    pthread_mutex_unlock(&g->lock);
}
