-- 0008: the Content-Encoding a document arrived in (ADR 0023).
--
-- POST /import decodes gzip and deflate bodies before anything is stored: the vault keeps the
-- decoded document (what the parser read, what GET /imports/{id}/raw serves, what a rebuild
-- judges again), and this column says how it came over the wire. Rows from before are
-- 'identity', as every body was then.
ALTER TABLE imports ADD COLUMN content_encoding text NOT NULL DEFAULT 'identity'
    CHECK (content_encoding IN ('identity', 'gzip', 'deflate'));
