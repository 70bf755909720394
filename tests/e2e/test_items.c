/*
 * End to end: item analysis (GET /results/{test-id}/items) and a student's sheet
 * (GET /results/{test-id}/students/{student-number}) against the real server and database.
 * Every figure is compared with what this file computes itself from the documents it sent
 * (read back with libxml2, under the definitions of the README, with two-pass floating
 * point rather than the server's exact sums): a generated test whose answers follow a
 * simulated ability, with a 2-mark question, omitted questions, blanks, invalid answers and
 * rescans (higher, lower, equal obtained, twice in one document), sent synchronously and
 * queued; the school board's sample (test 9863); and again after `markr reprocess --all`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "items_model.h"
#include "test_db.h"

#define MEDIA_TYPE "text/xml+markr"
#define TOLERANCE 1e-9

static char *conninfo;
static struct markr_server srv;

/* --- comparing with the answer ------------------------------------------------------------ */

static json_object *get_json(const char *path, long status)
{
    struct e2e_response r;
    json_object *obj = NULL;
    int rc = e2e_http(&srv, "GET", path, NULL, NULL, 0, &r);

    if (rc != 0)
        print_error("ERROR: GET %s got no answer (harness status %d)\n", path, rc);
    else if (r.status != status)
        print_error("ERROR: GET %s: expected %ld, got %ld: %s\n", path, status, r.status, r.body);
    else if ((obj = json_tokener_parse(r.body)) == NULL)
        print_error("ERROR: not JSON: %s\n", r.body);
    e2e_response_free(&r);
    if (obj == NULL)
        fail();
    return obj;
}

static json_object *member(json_object *o, const char *key)
{
    json_object *v = NULL;

    if (!json_object_object_get_ex(o, key, &v))
        fail_msg("no %s in %s", key, json_object_to_json_string(o));
    return v;
}

static void same_number(json_object *o, const char *key, int has, double want)
{
    json_object *v = member(o, key);

    if (!has) {
        if (v != NULL)
            fail_msg("%s: expected null, got %s", key, json_object_to_json_string(v));
        return;
    }
    if (v == NULL)
        fail_msg("%s: expected %.17g, got null", key, want);
    if (fabs(json_object_get_double(v) - want) > TOLERANCE)
        fail_msg("%s: expected %.17g, got %.17g", key, want, json_object_get_double(v));
}

static void same_int(json_object *o, const char *key, long want)
{
    long got = (long)json_object_get_int64(member(o, key));

    if (got != want)
        fail_msg("%s: expected %ld, got %ld in %.300s", key, want, got, json_object_to_json_string(o));
}

static const char *const flag_names[] = {"too_easy", "too_hard", "weak", "negative", "distractor_attracts_top"};

/* Fails with the first difference between the items answer and f. */
static void compare_items(json_object *body, const struct figures *f)
{
    json_object *items = member(body, "items");

    same_int(body, "students", f->students);
    same_int(body, "questions", f->questions);
    same_int(body, "group_size", f->group_size);
    same_number(body, "mean_total", f->has_totals, f->mean);
    same_number(body, "sd_total", f->has_totals, f->sd);
    same_number(body, "alpha", f->has_alpha, f->alpha);
    same_number(body, "sem", f->has_alpha, f->sem);
    assert_int_equal(json_object_array_length(items), f->k);
    for (int q = 0; q < f->k; ++q) {
        const struct item_fig *it = &f->items[q];
        json_object *item = json_object_array_get_idx(items, (size_t)q), *resp = member(item, "responses"),
                    *flags = member(item, "flags");
        unsigned got_flags = 0;

        assert_string_equal(json_object_get_string(member(item, "question")), it->q);
        same_int(item, "answered", it->answered);
        same_int(item, "max_marks", it->max_marks);
        same_number(item, "facility", it->has_facility, it->facility);
        same_number(item, "discrimination", it->has_disc, it->disc);
        for (size_t i = 0; i < json_object_array_length(flags); ++i)
            for (unsigned b = 0; b < 5; ++b)
                if (strcmp(json_object_get_string(json_object_array_get_idx(flags, i)), flag_names[b]) == 0)
                    got_flags |= 1u << b;
        if (got_flags != it->flags)
            fail_msg("question %s: flags %s, expected mask %u", it->q, json_object_to_json_string(flags), it->flags);
        assert_int_equal(json_object_array_length(resp), it->nr);
        for (int r = 0; r < it->nr; ++r) {
            json_object *one = json_object_array_get_idx(resp, (size_t)r);

            assert_string_equal(json_object_get_string(member(one, "response")), it->resp[r].r);
            same_int(one, "count", it->resp[r].count);
            same_int(one, "upper", it->resp[r].upper);
            same_int(one, "lower", it->resp[r].lower);
        }
    }
}

static void check_items(const char *test)
{
    struct figures f;
    char path[128];
    json_object *body;

    expected_figures(test, &f);
    snprintf(path, sizeof(path), "/results/%s/items", test);
    body = get_json(path, 200);
    compare_items(body, &f);
    json_object_put(body);
}

/* The answer of path as text (malloc'd), status 200. */
static char *get_text(const char *path)
{
    struct e2e_response r;
    char *text;

    assert_int_equal(e2e_http(&srv, "GET", path, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    text = strdup(r.body);
    e2e_response_free(&r);
    return text;
}

/* --- documents ------------------------------------------------------------------------------ */

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* The items of "gen" as text; "" while unknown (404). */
static char *gen_items(void)
{
    struct e2e_response r;
    char *text;

    assert_int_equal(e2e_http(&srv, "GET", "/results/gen/items", NULL, NULL, 0, &r), 0);
    text = strdup(r.status == 200 ? r.body : "");
    e2e_response_free(&r);
    return text;
}

/* A read after an import sees it once the change notification has reached the server's
 * cache (README): waits, at most 10 s, until the items of "gen" are no longer `before`. */
static void await_change(char *before)
{
    for (int waited = 0;; waited += 20) {
        char *now = gen_items();
        int same = strcmp(now, before) == 0;

        free(now);
        if (!same)
            break;
        if (waited > 10000)
            fail_msg("the items of gen never changed after an import that changes them");
        sleep_ms(20);
    }
    free(before);
}

static void post_sync(const char *doc, size_t len)
{
    char *before = gen_items();
    struct e2e_response r;

    assert_int_equal(e2e_http(&srv, "POST", "/import", MEDIA_TYPE, doc, len, &r), 0);
    if (r.status != 201)
        fail_msg("POST /import: %ld %s", r.status, r.body);
    e2e_response_free(&r);
    model_apply(doc, len);
    if (strstr(doc, "<test-id>gen</test-id>") != NULL)
        await_change(before);
    else
        free(before);
}

/* Queued: 202, then waits (at most 60 s) until the import is accepted. */
static void post_async(const char *doc, size_t len)
{
    static const char *const async[] = {"Prefer: respond-async", NULL};
    char *before = gen_items();
    struct e2e_response r;
    json_object *obj;
    char path[64];
    long id;

    assert_int_equal(e2e_http_with(&srv, "POST", "/import", MEDIA_TYPE, async, doc, len, &r), 0);
    if (r.status != 202)
        fail_msg("POST /import (async): %ld %s", r.status, r.body);
    obj = json_tokener_parse(r.body);
    id = (long)json_object_get_int64(member(obj, "import_id"));
    json_object_put(obj);
    e2e_response_free(&r);
    snprintf(path, sizeof(path), "/imports/%ld", id);
    for (int waited = 0;; waited += 20) {
        const char *status;

        obj = get_json(path, 200);
        status = json_object_get_string(member(obj, "status"));
        if (strcmp(status, "accepted") == 0) {
            json_object_put(obj);
            break;
        }
        if (strcmp(status, "queued") != 0 && strcmp(status, "processing") != 0)
            fail_msg("queued import %ld: %s", id, json_object_to_json_string(obj));
        json_object_put(obj);
        if (waited > 60000)
            fail_msg("queued import %ld never settled", id);
        sleep_ms(20);
    }
    model_apply(doc, len);
    await_change(before);
}

/* A growing document. */
struct doc {
    char *text;
    size_t len, cap;
};

static void add(struct doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct doc *d, const char *fmt, ...)
{
    va_list ap;
    int n;

    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(d->text + d->len, d->cap - d->len, fmt, ap);
        va_end(ap);
        if ((size_t)n < d->cap - d->len)
            break;
        d->cap = d->cap * 2 + (size_t)n + 64;
        d->text = realloc(d->text, d->cap);
        assert_non_null(d->text);
    }
    d->len += (size_t)n;
}

/* A small deterministic generator (the seed is printed, so a failure can be replayed). */
static uint64_t rng;

static double uniform(void)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(rng >> 11) / 9007199254740992.0;
}

#define STUDENTS 60
static const char *const questions[] = {"1", "2", "3", "4", "5", "6", "7", "8", "10", "bonus"};
#define QUESTIONS (sizeof(questions) / sizeof(questions[0]))
static const char keys[] = "ABCDABCDAB";

/* One result of student s in test `test` with ability theta: each question answered right
 * with a probability that rises with ability, question "8" worth 2 marks (1 for a partial
 * answer), question "5" having a wrong option ("C") that strong students fall for; some
 * questions omitted, some blank, some invalid answers beside the valid ones, one question
 * answered twice (the last one counts). obtained is given (rescans choose theirs). */
static void add_result(struct doc *d, const char *test, int s, double theta, long obtained)
{
    add(d, "<mcq-test-result><first-name>F%d</first-name><student-number>st%03d</student-number>"
           "<test-id>%s</test-id>\n", s, s, test);
    for (size_t q = 0; q < QUESTIONS; ++q) {
        double difficulty = -1.5 + 3.0 * (double)q / QUESTIONS, u = uniform();
        int right = uniform() < 1.0 / (1.0 + exp(-(2.5 * theta - difficulty)));
        long available = strcmp(questions[q], "8") == 0 ? 2 : 1, awarded = right ? available : 0;
        char response[8] = {keys[q], '\0'};

        if (u < 0.08)
            continue; /* omitted */
        if (u < 0.14) {
            response[0] = '\0', awarded = 0; /* blank: white space only */
            add(d, "<answer question=\" %s \" marks-available=\"%ld\" marks-awarded=\"0\"> \n </answer>\n",
                questions[q], available);
            continue;
        }
        if (!right) {
            response[0] = strcmp(questions[q], "5") == 0 && theta > 0.3 ? 'C' : "ABCD"[(int)(uniform() * 4)];
            if (response[0] == keys[q])
                response[0] = keys[q] == 'D' ? 'A' : (char)(keys[q] + 1);
            if (available == 2 && uniform() < 0.5)
                awarded = 1;
        }
        if (u > 0.95) /* answered twice: a first, different answer that the second replaces */
            add(d, "<answer question=\"%s\" marks-available=\"%ld\" marks-awarded=\"0\">Z</answer>\n", questions[q],
                available);
        add(d, "<answer question=\"%s\" marks-available=\"%ld\" marks-awarded=\"%ld\">%s</answer>\n", questions[q],
            available, awarded, response);
        if (u > 0.9 && u <= 0.95) /* invalid after it: ignored, it does not replace the valid one */
            add(d, "<answer question=\"%s\" marks-available=\"1\" marks-awarded=\"2\">Y</answer>\n", questions[q]);
    }
    /* Invalid in every way the README lists: none of them counts. */
    if (s % 7 == 0)
        add(d, "<answer marks-available=\"1\" marks-awarded=\"1\">A</answer>"
               "<answer question=\"  \" marks-available=\"1\" marks-awarded=\"1\">A</answer>"
               "<answer question=\"x1\" marks-available=\"one\" marks-awarded=\"1\">A</answer>"
               "<answer question=\"x2\" marks-available=\"1\" marks-awarded=\"-1\">A</answer>"
               "<answer question=\"x3\" marks-available=\"1\">A</answer>\n");
    add(d, "<summary-marks available=\"11\" obtained=\"%ld\"/></mcq-test-result>\n", obtained);
}

static double ability[STUDENTS];

static void generated_test_matches_its_own_figures(void **state)
{
    struct doc d1 = {0}, d2 = {0}, d3 = {0}, d4 = {0};
    const char *reprocess[] = {"reprocess", "--all", NULL};
    char *before, *after, *out = NULL;
    json_object *body;

    rng = (uint64_t)time(NULL);
    fprintf(stderr, "items seed %llu\n", (unsigned long long)rng);
    for (int s = 0; s < STUDENTS; ++s)
        ability[s] = uniform() * 2 - 1;
    /* Document 1: every student; st003 twice (the second, equal obtained, is kept), st004
     * twice (the first, higher, is kept). */
    add(&d1, "<mcq-test-results>\n");
    for (int s = 0; s < STUDENTS; ++s)
        add_result(&d1, "gen", s, ability[s], 4 + s % 5);
    add_result(&d1, "gen", 3, ability[3], 4 + 3 % 5);
    add_result(&d1, "gen", 4, ability[4], 4 + 4 % 5 - 1);
    add(&d1, "</mcq-test-results>\n");
    post_sync(d1.text, d1.len);
    check_items("gen");

    /* Document 2, another import: rescans higher (st010: replaced), lower (st011: kept as it
     * was), equal (st012: replaced, received later), and a student without answers at all
     * and a higher obtained (st013: the sheet goes, the kept scan has none). */
    add(&d2, "<mcq-test-results>\n");
    add_result(&d2, "gen", 10, ability[10], 4 + 10 % 5 + 1);
    add_result(&d2, "gen", 11, ability[11], 4 + 11 % 5 - 1);
    add_result(&d2, "gen", 12, ability[12], 4 + 12 % 5);
    add(&d2, "<mcq-test-result><student-number>st013</student-number><test-id>gen</test-id>"
             "<summary-marks available=\"11\" obtained=\"11\"/></mcq-test-result>\n");
    add(&d2, "</mcq-test-results>\n");
    post_sync(d2.text, d2.len);
    check_items("gen");

    /* Document 3, queued: a higher rescan and a new student. */
    add(&d3, "<mcq-test-results>\n");
    add_result(&d3, "gen", 20, ability[20], 10);
    add_result(&d3, "gen", STUDENTS, 0.9, 8);
    add(&d3, "</mcq-test-results>\n");
    post_async(d3.text, d3.len);
    check_items("gen");

    /* Document 4: only an equal rescan, so no mark changes, only a sheet: the cached items
     * must still be dropped (the answers above were cached). Bounded wait for the change
     * notification, then exact. */
    add(&d4, "<mcq-test-results>\n");
    add_result(&d4, "gen", 30, -ability[30], 4 + 30 % 5);
    add(&d4, "</mcq-test-results>\n");
    post_sync(d4.text, d4.len);
    check_items("gen");

    /* Rebuilt from the vault: as for imports received before the sheets were kept (none
     * stored, as after migration 0006), `reprocess --all` brings every figure back, to the
     * byte. The flush it sends at commit reaches the cache within the bounded wait. */
    before = get_text("/results/gen/items");
    assert_int_equal(markr_test_db_exec(conninfo, "UPDATE marks SET sheet_import_id = NULL, sheet_total = NULL,"
                                                  " sheet_questions = NULL, sheet_responses = NULL,"
                                                  " sheet_awarded = NULL, sheet_available = NULL; "
                                                  "SELECT pg_notify('markr_changes', '{\"import_id\":0,\"flush\":true}')"),
                     0);
    for (int waited = 0;; waited += 20) {
        body = get_json("/results/gen/items", 200);
        if (json_object_get_int64(member(body, "students")) == 0)
            break;
        json_object_put(body);
        if (waited > 10000)
            fail_msg("the flush never reached the cache");
        sleep_ms(20);
    }
    json_object_put(body);
    assert_int_equal(e2e_run_cli(conninfo, reprocess, NULL, &out), 0);
    free(out);
    for (int waited = 0;; waited += 20) {
        after = get_text("/results/gen/items");
        if (strcmp(before, after) == 0)
            break;
        if (waited > 10000)
            fail_msg("after reprocess --all: %.400s\nbefore: %.400s", after, before);
        free(after);
        sleep_ms(20);
    }
    free(before);
    free(after);
    check_items("gen");
    free(d1.text), free(d2.text), free(d3.text), free(d4.text);
}

static void the_sample_matches_its_own_figures(void **state)
{
    size_t len;
    char *doc = e2e_read_file(getenv("MARKR_FIXTURE"), &len);

    post_sync(doc, len);
    free(doc);
    check_items("9863");
}

/* The CSV form: a row per (question, response) of the JSON answer, in its order, with the
 * same figures; an unknown test is 404 there too. */
static void the_items_as_csv_are_the_json_rows(void **state)
{
    json_object *body = get_json("/results/9863/items", 200), *items, *first, *resp, *v;
    struct e2e_response r;
    size_t rows = 0, lines = 0;
    char expected[512];

    assert_true(json_object_object_get_ex(body, "items", &items));
    for (size_t i = 0; i < json_object_array_length(items); ++i) {
        size_t n;

        assert_true(json_object_object_get_ex(json_object_array_get_idx(items, i), "responses", &resp));
        n = json_object_array_length(resp);
        rows += n != 0 ? n : 1;
    }
    assert_true(rows > 1);
    assert_int_equal(e2e_http(&srv, "GET", "/results/9863/items?format=csv", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "text/csv; charset=utf-8; header=present");
    assert_int_equal(strncmp(r.body, "question,answered,max_marks,facility,discrimination,flags,response,count,upper,"
                                     "lower\r\n", 80), 0);
    for (const char *p = r.body; (p = strstr(p, "\r\n")) != NULL; p += 2)
        ++lines;
    assert_int_equal(lines, rows + 1);
    /* The first row: the first question's first response. */
    first = json_object_array_get_idx(items, 0);
    assert_true(json_object_object_get_ex(first, "responses", &resp));
    v = json_object_array_get_idx(resp, 0);
    {
        json_object *q, *response, *count;

        assert_true(json_object_object_get_ex(first, "question", &q));
        assert_true(json_object_object_get_ex(v, "response", &response));
        assert_true(json_object_object_get_ex(v, "count", &count));
        snprintf(expected, sizeof(expected), "\r\n%s,", json_object_get_string(q));
        assert_non_null(strstr(r.body, expected));
        snprintf(expected, sizeof(expected), ",%s,%s,", json_object_get_string(response), json_object_get_string(count));
        assert_non_null(strstr(r.body, expected));
    }
    e2e_response_free(&r);
    json_object_put(body);
    assert_int_equal(e2e_http(&srv, "GET", "/results/none/items?format=csv", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 404);
    e2e_response_free(&r);
}

/* Every valid answer of the kept sheet in question order, with the mark; 404s. */
static void a_students_sheet_is_the_kept_one(void **state)
{
    json_object *body = get_json("/results/gen/students/st012", 200), *answers = member(body, "answers");
    const struct sheet *s = NULL;
    struct item_fig order[MAX_Q];

    for (int i = 0; i < kept_count; ++i)
        if (strcmp(kept[i].test, "gen") == 0 && strcmp(kept[i].student, "st012") == 0)
            s = &kept[i];
    assert_non_null(s);
    for (int i = 0; i < s->n; ++i)
        strcpy(order[i].q, s->a[i].q);
    qsort(order, (size_t)s->n, sizeof(order[0]), question_order);
    same_int(body, "obtained", s->obtained);
    same_int(body, "available", 11);
    same_number(body, "percent", 1, 100.0 * (double)s->obtained / 11);
    assert_int_equal(json_object_array_length(answers), s->n);
    for (int i = 0; i < s->n; ++i) {
        json_object *a = json_object_array_get_idx(answers, (size_t)i);
        const struct answer *want = answer_of(s, order[i].q);

        assert_string_equal(json_object_get_string(member(a, "question")), want->q);
        assert_string_equal(json_object_get_string(member(a, "response")), want->r);
        same_int(a, "awarded", want->aw);
        same_int(a, "available", want->av);
    }
    json_object_put(body);
    /* A mark whose kept scan had no answer: the mark, no answers. */
    body = get_json("/results/gen/students/st013", 200);
    assert_int_equal(json_object_array_length(member(body, "answers")), 0);
    json_object_put(body);
    json_object_put(get_json("/results/gen/students/nobody", 404));
    json_object_put(get_json("/results/nothing/students/st012", 404));
    json_object_put(get_json("/results/gen/students/%FF", 404));
}

/* Marks as large as valid answers allow (2^31 - 1 each): every product of totals passes 64
 * bits (total^2 is about 1.8e19), so the sums must be exact beyond bigint. With one
 * student right on both questions and one wrong on both, every figure is known exactly. */
static void totals_past_64_bit_products(void **state)
{
    static const char doc[] =
        "<mcq-test-results>"
        "<mcq-test-result><student-number>a</student-number><test-id>huge</test-id>"
        "<answer question=\"1\" marks-available=\"2147483647\" marks-awarded=\"2147483647\">A</answer>"
        "<answer question=\"2\" marks-available=\"2147483647\" marks-awarded=\"2147483647\">A</answer>"
        "<summary-marks available=\"2\" obtained=\"2\"/></mcq-test-result>"
        "<mcq-test-result><student-number>b</student-number><test-id>huge</test-id>"
        "<answer question=\"1\" marks-available=\"2147483647\" marks-awarded=\"0\">B</answer>"
        "<answer question=\"2\" marks-available=\"2147483647\" marks-awarded=\"0\">B</answer>"
        "<summary-marks available=\"2\" obtained=\"0\"/></mcq-test-result>"
        "</mcq-test-results>";
    json_object *body, *items;

    post_sync(doc, sizeof(doc) - 1);
    check_items("huge");
    body = get_json("/results/huge/items", 200);
    same_int(body, "students", 2);
    same_int(body, "group_size", 1);
    same_number(body, "mean_total", 1, 2147483647.0);
    same_number(body, "sd_total", 1, 2147483647.0);
    same_number(body, "alpha", 1, 1.0);
    same_number(body, "sem", 1, 0.0);
    items = member(body, "items");
    assert_int_equal(json_object_array_length(items), 2);
    for (size_t q = 0; q < 2; ++q) {
        json_object *item = json_object_array_get_idx(items, q), *resp = member(item, "responses");

        same_number(item, "facility", 1, 50.0);
        same_number(item, "discrimination", 1, 1.0);
        assert_int_equal(json_object_array_length(resp), 2);
        same_int(json_object_array_get_idx(resp, 0), "upper", 1);
        same_int(json_object_array_get_idx(resp, 0), "lower", 0);
        same_int(json_object_array_get_idx(resp, 1), "upper", 0);
        same_int(json_object_array_get_idx(resp, 1), "lower", 1);
    }
    json_object_put(body);
}

/* A test with marks but no valid answer is 200 with nothing in it; no marks is 404. */
static void tests_without_answers_and_unknown_tests(void **state)
{
    static const char doc[] = "<mcq-test-results><mcq-test-result><student-number>1</student-number>"
                              "<test-id>bare</test-id><answer question=\"1\" marks-available=\"1\" "
                              "marks-awarded=\"2\">A</answer><summary-marks available=\"2\" obtained=\"1\"/>"
                              "</mcq-test-result></mcq-test-results>";
    json_object *body;

    post_sync(doc, sizeof(doc) - 1);
    body = get_json("/results/bare/items", 200);
    same_int(body, "students", 0);
    same_int(body, "questions", 0);
    same_int(body, "group_size", 0);
    same_number(body, "mean_total", 0, 0);
    same_number(body, "sd_total", 0, 0);
    same_number(body, "alpha", 0, 0);
    same_number(body, "sem", 0, 0);
    assert_int_equal(json_object_array_length(member(body, "items")), 0);
    json_object_put(body);
    body = get_json("/results/none/items", 404);
    assert_string_equal(json_object_get_string(member(body, "error")), "unknown_test");
    json_object_put(body);
    json_object_put(get_json("/results/%FF%FE/items", 404));
}

static int suite_setup(void **state)
{
    return e2e_suite_start("e2e_items", NULL, &srv, &conninfo);
}

static int suite_teardown(void **state)
{
    return e2e_suite_stop(&srv, conninfo);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(generated_test_matches_its_own_figures),
        cmocka_unit_test(the_sample_matches_its_own_figures),
        cmocka_unit_test(the_items_as_csv_are_the_json_rows),
        cmocka_unit_test(a_students_sheet_is_the_kept_one),
        cmocka_unit_test(tests_without_answers_and_unknown_tests),
        cmocka_unit_test(totals_past_64_bit_products),
    };

    return cmocka_run_group_tests_name("e2e_items", tests, suite_setup, suite_teardown);
}
