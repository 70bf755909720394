/*
 * End to end: the CSV form of the lists (ADR 0028), over loopback against the real server
 * and database. ?format=csv or Accept: text/csv (preferred over JSON) gives every row of a
 * test or of the tests, over several pages of the use case, quoted as RFC 4180 says and
 * with formulas prefixed; a page asked for is that page; an unknown format is 400.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define MEDIA_TYPE "text/xml+markr"

static char *conninfo;
static struct markr_server srv;

static void import(const char *test_id, int n, int obtained_base)
{
    e2e_import_results(&srv, test_id, n, obtained_base);
}

static void request(const char *method, const char *path, const char *const *headers, struct e2e_response *r)
{
    assert_int_equal(e2e_http_with(&srv, method, path, NULL, headers, NULL, 0, r), 0);
}

/* The lines of a CSV text (CRLF-ended; a quoted cell holds no line break here). */
static size_t count_lines(const char *text, size_t len)
{
    size_t n = 0;

    for (size_t i = 0; i + 1 < len; ++i)
        n += text[i] == '\r' && text[i + 1] == '\n';
    return n;
}

static void csv_has_every_row_quoted_and_prefixed(void **state)
{
    static const char *const csv[] = {"Accept: text/csv", NULL};
    enum { STUDENTS = 2500 }; /* three pages of the use case */
    char *doc = e2e_results_document("csv-1", STUDENTS, 0), line[128];
    static const char tricky[] = "<mcq-test-results><mcq-test-result><first-name>=HYPERLINK(\"http://x\")</first-name>"
                                 "<last-name>Austen, \"Jane\"</last-name><student-number>@007</student-number>"
                                 "<test-id>csv-1</test-id><summary-marks available=\"3\" obtained=\"2\"/>"
                                 "</mcq-test-result></mcq-test-results>";
    struct e2e_response r;
    char value[128];

    assert_int_equal(e2e_http(&srv, "POST", "/import", MEDIA_TYPE, doc, strlen(doc), &r), 0);
    assert_int_equal(r.status, 201);
    e2e_response_free(&r);
    free(doc);
    assert_int_equal(e2e_http(&srv, "POST", "/import", MEDIA_TYPE, tricky, sizeof(tricky) - 1, &r), 0);
    assert_int_equal(r.status, 201);
    e2e_response_free(&r);

    /* Every student, in student number order, after the header. */
    request("GET", "/results/csv-1", csv, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "text/csv; charset=utf-8; header=present");
    assert_non_null(e2e_header(&r, "content-disposition", value, sizeof(value)));
    assert_int_equal(count_lines(r.body, r.len), STUDENTS + 2);
    assert_int_equal(strncmp(r.body, "student_number,first_name,last_name,obtained,available,percent\r\n"
                                     "000000,First0,Last0,0,20,0\r\n000001,First1,Last1,1,20,5\r\n", 98), 0);
    snprintf(line, sizeof(line), "\r\n%06d,First%d,Last%d,%d,20,%g\r\n", STUDENTS - 1, STUDENTS - 1, STUDENTS - 1,
             (STUDENTS - 1) % 21, 100.0 * ((STUDENTS - 1) % 21) / 20);
    assert_non_null(strstr(r.body, line));
    /* RFC 4180 quoting, and formulas shown rather than run: a student number is text too. */
    assert_non_null(strstr(r.body, "\r\n'@007,\"'=HYPERLINK(\"\"http://x\"\")\",\"Austen, \"\"Jane\"\"\",2,3,"
                                   "66.6666666666667\r\n"));
    e2e_response_free(&r);

    /* ?format=csv says the same; a page asked for is that page; the order is the one asked. */
    request("GET", "/results/csv-1?format=csv&limit=2&offset=1&sort=student_number&order=asc", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(count_lines(r.body, r.len), 3);
    assert_non_null(strstr(r.body, "\r\n000001,"));
    assert_non_null(strstr(r.body, "\r\n000002,"));
    e2e_response_free(&r);
    request("GET", "/results/csv-1?format=csv&sort=percent&order=desc", NULL, &r);
    assert_int_equal(count_lines(r.body, r.len), STUDENTS + 2);
    assert_int_equal(strncmp(strstr(r.body, "\r\n") + 2, "000020,", 7), 0); /* 20 of 20, the first of them */
    e2e_response_free(&r);
}

static void csv_is_negotiated_and_unknown_formats_refused(void **state)
{
    static const char *const csv_less[] = {"Accept: application/json, text/csv;q=0.5", NULL};
    static const char *const csv_more[] = {"Accept: application/json;q=0.4, text/csv", NULL};
    static const char *const csv[] = {"Accept: text/csv", NULL};
    struct e2e_response r;
    char value[128];

    import("csv-2", 3, 0);
    request("GET", "/results/csv-2", csv_less, &r);
    assert_string_equal(r.content_type, "application/json");
    e2e_response_free(&r);
    request("GET", "/results/csv-2", csv_more, &r);
    assert_int_equal(strncmp(r.content_type, "text/csv", 8), 0);
    e2e_response_free(&r);
    request("GET", "/results/csv-2?format=json", csv, &r); /* the parameter wins */
    assert_string_equal(r.content_type, "application/json");
    /* Both forms depend on Accept: caches are told. */
    assert_non_null(e2e_header(&r, "vary", value, sizeof(value)));
    assert_non_null(strstr(value, "accept"));
    e2e_response_free(&r);
    request("HEAD", "/results/csv-2?format=csv", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(strncmp(r.content_type, "text/csv", 8), 0);
    assert_int_equal(r.len, 0);
    e2e_response_free(&r);
    request("GET", "/results/csv-2?format=xml", NULL, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "bad_format"));
    e2e_response_free(&r);
    request("GET", "/tests?format=CSV", NULL, &r);
    assert_int_equal(r.status, 400);
    e2e_response_free(&r);
    /* An unknown test is the JSON 404 it always was. */
    request("GET", "/results/no-such-test?format=csv", NULL, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.content_type, "application/json");
    e2e_response_free(&r);
    /* Other parameters are still checked first. */
    request("GET", "/results/csv-2?format=csv&limit=0", NULL, &r);
    assert_int_equal(r.status, 400);
    e2e_response_free(&r);
}

static void csv_of_the_tests_has_every_test(void **state)
{
    enum { TESTS = 1105 }; /* two pages of the use case */
    size_t cap = TESTS * 200 + 64, len = 0, tests_before;
    char *doc = malloc(cap);
    struct e2e_response r;

    request("GET", "/tests?format=csv", NULL, &r);
    assert_int_equal(r.status, 200);
    tests_before = count_lines(r.body, r.len) - 1;
    e2e_response_free(&r);
    assert_non_null(doc);
    len += (size_t)snprintf(doc + len, cap - len, "<mcq-test-results>");
    for (int i = 0; i < TESTS; ++i)
        len += (size_t)snprintf(doc + len, cap - len,
                                "<mcq-test-result><student-number>s</student-number><test-id>many-%05d</test-id>"
                                "<summary-marks available=\"2\" obtained=\"1\"/></mcq-test-result>", i);
    len += (size_t)snprintf(doc + len, cap - len, "</mcq-test-results>");
    assert_int_equal(e2e_http(&srv, "POST", "/import", MEDIA_TYPE, doc, len, &r), 0);
    assert_int_equal(r.status, 201);
    e2e_response_free(&r);
    free(doc);
    request("GET", "/tests?format=csv", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(strncmp(r.body, "test_id,students,last_change\r\n", 30), 0);
    assert_int_equal(count_lines(r.body, r.len), tests_before + TESTS + 1);
    assert_non_null(strstr(r.body, "\r\nmany-00000,1,"));
    assert_non_null(strstr(r.body, "\r\nmany-01104,1,"));
    e2e_response_free(&r);
    /* A page asked for is that page. */
    request("GET", "/tests?format=csv&limit=3&cursor=many-00009", NULL, &r);
    assert_int_equal(count_lines(r.body, r.len), 4);
    assert_non_null(strstr(r.body, "\r\nmany-00010,"));
    e2e_response_free(&r);
}

static int suite_setup(void **state)
{
    return e2e_suite_start("markr_e2e_exports", NULL, &srv, &conninfo);
}

static int suite_teardown(void **state)
{
    return e2e_suite_stop(&srv, conninfo);
}

/* A whole export while imports add students before its cursor: every student that existed
 * when it began is listed exactly once (the next page starts after the last row sent, not
 * at an offset that the new students would shift). The client reads through a small
 * receive buffer, so the server writes the export a page at a time as it is read. */
static void an_export_lists_each_student_once_while_imports_run(void **state)
{
    enum { STUDENTS = 6000, ADDED = 400 };
    char *doc = e2e_results_document("csv-keyset", STUDENTS, 0), request_line[160];
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port)};
    int fd, rcvbuf = 4096, *seen = calloc(STUDENTS, sizeof(int));
    size_t cap = 4 << 20, len = 0, before_imports;
    char *body = malloc(cap);
    struct e2e_response r;

    assert_non_null(seen);
    assert_non_null(body);
    assert_int_equal(e2e_http(&srv, "POST", "/import", MEDIA_TYPE, doc, strlen(doc), &r), 0);
    assert_int_equal(r.status, 201);
    e2e_response_free(&r);
    free(doc);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    snprintf(request_line, sizeof(request_line),
             "GET /results/csv-keyset?format=csv&sort=student_number HTTP/1.0\r\nHost: localhost\r\n\r\n");
    assert_int_equal(write(fd, request_line, strlen(request_line)), (ssize_t)strlen(request_line));
    /* The first rows, then students that sort before every row but the first. */
    while (len < 8192) {
        ssize_t n = read(fd, body + len, cap - 1 - len);

        assert_true(n > 0);
        len += (size_t)n;
    }
    before_imports = len;
    for (int batch = 0; batch < 4; ++batch) {
        char *more = malloc(ADDED / 4 * 200 + 200), *p = more;

        p += sprintf(p, "<mcq-test-results>");
        for (int i = 0; i < ADDED / 4; ++i)
            p += sprintf(p, "<mcq-test-result><student-number>00000%05d</student-number><test-id>csv-keyset</test-id>"
                            "<summary-marks available=\"20\" obtained=\"7\"/></mcq-test-result>",
                         batch * (ADDED / 4) + i);
        sprintf(p, "</mcq-test-results>");
        assert_int_equal(e2e_http(&srv, "POST", "/import", MEDIA_TYPE, more, strlen(more), &r), 0);
        assert_int_equal(r.status, 201);
        e2e_response_free(&r);
        free(more);
    }
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        ssize_t n;

        assert_true(poll(&pfd, 1, 60000) == 1);
        if ((n = read(fd, body + len, cap - 1 - len)) == 0)
            break;
        assert_true(n > 0);
        len += (size_t)n;
        assert_true(len < cap - 1);
    }
    close(fd);
    body[len] = '\0';
    print_message("export: %zu bytes, %zu of them before the imports\n", len, before_imports);
    assert_true(before_imports < len / 4); /* the imports came while most of it was unsent */
    {
        char *line = strstr(body, "\r\n\r\n");

        assert_non_null(line);
        assert_non_null(strstr(body, "200"));
        line = strchr(line + 4, '\n'); /* past the header row */
        assert_non_null(line);
        for (++line; *line != '\0';) {
            char *end = strchr(line, '\n');
            int number;

            /* Each original student's number is six digits; the added ones are longer. */
            if (sscanf(line, "%d,", &number) == 1 && line[6] == ',') {
                assert_true(number >= 0 && number < STUDENTS);
                if (++seen[number] != 1)
                    fail_msg("student %06d listed twice", number);
            }
            if (end == NULL)
                break;
            line = end + 1;
        }
    }
    for (int i = 0; i < STUDENTS; ++i)
        if (seen[i] != 1)
            fail_msg("student %06d listed %d times", i, seen[i]);
    free(seen);
    free(body);
}

/* GET /students as CSV: the page the JSON answer has, with its header row; bounds as there. */
static void csv_of_the_students_is_the_page_asked_for(void **state)
{
    struct e2e_response r;

    import("csv-students", 3, 0);
    request("GET", "/students?format=csv&limit=2", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "text/csv; charset=utf-8; header=present");
    assert_int_equal(strncmp(r.body, "student_number,tests,mean_percent\r\n", 35), 0);
    assert_int_equal(count_lines(r.body, r.len), 3); /* the header and two students */
    e2e_response_free(&r);
    request("GET", "/students?format=csv&limit=0", NULL, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "bad_limit"));
    e2e_response_free(&r);
    request("GET", "/students?format=pdf", NULL, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "bad_format"));
    e2e_response_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_export_lists_each_student_once_while_imports_run),
        cmocka_unit_test(csv_has_every_row_quoted_and_prefixed),
        cmocka_unit_test(csv_is_negotiated_and_unknown_formats_refused),
        cmocka_unit_test(csv_of_the_tests_has_every_test),
        cmocka_unit_test(csv_of_the_students_is_the_page_asked_for),
    };

    return cmocka_run_group_tests_name("e2e_exports", tests, suite_setup, suite_teardown);
}
