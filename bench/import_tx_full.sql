-- The whole database work of one 30-result import as markr does it today, as a pgbench
-- script beside bench/import_tx.sql (the baseline the targets are set against, which
-- predates the names rows and the answer sheets): the vault row, the body as one chunk, 30
-- new marks with their answer sheets of 3 answers in the marks rows (item analysis,
-- migration 0014), its names row (its 30 distinct names as three sorted arrays, GET
-- /tests/{id}/conflicts, migration 0015; also the record of the import's test, migration
-- 0017), one durable transaction, then the announcement in a transaction of its own (ADR
-- 0024; on a channel no markr listens to).
-- Every transaction's test is new, as in import_tx.sql, so the upsert's conflict branch
-- never runs: rule 2 and the kept-sheet rule of pg_marks.c are not copied here.
-- scripts/bench-import.sh runs it with -M prepared, -D body=<the document>, to tell what
-- markr adds to its own database work from what that work costs.
\set n random(1, 2000000000)
BEGIN;
INSERT INTO imports (content_type, size_bytes, sha256, status, result_count)
VALUES ('text/xml+markr', octet_length(convert_to(:body, 'UTF8')), sha256(convert_to(:body, 'UTF8')), 'accepted', 30)
RETURNING id AS import_id \gset
INSERT INTO import_chunks (import_id, seq, bytes) VALUES (:import_id, 0, convert_to(:body, 'UTF8'));
INSERT INTO marks AS m (test_id, student_number, first_name, last_name, available, obtained, import_id, updated_at,
                        sheet_import_id, sheet_total, sheet_questions, sheet_responses, sheet_awarded, sheet_available)
SELECT 'pgbench-' || :n || '-' || :client_id, lpad(g::text, 9, '0'), 'First' || g, 'Last' || g, 3, g % 4,
       :import_id, now(), :import_id, 3, '{0,1,2}', '{B,C,D}', '{1,1,1}', '{1,1,1}'
FROM generate_series(1, 30) AS g
ON CONFLICT (test_id, student_number) DO UPDATE SET
    available = GREATEST(m.available, EXCLUDED.available),
    obtained  = GREATEST(m.obtained, EXCLUDED.obtained);
INSERT INTO import_names (test_id, import_id, student_numbers, first_names, last_names)
SELECT 'pgbench-' || :n || '-' || :client_id, :import_id, array_agg(s), array_agg(f), array_agg(l)
FROM (SELECT DISTINCT lpad(g::text, 9, '0'), 'First' || g, 'Last' || g FROM generate_series(1, 30) AS g
      ORDER BY 1, 2, 3) AS n(s, f, l);
COMMIT;
SELECT pg_notify('markr_bench_announcement', 'x');
