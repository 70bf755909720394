/*
 * Commands of the markr executable. Each command is a short function that composes the
 * adapters it needs and reports in one line per event, so operators can script it.
 */
#include "cli.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "application/import_document.h"
#include "cmd_reprocess.h"
#include "config.h"
#include "formats.h"
#include "help.h"
#include "interfaces/observe/log.h"
#include "interfaces/http/server.h"
#include "interfaces/pg/pg_migrate.h"
#include "interfaces/pg/pg_store.h"
#include "interfaces/pg/pg_vault.h"
#include "interfaces/pg/pg_views.h"
#include "interfaces/pg/pg_feed.h"
#include "interfaces/pg/pg_listen.h"
#include "interfaces/pg/pg_replica.h"
#include "interfaces/queue/queue_runner.h"
#include "interfaces/scores/score_feed.h"
#include "interfaces/xml/xml_parser.h"
#include "service_manager.h"

static int need_database(const struct markr_config *cfg, FILE *err)
{
    if (cfg->database_url != NULL)
        return 0;
    fprintf(err, "markr: DATABASE_URL is not set (a libpq conninfo string or URI)\n");
    return -1;
}

static struct markr_pg *connect_or_report(const struct markr_config *cfg, FILE *err)
{
    struct markr_error e;
    struct markr_pg *pg = markr_pg_connect(cfg->database_url, &e);

    if (pg == NULL)
        fprintf(err, "markr: %s\n", e.message);
    return pg;
}

/* --- migrate --------------------------------------------------------------------------- */

static int cmd_migrate(const struct markr_config *cfg, int argc, char **argv, FILE *out, FILE *err)
{
    int status_only = argc == 1 && strcmp(argv[0], "--status") == 0;
    struct markr_error e;
    struct markr_pg *pg;
    int rc;

    if (argc > 1 || (argc == 1 && !status_only)) {
        const char *bad = argc > 1 && strcmp(argv[0], "--status") == 0 ? argv[1] : argv[0];
        char problem[160];

        snprintf(problem, sizeof(problem), "unknown %s '%.64s'", bad[0] == '-' ? "option" : "argument", bad);
        return markr_cli_usage_error("migrate", err, problem);
    }
    if (need_database(cfg, err) != 0)
        return 2;
    if ((pg = connect_or_report(cfg, err)) == NULL)
        return 1;
    if (status_only) {
        rc = markr_pg_migration_status(pg, cfg->migrations_dir, out, &e);
        if (rc < 0)
            fprintf(err, "markr: %s\n", e.message);
        rc = rc < 0 ? 1 : rc;
    } else {
        rc = markr_pg_migrate(pg, cfg->migrations_dir, out, &e);
        if (rc != 0)
            fprintf(err, "markr: %s\n", e.message);
        rc = rc != 0 ? 1 : 0;
    }
    markr_pg_close(pg);
    return rc;
}

/* --- services for the use cases ---------------------------------------------------------- */

struct pg_services {
    struct markr_services services;
    struct markr_pg *pg;
    struct markr_pg_rebuild rebuild; /* the state of the worker's rebuilds */
};

struct factory_ctx {
    const struct markr_config *cfg;
    int schema_version;
    struct markr_pg_replicas *replicas; /* the read pool's standbys; NULL: none (ADR 0030) */
};

static struct markr_services *open_services(void *ctx, struct markr_error *err)
{
    const struct factory_ctx *f = ctx;
    struct pg_services *s = calloc(1, sizeof(*s));

    if (s == NULL) {
        markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
        return NULL;
    }
    if ((s->pg = markr_pg_connect(f->cfg->database_url, err)) == NULL) {
        free(s);
        return NULL;
    }
    if (f->replicas != NULL && markr_pg_replicas_attach(s->pg, f->replicas, err) != 0) {
        markr_pg_close(s->pg);
        free(s);
        return NULL;
    }
    s->services.import.formats = markr_import_formats();
    s->services.import.store = markr_pg_import_store(s->pg);
    s->services.results = markr_pg_results_reader(s->pg);
    s->services.readiness = markr_pg_readiness(s->pg, f->schema_version);
    s->services.vault = markr_pg_vault_reader(s->pg);
    s->services.reprocess.formats = s->services.import.formats;
    s->services.reprocess.rebuild = markr_pg_vault_rebuild(&s->rebuild, s->pg);
    s->services.queue.queue = markr_pg_import_queue(s->pg);
    s->services.queue.reprocess = s->services.reprocess;
    s->services.views = markr_pg_views_reader(s->pg);
    return &s->services;
}

static void abandon_services(void *ctx, struct markr_services *services)
{
    markr_pg_abandon(((struct pg_services *)services)->pg);
}

static void close_services(void *ctx, struct markr_services *services)
{
    struct pg_services *s = (struct pg_services *)services;

    markr_pg_close(s->pg);
    free(s);
}

/* --- serve ------------------------------------------------------------------------------ */

/* One warning at start when personal data is open to anyone who reaches the port: names and
 * marks without reader tokens, stored documents while no token at all is set (reader tokens
 * close the vault too, ADR 0021). */
static void warn_open_access(const struct markr_config *cfg)
{
    const char *open = cfg->reader_tokens.count == 0 && cfg->operator_tokens.count == 0 ? "names,marks,documents"
                       : cfg->reader_tokens.count == 0                                ? "names,marks"
                                                                                      : NULL;

    if (open != NULL)
        markr_log(MARKR_LOG_WARN,
                  "personal data is readable without a token; set MARKR_READER_TOKENS and MARKR_OPERATOR_TOKENS",
                  "open", open, NULL);
}

/* Whether the database's schema is the one this build expects, as serve, import and
 * reprocess need it; says what to do when not. */
static int schema_current(struct markr_pg *pg, const struct markr_config *cfg, FILE *err)
{
    struct markr_error e;

    if (markr_pg_schema_check(pg, cfg->migrations_dir, &e) == 0)
        return 1;
    fprintf(err, "markr: %s; run `markr migrate` first\n", e.message);
    return 0;
}

/* `markr serve` says everything in logfmt lines on stderr, its refusals to start too
 * (its usage errors excepted: those are the command line's). Returns status. */
static int serve_refused(int status, const char *message, const char *hint)
{
    markr_log(MARKR_LOG_ERROR, message, hint != NULL ? "hint" : NULL, hint, NULL);
    return status;
}

static int cmd_serve(const struct markr_config *cfg, int argc, char **argv, FILE *err)
{
    struct factory_ctx fctx = {.cfg = cfg};
    struct markr_service_factory factory = {
        .ctx = &fctx, .open = open_services, .close = close_services, .abandon = abandon_services};
    struct markr_http_settings settings = {
        .host = cfg->listen_host,
        .port = cfg->listen_port,
        .max_body_bytes = cfg->max_body_bytes,
        .workers = cfg->workers,
        .queue_max = cfg->queue_max,
        .formats = markr_import_formats(),
        .max_async_body_bytes = cfg->max_async_body_bytes,
        .access = {.readers = cfg->reader_tokens, .operators = cfg->operator_tokens, .admin_token = cfg->admin_token},
        .import_allow = cfg->import_allow,
        .max_buffered_bytes = cfg->max_buffered_bytes,
        .request_timeout_ms = cfg->request_timeout_ms,
        .max_connections = cfg->max_connections,
        .max_header_bytes = cfg->max_header_bytes,
        .shutdown_timeout_s = cfg->shutdown_timeout_s,
        .write_timeout_ms = cfg->write_timeout_ms,
        .max_downloads = cfg->max_downloads,
        .allowed_hosts = &cfg->allowed_hosts,
        .cors = cfg->cors,
        .lifecycle = &markr_service_manager, /* the schema was checked before serving */
    };
    struct markr_error e;
    struct markr_pg *pg;
    struct markr_queue_runner *runner;
    struct markr_feed_lock *feed_lock = NULL;
    struct markr_score_feed *feed = NULL;
    struct markr_feed_monitor feed_monitor;
    int rc;

    if (argc != 0) {
        char problem[160];

        snprintf(problem, sizeof(problem), "unknown %s '%.64s'", argv[0][0] == '-' ? "option" : "argument", argv[0]);
        return markr_cli_usage_error("serve", err, problem);
    }
    if (cfg->database_url == NULL)
        return serve_refused(2, "DATABASE_URL is not set (a libpq conninfo string or URI)", NULL);
    if ((fctx.schema_version = markr_migrations_latest(cfg->migrations_dir, &e)) < 0)
        return serve_refused(1, e.message, NULL);
    if ((pg = markr_pg_connect(cfg->database_url, &e)) == NULL)
        return serve_refused(1, e.message, NULL);
    if (markr_pg_schema_check(pg, cfg->migrations_dir, &e) != 0) {
        markr_pg_close(pg);
        return serve_refused(1, e.message, "run `markr migrate` first");
    }
    markr_pg_close(pg);
    if (cfg->read_database_url != NULL &&
        (fctx.replicas = markr_pg_replicas_create(cfg->read_database_url, (long)cfg->replica_max_lag_ms, &e)) == NULL)
        return serve_refused(2, e.message, NULL);

    warn_open_access(cfg);
    markr_xml_global_init();
    /* Queued imports are processed beside the HTTP server (ADR 0011). */
    if ((runner = markr_queue_runner_start(&factory, cfg->queue_runners, &e)) == NULL) {
        markr_pg_replicas_destroy(fctx.replicas);
        return serve_refused(1, e.message, NULL);
    }
    /* The live score feed, on a thread of its own with two connections: its lock's and its
     * store's (ADR 0027). */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (cfg->feed_url != NULL) {
        if ((feed_lock = markr_pg_feed_lock_create(cfg->database_url)) == NULL ||
            (feed = markr_score_feed_start(cfg->feed_url, cfg->feed_idle_timeout_s, &factory, feed_lock, &e)) == NULL) {
            if (feed_lock == NULL)
                markr_error_set(&e, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
            markr_pg_feed_lock_destroy(feed_lock);
            markr_queue_runner_stop(runner);
            curl_global_cleanup();
            markr_pg_replicas_destroy(fctx.replicas);
            return serve_refused(1, e.message, NULL);
        }
        feed_monitor = markr_score_feed_monitor(feed);
        settings.feed = &feed_monitor;
    }
    {
        /* Committed changes, through LISTEN on a connection of their own (ADR 0012) */
        struct markr_pg_listener *listener = markr_pg_listener_create(cfg->database_url);
        struct markr_change_feed changes;

        if (listener == NULL) {
            markr_score_feed_stop(feed);
            markr_pg_feed_lock_destroy(feed_lock);
            curl_global_cleanup();
            markr_queue_runner_stop(runner);
            markr_pg_replicas_destroy(fctx.replicas);
            return serve_refused(1, "out of memory", NULL);
        }
        markr_pg_listener_set_replicas(listener, fctx.replicas);
        changes = markr_pg_change_feed(listener);
        factory.changes = &changes;
        rc = markr_http_serve(&settings, &factory, &e);
        markr_pg_listener_destroy(listener);
    }
    markr_score_feed_stop(feed); /* stores the batch it holds, then gives the feed up */
    markr_pg_feed_lock_destroy(feed_lock);
    curl_global_cleanup();
    markr_queue_runner_stop(runner);
    markr_pg_replicas_destroy(fctx.replicas); /* after every worker closed its connections */
    if (rc < 0)
        return serve_refused(1, e.message, NULL);
    return rc; /* 1: requests were abandoned at the shutdown timeout */
}

/* --- import ------------------------------------------------------------------------------ */

/* Reads the regular file at path, at most max bytes, into a malloc'd buffer. Returns it, or
 * NULL with a sentence saying what is wrong in why and its error code in *code. */
static char *read_file(const char *path, size_t max, size_t *len, char *why, size_t cap, const char **code)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    char *buf = NULL;
    size_t got = 0;

    *code = "unreadable";
    if (fd < 0) {
        snprintf(why, cap, "cannot read it: %s", strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) != 0) {
        snprintf(why, cap, "cannot read it: %s", strerror(errno));
    } else if (S_ISDIR(st.st_mode)) {
        snprintf(why, cap, "it is a directory: name the files in it (markr import DIR/*.xml)");
    } else if (!S_ISREG(st.st_mode)) {
        snprintf(why, cap, "it is not a regular file");
    } else if ((uintmax_t)st.st_size > max) {
        *code = "payload_too_large";
        snprintf(why, cap, "it is %jd bytes, over the limit of %zu bytes (MARKR_MAX_BODY_BYTES, as for POST /import)",
                 (intmax_t)st.st_size, max);
    } else if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
        snprintf(why, cap, "out of memory for its %jd bytes", (intmax_t)st.st_size);
    } else {
        ssize_t n = 0;

        /* It may grow while read: never past its size at fstat, nor past the limit. */
        while (got < (size_t)st.st_size && (n = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
            got += (size_t)n;
        if (got != (size_t)st.st_size) {
            snprintf(why, cap, "cannot read it: %s", n < 0 ? strerror(errno) : "it shrank while read");
            free(buf);
            buf = NULL;
        }
    }
    close(fd);
    *len = got;
    return buf;
}

static void print_outcome(FILE *out, FILE *err, const char *path, const struct markr_import_outcome *o)
{
    if (o->error.code == MARKR_OK) {
        fprintf(out, "%s: accepted as import %lld: %zu results, %zu students, tests:", path,
                (long long)o->import_id, o->results, o->students);
        for (size_t i = 0; i < o->test_count; ++i)
            fprintf(out, " %s", o->tests[i]);
        fputc('\n', out);
    } else if (o->import_id > 0) {
        fprintf(err, "%s: refused (%s), kept as import %lld: %s\n", path, o->error.reason, (long long)o->import_id,
                o->error.message);
    } else {
        fprintf(err, "%s: not imported (%s): %s\n", path, o->error.reason, o->error.message);
    }
}

static int cmd_import(const struct markr_config *cfg, int argc, char **argv, FILE *out, FILE *err)
{
    struct factory_ctx fctx = {.cfg = cfg};
    struct markr_services *services;
    struct markr_error e;
    int failures = 0, first = 0;

    /* import takes no option (--help aside, handled before): anything that looks like one,
     * before or after the files, is refused rather than opened. "--" ends the options, so
     * that a file may be called "-x"; it must come first. */
    if (first < argc && strcmp(argv[first], "--") == 0)
        ++first;
    for (int i = first; i < argc; ++i) {
        if (argv[i][0] == '-' && first == 0) {
            char problem[256];

            snprintf(problem, sizeof(problem), "unknown option '%.64s' (a file of that name: markr import -- %.64s)",
                     argv[i], argv[i]);
            return markr_cli_usage_error("import", err, problem);
        }
    }
    if (first == argc)
        return markr_cli_usage_error("import", err, "no FILE to import");
    if (need_database(cfg, err) != 0)
        return 2;
    markr_xml_global_init();
    if ((services = open_services(&fctx, &e)) == NULL) {
        fprintf(err, "markr: %s\n", e.message);
        return 1;
    }
    /* As serve: a schema that is behind would fail later, on a missing relation. */
    if (!schema_current(((struct pg_services *)services)->pg, cfg, err)) {
        close_services(&fctx, services);
        return 1;
    }
    for (int i = first; i < argc; ++i) {
        struct markr_import_outcome outcome;
        size_t len;
        char why[256];
        const char *code;
        char *body = read_file(argv[i], cfg->max_body_bytes, &len, why, sizeof(why), &code);

        if (body == NULL) {
            fprintf(err, "%s: not imported (%s): %s\n", argv[i], code, why);
            ++failures;
            continue;
        }
        if (markr_import_document(&services->import, "text/xml+markr", NULL, body, len, &outcome) != 0)
            ++failures;
        print_outcome(out, err, argv[i], &outcome);
        markr_import_outcome_free(&outcome);
        free(body);
    }
    close_services(&fctx, services);
    return failures != 0 ? 1 : 0;
}

int markr_cli_main(int argc, char **argv, FILE *out, FILE *err)
{
    struct markr_config cfg;
    char message[512];
    const char *command = argc > 1 ? argv[1] : NULL;

    if (command != NULL && strcmp(command, "help") == 0 && argc > 2) { /* markr help COMMAND */
        if (!markr_cli_is_command(argv[2])) {
            fprintf(err, "markr: unknown command '%.64s' (see markr --help)\n", argv[2]);
            return 2;
        }
        return markr_cli_help(argv[2], out);
    }
    if (command == NULL || strcmp(command, "--help") == 0 || strcmp(command, "-h") == 0 ||
        strcmp(command, "help") == 0) {
        markr_cli_help(NULL, command == NULL ? err : out);
        return command == NULL ? 2 : 0;
    }
    if (strcmp(command, "--version") == 0) {
        fprintf(out, "markr %s\n", MARKR_VERSION);
        return 0;
    }
    if (!markr_cli_is_command(command)) {
        fprintf(err, "markr: unknown command '%.64s' (see markr --help)\n", command);
        return 2;
    }
    /* Before the settings: help needs neither a database nor a valid .env. */
    if (markr_cli_wants_help(argc - 2, argv + 2))
        return markr_cli_help(command, out);
    if (markr_config_load(&cfg, ".env", message, sizeof(message)) != 0) {
        if (strcmp(command, "serve") == 0) {
            char line[600];

            snprintf(line, sizeof(line), "bad setting: %s", message);
            return serve_refused(2, line, NULL);
        }
        fprintf(err, "markr: bad setting: %s\n", message);
        return 2;
    }
    markr_log_set_level((enum markr_log_level)cfg.log_level);
    markr_pg_set_slow_query_ms((long)cfg.slow_query_ms);
    if (strcmp(command, "serve") == 0)
        return cmd_serve(&cfg, argc - 2, argv + 2, err);
    if (strcmp(command, "migrate") == 0)
        return cmd_migrate(&cfg, argc - 2, argv + 2, out, err);
    if (strcmp(command, "reprocess") == 0)
        return markr_cli_reprocess(cfg.database_url, cfg.migrations_dir, argc - 2, argv + 2, out, err);
    return cmd_import(&cfg, argc - 2, argv + 2, out, err);
}
