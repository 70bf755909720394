/*
 * Uploads stored together (ADR 0039): while as many import transactions as the group allows
 * are running, an upload that arrives waits in line instead of starting another, and the
 * next transaction to start takes the uploads waiting then, one statement per kind of row
 * for all of them, so that they share the statements' fixed costs and one commit. Each
 * upload keeps its own imports row, id, names rows, kept sheets and announcement, and gets
 * its own answer. `markr serve` makes one group for its connections (cli.c); everything
 * else here is the adapter's own.
 */
#ifndef MARKR_INTERFACES_PG_GROUP_H
#define MARKR_INTERFACES_PG_GROUP_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "application/ports.h"
#include "domain/document.h"
#include "domain/error.h"
#include "pg_internal.h"

/* The uploads a group may take: at most this many, with bodies of at most
 * MARKR_PG_GROUP_BYTES together and at most MARKR_PG_GROUP_MARKS marks together. An upload
 * past one of these alone is stored alone: a group is for the many small documents whose
 * transactions cost more in fixed costs than in rows. */
#define MARKR_PG_GROUP_MEMBERS 8
#define MARKR_PG_GROUP_BYTES (1024 * 1024)
#define MARKR_PG_GROUP_MARKS 4096

/* While a transaction runs through the group, an upload that arrives waits in line until a
 * slot is free and either nothing runs any more, or MARKR_PG_GROUP_ENOUGH uploads wait (to
 * share a transaction), or the first in line has waited MARKR_PG_GROUP_WAIT_US: the longest
 * an upload waits for company. */
#define MARKR_PG_GROUP_ENOUGH 3u
#define MARKR_PG_GROUP_WAIT_US 500L

/* One upload on its way through a group: filled by its store (pg_store.c) before
 * markr_pg_group_enter, which fills the outcome. */
struct markr_pg_member {
    struct markr_pg *pg; /* the upload's own connection */
    const struct markr_vault_entry *entry;
    const struct markr_marks *marks;
    const char *content_type;       /* storable (markr_pg_utf8_copy) */
    const unsigned char *digest;    /* the body's SHA-256, 32 bytes */
    Oid sheet_type;                 /* markr_pg_sheets_type's */
    /* The outcome, when markr_pg_group_enter returns MARKR_PG_GROUP_STORED. */
    int rc;
    int64_t id;
    struct markr_error err;
    /* The group's own. */
    int state;
    int holds_slot;
    struct timespec deadline; /* CLOCK_MONOTONIC: when it starts without more company */
    pthread_cond_t wake;
    struct markr_pg_member *next;
};

struct markr_pg_group;

/* A group for the import stores of one process, letting `slots` import transactions run at
 * once (at least 1). NULL when out of memory. */
struct markr_pg_group *markr_pg_group_new(unsigned slots);
void markr_pg_group_free(struct markr_pg_group *g);

/* Lets the uploads stored through pg's import store go through g (NULL: each alone). g must
 * outlive pg's use of it. */
void markr_pg_group_attach(struct markr_pg *pg, struct markr_pg_group *g);

/* Whether an upload may be stored through a group: its body fits in one chunk and in a
 * group, it is no feed's batch, nothing of it was begun, and its marks fit in a group. */
int markr_pg_group_fits(const struct markr_vault_entry *entry, const struct markr_marks *marks);

enum markr_pg_group_turn {
    MARKR_PG_GROUP_STORED, /* stored with others, or failed: m's outcome says */
    MARKR_PG_GROUP_ALONE,  /* the caller stores it alone now, then calls markr_pg_group_leave */
};

/* Stores m's upload: alone at once when nothing runs and nobody waits (returns
 * MARKR_PG_GROUP_ALONE with a slot held); else it waits in line (see MARKR_PG_GROUP_ENOUGH)
 * and, once first and allowed to start, stores itself with the uploads behind it that share
 * no test with it or one another and fit the bounds, in one transaction. A group whose
 * transaction failed without committing hands each member back to be stored alone, each
 * with a slot held (MARKR_PG_GROUP_ALONE); one too few to share is stored alone the same
 * way; one whose COMMIT may have run but did not answer makes every member
 * "outcome_unknown" (MARKR_PG_GROUP_STORED with rc -1). Blocks until then. */
enum markr_pg_group_turn markr_pg_group_enter(struct markr_pg_group *g, struct markr_pg_member *m);

/* After storing m alone: frees the slot it held, if any, for the next in line. */
void markr_pg_group_leave(struct markr_pg_group *g, struct markr_pg_member *m);

/* What a group has done so far: the transactions that stored more than one upload, and
 * those uploads; and now, the transactions running through it and the uploads in line. */
struct markr_pg_group_stats {
    uint64_t groups, members;
    unsigned running;
    size_t waiting;
};
void markr_pg_group_stats(struct markr_pg_group *g, struct markr_pg_group_stats *out);

#endif
