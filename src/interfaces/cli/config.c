/*
 * Reading settings. The `.env` format is the common subset every dotenv tool agrees on:
 * KEY=VALUE lines, `#` comments, an optional `export ` prefix, and values optionally in
 * single or double quotes (no escapes, no interpolation). See ADR 0007.
 */
#include "config.h"

#include "interfaces/observe/log.h"
#include "interfaces/scores/score_feed.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOTENV_LINE_MAX 4096

/* Every setting markr reads: the one list of their names (markr(1), README and .env_template
 * describe each). Add a setting here when adding one, or it is warned about as unknown. */
const char *const markr_settings[] = {
    "DATABASE_URL",
    "MARKR_LISTEN",
    "MARKR_MAX_BODY_BYTES",
    "MARKR_WORKERS",
    "MARKR_QUEUE_MAX",
    "MARKR_MIGRATIONS_DIR",
    "MARKR_MAX_ASYNC_BODY_BYTES",
    "MARKR_MAX_BUFFERED_BYTES",
    "MARKR_QUEUE_RUNNERS",
    "MARKR_ADMIN_TOKEN",
    "MARKR_READER_TOKENS",
    "MARKR_OPERATOR_TOKENS",
    "MARKR_IMPORT_ALLOW",
    "MARKR_REQUEST_TIMEOUT_MS",
    "MARKR_MAX_CONNECTIONS",
    "MARKR_MAX_HEADER_BYTES",
    "MARKR_ALLOWED_HOSTS",
    "MARKR_SHUTDOWN_TIMEOUT",
    "MARKR_SLOW_QUERY_MS",
    "MARKR_WRITE_TIMEOUT_MS",
    "MARKR_MAX_DOWNLOADS",
    "MARKR_LOG_LEVEL",
    "MARKR_READ_DATABASE_URL",
    "MARKR_REPLICA_MAX_LAG_MS",
    "MARKR_FEED_IDLE_TIMEOUT_S",
    "MARKR_CORS_ORIGINS",
    "MARKR_CORS_IMPORT",
    "MARKR_FEED_URL",
    NULL,
};

/* MARKR_* names of this project's scripts, tests and benchmarks, which markr itself ignores:
 * not warned about. */
static const char *const tool_prefixes[] = {"MARKR_PG_", "MARKR_BENCH_", "MARKR_LOAD_", "MARKR_FUZZ_", "MARKR_TEST_",
                                            NULL};
static const char *const tool_names[] = {"MARKR_BINARY", "MARKR_FIXTURE", "MARKR_SOURCE_ROOT",
                                         "MARKR_BROWSER_SCRIPT", "MARKR_SCREENSHOT_DIR", NULL};

/* Edit distance (insertions, deletions, substitutions, swaps of neighbours) of two short
 * names, capped: setting names are short, so a row of 64 is plenty. */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), prev2[65], prev[65], cur[65];

    if (la > 64 || lb > 64)
        return 64;
    for (size_t j = 0; j <= lb; ++j)
        prev[j] = j;
    for (size_t i = 1; i <= la; ++i) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; ++j) {
            size_t best = prev[j - 1] + (a[i - 1] != b[j - 1]);

            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;
            cur[j] = best;
        }
        memcpy(prev2, prev, sizeof(prev));
        memcpy(prev, cur, sizeof(cur));
    }
    return prev[lb];
}

const char *markr_config_unknown(const char *name)
{
    const char *closest = NULL;
    size_t best = SIZE_MAX;

    if (strncmp(name, "MARKR_", 6) != 0)
        return NULL;
    for (const char *const *k = tool_prefixes; *k != NULL; ++k)
        if (strncmp(name, *k, strlen(*k)) == 0)
            return NULL;
    for (const char *const *k = tool_names; *k != NULL; ++k)
        if (strcmp(name, *k) == 0)
            return NULL;
    for (const char *const *k = markr_settings; *k != NULL; ++k) {
        size_t d;

        if (strcmp(name, *k) == 0)
            return NULL;
        if ((d = distance(name, *k)) < best) {
            best = d;
            closest = *k;
        }
    }
    return closest;
}

/* One warning per unknown MARKR_* name: a misspelled setting would otherwise be ignored in
 * silence, and the default used instead. */
static void warn_unknown(const char *name, const char *where)
{
    const char *closest = markr_config_unknown(name);
    char quoted[72];

    if (closest == NULL)
        return;
    snprintf(quoted, sizeof(quoted), "%.64s", name);
    markr_log(MARKR_LOG_WARN, "unknown setting ignored", "name", quoted, "source", where, "did_you_mean", closest,
              NULL);
}

static void warn_unknown_in_environment(void)
{
    extern char **environ;

    for (char **e = environ; e != NULL && *e != NULL; ++e) {
        const char *eq = strchr(*e, '=');
        char name[128];

        if (eq == NULL || (size_t)(eq - *e) >= sizeof(name))
            continue;
        memcpy(name, *e, (size_t)(eq - *e));
        name[eq - *e] = '\0';
        warn_unknown(name, "environment");
    }
}

static char *trim(char *s)
{
    char *end;

    while (isspace((unsigned char)*s))
        ++s;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

static int valid_key(const char *key)
{
    if (!isalpha((unsigned char)*key) && *key != '_')
        return 0;
    for (; *key != '\0'; ++key)
        if (!isalnum((unsigned char)*key) && *key != '_')
            return 0;
    return 1;
}

static int load_dotenv(const char *path, char *errbuf, size_t errlen)
{
    FILE *f = fopen(path, "r");
    char line[DOTENV_LINE_MAX];
    unsigned lineno = 0;

    if (f == NULL)
        return errno == ENOENT ? 0 : (snprintf(errbuf, errlen, "%s: %s", path, strerror(errno)), -1);
    while (fgets(line, sizeof(line), f) != NULL) {
        char *key, *value, *eq;
        size_t vlen;

        ++lineno;
        if (strchr(line, '\n') == NULL && !feof(f)) {
            snprintf(errbuf, errlen, "%s line %u: longer than %d bytes", path, lineno, DOTENV_LINE_MAX - 2);
            fclose(f);
            return -1;
        }
        key = trim(line);
        if (*key == '\0' || *key == '#')
            continue;
        if (strncmp(key, "export ", 7) == 0)
            key = trim(key + 7);
        if ((eq = strchr(key, '=')) == NULL) {
            snprintf(errbuf, errlen, "%s line %u: expected KEY=VALUE", path, lineno);
            fclose(f);
            return -1;
        }
        *eq = '\0';
        key = trim(key);
        value = trim(eq + 1);
        vlen = strlen(value);
        if (vlen >= 2 && (value[0] == '"' || value[0] == '\'') && value[vlen - 1] == value[0]) {
            value[vlen - 1] = '\0';
            ++value;
        }
        if (!valid_key(key)) {
            snprintf(errbuf, errlen, "%s line %u: '%s' is not a valid variable name", path, lineno, key);
            fclose(f);
            return -1;
        }
        {
            char where[96];

            snprintf(where, sizeof(where), "%.64s line %u", path, lineno);
            warn_unknown(key, where);
        }
        setenv(key, value, 0); /* the real environment wins */
    }
    fclose(f);
    return 0;
}

/* An unsigned decimal in [min, max]; `fallback` when unset or empty. */
static int read_number(const char *name, unsigned long long fallback, unsigned long long min,
                       unsigned long long max, unsigned long long *out, char *errbuf, size_t errlen)
{
    const char *text = getenv(name);
    char *end;

    if (text == NULL || *text == '\0') {
        *out = fallback;
        return 0;
    }
    errno = 0;
    *out = strtoull(text, &end, 10);
    if (!isdigit((unsigned char)*text) || *end != '\0' || errno != 0 || *out < min || *out > max) {
        snprintf(errbuf, errlen, "%s: '%s' is not a whole number from %llu to %llu", name, text, min, max);
        return -1;
    }
    return 0;
}

/* host:port, with the host in brackets for IPv6 ("[::1]:8085"). */
static int read_listen(struct markr_config *cfg, char *errbuf, size_t errlen)
{
    const char *text = getenv("MARKR_LISTEN");
    const char *colon, *host = NULL, *port;
    size_t host_len = 0;
    char *end;
    unsigned long n;

    if (text == NULL || *text == '\0')
        text = MARKR_DEFAULT_LISTEN;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');

        if (close != NULL && close[1] == ':') {
            host = text + 1;
            host_len = (size_t)(close - host);
            colon = close + 1;
        } else {
            colon = NULL;
        }
    } else {
        colon = strrchr(text, ':');
        host = text;
        host_len = colon != NULL ? (size_t)(colon - text) : 0;
    }
    port = colon != NULL ? colon + 1 : "";
    errno = 0;
    n = strtoul(port, &end, 10);
    if (colon != NULL && host_len > 0 && host_len < sizeof(cfg->listen_host) && isdigit((unsigned char)*port) &&
        *end == '\0' && (errno != 0 || n > 65535)) {
        snprintf(errbuf, errlen, "MARKR_LISTEN: port %.24s is out of range (0 to 65535; 0 picks a free one)", port);
        return -1;
    }
    if (colon == NULL || host_len == 0 || host_len >= sizeof(cfg->listen_host) || !isdigit((unsigned char)*port) ||
        *end != '\0') {
        snprintf(errbuf, errlen, "MARKR_LISTEN: '%s' is not HOST:PORT (for example 0.0.0.0:8085 or [::1]:8085)", text);
        return -1;
    }
    memcpy(cfg->listen_host, host, host_len);
    cfg->listen_host[host_len] = '\0';
    snprintf(cfg->listen_port, sizeof(cfg->listen_port), "%lu", n);
    return 0;
}

/* Who may read and change what (ADR 0021): the tokens and the import allow-list. A bad
 * token is named by its setting and place, never shown. */
static int read_token_list(const char *name, struct markr_token_list *list, char *errbuf, size_t errlen)
{
    const char *text = getenv(name), *problem;

    if (text == NULL || *text == '\0')
        return 0;
    if (markr_token_list_parse(text, list, &problem) != 0) {
        snprintf(errbuf, errlen, "%s: %s (the value is not shown)", name, problem);
        return -1;
    }
    return 0;
}

static int read_access(struct markr_config *cfg, char *errbuf, size_t errlen)
{
    const char *allow = getenv("MARKR_IMPORT_ALLOW"), *problem;

    cfg->admin_token = getenv("MARKR_ADMIN_TOKEN");
    if (cfg->admin_token != NULL && *cfg->admin_token == '\0')
        cfg->admin_token = NULL;
    problem = cfg->admin_token != NULL ? markr_token_problem(cfg->admin_token, strlen(cfg->admin_token)) : NULL;
    if (problem != NULL) {
        snprintf(errbuf, errlen, "MARKR_ADMIN_TOKEN: %s (the value is not shown)", problem);
        return -1;
    }
    if (read_token_list("MARKR_READER_TOKENS", &cfg->reader_tokens, errbuf, errlen) != 0 ||
        read_token_list("MARKR_OPERATOR_TOKENS", &cfg->operator_tokens, errbuf, errlen) != 0)
        return -1;
    if (allow != NULL && *allow != '\0') {
        char bad[72];

        if (markr_cidr_list_parse(allow, &cfg->import_allow, bad, sizeof(bad)) != 0) {
            snprintf(errbuf, errlen,
                     "MARKR_IMPORT_ALLOW: '%s' is not an address range (at most %d, comma-separated, "
                     "for example 10.0.0.0/8,::1/128)", bad, MARKR_CIDR_MAX);
            return -1;
        }
    }
    return 0;
}

/* Limits, logs and shutdown. */
static int read_operations(struct markr_config *cfg, char *errbuf, size_t errlen)
{
    const char *level = getenv("MARKR_LOG_LEVEL");
    enum markr_log_level parsed = MARKR_LOG_INFO;
    unsigned long long n;

    if (read_number("MARKR_REQUEST_TIMEOUT_MS", MARKR_DEFAULT_REQUEST_TIMEOUT_MS, 100, 3600000,
                    &cfg->request_timeout_ms, errbuf, errlen) != 0)
        return -1;
    if (read_number("MARKR_MAX_CONNECTIONS", MARKR_DEFAULT_MAX_CONNECTIONS, 1, 1000000, &n, errbuf, errlen) != 0)
        return -1;
    cfg->max_connections = (size_t)n;
    if (read_number("MARKR_MAX_HEADER_BYTES", MARKR_DEFAULT_MAX_HEADER_BYTES, 1024, MARKR_MAX_HEADER_BYTES_CAP, &n,
                    errbuf, errlen) != 0)
        return -1;
    cfg->max_header_bytes = (size_t)n;
    if (read_number("MARKR_SHUTDOWN_TIMEOUT", MARKR_DEFAULT_SHUTDOWN_TIMEOUT, 0, 3600, &n, errbuf, errlen) != 0)
        return -1;
    cfg->shutdown_timeout_s = (unsigned)n;
    if (read_number("MARKR_SLOW_QUERY_MS", MARKR_DEFAULT_SLOW_QUERY_MS, 0, 3600000, &cfg->slow_query_ms, errbuf,
                    errlen) != 0)
        return -1;
    if (read_number("MARKR_WRITE_TIMEOUT_MS", MARKR_DEFAULT_WRITE_TIMEOUT_MS, 100, 3600000, &cfg->write_timeout_ms,
                    errbuf, errlen) != 0)
        return -1;
    if (read_number("MARKR_MAX_DOWNLOADS", MARKR_DEFAULT_MAX_DOWNLOADS, 1, 100000, &n, errbuf, errlen) != 0)
        return -1;
    cfg->max_downloads = (size_t)n;
    cfg->read_database_url = getenv("MARKR_READ_DATABASE_URL");
    if (cfg->read_database_url != NULL && *cfg->read_database_url == '\0')
        cfg->read_database_url = NULL;
    if (read_number("MARKR_REPLICA_MAX_LAG_MS", MARKR_DEFAULT_REPLICA_MAX_LAG_MS, 0, 60000, &cfg->replica_max_lag_ms,
                    errbuf, errlen) != 0)
        return -1;
    if (level != NULL && *level != '\0' && markr_log_parse_level(level, &parsed) != 0) {
        snprintf(errbuf, errlen, "MARKR_LOG_LEVEL: '%.32s' is not error, warn, info or debug", level);
        return -1;
    }
    cfg->log_level = (int)parsed;
    return 0;
}

/* The Host names requests may use (after read_listen: the default depends on the address). */
static int read_allowed_hosts(struct markr_config *cfg, char *errbuf, size_t errlen)
{
    const char *text = getenv("MARKR_ALLOWED_HOSTS");
    char why[160];

    if (text == NULL || *text == '\0') {
        markr_allowed_hosts_default(&cfg->allowed_hosts, cfg->listen_host);
        return 0;
    }
    if (markr_allowed_hosts_parse(text, &cfg->allowed_hosts, why, sizeof(why)) != 0) {
        snprintf(errbuf, errlen, "MARKR_ALLOWED_HOSTS: %s (a comma-separated list such as "
                 "markr.example.org,localhost:8085,[::1])", why);
        return -1;
    }
    return 0;
}

/* Which pages of other origins may read Markr's answers (cors.h, ADR 0028). */
static int read_cors(struct markr_config *cfg, char *errbuf, size_t errlen)
{
    const char *origins = getenv("MARKR_CORS_ORIGINS"), *import = getenv("MARKR_CORS_IMPORT");
    char why[160];

    if (import != NULL && *import != '\0' && strcmp(import, "true") != 0 && strcmp(import, "false") != 0) {
        snprintf(errbuf, errlen, "MARKR_CORS_IMPORT: '%.32s' is not true or false", import);
        return -1;
    }
    cfg->cors.import = import != NULL && strcmp(import, "true") == 0;
    if (origins == NULL || *origins == '\0')
        return 0;
    if (markr_cors_parse(origins, &cfg->cors, why, sizeof(why)) != 0) {
        snprintf(errbuf, errlen, "MARKR_CORS_ORIGINS: %s (* or a comma-separated list such as "
                 "https://dash.example.org,http://localhost:3000)", why);
        return -1;
    }
    return 0;
}

int markr_config_load(struct markr_config *cfg, const char *dotenv_path, char *errbuf, size_t errlen)
{
    unsigned long long n;

    memset(cfg, 0, sizeof(*cfg));
    warn_unknown_in_environment(); /* before .env adds its own: each is named where it is */
    if (dotenv_path != NULL && load_dotenv(dotenv_path, errbuf, errlen) != 0)
        return -1;
    cfg->database_url = getenv("DATABASE_URL");
    if (cfg->database_url != NULL && *cfg->database_url == '\0')
        cfg->database_url = NULL;
    if (read_listen(cfg, errbuf, errlen) != 0 || read_allowed_hosts(cfg, errbuf, errlen) != 0 ||
        read_cors(cfg, errbuf, errlen) != 0)
        return -1;
    if (read_number("MARKR_MAX_BODY_BYTES", MARKR_DEFAULT_MAX_BODY_BYTES, 1, MARKR_MAX_BODY_BYTES_LIMIT, &n, errbuf, errlen) != 0)
        return -1;
    cfg->max_body_bytes = (size_t)n;
    if (read_number("MARKR_WORKERS", MARKR_DEFAULT_WORKERS, 1, 256, &n, errbuf, errlen) != 0)
        return -1;
    cfg->workers = (unsigned)n;
    if (read_number("MARKR_QUEUE_MAX", MARKR_DEFAULT_QUEUE_MAX, 1, 1000000, &n, errbuf, errlen) != 0)
        return -1;
    cfg->queue_max = (size_t)n;
    /* The import vault */
    if (read_number("MARKR_MAX_ASYNC_BODY_BYTES", cfg->max_body_bytes, 1, MARKR_MAX_ASYNC_BODY_CAP, &n, errbuf,
                    errlen) != 0)
        return -1;
    /* Every body is read up to MARKR_MAX_BODY_BYTES before a handler can tell whether it is
     * asynchronous (ADR 0016): a higher asynchronous limit could never apply. */
    if (n > cfg->max_body_bytes) {
        snprintf(errbuf, errlen, "MARKR_MAX_ASYNC_BODY_BYTES: %llu is above MARKR_MAX_BODY_BYTES (%zu), which bounds every body",
                 n, cfg->max_body_bytes);
        return -1;
    }
    cfg->max_async_body_bytes = (size_t)n;
    if (read_number("MARKR_MAX_BUFFERED_BYTES", MARKR_DEFAULT_MAX_BUFFERED_BYTES, 1, MARKR_MAX_BUFFERED_BYTES_CAP, &n,
                    errbuf, errlen) != 0)
        return -1;
    if (n < cfg->max_body_bytes) {
        snprintf(errbuf, errlen, "MARKR_MAX_BUFFERED_BYTES: %llu is below MARKR_MAX_BODY_BYTES (%zu): the largest body would never fit",
                 n, cfg->max_body_bytes);
        return -1;
    }
    cfg->max_buffered_bytes = (size_t)n;
    if (read_number("MARKR_QUEUE_RUNNERS", MARKR_DEFAULT_QUEUE_RUNNERS, 0, 16, &n, errbuf, errlen) != 0)
        return -1;
    cfg->queue_runners = (unsigned)n;
    if (read_access(cfg, errbuf, errlen) != 0)
        return -1;
    cfg->migrations_dir = getenv("MARKR_MIGRATIONS_DIR");
    if (cfg->migrations_dir == NULL || *cfg->migrations_dir == '\0')
        cfg->migrations_dir = MARKR_DEFAULT_MIGRATIONS_DIR;
    cfg->feed_url = getenv("MARKR_FEED_URL");
    if (cfg->feed_url != NULL && *cfg->feed_url == '\0')
        cfg->feed_url = NULL;
    if (cfg->feed_url != NULL) {
        char name[MARKR_FEED_NAME_MAX + 1];

        if (markr_score_feed_name(cfg->feed_url, name, sizeof(name), errbuf, errlen) != 0)
            return -1;
    }
    if (read_number("MARKR_FEED_IDLE_TIMEOUT_S", MARKR_FEED_IDLE_TIMEOUT_DEFAULT_S, 1, 86400, &n, errbuf, errlen) != 0)
        return -1;
    cfg->feed_idle_timeout_s = (unsigned)n;
    return read_operations(cfg, errbuf, errlen);
}
