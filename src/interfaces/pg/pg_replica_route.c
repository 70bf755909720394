/*
 * The read pool's decisions (pg_replica_route.h): plain C over plain values.
 */
#include "pg_replica_route.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether s (after spaces) starts a new entry: a URI scheme or a conninfo keyword and '=',
 * or nothing at all (a trailing comma leaves an empty entry, which is refused). */
static int starts_entry(const char *s)
{
    const char *k;

    while (*s == ' ' || *s == '\t')
        ++s;
    if (*s == '\0')
        return 1;
    if (strncmp(s, "postgresql://", 13) == 0 || strncmp(s, "postgres://", 11) == 0)
        return 1;
    for (k = s; isalnum((unsigned char)*k) || *k == '_'; ++k)
        ;
    if (k == s)
        return 0;
    while (*k == ' ' || *k == '\t')
        ++k;
    return *k == '=';
}

static char *trimmed_copy(const char *from, const char *to)
{
    while (from < to && isspace((unsigned char)*from))
        ++from;
    while (to > from && isspace((unsigned char)to[-1]))
        --to;
    return strndup(from, (size_t)(to - from));
}

int markr_replica_list_split(const char *list, char **entries, size_t max, char *why, size_t why_len)
{
    const char *start = list, *p;
    int quoted = 0;
    size_t n = 0;

    if (strlen(list) > MARKR_REPLICA_LIST_MAX) {
        snprintf(why, why_len, "longer than %d bytes", MARKR_REPLICA_LIST_MAX);
        return -1;
    }
    for (p = list;; ++p) {
        if (*p == '\\' && quoted && p[1] != '\0') {
            ++p; /* an escaped character inside quotes (\' or \\) */
            continue;
        }
        if (*p == '\'')
            quoted = !quoted;
        if (*p != '\0' && !(*p == ',' && !quoted && starts_entry(p + 1)))
            continue;
        if (n == max) {
            snprintf(why, why_len, "more than %zu standbys", max);
            goto fail;
        }
        if ((entries[n] = trimmed_copy(start, p)) == NULL) {
            snprintf(why, why_len, "out of memory");
            goto fail;
        }
        if (entries[n++][0] == '\0') {
            snprintf(why, why_len, "entry %zu is empty", n);
            goto fail;
        }
        if (*p == '\0')
            return (int)n;
        start = p + 1;
    }
fail:
    while (n > 0)
        free(entries[--n]);
    return -1;
}

int markr_lsn_parse(const char *text, uint64_t *lsn)
{
    char *end;
    unsigned long long hi, lo;

    if (!isxdigit((unsigned char)text[0]))
        return -1;
    hi = strtoull(text, &end, 16);
    if (*end != '/' || !isxdigit((unsigned char)end[1]) || hi > UINT32_MAX)
        return -1;
    lo = strtoull(end + 1, &end, 16);
    if (*end != '\0' || lo > UINT32_MAX)
        return -1;
    *lsn = (uint64_t)hi << 32 | lo;
    return 0;
}

void markr_lsn_format(uint64_t lsn, char *buf, size_t len)
{
    snprintf(buf, len, "%" PRIX32 "/%" PRIX32, (uint32_t)(lsn >> 32), (uint32_t)lsn);
}

const char *markr_standby_state_name(enum markr_standby_state state)
{
    switch (state) {
    case MARKR_STANDBY_UP: return "up";
    case MARKR_STANDBY_DOWN: return "down";
    case MARKR_STANDBY_LAGGING: return "lagging";
    case MARKR_STANDBY_NOT_IN_RECOVERY: return "not_in_recovery";
    default: return "unknown";
    }
}

const char *markr_standby_skip_reason(enum markr_standby_state state)
{
    return state == MARKR_STANDBY_LAGGING           ? "lag"
           : state == MARKR_STANDBY_NOT_IN_RECOVERY ? "not_in_recovery"
                                                    : "down";
}

int markr_replica_pick(const struct markr_standby_view *standbys, size_t n, size_t start, int64_t now_ms)
{
    for (size_t k = 0; k < n; ++k) {
        size_t i = (start + k) % n;

        if (standbys[i].retry_at_ms <= now_ms)
            return (int)i;
    }
    return -1;
}

unsigned markr_replica_backoff(unsigned previous_ms)
{
    return previous_ms == 0 ? 100 : previous_ms >= 1000 ? 2000 : previous_ms * 2;
}

/* No record ends within this many bytes after a page boundary (see the header). */
#define PAGE_START_GAP 40

int markr_replica_covers(uint64_t replayed, uint64_t target, unsigned wal_block)
{
    if (replayed >= target)
        return 1;
    return wal_block != 0 && replayed % wal_block == 0 && target - replayed <= PAGE_START_GAP;
}

enum markr_probe_verdict markr_replica_judge(int in_recovery, uint64_t replayed, uint64_t target, unsigned wal_block,
                                             long ms_left)
{
    if (!in_recovery)
        return MARKR_PROBE_NOT_IN_RECOVERY;
    if (markr_replica_covers(replayed, target, wal_block))
        return MARKR_PROBE_USE;
    return ms_left > 0 ? MARKR_PROBE_WAIT : MARKR_PROBE_LAGGING;
}

long markr_replica_poll_ms(int attempt, long ms_left)
{
    long ms = attempt >= 5 ? 32 : 1L << attempt;

    return ms < ms_left ? ms : ms_left > 0 ? ms_left : 0;
}
