-- 0010: one index on marks by student number instead of two.
--
-- marks had two: marks_student_number_idx (0003, in the database's collation, for
-- GET /students/{student-number}) and marks_student_number_c_idx (0009, COLLATE "C", for
-- GET /students in byte order). Every mark written maintained both, and the first one misled
-- the planner: the answer sheets' lookup of a mark by (test_id, student_number) was planned
-- on it (student_number alone, test_id as a filter) instead of the primary key, so its cost
-- grew with the number of tests a student number appears in.
--
-- The one left is in "C" order and carries test_id besides the marks, so it serves both
-- reads as an index-only scan. A student's lookup is written `student_number COLLATE "C" =
-- $1` (pg_views.c): equality under a deterministic collation (the database's default is
-- one, and marks.student_number has no other) is byte equality, so the same rows match as
-- with the database's collation. Lookups by (test_id, student_number) in the database's
-- collation cannot use it, so they use the primary key whatever the statistics.
DROP INDEX marks_student_number_idx;
DROP INDEX marks_student_number_c_idx;
CREATE INDEX marks_student_number_c_idx ON marks (student_number COLLATE "C")
    INCLUDE (test_id, available, obtained);
