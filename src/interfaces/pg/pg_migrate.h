/*
 * Migrations: plain SQL files migrations/NNNN_name.sql, applied in order, each in its own
 * transaction, recorded with version, name and SHA-256 checksum in schema_migrations.
 * An applied file that was edited afterwards is refused. Operators run them with
 * `markr migrate`; `markr serve` refuses to start while any is pending.
 */
#ifndef MARKR_INTERFACES_PG_MIGRATE_H
#define MARKR_INTERFACES_PG_MIGRATE_H

#include <stdio.h>

#include "domain/error.h"
#include "pg_store.h"

/* The highest version among the files in dir (0 when none), or -1 with err when the
 * directory cannot be read or holds a badly named .sql file. */
int markr_migrations_latest(const char *dir, struct markr_error *err);

/* Applies every pending migration of dir, in order, one transaction each, printing one
 * line per applied file to log (may be NULL). Idempotent. Refuses (-1, err) when an
 * applied file's checksum differs from the recorded one, or when a recorded version has
 * no file. Concurrent runs are serialised with an advisory lock. */
int markr_pg_migrate(struct markr_pg *pg, const char *dir, FILE *log, struct markr_error *err);

/* Prints one line per migration ("applied", "pending" or "modified"), and one per recorded
 * version without a file ("unknown"), to out. Read-only. Returns 0 when the schema is
 * current, 1 when migrations are pending, -1 with err otherwise (a modified or unknown
 * migration, or a pending one numbered below an applied one). */
int markr_pg_migration_status(struct markr_pg *pg, const char *dir, FILE *out, struct markr_error *err);

/* Returns 0 when every file in dir is applied unmodified and nothing unknown is applied;
 * -1 with err (MARKR_ERR_UNAVAILABLE) naming the first problem otherwise. */
int markr_pg_schema_check(struct markr_pg *pg, const char *dir, struct markr_error *err);

#endif
