/*
 * Settings: defaults, the .env file (comments, export, quotes; the environment wins), and
 * a one-line refusal naming each bad setting (and never showing a token).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "interfaces/cli/config.h"
#include "interfaces/observe/log.h"
#include "interfaces/scores/score_feed.h"

static const char *const settings[] = {"DATABASE_URL", "MARKR_LISTEN", "MARKR_MAX_BODY_BYTES", "MARKR_WORKERS",
                                       "MARKR_QUEUE_MAX", "MARKR_MIGRATIONS_DIR", "MARKR_TEST_ONLY",
                                       "MARKR_MAX_ASYNC_BODY_BYTES", "MARKR_QUEUE_RUNNERS", "MARKR_ADMIN_TOKEN",
                                       "MARKR_REQUEST_TIMEOUT_MS", "MARKR_MAX_CONNECTIONS", "MARKR_MAX_HEADER_BYTES",
                                       "MARKR_SHUTDOWN_TIMEOUT", "MARKR_SLOW_QUERY_MS", "MARKR_LOG_LEVEL",
                                       "MARKR_READER_TOKENS", "MARKR_OPERATOR_TOKENS", "MARKR_IMPORT_ALLOW",
                                       "MARKR_WRITE_TIMEOUT_MS", "MARKR_MAX_DOWNLOADS", "MARKR_ALLOWED_HOSTS",
                                       "MARKR_MAX_BUFFERED_BYTES", "MARKR_CORS_ORIGINS", "MARKR_CORS_IMPORT",
                                       "MARKR_FEED_URL", "MARKR_FEED_IDLE_TIMEOUT_S"};

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
    assert_int_equal(cfg.workers, 8);
    assert_int_equal(cfg.queue_max, 1024);
    assert_string_equal(cfg.migrations_dir, MARKR_DEFAULT_MIGRATIONS_DIR); /* compiled in */
    assert_int_equal(cfg.request_timeout_ms, 60000);
    assert_int_equal(cfg.max_connections, 16384);
    assert_int_equal(cfg.max_header_bytes, 65536);
    assert_int_equal(cfg.shutdown_timeout_s, 30);
    assert_int_equal(cfg.slow_query_ms, 400);
    assert_int_equal(cfg.write_timeout_ms, 30000);
    assert_int_equal(cfg.max_downloads, 16);
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
    setenv("MARKR_WRITE_TIMEOUT_MS", "100", 1);
    setenv("MARKR_MAX_DOWNLOADS", "1", 1);
    assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), 0);
    assert_int_equal(cfg.log_level, MARKR_LOG_WARN);
    assert_int_equal(cfg.request_timeout_ms, 1500);
    assert_int_equal(cfg.max_connections, 4);
    assert_int_equal(cfg.write_timeout_ms, 100);
    assert_int_equal(cfg.max_downloads, 1);
}

/* The vault's settings, checked like the others; the token is never echoed. */
/* The feed's URL: http or https only; its name (shown by GET /feed, the key of its position)
 * drops the user and password. */
static void feed_url(void **state)
{
    static const char *const bad[] = {"ftp://scores.example/", "file:///etc/passwd", "not a url", "gopher://x/"};
    struct markr_config cfg;
    char err[256], name[128];

    assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), 0);
    assert_null(cfg.feed_url);
    setenv("MARKR_FEED_URL", "", 1);
    assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), 0);
    assert_null(cfg.feed_url);
    setenv("MARKR_FEED_URL", "https://user:secret@scores.example:8443/stream?school=3", 1);
    assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), 0);
    assert_string_equal(cfg.feed_url, "https://user:secret@scores.example:8443/stream?school=3");
    assert_int_equal(markr_score_feed_name(cfg.feed_url, name, sizeof(name), err, sizeof(err)), 0);
    assert_string_equal(name, "https://scores.example:8443/stream?school=3");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        setenv("MARKR_FEED_URL", bad[i], 1);
        assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "MARKR_FEED_URL"));
        assert_null(strstr(err, "secret"));
    }
    assert_int_equal(markr_score_feed_name("http://h/", name, 8, err, sizeof(err)), -1); /* too long for out */
}

/* MARKR_FEED_IDLE_TIMEOUT_S: 90 s by default, 1 to 86400, anything else refused by name. */
static void feed_idle_timeout(void **state)
{
    static const char *const bad[] = {"0", "86401", "-5", "ten", "1.5"};
    struct markr_config cfg;
    char err[256];

    assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), 0);
    assert_int_equal(cfg.feed_idle_timeout_s, 90);
    setenv("MARKR_FEED_IDLE_TIMEOUT_S", "1", 1);
    assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), 0);
    assert_int_equal(cfg.feed_idle_timeout_s, 1);
    setenv("MARKR_FEED_IDLE_TIMEOUT_S", "86400", 1);
    assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), 0);
    assert_int_equal(cfg.feed_idle_timeout_s, 86400);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        setenv("MARKR_FEED_IDLE_TIMEOUT_S", bad[i], 1);
        assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "MARKR_FEED_IDLE_TIMEOUT_S"));
    }
}

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

/* Reader and operator tokens follow MARKR_ADMIN_TOKEN's rule, entry by entry; a refusal
 * names the setting and never shows a token. */
static void access_tokens(void **state)
{
    static const struct {
        const char *value, *secret; /* a bad list, and a part of it no message may show */
    } bad[] = {
        {"reader-token-0123456789,short-secret", "short-secret"},
        {"reader-token-0123456789,,reader-token-9876543210", "reader-token"},
        {"reader-token-0123456789,", "reader-token"},
        {"reader-token-0123456789, reader-token-9876543210", "reader-token"},
        {"reader token 0123456789 spaced", "spaced"},
        {"reader-token-\x01-0123456789", "reader-token"},
    };
    static const char *const lists[] = {"MARKR_READER_TOKENS", "MARKR_OPERATOR_TOKENS"};
    struct markr_config cfg;
    char err[256];

    assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), 0);
    assert_int_equal(cfg.reader_tokens.count, 0);
    assert_int_equal(cfg.operator_tokens.count, 0);
    setenv("MARKR_READER_TOKENS", "", 1); /* empty is unset */
    assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), 0);
    assert_int_equal(cfg.reader_tokens.count, 0);
    setenv("MARKR_READER_TOKENS", "reader-token-0123456789,reader-token-9876543210", 1);
    setenv("MARKR_OPERATOR_TOKENS", "operator-token-0123456789", 1);
    assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), 0);
    assert_int_equal(cfg.reader_tokens.count, 2);
    assert_memory_equal(cfg.reader_tokens.items[1].base, "reader-token-9876543210", 23);
    assert_int_equal(cfg.reader_tokens.items[1].len, 23);
    assert_int_equal(cfg.operator_tokens.count, 1);
    for (size_t l = 0; l < 2; ++l) {
        for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); ++i) {
            setenv(lists[l], bad[i].value, 1);
            assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), -1);
            if (strncmp(err, lists[l], strlen(lists[l])) != 0 || strstr(err, bad[i].secret) != NULL)
                fail_msg("'%s' in %s: %s", bad[i].value, lists[l], err);
        }
        setenv(lists[l], "a-valid-token-0123456789", 1);
    }
    assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), 0);
}

/* MARKR_IMPORT_ALLOW: IPv4 and IPv6 ranges; a bad entry is named. */
static void import_allow_list(void **state)
{
    static const char *const bad[] = {"10.0.0.0/33", "10.0.0.0/8,", "localhost", "::1/129", "10.0.0.0/8;::1/128"};
    struct markr_config cfg;
    char err[256];

    assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), 0);
    assert_int_equal(cfg.import_allow.count, 0);
    setenv("MARKR_IMPORT_ALLOW", "10.0.0.0/8,::1/128,192.168.0.1", 1);
    assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), 0);
    assert_int_equal(cfg.import_allow.count, 3);
    assert_int_equal(cfg.import_allow.items[1].prefix, 128);
    assert_int_equal(cfg.import_allow.items[2].prefix, 32);
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); ++i) {
        setenv("MARKR_IMPORT_ALLOW", bad[i], 1);
        assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), -1);
        if (strncmp(err, "MARKR_IMPORT_ALLOW", 18) != 0)
            fail_msg("'%s': %s", bad[i], err);
    }
    setenv("MARKR_IMPORT_ALLOW", "10.0.0.0/8,10.0.0.0/33", 1);
    assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "'10.0.0.0/33'"));
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
    expect_refusal("MARKR_LISTEN", "host:99999", "MARKR_LISTEN: port 99999 is out of range (0 to 65535");
    expect_refusal("MARKR_LISTEN", "[::1]:65536", "port 65536 is out of range");
    expect_refusal("MARKR_LISTEN", "host:99999999999999999999999", "is out of range");
    expect_refusal("MARKR_LISTEN", "host:80a", "is not HOST:PORT");
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
    expect_refusal("MARKR_WRITE_TIMEOUT_MS", "99", "MARKR_WRITE_TIMEOUT_MS");
    expect_refusal("MARKR_WRITE_TIMEOUT_MS", "3600001", "MARKR_WRITE_TIMEOUT_MS");
    expect_refusal("MARKR_MAX_DOWNLOADS", "0", "MARKR_MAX_DOWNLOADS");
    expect_refusal("MARKR_MAX_DOWNLOADS", "many", "MARKR_MAX_DOWNLOADS");
    expect_refusal("MARKR_ALLOWED_HOSTS", "markr.example.org,,localhost", "MARKR_ALLOWED_HOSTS");
    expect_refusal("MARKR_ALLOWED_HOSTS", "https://markr.example.org", "MARKR_ALLOWED_HOSTS");
    expect_refusal("MARKR_ALLOWED_HOSTS", "[::1", "MARKR_ALLOWED_HOSTS");
    expect_refusal("MARKR_CORS_ORIGINS", "https://dash.example.org/", "MARKR_CORS_ORIGINS");
    expect_refusal("MARKR_CORS_ORIGINS", "dash.example.org", "MARKR_CORS_ORIGINS");
    expect_refusal("MARKR_CORS_ORIGINS", "*,https://dash.example.org", "MARKR_CORS_ORIGINS");
    expect_refusal("MARKR_CORS_IMPORT", "yes", "MARKR_CORS_IMPORT");
}

/* Unset, nothing is shared; set, the list (or "*") and the import switch. */
static void cors_settings(void **state)
{
    struct markr_config cfg;
    char err[256];

    assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), 0);
    assert_false(cfg.cors.any);
    assert_int_equal(cfg.cors.count, 0);
    assert_false(cfg.cors.import);
    setenv("MARKR_CORS_ORIGINS", " https://Dash.example.org , http://localhost:3000", 1);
    setenv("MARKR_CORS_IMPORT", "true", 1);
    assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), 0);
    assert_int_equal(cfg.cors.count, 2);
    assert_string_equal(cfg.cors.origins[0], "https://dash.example.org");
    assert_true(cfg.cors.import);
    setenv("MARKR_CORS_ORIGINS", "*", 1);
    setenv("MARKR_CORS_IMPORT", "false", 1);
    assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), 0);
    assert_true(cfg.cors.any);
    assert_false(cfg.cors.import);
}

/* A MARKR_* name markr does not read is named with the closest setting; known names, the
 * scripts' and tests' own, and other prefixes are not. */
static void unknown_settings_have_a_closest_known_one(void **state)
{
    assert_string_equal(markr_config_unknown("MARKR_WROKERS"), "MARKR_WORKERS");
    assert_string_equal(markr_config_unknown("MARKR_LISTEN_ON"), "MARKR_LISTEN");
    assert_string_equal(markr_config_unknown("MARKR_MAX_BODY_BYTE"), "MARKR_MAX_BODY_BYTES");
    assert_string_equal(markr_config_unknown("MARKR_READER_TOKEN"), "MARKR_READER_TOKENS");
    assert_non_null(markr_config_unknown("MARKR_"));
    assert_non_null(markr_config_unknown("MARKR_A_NAME_LONGER_THAN_SIXTY_FOUR_BYTES_OF_LETTERS_AND_UNDERSCORES_X"));
    for (const char *const *k = markr_settings; *k != NULL; ++k)
        assert_null(markr_config_unknown(*k));
    assert_null(markr_config_unknown("MARKR_PG_PORT"));
    assert_null(markr_config_unknown("MARKR_TEST_DATABASE_URL"));
    assert_null(markr_config_unknown("MARKR_BINARY"));
    assert_null(markr_config_unknown("PATH"));
    assert_null(markr_config_unknown("DATABASE_URL"));
}

/* The one list of settings and .env_template name the same settings. */
static void the_template_lists_every_setting(void **state)
{
    const char *root = getenv("MARKR_SOURCE_ROOT");
    char path[4096], line[4096];
    FILE *f;
    size_t listed = 0, known = 0;

    assert_non_null(root);
    snprintf(path, sizeof(path), "%s/.env_template", root);
    assert_non_null(f = fopen(path, "r"));
    while (fgets(line, sizeof(line), f) != NULL) {
        char *name = line[0] == '#' && line[1] == ' ' ? line + 2 : line, *eq = strchr(name, '=');

        if (eq == NULL || (strncmp(name, "MARKR_", 6) != 0 && strncmp(name, "DATABASE_URL", 12) != 0) ||
            (strchr(name, ' ') != NULL && strchr(name, ' ') < eq))
            continue;
        *eq = '\0';
        if (strncmp(name, "MARKR_PG_", 9) == 0)
            continue; /* the scripts' MARKR_PG_PORT is in the template too */
        if (markr_config_unknown(name) != NULL)
            fail_msg("%s in .env_template is not in the list of settings", name);
        ++listed;
    }
    fclose(f);
    for (const char *const *k = markr_settings; *k != NULL; ++k)
        ++known;
    assert_int_equal(listed, known);
}

/* Whether a `("MARKR_…"` call argument (getenv, read_number, read_token_list: how config.c
 * reads a setting) in one source file names a listed setting; counts what it checked. */
static void check_reads_in(const char *path, size_t *checked)
{
    char text[65536], name[80];
    FILE *f = fopen(path, "r");
    size_t n;

    assert_non_null(f);
    n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    assert_true(n < sizeof(text) - 1); /* the whole file was read */
    text[n] = '\0';
    for (const char *p = text; (p = strstr(p, "(\"MARKR_")) != NULL; ++p) {
        const char *start = p + 2, *end = strchr(start, '"');
        int listed = 0;

        assert_non_null(end);
        assert_true((size_t)(end - start) < sizeof(name));
        memcpy(name, start, (size_t)(end - start));
        name[end - start] = '\0';
        for (const char *const *k = markr_settings; *k != NULL; ++k)
            listed |= strcmp(*k, name) == 0;
        if (!listed)
            fail_msg("%s is read in %s but is not in the list of settings", name, path);
        ++*checked;
    }
}

static void scan_sources(const char *dir, size_t *checked)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        char path[4096];
        size_t len = strlen(e->d_name);
        struct stat st;

        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        assert_int_equal(stat(path, &st), 0);
        if (S_ISDIR(st.st_mode))
            scan_sources(path, checked);
        else if (len > 2 && strcmp(e->d_name + len - 2, ".c") == 0)
            check_reads_in(path, checked);
    }
    closedir(d);
}

/* Every setting the source reads by name is in the one list (else each start would warn
 * that it is unknown, and markr(1), README and .env_template would not be checked for it). */
static void every_setting_read_in_the_source_is_listed(void **state)
{
    const char *root = getenv("MARKR_SOURCE_ROOT");
    char src[4096];
    size_t checked = 0;

    assert_non_null(root);
    snprintf(src, sizeof(src), "%s/src", root);
    scan_sources(src, &checked);
    assert_true(checked >= 20); /* the scan found the reads (a wrong pattern finds none) */
}

/* Unset, the rule follows MARKR_LISTEN; set, the list alone counts. */
static void allowed_hosts_follow_the_listening_address(void **state)
{
    struct markr_config cfg;
    char err[256];

    assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), 0); /* 0.0.0.0 */
    assert_true(cfg.allowed_hosts.any);
    setenv("MARKR_LISTEN", "127.0.0.1:8085", 1);
    assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), 0);
    assert_false(cfg.allowed_hosts.any);
    assert_true(markr_host_allowed(&cfg.allowed_hosts, "localhost:8085", 14));
    assert_false(markr_host_allowed(&cfg.allowed_hosts, "rebound.example", 15));
    setenv("MARKR_LISTEN", "[::1]:8085", 1);
    assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), 0);
    assert_false(cfg.allowed_hosts.any);
    assert_true(markr_host_allowed(&cfg.allowed_hosts, "[::1]:8085", 10));
    setenv("MARKR_ALLOWED_HOSTS", "markr.example.org:443, [::1]", 1);
    assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), 0);
    assert_int_equal(cfg.allowed_hosts.count, 2);
    assert_true(markr_host_allowed(&cfg.allowed_hosts, "markr.example.org", 17));
    assert_false(markr_host_allowed(&cfg.allowed_hosts, "localhost", 9));
    setenv("MARKR_LISTEN", "0.0.0.0:8085", 1); /* a list applies wherever markr listens */
    assert_int_equal(markr_config_load(&cfg, NULL, err, sizeof(err)), 0);
    assert_false(cfg.allowed_hosts.any);
    assert_false(markr_host_allowed(&cfg.allowed_hosts, "other.example", 13));
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
        cmocka_unit_test_setup(feed_url, clear_settings),
        cmocka_unit_test_setup(feed_idle_timeout, clear_settings),
        cmocka_unit_test_setup(access_tokens, clear_settings),
        cmocka_unit_test_setup(import_allow_list, clear_settings),
        cmocka_unit_test_setup(dotenv_fills_in_what_the_environment_lacks, clear_settings),
        cmocka_unit_test_setup(bad_values_are_refused_by_name, clear_settings),
        cmocka_unit_test_setup(operations_settings, clear_settings),
        cmocka_unit_test_setup(malformed_dotenv_lines_are_refused, clear_settings),
        cmocka_unit_test_setup(allowed_hosts_follow_the_listening_address, clear_settings),
        cmocka_unit_test_setup(cors_settings, clear_settings),
        cmocka_unit_test(unknown_settings_have_a_closest_known_one),
        cmocka_unit_test(the_template_lists_every_setting),
        cmocka_unit_test(every_setting_read_in_the_source_is_listed),
    };

    return cmocka_run_group_tests_name("cli_config", tests, NULL, NULL);
}
