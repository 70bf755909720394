/*
 * The import vault ports over one PostgreSQL connection (see application/vault.h): reads
 * for operators, the rebuild transaction of reprocessing, and the asynchronous queue.
 */
#ifndef MARKR_INTERFACES_PG_VAULT_H
#define MARKR_INTERFACES_PG_VAULT_H

#include "application/vault.h"
#include "pg_store.h"

struct markr_vault_reader markr_pg_vault_reader(struct markr_pg *pg);
/* One rebuild at a time per connection. */
struct markr_vault_rebuild markr_pg_vault_rebuild(struct markr_pg *pg);
/* The queue's wait LISTENs on this connection: use a connection of its own for it. */
struct markr_import_queue markr_pg_import_queue(struct markr_pg *pg);

#endif
