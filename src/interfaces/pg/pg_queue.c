/*
 * The queue of asynchronous imports over PostgreSQL (ADR 0011): a queued row with its body
 * as chunks and a notification at commit, claims with SKIP LOCKED, and a LISTEN to wait
 * on. Processing a claimed import is the application's (markr_process_queued), through
 * pg_rebuild.c.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_chunks.h"
#include "pg_internal.h"
#include "pg_vault.h"

#define QUEUE_CHANNEL "markr_import_queued"

/* The queued row, its body as chunks, and the notification, in one transaction (ADR 0018).
 * The notification is sent at commit, so a waiting server never looks before the row and
 * its chunks are visible. */
struct enqueue_step {
    struct markr_pg_params row;
    const char *body;
    size_t len;
    int64_t id;
};

static int enqueue_step(struct markr_pg *pg, void *arg, struct markr_error *err)
{
    static const char enqueue_sql[] =
        "INSERT INTO imports (content_type, size_bytes, sha256, status, result_count, content_encoding)\n"
        "VALUES ($1, $2, " MARKR_PG_SHA256_PENDING ", 'queued', 0, $3)\n"
        "RETURNING id";
    static const char notify_sql[] = "SELECT pg_notify('" QUEUE_CHANNEL "', $1::text)";
    struct enqueue_step *s = arg;
    struct markr_pg_params params = {0};
    PGresult *res;

    s->id = 0;
    if ((res = markr_pg_exec(pg, "queueing the import", enqueue_sql, &s->row, err)) == NULL)
        return -1;
    if (PQntuples(res) == 1)
        s->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    if (s->id <= 0)
        return markr_error_set(err, MARKR_ERR_INTERNAL, "database_error", "the database returned no import id");
    if (markr_pg_chunks_write(pg, s->id, s->body, s->len, err) != 0)
        return -1;
    markr_pg_param_int8(&params, s->id);
    return markr_pg_command(pg, "announcing the queued import", notify_sql, &params, err);
}

static int queue_enqueue(void *ctx, const char *content_type, const char *content_encoding, const char *body,
                         size_t len, int64_t *import_id, struct markr_error *err)
{
    struct markr_pg *pg = ctx;
    struct enqueue_step step = {.body = body, .len = len};
    char *type = markr_pg_utf8_copy(content_type);
    int rc;

    *import_id = 0;
    if (type == NULL)
        return markr_pg_oom(err);
    markr_pg_param_text(&step.row, MARKR_PG_TEXT, type);
    markr_pg_param_int8(&step.row, (int64_t)len);
    markr_pg_param_text(&step.row, MARKR_PG_TEXT, markr_pg_content_encoding(content_encoding));
    if ((rc = markr_pg_transaction(pg, "queueing the import", enqueue_step, &step, err)) == 0)
        *import_id = step.id;
    free(type);
    return rc;
}

/*
 * A live worker holds the row lock of the import it processes for the whole of its
 * transaction (markr_process_queued), so SKIP LOCKED passes over it. Between a claim's
 * commit and that lock the row is unlocked, so a claim also records its session (migration
 * 0018: the backend's pid and start time), and a 'processing' row is claimed again only
 * when that session has ended (its server died or lost the connection) or is the one
 * claiming (its processing failed without a verdict). Otherwise every runner woken by the
 * same notification could claim the same import in that moment, each claim counting one of
 * its attempts. A claimer of another database role cannot see the session's start time
 * (pg_stat_activity hides it) and takes it for ended: such a second claim counts an attempt,
 * as every one did before 0018 (hence one role for all instances, ADR 0011), but is still
 * harmless to the import's outcome, as the second processor waits for the lock and then
 * finds the import no longer 'processing'.
 */
#define CLAIM_LAPSED                                                                                       \
    "(i.claimer_pid IS NULL OR i.claimer_pid = pg_backend_pid() OR NOT EXISTS (\n"                         \
    "     SELECT 1 FROM pg_stat_get_activity(i.claimer_pid) AS a WHERE a.backend_start = i.claimer_start))"
/* Claims of one import before it is given up (migration 0005): a claim that keeps failing
 * without a verdict must not hold up the imports queued behind it. */
#define QUEUE_MAX_ATTEMPTS "5"

static int queue_claim(void *ctx, int64_t *import_id, struct markr_error *err)
{
    static const char claim_sql[] =
        "WITH given_up AS (\n"
        "    UPDATE imports SET status = 'rejected', processed_at = now(),\n"
        "        reason = jsonb_build_object('error', 'processing_failed', 'message',\n"
        "            format('processing failed %s times without a verdict; see the server logs, then run '\n"
        "                   '`markr reprocess --import %s`', attempts, id))\n"
        "    WHERE id IN (SELECT id FROM imports AS i WHERE status = 'processing'\n"
        "                 AND attempts >= " QUEUE_MAX_ATTEMPTS " AND " CLAIM_LAPSED "\n"
        "                 FOR UPDATE SKIP LOCKED)\n"
        ")\n"
        "UPDATE imports SET status = 'processing', attempts = attempts + 1, claimer_pid = pg_backend_pid(),\n"
        "    claimer_start = (SELECT backend_start FROM pg_stat_get_activity(pg_backend_pid()))\n"
        "WHERE id = (SELECT id FROM imports AS i WHERE (status = 'queued' OR status = 'processing' AND " CLAIM_LAPSED ")\n"
        "            AND attempts < " QUEUE_MAX_ATTEMPTS " ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)\n"
        "RETURNING id";
    struct markr_pg *pg = ctx;
    PGresult *res;
    int rc;

    *import_id = 0;
    if (markr_pg_ensure(pg, err) != 0 ||
        (res = markr_pg_exec_retrying(pg, "claiming a queued import", claim_sql, NULL, err)) == NULL)
        return -1;
    rc = PQntuples(res) == 1;
    if (rc)
        *import_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return rc;
}

static int queue_wait(void *ctx, int timeout_ms, struct markr_error *err)
{
    struct markr_pg *pg = ctx;
    PGnotify *note;
    PGresult *res;
    struct pollfd pfd;

    if (markr_pg_ensure(pg, err) != 0 ||
        (res = markr_pg_exec(pg, "listening for queued imports", "LISTEN " QUEUE_CHANNEL, NULL, err)) == NULL)
        return -1;
    PQclear(res);
    if ((note = PQnotifies(pg->conn)) == NULL) {
        pfd.fd = PQsocket(pg->conn);
        pfd.events = POLLIN;
        pfd.revents = 0;
        if (pfd.fd >= 0 && poll(&pfd, 1, timeout_ms) > 0)
            PQconsumeInput(pg->conn);
    } else {
        PQfreemem(note);
    }
    while ((note = PQnotifies(pg->conn)) != NULL)
        PQfreemem(note);
    return 0;
}

struct markr_import_queue markr_pg_import_queue(struct markr_pg *pg)
{
    return (struct markr_import_queue){.ctx = pg, .enqueue = queue_enqueue, .claim = queue_claim, .wait = queue_wait};
}
