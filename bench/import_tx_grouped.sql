-- The database work of four 30-result imports done as one group (ADR 0039, proposed, not
-- built): bench/import_tx_full.sql's work for each of four imports of four new tests, in one
-- durable transaction with one statement per kind of row (the four vault rows with their
-- bodies, the 120 marks with their sheets, the four names rows), then the four announcements
-- in a transaction of their own. Multiply its tps by 4 for imports per second. Measured
-- beside import_tx.sql with the same -D body=<document> (bench/README.md):
--   pgbench -n -M prepared -f bench/import_tx_grouped.sql -D body="$(cat doc30.xml)" -c 2 -j 2 -T 5
\set n random(1, 2000000000)
BEGIN;
WITH vault AS (
    INSERT INTO imports (content_type, size_bytes, sha256, status, result_count)
    SELECT 'text/xml+markr', octet_length(convert_to(:body, 'UTF8')), sha256(convert_to(:body, 'UTF8')), 'accepted', 30
    FROM generate_series(1, 4)
    RETURNING id
), chunks AS (
    INSERT INTO import_chunks (import_id, seq, bytes) SELECT id, 0, convert_to(:body, 'UTF8') FROM vault
)
SELECT array_agg(id ORDER BY id) AS ids FROM vault \gset
-- Import k (0..3) is the k+1-th of the four ids, as markr would read them back. :ids::bigint[]
-- is a parameter of that type under -M prepared: parsed once, at the bind.
INSERT INTO marks AS m (test_id, student_number, first_name, last_name, available, obtained, import_id, updated_at,
                        sheet_import_id, sheet_total, sheet_questions, sheet_responses, sheet_awarded, sheet_available)
SELECT 'pgbench-' || :n || '-' || :client_id || '-' || k, lpad(g::text, 9, '0'), 'First' || g, 'Last' || g, 3, g % 4,
       (:ids::bigint[])[k + 1], now(), (:ids::bigint[])[k + 1], 3, '{0,1,2}', '{B,C,D}', '{1,1,1}', '{1,1,1}'
FROM generate_series(0, 3) AS k, generate_series(1, 30) AS g
ORDER BY 1, 2
ON CONFLICT (test_id, student_number) DO UPDATE SET
    available = GREATEST(m.available, EXCLUDED.available),
    obtained  = GREATEST(m.obtained, EXCLUDED.obtained);
INSERT INTO import_names (test_id, import_id, student_numbers, first_names, last_names)
SELECT 'pgbench-' || :n || '-' || :client_id || '-' || k, (:ids::bigint[])[k + 1], array_agg(s), array_agg(f), array_agg(l)
FROM (SELECT DISTINCT k, lpad(g::text, 9, '0'), 'First' || g, 'Last' || g FROM generate_series(0, 3) AS k, generate_series(1, 30) AS g
      ORDER BY 1, 2, 3, 4) AS n(k, s, f, l)
GROUP BY k;
COMMIT;
SELECT pg_notify('markr_bench_announcement', 'x' || k) FROM generate_series(1, 4) AS k;
