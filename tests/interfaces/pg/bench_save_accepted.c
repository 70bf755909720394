/*
 * Times save_accepted for the brief's large import: 10,000 results with names and 20
 * answers each (about 17 MB of XML) in one document. Each run imports new students (the
 * insert path); then the same document again (every row found, nothing changed) and with
 * every obtained mark raised (every row updated). Then the whole use case on the worker's
 * path (the real XML parser, then the store), a new test each time, alternately with the
 * body stored while the document is judged (ADR 0033) and without (the store's begin
 * withheld: the store then does it all after the verdict, as before). Prints one line per
 * case.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "application/import_document.h"
#include "domain/document.h"
#include "interfaces/pg/pg_migrate.h"
#include "interfaces/pg/pg_store.h"
#include "interfaces/xml/xml_parser.h"
#include "test_db.h"

#define RESULTS 10000
#define RUNS 7
#define PAIRS 11 /* of imports through the use case, alternating */

/* A sample-shaped document: what the grading machines send, so it compresses as theirs do. */
static char *make_body(const char *test, size_t *len)
{
    size_t cap = 20u * 1024 * 1024, n = 0;
    char *body = malloc(cap);

    n += (size_t)snprintf(body + n, cap - n, "<mcq-test-results>\n");
    for (int i = 0; i < RESULTS; ++i) {
        n += (size_t)snprintf(body + n, cap - n,
                              "  <mcq-test-result scanned-on=\"2017-12-04T12:12:10+11:00\">\n"
                              "    <first-name>First%d</first-name>\n    <last-name>Last%d</last-name>\n"
                              "    <student-number>%09d</student-number>\n    <test-id>%s</test-id>\n"
                              "    <summary-marks available=\"20\" obtained=\"%d\" />\n",
                              i, i, 100000000 + i * 7, test, i % 21);
        for (int q = 0; q < 20; ++q)
            n += (size_t)snprintf(body + n, cap - n,
                                  "    <answer question=\"%d\" marks-available=\"1\" marks-awarded=\"%d\">%c</answer>\n",
                                  q, (i + q) % 2, "ABCD"[(i * 7 + q) % 4]);
        n += (size_t)snprintf(body + n, cap - n, "  </mcq-test-result>\n");
    }
    n += (size_t)snprintf(body + n, cap - n, "</mcq-test-results>\n");
    *len = n;
    return body;
}

static double now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double timed_save(struct markr_import_store *store, const struct markr_vault_entry *entry,
                         const struct markr_marks *marks)
{
    struct markr_error err;
    int64_t id;
    double start = now_ms();

    if (store->save_accepted(store->ctx, entry, marks, &id, &err) != 0) {
        fprintf(stderr, "save_accepted: %s\n", err.message);
        exit(1);
    }
    return now_ms() - start;
}

/* The pg store with the time of its last save (after the verdict: for a begun import, the
 * wait for its body too), which is what the verdict still waits for once it is known. */
struct timed_store {
    struct markr_import_store inner;
    double save_ms;
};

static void *timed_begin(void *ctx, const struct markr_vault_entry *entry)
{
    struct timed_store *t = ctx;

    return t->inner.begin(t->inner.ctx, entry);
}

static void timed_abandon(void *ctx, void *begun)
{
    struct timed_store *t = ctx;

    t->inner.abandon(t->inner.ctx, begun);
}

static int timed_accepted(void *ctx, const struct markr_vault_entry *entry, const struct markr_marks *marks,
                          int64_t *import_id, struct markr_error *err)
{
    struct timed_store *t = ctx;
    double start = now_ms();
    int rc = t->inner.save_accepted(t->inner.ctx, entry, marks, import_id, err);

    t->save_ms = now_ms() - start;
    return rc;
}

static int timed_rejected(void *ctx, const struct markr_vault_entry *entry, const struct markr_error *reason,
                          int64_t *import_id, struct markr_error *err)
{
    struct timed_store *t = ctx;
    double start = now_ms();
    int rc = t->inner.save_rejected(t->inner.ctx, entry, reason, import_id, err);

    t->save_ms = now_ms() - start;
    return rc;
}

/* begins 0: the store's begin withheld, so the save stores everything after the verdict. */
static struct markr_import_store timed_store_port(struct timed_store *t, int begins)
{
    return (struct markr_import_store){.ctx = t, .save_accepted = timed_accepted, .save_rejected = timed_rejected,
                                       .begin = begins ? timed_begin : NULL, .abandon = timed_abandon};
}

/* One import of a new test through the use case: parsed, judged, stored. */
static double timed_import(const struct markr_import_deps *deps, int run)
{
    char test[32];
    size_t len;
    char *body;
    struct markr_import_outcome outcome;
    double start, ms;

    snprintf(test, sizeof(test), "overlap-%d", run);
    body = make_body(test, &len);
    start = now_ms();
    if (markr_import_document(deps, "text/xml+markr", NULL, body, len, &outcome) != 0) {
        fprintf(stderr, "import: %s\n", outcome.error.message);
        exit(1);
    }
    ms = now_ms() - start;
    markr_import_outcome_free(&outcome);
    free(body);
    return ms;
}

static void report(const char *what, double *ms, int n)
{
    qsort(ms, (size_t)n, sizeof(*ms), compare);
    printf("%-44s median %6.1f ms  min %6.1f  max %6.1f  (%d runs)\n", what, ms[n / 2], ms[0], ms[n - 1], n);
}

int main(void)
{
    char *conninfo = markr_test_db_create("bench");
    struct markr_error err;
    struct markr_pg *pg = markr_pg_connect(conninfo, &err);
    struct markr_import_store store;
    struct markr_mark *marks = calloc(RESULTS, sizeof(*marks));
    char (*students)[16] = calloc(RESULTS, sizeof(*students));
    char (*names)[2][16] = calloc(RESULTS, sizeof(*names));
    char tests[RUNS][16];
    double insert_ms[RUNS], same_ms[RUNS], raise_ms[RUNS];
    size_t len;
    char *body = make_body("9863", &len);
    struct markr_format xml;
    struct timed_store timed = {0};
    struct markr_import_deps begun, whole;
    double begun_ms[PAIRS], whole_ms[PAIRS], begun_save_ms[PAIRS], whole_save_ms[PAIRS];
    struct markr_vault_entry entry = {.content_type = "text/xml+markr", .body = body, .body_len = len,
                                      .result_count = RESULTS};
    struct markr_marks set = {.marks = marks, .count = RESULTS};

    if (pg == NULL || markr_pg_migrate(pg, getenv("MARKR_MIGRATIONS_DIR"), NULL, &err) != 0) {
        fprintf(stderr, "set-up: %s\n", err.message);
        return 1;
    }
    store = markr_pg_import_store(pg);
    for (int i = 0; i < RESULTS; ++i) {
        snprintf(students[i], sizeof(students[i]), "%09d", 100000000 + i * 7);
        snprintf(names[i][0], sizeof(names[i][0]), "First%d", i);
        snprintf(names[i][1], sizeof(names[i][1]), "Last%d", i);
        marks[i] = (struct markr_mark){.student_number = students[i], .first_name = names[i][0],
                                       .last_name = names[i][1], .available = 20, .obtained = (uint32_t)(i % 20)};
    }
    for (int r = 0; r < RUNS; ++r) {
        snprintf(tests[r], sizeof(tests[r]), "9863-%d", r);
        for (int i = 0; i < RESULTS; ++i) {
            marks[i].test_id = tests[r];
            marks[i].obtained = (uint32_t)(i % 20);
        }
        insert_ms[r] = timed_save(&store, &entry, &set);
        same_ms[r] = timed_save(&store, &entry, &set);
        for (int i = 0; i < RESULTS; ++i)
            marks[i].obtained += 1;
        raise_ms[r] = timed_save(&store, &entry, &set);
    }
    printf("save_accepted, %d marks, %.1f MB body:\n", RESULTS, (double)len / 1e6);
    report("  new students (10,000 inserts)", insert_ms, RUNS);
    report("  same document again (nothing changes)", same_ms, RUNS);
    report("  every obtained raised (10,000 updates)", raise_ms, RUNS);

    markr_xml_global_init();
    xml = markr_xml_format();
    timed.inner = store;
    begun = (struct markr_import_deps){.formats = {.items = &xml, .count = 1}, .store = timed_store_port(&timed, 1)};
    whole = begun;
    whole.store = timed_store_port(&timed, 0);
    for (int r = 0; r < PAIRS; ++r) {
        begun_ms[r] = timed_import(&begun, 2 * r);
        begun_save_ms[r] = timed.save_ms;
        whole_ms[r] = timed_import(&whole, 2 * r + 1);
        whole_save_ms[r] = timed.save_ms;
    }
    printf("import (parse, judge, store), %d results of a new test, alternately:\n", RESULTS);
    report("  body stored while judged (ADR 0033)", begun_ms, PAIRS);
    report("    of which the save after the verdict", begun_save_ms, PAIRS);
    report("  body stored after the verdict", whole_ms, PAIRS);
    report("    of which the save after the verdict", whole_save_ms, PAIRS);

    markr_pg_close(pg);
    markr_test_db_drop(conninfo);
    free(conninfo);
    free(body);
    free(marks);
    free(students);
    free(names);
    return 0;
}
