/*
 * The markr command line as operators use it: help and version, settings checked at
 * start-up with a message naming the bad one, `migrate --status`, `import FILE...` with
 * exit status 0 only when every file was accepted, and `serve` refusing a schema that is
 * behind.
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

#include "harness.h"
#include "test_db.h"

static char *conninfo;

static int setup(void **state)
{
    const char *argv[] = {"migrate", NULL};
    char *out;
    int rc;

    conninfo = markr_test_db_create("cli");
    rc = e2e_run_cli(conninfo, argv, NULL, &out);
    if (rc != 0)
        fprintf(stderr, "migrate: %s\n", out);
    free(out);
    return rc;
}

static int teardown(void **state)
{
    markr_test_db_drop(conninfo);
    free(conninfo);
    return 0;
}

static void expect_cli(const char *db, const char *const *argv, const char *const *env, int code, const char *needle)
{
    char *out;
    int rc = e2e_run_cli(db, argv, env, &out);
    int failed = rc != code || strstr(out, needle) == NULL;

    /* Said, freed, then failed: fail() leaves by longjmp, past any free after it. */
    if (failed)
        print_error("ERROR: markr %s: exit %d (expected %d), output lacks '%s':\n%s\n", argv[0], rc, code, needle, out);
    free(out);
    if (failed)
        fail();
}

static void help_and_version(void **state)
{
    const char *help[] = {"--help", NULL}, *version[] = {"--version", NULL}, *bogus[] = {"frobnicate", NULL};
    const char *none[] = {NULL};

    expect_cli(conninfo, help, NULL, 0, "import FILE...");
    expect_cli(conninfo, version, NULL, 0, "markr 0.");
    expect_cli(conninfo, bogus, NULL, 2, "unknown command 'frobnicate'");
    expect_cli(conninfo, none, NULL, 2, "Usage: markr");
}

static void bad_settings_stop_start_up_naming_the_setting(void **state)
{
    const char *serve[] = {"serve", NULL};
    const char *workers[] = {"MARKR_WORKERS=many", NULL};
    const char *listen[] = {"MARKR_LISTEN=8085", NULL};
    const char *body[] = {"MARKR_MAX_BODY_BYTES=0", NULL};

    expect_cli(conninfo, serve, workers, 2, "bad setting: MARKR_WORKERS");
    expect_cli(conninfo, serve, listen, 2, "bad setting: MARKR_LISTEN");
    expect_cli(conninfo, serve, body, 2, "bad setting: MARKR_MAX_BODY_BYTES");
    expect_cli("", serve, NULL, 2, "DATABASE_URL is not set");
}

static void unreachable_database_is_reported(void **state)
{
    const char *status[] = {"migrate", "--status", NULL};

    expect_cli("host=/nonexistent port=1 dbname=x connect_timeout=2", status, NULL, 1, "markr: ");
}

static void migrate_status_lists_applied_migrations(void **state)
{
    const char *status[] = {"migrate", "--status", NULL}, *again[] = {"migrate", NULL};

    expect_cli(conninfo, status, NULL, 0, "applied");
    expect_cli(conninfo, again, NULL, 0, ""); /* idempotent */
}

static void import_files_from_the_command_line(void **state)
{
    char bad[] = "/tmp/markr-cli-bad-XXXXXX";
    int fd = mkstemp(bad);
    const char *fixture = getenv("MARKR_FIXTURE");
    const char *good[] = {"import", fixture, NULL};
    const char *mixed[] = {"import", fixture, bad, NULL};
    const char *missing[] = {"import", "/nonexistent/file.xml", NULL};
    static const char doc[] = "<mcq-test-results><mcq-test-result><test-id>1</test-id>"
                              "<summary-marks available=\"1\" obtained=\"1\"/></mcq-test-result></mcq-test-results>";

    assert_true(fd >= 0);
    assert_int_equal(write(fd, doc, sizeof(doc) - 1), (ssize_t)(sizeof(doc) - 1));
    close(fd);
    expect_cli(conninfo, good, NULL, 0, "accepted as import");
    expect_cli(conninfo, mixed, NULL, 1, "refused, kept as import");
    expect_cli(conninfo, missing, NULL, 1, "cannot read");
    unlink(bad);
}

static void serve_refuses_a_schema_that_is_behind(void **state)
{
    char *fresh = markr_test_db_create("cli_fresh");
    const char *serve[] = {"serve", NULL};
    const char *env[] = {"MARKR_LISTEN=127.0.0.1:0", NULL};

    expect_cli(fresh, serve, env, 1, "markr migrate");
    markr_test_db_drop(fresh);
    free(fresh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(help_and_version),
        cmocka_unit_test(bad_settings_stop_start_up_naming_the_setting),
        cmocka_unit_test(unreachable_database_is_reported),
        cmocka_unit_test(migrate_status_lists_applied_migrations),
        cmocka_unit_test(import_files_from_the_command_line),
        cmocka_unit_test(serve_refuses_a_schema_that_is_behind),
    };

    return cmocka_run_group_tests_name("e2e_cli", tests, setup, teardown);
}
