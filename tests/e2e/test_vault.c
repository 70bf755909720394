/*
 * End to end, the import vault: the real markr executable, a real PostgreSQL,
 * HTTP over loopback. Proves that stored documents come back byte for byte and are listed
 * newest first page by page; that the conflicts of the fixture are the ones this test finds
 * in the fixture itself; that `markr reprocess --all` rebuilds exactly the marks the live
 * path produced after a random mixed history (and that a dry run on it reports nothing);
 * the admin token; and the asynchronous queue across a crash and across two servers.
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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "harness.h"
#include "test_db.h"

#define MEDIA_TYPE "text/xml+markr"
#define BODY_LIMIT 4000000 /* MARKR_MAX_BODY_BYTES: every body, asynchronous ones too */
#define TOKEN "e2e-admin-token-0123456789"

static char *conninfo;          /* the suite's database, migrated */
static struct markr_server srv; /* with the admin token */
static int64_t fixture_ids[8];  /* every accepted import of the fixture, in order */
static size_t fixture_id_count;

static const char *const async_header[] = {"Prefer: respond-async", NULL};

/* --- helpers ------------------------------------------------------------------------------ */

static char *sql_text(const char *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static char *sql_text(const char *db, const char *fmt, ...)
{
    char sql[2048];
    va_list ap;
    char *v;

    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    v = markr_test_db_value(db, sql);
    return v;
}

static long sql_long(const char *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static long sql_long(const char *db, const char *fmt, ...)
{
    char sql[2048];
    va_list ap;
    char *v;
    long n;

    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    v = markr_test_db_value(db, sql);
    n = v != NULL ? atol(v) : -1;
    free(v);
    return n;
}

/* r's body parsed, or NULL after saying why (for a helper that has things to release before
 * it fails). */
static json_object *parse_json_or_say(const struct e2e_response *r)
{
    json_object *obj = json_tokener_parse(r->body);

    if (obj == NULL)
        print_error("ERROR: not JSON (status %ld): %s\n", r->status, r->body);
    return obj;
}

static json_object *parse_json(const struct e2e_response *r)
{
    json_object *obj = parse_json_or_say(r);

    if (obj == NULL)
        fail();
    return obj;
}

static const char *json_str(json_object *obj, const char *key)
{
    json_object *v;

    return json_object_object_get_ex(obj, key, &v) && v != NULL ? json_object_get_string(v) : NULL;
}

static int64_t json_int(json_object *obj, const char *key)
{
    json_object *v;

    return json_object_object_get_ex(obj, key, &v) && v != NULL ? json_object_get_int64(v) : -1;
}

static void expect_error(const struct e2e_response *r, long status, const char *code)
{
    const char *error;
    json_object *obj;

    if (r->status != status)
        fail_msg("expected %ld %s, got %ld: %s", status, code, r->status, r->body);
    assert_string_equal(r->content_type, "application/json");
    obj = parse_json(r);
    error = json_str(obj, "error");
    /* assert_string_equal spelled out, so that obj is released before failing. */
    if (error == NULL || strcmp(error, code) != 0) {
        print_error("ERROR: error \"%s\", expected \"%s\"\n", error != NULL ? error : "(none)", code);
        json_object_put(obj);
        fail();
    }
    json_object_put(obj);
}

static void get(const struct markr_server *s, const char *path, struct e2e_response *r)
{
    int rc = e2e_http(s, "GET", path, NULL, NULL, 0, r);

    /* assert_int_equal(rc, 0), spelled out to free the body e2e_http allocated before failing. */
    if (rc != 0) {
        print_error("ERROR: the request got no answer (harness status %d)\n", rc);
        e2e_response_free(r);
        fail();
    }
}

/* POSTs a document; returns the import id from the answer (201, 202, 400 or 422). */
static int64_t post(const struct markr_server *s, const char *type, const char *body, size_t len, int async,
                    long expected_status)
{
    struct e2e_response r;
    json_object *obj = NULL;
    int64_t id;
    int rc = e2e_http_with(s, "POST", "/import", type, async ? async_header : NULL, body, len, &r);

    /* Said, freed, then failed: fail() leaves by longjmp, past any free after it. */
    if (rc != 0)
        print_error("ERROR: the request got no answer (harness status %d)\n", rc);
    else if (r.status != expected_status)
        print_error("ERROR: POST /import: expected %ld, got %ld: %s\n", expected_status, r.status, r.body);
    else
        obj = parse_json_or_say(&r);
    e2e_response_free(&r);
    if (obj == NULL)
        fail();
    id = json_int(obj, "import_id");
    json_object_put(obj);
    return id;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* Polls GET /imports/{id} until its status is no longer queued or processing (30 s at most);
 * returns the final status (malloc'd). */
static char *await_verdict(const struct markr_server *s, int64_t id)
{
    char path[64];

    snprintf(path, sizeof(path), "/imports/%lld", (long long)id);
    for (int waited = 0; waited < 30000; waited += 20) {
        struct e2e_response r;
        json_object *obj = NULL;
        char *status;

        get(s, path, &r);
        /* A 200 with JSON, or a failure once r is freed. */
        if (r.status != 200)
            print_error("ERROR: expected 200, got %ld: %s\n", r.status, r.body);
        else
            obj = parse_json_or_say(&r);
        if (obj == NULL) {
            e2e_response_free(&r);
            fail();
        }
        status = strdup(json_str(obj, "status"));
        json_object_put(obj);
        e2e_response_free(&r);
        if (strcmp(status, "queued") != 0 && strcmp(status, "processing") != 0)
            return status;
        free(status);
        sleep_ms(20);
    }
    fail_msg("import %lld never reached a verdict", (long long)id);
    return NULL;
}

/* A document of n results for test `test`, students s0.. (3 scans each of names that vary). */
static char *make_doc(const char *test, int n, size_t *len)
{
    size_t cap = (size_t)n * 400 + 64, used = 0;
    char *doc = malloc(cap);

    used += (size_t)snprintf(doc + used, cap - used, "<mcq-test-results>\n");
    for (int i = 0; i < n; ++i)
        used += (size_t)snprintf(doc + used, cap - used,
                                 "  <mcq-test-result scanned-on=\"2017-12-04T12:12:10+11:00\">\n"
                                 "    <first-name>F%d</first-name><last-name>L%d</last-name>\n"
                                 "    <student-number>%d</student-number><test-id>%s</test-id>\n"
                                 "    <summary-marks available=\"20\" obtained=\"%d\" />\n"
                                 "    <answer question=\"0\" marks-available=\"1\" marks-awarded=\"1\">D</answer>\n"
                                 "  </mcq-test-result>\n",
                                 i % 3, i % 7, i / 3, test, i % 21);
    used += (size_t)snprintf(doc + used, cap - used, "</mcq-test-results>\n");
    *len = used;
    return doc;
}

/* How many log lines of s say that import id was processed from the queue. */
static int processed_lines(const struct markr_server *s, int64_t id)
{
    char needle[96], *log, *p;
    size_t len;
    int n = 0;

    snprintf(needle, sizeof(needle), "msg=\"queued import processed\" import_id=%lld ", (long long)id);
    log = e2e_read_file(s->log_path, &len);
    for (p = log; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        ++n;
    free(log);
    return n;
}

/* The runner logs after its commit, so the line may trail the status by a moment: waits up
 * to 5 s for at least one line about id in the logs of servers s[0..n-1]; returns how many. */
static int await_processed_lines(const struct markr_server *s, int n, int64_t id)
{
    int total = 0;

    for (int waited = 0; waited < 5000 && total == 0; waited += 10) {
        total = 0;
        for (int i = 0; i < n; ++i)
            total += processed_lines(&s[i], id);
        if (total == 0)
            sleep_ms(10);
    }
    return total;
}

static char *fresh_db(const char *prefix)
{
    char *db = markr_test_db_create(prefix);

    if (e2e_migrate(db) != 0) {
        print_error("ERROR: migrate failed\n");
        markr_test_db_drop(db);
        free(db);
        fail();
    }
    return db;
}

/* The whole derived state: marks, names (with the tests of each import), statuses (one text). */
static char *derived_state(const char *db)
{
    return sql_text(db, "SELECT concat_ws(E'\\n--\\n',"
                        " (SELECT string_agg(concat_ws('|', test_id, student_number, first_name, last_name,"
                        "   available, obtained, import_id), E'\\n' ORDER BY test_id, student_number) FROM marks),"
                        " (SELECT string_agg(concat_ws('|', import_id, test_id, student_number, first_name,"
                        "   last_name), E'\\n' ORDER BY import_id, test_id, student_number, first_name, last_name)"
                        "   FROM " MARKR_TEST_NAMES "),"
                        " (SELECT string_agg(id || status || result_count || COALESCE(reason::text, ''), ','"
                        "   ORDER BY id) FROM imports))");
}

static char *run_cli(const char *db, const char *const *argv, int expected)
{
    char *output;
    int rc = e2e_run_cli(db, argv, NULL, &output);

    if (rc != expected) {
        print_error("ERROR: markr %s %s: exit %d, expected %d: %s\n", argv[0], argv[1] ? argv[1] : "", rc, expected,
                    output);
        free(output);
        fail();
    }
    return output;
}

/* --- suite set-up ------------------------------------------------------------------------- */

static int suite_setup(void **state)
{
    char body_limit[64];
    const char *env[] = {body_limit, "MARKR_ADMIN_TOKEN=" TOKEN, NULL};

    snprintf(body_limit, sizeof(body_limit), "MARKR_MAX_BODY_BYTES=%d", BODY_LIMIT);
    return e2e_suite_start("e2e_vault", env, &srv, &conninfo);
}

static int suite_teardown(void **state)
{
    return e2e_suite_stop(&srv, conninfo);
}

/* --- browse ------------------------------------------------------------------------------- */

struct sent {
    const char *type;
    const char *body;
    size_t len;
    long status;
    const char *error; /* NULL when accepted */
    int64_t id;
};

static void stored_documents_come_back_byte_for_byte(void **state)
{
    static const char bad_bytes[] = "<mcq-test-results>\xff\xfe\x00 not text</mcq-test-results>";
    static const char foreign[] = "<invoice><total>12</total></invoice>";
    static const char missing[] = "<mcq-test-results>\n<mcq-test-result><test-id>9</test-id>"
                                  "<summary-marks available=\"2\" obtained=\"1\"/></mcq-test-result>\n"
                                  "</mcq-test-results>";
    size_t fixture_len;
    char *fixture = e2e_read_file(getenv("MARKR_FIXTURE"), &fixture_len);
    struct sent sent[] = {
        {"text/xml+markr; charset=utf-8", fixture, fixture_len, 201, NULL, 0},
        {MEDIA_TYPE, bad_bytes, sizeof(bad_bytes) - 1, 400, "malformed_xml", 0},
        {"TEXT/XML+MARKR", foreign, sizeof(foreign) - 1, 422, "wrong_root", 0},
        {MEDIA_TYPE, missing, sizeof(missing) - 1, 422, "missing_field", 0},
    };
    size_t n = sizeof(sent) / sizeof(sent[0]);
    struct e2e_response r;
    json_object *obj, *list;
    char path[128], cursor[32] = "";
    int64_t walked[16];
    size_t walked_count = 0;

    for (size_t i = 0; i < n; ++i)
        sent[i].id = post(&srv, sent[i].type, sent[i].body, sent[i].len, 0, sent[i].status);
    fixture_ids[fixture_id_count++] = sent[0].id;

    for (size_t i = 0; i < n; ++i) {
        /* The Location of the 201 (and the import_id of a refusal) answers. */
        snprintf(path, sizeof(path), "/imports/%lld", (long long)sent[i].id);
        get(&srv, path, &r);
        assert_int_equal(r.status, 200);
        obj = parse_json(&r);
        assert_int_equal(json_int(obj, "import_id"), sent[i].id);
        assert_string_equal(json_str(obj, "status"), sent[i].error == NULL ? "accepted" : "rejected");
        assert_string_equal(json_str(obj, "content_type"), sent[i].type);
        assert_int_equal(json_int(obj, "size_bytes"), (int64_t)sent[i].len);
        assert_int_equal(strlen(json_str(obj, "sha256")), 64);
        if (sent[i].error == NULL) {
            assert_int_equal(json_int(obj, "results"), 100);
            assert_string_equal(json_object_to_json_string_ext(json_object_object_get(obj, "tests"),
                                                               JSON_C_TO_STRING_PLAIN),
                                "[\"9863\"]");
            assert_null(json_object_object_get(obj, "reason"));
        } else {
            json_object *reason = json_object_object_get(obj, "reason");

            assert_non_null(reason);
            assert_string_equal(json_str(reason, "error"), sent[i].error);
            assert_non_null(json_str(reason, "message"));
            assert_true(json_int(reason, "line") >= 1);
            assert_string_equal(json_object_to_json_string_ext(json_object_object_get(obj, "tests"),
                                                               JSON_C_TO_STRING_PLAIN),
                                "[]");
        }
        json_object_put(obj);
        e2e_response_free(&r);

        /* The raw body, byte for byte, served as its format's media type (with a plain
         * charset kept): never the client's words (test_raw.c has the rest). */
        snprintf(path, sizeof(path), "/imports/%lld/raw", (long long)sent[i].id);
        get(&srv, path, &r);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.content_type, i == 0 ? MEDIA_TYPE "; charset=utf-8" : MEDIA_TYPE);
        assert_int_equal(r.len, sent[i].len);
        assert_memory_equal(r.body, sent[i].body, sent[i].len);
        e2e_response_free(&r);
    }
    /* The hash is the SHA-256 of the bytes received. */
    {
        char *expected = sql_text(conninfo, "SELECT encode(sha256(convert_to('%s', 'UTF8')), 'hex')", foreign);

        snprintf(path, sizeof(path), "/imports/%lld", (long long)sent[2].id);
        get(&srv, path, &r);
        obj = parse_json(&r);
        assert_string_equal(json_str(obj, "sha256"), expected);
        json_object_put(obj);
        e2e_response_free(&r);
        free(expected);
    }

    /* Newest first, two at a time, to the end. */
    for (;;) {
        snprintf(path, sizeof(path), "/imports?limit=2%s%s", cursor[0] ? "&cursor=" : "", cursor);
        get(&srv, path, &r);
        assert_int_equal(r.status, 200);
        obj = parse_json(&r);
        list = json_object_object_get(obj, "imports");
        assert_true(json_object_array_length(list) <= 2);
        for (size_t i = 0; i < json_object_array_length(list); ++i)
            walked[walked_count++] = json_int(json_object_array_get_idx(list, i), "import_id");
        if (json_str(obj, "next_cursor") == NULL) {
            json_object_put(obj);
            e2e_response_free(&r);
            break;
        }
        snprintf(cursor, sizeof(cursor), "%s", json_str(obj, "next_cursor"));
        json_object_put(obj);
        e2e_response_free(&r);
    }
    assert_int_equal(walked_count, n);
    for (size_t i = 0; i < n; ++i)
        assert_int_equal(walked[i], sent[n - 1 - i].id);

    /* Filters. */
    get(&srv, "/imports?status=rejected", &r);
    obj = parse_json(&r);
    list = json_object_object_get(obj, "imports");
    assert_int_equal(json_object_array_length(list), 3);
    assert_int_equal(json_int(json_object_array_get_idx(list, 0), "import_id"), sent[3].id);
    json_object_put(obj);
    e2e_response_free(&r);
    get(&srv, "/imports?test_id=9863&status=accepted", &r);
    obj = parse_json(&r);
    list = json_object_object_get(obj, "imports");
    assert_int_equal(json_object_array_length(list), 1);
    assert_int_equal(json_int(json_object_array_get_idx(list, 0), "import_id"), sent[0].id);
    json_object_put(obj);
    e2e_response_free(&r);
    get(&srv, "/imports?test_id=no%20such%20test", &r);
    assert_string_equal(r.body, "{\"imports\":[],\"next_cursor\":null}");
    e2e_response_free(&r);

    /* Unknown ids are 404, malformed ones 400, bad filters 400. */
    get(&srv, "/imports/987654321", &r);
    expect_error(&r, 404, "unknown_import");
    e2e_response_free(&r);
    get(&srv, "/imports/987654321/raw", &r);
    expect_error(&r, 404, "unknown_import");
    e2e_response_free(&r);
    {
        static const char *const bad_ids[] = {"/imports/abc", "/imports/0", "/imports/-1", "/imports/1.5",
                                              "/imports/01", "/imports/99999999999999999999", "/imports/%31x",
                                              "/imports/1/raw%20", "/imports/x/raw"};
        static const char *const bad_queries[] = {"/imports?limit=0", "/imports?limit=1001", "/imports?limit=x",
                                                  "/imports?cursor=abc", "/imports?status=lost",
                                                  "/imports?test_id=", "/imports?colour=red", "/imports?limit=%zz"};

        for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); ++i) {
            get(&srv, bad_ids[i], &r);
            if (r.status != 400 && r.status != 404)
                fail_msg("%s: %ld", bad_ids[i], r.status);
            expect_error(&r, r.status, r.status == 400 ? "bad_import_id" : "not_found");
            e2e_response_free(&r);
        }
        for (size_t i = 0; i < sizeof(bad_queries) / sizeof(bad_queries[0]); ++i) {
            get(&srv, bad_queries[i], &r);
            if (r.status != 400)
                fail_msg("%s: %ld %s", bad_queries[i], r.status, r.body);
            e2e_response_free(&r);
        }
    }
    assert_int_equal(e2e_http(&srv, "DELETE", "/imports/1", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 405);
    assert_string_equal(r.allow, "GET, HEAD, OPTIONS");
    e2e_response_free(&r);
    free(fixture);
}

/* --- conflicts ---------------------------------------------------------------------------- */

struct seen {
    char student[64];
    char names[8][160]; /* "first|last", distinct, sorted */
    int count;
};

static int compare_names(const void *a, const void *b)
{
    return strcmp(a, b);
}

static char *child_text(xmlNode *result, const char *name)
{
    for (xmlNode *c = result->children; c != NULL; c = c->next)
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
            return (char *)xmlNodeGetContent(c);
    return NULL;
}

static void conflicts_of_the_fixture_are_those_in_the_fixture(void **state)
{
    static struct seen seen[200];
    size_t n_seen = 0, expected = 0;
    xmlDoc *doc = xmlReadFile(getenv("MARKR_FIXTURE"), NULL, XML_PARSE_NONET);
    struct e2e_response r;
    json_object *obj, *list;

    assert_true(fixture_id_count >= 1);
    assert_non_null(doc);
    /* Every student number of test 9863 and the distinct names it was scanned under. */
    for (xmlNode *res = xmlDocGetRootElement(doc)->children; res != NULL; res = res->next) {
        char *test, *student, *first, *last, name[160];
        size_t i;
        int j;

        if (res->type != XML_ELEMENT_NODE)
            continue;
        test = child_text(res, "test-id");
        student = child_text(res, "student-number");
        first = child_text(res, "first-name");
        last = child_text(res, "last-name");
        snprintf(name, sizeof(name), "%s|%s", first ? first : "", last ? last : "");
        if (strcmp(test, "9863") == 0) {
            for (i = 0; i < n_seen && strcmp(seen[i].student, student) != 0; ++i)
                ;
            if (i == n_seen)
                snprintf(seen[n_seen++].student, sizeof(seen[0].student), "%s", student);
            for (j = 0; j < seen[i].count && strcmp(seen[i].names[j], name) != 0; ++j)
                ;
            if (j == seen[i].count)
                snprintf(seen[i].names[seen[i].count++], sizeof(seen[0].names[0]), "%s", name);
        }
        xmlFree(test);
        xmlFree(student);
        xmlFree(first);
        xmlFree(last);
    }
    xmlFreeDoc(doc);

    get(&srv, "/tests/9863/conflicts", &r);
    assert_int_equal(r.status, 200);
    obj = parse_json(&r);
    assert_string_equal(json_str(obj, "test_id"), "9863");
    list = json_object_object_get(obj, "conflicts");
    for (size_t i = 0; i < n_seen; ++i) {
        json_object *item = NULL, *names;

        if (seen[i].count < 2)
            continue;
        ++expected;
        for (size_t k = 0; k < json_object_array_length(list); ++k)
            if (strcmp(json_str(json_object_array_get_idx(list, k), "student_number"), seen[i].student) == 0)
                item = json_object_array_get_idx(list, k);
        if (item == NULL)
            fail_msg("student %s has %d names in the fixture but no conflict", seen[i].student, seen[i].count);
        names = json_object_object_get(item, "names");
        assert_int_equal(json_object_array_length(names), seen[i].count);
        qsort(seen[i].names, (size_t)seen[i].count, sizeof(seen[i].names[0]), compare_names);
        for (int j = 0; j < seen[i].count; ++j) {
            json_object *name = json_object_array_get_idx(names, (size_t)j), *ids;
            char got[160];

            snprintf(got, sizeof(got), "%s|%s", json_str(name, "first_name") ? json_str(name, "first_name") : "",
                     json_str(name, "last_name") ? json_str(name, "last_name") : "");
            assert_string_equal(got, seen[i].names[j]);
            ids = json_object_object_get(name, "import_ids");
            assert_int_equal(json_object_array_length(ids), fixture_id_count);
            for (size_t k = 0; k < fixture_id_count; ++k)
                assert_int_equal(json_object_get_int64(json_object_array_get_idx(ids, k)), fixture_ids[k]);
        }
    }
    assert_true(expected >= 2); /* the brief says the fixture has several */
    assert_int_equal(json_object_array_length(list), expected);
    json_object_put(obj);
    e2e_response_free(&r);

    get(&srv, "/tests/no-such-test/conflicts", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"test_id\":\"no-such-test\",\"conflicts\":[],\"next_cursor\":null}");
    e2e_response_free(&r);
}

/* --- reprocess ---------------------------------------------------------------------------- */

/* A random document of the mixed history; refused when `refuse` says how. */
static char *random_doc(unsigned *seed, int refuse, size_t *len)
{
    static const char *const firsts[] = {"Ann", "Bo", "Cy", NULL};
    static const char *const lasts[] = {"Ng", "Ode", NULL};
    size_t cap = 16384, used = 0;
    char *doc = malloc(cap);
    int results = 1 + rand_r(seed) % 12, broken = refuse ? rand_r(seed) % results : -1;

    used += (size_t)snprintf(doc + used, cap - used, "<mcq-test-results>\n");
    for (int i = 0; i < results; ++i) {
        const char *first = firsts[rand_r(seed) % 4], *last = lasts[rand_r(seed) % 3];
        int available = 1 + rand_r(seed) % 30, obtained = rand_r(seed) % (available + 1);

        used += (size_t)snprintf(doc + used, cap - used, "<mcq-test-result>");
        if (first != NULL)
            used += (size_t)snprintf(doc + used, cap - used, "<first-name>%s</first-name>", first);
        if (last != NULL)
            used += (size_t)snprintf(doc + used, cap - used, "<last-name>%s</last-name>", last);
        if (i != broken || refuse != 1)
            used += (size_t)snprintf(doc + used, cap - used, "<student-number>%d</student-number>",
                                     rand_r(seed) % 15);
        used += (size_t)snprintf(doc + used, cap - used,
                                 "<test-id>mix-%d</test-id><summary-marks available=\"%d\" obtained=\"%d\"/>"
                                 "</mcq-test-result>\n",
                                 rand_r(seed) % 4, available, i == broken && refuse == 2 ? available + 1 : obtained);
    }
    used += (size_t)snprintf(doc + used, cap - used, "</mcq-test-results>\n");
    *len = used;
    return doc;
}

static void reprocess_all_rebuilds_the_live_marks(void **state)
{
    const char *dry[] = {"reprocess", "--all", "--dry-run", NULL}, *all[] = {"reprocess", "--all", NULL};
    unsigned seed = (unsigned)time(NULL);
    char *docs[48];
    size_t lens[48];
    char *before, *after, *out;

    fprintf(stderr, "mixed history seed %u\n", seed);
    for (int i = 0; i < 48; ++i) {
        int pick = rand_r(&seed) % 10;

        if (i > 0 && pick == 0) { /* a rescan: a document sent again as it was */
            int j = rand_r(&seed) % i;

            docs[i] = malloc(lens[j]);
            memcpy(docs[i], docs[j], lens[j]);
            lens[i] = lens[j];
        } else {
            docs[i] = random_doc(&seed, pick == 1 ? 1 : pick == 2 ? 2 : 0, &lens[i]);
        }
        {
            struct e2e_response r;

            assert_int_equal(e2e_http(&srv, "POST", "/import", MEDIA_TYPE, docs[i], lens[i], &r), 0);
            assert_true(r.status == 201 || r.status == 422);
            e2e_response_free(&r);
        }
    }
    for (int i = 0; i < 48; ++i)
        free(docs[i]);
    assert_true(sql_long(conninfo, "SELECT count(*) FROM imports WHERE status = 'rejected'") > 3);
    assert_true(sql_long(conninfo, "SELECT count(DISTINCT test_id) FROM marks WHERE test_id LIKE 'mix-%%'") >= 2);

    before = derived_state(conninfo);
    out = run_cli(conninfo, dry, 0);
    if (strstr(out, "0 change status, 0 tests change aggregate; dry run") == NULL)
        fail_msg("dry run on an unchanged database: %s", out);
    free(out);
    after = derived_state(conninfo);
    assert_string_equal(before, after);
    free(after);

    out = run_cli(conninfo, all, 0);
    assert_non_null(strstr(out, "committed"));
    free(out);
    after = derived_state(conninfo);
    assert_string_equal(before, after);
    free(after);
    free(before);
}

static void reprocess_endpoint_needs_the_admin_token(void **state)
{
    const char *none[] = {NULL}, *wrong[] = {"Authorization: Bearer not-the-token-at-all", NULL},
               *basic[] = {"Authorization: Basic " TOKEN, NULL}, *right[] = {"Authorization: Bearer " TOKEN, NULL},
               *lower[] = {"authorization: bearer " TOKEN, NULL};
    char path[96], *log;
    struct e2e_response r;
    json_object *obj;
    size_t len;
    struct markr_server plain;

    assert_true(fixture_id_count >= 1);
    snprintf(path, sizeof(path), "/imports/%lld/reprocess", (long long)fixture_ids[0]);
    assert_int_equal(e2e_http_with(&srv, "POST", path, NULL, none, NULL, 0, &r), 0);
    expect_error(&r, 401, "unauthorized");
    e2e_response_free(&r);
    assert_int_equal(e2e_http_with(&srv, "POST", path, NULL, wrong, NULL, 0, &r), 0);
    expect_error(&r, 401, "unauthorized");
    e2e_response_free(&r);
    assert_int_equal(e2e_http_with(&srv, "POST", path, NULL, basic, NULL, 0, &r), 0);
    expect_error(&r, 401, "unauthorized");
    e2e_response_free(&r);

    assert_int_equal(e2e_http_with(&srv, "POST", path, NULL, right, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    obj = parse_json(&r);
    assert_string_equal(json_str(obj, "status"), "accepted");
    assert_string_equal(json_str(obj, "previous_status"), "accepted");
    assert_int_equal(json_object_array_length(json_object_object_get(obj, "changed_tests")), 0);
    json_object_put(obj);
    e2e_response_free(&r);
    strcat(path, "?dry_run=true");
    assert_int_equal(e2e_http_with(&srv, "POST", path, NULL, lower, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    obj = parse_json(&r);
    assert_true(json_object_get_boolean(json_object_object_get(obj, "dry_run")));
    json_object_put(obj);
    e2e_response_free(&r);

    assert_int_equal(e2e_http_with(&srv, "POST", "/imports/987654321/reprocess", NULL, right, NULL, 0, &r), 0);
    expect_error(&r, 404, "unknown_import");
    e2e_response_free(&r);
    assert_int_equal(e2e_http_with(&srv, "POST", "/imports/x1/reprocess", NULL, right, NULL, 0, &r), 0);
    expect_error(&r, 400, "bad_import_id");
    e2e_response_free(&r);
    assert_int_equal(e2e_http_with(&srv, "GET", path, NULL, right, NULL, 0, &r), 0);
    assert_int_equal(r.status, 405);
    e2e_response_free(&r);

    /* The token never reaches the log. */
    log = e2e_read_file(srv.log_path, &len);
    assert_null(strstr(log, TOKEN));
    free(log);

    /* Without a configured token the endpoint does not exist, whatever the request says. */
    assert_int_equal(e2e_server_start(&plain, conninfo, (const char *[]){"MARKR_QUEUE_RUNNERS=0", NULL}), 0);
    assert_int_equal(e2e_http_with(&plain, "POST", path, NULL, right, NULL, 0, &r), 0);
    expect_error(&r, 404, "not_found");
    e2e_response_free(&r);
    e2e_server_stop(&plain, SIGTERM);
}

/* --- asynchronous imports ----------------------------------------------------------------- */

static void async_import_answers_202_then_settles(void **state)
{
    size_t fixture_len, big_len;
    char *fixture = e2e_read_file(getenv("MARKR_FIXTURE"), &fixture_len), *status, *big;
    struct e2e_response r;
    int64_t id, refused;
    char location[64];
    json_object *obj;

    assert_int_equal(e2e_http_with(&srv, "POST", "/import", MEDIA_TYPE, async_header, fixture, fixture_len, &r), 0);
    assert_int_equal(r.status, 202);
    obj = parse_json(&r);
    id = json_int(obj, "import_id");
    assert_string_equal(json_str(obj, "status"), "queued");
    snprintf(location, sizeof(location), "/imports/%lld", (long long)id);
    assert_string_equal(r.location, location);
    json_object_put(obj);
    e2e_response_free(&r);

    status = await_verdict(&srv, id);
    assert_string_equal(status, "accepted");
    free(status);
    fixture_ids[fixture_id_count++] = id;
    get(&srv, location, &r);
    obj = parse_json(&r);
    assert_int_equal(json_int(obj, "results"), 100);
    assert_non_null(json_str(obj, "processed_at"));
    json_object_put(obj);
    e2e_response_free(&r);
    assert_int_equal(await_processed_lines(&srv, 1, id), 1);

    refused = post(&srv, MEDIA_TYPE, "<nope/>", 7, 1, 202);
    status = await_verdict(&srv, refused);
    assert_string_equal(status, "rejected");
    free(status);
    snprintf(location, sizeof(location), "/imports/%lld", (long long)refused);
    get(&srv, location, &r);
    obj = parse_json(&r);
    assert_string_equal(json_str(json_object_object_get(obj, "reason"), "error"), "wrong_root");
    json_object_put(obj);
    e2e_response_free(&r);

    /* A large document under MARKR_MAX_BODY_BYTES is queued; one over it is 413, asynchronous
     * or not (the limit that applies before the body is read; ADR 0016). */
    big = make_doc("async-big", 9000, &big_len); /* about 2.7 MB */
    assert_true(big_len < BODY_LIMIT);
    id = post(&srv, MEDIA_TYPE, big, big_len, 1, 202);
    status = await_verdict(&srv, id);
    assert_string_equal(status, "accepted");
    free(status);
    assert_int_equal(sql_long(conninfo, "SELECT count(*) FROM marks WHERE test_id = 'async-big'"), 3000);
    free(big);
    big = malloc(BODY_LIMIT + 1);
    memset(big, ' ', BODY_LIMIT + 1);
    assert_int_equal(e2e_http_with(&srv, "POST", "/import", MEDIA_TYPE, async_header, big, BODY_LIMIT + 1, &r), 0);
    expect_error(&r, 413, "payload_too_large");
    e2e_response_free(&r);
    /* A wrong media type is still 415, asynchronous or not, and not stored. */
    assert_int_equal(e2e_http_with(&srv, "POST", "/import", "text/xml", async_header, "<a/>", 4, &r), 0);
    expect_error(&r, 415, "unsupported_media_type");
    e2e_response_free(&r);
    free(big);
    free(fixture);
}

/* A server dies with one import still queued and another claimed ('processing': the claim
 * committed, its processing transaction died with the server). After a restart each is
 * processed exactly once, and the marks are those of one application. */
static void queued_imports_survive_a_crash(void **state)
{
    char *db = fresh_db("e2e_crash");
    const char *idle[] = {"MARKR_QUEUE_RUNNERS=0", "MARKR_MAX_ASYNC_BODY_BYTES=16000000", NULL};
    const char *busy[] = {"MARKR_QUEUE_RUNNERS=1", "MARKR_MAX_ASYNC_BODY_BYTES=16000000", NULL};
    const char *check[] = {"reprocess", "--all", "--dry-run", NULL};
    struct markr_server a, b;
    size_t len1, len2;
    char *doc1 = make_doc("crash-1", 12000, &len1), *doc2 = make_doc("crash-2", 600, &len2), *status, *out;
    int64_t id1, id2, id3;
    int st;

    assert_int_equal(e2e_server_start(&a, db, idle), 0);
    id1 = post(&a, MEDIA_TYPE, doc1, len1, 1, 202);
    id2 = post(&a, MEDIA_TYPE, doc2, len2, 1, 202);
    st = e2e_server_stop(&a, SIGKILL);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    assert_int_equal(sql_long(db, "SELECT count(*) FROM imports WHERE status = 'queued'"), 2);
    assert_int_equal(sql_long(db, "SELECT count(*) FROM marks"), 0);
    /* What a server that died between its claim and its commit leaves behind. */
    assert_int_equal(markr_test_db_exec(db, "UPDATE imports SET status = 'processing' WHERE id = (SELECT max(id) "
                                            "FROM imports)"),
                     0);

    assert_int_equal(e2e_server_start(&b, db, busy), 0);
    status = await_verdict(&b, id1);
    assert_string_equal(status, "accepted");
    free(status);
    status = await_verdict(&b, id2);
    assert_string_equal(status, "accepted");
    free(status);
    assert_int_equal(await_processed_lines(&b, 1, id1), 1);
    assert_int_equal(await_processed_lines(&b, 1, id2), 1);
    assert_int_equal(sql_long(db, "SELECT count(*) FROM marks WHERE test_id = 'crash-1'"), 4000);
    assert_int_equal(sql_long(db, "SELECT count(*) FROM marks WHERE test_id = 'crash-2'"), 200);
    /* One name per distinct scan, one names row per test: applied once. */
    assert_int_equal(sql_long(db, "SELECT count(*) FROM " MARKR_TEST_NAMES " WHERE import_id = %lld", (long long)id1),
                     sql_long(db, "SELECT count(*) FROM (SELECT DISTINCT test_id, student_number, first_name, "
                                  "last_name FROM " MARKR_TEST_NAMES " WHERE import_id = %lld) AS d",
                              (long long)id1));
    assert_int_equal(sql_long(db, "SELECT count(*) FROM import_names"), 2);

    /* Killed while processing a large import (or just after, if it was quicker than us). */
    id3 = post(&b, MEDIA_TYPE, doc1, len1, 1, 202);
    for (int i = 0; i < 2000; ++i) {
        char *s = sql_text(db, "SELECT status FROM imports WHERE id = %lld", (long long)id3);
        int moving = strcmp(s, "queued") != 0;

        free(s);
        if (moving)
            break;
        sleep_ms(1);
    }
    e2e_server_stop(&b, SIGKILL);
    assert_int_equal(e2e_server_start(&b, db, busy), 0);
    status = await_verdict(&b, id3);
    assert_string_equal(status, "accepted");
    free(status);
    assert_int_equal(sql_long(db, "SELECT count(*) FROM " MARKR_TEST_NAMES " WHERE import_id = %lld", (long long)id3),
                     sql_long(db, "SELECT count(*) FROM " MARKR_TEST_NAMES " WHERE import_id = %lld", (long long)id1));
    assert_int_equal(sql_long(db, "SELECT count(*) FROM marks WHERE test_id = 'crash-1'"), 4000);
    e2e_server_stop(&b, SIGTERM);

    /* The marks are still exactly what the vault says. */
    out = run_cli(db, check, 0);
    if (strstr(out, "0 change status, 0 tests change aggregate") == NULL)
        fail_msg("after the crash, reprocess --all would change: %s", out);
    free(out);
    free(doc1);
    free(doc2);
    markr_test_db_drop(db);
    free(db);
}

static void two_servers_share_the_queue(void **state)
{
    char *db = fresh_db("e2e_share");
    const char *env[] = {"MARKR_QUEUE_RUNNERS=2", NULL};
    struct markr_server s[2];
    int64_t ids[24];
    int by[2] = {0, 0};

    assert_int_equal(e2e_server_start(&s[0], db, env), 0);
    assert_int_equal(e2e_server_start(&s[1], db, env), 0);
    for (int i = 0; i < 24; ++i) {
        char test[32];
        size_t len;
        char *doc;

        snprintf(test, sizeof(test), "share-%d", i);
        doc = make_doc(test, 150 + 30 * (i % 5), &len);
        ids[i] = post(&s[i % 2], MEDIA_TYPE, doc, len, 1, 202);
        free(doc);
    }
    for (int i = 0; i < 24; ++i) {
        char *status = await_verdict(&s[(i + 1) % 2], ids[i]);
        int once;

        assert_string_equal(status, "accepted");
        free(status);
        once = await_processed_lines(s, 2, ids[i]);
        if (once != 1)
            fail_msg("import %lld was processed %d times", (long long)ids[i], once);
        assert_int_equal(sql_long(db, "SELECT count(*) FROM marks WHERE test_id = 'share-%d'", i),
                         (150 + 30 * (i % 5)) / 3);
    }
    /* A second processing, were there one, is finished or never started once both servers
     * have stopped (a stop lets running jobs end): the logs are then final. And no import was
     * claimed twice (each claim counts an attempt), though the four runners race for each
     * notification. */
    assert_int_equal(e2e_server_stop_clean(&s[0]), 0);
    assert_int_equal(e2e_server_stop_clean(&s[1]), 0);
    assert_int_equal(sql_long(db, "SELECT count(*) FROM imports WHERE attempts <> 1"), 0);
    for (int i = 0; i < 24; ++i) {
        int n0 = processed_lines(&s[0], ids[i]), n1 = processed_lines(&s[1], ids[i]);

        if (n0 + n1 != 1)
            fail_msg("import %lld was processed %d times", (long long)ids[i], n0 + n1);
        by[0] += n0;
        by[1] += n1;
    }
    fprintf(stderr, "imports processed by each server: %d and %d\n", by[0], by[1]);
    assert_int_equal(sql_long(db, "SELECT count(*) FROM import_names"), 24);
    markr_test_db_drop(db);
    free(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stored_documents_come_back_byte_for_byte),
        cmocka_unit_test(conflicts_of_the_fixture_are_those_in_the_fixture),
        cmocka_unit_test(reprocess_endpoint_needs_the_admin_token),
        cmocka_unit_test(async_import_answers_202_then_settles),
        cmocka_unit_test(reprocess_all_rebuilds_the_live_marks),
        cmocka_unit_test(queued_imports_survive_a_crash),
        cmocka_unit_test(two_servers_share_the_queue),
    };

    return cmocka_run_group_tests_name("e2e_vault", tests, suite_setup, suite_teardown);
}
