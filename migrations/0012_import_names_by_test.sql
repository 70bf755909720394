-- 0012: import_names keeps one index.
--
-- import_names_import_idx (0002) found the names of one import, for one statement only:
-- reprocessing one import drops its names before writing them again (pg_marks.c). Every
-- accepted import paid an index entry per distinct scan for it. That statement now finds the
-- import's names through the tests the import touched (import_tests, by its own index) and
-- import_names_student_idx, which leads with test_id: it reads the names of those tests
-- (every import's), a cost paid on the operator's rare command rather than on every import.
-- GET /tests/{id}/conflicts reads import_names_student_idx as before.
DROP INDEX import_names_import_idx;
