/*
 * PostgreSQL adapter: its connection. One struct markr_pg is one blocking libpq connection,
 * used by one thread at a time (each worker thread owns one, ADR 0002). The ports over a
 * connection are made by pg_store.h, pg_vault.h and pg_views.h; migrations by pg_migrate.h.
 */
#ifndef MARKR_INTERFACES_PG_CONN_H
#define MARKR_INTERFACES_PG_CONN_H

#include "domain/error.h"

struct markr_pg;

/* Connects with a libpq conninfo string or URI (application_name defaults to "markr",
 * connect_timeout to 10 s; client_encoding is always UTF8). Returns NULL with err
 * (MARKR_ERR_UNAVAILABLE) when the server cannot be reached or the string cannot be
 * parsed. The password never appears in err. */
struct markr_pg *markr_pg_connect(const char *conninfo, struct markr_error *err);

/* Database operations slower than ms are logged as warnings and counted
 * (MARKR_SLOW_QUERY_MS; default 400). Process-wide. */
void markr_pg_set_slow_query_ms(long ms);

/* From another thread, at the shutdown timeout: cancels the statement pg is running (a
 * transaction not yet committing is rolled back) and makes every later operation fail at
 * once, so that work abandoned by a stopping server stores nothing. */
void markr_pg_abandon(struct markr_pg *pg);

void markr_pg_close(struct markr_pg *pg);

#endif
