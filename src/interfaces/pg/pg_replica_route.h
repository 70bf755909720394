/*
 * The decisions of the read pool (pg_replica.c), free of libpq so that they are unit tested
 * alone: how MARKR_READ_DATABASE_URL splits into standbys, how WAL positions read and print,
 * which standby a read tries next, and what a standby's answer to the probe means for a
 * read that must reflect a given position. ADR 0030.
 */
#ifndef MARKR_INTERFACES_PG_REPLICA_ROUTE_H
#define MARKR_INTERFACES_PG_REPLICA_ROUTE_H

#include <stddef.h>
#include <stdint.h>

/* At most this many standbys, and this many bytes of MARKR_READ_DATABASE_URL. */
#define MARKR_REPLICAS_MAX 8
#define MARKR_REPLICA_LIST_MAX 8192

/*
 * Splits list into its standbys (malloc'd copies, spaces around each trimmed). Entries are
 * separated by a comma that is outside single quotes and followed (after spaces) by the
 * start of a new entry: `postgresql://`, `postgres://`, a conninfo keyword and `=`, or the
 * end (a trailing comma leaves an empty entry). So a
 * multi-host URI (`postgresql://a,b/db`) and `host=a,b` stay whole; a comma inside a URI's
 * options must be written %2C. Returns the count (at least 1), or -1 with why filled: empty,
 * an empty entry, too many entries, too long, or out of memory.
 */
int markr_replica_list_split(const char *list, char **entries, size_t max, char *why, size_t why_len);

/* A WAL position as PostgreSQL prints a pg_lsn ("16/B374D848"): returns 0, or -1 when text
 * is not one. */
int markr_lsn_parse(const char *text, uint64_t *lsn);
/* Prints lsn as a pg_lsn into buf (at least 18 bytes). */
void markr_lsn_format(uint64_t lsn, char *buf, size_t len);

/* What the read pool last saw of a standby. */
enum markr_standby_state {
    MARKR_STANDBY_UNKNOWN = 0,     /* not tried yet */
    MARKR_STANDBY_UP,              /* in recovery and answering */
    MARKR_STANDBY_DOWN,            /* no connection, or the probe or a read failed */
    MARKR_STANDBY_LAGGING,         /* did not reach a read's position within the bound */
    MARKR_STANDBY_NOT_IN_RECOVERY, /* answers, but is a primary (promoted, or misconfigured) */
};
/* "unknown", "up", "down", "lagging", "not_in_recovery". */
const char *markr_standby_state_name(enum markr_standby_state state);
/* Why a read skipped a standby in that state: "down", "lag", "not_in_recovery" (the
 * markr_replica_fallbacks_total reasons). */
const char *markr_standby_skip_reason(enum markr_standby_state state);

/* What the router knows of one standby when it chooses. */
struct markr_standby_view {
    enum markr_standby_state state;
    int64_t retry_at_ms; /* skipped before this (monotonic ms); 0 once usable */
};

/* The standby a read tries first: the first of the n from `start` on (round robin) that is
 * not waiting out a backoff at now_ms. -1 when every one is. */
int markr_replica_pick(const struct markr_standby_view *standbys, size_t n, size_t start, int64_t now_ms);

/* The pause before a standby that failed is tried again: 100 ms after the first failure,
 * doubling up to 2 s. previous_ms is the pause after the last failure (0: none). */
unsigned markr_replica_backoff(unsigned previous_ms);

/* What a probe of a standby means for a read that must reflect position target. */
enum markr_probe_verdict {
    MARKR_PROBE_USE,             /* replayed up to target: read there */
    MARKR_PROBE_WAIT,            /* behind, and time is left: probe again after a pause */
    MARKR_PROBE_LAGGING,         /* behind, and the bound is spent: read elsewhere */
    MARKR_PROBE_NOT_IN_RECOVERY, /* not a standby: read elsewhere */
};

/* Whether a standby that has replayed up to `replayed` (the end of its last record) holds
 * everything before target, a WAL position of the primary (flush or insert). An insert position taken
 * when the last record ended a WAL page points past the next page's header (24 or 40
 * bytes), where no record ends: the smallest record after a page boundary ends at least a
 * header and a record header (20 + 24 bytes) past it. So a standby whose replay stands on a
 * page boundary (wal_block bytes; 0: unknown) holds every target up to 40 bytes past it. */
int markr_replica_covers(uint64_t replayed, uint64_t target, unsigned wal_block);

enum markr_probe_verdict markr_replica_judge(int in_recovery, uint64_t replayed, uint64_t target, unsigned wal_block,
                                             long ms_left);

/* The pause before probe number attempt (0, 1, ...) of a standby that is behind: 1 ms
 * doubling up to 32 ms, never past ms_left. */
long markr_replica_poll_ms(int attempt, long ms_left);

#endif
