/*
 * End to end: the real markr executable, a real PostgreSQL database, HTTP over loopback.
 * Proves the brief's contract as a client sees it: the example answer, the fixture's
 * aggregate against figures this test computes itself, every error status, URL-decoded ids,
 * concurrent imports keeping the maximum, readiness, and durability across SIGKILL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <json-c/json.h>
#include <libpq-fe.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"
#include "test_db.h"

#define MEDIA_TYPE "text/xml+markr"
#define BODY_LIMIT 2000000

static char *conninfo;          /* the suite's database, migrated */
static struct markr_server srv; /* shared by the tests that do not restart it */

static const char jane[] =
    "<mcq-test-results>\n"
    "  <mcq-test-result scanned-on=\"2017-12-04T12:12:10+11:00\">\n"
    "    <first-name>Jane</first-name>\n"
    "    <last-name>Austen</last-name>\n"
    "    <student-number>521585128</student-number>\n"
    "    <test-id>1234</test-id>\n"
    "    <summary-marks available=\"20\" obtained=\"13\" />\n"
    "  </mcq-test-result>\n"
    "</mcq-test-results>\n";

/* --- helpers ------------------------------------------------------------------------------ */

static char *sql_value(const char *sql)
{
    PGconn *conn = PQconnectdb(conninfo);
    PGresult *res = PQexec(conn, sql);
    char *value = NULL;
    int failed = PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK;

    /* Said, released, then failed: fail() leaves by longjmp, past any clean-up after it. */
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
        value = strdup(PQgetvalue(res, 0, 0));
    else if (failed)
        print_error("ERROR: %s: %s\n", sql, PQerrorMessage(conn));
    PQclear(res);
    PQfinish(conn);
    if (failed)
        fail();
    return value;
}

static long sql_long(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static long sql_long(const char *fmt, ...)
{
    char sql[1024];
    va_list ap;
    char *v;
    long n;

    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    v = sql_value(sql);
    n = v != NULL ? atol(v) : -1;
    free(v);
    return n;
}

static json_object *parse_json(const struct e2e_response *r)
{
    json_object *obj = json_tokener_parse(r->body);

    if (obj == NULL)
        fail_msg("not JSON: %s", r->body);
    return obj;
}

static const char *json_str(json_object *obj, const char *key)
{
    json_object *v;

    return json_object_object_get_ex(obj, key, &v) ? json_object_get_string(v) : NULL;
}

static int64_t json_int(json_object *obj, const char *key)
{
    json_object *v;

    return json_object_object_get_ex(obj, key, &v) ? json_object_get_int64(v) : -1;
}

static double json_double(json_object *obj, const char *key)
{
    json_object *v;

    if (!json_object_object_get_ex(obj, key, &v))
        fail_msg("no %s", key);
    return json_object_get_double(v);
}

static void post(const char *content_type, const char *body, size_t len, struct e2e_response *r)
{
    int rc = e2e_http(&srv, "POST", "/import", content_type, body, len, r);

    /* assert_int_equal(rc, 0), spelled out to free the body e2e_http allocated before failing. */
    if (rc != 0) {
        print_error("ERROR: the request got no answer (harness status %d)\n", rc);
        e2e_response_free(r);
        fail();
    }
}

static void post_doc(const char *doc, struct e2e_response *r)
{
    post(MEDIA_TYPE, doc, strlen(doc), r);
}

/* Every error answer is JSON with an error code and a message. */
static json_object *expect_error(const struct e2e_response *r, long status, const char *code)
{
    const char *error;
    json_object *obj;

    if (r->status != status)
        fail_msg("expected %ld, got %ld: %s", status, r->status, r->body);
    assert_string_equal(r->content_type, "application/json");
    obj = parse_json(r);
    error = json_str(obj, "error");
    /* assert_string_equal and assert_non_null spelled out, so that obj is released before failing. */
    if (error == NULL || strcmp(error, code) != 0)
        print_error("ERROR: error \"%s\", expected \"%s\"\n", error != NULL ? error : "(none)", code);
    else if (json_str(obj, "message") == NULL)
        print_error("json_str(obj, \"message\")\n");
    else
        return obj;
    json_object_put(obj);
    fail();
    return NULL;
}

/* --- suite set-up ------------------------------------------------------------------------- */

static int suite_setup(void **state)
{
    const char *env[] = {"MARKR_MAX_BODY_BYTES=2000000", NULL};

    return e2e_suite_start("e2e", env, &srv, &conninfo);
}

static int suite_teardown(void **state)
{
    return e2e_suite_stop(&srv, conninfo);
}

/* --- the brief ---------------------------------------------------------------------------- */

static void brief_example_gives_the_exact_answer(void **state)
{
    struct e2e_response r;
    json_object *obj;
    char location[64];

    post_doc(jane, &r);
    assert_int_equal(r.status, 201);
    obj = parse_json(&r);
    assert_true(json_int(obj, "import_id") > 0);
    assert_int_equal(json_int(obj, "results"), 1);
    assert_int_equal(json_int(obj, "students"), 1);
    assert_string_equal(json_object_to_json_string_ext(json_object_object_get(obj, "tests"), JSON_C_TO_STRING_PLAIN),
                        "[\"1234\"]");
    snprintf(location, sizeof(location), "/imports/%lld", (long long)json_int(obj, "import_id"));
    assert_string_equal(r.location, location);
    json_object_put(obj);
    e2e_response_free(&r);

    assert_int_equal(e2e_http(&srv, "GET", "/results/1234/aggregate", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "application/json");
    assert_string_equal(r.body,
                        "{\"mean\":65.0,\"stddev\":0.0,\"min\":65.0,\"max\":65.0,\"p25\":65.0,\"p50\":65.0,"
                        "\"p75\":65.0,\"count\":1}");
    e2e_response_free(&r);
}

/* The fixture's figures, computed here from the file with libxml2's tree API and the
 * brief's rules, independently of Markr's streaming parser and SQL. */
struct expected_mark {
    char student[64];
    long obtained, available;
};

static double continuous_percentile(const double *sorted, size_t n, double f)
{
    double pos = f * (double)(n - 1);
    size_t lo = (size_t)floor(pos), hi = (size_t)ceil(pos);

    return sorted[lo] + (pos - (double)lo) * (sorted[hi] - sorted[lo]);
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Copies text without the whitespace around it, as the brief's rules read a field. */
static void copy_trimmed(char *dst, size_t cap, const xmlChar *text)
{
    const char *s = (const char *)text;
    size_t len;

    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        ++s;
    len = strlen(s);
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\n' || s[len - 1] == '\r'))
        --len;
    snprintf(dst, cap, "%.*s", (int)len, s);
}

static size_t expected_fixture_marks(const char *test_id, struct expected_mark *marks, size_t cap, size_t *results)
{
    xmlDocPtr doc = xmlReadFile(getenv("MARKR_FIXTURE"), NULL, XML_PARSE_NONET);
    size_t n = 0;

    assert_non_null(doc);
    *results = 0;
    for (xmlNodePtr r = xmlDocGetRootElement(doc)->children; r != NULL; r = r->next) {
        char student[64] = "", test[64] = "";
        long obtained = -1, available = -1;
        size_t i;

        if (r->type != XML_ELEMENT_NODE || strcmp((const char *)r->name, "mcq-test-result") != 0)
            continue;
        ++*results;
        for (xmlNodePtr f = r->children; f != NULL; f = f->next) {
            xmlChar *text;

            if (f->type != XML_ELEMENT_NODE)
                continue;
            if (strcmp((const char *)f->name, "summary-marks") == 0) {
                xmlChar *a = xmlGetProp(f, BAD_CAST "available"), *o = xmlGetProp(f, BAD_CAST "obtained");

                available = atol((const char *)a);
                obtained = atol((const char *)o);
                xmlFree(a);
                xmlFree(o);
                continue;
            }
            text = xmlNodeGetContent(f);
            if (strcmp((const char *)f->name, "student-number") == 0)
                copy_trimmed(student, sizeof(student), text);
            else if (strcmp((const char *)f->name, "test-id") == 0)
                copy_trimmed(test, sizeof(test), text);
            xmlFree(text);
        }
        if (strcmp(test, test_id) != 0)
            continue;
        for (i = 0; i < n && strcmp(marks[i].student, student) != 0; ++i)
            ;
        if (i == n) {
            if (n >= cap) { /* assert_true(n < cap), with the document freed first */
                print_error("n < cap\n");
                xmlFreeDoc(doc);
                fail();
            }
            snprintf(marks[n].student, sizeof(marks[n].student), "%s", student);
            marks[n].obtained = obtained;
            marks[n++].available = available;
        } else {
            marks[i].obtained = obtained > marks[i].obtained ? obtained : marks[i].obtained;
            marks[i].available = available > marks[i].available ? available : marks[i].available;
        }
    }
    xmlFreeDoc(doc);
    return n;
}

static void fixture_aggregate_matches_figures_computed_from_the_file(void **state)
{
    struct expected_mark marks[200];
    double percents[200], mean = 0, var = 0;
    size_t results, n = expected_fixture_marks("9863", marks, 200, &results);
    size_t len;
    char *body = e2e_read_file(getenv("MARKR_FIXTURE"), &len);
    struct e2e_response r;
    json_object *obj;

    assert_true(n > 1 && n < results); /* the fixture has duplicates */
    post(MEDIA_TYPE "; charset=UTF-8", body, len, &r);
    free(body);
    assert_int_equal(r.status, 201);
    obj = parse_json(&r);
    assert_int_equal(json_int(obj, "results"), (int64_t)results);
    assert_int_equal(json_int(obj, "students"), (int64_t)n);
    json_object_put(obj);
    e2e_response_free(&r);

    for (size_t i = 0; i < n; ++i) {
        percents[i] = 100.0 * (double)marks[i].obtained / (double)marks[i].available;
        mean += percents[i] / (double)n;
    }
    for (size_t i = 0; i < n; ++i)
        var += (percents[i] - mean) * (percents[i] - mean) / (double)n;
    qsort(percents, n, sizeof(double), by_value);

    assert_int_equal(e2e_http(&srv, "GET", "/results/9863/aggregate", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    obj = parse_json(&r);
    assert_int_equal(json_int(obj, "count"), (int64_t)n);
    assert_true(fabs(json_double(obj, "mean") - mean) < 1e-9);
    assert_true(fabs(json_double(obj, "stddev") - sqrt(var)) < 1e-9);
    assert_true(fabs(json_double(obj, "min") - percents[0]) < 1e-9);
    assert_true(fabs(json_double(obj, "max") - percents[n - 1]) < 1e-9);
    assert_true(fabs(json_double(obj, "p25") - continuous_percentile(percents, n, 0.25)) < 1e-9);
    assert_true(fabs(json_double(obj, "p50") - continuous_percentile(percents, n, 0.50)) < 1e-9);
    assert_true(fabs(json_double(obj, "p75") - continuous_percentile(percents, n, 0.75)) < 1e-9);
    json_object_put(obj);
    e2e_response_free(&r);
}

/* --- refusals ----------------------------------------------------------------------------- */

static void invalid_result_refuses_whole_document_and_is_vaulted(void **state)
{
    static const char doc[] =
        "<mcq-test-results>\n"
        "  <mcq-test-result><student-number>1</student-number><test-id>atomic</test-id>\n"
        "    <summary-marks available=\"10\" obtained=\"5\"/></mcq-test-result>\n"
        "  <mcq-test-result><student-number>2</student-number><test-id>atomic</test-id>\n"
        "    <summary-marks available=\"10\" obtained=\"6\"/></mcq-test-result>\n"
        "  <mcq-test-result><test-id>atomic</test-id>\n"
        "    <summary-marks available=\"10\" obtained=\"7\"/></mcq-test-result>\n"
        "</mcq-test-results>\n";
    struct e2e_response r;
    json_object *obj;
    int64_t id;

    post_doc(doc, &r);
    obj = expect_error(&r, 422, "missing_field");
    id = json_int(obj, "import_id");
    assert_true(id > 0);
    assert_int_equal(json_int(obj, "result_index"), 3);
    assert_int_equal(json_int(obj, "line"), 6);
    assert_string_equal(json_str(obj, "field"), "student-number");
    json_object_put(obj);
    e2e_response_free(&r);

    assert_int_equal(sql_long("SELECT count(*) FROM marks WHERE test_id = 'atomic'"), 0);
    assert_int_equal(sql_long("SELECT count(*) FROM imports WHERE id = %lld AND status = 'rejected' "
                              "AND reason->>'field' = 'student-number' AND (reason->>'result_index')::int = 3",
                              (long long)id),
                     1);
    assert_int_equal(sql_long("SELECT sum(length(bytes)) FROM import_chunks WHERE import_id = %lld", (long long)id), (long)strlen(doc));
    assert_int_equal(e2e_http(&srv, "GET", "/results/atomic/aggregate", NULL, NULL, 0, &r), 0);
    json_object_put(expect_error(&r, 404, "unknown_test"));
    e2e_response_free(&r);
}

static void obtained_above_available_is_422(void **state)
{
    static const char doc[] = "<mcq-test-results><mcq-test-result><student-number>1</student-number>"
                              "<test-id>t</test-id><summary-marks available=\"10\" obtained=\"11\"/>"
                              "</mcq-test-result></mcq-test-results>";
    struct e2e_response r;
    json_object *obj;

    post_doc(doc, &r);
    obj = expect_error(&r, 422, "obtained_exceeds_available");
    assert_string_equal(json_str(obj, "field"), "summary-marks/@obtained");
    json_object_put(obj);
    e2e_response_free(&r);
}

static void malformed_xml_is_400_and_vaulted(void **state)
{
    static const char doc[] = "<mcq-test-results>\n<mcq-test-result>\n</mcq-test-results>\n";
    struct e2e_response r;
    json_object *obj;
    int64_t id;

    post_doc(doc, &r);
    obj = expect_error(&r, 400, "malformed_xml");
    id = json_int(obj, "import_id");
    assert_true(id > 0);
    assert_true(json_int(obj, "line") > 0);
    json_object_put(obj);
    e2e_response_free(&r);
    assert_int_equal(sql_long("SELECT count(*) FROM imports WHERE id = %lld AND status = 'rejected'", (long long)id), 1);
}

static void foreign_document_is_422(void **state)
{
    struct e2e_response r;

    post_doc("<invoice><total>3</total></invoice>", &r);
    json_object_put(expect_error(&r, 422, "wrong_root"));
    e2e_response_free(&r);
}

static void other_media_types_are_415_and_not_vaulted(void **state)
{
    long before = sql_long("SELECT count(*) FROM imports");
    struct e2e_response r;

    post("application/xml", jane, strlen(jane), &r);
    json_object_put(expect_error(&r, 415, "unsupported_media_type"));
    e2e_response_free(&r);
    post(NULL, jane, strlen(jane), &r);
    json_object_put(expect_error(&r, 415, "unsupported_media_type"));
    e2e_response_free(&r);
    assert_int_equal(sql_long("SELECT count(*) FROM imports"), before);

    post("Text/XML+Markr ; charset=utf-8", jane, strlen(jane), &r); /* case and parameters */
    assert_int_equal(r.status, 201);
    e2e_response_free(&r);
}

static void oversized_body_is_413_json(void **state)
{
    size_t len = BODY_LIMIT + 1;
    char *big = malloc(len);
    struct e2e_response r;

    memset(big, ' ', len);
    memcpy(big, "<mcq-test-results>", 18);
    post(MEDIA_TYPE, big, len, &r);
    free(big);
    json_object_put(expect_error(&r, 413, "payload_too_large"));
    e2e_response_free(&r);
}

static void unknown_routes_methods_and_ids(void **state)
{
    struct e2e_response r;

    assert_int_equal(e2e_http(&srv, "GET", "/results/no-such-test/aggregate", NULL, NULL, 0, &r), 0);
    json_object_put(expect_error(&r, 404, "unknown_test"));
    e2e_response_free(&r);
    assert_int_equal(e2e_http(&srv, "GET", "/nowhere", NULL, NULL, 0, &r), 0);
    json_object_put(expect_error(&r, 404, "not_found"));
    e2e_response_free(&r);
    assert_int_equal(e2e_http(&srv, "GET", "/import", NULL, NULL, 0, &r), 0);
    json_object_put(expect_error(&r, 405, "method_not_allowed"));
    assert_string_equal(r.allow, "POST, OPTIONS");
    e2e_response_free(&r);
    assert_int_equal(e2e_http(&srv, "POST", "/results/1234/aggregate", MEDIA_TYPE, "x", 1, &r), 0);
    json_object_put(expect_error(&r, 405, "method_not_allowed"));
    e2e_response_free(&r);
    assert_int_equal(e2e_http(&srv, "GET", "/results/%zz/aggregate", NULL, NULL, 0, &r), 0);
    json_object_put(expect_error(&r, 400, "bad_path"));
    e2e_response_free(&r);
}

static void test_ids_are_url_decoded_and_opaque(void **state)
{
    static const char doc[] = "<mcq-test-results><mcq-test-result><student-number>002299</student-number>"
                              "<test-id>Maths 1/B %</test-id><summary-marks available=\"4\" obtained=\"1\"/>"
                              "</mcq-test-result><mcq-test-result><student-number>2299</student-number>"
                              "<test-id>Maths 1/B %</test-id><summary-marks available=\"4\" obtained=\"3\"/>"
                              "</mcq-test-result></mcq-test-results>";
    struct e2e_response r;
    json_object *obj;

    post_doc(doc, &r);
    assert_int_equal(r.status, 201);
    obj = parse_json(&r);
    assert_int_equal(json_int(obj, "students"), 2); /* 002299 and 2299 are different students */
    json_object_put(obj);
    e2e_response_free(&r);

    assert_int_equal(e2e_http(&srv, "GET", "/results/Maths%201%2FB%20%25/aggregate", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    obj = parse_json(&r);
    assert_int_equal(json_int(obj, "count"), 2);
    assert_true(fabs(json_double(obj, "mean") - 50.0) < 1e-12);
    json_object_put(obj);
    e2e_response_free(&r);
}

/* --- health and readiness ----------------------------------------------------------------- */

static void health_and_readiness(void **state)
{
    struct e2e_response r;
    json_object *obj;
    char *latest;
    char sql[256];

    assert_int_equal(e2e_http(&srv, "GET", "/health", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"status\":\"UP\"}");
    e2e_response_free(&r);
    assert_int_equal(e2e_http(&srv, "GET", "/ready", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    e2e_response_free(&r);

    /* Schema behind what the binary expects: not ready, while /health stays up. */
    latest = sql_value("SELECT max(version)::text FROM schema_migrations");
    assert_non_null(latest);
    free(sql_value("CREATE TABLE saved_migration AS SELECT * FROM schema_migrations WHERE version = "
                   "(SELECT max(version) FROM schema_migrations)"));
    snprintf(sql, sizeof(sql), "DELETE FROM schema_migrations WHERE version = %s", latest);
    free(sql_value(sql));
    assert_int_equal(e2e_http(&srv, "GET", "/ready", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 503);
    obj = parse_json(&r);
    assert_non_null(json_str(obj, "error"));
    assert_non_null(json_str(obj, "message"));
    json_object_put(obj);
    assert_string_equal(r.retry_after, "1");
    e2e_response_free(&r);
    assert_int_equal(e2e_http(&srv, "GET", "/health", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    e2e_response_free(&r);
    free(sql_value("INSERT INTO schema_migrations SELECT * FROM saved_migration"));
    free(sql_value("DROP TABLE saved_migration"));
    assert_int_equal(e2e_http(&srv, "GET", "/ready", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    e2e_response_free(&r);
    free(latest);
}

/* --- concurrency -------------------------------------------------------------------------- */

#define WRITERS 6
#define DOCS_PER_WRITER 8
#define STUDENTS 40

struct writer {
    unsigned seed;
    unsigned first; /* where this writer's shuffled order starts */
    long obtained[STUDENTS], available[STUDENTS]; /* the highest this writer sent */
    int failures;
};

static void *write_documents(void *arg)
{
    struct writer *w = arg;
    char *doc = malloc(64 * 1024);

    for (int d = 0; d < DOCS_PER_WRITER; ++d) {
        size_t off = (size_t)sprintf(doc, "<mcq-test-results>");
        struct e2e_response r;

        /* Overlapping students in a shuffled order, so writers contend for the same rows. */
        for (int k = 0; k < STUDENTS; ++k) {
            int s = (int)(((unsigned)k * 7 + (unsigned)d * 3 + w->first) % STUDENTS);
            long available = 10 + rand_r(&w->seed) % 90;
            long obtained = rand_r(&w->seed) % (available + 1);

            off += (size_t)sprintf(doc + off,
                                   "<mcq-test-result><student-number>s%02d</student-number><test-id>race</test-id>"
                                   "<summary-marks available=\"%ld\" obtained=\"%ld\"/></mcq-test-result>",
                                   s, available, obtained);
            if (obtained > w->obtained[s])
                w->obtained[s] = obtained;
            if (available > w->available[s])
                w->available[s] = available;
        }
        strcpy(doc + off, "</mcq-test-results>");
        if (e2e_http(&srv, "POST", "/import", MEDIA_TYPE, doc, strlen(doc), &r) != 0 || r.status != 201)
            ++w->failures;
        e2e_response_free(&r);
    }
    free(doc);
    return NULL;
}

static void concurrent_overlapping_imports_keep_the_maximum(void **state)
{
    struct writer writers[WRITERS];
    pthread_t threads[WRITERS];

    memset(writers, 0, sizeof(writers));
    for (int i = 0; i < WRITERS; ++i) {
        writers[i].seed = (unsigned)(i * 7919 + 1);
        writers[i].first = (unsigned)i * 5;
        pthread_create(&threads[i], NULL, write_documents, &writers[i]);
    }
    for (int i = 0; i < WRITERS; ++i)
        pthread_join(threads[i], NULL);

    for (int s = 0; s < STUDENTS; ++s) {
        long obtained = 0, available = 0;

        for (int i = 0; i < WRITERS; ++i) {
            assert_int_equal(writers[i].failures, 0);
            obtained = writers[i].obtained[s] > obtained ? writers[i].obtained[s] : obtained;
            available = writers[i].available[s] > available ? writers[i].available[s] : available;
        }
        assert_int_equal(
            sql_long("SELECT obtained FROM marks WHERE test_id = 'race' AND student_number = 's%02d'", s), obtained);
        assert_int_equal(
            sql_long("SELECT available FROM marks WHERE test_id = 'race' AND student_number = 's%02d'", s),
            available);
    }
    assert_int_equal(sql_long("SELECT count(*) FROM marks WHERE test_id = 'race'"), STUDENTS);
}

/* --- durability --------------------------------------------------------------------------- */

static void accepted_import_survives_sigkill(void **state)
{
    static const char doc[] = "<mcq-test-results><mcq-test-result><student-number>42</student-number>"
                              "<test-id>durable</test-id><summary-marks available=\"8\" obtained=\"6\"/>"
                              "</mcq-test-result></mcq-test-results>";
    struct markr_server own;
    struct e2e_response r;
    int status;

    assert_int_equal(e2e_server_start(&own, conninfo, NULL), 0);
    assert_int_equal(e2e_http(&own, "POST", "/import", MEDIA_TYPE, doc, strlen(doc), &r), 0);
    assert_int_equal(r.status, 201);
    e2e_response_free(&r);
    status = e2e_server_stop(&own, SIGKILL);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    assert_int_equal(e2e_server_start(&own, conninfo, NULL), 0);
    assert_int_equal(e2e_http(&own, "GET", "/results/durable/aggregate", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"mean\":75.0,\"stddev\":0.0,\"min\":75.0,\"max\":75.0,\"p25\":75.0,\"p50\":75.0,"
                                "\"p75\":75.0,\"count\":1}");
    e2e_response_free(&r);
    status = e2e_server_stop(&own, SIGTERM);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(brief_example_gives_the_exact_answer),
        cmocka_unit_test(fixture_aggregate_matches_figures_computed_from_the_file),
        cmocka_unit_test(invalid_result_refuses_whole_document_and_is_vaulted),
        cmocka_unit_test(obtained_above_available_is_422),
        cmocka_unit_test(malformed_xml_is_400_and_vaulted),
        cmocka_unit_test(foreign_document_is_422),
        cmocka_unit_test(other_media_types_are_415_and_not_vaulted),
        cmocka_unit_test(oversized_body_is_413_json),
        cmocka_unit_test(unknown_routes_methods_and_ids),
        cmocka_unit_test(test_ids_are_url_decoded_and_opaque),
        cmocka_unit_test(health_and_readiness),
        cmocka_unit_test(concurrent_overlapping_imports_keep_the_maximum),
        cmocka_unit_test(accepted_import_survives_sigkill),
    };

    return cmocka_run_group_tests_name("e2e_api", tests, suite_setup, suite_teardown);
}
