/*
 * Settings, from the environment and from a `.env` file in the working directory (the
 * environment wins). Every setting is checked at start-up; a bad one stops Markr with a
 * one-line message naming it. The full list, with defaults, is in .env_template.
 */
#ifndef MARKR_INTERFACES_CLI_CONFIG_H
#define MARKR_INTERFACES_CLI_CONFIG_H

#include <stddef.h>

#include "interfaces/http/auth.h"
#include "interfaces/http/cidr.h"
#include "interfaces/http/cors.h"

#include "build_config.h" /* MARKR_DEFAULT_MIGRATIONS_DIR, MARKR_VERSION: set by meson */
#include "interfaces/http/host.h"

#define MARKR_DEFAULT_LISTEN "0.0.0.0:8085"
#define MARKR_DEFAULT_MAX_BODY_BYTES (64u * 1024 * 1024)
/* The body is held in memory whole (the vault stores it as 1 MiB chunks, ADR 0018). */
#define MARKR_MAX_BODY_BYTES_LIMIT (512ull * 1024 * 1024)
#define MARKR_DEFAULT_WORKERS 8
#define MARKR_DEFAULT_QUEUE_MAX 1024
/* Asynchronous imports (ADR 0011): by default the one body limit, MARKR_MAX_BODY_BYTES,
 * which they may only lower (ADR 0016). */
#define MARKR_MAX_ASYNC_BODY_CAP MARKR_MAX_BODY_BYTES_LIMIT
/* Bodies held at once by the requests in progress. */
#define MARKR_DEFAULT_MAX_BUFFERED_BYTES (1024ull * 1024 * 1024)
#define MARKR_MAX_BUFFERED_BYTES_CAP (1ull << 40)
#define MARKR_DEFAULT_QUEUE_RUNNERS 1
/* Limits, logs and shutdown (ADR 0016) */
#define MARKR_DEFAULT_REQUEST_TIMEOUT_MS 60000
#define MARKR_DEFAULT_MAX_CONNECTIONS 16384 /* room for 10,000 idle streams and more */
#define MARKR_DEFAULT_MAX_HEADER_BYTES 65536
#define MARKR_MAX_HEADER_BYTES_CAP 409600 /* h2o 2.2.5 reads at most about 400 KiB of headers */
#define MARKR_DEFAULT_SHUTDOWN_TIMEOUT 30
#define MARKR_DEFAULT_SLOW_QUERY_MS 400
/* Streaming answers (raw downloads, live streams) */
#define MARKR_DEFAULT_WRITE_TIMEOUT_MS 30000
#define MARKR_DEFAULT_MAX_DOWNLOADS 16
/* Read replicas (ADR 0030) */
#define MARKR_DEFAULT_REPLICA_MAX_LAG_MS 500

struct markr_config {
    const char *database_url; /* NULL when unset; borrowed from the environment */
    char listen_host[256];
    char listen_port[8];
    size_t max_body_bytes;
    unsigned workers;
    size_t queue_max;
    const char *migrations_dir; /* borrowed from the environment or a default */
    /* MARKR_FEED_URL: the live score feed `serve` subscribes to (http or https, checked);
     * NULL when unset. Borrowed from the environment; may hold credentials: never shown. */
    const char *feed_url;
    /* MARKR_FEED_IDLE_TIMEOUT_S: a feed stream silent this long is dropped (and reconnected) */
    unsigned feed_idle_timeout_s;
    /* The import vault */
    size_t max_async_body_bytes; /* largest body of an asynchronous import, <= max_body_bytes */
    size_t max_buffered_bytes;   /* MARKR_MAX_BUFFERED_BYTES, >= max_body_bytes */
    unsigned queue_runners;      /* threads processing queued imports; 0: none here */
    const char *admin_token;     /* MARKR_ADMIN_TOKEN; NULL: admin endpoints answer 404 */
    /* Access control (ADR 0021); empty lists when unset. Tokens point into the environment. */
    struct markr_token_list reader_tokens;   /* MARKR_READER_TOKENS */
    struct markr_token_list operator_tokens; /* MARKR_OPERATOR_TOKENS */
    struct markr_cidr_list import_allow;     /* MARKR_IMPORT_ALLOW; count 0: any peer imports */
    unsigned long long request_timeout_ms; /* MARKR_REQUEST_TIMEOUT_MS */
    size_t max_connections;                /* MARKR_MAX_CONNECTIONS */
    size_t max_header_bytes;               /* MARKR_MAX_HEADER_BYTES */
    unsigned shutdown_timeout_s;           /* MARKR_SHUTDOWN_TIMEOUT, seconds */
    unsigned long long slow_query_ms;      /* MARKR_SLOW_QUERY_MS */
    int log_level;                         /* MARKR_LOG_LEVEL, an enum markr_log_level */
    unsigned long long write_timeout_ms;   /* MARKR_WRITE_TIMEOUT_MS */
    size_t max_downloads;                  /* MARKR_MAX_DOWNLOADS */
    /* Hot standbys for reads: NULL when unset; borrowed from the environment. Split and
     * checked when serving (pg_replica.h). */
    const char *read_database_url;         /* MARKR_READ_DATABASE_URL */
    unsigned long long replica_max_lag_ms; /* MARKR_REPLICA_MAX_LAG_MS */
    /* MARKR_ALLOWED_HOSTS, or when unset the rule for the listening address (host.h). */
    struct markr_allowed_hosts allowed_hosts;
    /* MARKR_CORS_ORIGINS and MARKR_CORS_IMPORT; no origin when unset. */
    struct markr_cors cors;
};

/* Loads dotenv_path (when it exists; NULL skips it) into the environment without replacing
 * what is already set, then reads and checks every setting. Returns 0, or -1 with a
 * one-line message naming the setting in errbuf. */
/* The names of every setting markr reads, NULL-terminated. */
extern const char *const markr_settings[];

/* For a MARKR_* name markr does not read (nor this project's scripts and tests), the known
 * setting closest to it (a misspelling's likely meaning); NULL for a known name or another
 * prefix. markr_config_load warns about each such name of the environment and of .env. */
const char *markr_config_unknown(const char *name);

int markr_config_load(struct markr_config *cfg, const char *dotenv_path, char *errbuf, size_t errlen);

#endif
