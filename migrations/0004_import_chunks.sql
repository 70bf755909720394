-- 0004_import_chunks: the vault keeps each body as ordered chunks (issue 6, ADR 0018).
--
-- Until now a body was one bytea value in imports.body: the server received it as one
-- protocol message, hashed it with sha256() and compressed it on its single backend. Markr
-- now streams it with COPY ... FROM STDIN (FORMAT binary) as 1 MiB rows and computes the
-- SHA-256 itself, which is 3-4 times faster for large documents. The imports row stays the
-- vault's index: id, received_at, content_type, size_bytes, sha256, status, reason,
-- result_count, processed_at.
--
-- Applied by `markr migrate` inside one transaction. Plain SQL: an operator can also apply
-- it by hand with `psql -v ON_ERROR_STOP=1 -1 -f migrations/0004_import_chunks.sql`.
-- Never edit this file once applied anywhere: add a new migration instead (ADR 0004).

-- The bytes of import `import_id`, in order of seq (0, 1, 2, ... without gaps): the body is
-- the concatenation of `bytes` ORDER BY seq, and its length is imports.size_bytes. Markr
-- writes chunks of 1 MiB (the last one shorter); an empty body has no chunk at all. Chunks
-- are written in the same transaction as their imports row and never change afterwards.
CREATE TABLE import_chunks (
    import_id bigint  NOT NULL REFERENCES imports (id),
    seq       integer NOT NULL CHECK (seq >= 0),
    bytes     bytea   NOT NULL,
    PRIMARY KEY (import_id, seq)
);
-- XML compresses well and lz4 costs little: measured on a 172 MB document, 0.42-0.65 s to
-- COPY it as lz4 chunks against 1.35 s uncompressed (more bytes written to the TOAST table).
ALTER TABLE import_chunks ALTER COLUMN bytes SET COMPRESSION lz4;

-- Existing bodies move into chunks of 1 MiB (1048576 bytes); the last one holds the rest.
INSERT INTO import_chunks (import_id, seq, bytes)
SELECT i.id, s.seq, substring(i.body FROM s.seq * 1048576 + 1 FOR 1048576)
FROM imports AS i
CROSS JOIN LATERAL generate_series(0, ((octet_length(i.body) - 1) / 1048576)::integer) AS s(seq)
WHERE octet_length(i.body) > 0
ORDER BY i.id, s.seq;

-- The body column, and its CHECK that tied size_bytes to it, go: size_bytes and sha256 are
-- now computed by markr from the bytes it streams (a CHECK cannot see other rows).
ALTER TABLE imports DROP CONSTRAINT imports_size_is_body_length;
ALTER TABLE imports DROP COLUMN body;
