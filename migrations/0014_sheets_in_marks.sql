-- 0014: the kept answer sheet moves into its marks row (ADR 0034).
--
-- answer_sheets (0006) held a second row per (test, student) beside marks, written by a
-- second statement that looked every pair up again in both tables; the sheet's columns now
-- live in the marks row and the statement of rule 2 writes them in its ON CONFLICT clause
-- (pg_marks.c). sheet_import_id is the import whose scan supplied the kept obtained (NULL:
-- no sheet recorded, a mark stored before sheets existed); the four arrays are NULL when
-- that scan had no valid answer. The kept sheet's obtained is the mark's, so it is not
-- stored twice. The arrays are compressed with lz4, as answer_sheets' were (0012).
--
-- What an operator meets: the copy rewrites every marks row that has a sheet (an UPDATE,
-- so marks holds two versions of those rows until VACUUM reclaims the old ones), under the
-- migration's lock, which holds off imports and readers of marks for its duration; on the
-- shared VM the copy took 1.35-1.65 s (two runs) for 100,000 marks with 20-answer sheets,
-- the CHECK's validation scan that follows 89 ms more (one run; ADR 0034). Stop every markr
-- instance before migrating: an older one writes answer_sheets, which is gone afterwards.
-- The type answer_sheet_columns (0011) stays: it is the type in which the statement
-- receives each sheet.
--
-- A sheet row is copied only when it is the sheet of the mark's obtained. A mark whose kept
-- scan had no valid answer had no row (the old statement deleted it) and is copied with
-- sheet_import_id NULL: which import supplied it is not known here, so a rebuild of one
-- older import with an equal obtained may still bring that import's sheet back until
-- `markr reprocess --all` has recorded every supplier.
-- Both tables first, in the order the readers of this version take them, so that no reader
-- of the old one (answer_sheets, then marks) deadlocks with this migration half-way.
LOCK TABLE marks, answer_sheets IN ACCESS EXCLUSIVE MODE;

ALTER TABLE marks
    ADD COLUMN sheet_import_id bigint,
    ADD COLUMN sheet_total     bigint,
    ADD COLUMN sheet_questions text[]    COMPRESSION lz4,
    ADD COLUMN sheet_responses text[]    COMPRESSION lz4,
    ADD COLUMN sheet_awarded   integer[] COMPRESSION lz4,
    ADD COLUMN sheet_available integer[] COMPRESSION lz4;

UPDATE marks AS m
SET sheet_import_id = a.import_id, sheet_total = a.total, sheet_questions = a.questions,
    sheet_responses = a.responses, sheet_awarded = a.awarded, sheet_available = a.available
FROM answer_sheets AS a
WHERE a.test_id = m.test_id AND a.student_number = m.student_number AND a.obtained = m.obtained;

-- The arrays are not empty and stay parallel, one element per answer, as
-- answer_sheets_parallel required (a NULL array passes). Only that: a fuller check of the
-- NULLs as well (all or none, a total with every import) measured about 0.06 million more
-- server instructions per 30-result import than this one (one run each, ADR 0034).
ALTER TABLE marks ADD CONSTRAINT marks_sheet_parallel CHECK (
    cardinality(sheet_questions) > 0
    AND cardinality(sheet_responses) = cardinality(sheet_questions)
    AND cardinality(sheet_awarded) = cardinality(sheet_questions)
    AND cardinality(sheet_available) = cardinality(sheet_questions));

DROP TABLE answer_sheets;
