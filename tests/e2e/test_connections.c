/*
 * End to end: the connections to PostgreSQL and what an instance answers after its own
 * writes. Every markr backend killed while idle, twice in a row, costs no request (each
 * worker sees the closed connection on its socket and reconnects before sending anything);
 * the server's FATAL notices reach the log as logfmt lines (the harness fails any test whose
 * server wrote a raw line); an instance that answered 201 for an import serves no read
 * that misses it, hundreds of times in a row, while its aggregate cache is on, nor one that
 * misses what a reprocessing it answered 200 for accepted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <json-c/json.h>

#include "harness.h"
#include "live_client.h"
#include "test_db.h"

static char *conninfo; /* the suite's database, migrated */

static int setup(void **state)
{
    return (conninfo = markr_test_db_create("e2e_conn")) != NULL && e2e_migrate(conninfo) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    markr_test_db_drop(conninfo);
    free(conninfo);
    return 0;
}

/* markr's own backends on the suite's database: its workers and queue runners ("markr")
 * and its change feed ("markr-listen"). */
#define MARKR_BACKENDS                                                                                              \
    "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "                      \
    "AND application_name IN ('markr', 'markr-listen')"

static long sql_long(const char *sql)
{
    char *v = markr_test_db_value(conninfo, sql);
    long n = v != NULL ? atol(v) : -1;

    free(v);
    return n;
}

/* Waits (at most 20 s) until sql counts `want`. */
static void wait_count(const char *sql, long want)
{
    double deadline = now_ms() + 20000;
    long n;

    while ((n = sql_long(sql)) != want && now_ms() < deadline)
        usleep(10000);
    if (n != want)
        fail_msg("%s: %ld, expected %ld", sql, n, want);
}

/* Terminates every markr backend once all of them are idle, and waits until they are gone:
 * their sockets are closed by then. Returns how many were killed. */
static long kill_idle_backends(long expected)
{
    char sql[1024];
    char *pids;
    long killed;

    wait_count("SELECT count(*) " MARKR_BACKENDS " AND state = 'idle'", expected);
    wait_count("SELECT count(*) " MARKR_BACKENDS " AND state <> 'idle'", 0);
    assert_non_null(pids = markr_test_db_value(conninfo, "SELECT string_agg(pid::text, ',') " MARKR_BACKENDS));
    snprintf(sql, sizeof(sql), "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE pid IN (%s)",
             pids);
    killed = sql_long(sql);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_stat_activity WHERE pid IN (%s)", pids);
    free(pids);
    wait_count(sql, 0);
    return killed;
}

static void killed_idle_backends_cost_no_request(void **state)
{
    /* Two workers and one queue runner: every connection of the pool is killed. */
    static const char *const env[] = {"MARKR_WORKERS=2", "MARKR_QUEUE_RUNNERS=1", NULL};
    struct markr_server s;
    long count;
    double mean;
    int student = 0;
    char *log;
    size_t len;

    assert_int_equal(e2e_server_start(&s, conninfo, env), 0);
    wait_log(&s, "change feed up", 1);
    /* Both workers have connected (the pool opens them at start) and served. */
    for (int i = 0; i < 4; ++i) {
        import_doc(&s, MARK_DOC, "k0", "killed-idle", 10);
        read_aggregate(&s, "killed-idle", &count, &mean);
    }
    student = 1;
    for (int round = 1; round <= 2; ++round) {
        /* workers + queue runner + change feed */
        assert_int_equal(kill_idle_backends(4), 4);
        for (int i = 0; i < 8; ++i, ++student) {
            char number[16];

            snprintf(number, sizeof(number), "k%d", student);
            import_doc(&s, MARK_DOC, number, "killed-idle", 50);
            read_aggregate(&s, "killed-idle", &count, &mean);
            assert_int_equal(count, student + 1);
        }
        /* The feed is listening again (its own reconnection), and every worker with it. */
        wait_log(&s, "change feed up", round + 1);
    }
    assert_int_equal(sql_long("SELECT count(*) FROM marks WHERE test_id = 'killed-idle'"), student);
    assert_int_equal(e2e_server_stop_clean(&s), 0);
    log = e2e_read_file(s.log_path, &len);
    /* libpq's FATAL of each killed backend came through the notice log, not raw. */
    assert_non_null(strstr(log, "msg=\"database notice\" connection=markr severity=FATAL sqlstate=57P01"));
    assert_non_null(strstr(log, "msg=\"database connection closed by the server while idle; reconnecting\""));
    assert_null(strstr(log, "status=503"));
    free(log);
}

/* The largest send buffer the kernel gives a TCP socket (the third figure of tcp_wmem). */
static size_t send_buffer_max(void)
{
    unsigned long min = 0, def = 0, max = 0;
    FILE *f = fopen("/proc/sys/net/ipv4/tcp_wmem", "r");

    assert_non_null(f);
    assert_int_equal(fscanf(f, "%lu %lu %lu", &min, &def, &max), 3);
    fclose(f);
    return max;
}

/* A download of a body of several chunks reads them one job at a time: every backend of
 * markr killed while the client holds the download unread costs it nothing, the rest of the
 * body comes on new connections, whole and as stored. The body is larger than what the
 * kernel can hold for the client (a sender's buffer grows up to tcp_wmem's largest), so some
 * of its chunks are read after the kill. */
static void a_download_survives_its_backends_killed_between_chunks(void **state)
{
    static const char *const env[] = {"MARKR_WORKERS=2", "MARKR_QUEUE_RUNNERS=1", NULL};
    struct markr_server s;
    struct e2e_response r;
    size_t wmem_max = send_buffer_max(), doc_len, got_len = 0, cap;
    /* A result of the document is over 200 bytes: the body passes what the kernel holds for
     * the client by more than two chunks of 1 MiB. */
    char *doc = e2e_results_document("download-kill", (int)((wmem_max + 3 * 1024 * 1024) / 200), 0), request[128], *got;
    const char *id, *body;
    int rcvbuf = 4096, fd;
    struct sockaddr_in addr = {.sin_family = AF_INET};

    doc_len = strlen(doc);
    cap = doc_len + 65536;
    assert_true(doc_len > wmem_max + 2 * 1024 * 1024);
    assert_int_equal(e2e_server_start(&s, conninfo, env), 0);
    wait_log(&s, "change feed up", 1);
    assert_int_equal(e2e_http(&s, "POST", "/import", "text/xml+markr", doc, doc_len, &r), 0);
    assert_int_equal(r.status, 201);
    assert_non_null(id = strstr(r.body, "\"import_id\":"));
    snprintf(request, sizeof(request), "GET /imports/%ld/raw HTTP/1.0\r\nHost: localhost\r\n\r\n",
             strtol(id + strlen("\"import_id\":"), NULL, 10));
    e2e_response_free(&r);

    addr.sin_port = htons((uint16_t)s.port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(write(fd, request, strlen(request)), (ssize_t)strlen(request));
    assert_non_null(got = malloc(cap + 1));
    /* The head and a little of the first chunk; the server is then held by this client. */
    assert_true(e2e_read_until(fd, got, 8192, "\r\n\r\n", 20000));
    got_len = strlen(got);
    /* workers + queue runner + change feed, all idle while the client does not read */
    assert_int_equal(kill_idle_backends(4), 4);
    for (ssize_t n; got_len < cap && (n = read(fd, got + got_len, cap - got_len)) > 0;)
        got_len += (size_t)n;
    close(fd);
    got[got_len] = '\0';
    assert_non_null(strstr(got, "HTTP/1.1 200 "));
    assert_non_null(body = strstr(got, "\r\n\r\n"));
    body += 4;
    assert_int_equal(got_len - (size_t)(body - got), doc_len);
    assert_memory_equal(body, doc, doc_len);
    free(got);
    free(doc);
    assert_int_equal(e2e_server_stop_clean(&s), 0);
}

/* One instance, its cache on: each import answered 201 is in the very next read. */
static void reads_after_a_201_reflect_the_import(void **state)
{
    enum { PAIRS = 300 };
    struct markr_server s;
    long count;
    double mean;

    assert_int_equal(e2e_server_start(&s, conninfo, NULL), 0);
    wait_log(&s, "change feed up", 1);
    import_doc(&s, MARK_DOC, "r0", "ryw", 10);
    read_aggregate(&s, "ryw", &count, &mean); /* cached from now on */
    assert_int_equal(count, 1);
    for (int i = 1; i <= PAIRS; ++i) {
        char number[16];

        snprintf(number, sizeof(number), "r%d", i);
        import_doc(&s, MARK_DOC, number, "ryw", i % 101);
        read_aggregate(&s, "ryw", &count, &mean);
        if (count != i + 1)
            fail_msg("read %d after its import's 201: count %ld, expected %d (stale)", i, count, i + 1);
    }
    assert_true(e2e_metric(&s, "markr_cache_entries") >= 1); /* the reads were the cache's */
    assert_int_equal(e2e_server_stop_clean(&s), 0);
}

/* One instance, its cache on and its change feed held up: an import that a reprocessing
 * accepts is in the read that follows the 200, as an import is after its 201. The feed's
 * backend is stopped (SIGSTOP) meanwhile, so that no notification can come first. */
static void reads_after_a_reprocessing_reflect_it(void **state)
{
    static const char *const env[] = {"MARKR_ADMIN_TOKEN=e2e-admin-token-0123456789", NULL};
    static const char *const admin[] = {"Authorization: Bearer e2e-admin-token-0123456789", NULL};
    struct markr_server s;
    struct e2e_response r;
    char sql[256], path[64], *aggregate;
    long id, listener, count, status;
    double mean;

    assert_int_equal(e2e_server_start(&s, conninfo, env), 0);
    wait_log(&s, "change feed up", 1);
    import_doc(&s, MARK_DOC, "p1", "rpr", 10);
    import_doc(&s, MARK_DOC, "p2", "rpr", 20);
    assert_int_equal(e2e_server_stop_clean(&s), 0);
    /* The second import, as if the rules of its day had refused it: rejected, and nothing of
     * it in the marks. */
    id = sql_long("SELECT max(id) FROM imports");
    snprintf(sql, sizeof(sql), "UPDATE imports SET status = 'rejected', reason = '{\"error\":\"x\"}' WHERE id = %ld",
             id);
    assert_int_equal(markr_test_db_exec(conninfo, sql), 0);
    snprintf(sql, sizeof(sql), "DELETE FROM import_names WHERE import_id = %ld", id);
    assert_int_equal(markr_test_db_exec(conninfo, sql), 0);
    assert_int_equal(markr_test_db_exec(conninfo, "DELETE FROM marks WHERE test_id = 'rpr' AND student_number = 'p2'"),
                     0);

    assert_int_equal(e2e_server_start(&s, conninfo, env), 0);
    wait_log(&s, "change feed up", 1);
    read_aggregate(&s, "rpr", &count, &mean); /* cached from now on */
    assert_int_equal(count, 1);
    listener = sql_long("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                        "AND application_name = 'markr-listen' ORDER BY backend_start DESC LIMIT 1");
    assert_true(listener > 0);
    /* Nothing between the stop and the continue can fail (and leave the backend stopped):
     * the answers are kept and checked after. */
    assert_int_equal(kill((pid_t)listener, SIGSTOP), 0);
    snprintf(path, sizeof(path), "/imports/%ld/reprocess", id);
    status = e2e_http_with(&s, "POST", path, NULL, admin, NULL, 0, &r) == 0 ? r.status : -1;
    e2e_response_free(&r);
    if (e2e_http(&s, "GET", "/results/rpr/aggregate", NULL, NULL, 0, &r) != 0)
        r.body = NULL;
    assert_int_equal(kill((pid_t)listener, SIGCONT), 0);
    assert_int_equal(status, 200);
    assert_non_null(r.body);
    aggregate = strdup(r.body);
    e2e_response_free(&r);
    if (strstr(aggregate, "\"count\":2") == NULL)
        fail_msg("read after the reprocessing's 200: %s, expected a count of 2 (stale)", aggregate);
    free(aggregate);
    assert_int_equal(e2e_server_stop_clean(&s), 0);
}

/* The string member `name` of a JSON text into out (empty when absent). */
static void json_member(const char *text, const char *name, char *out, size_t cap)
{
    json_object *o = json_tokener_parse(text), *v;

    out[0] = '\0';
    if (o != NULL && json_object_object_get_ex(o, name, &v))
        snprintf(out, cap, "%s", json_object_get_string(v));
    json_object_put(o);
}

/* GET /imports?sha256=: the ids listed, comma-separated, into ids. */
static void imports_with_digest(const struct markr_server *s, const char *sha256, char *ids, size_t cap)
{
    char path[160];
    struct e2e_response r;
    json_object *o, *items;
    size_t n = 0;

    snprintf(path, sizeof(path), "/imports?sha256=%s", sha256);
    assert_int_equal(e2e_http(s, "GET", path, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(o = json_tokener_parse(r.body));
    assert_true(json_object_object_get_ex(o, "imports", &items));
    ids[0] = '\0';
    for (size_t i = 0; i < json_object_array_length(items); ++i) {
        json_object *id;

        assert_true(json_object_object_get_ex(json_object_array_get_idx(items, i), "import_id", &id));
        n += (size_t)snprintf(ids + n, cap - n, "%s%s", i != 0 ? "," : "", json_object_get_string(id));
    }
    json_object_put(o);
    e2e_response_free(&r);
}

/* A backend ended inside the COMMIT: whether the import was stored is unknown. The 503 says
 * so without Retry-After (resending could store it twice) and gives the body's SHA-256,
 * which GET /imports?sha256= looks up: nothing then, the import once it is sent again. */
static void an_unknown_outcome_names_the_body_and_invites_no_retry(void **state)
{
    char *doc = e2e_results_document("unknown-outcome", 2, 3), digest[80], ids[64], id[32], stored[80];
    struct markr_server s;
    struct e2e_response r;

    assert_int_equal(e2e_server_start(&s, conninfo, NULL), 0);
    assert_int_equal(markr_test_db_exec(conninfo,
                                        "CREATE FUNCTION kill_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                                        "BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NULL; END $$;\n"
                                        "CREATE CONSTRAINT TRIGGER kill_at_commit AFTER INSERT ON imports\n"
                                        "  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION kill_at_commit();"),
                     0);
    assert_int_equal(e2e_http(&s, "POST", "/import", "text/xml+markr", doc, strlen(doc), &r), 0);
    if (r.status != 503)
        fail_msg("import during a lost COMMIT: %ld %s", r.status, r.body);
    json_member(r.body, "error", id, sizeof(id));
    assert_string_equal(id, "outcome_unknown");
    assert_string_equal(r.retry_after, "");
    assert_non_null(strstr(r.body, "imports?sha256="));
    assert_null(strstr(r.body, "retry shortly"));
    json_member(r.body, "sha256", digest, sizeof(digest));
    assert_int_equal(strlen(digest), 64);
    e2e_response_free(&r);
    assert_int_equal(markr_test_db_exec(conninfo, "DROP TRIGGER kill_at_commit ON imports"), 0);
    imports_with_digest(&s, digest, ids, sizeof(ids));
    assert_string_equal(ids, ""); /* the backend ended before the commit finished */

    assert_int_equal(e2e_http(&s, "POST", "/import", "text/xml+markr", doc, strlen(doc), &r), 0);
    assert_int_equal(r.status, 201);
    json_member(r.body, "import_id", id, sizeof(id));
    e2e_response_free(&r);
    imports_with_digest(&s, digest, ids, sizeof(ids));
    assert_string_equal(ids, id);
    {
        char path[64], upper[80];

        snprintf(path, sizeof(path), "/imports/%s", id);
        assert_int_equal(e2e_http(&s, "GET", path, NULL, NULL, 0, &r), 0);
        json_member(r.body, "sha256", stored, sizeof(stored));
        assert_string_equal(stored, digest); /* the vault's own digest of the document */
        e2e_response_free(&r);
        for (size_t i = 0; digest[i] != '\0'; ++i) /* hexadecimal in either case */
            upper[i] = (char)(digest[i] >= 'a' && digest[i] <= 'f' ? digest[i] - 32 : digest[i]);
        upper[64] = '\0';
        imports_with_digest(&s, upper, ids, sizeof(ids));
        assert_string_equal(ids, id);
    }
    assert_int_equal(e2e_http(&s, "GET", "/imports?sha256=abc", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 400);
    e2e_response_free(&r);
    assert_int_equal(markr_test_db_exec(conninfo, "DROP FUNCTION kill_at_commit()"), 0);
    assert_int_equal(e2e_server_stop_clean(&s), 0);
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(killed_idle_backends_cost_no_request),
        cmocka_unit_test(reads_after_a_201_reflect_the_import),
        cmocka_unit_test(reads_after_a_reprocessing_reflect_it),
        cmocka_unit_test(a_download_survives_its_backends_killed_between_chunks),
        cmocka_unit_test(an_unknown_outcome_names_the_body_and_invites_no_retry),
    };

    return cmocka_run_group_tests_name("e2e_connections", tests, setup, teardown);
}
