/*
 * Settings: defaults, the .env file (comments, export, quotes; the environment wins), and
 * a one-line refusal naming each bad setting.
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

#include "interfaces/cli/config.h"
#include "interfaces/observe/log.h"

static const char *const settings[] = {"DATABASE_URL", "MARKR_LISTEN", "MARKR_MAX_BODY_BYTES", "MARKR_WORKERS",
                                       "MARKR_QUEUE_MAX", "MARKR_MIGRATIONS_DIR", "MARKR_TEST_ONLY",
                                       "MARKR_MAX_ASYNC_BODY_BYTES", "MARKR_QUEUE_RUNNERS", "MARKR_ADMIN_TOKEN",
                                       "MARKR_REQUEST_TIMEOUT_MS", "MARKR_MAX_CONNECTIONS", "MARKR_MAX_HEADER_BYTES",
                                       "MARKR_SHUTDOWN_TIMEOUT", "MARKR_SLOW_QUERY_MS", "MARKR_LOG_LEVEL",
                                       "MARKR_MAX_BUFFERED_BYTES"};

static int clear_settings(void **state)
{
    for (size_t i = 0; i < sizeof(settings) / sizeof(*settings); ++i)
        unsetenv(settings[i]);
    return 0;
}

static char *write_dotenv(const char *text)
{
    static char path[64];
    int fd;

    strcpy(path, "/tmp/markr-dotenv-XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void defaults(void **state)
{
    struct markr_config cfg;
    char err[256];

    assert_int_equal(markr_config_load(&cfg, "/nonexistent/.env", err, sizeof(err)), 0);
    assert_null(cfg.database_url);
    assert_string_equal(cfg.listen_host, "0.0.0.0");
    assert_string_equal(cfg.listen_port, "8085");
    assert_int_equal(cfg.max_body_bytes, 64 * 1024 * 1024);
    assert_int_equal(cfg.workers, 4);
    assert_int_equal(cfg.queue_max, 1024);
    assert_string_equal(cfg.migrations_dir, MARKR_DEFAULT_MIGRATIONS_DIR); /* compiled in */
    assert_int_equal(cfg.request_timeout_ms, 60000);
    assert_int_equal(cfg.max_connections, 16384);
    assert_int_equal(cfg.max_header_bytes, 65536);
    assert_int_equal(cfg.shutdown_timeout_s, 30);
    assert_int_equal(cfg.slow_query_ms, 400);
    assert_int_equal(cfg.log_level, MARKR_LOG_INFO);
}

/* Operations settings are read and checked like the others. */
static void operations_settings(void **state)
{
    struct markr_config cfg;
    char err[256];

    setenv("MARKR_LOG_LEVEL", "warn", 1);
    setenv("MARKR_REQUEST_TIMEOUT_MS", "1500", 1);
    setenv("MARKR_MAX_CONNECTIONS", "4", 1);
    assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), 0);
    assert_int_equal(cfg.log_level, MARKR_LOG_WARN);
    assert_int_equal(cfg.request_timeout_ms, 1500);
    assert_int_equal(cfg.max_connections, 4);
}

/* The vault's settings, checked like the others; the token is never echoed. */
static void vault_settings(void **state)
{
    struct markr_config cfg;
    char err[256];

    assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), 0);
    assert_int_equal(cfg.max_async_body_bytes, 64 * 1024 * 1024); /* MARKR_MAX_BODY_BYTES */
    assert_int_equal(cfg.max_buffered_bytes, 1024ull * 1024 * 1024);
    assert_int_equal(cfg.queue_runners, 1);
    assert_null(cfg.admin_token);

    setenv("MARKR_MAX_ASYNC_BODY_BYTES", "536870913", 1); /* 512 MiB + 1 */
    assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "MARKR_MAX_ASYNC_BODY_BYTES"));
    /* One limit bounds every body: the asynchronous one may only lower it. */
    setenv("MARKR_MAX_ASYNC_BODY_BYTES", "67108865", 1);
    assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "MARKR_MAX_ASYNC_BODY_BYTES"));
    assert_non_null(strstr(err, "MARKR_MAX_BODY_BYTES"));
    setenv("MARKR_MAX_BODY_BYTES", "67108865", 1);
    assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), 0);
    assert_int_equal(cfg.max_async_body_bytes, 67108865);
    unsetenv("MARKR_MAX_ASYNC_BODY_BYTES");
    assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), 0);
    assert_int_equal(cfg.max_async_body_bytes, 67108865); /* follows MARKR_MAX_BODY_BYTES */
    unsetenv("MARKR_MAX_BODY_BYTES");
    /* The cap on bodies held at once: a number, and room for at least the largest body. */
    setenv("MARKR_MAX_BUFFERED_BYTES", "67108863", 1);
    assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "MARKR_MAX_BUFFERED_BYTES"));
    setenv("MARKR_MAX_BUFFERED_BYTES", "1GiB", 1);
    assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "MARKR_MAX_BUFFERED_BYTES"));
    setenv("MARKR_MAX_BUFFERED_BYTES", "67108864", 1);
    assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), 0);
    assert_int_equal(cfg.max_buffered_bytes, 67108864);
    setenv("MARKR_MAX_ASYNC_BODY_BYTES", "1000", 1);
    setenv("MARKR_QUEUE_RUNNERS", "17", 1);
    assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "MARKR_QUEUE_RUNNERS"));
    setenv("MARKR_QUEUE_RUNNERS", "0", 1);
    setenv("MARKR_ADMIN_TOKEN", "short-secret", 1);
    assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "MARKR_ADMIN_TOKEN"));
    assert_null(strstr(err, "short-secret"));
    setenv("MARKR_ADMIN_TOKEN", "long enough but spaced", 1);
    assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), -1);
    assert_null(strstr(err, "spaced"));
    setenv("MARKR_ADMIN_TOKEN", "a-long-enough-admin-token", 1);
    assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), 0);
    assert_string_equal(cfg.admin_token, "a-long-enough-admin-token");
    assert_int_equal(cfg.max_async_body_bytes, 1000);
    assert_int_equal(cfg.queue_runners, 0);
}

static void dotenv_fills_in_what_the_environment_lacks(void **state)
{
    char *path = write_dotenv("# a comment\n\n"
                              "export DATABASE_URL='host=/tmp dbname=markr'\n"
                              "MARKR_LISTEN = \"[::1]:9000\"\n"
                              "MARKR_WORKERS=8\n");
    struct markr_config cfg;
    char err[256];

    setenv("MARKR_WORKERS", "2", 1);
    assert_int_equal(markr_config_load(&cfg, path, err, sizeof(err)), 0);
    assert_string_equal(cfg.database_url, "host=/tmp dbname=markr");
    assert_string_equal(cfg.listen_host, "::1");
    assert_string_equal(cfg.listen_port, "9000");
    assert_int_equal(cfg.workers, 2); /* the environment wins */
    unlink(path);
}

static void expect_refusal(const char *name, const char *value, const char *needle)
{
    struct markr_config cfg;
    char err[256];

    clear_settings(NULL);
    setenv(name, value, 1);
    assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), -1);
    if (strstr(err, needle) == NULL || strchr(err, '\n') != NULL)
        fail_msg("%s=%s: message '%s' lacks '%s' or is not one line", name, value, err, needle);
}

static void bad_values_are_refused_by_name(void **state)
{
    expect_refusal("MARKR_LISTEN", "8085", "MARKR_LISTEN");
    expect_refusal("MARKR_LISTEN", "host:99999", "MARKR_LISTEN");
    expect_refusal("MARKR_LISTEN", "[::1]8085", "MARKR_LISTEN");
    expect_refusal("MARKR_LISTEN", ":8085", "MARKR_LISTEN");
    expect_refusal("MARKR_MAX_BODY_BYTES", "0", "MARKR_MAX_BODY_BYTES");
    expect_refusal("MARKR_MAX_BODY_BYTES", "64MB", "MARKR_MAX_BODY_BYTES");
    expect_refusal("MARKR_MAX_BODY_BYTES", "-1", "MARKR_MAX_BODY_BYTES");
    /* One byte over 512 MiB: a body PostgreSQL could not take as one bytea value. */
    expect_refusal("MARKR_MAX_BODY_BYTES", "536870913", "MARKR_MAX_BODY_BYTES");
    expect_refusal("MARKR_WORKERS", "0", "MARKR_WORKERS");
    expect_refusal("MARKR_WORKERS", "99999999999999999999999", "MARKR_WORKERS");
    expect_refusal("MARKR_QUEUE_MAX", "ten", "MARKR_QUEUE_MAX");
    expect_refusal("MARKR_LOG_LEVEL", "verbose", "MARKR_LOG_LEVEL");
    expect_refusal("MARKR_REQUEST_TIMEOUT_MS", "99", "MARKR_REQUEST_TIMEOUT_MS");
    expect_refusal("MARKR_MAX_CONNECTIONS", "0", "MARKR_MAX_CONNECTIONS");
    expect_refusal("MARKR_MAX_HEADER_BYTES", "409601", "MARKR_MAX_HEADER_BYTES");
    expect_refusal("MARKR_SHUTDOWN_TIMEOUT", "3601", "MARKR_SHUTDOWN_TIMEOUT");
    expect_refusal("MARKR_SLOW_QUERY_MS", "-5", "MARKR_SLOW_QUERY_MS");
}

static void malformed_dotenv_lines_are_refused(void **state)
{
    struct markr_config cfg;
    char err[256];
    char *path = write_dotenv("MARKR_WORKERS=2\nthis line has no equals sign\n");

    assert_int_equal(markr_config_load(&cfg, path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "line 2"));
    unlink(path);
    path = write_dotenv("1BAD=x\n");
    assert_int_equal(markr_config_load(&cfg, path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not a valid variable name"));
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(defaults, clear_settings),
        cmocka_unit_test_setup(vault_settings, clear_settings),
        cmocka_unit_test_setup(dotenv_fills_in_what_the_environment_lacks, clear_settings),
        cmocka_unit_test_setup(bad_values_are_refused_by_name, clear_settings),
        cmocka_unit_test_setup(operations_settings, clear_settings),
        cmocka_unit_test_setup(malformed_dotenv_lines_are_refused, clear_settings),
    };

    return cmocka_run_group_tests_name("cli_config", tests, NULL, NULL);
}
