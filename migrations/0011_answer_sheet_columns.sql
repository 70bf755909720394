-- 0011: the type in which the answer sheets' statement receives each sheet (pg_sheets.c).
--
-- The statement took each sheet's four columns as the text of four arrays, which the server
-- parsed per row (array_in: about 57 ms per 10,000 sheets of 20 answers). markr now sends
-- one binary array of this type instead, an element per mark (NULL: no valid answer), each
-- element its four arrays in binary: nothing is parsed but lengths. A binary composite
-- names its type by OID, so markr looks this type up by name once per connection. Its
-- columns are those of answer_sheets, in that table's order; changing them changes what
-- markr sends (a new type, and markr with it).
CREATE TYPE answer_sheet_columns AS (
    questions text[],
    responses text[],
    awarded   integer[],
    available integer[]
);
