/*
 * Migrations (ADR 0004): the files migrations/NNNN_name.sql, compared with what
 * schema_migrations records, applied one transaction each under an advisory lock. Every
 * command first builds the same plan (each file applied, pending or modified; each recorded
 * version without a file), so migrate, --status and the start-up check never disagree.
 */
#include "pg_migrate.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "pg_internal.h"

/* A migration is a schema change a person reads, not a data dump. */
#define MIGRATION_MAX_BYTES (1024 * 1024)

/* Serialises concurrent migrators (two containers starting at once): "markr" in ASCII. */
#define MIGRATION_LOCK_KEY "469786323826"

static const char create_table_sql[] =
    "CREATE TABLE schema_migrations (\n"
    "    version    integer PRIMARY KEY CHECK (version > 0),\n"
    "    name       text NOT NULL,\n"
    "    checksum   text NOT NULL,\n"
    "    applied_at timestamptz NOT NULL DEFAULT now()\n"
    ")";

enum migration_state { STATE_PENDING, STATE_APPLIED, STATE_MODIFIED };

struct migration {
    int version;
    char *name; /* the file name, NNNN_name.sql */
    char *sql;  /* contents, NUL-terminated; NULL until read */
    size_t len;
    char checksum[65];          /* SHA-256 of the file, hex */
    enum migration_state state; /* once compared with schema_migrations */
    char applied_at[40];        /* when applied, as the server prints it */
};

/* A recorded version with no file. */
struct orphan {
    int version;
    char name[64];
};

struct plan {
    struct migration *files; /* sorted by version */
    size_t count;
    struct orphan *orphans;
    size_t orphan_count;
    int table_exists;
    int max_applied; /* highest recorded version, 0 when none */
};

static void plan_free(struct plan *p)
{
    for (size_t i = 0; i < p->count; ++i) {
        free(p->files[i].name);
        free(p->files[i].sql);
    }
    free(p->files);
    free(p->orphans);
    memset(p, 0, sizeof(*p));
}

/* --- the files ---------------------------------------------------------------------------------- */

/* NNNN_name.sql: four digits, an underscore, then letters, digits, '_' or '-'. Returns the
 * version, or -1 for any other name. */
static int parse_name(const char *name)
{
    size_t len = strlen(name);

    if (len < 10 || strcmp(name + len - 4, ".sql") != 0 || name[4] != '_')
        return -1;
    for (size_t i = 0; i < 4; ++i)
        if (!isdigit((unsigned char)name[i]))
            return -1;
    for (size_t i = 5; i < len - 4; ++i)
        if (!isalnum((unsigned char)name[i]) && name[i] != '_' && name[i] != '-')
            return -1;
    return atoi(name);
}

static int compare_versions(const void *a, const void *b)
{
    const struct migration *x = a, *y = b;

    return (x->version > y->version) - (x->version < y->version);
}

/* Lists dir's migrations, sorted. Files that do not end in .sql are not migrations (a README,
 * an editor's backup); a .sql file with another name is a mistake worth stopping for. */
static int list_files(const char *dir, struct plan *p, struct markr_error *err)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t capacity = 0;

    if (d == NULL)
        return markr_error_set(err, MARKR_ERR_INTERNAL, "migrations_unreadable", "cannot read migrations directory %s: %s",
                               dir, strerror(errno));
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        int version;

        if (e->d_name[0] == '.' || len < 4 || strcmp(e->d_name + len - 4, ".sql") != 0)
            continue;
        if ((version = parse_name(e->d_name)) <= 0) {
            markr_error_set(err, MARKR_ERR_INTERNAL, "migration_misnamed",
                            "migration file %s/%s is misnamed: expected NNNN_name.sql with NNNN from 0001", dir,
                            e->d_name);
            goto fail;
        }
        if (p->count == capacity) {
            size_t grown = capacity != 0 ? capacity * 2 : 16;
            struct migration *files = realloc(p->files, grown * sizeof(*files));

            if (files == NULL)
                goto oom;
            p->files = files;
            capacity = grown;
        }
        p->files[p->count] = (struct migration){.version = version, .name = strdup(e->d_name)};
        if (p->files[p->count++].name == NULL)
            goto oom;
    }
    closedir(d);
    d = NULL;
    if (p->count != 0)
        qsort(p->files, p->count, sizeof(*p->files), compare_versions);
    for (size_t i = 1; i < p->count; ++i)
        if (p->files[i].version == p->files[i - 1].version)
            return markr_error_set(err, MARKR_ERR_INTERNAL, "migration_duplicate",
                                   "migrations %s and %s have the same version", p->files[i - 1].name,
                                   p->files[i].name);
    return 0;
oom:
    markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
fail:
    if (d != NULL)
        closedir(d);
    return -1;
}

static int read_file(const char *dir, struct migration *m, struct markr_error *err)
{
    char path[4096];
    struct stat st;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, m->name);
    if ((f = fopen(path, "rb")) == NULL || fstat(fileno(f), &st) != 0) {
        markr_error_set(err, MARKR_ERR_INTERNAL, "migrations_unreadable", "cannot read migration %s: %s", path,
                        strerror(errno));
        goto fail;
    }
    if (st.st_size > MIGRATION_MAX_BYTES) {
        markr_error_set(err, MARKR_ERR_INTERNAL, "migration_too_large", "migration %s is larger than %d bytes", path,
                        MIGRATION_MAX_BYTES);
        goto fail;
    }
    if ((m->sql = malloc((size_t)st.st_size + 1)) == NULL) {
        markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
        goto fail;
    }
    m->len = fread(m->sql, 1, (size_t)st.st_size, f);
    m->sql[m->len] = '\0';
    if (m->len != (size_t)st.st_size || ferror(f)) {
        markr_error_set(err, MARKR_ERR_INTERNAL, "migrations_unreadable", "cannot read migration %s", path);
        goto fail;
    }
    /* The server would stop at a NUL while the checksum covers every byte. */
    if (memchr(m->sql, '\0', m->len) != NULL) {
        markr_error_set(err, MARKR_ERR_INTERNAL, "migration_binary", "migration %s contains a NUL byte", path);
        goto fail;
    }
    fclose(f);
    return 0;
fail:
    if (f != NULL)
        fclose(f);
    return -1;
}

int markr_migrations_latest(const char *dir, struct markr_error *err)
{
    struct plan p = {0};
    int latest;

    if (list_files(dir, &p, err) != 0) {
        plan_free(&p);
        return -1;
    }
    latest = p.count != 0 ? p.files[p.count - 1].version : 0;
    plan_free(&p);
    return latest;
}

/* --- the plan ----------------------------------------------------------------------------------- */

static int checksum(struct markr_pg *pg, struct migration *m, struct markr_error *err)
{
    struct markr_pg_params params = {0};
    PGresult *res;

    markr_pg_param_binary(&params, MARKR_PG_BYTEA, m->sql, m->len);
    if ((res = markr_pg_exec(pg, "computing a migration's checksum", "SELECT encode(sha256($1), 'hex')", &params,
                             err)) == NULL)
        return -1;
    snprintf(m->checksum, sizeof(m->checksum), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

static struct migration *find_file(struct plan *p, int version)
{
    for (size_t i = 0; i < p->count; ++i)
        if (p->files[i].version == version)
            return &p->files[i];
    return NULL;
}

static int add_orphan(struct plan *p, int version, const char *name)
{
    struct orphan *orphans = realloc(p->orphans, (p->orphan_count + 1) * sizeof(*orphans));

    if (orphans == NULL)
        return -1;
    p->orphans = orphans;
    p->orphans[p->orphan_count].version = version;
    snprintf(p->orphans[p->orphan_count].name, sizeof(p->orphans[0].name), "%s", name);
    ++p->orphan_count;
    return 0;
}

/* Reads and checksums every file of dir and compares them with schema_migrations. */
static int plan_build(struct markr_pg *pg, const char *dir, struct plan *p, struct markr_error *err)
{
    PGresult *res;

    if (list_files(dir, p, err) != 0)
        return -1;
    for (size_t i = 0; i < p->count; ++i)
        if (read_file(dir, &p->files[i], err) != 0 || checksum(pg, &p->files[i], err) != 0)
            return -1;

    if ((res = markr_pg_exec(pg, "reading the migrations", "SELECT to_regclass('schema_migrations') IS NOT NULL",
                             NULL, err)) == NULL)
        return -1;
    p->table_exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (!p->table_exists)
        return 0;

    if ((res = markr_pg_exec(pg, "reading the migrations",
                             "SELECT version, name, checksum, date_trunc('second', applied_at) "
                             "FROM schema_migrations ORDER BY version",
                             NULL, err)) == NULL)
        return -1;
    for (int row = 0; row < PQntuples(res); ++row) {
        int version = atoi(PQgetvalue(res, row, 0));
        struct migration *m = find_file(p, version);

        p->max_applied = version;
        if (m == NULL) {
            if (add_orphan(p, version, PQgetvalue(res, row, 1)) != 0) {
                PQclear(res);
                return markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
            }
            continue;
        }
        m->state = strcmp(m->checksum, PQgetvalue(res, row, 2)) == 0 ? STATE_APPLIED : STATE_MODIFIED;
        snprintf(m->applied_at, sizeof(m->applied_at), "%s", PQgetvalue(res, row, 3));
    }
    PQclear(res);
    return 0;
}

/* The first reason the plan cannot be applied or served, as err (code given); 0 if none. A
 * pending file below the highest applied version would be applied out of order: someone
 * added it after a later one ran, and its assumptions may no longer hold. */
static int plan_refusal(const struct plan *p, const char *dir, enum markr_error_code code, struct markr_error *err)
{
    for (size_t i = 0; i < p->count; ++i) {
        const struct migration *m = &p->files[i];

        if (m->state == STATE_MODIFIED)
            return markr_error_set(err, code, "migration_modified",
                                   "migration %s was edited after it was applied (its checksum differs from the one "
                                   "recorded); restore it and put the change in a new migration",
                                   m->name);
        if (m->state == STATE_PENDING && m->version < p->max_applied)
            return markr_error_set(err, code, "migration_out_of_order",
                                   "migration %s is pending but version %d is already applied; renumber it after %d",
                                   m->name, p->max_applied, p->max_applied);
    }
    if (p->orphan_count != 0)
        return markr_error_set(err, code, "migration_unknown",
                               "version %d (%s) is applied in the database but has no file in %s; is this build older "
                               "than the database?",
                               p->orphans[0].version, p->orphans[0].name, dir);
    return 0;
}

/* --- applying ----------------------------------------------------------------------------------- */

/* The line of a 1-based character position in sql (the server counts characters). */
static unsigned long line_of(const char *sql, long position)
{
    unsigned long line = 1;

    for (const unsigned char *s = (const unsigned char *)sql; *s != '\0' && position > 1; ++s) {
        if ((*s & 0xc0) != 0x80) /* the first byte of a character */
            --position;
        if (*s == '\n')
            ++line;
    }
    return line;
}

/* Applies one file and records it, in one transaction: both or neither. */
static int apply(struct markr_pg *pg, const struct migration *m, struct markr_error *err)
{
    struct markr_pg_params params = {0};
    PGresult *res;

    if ((res = markr_pg_exec(pg, "starting a migration", "BEGIN", NULL, err)) == NULL)
        return -1;
    PQclear(res);

    /* The file may hold many statements: the simple protocol runs them all, in the
     * transaction just opened. */
    res = markr_pg_run_script(pg, "applying a migration", m->sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
        const char *position = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
        char what[160];

        if (position != NULL)
            snprintf(what, sizeof(what), "applying migration %s (line %lu)", m->name, line_of(m->sql, atol(position)));
        else
            snprintf(what, sizeof(what), "applying migration %s", m->name);
        markr_pg_fail(pg, res, what, err);
        PQclear(res);
        markr_pg_rollback(pg);
        return -1;
    }
    PQclear(res);
    if (PQtransactionStatus(pg->conn) != PQTRANS_INTRANS)
        return markr_error_set(err, MARKR_ERR_INTERNAL, "migration_transaction",
                               "migration %s ended the transaction itself (COMMIT or ROLLBACK in the file); part of "
                               "it may be applied and it is not recorded: remove the transaction control",
                               m->name);

    markr_pg_param_int4(&params, m->version);
    markr_pg_param_text(&params, MARKR_PG_TEXT, m->name);
    markr_pg_param_text(&params, MARKR_PG_TEXT, m->checksum);
    if ((res = markr_pg_exec(pg, "recording a migration",
                             "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", &params,
                             err)) == NULL ||
        (PQclear(res), res = markr_pg_exec(pg, "committing a migration", "COMMIT", NULL, err)) == NULL) {
        markr_pg_rollback(pg);
        return -1;
    }
    PQclear(res);
    return 0;
}

static double elapsed_ms(const struct timespec *since)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - since->tv_sec) * 1e3 + (double)(now.tv_nsec - since->tv_nsec) / 1e6;
}

static int migrate_locked(struct markr_pg *pg, const char *dir, FILE *log, struct markr_error *err)
{
    struct plan p = {0};
    PGresult *res;
    int applied = 0, rc = -1;

    /* The table is created here, under the lock, not by 0001: two migrators starting at once
     * must not both try. */
    if ((res = markr_pg_exec(pg, "reading the migrations", "SELECT to_regclass('schema_migrations') IS NULL", NULL,
                             err)) == NULL)
        return -1;
    if (strcmp(PQgetvalue(res, 0, 0), "t") == 0) {
        PQclear(res);
        if ((res = markr_pg_exec(pg, "creating schema_migrations", create_table_sql, NULL, err)) == NULL)
            return -1;
    }
    PQclear(res);

    if (plan_build(pg, dir, &p, err) != 0 || plan_refusal(&p, dir, MARKR_ERR_INTERNAL, err) != 0)
        goto out;
    for (size_t i = 0; i < p.count; ++i) {
        struct timespec start;

        if (p.files[i].state != STATE_PENDING)
            continue;
        clock_gettime(CLOCK_MONOTONIC, &start);
        if (apply(pg, &p.files[i], err) != 0)
            goto out;
        ++applied;
        if (log != NULL)
            fprintf(log, "applied %s (%.0f ms)\n", p.files[i].name, elapsed_ms(&start));
    }
    if (log != NULL && applied == 0)
        fprintf(log, "nothing to apply: the schema is at version %d\n", p.count != 0 ? p.files[p.count - 1].version : 0);
    rc = 0;
out:
    plan_free(&p);
    return rc;
}

int markr_pg_migrate(struct markr_pg *pg, const char *dir, FILE *log, struct markr_error *err)
{
    struct markr_error unlock_err;
    PGresult *res;
    int rc;

    if (markr_pg_ensure(pg, err) != 0)
        return -1;
    /* A session lock: it is held across the per-file transactions, and the server drops it
     * by itself if this process dies. */
    if ((res = markr_pg_exec(pg, "waiting for the migration lock", "SELECT pg_advisory_lock(" MIGRATION_LOCK_KEY ")",
                             NULL, err)) == NULL)
        return -1;
    PQclear(res);
    rc = migrate_locked(pg, dir, log, err);
    PQclear(markr_pg_exec(pg, "releasing the migration lock", "SELECT pg_advisory_unlock(" MIGRATION_LOCK_KEY ")",
                          NULL, &unlock_err));
    return rc;
}

/* --- reading the state -------------------------------------------------------------------------- */

int markr_pg_migration_status(struct markr_pg *pg, const char *dir, FILE *out, struct markr_error *err)
{
    struct plan p = {0};
    int pending = 0, rc = -1;

    if (markr_pg_ensure(pg, err) != 0 || plan_build(pg, dir, &p, err) != 0)
        goto out;
    for (size_t i = 0; i < p.count; ++i) {
        const struct migration *m = &p.files[i];

        switch (m->state) {
        case STATE_APPLIED:
            fprintf(out, "applied   %s  (%s)\n", m->name, m->applied_at);
            break;
        case STATE_MODIFIED:
            fprintf(out, "modified  %s  (applied %s; the file changed since)\n", m->name, m->applied_at);
            break;
        case STATE_PENDING:
            fprintf(out, "pending   %s\n", m->name);
            ++pending;
            break;
        }
    }
    for (size_t i = 0; i < p.orphan_count; ++i)
        fprintf(out, "unknown   %04d (%s: applied, but no such file)\n", p.orphans[i].version, p.orphans[i].name);
    if (plan_refusal(&p, dir, MARKR_ERR_INTERNAL, err) == 0)
        rc = pending != 0 ? 1 : 0;
out:
    plan_free(&p);
    return rc;
}

int markr_pg_schema_check(struct markr_pg *pg, const char *dir, struct markr_error *err)
{
    struct plan p = {0};
    int rc = -1;

    if (markr_pg_ensure(pg, err) != 0 || plan_build(pg, dir, &p, err) != 0) {
        err->code = MARKR_ERR_UNAVAILABLE;
        goto out;
    }
    if (plan_refusal(&p, dir, MARKR_ERR_UNAVAILABLE, err) != 0)
        goto out;
    for (size_t i = 0; i < p.count; ++i)
        if (p.files[i].state == STATE_PENDING) {
            markr_error_set(err, MARKR_ERR_UNAVAILABLE, "schema_not_current", "migration %s is pending",
                            p.files[i].name);
            goto out;
        }
    rc = 0;
out:
    plan_free(&p);
    return rc;
}
