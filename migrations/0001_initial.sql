-- 0001_initial: the import vault and the marks.
--
-- Applied by `markr migrate` inside one transaction, together with its row in
-- schema_migrations (which the migrator creates itself). It is plain SQL, so an operator
-- can also apply it by hand: `psql -v ON_ERROR_STOP=1 -1 -f migrations/0001_initial.sql`.
-- Never edit this file once applied anywhere: add a new migration instead (ADR 0004).

-- The import vault (rule 5, "raw first"): every document received, accepted or refused,
-- kept verbatim so that it can be traced and reprocessed when the parsing rules change.
-- Rows are only ever inserted; ids grow in order of receipt.
CREATE TABLE imports (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at  timestamptz NOT NULL DEFAULT now(),
    content_type text        NOT NULL,
    size_bytes   bigint      NOT NULL CHECK (size_bytes >= 0),
    sha256       bytea       NOT NULL CHECK (octet_length(sha256) = 32),
    -- bytea, not text: a refused document may not even be valid UTF-8.
    body         bytea       NOT NULL,
    status       text        NOT NULL CHECK (status IN ('accepted', 'rejected')),
    -- Why a document was refused, as the error answer gave it:
    -- {"error", "message", "result_index", "line", "field"}, absent keys left out.
    reason       jsonb,
    -- Results read before the verdict (all of them when accepted).
    result_count integer     NOT NULL CHECK (result_count >= 0),
    CONSTRAINT imports_size_is_body_length CHECK (size_bytes = octet_length(body)),
    CONSTRAINT imports_reason_iff_rejected CHECK ((status = 'accepted') = (reason IS NULL))
);

-- Bodies are large XML (a 10,000-result document is about 17 MB). lz4 halves the time of
-- storing one against the default pglz (about 90 ms instead of 190 ms here, transfer
-- included), for 1.8 MB on disk instead of 1.1 MB.
ALTER TABLE imports ALTER COLUMN body SET COMPRESSION lz4;

-- Operators list refused imports, newest first.
CREATE INDEX imports_status_id_idx ON imports (status, id);

-- One row per (test, student) after the duplicate rule (rule 2): the highest obtained and,
-- independently, the highest available ever received. Names are kept from the latest
-- document that had them.
CREATE TABLE marks (
    test_id        text        NOT NULL,
    student_number text        NOT NULL,
    first_name     text,
    last_name      text,
    available      integer     NOT NULL CHECK (available > 0),
    obtained       integer     NOT NULL CHECK (obtained >= 0),
    -- The import that last raised available or obtained: an imports.id. Deliberately not
    -- a FOREIGN KEY: its check is a trigger call per row, 54 ms of a 10,000-mark import (a
    -- fifth of its database time), guarding a link that the one statement writing marks
    -- takes from the vault row it inserts itself; vault rows are never deleted (ADR 0003).
    import_id      bigint      NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT marks_obtained_within_available CHECK (obtained <= available),
    -- The key is also the index of the aggregate: it finds a test's rows by test_id, and
    -- INCLUDE carries the two marks, so the aggregate is an index-only scan that never
    -- reads the table (see ADR 0003 for the measurements).
    PRIMARY KEY (test_id, student_number) INCLUDE (available, obtained)
);
