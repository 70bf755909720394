/*
 * The e2e harness's logfmt matcher: the lines markr's logger really writes pass (values
 * with spaces, quotes, backslashes, control bytes, empty), and what would slip through a
 * loose check does not (libpq's raw FATAL line, the old "markr: listening on" line, broken
 * quoting, an unknown level, the fixed fields out of order).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "interfaces/observe/log.h"
#include "logfmt.h"

static int matches(const char *line)
{
    return e2e_logfmt_line(line, strlen(line));
}

/* Runs markr_log with stderr sent to a file, and checks every line it wrote. */
static void markr_lines_pass(void **state)
{
    char path[] = "/tmp/markr-logfmt-XXXXXX";
    int fd = mkstemp(path), saved = dup(STDERR_FILENO);

    assert_true(fd >= 0);
    assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    markr_log(MARKR_LOG_INFO, "listening", "addr", "127.0.0.1:8085", NULL);
    markr_log(MARKR_LOG_WARN, "database notice", "connection", "markr", "severity", "FATAL", "message",
              "terminating connection due to administrator command", NULL);
    markr_log(MARKR_LOG_ERROR, "quotes \" and \\ backslashes", "empty", "", "ctl", "a\tb\nc", "eq", "a=b", NULL);
    markr_log(MARKR_LOG_DEBUG, "x", NULL); /* below the level: not written */
    markr_log(MARKR_LOG_INFO, "utf-8 caf\xc3\xa9", "k.v-1", "\xc3\xa9", NULL);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fd);
    assert_int_equal(e2e_logfmt_check_file(path, 10), 0);
    {
        FILE *f = fopen(path, "r");
        int lines = 0;

        for (int c; (c = fgetc(f)) != EOF;)
            lines += c == '\n';
        fclose(f);
        assert_int_equal(lines, 4);
    }
    unlink(path);
}

static void raw_and_broken_lines_fail(void **state)
{
    assert_true(matches("time=2026-12-01T10:53:03.123Z level=info msg=listening addr=127.0.0.1:80"));
    assert_true(matches("time=2026-12-01T10:53:03.123Z level=warn msg=\"a b\" k=\"\\\"q\\\\\""));

    assert_false(matches("FATAL:  terminating connection due to administrator command"));
    assert_false(matches("markr: listening on 127.0.0.1:8085"));
    assert_false(matches(""));
    assert_false(matches("time=2026-12-01T10:53:03.123Z level=info"));                 /* no msg */
    assert_false(matches("level=info time=2026-12-01T10:53:03.123Z msg=x"));           /* order */
    assert_false(matches("time=yesterday level=info msg=x"));                          /* time */
    assert_false(matches("time=2026-12-01T10:53:03.123Z level=fatal msg=x"));          /* level */
    assert_false(matches("time=2026-12-01T10:53:03.123Z level=info msg=\"open"));      /* quote */
    assert_false(matches("time=2026-12-01T10:53:03.123Z level=info msg=a\"b"));        /* bare quote */
    assert_false(matches("time=2026-12-01T10:53:03.123Z level=info msg=\"a\\nb\""));   /* escape */
    assert_false(matches("time=2026-12-01T10:53:03.123Z level=info msg=x "));          /* trailing space */
    assert_false(matches("time=2026-12-01T10:53:03.123Z level=info msg=x  k=v"));      /* two spaces */
    assert_false(matches("time=2026-12-01T10:53:03.123Z level=info msg=x k="));        /* empty bare */
    assert_false(matches("time=2026-12-01T10:53:03.123Z level=info msg=x =v"));        /* no key */
    assert_false(matches("time=2026-12-01T10:53:03.123Z level=info msg=x k=a=b"));     /* bare = */
    assert_false(matches("time=2026-12-01T10:53:03.123Z level=info msg=x\tk=v"));      /* tab */
    assert_false(matches("time=2026-12-01T10:53:03.123Z level=info msg=x k=v trailing")); /* no = */
}

static void files_are_checked_line_by_line(void **state)
{
    char path[] = "/tmp/markr-logfmt-XXXXXX";
    int fd = mkstemp(path);
    static const char text[] = "time=2026-12-01T10:53:03.123Z level=info msg=ok\n"
                               "WARNING:  raw\n"
                               "time=2026-12-01T10:53:03.123Z level=info msg=ok\n"
                               "no newline at the end";

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
    close(fd);
    assert_int_equal(e2e_logfmt_check_file(path, 0), 2);
    unlink(path);
    assert_int_equal(e2e_logfmt_check_file(path, 0), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(markr_lines_pass),
        cmocka_unit_test(raw_and_broken_lines_fail),
        cmocka_unit_test(files_are_checked_line_by_line),
    };

    return cmocka_run_group_tests_name("e2e_logfmt_matcher", tests, NULL, NULL);
}
