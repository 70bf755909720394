-- 0006_answer_sheets: the kept answer sheet of each (test, student), for item analysis
-- (GET /results/{test-id}/items, ADR 0026).
--
-- One row per (test, student) whose kept scan has at least one valid answer: the answers of
-- the scan that supplied the kept obtained (the highest; among equal ones, the one received
-- last). The answers are four parallel arrays in question byte order, one element per
-- question: far smaller than a row per answer (no tuple header and index entry per answer;
-- ADR 0026 gives the bytes per answer). Written by the one acceptance path, in the same
-- transaction as the marks (pg_sheets.c); `markr reprocess --all` rebuilds every row from
-- the vault, so imports received before this migration gain their sheets.
CREATE TABLE answer_sheets (
    test_id        text      NOT NULL,
    student_number text      NOT NULL,
    -- The obtained of the kept scan and its import: a later scan replaces the sheet when its
    -- obtained is higher, or equal and its import not older.
    obtained       integer   NOT NULL CHECK (obtained >= 0),
    import_id      bigint    NOT NULL,
    -- The sum of awarded, kept so that the item analysis ranks sheets without unnesting
    -- them twice (the upper and lower groups).
    total          bigint    NOT NULL CHECK (total >= 0),
    questions      text[]    NOT NULL,
    responses      text[]    NOT NULL,
    awarded        integer[] NOT NULL,
    available      integer[] NOT NULL,
    CONSTRAINT answer_sheets_parallel CHECK (
        cardinality(questions) > 0 AND cardinality(responses) = cardinality(questions)
        AND cardinality(awarded) = cardinality(questions) AND cardinality(available) = cardinality(questions)),
    -- The key finds a test's sheets for its items, and one student's for the sheet view.
    PRIMARY KEY (test_id, student_number)
);
