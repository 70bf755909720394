/*
 * PostgreSQL adapter. One struct markr_pg is one blocking libpq connection, used by one
 * thread at a time (each worker thread owns one, ADR 0002). It fills the import store,
 * results reader and readiness ports. Every statement is parameterised.
 */
#ifndef MARKR_INTERFACES_PG_STORE_H
#define MARKR_INTERFACES_PG_STORE_H

#include "application/ports.h"

struct markr_pg;

/* Connects with a libpq conninfo string or URI (application_name defaults to "markr",
 * connect_timeout to 10 s; client_encoding is always UTF8). Returns NULL with err
 * (MARKR_ERR_UNAVAILABLE) when the server cannot be reached or the string cannot be
 * parsed. The password never appears in err. */
struct markr_pg *markr_pg_connect(const char *conninfo, struct markr_error *err);

/* Database operations slower than ms are logged as warnings and counted (issue 5,
 * MARKR_SLOW_QUERY_MS; default 400). Process-wide. */
void markr_pg_set_slow_query_ms(long ms);

/* From another thread, at the shutdown timeout: cancels the statement pg is running (a
 * transaction not yet committing is rolled back) and makes every later operation fail at
 * once, so that work abandoned by a stopping server stores nothing. */
void markr_pg_abandon(struct markr_pg *pg);
void markr_pg_close(struct markr_pg *pg);

/* The ports over one connection. A broken connection is reset (once) before the next
 * operation, so a database that comes back is used again without a restart. */
struct markr_import_store markr_pg_import_store(struct markr_pg *pg);
struct markr_results_reader markr_pg_results_reader(struct markr_pg *pg);

/* Ready when the server answers and the highest applied migration is expected_version. The
 * expected version is kept in pg: one readiness port per connection. */
struct markr_readiness markr_pg_readiness(struct markr_pg *pg, int expected_version);

#endif
