/*
 * Commands of the markr executable. Each command is a short function that composes the
 * adapters it needs and reports in one line per event, so operators can script it.
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "application/import_document.h"
#include "cmd_reprocess.h"
#include "config.h"
#include "formats.h"
#include "interfaces/observe/log.h"
#include "interfaces/http/server.h"
#include "interfaces/pg/pg_migrate.h"
#include "interfaces/pg/pg_store.h"
#include "interfaces/pg/pg_vault.h"
#include "interfaces/pg/pg_views.h"
#include "interfaces/pg/pg_listen.h"
#include "interfaces/pg/pg_replica.h"
#include "interfaces/queue/queue_runner.h"
#include "interfaces/xml/xml_parser.h"
#include "service_manager.h"

/* Biggest file `markr import` reads: the same bound as HTTP's upper limit. */
#define MARKR_IMPORT_FILE_MAX (1ul << 30)

static const char usage[] =
    "Usage: markr COMMAND [ARGS]\n"
    "\n"
    "Markr ingests multiple-choice exam results (XML) and serves aggregate statistics.\n"
    "\n"
    "Commands:\n"
    "  serve                 serve the HTTP API (MARKR_LISTEN, default 0.0.0.0:8085);\n"
    "                        refuses to start while migrations are pending\n"
    "  migrate               apply pending SQL migrations from MARKR_MIGRATIONS_DIR\n"
    "  migrate --status      list applied and pending migrations (exit 1 when pending)\n"
    "  import FILE...        import result documents, as POST /import does\n"
    "  reprocess --all [--dry-run]\n"
    "                        rebuild every mark from the import vault under today's rules\n"
    "  reprocess --import ID [--dry-run]\n"
    "                        judge one stored import again and apply its marks\n"
    "  --help                show this help\n"
    "  --version             show the version\n"
    "\n"
    "Settings come from the environment and from ./.env (the environment wins);\n"
    "every setting is in markr(1). DATABASE_URL is a libpq conninfo string or URI.\n"
    "MARKR_MIGRATIONS_DIR defaults to " MARKR_DEFAULT_MIGRATIONS_DIR ".\n";

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
        fprintf(err, "markr: usage: markr migrate [--status]\n");
        return 2;
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

static int cmd_serve(const struct markr_config *cfg, int argc, FILE *err)
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
        .lifecycle = &markr_service_manager, /* the schema was checked before serving */
    };
    struct markr_error e;
    struct markr_pg *pg;
    struct markr_queue_runner *runner;
    int rc;

    if (argc != 0) {
        fprintf(err, "markr: usage: markr serve\n");
        return 2;
    }
    if (need_database(cfg, err) != 0)
        return 2;
    if ((fctx.schema_version = markr_migrations_latest(cfg->migrations_dir, &e)) < 0) {
        fprintf(err, "markr: %s\n", e.message);
        return 1;
    }
    if ((pg = connect_or_report(cfg, err)) == NULL)
        return 1;
    if (markr_pg_schema_check(pg, cfg->migrations_dir, &e) != 0) {
        fprintf(err, "markr: %s; run `markr migrate` first\n", e.message);
        markr_pg_close(pg);
        return 1;
    }
    markr_pg_close(pg);
    if (cfg->read_database_url != NULL &&
        (fctx.replicas = markr_pg_replicas_create(cfg->read_database_url, (long)cfg->replica_max_lag_ms, &e)) == NULL) {
        fprintf(err, "markr: %s\n", e.message);
        return 2;
    }

    warn_open_access(cfg);
    markr_xml_global_init();
    /* Queued imports are processed beside the HTTP server (ADR 0011). */
    if ((runner = markr_queue_runner_start(&factory, cfg->queue_runners, &e)) == NULL) {
        fprintf(err, "markr: %s\n", e.message);
        markr_pg_replicas_destroy(fctx.replicas);
        return 1;
    }
    {
        /* Committed changes, through LISTEN on a connection of their own (ADR 0012) */
        struct markr_pg_listener *listener = markr_pg_listener_create(cfg->database_url);
        struct markr_change_feed changes;

        if (listener == NULL) {
            markr_queue_runner_stop(runner);
            markr_pg_replicas_destroy(fctx.replicas);
            fprintf(err, "markr: out of memory\n");
            return 1;
        }
        markr_pg_listener_set_replicas(listener, fctx.replicas);
        changes = markr_pg_change_feed(listener);
        factory.changes = &changes;
        rc = markr_http_serve(&settings, &factory, &e);
        markr_pg_listener_destroy(listener);
    }
    markr_queue_runner_stop(runner);
    markr_pg_replicas_destroy(fctx.replicas); /* after every worker closed its connections */
    if (rc < 0) {
        fprintf(err, "markr: %s\n", e.message);
        return 1;
    }
    return rc; /* 1: requests were abandoned at the shutdown timeout */
}

/* --- import ------------------------------------------------------------------------------ */

/* Reads a whole file into a malloc'd buffer. Returns NULL with errno set. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long size;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        errno = EIO;
        return NULL;
    }
    if ((unsigned long)size > MARKR_IMPORT_FILE_MAX) {
        fclose(f);
        errno = EFBIG;
        return NULL;
    }
    if ((buf = malloc((size_t)size + 1)) != NULL && fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
        errno = EIO;
    }
    fclose(f);
    *len = (size_t)size;
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
        fprintf(err, "%s: refused, kept as import %lld: %s\n", path, (long long)o->import_id, o->error.message);
    } else {
        fprintf(err, "%s: not imported: %s\n", path, o->error.message);
    }
}

static int cmd_import(const struct markr_config *cfg, int argc, char **argv, FILE *out, FILE *err)
{
    struct factory_ctx fctx = {.cfg = cfg};
    struct markr_services *services;
    struct markr_error e;
    int failures = 0;

    if (argc == 0) {
        fprintf(err, "markr: usage: markr import FILE...\n");
        return 2;
    }
    if (need_database(cfg, err) != 0)
        return 2;
    markr_xml_global_init();
    if ((services = open_services(&fctx, &e)) == NULL) {
        fprintf(err, "markr: %s\n", e.message);
        return 1;
    }
    for (int i = 0; i < argc; ++i) {
        struct markr_import_outcome outcome;
        size_t len;
        char *body = read_file(argv[i], &len);

        if (body == NULL) {
            fprintf(err, "%s: cannot read: %s\n", argv[i], strerror(errno));
            ++failures;
            continue;
        }
        if (markr_import_document(&services->import, "text/xml+markr", body, len, &outcome) != 0)
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

    if (command == NULL || strcmp(command, "--help") == 0 || strcmp(command, "-h") == 0 ||
        strcmp(command, "help") == 0) {
        fputs(usage, command == NULL ? err : out);
        return command == NULL ? 2 : 0;
    }
    if (strcmp(command, "--version") == 0) {
        fprintf(out, "markr %s\n", MARKR_VERSION);
        return 0;
    }
    if (strcmp(command, "serve") != 0 && strcmp(command, "migrate") != 0 && strcmp(command, "import") != 0 &&
        strcmp(command, "reprocess") != 0) {
        fprintf(err, "markr: unknown command '%s' (see markr --help)\n", command);
        return 2;
    }
    if (markr_config_load(&cfg, ".env", message, sizeof(message)) != 0) {
        fprintf(err, "markr: bad setting: %s\n", message);
        return 2;
    }
    markr_log_set_level((enum markr_log_level)cfg.log_level);
    markr_pg_set_slow_query_ms((long)cfg.slow_query_ms);
    if (strcmp(command, "serve") == 0)
        return cmd_serve(&cfg, argc - 2, err);
    if (strcmp(command, "migrate") == 0)
        return cmd_migrate(&cfg, argc - 2, argv + 2, out, err);
    if (strcmp(command, "reprocess") == 0)
        return markr_cli_reprocess(cfg.database_url, cfg.migrations_dir, argc - 2, argv + 2, out, err);
    return cmd_import(&cfg, argc - 2, argv + 2, out, err);
}
