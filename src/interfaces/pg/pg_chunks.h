/*
 * How the vault stores a body (ADR 0018): as ordered 1 MiB rows of import_chunks, streamed
 * with binary COPY from the bytes in memory, with the SHA-256 computed here (OpenSSL)
 * instead of by the server. Private to the PostgreSQL adapter, like pg_internal.h.
 */
#ifndef MARKR_INTERFACES_PG_CHUNKS_H
#define MARKR_INTERFACES_PG_CHUNKS_H

#include <stddef.h>
#include <stdint.h>

#include "pg_internal.h"

/* Bytes per row of import_chunks (the last row of a body holds the rest). */
#define MARKR_PG_CHUNK_BYTES (1024 * 1024)

/* The SHA-256 an imports row holds from its INSERT until markr_pg_chunks_write sets the real
 * one, in the same transaction (32 zero bytes: the column's CHECK wants 32 bytes). Nobody
 * else ever sees it. SQL text, for the VALUES of the INSERT. */
#define MARKR_PG_SHA256_PENDING "decode(repeat('00', 32), 'hex')"

/* Inside the open transaction that inserted the imports row id: streams body as its chunks
 * (COPY FROM STDIN, binary), hashing each chunk while the server stores the previous one,
 * then sets the row's sha256. Returns 0, or -1 with err (markr_pg_fail: the transaction is
 * then aborted). */
int markr_pg_chunks_write(struct markr_pg *pg, int64_t id, const char *body, size_t len, struct markr_error *err);

/* The same without setting the row's sha256: the body's SHA-256 is left in digest, for a
 * later statement of the same transaction to store (pg_store.c's verdict, ADR 0033).
 * Returns 0, or -1 with err. */
int markr_pg_chunks_copy(struct markr_pg *pg, int64_t id, const char *body, size_t len, unsigned char digest[32],
                         struct markr_error *err);

/* The SHA-256 of a body that goes in one statement with its vault row (at most one
 * chunk, pg_store.c). Returns 0, or -1 with err. */
int markr_pg_sha256(const char *body, size_t len, unsigned char digest[32], struct markr_error *err);

/* Reads the chunks of import id in order into a malloc'd buffer of size bytes (*body, at
 * least 1 byte allocated), one row at a time (single-row mode), so the client never holds
 * more than the body and one chunk. Fails (MARKR_ERR_INTERNAL "database_error") when the
 * chunks are not 0, 1, 2, ... or do not add up to size. Returns 0, or -1 with err. */
int markr_pg_chunks_read(struct markr_pg *pg, int64_t id, size_t size, char **body, struct markr_error *err);

/* Chunk seq of import id alone (single-row mode, binary): *bytes malloc'd, *len bytes, for a
 * download that holds one chunk at a time. Returns 1, 0 when there is no such chunk, -1 with
 * err (also for a row longer than MARKR_PG_CHUNK_BYTES). Whether the chunks make the body
 * is the caller's to check (markr_read_raw_chunk). */
int markr_pg_chunk_read_one(struct markr_pg *pg, int64_t id, int32_t seq, char **bytes, size_t *len,
                            struct markr_error *err);

#endif
