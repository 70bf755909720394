#include "help.h"

#include <string.h>

#include "config.h" /* MARKR_DEFAULT_MIGRATIONS_DIR, MARKR_DEFAULT_LISTEN */

/* The settings every database command reads. */
#define DATABASE_SETTINGS                                                                                         \
    "  DATABASE_URL          libpq conninfo string or URI of the database (required)\n"                        \
    "  MARKR_MIGRATIONS_DIR  the SQL migrations (default " MARKR_DEFAULT_MIGRATIONS_DIR ")\n"                 \
    "  MARKR_LOG_LEVEL       error, warn, info (default) or debug\n"

#define SETTINGS_SOURCE                                                                                           \
    "Settings come from the environment and from ./.env (the environment wins); a bad value\n"                 \
    "stops the command with exit status 2, an unknown MARKR_* name is warned about. Every\n"                   \
    "setting is in markr(1).\n"

struct command_help {
    const char *name;
    const char *usage; /* the arguments after the command */
    const char *text;  /* what it does, options, settings, exit statuses */
};

static const struct command_help commands[] = {
    {"serve", "",
     "Serves the HTTP API and the dashboard until SIGTERM or SIGINT. Refuses to start while a\n"
     "migration is pending (run markr migrate first).\n"
     "\n"
     "Options:\n"
     "  -h, --help            show this help\n"
     "\n"
     "Settings (the main ones; all in markr(1)):\n" DATABASE_SETTINGS
     "  MARKR_LISTEN          address and port (default " MARKR_DEFAULT_LISTEN ")\n"
     "  MARKR_WORKERS         worker threads, each with a database connection (default 8)\n"
     "  MARKR_MAX_BODY_BYTES  largest request body (default 67108864)\n"
     "  MARKR_READER_TOKENS, MARKR_OPERATOR_TOKENS, MARKR_ADMIN_TOKEN   access control\n"
     "\n"
     "Exit status: 0 stopped cleanly; 1 could not start, or requests were abandoned at\n"
     "MARKR_SHUTDOWN_TIMEOUT; 2 bad usage or a bad setting.\n"},
    {"migrate", "[--status]",
     "Applies the pending SQL migrations of MARKR_MIGRATIONS_DIR, each in its own transaction,\n"
     "and records each file's SHA-256; refuses to run when an applied file was edited since.\n"
     "\n"
     "Options:\n"
     "  --status              list each migration as applied, pending or modified; write nothing\n"
     "  -h, --help            show this help\n"
     "\n"
     "Settings:\n" DATABASE_SETTINGS
     "\n"
     "Exit status: 0 done (--status: nothing pending); 1 failed (--status: something pending\n"
     "or modified); 2 bad usage or a bad setting.\n"},
    {"import", "[--] FILE...",
     "Imports each result document as POST /import does (the same rules, the same vault, the same\n"
     "body limit), one line per file: accepted, or refused with its error code and reason.\n"
     "\"--\" ends the options, for a file whose name starts with '-'.\n"
     "\n"
     "Options:\n"
     "  -h, --help            show this help\n"
     "\n"
     "Settings:\n" DATABASE_SETTINGS
     "  MARKR_MAX_BODY_BYTES  largest document (default 67108864), as for POST /import\n"
     "\n"
     "Exit status: 0 every file accepted; 1 a file refused or unreadable, the database\n"
     "unreachable or its schema not current; 2 bad usage or a bad setting.\n"},
    {"reprocess", "--all | --import ID [--dry-run]",
     "Judges stored documents again under this build's rules (ADR 0010). --all rebuilds every\n"
     "mark from the vault in one transaction; --import ID judges one import again. Prints one\n"
     "line per import whose status flips and per test whose aggregate changes, then a summary.\n"
     "\n"
     "Options:\n"
     "  --all                 rebuild every mark from the import vault\n"
     "  --import ID           judge the import ID again\n"
     "  --dry-run             report what would change; write nothing\n"
     "  -h, --help            show this help\n"
     "\n"
     "Settings:\n" DATABASE_SETTINGS
     "\n"
     "Exit status: 0 done (or reported, with --dry-run); 1 failed, nothing written; 2 bad usage\n"
     "or a bad setting.\n"},
};

static const char overview[] =
    "Usage: markr COMMAND [ARGS]\n"
    "\n"
    "Markr ingests multiple-choice exam results (XML) and serves aggregate statistics.\n"
    "\n"
    "Commands (markr COMMAND --help, or markr help COMMAND, says more):\n"
    "  serve                 serve the HTTP API (MARKR_LISTEN, default " MARKR_DEFAULT_LISTEN ");\n"
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
    "\n" SETTINGS_SOURCE "DATABASE_URL is a libpq conninfo string or URI.\n"
    /* One line: scripts/check-package.sh looks for it whole. */
    "MARKR_MIGRATIONS_DIR defaults to " MARKR_DEFAULT_MIGRATIONS_DIR ".\n";

static const struct command_help *find(const char *command)
{
    for (size_t i = 0; command != NULL && i < sizeof(commands) / sizeof(commands[0]); ++i)
        if (strcmp(commands[i].name, command) == 0)
            return &commands[i];
    return NULL;
}

int markr_cli_is_command(const char *command)
{
    return find(command) != NULL;
}

int markr_cli_wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; ++i)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    return 0;
}

int markr_cli_help(const char *command, FILE *out)
{
    const struct command_help *c = find(command);

    if (c == NULL) {
        fputs(overview, out);
        return 0;
    }
    fprintf(out, "Usage: markr %s%s%s\n\n%s\n%s", c->name, c->usage[0] != '\0' ? " " : "", c->usage, c->text,
            SETTINGS_SOURCE);
    return 0;
}

int markr_cli_usage_error(const char *command, FILE *err, const char *problem)
{
    const struct command_help *c = find(command);

    if (c == NULL)
        return 2;
    fprintf(err, "markr %s: %s\nusage: markr %s%s%s (see markr %s --help)\n", c->name, problem, c->name,
            c->usage[0] != '\0' ? " " : "", c->usage, c->name);
    return 2;
}
