-- 0016: ANALYZE no longer samples the arrays of the answer sheets and of the names.
--
-- For an array column ANALYZE sorts the sampled arrays whole (element by element, under
-- the column's collation) and counts their most common elements: for marks (0014) four
-- such columns in every sampled row. On 79,000 marks of sample-shaped 20-answer sheets,
-- ANALYZE marks took 698-935 ms with them and 164-228 ms without (bench/README.md, ADR
-- 0036); autovacuum runs it each time about a tenth of the table is new, on the cores the
-- imports use. No statement filters, joins or sorts on these arrays, and PostgreSQL 15
-- plans unnest() of a column without its statistics, so no plan changes. The statistics
-- gathered before stay in pg_statistic (the planner still reads them) until the column is
-- dropped; a database made after 0016 has none.
--
-- SET STATISTICS takes a SHARE UPDATE EXCLUSIVE lock: imports and reads go on meanwhile.
ALTER TABLE marks
    ALTER COLUMN sheet_questions SET STATISTICS 0,
    ALTER COLUMN sheet_responses SET STATISTICS 0,
    ALTER COLUMN sheet_awarded SET STATISTICS 0,
    ALTER COLUMN sheet_available SET STATISTICS 0;

ALTER TABLE import_names
    ALTER COLUMN student_numbers SET STATISTICS 0,
    ALTER COLUMN first_names SET STATISTICS 0,
    ALTER COLUMN last_names SET STATISTICS 0;
