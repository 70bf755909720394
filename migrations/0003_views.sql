-- 0003_views: what the dashboard views of issue 4 read.
--
-- GET /students/{student-number} finds a student's marks across every test. The primary
-- key leads with test_id, so without this index that read scans the whole marks table.
-- INCLUDE carries what the view shows, so it is an index-only scan like the aggregate.
CREATE INDEX marks_student_number_idx ON marks (student_number)
    INCLUDE (test_id, available, obtained);
