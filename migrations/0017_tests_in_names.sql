-- 0017: the tests an import touched are read from its names rows; import_tests goes.
--
-- Since 0015 every accepted import writes one import_names row per test it carried, with
-- the same key (test_id, import_id) and the same index by import as import_tests (0002), in
-- the same statement and from the same scans: the two tables hold the same pairs, and
-- import_names answers both lookups (the imports of a test, the tests of an import). Each
-- import therefore wrote, per test, a second row and two more index entries for nothing
-- (ADR 0038 has the measurements).
--
-- The pairs are compared first. They can only differ if rows were written or deleted by
-- hand, or one table was restored without the other: refused imports have rows in neither
-- (a refusal writes none, and a rebuild that refuses an import clears both), imports from
-- before 0002 that `markr reprocess --all` has not rebuilt have rows in neither, and 0015
-- grouped 0002's names rows (at least one per test of an import, since every test of an
-- import has a scan) into exactly one row per pair. A pair only in import_names is what this
-- markr would have written for it and stays. A pair only in import_tests has no row to move
-- to: the migration stops with nothing changed and says how to go on (README, Operations:
-- delete those rows, migrate, and let `markr reprocess --all` rebuild every import's rows
-- from the vault). It cannot ask for the rebuild first: markr refuses to rebuild on a
-- schema that is behind, and an older markr refuses one that has 0016.
--
-- Stop every markr instance before migrating: an older one still writes import_tests, and
-- each of its imports fails once the table is gone.
--
-- Writers are held off (SHARE on import_names; the drop needs ACCESS EXCLUSIVE on
-- import_tests anyway) in the order a rebuild locks the two tables; reads of import_names
-- go on. The comparison reads both tables whole once: 1,000,000 pairs took 1.4 s on the
-- 2-core development machine at load 8 (bench/README.md).
LOCK TABLE import_names IN SHARE MODE;
LOCK TABLE import_tests IN ACCESS EXCLUSIVE MODE;

DO $$
DECLARE
    only_tests bigint;
    first_pair text;
BEGIN
    SELECT count(*), min(format('test %L, import %s', left(t.test_id, 16), t.import_id))
    INTO only_tests, first_pair
    FROM import_tests AS t
    WHERE NOT EXISTS (SELECT FROM import_names AS n WHERE n.test_id = t.test_id AND n.import_id = t.import_id);
    -- The instruction comes before the pair, which a long message loses first (markr keeps
    -- about 250 characters of it).
    IF only_tests > 0 THEN
        RAISE EXCEPTION 'import_tests has % (test, import) pairs that import_names lacks; nothing was changed: '
                        'delete those rows of import_tests (README, Operations), migrate again, then run '
                        'markr reprocess --all (e.g. %)', only_tests, first_pair;
    END IF;
END
$$;

DROP TABLE import_tests;
