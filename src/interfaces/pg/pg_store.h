/*
 * The import store (pg_store.c), results reader and readiness (pg_results.c) ports over one
 * PostgreSQL connection (pg_conn.h). Every statement is parameterised. A broken connection is reset (once) before
 * the next operation, so a database that comes back is used again without a restart.
 */
#ifndef MARKR_INTERFACES_PG_STORE_H
#define MARKR_INTERFACES_PG_STORE_H

#include "application/ports.h"
#include "pg_conn.h"

struct markr_import_store markr_pg_import_store(struct markr_pg *pg);
struct markr_results_reader markr_pg_results_reader(struct markr_pg *pg);
/* Fills in the reader's item analysis and student sheet (pg_items.c). */
void markr_pg_items_reader(struct markr_results_reader *reader);
/* Ready when the server answers and the highest applied migration is expected_version. The
 * expected version is kept in pg: one readiness port per connection. */
struct markr_readiness markr_pg_readiness(struct markr_pg *pg, int expected_version);

#endif
