-- 0013: GET /imports?sha256= from an index.
--
-- A client answered 503 outcome_unknown (the connection was lost during its COMMIT, ADR
-- 0022) asks whether its document was stored by the body's SHA-256, the one way to tell
-- without sending it again. Without an index that lookup read every row of imports (a seq
-- scan growing with the vault); with it, one index probe. Each import adds one 32-byte key.
CREATE INDEX imports_sha256_idx ON imports (sha256);
