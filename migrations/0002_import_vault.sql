-- 0002_import_vault: the vault becomes a tool for operators (issue 3): the tests each
-- accepted import touched, the names each one carried (for conflicts), and the states of
-- the asynchronous import queue. See ADR 0009 (names per import), 0010 (reprocessing) and
-- 0011 (the queue). Applied by `markr migrate`; never edit it once applied.

-- Asynchronous imports are stored first as 'queued', claimed as 'processing', and end
-- 'accepted' or 'rejected' like synchronous ones. A reason belongs to refusals only.
ALTER TABLE imports DROP CONSTRAINT imports_status_check;
ALTER TABLE imports ADD CONSTRAINT imports_status_check
    CHECK (status IN ('queued', 'processing', 'accepted', 'rejected'));
ALTER TABLE imports DROP CONSTRAINT imports_reason_iff_rejected;
ALTER TABLE imports ADD CONSTRAINT imports_reason_iff_rejected
    CHECK ((status = 'rejected') = (reason IS NOT NULL));
-- When the verdict of a queued import was reached (NULL for synchronous imports, whose
-- verdict is given at receipt, and for those still waiting).
ALTER TABLE imports ADD COLUMN processed_at timestamptz;

-- The queue: the few rows still waiting or in flight, oldest first.
CREATE INDEX imports_queue_idx ON imports (id) WHERE status IN ('queued', 'processing');

-- The tests an accepted import touched. The key serves `GET /imports?test_id=` newest
-- first; the second index serves the tests of one import.
CREATE TABLE import_tests (
    test_id   text   NOT NULL,
    import_id bigint NOT NULL,
    PRIMARY KEY (test_id, import_id)
);
CREATE INDEX import_tests_import_idx ON import_tests (import_id);

-- Every distinct (test, student, first name, last name) an accepted import carried, before
-- the duplicate rule merged them: a student number seen under several names is a sheet that
-- may have been mis-keyed (GET /tests/{id}/conflicts). Written in the same statement as the
-- marks; rebuilt by `markr reprocess`.
CREATE TABLE import_names (
    test_id        text   NOT NULL,
    student_number text   NOT NULL,
    first_name     text,
    last_name      text,
    import_id      bigint NOT NULL
);
CREATE INDEX import_names_student_idx ON import_names (test_id, student_number);
CREATE INDEX import_names_import_idx ON import_names (import_id);

-- Imports accepted before this migration have no rows in the two tables above until
-- `markr reprocess --all` rebuilds them from the vault.
