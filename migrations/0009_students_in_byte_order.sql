-- 0009: GET /students in byte order from an index.
--
-- The list is ordered by student number COLLATE "C" (byte order, whatever the database's
-- locale), which marks_student_number_idx (0003, in the database's collation) cannot give:
-- each page grouped every mark and sorted every student. In "C" order, with the marks'
-- figures included, a page is an index-only scan that stops once offset + limit students
-- are grouped, and the count of students an index-only scan with no sort.
CREATE INDEX marks_student_number_c_idx ON marks (student_number COLLATE "C")
    INCLUDE (available, obtained);
