-- The database work of one 30-result import, as a pgbench script (scripts/bench-import.sh
-- runs it with -M prepared, -D body=<the same 16 KiB document markr imports>): the vault
-- row with the body's SHA-256, the body as one chunk, and 30 new marks upserted under
-- rule 2 (the highest available and obtained). One transaction, committed durably.
\set n random(1, 2000000000)
BEGIN;
INSERT INTO imports (content_type, size_bytes, sha256, status, result_count)
VALUES ('text/xml+markr', octet_length(convert_to(:body, 'UTF8')), sha256(convert_to(:body, 'UTF8')), 'accepted', 30)
RETURNING id AS import_id \gset
INSERT INTO import_chunks (import_id, seq, bytes) VALUES (:import_id, 0, convert_to(:body, 'UTF8'));
INSERT INTO marks AS m (test_id, student_number, first_name, last_name, available, obtained, import_id, updated_at)
SELECT 'pgbench-' || :n || '-' || :client_id, lpad(g::text, 9, '0'), 'First' || g, 'Last' || g, 3, g % 4,
       :import_id, now()
FROM generate_series(1, 30) AS g
ON CONFLICT (test_id, student_number) DO UPDATE SET
    available = GREATEST(m.available, EXCLUDED.available),
    obtained  = GREATEST(m.obtained, EXCLUDED.obtained);
COMMIT;
