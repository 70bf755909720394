-- 0003_views: what the dashboard views of issue 4 read.
--
-- GET /students/{student-number} finds a student's marks across every test. The primary
-- key leads with test_id, so without this index that read scans the whole marks table.
-- INCLUDE carries the marks, so the mean of the percentages needs no table access; the
-- names come from the table rows the index points at (a handful per student).
CREATE INDEX marks_student_number_idx ON marks (student_number)
    INCLUDE (test_id, available, obtained);
