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
    {
        const char *help_of_bogus[] = {"help", "frobnicate", NULL};

        expect_cli(NULL, help_of_bogus, NULL, 2, "unknown command 'frobnicate'");
    }
}

/* Every command has --help (stdout, exit 0, its options and exit statuses) that works
 * without a database or valid settings; a wrong option or argument is its usage and exit 2. */
static void every_command_helps_and_refuses_unknown_options(void **state)
{
    static const char *const commands[] = {"serve", "migrate", "import", "reprocess"};
    const char *bad_listen[] = {"MARKR_LISTEN=nonsense", NULL};

    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); ++i) {
        const char *help[] = {commands[i], "--help", NULL}, *h[] = {commands[i], "-h", NULL};
        const char *bogus[] = {commands[i], "--bogus", NULL}, *help_of[] = {"help", commands[i], NULL};
        char usage[64], *out;

        snprintf(usage, sizeof(usage), "Usage: markr %s", commands[i]);
        expect_cli(NULL, help, bad_listen, 0, usage);
        expect_cli(NULL, help_of, NULL, 0, usage); /* markr help COMMAND: the command's, not the overview */
        expect_cli(NULL, help, NULL, 0, "Exit status:");
        expect_cli(NULL, h, NULL, 0, usage);
        expect_cli(NULL, help, NULL, 0, "DATABASE_URL");
        snprintf(usage, sizeof(usage), "markr %s: unknown option '--bogus'", commands[i]);
        expect_cli(conninfo, bogus, NULL, 2, usage);
        snprintf(usage, sizeof(usage), "(see markr %s --help)", commands[i]);
        expect_cli(conninfo, bogus, NULL, 2, usage);
        /* Help goes to stdout alone: nothing else is written. */
        assert_int_equal(e2e_run_cli(NULL, help, NULL, &out), 0);
        assert_null(strstr(out, "markr:"));
        free(out);
    }
    {
        const char *extra[] = {"serve", "now", NULL}, *status[] = {"migrate", "--status", "--all", NULL};
        const char *both[] = {"reprocess", "--all", "--import", "3", NULL}, *noid[] = {"reprocess", "--import", NULL};
        const char *nofile[] = {"import", NULL}, *dry[] = {"import", "--dry-run", "a.xml", NULL};
        const char *after[] = {"import", "a.xml", "--bogus", NULL}, *dashes[] = {"import", "--", NULL};
        const char *huge[] = {"reprocess", "--import", "99999999999999999999", NULL};

        expect_cli(conninfo, extra, NULL, 2, "markr serve: unknown argument 'now'");
        expect_cli(conninfo, status, NULL, 2, "markr migrate: unknown option '--all'");
        expect_cli(conninfo, both, NULL, 2, "--all and --import exclude each other");
        expect_cli(conninfo, noid, NULL, 2, "no ID after '--import'");
        /* Beyond int64: not read as its largest value. */
        expect_cli(conninfo, huge, NULL, 2, "'99999999999999999999' is not an import id");
        expect_cli(conninfo, nofile, NULL, 2, "markr import: no FILE to import");
        expect_cli(conninfo, dry, NULL, 2, "markr import: unknown option '--dry-run'");
        expect_cli(conninfo, after, NULL, 2, "markr import: unknown option '--bogus'");
        expect_cli(conninfo, dashes, NULL, 2, "markr import: no FILE to import");
    }
}

/* A misspelled setting is named, with the one it probably means, from the environment and
 * from .env; the command still runs. */
static void unknown_settings_are_warned_about(void **state)
{
    char dir[] = "/tmp/markr-cli-env-XXXXXX", path[64], *out;
    const char *status[] = {"migrate", "--status", NULL};
    const char *typo[] = {"MARKR_LISTEN_ADDRESS=1", NULL};
    FILE *f;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/.env", dir);
    assert_non_null(f = fopen(path, "w"));
    fputs("# a comment\nMARKR_WROKERS=8\n", f);
    fclose(f);
    assert_int_equal(e2e_run_cli_in(dir, conninfo, status, typo, &out), 0);
    if (strstr(out, "name=MARKR_WROKERS source=\".env line 2\" did_you_mean=MARKR_WORKERS") == NULL ||
        strstr(out, "name=MARKR_LISTEN_ADDRESS source=environment did_you_mean=MARKR_LISTEN") == NULL)
        print_error("ERROR: no warnings in:\n%s\n", out);
    assert_non_null(strstr(out, "msg=\"unknown setting ignored\" name=MARKR_WROKERS source=\".env line 2\" "
                                "did_you_mean=MARKR_WORKERS"));
    assert_non_null(strstr(out, "name=MARKR_LISTEN_ADDRESS source=environment did_you_mean=MARKR_LISTEN"));
    free(out);
    unlink(path);
    rmdir(dir);
}

static void bad_settings_stop_start_up_naming_the_setting(void **state)
{
    const char *serve[] = {"serve", NULL};
    const char *workers[] = {"MARKR_WORKERS=many", NULL};
    const char *listen[] = {"MARKR_LISTEN=8085", NULL};
    const char *body[] = {"MARKR_MAX_BODY_BYTES=0", NULL};
    const char *port[] = {"MARKR_LISTEN=127.0.0.1:99999", NULL};

    expect_cli(conninfo, serve, workers, 2, "bad setting: MARKR_WORKERS");
    expect_cli(conninfo, serve, listen, 2, "bad setting: MARKR_LISTEN");
    expect_cli(conninfo, serve, body, 2, "bad setting: MARKR_MAX_BODY_BYTES");
    expect_cli(conninfo, serve, port, 2, "bad setting: MARKR_LISTEN: port 99999 is out of range (0 to 65535");
    expect_cli("", serve, NULL, 2, "DATABASE_URL is not set");
    /* A bad conninfo option is named (it is no secret), its value is not. */
    expect_cli("hots=/tmp dbname=x password=hunter2", serve, NULL, 1, "an option libpq does not know, 'hots'");
    {
        char *out;

        assert_int_equal(e2e_run_cli("hots=/tmp password=hunter2", serve, NULL, &out), 1);
        assert_null(strstr(out, "hunter2"));
        free(out);
    }
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
    expect_cli(conninfo, mixed, NULL, 1, "refused (missing_field), kept as import");
    expect_cli(conninfo, missing, NULL, 1, "/nonexistent/file.xml: not imported (unreadable): cannot read it: No such "
                                           "file or directory");
    unlink(bad);
}

/* `markr import` applies POST's body limit, and says what is wrong with a directory. */
static void import_refuses_directories_and_files_over_the_limit(void **state)
{
    char dir[] = "/tmp/markr-cli-dir-XXXXXX", big[96];
    const char *fixture = getenv("MARKR_FIXTURE");
    const char *limit[] = {"MARKR_MAX_BODY_BYTES=1000", NULL};
    const char *directory[] = {"import", dir, NULL}, *over[] = {"import", fixture, NULL};
    const char *dash[] = {"import", "--", big, NULL};
    FILE *f;

    assert_non_null(mkdtemp(dir));
    expect_cli(conninfo, directory, NULL, 1, "not imported (unreadable): it is a directory: name the files in it");
    /* The fixture is about 6 kB: over a 1000-byte limit, as POST /import would say 413. */
    expect_cli(conninfo, over, limit, 1, "not imported (payload_too_large): it is ");
    expect_cli(conninfo, over, limit, 1, "over the limit of 1000 bytes (MARKR_MAX_BODY_BYTES");
    /* A file whose name starts with '-', after "--". */
    snprintf(big, sizeof(big), "%s/-x.xml", dir);
    assert_non_null(f = fopen(big, "w"));
    fputs("hello", f);
    fclose(f);
    expect_cli(conninfo, dash, NULL, 1, "refused (malformed_xml), kept as import");
    expect_cli(conninfo, dash, NULL, 1, "the body is not XML");
    unlink(big);
    rmdir(dir);
}

/* On a database never migrated, import says which migration is pending, as serve does. */
static void import_checks_the_schema_like_serve(void **state)
{
    char *fresh = markr_test_db_create("cli_unmigrated");
    const char *fixture = getenv("MARKR_FIXTURE");
    const char *import[] = {"import", fixture, NULL};

    expect_cli(fresh, import, NULL, 1, "is pending; run `markr migrate` first");
    {
        char *out;

        assert_int_equal(e2e_run_cli(fresh, import, NULL, &out), 1);
        assert_null(strstr(out, "does not exist"));
        free(out);
    }
    markr_test_db_drop(fresh);
    free(fresh);
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
        cmocka_unit_test(every_command_helps_and_refuses_unknown_options),
        cmocka_unit_test(unknown_settings_are_warned_about),
        cmocka_unit_test(import_refuses_directories_and_files_over_the_limit),
        cmocka_unit_test(import_checks_the_schema_like_serve),
        cmocka_unit_test(bad_settings_stop_start_up_naming_the_setting),
        cmocka_unit_test(unreachable_database_is_reported),
        cmocka_unit_test(migrate_status_lists_applied_migrations),
        cmocka_unit_test(import_files_from_the_command_line),
        cmocka_unit_test(serve_refuses_a_schema_that_is_behind),
    };

    return cmocka_run_group_tests_name("e2e_cli", tests, setup, teardown);
}
