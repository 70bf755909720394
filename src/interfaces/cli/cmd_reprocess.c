/*
 * `markr reprocess --all | --import ID [--dry-run]` (ADR 0010): rebuilds marks
 * from the import vault under the parsing rules of this build, and prints one line per
 * import whose status flips and per test whose aggregate changes, then a summary.
 */
#include "cmd_reprocess.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "application/reprocess.h"
#include "formats.h"
#include "help.h"
#include "interfaces/pg/pg_migrate.h"
#include "interfaces/pg/pg_vault.h"
#include "interfaces/xml/xml_parser.h"


static void print_report(FILE *out, const struct markr_reprocess_report *r, int dry_run, int one, int64_t id)
{
    for (size_t i = 0; i < r->flip_count; ++i)
        fprintf(out, "import %lld: %s -> %s\n", (long long)r->flips[i].id, r->flips[i].from, r->flips[i].to);
    if (one && r->outcome.error.reason[0] != '\0')
        fprintf(out, "import %lld: refused: %s\n", (long long)id, r->outcome.error.message);
    for (size_t i = 0; i < r->changed_test_count; ++i)
        fprintf(out, "test %s: aggregate changes\n", r->changed_tests[i]);
    fprintf(out, "reprocess: %zu import%s read, %zu change%s status, %zu test%s change aggregate; %s\n", r->imports,
            r->imports == 1 ? "" : "s", r->flip_count, r->flip_count == 1 ? "s" : "", r->changed_test_count,
            r->changed_test_count == 1 ? "" : "s", dry_run ? "dry run, nothing written" : "committed");
}

int markr_cli_reprocess(const char *database_url, const char *migrations_dir, int argc, char **argv, FILE *out,
                        FILE *err)
{
    int all = 0, dry_run = 0;
    char problem[160];
    int64_t id = 0;
    struct markr_reprocess_deps deps;
    struct markr_pg_rebuild rebuild;
    struct markr_reprocess_report report;
    struct markr_error e;
    struct markr_pg *pg;
    int rc;

    for (int i = 0; i < argc; ++i) {
        char *end;

        if (strcmp(argv[i], "--all") == 0) {
            all = 1;
        } else if (strcmp(argv[i], "--dry-run") == 0) {
            dry_run = 1;
        } else if (strcmp(argv[i], "--import") == 0 && i + 1 < argc) {
            errno = 0;
            id = strtoll(argv[++i], &end, 10);
            if (*argv[i] < '1' || *argv[i] > '9' || *end != '\0' || id <= 0 || errno == ERANGE) {
                snprintf(problem, sizeof(problem), "'%.64s' is not an import id (a positive integer)", argv[i]);
                return markr_cli_usage_error("reprocess", err, problem);
            }
        } else {
            snprintf(problem, sizeof(problem), "%s '%.64s'",
                     strcmp(argv[i], "--import") == 0 ? "no ID after" : argv[i][0] == '-' ? "unknown option"
                                                                                         : "unknown argument",
                     argv[i]);
            return markr_cli_usage_error("reprocess", err, problem);
        }
    }
    if (all == (id != 0))
        return markr_cli_usage_error("reprocess", err, all ? "--all and --import exclude each other"
                                                           : "say what to reprocess: --all or --import ID");
    if (database_url == NULL) {
        fprintf(err, "markr: DATABASE_URL is not set (a libpq conninfo string or URI)\n");
        return 2;
    }
    if ((pg = markr_pg_connect(database_url, &e)) == NULL) {
        fprintf(err, "markr: %s\n", e.message);
        return 1;
    }
    if (markr_pg_schema_check(pg, migrations_dir, &e) != 0) {
        fprintf(err, "markr: %s; run `markr migrate` first\n", e.message);
        markr_pg_close(pg);
        return 1;
    }
    markr_xml_global_init();
    deps.formats = markr_import_formats();
    deps.rebuild = markr_pg_vault_rebuild(&rebuild, pg);
    rc = all ? markr_reprocess_all(&deps, dry_run, &report, &e) : markr_reprocess_one(&deps, id, dry_run, &report, &e);
    if (rc != 0) {
        fprintf(err, "markr: reprocess: %s%s\n", e.message, dry_run ? "" : " (nothing written)");
    } else {
        print_report(out, &report, dry_run, !all, id);
        markr_reprocess_report_free(&report);
    }
    markr_pg_close(pg);
    return rc != 0 ? 1 : 0;
}
