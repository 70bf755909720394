/*
 * The vault's bodies as ordered chunks (ADR 0018): SHA-256 in the client, binary COPY
 * streamed from the bytes in memory, and chunks read back one row at a time. The COPY and
 * the row-by-row read start through pg_conn.c like every other statement.
 */
#include "pg_chunks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

/* --- writing ------------------------------------------------------------------------------------ */

static unsigned char *put16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
    return p + 2;
}

static unsigned char *put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
    return p + 4;
}

/* Sends n bytes of copy data; on failure, the connection is lost (libpq's message says why). */
static int put(struct markr_pg *pg, const void *bytes, size_t n)
{
    return PQputCopyData(pg->conn, bytes, (int)n) == 1 ? 0 : -1;
}

/* Reads the results of a COPY until none is left: the first failure becomes err (the
 * server's refusal when there is one, else the lost connection). sent is 0 when the data
 * could not all be sent; the COPY is then ended as failed, if libpq still is in it. */
static int finish_copy(struct markr_pg *pg, int sent, struct markr_error *err)
{
    int failed = 0, ended = sent;
    PGresult *res;

    while ((res = PQgetResult(pg->conn)) != NULL) {
        ExecStatusType st = PQresultStatus(res);

        if (st == PGRES_COPY_IN) {
            PQclear(res);
            if (ended || PQputCopyEnd(pg->conn, "the body could not be sent") != 1)
                break;
            ended = 1;
            continue;
        }
        if (st != PGRES_COMMAND_OK && !failed) {
            markr_pg_fail(pg, res, "storing the body", err);
            failed = 1;
        }
        PQclear(res);
    }
    if (!sent && !failed) {
        markr_pg_fail(pg, NULL, "storing the body", err);
        failed = 1;
    }
    return failed ? -1 : 0;
}

/*
 * The binary COPY format: an 11-byte signature, a 32-bit flags field and a 32-bit header
 * extension length (both 0); then per row a 16-bit field count and, per field, a 32-bit byte
 * length and the bytes in the type's binary form (int8 and int4 big-endian, bytea as is);
 * then a 16-bit -1. The body itself is never copied by us: each chunk goes from the
 * caller's buffer to libpq's output buffer, which sends it while the next is queued.
 */
static int copy_chunks(struct markr_pg *pg, int64_t id, const char *body, size_t len, EVP_MD_CTX *sha,
                       struct markr_error *err)
{
    static const unsigned char header[19] = "PGCOPY\n\377\r\n";
    int rc = 0;

    if (markr_pg_copy_in(pg, "storing the body",
                         "COPY import_chunks (import_id, seq, bytes) FROM STDIN (FORMAT binary)", err) != 0)
        return -1;
    rc |= put(pg, header, sizeof(header));
    for (size_t at = 0, seq = 0; rc == 0 && at < len; at += MARKR_PG_CHUNK_BYTES, ++seq) {
        size_t n = len - at < MARKR_PG_CHUNK_BYTES ? len - at : MARKR_PG_CHUNK_BYTES;
        unsigned char row[26], *p = row;

        p = put16(p, 3);
        p = put32(p, 8);
        p = put32(p, (uint32_t)((uint64_t)id >> 32));
        p = put32(p, (uint32_t)id);
        p = put32(p, 4);
        p = put32(p, (uint32_t)seq);
        p = put32(p, (uint32_t)n);
        rc |= put(pg, row, (size_t)(p - row));
        rc |= put(pg, body + at, n);
        /* The server compresses and writes this chunk meanwhile (the other core). */
        if (rc == 0 && EVP_DigestUpdate(sha, body + at, n) != 1) {
            PQputCopyEnd(pg->conn, "hashing the body failed");
            finish_copy(pg, 1, err);
            return markr_error_set(err, MARKR_ERR_INTERNAL, "digest_failed", "hashing the body failed");
        }
    }
    if (rc == 0) {
        unsigned char trailer[2];

        put16(trailer, 0xffff);
        rc |= put(pg, trailer, sizeof(trailer));
    }
    if (rc == 0 && PQputCopyEnd(pg->conn, NULL) != 1)
        rc = -1;
    /* A refusal from the server (a failed check, a trigger) comes back as the COPY's result,
     * possibly before all the data was sent (libpq then refuses more data). */
    return finish_copy(pg, rc == 0, err);
}

int markr_pg_chunks_copy(struct markr_pg *pg, int64_t id, const char *body, size_t len, unsigned char digest[32],
                         struct markr_error *err)
{
    EVP_MD_CTX *sha = EVP_MD_CTX_new();
    unsigned int n = 0;
    int rc;

    /* OpenSSL uses the CPU's SHA extensions when there are (about 0.6 ms per MB here). */
    if (sha == NULL || EVP_DigestInit_ex(sha, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(sha);
        return markr_error_set(err, MARKR_ERR_INTERNAL, "digest_failed", "hashing the body failed");
    }
    rc = copy_chunks(pg, id, body, len, sha, err);
    if (rc == 0 && (EVP_DigestFinal_ex(sha, digest, &n) != 1 || n != 32))
        rc = markr_error_set(err, MARKR_ERR_INTERNAL, "digest_failed", "hashing the body failed");
    EVP_MD_CTX_free(sha);
    return rc;
}

int markr_pg_chunks_write(struct markr_pg *pg, int64_t id, const char *body, size_t len, struct markr_error *err)
{
    unsigned char digest[32];
    struct markr_pg_params params = {0};

    if (markr_pg_chunks_copy(pg, id, body, len, digest, err) != 0)
        return -1;
    markr_pg_param_int8(&params, id);
    markr_pg_param_binary(&params, MARKR_PG_BYTEA, (const char *)digest, sizeof(digest));
    return markr_pg_command(pg, "storing the body's SHA-256", "UPDATE imports SET sha256 = $2 WHERE id = $1",
                            &params, err);
}

int markr_pg_sha256(const char *body, size_t len, unsigned char digest[32], struct markr_error *err)
{
    unsigned int n = 0;

    /* EVP_Digest: one call, the same CPU extensions as the streaming hash above. */
    if (EVP_Digest(body, len, digest, &n, EVP_sha256(), NULL) != 1 || n != 32)
        return markr_error_set(err, MARKR_ERR_INTERNAL, "digest_failed", "hashing the body failed");
    return 0;
}

/* --- reading ------------------------------------------------------------------------------------ */

static int32_t get32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;

    return (int32_t)((uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | (uint32_t)u[3]);
}

int markr_pg_chunks_read(struct markr_pg *pg, int64_t id, size_t size, char **body, struct markr_error *err)
{
    static const char sql[] = "SELECT seq, bytes FROM import_chunks WHERE import_id = $1 ORDER BY seq";
    struct markr_pg_params params = {0};
    size_t at = 0;
    int32_t seq = 0;
    int rc = 0, broken = 0;
    PGresult *res;

    *body = NULL;
    markr_pg_param_int8(&params, id);
    if (markr_pg_send_single_rows(pg, "reading a body", sql, &params, err) != 0)
        return -1;
    if ((*body = malloc(size != 0 ? size : 1)) == NULL) {
        rc = markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
        broken = 1; /* the rows are still read, and dropped */
    }
    while ((res = PQgetResult(pg->conn)) != NULL) {
        ExecStatusType st = PQresultStatus(res);

        if (st == PGRES_SINGLE_TUPLE && !broken) {
            size_t n = (size_t)PQgetlength(res, 0, 1);

            if (PQgetlength(res, 0, 0) != 4 || get32(PQgetvalue(res, 0, 0)) != seq++ || n > size - at) {
                rc = markr_error_set(err, MARKR_ERR_INTERNAL, "database_error",
                                     "the stored chunks of import %lld do not make its body", (long long)id);
                broken = 1;
            } else {
                memcpy(*body + at, PQgetvalue(res, 0, 1), n);
                at += n;
            }
        } else if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK && rc == 0) {
            rc = markr_pg_fail(pg, res, "reading a body", err);
        }
        PQclear(res);
    }
    if (rc == 0 && at != size)
        rc = markr_error_set(err, MARKR_ERR_INTERNAL, "database_error",
                             "the stored chunks of import %lld hold %zu bytes, not %zu", (long long)id, at, size);
    if (rc != 0) {
        free(*body);
        *body = NULL;
    }
    return rc;
}

int markr_pg_chunk_read_one(struct markr_pg *pg, int64_t id, int32_t seq, char **bytes, size_t *len,
                            struct markr_error *err)
{
    static const char sql[] = "SELECT bytes FROM import_chunks WHERE import_id = $1 AND seq = $2";
    struct markr_pg_params params = {0};
    int rc = 0, found = 0;
    PGresult *res;

    *bytes = NULL;
    *len = 0;
    markr_pg_param_int8(&params, id);
    markr_pg_param_int4(&params, seq);
    if (markr_pg_send_single_rows(pg, "reading a chunk of a body", sql, &params, err) != 0)
        return -1;
    /* (import_id, seq) is the key: one row at most, and every result is read to the end. */
    while ((res = PQgetResult(pg->conn)) != NULL) {
        ExecStatusType st = PQresultStatus(res);

        if (st == PGRES_SINGLE_TUPLE && rc == 0 && !found) {
            size_t n = (size_t)PQgetlength(res, 0, 0);

            found = 1;
            if (n > MARKR_PG_CHUNK_BYTES) {
                rc = markr_error_set(err, MARKR_ERR_INTERNAL, "database_error",
                                     "chunk %d of import %lld is larger than a chunk", (int)seq, (long long)id);
            } else if ((*bytes = malloc(n != 0 ? n : 1)) == NULL) {
                rc = markr_pg_oom(err);
            } else {
                memcpy(*bytes, PQgetvalue(res, 0, 0), n);
                *len = n;
            }
        } else if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK && rc == 0) {
            rc = markr_pg_fail(pg, res, "reading a chunk of a body", err);
        }
        PQclear(res);
    }
    if (rc != 0) {
        free(*bytes);
        *bytes = NULL;
        *len = 0;
        return -1;
    }
    return found;
}
