-- 0015: the names an import carried, one row per (test, import).
--
-- 0002 kept a row per distinct (test, student, first name, last name) of each accepted
-- import, with two index entries each: for a 30-result import about 0.35M of the 1.98M
-- instructions of markr's whole database work (bench/README.md, ADR 0035), for a row that
-- only GET /tests/{id}/conflicts and the clearing of an import read. Now each import writes
-- one row per test it carried: that test's distinct (student, first, last) triples as three
-- parallel arrays in student-number order (then first, last; NULLs last), compressed with
-- lz4 once long (as the answer sheets, 0012). The key (test_id, import_id) serves the
-- conflicts of a test; the index by import the clearing of an import (ADR 0031).
--
-- The rows already stored are grouped into the new shape here, in the order the writer
-- uses. On 1,000,000 rows of 0002 (100 pairs of test and import, 10,000 names each) the
-- conversion took 4.9 s on the 2-core development machine at load 1.8 (11.7 s at load 9),
-- with work_mem 64MB, inside the migration's transaction: imports wait meanwhile. Stop every
-- markr instance before migrating: an older one writes a row per name, which this table
-- refuses.
ALTER TABLE import_names RENAME TO import_names_0002;
DROP INDEX import_names_student_idx, import_names_import_idx;

CREATE TABLE import_names (
    test_id         text   NOT NULL,
    import_id       bigint NOT NULL,
    student_numbers text[] COMPRESSION lz4 NOT NULL,
    first_names     text[] COMPRESSION lz4 NOT NULL,
    last_names      text[] COMPRESSION lz4 NOT NULL,
    PRIMARY KEY (test_id, import_id),
    -- Parallel, not empty, and every student number present: the conflicts' binary search
    -- (width_bucket) refuses an array with a NULL in it.
    CONSTRAINT import_names_parallel CHECK (
        cardinality(student_numbers) > 0 AND array_position(student_numbers, NULL) IS NULL
        AND cardinality(first_names) = cardinality(student_numbers)
        AND cardinality(last_names) = cardinality(student_numbers))
);
CREATE INDEX import_names_import_idx ON import_names (import_id);

-- The arrays take the sorted rows' order: the Agg node above a sorted subquery feeds each
-- group's rows in that order to the three array_agg alike, which keeps them parallel.
INSERT INTO import_names (test_id, import_id, student_numbers, first_names, last_names)
SELECT n.test_id, n.import_id, array_agg(n.student_number), array_agg(n.first_name), array_agg(n.last_name)
FROM (SELECT DISTINCT test_id, import_id, student_number, first_name, last_name FROM import_names_0002
      ORDER BY test_id, import_id, student_number, first_name, last_name) AS n
GROUP BY n.test_id, n.import_id;

DROP TABLE import_names_0002;
