-- 0012: a long answer sheet is compressed with lz4, as the vault's bodies are (0001, 0004).
--
-- A row of answer_sheets is compressed once it passes about 2 kB (its arrays past some 70
-- answers of the sample's shape; a 20-question sheet, about 600 bytes, never is). With the
-- default pglz, inserting 10,000 sheets of 100 answers took 360-460 ms (median 391) of
-- compression and writing; with lz4 190-310 ms (median 216), for 16.7 MB on disk instead of
-- 14.0 MB (bench/README.md). Sheets stored before keep their pglz values until rewritten;
-- both read back the same.
ALTER TABLE answer_sheets
    ALTER COLUMN questions SET COMPRESSION lz4,
    ALTER COLUMN responses SET COMPRESSION lz4,
    ALTER COLUMN awarded SET COMPRESSION lz4,
    ALTER COLUMN available SET COMPRESSION lz4;
