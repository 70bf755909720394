/*
 * The import vault ports over one PostgreSQL connection (see application/vault.h): reads
 * for operators (pg_vault.c), the rebuild transaction of reprocessing (pg_rebuild.c), and
 * the asynchronous queue (pg_queue.c).
 */
#ifndef MARKR_INTERFACES_PG_VAULT_H
#define MARKR_INTERFACES_PG_VAULT_H

#include "application/vault.h"
#include "pg_store.h"

struct markr_vault_reader markr_pg_vault_reader(struct markr_pg *pg);

/* The state of one rebuild (pg_rebuild.c), kept by the caller for as long as the port is
 * used: whether the open rebuild cleared every mark. One rebuild at a time per state. */
struct markr_pg_rebuild {
    struct markr_pg *pg;
    int all;
};
struct markr_vault_rebuild markr_pg_vault_rebuild(struct markr_pg_rebuild *state, struct markr_pg *pg);
/* The queue's wait LISTENs on this connection: use a connection of its own for it. */
struct markr_import_queue markr_pg_import_queue(struct markr_pg *pg);

#endif
