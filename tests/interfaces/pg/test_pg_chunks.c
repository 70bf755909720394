/*
 * Vault bodies as ordered chunks (ADR 0018) against a real PostgreSQL, one fresh
 * migrated database per test: bodies at and around the 1 MiB chunk size, empty, and not
 * UTF-8 round-trip byte for byte through every path that writes them (accepted, refused,
 * queued) and every path that reads them (GET /imports/{id}/raw's port, the fetch of the
 * queue runner and of `markr reprocess`); the SHA-256 and size markr computes match what the
 * server computes from the stored chunks; a failure after the chunks were sent, or while
 * they are sent, leaves no vault row, no chunk and no mark; a serialization failure runs the
 * whole transaction again without leaving a duplicate; chunks that do not make the body are
 * an error, never a short answer; and migration 0004 moves the bodies of an existing vault
 * into chunks exactly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "application/reprocess.h"
#include "domain/document.h"
#include "interfaces/pg/pg_migrate.h"
#include "interfaces/pg/pg_store.h"
#include "interfaces/pg/pg_vault.h"
#include "test_db.h"

#define MIB (1024 * 1024)

struct fixture {
    char *conninfo;
    struct markr_pg *pg;
    struct markr_import_store store;
    struct markr_vault_reader reader;
    struct markr_vault_rebuild rebuild;
    struct markr_pg_rebuild rebuild_state;
    struct markr_import_queue queue;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct markr_error err;

    f->conninfo = markr_test_db_create("pg_chunks");
    if ((f->pg = markr_pg_connect(f->conninfo, &err)) == NULL ||
        markr_pg_migrate(f->pg, getenv("MARKR_MIGRATIONS_DIR"), NULL, &err) != 0) {
        fprintf(stderr, "set-up: %s\n", err.message);
        return -1;
    }
    f->store = markr_pg_import_store(f->pg);
    f->reader = markr_pg_vault_reader(f->pg);
    f->rebuild = markr_pg_vault_rebuild(&f->rebuild_state, f->pg);
    f->queue = markr_pg_import_queue(f->pg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    markr_pg_close(f->pg);
    markr_test_db_drop(f->conninfo);
    free(f->conninfo);
    free(f);
    return 0;
}

/* --- helpers ------------------------------------------------------------------------------------ */

/* len bytes that are not UTF-8 (every byte value, NULs and 0xff included), different for
 * each seed, so that a chunk written twice or out of order shows. */
static char *bytes(size_t len, uint32_t seed)
{
    char *b = malloc(len != 0 ? len : 1);
    uint32_t x = seed * 2654435761u + 1;

    assert_non_null(b);
    for (size_t i = 0; i < len; ++i) {
        x = x * 1664525u + 1013904223u;
        b[i] = (char)(x >> 24);
    }
    if (len > 2) {
        b[0] = '\xff';
        b[1] = '\0';
    }
    return b;
}

static long long count(struct fixture *f, const char *sql)
{
    char *v = markr_test_db_value(f->conninfo, sql);
    long long n;

    if (v == NULL)
        fail_msg("%s gave NULL", sql);
    n = strtoll(v, NULL, 10);
    free(v);
    return n;
}

static void assert_value(struct fixture *f, const char *sql, const char *expected)
{
    char *v = markr_test_db_value(f->conninfo, sql);

    if (v == NULL || strcmp(v, expected) != 0)
        fail_msg("%s\n  gave %s, expected %s", sql, v != NULL ? v : "NULL", expected);
    free(v);
}

/* The stored body is body: through the raw port, through the fetch of reprocessing, and in
 * SQL (size, SHA-256 and chunk sizes as the server sees them). */
static void assert_stored(struct fixture *f, int64_t id, const char *status, const char *body, size_t len)
{
    struct markr_stored_import stored;
    struct markr_error err;
    char *type = NULL, *raw = NULL, sql[1024];
    size_t raw_len = 0;

    assert_int_equal(f->reader.raw(f->reader.ctx, id, &type, &raw, &raw_len, &err), 0);
    assert_string_equal(type, "text/xml+markr");
    assert_int_equal(raw_len, len);
    assert_non_null(raw);
    if (len != 0)
        assert_memory_equal(raw, body, len);
    free(type);
    free(raw);

    /* The same, a chunk at a time as a download reads it: chunks 0, 1, ... of at most
     * 1 MiB (MARKR_PG_CHUNK_BYTES), then none. */
    {
        size_t size = 0, at = 0;
        int32_t seq = 0;
        char *bytes;
        size_t n;

        assert_int_equal(f->reader.head(f->reader.ctx, id, &type, &size, &err), 0);
        assert_string_equal(type, "text/xml+markr");
        assert_int_equal(size, len);
        free(type);
        while (at < len) {
            assert_int_equal(f->reader.chunk(f->reader.ctx, id, seq++, &bytes, &n, &err), 1);
            assert_true(n >= 1 && n <= 1024 * 1024 && n <= len - at);
            assert_memory_equal(bytes, body + at, n);
            at += n;
            free(bytes);
        }
        assert_int_equal(f->reader.chunk(f->reader.ctx, id, seq, &bytes, &n, &err), 0);
        assert_null(bytes);
        assert_int_equal(f->reader.head(f->reader.ctx, 987654321, &type, &size, &err), -1);
        assert_string_equal(err.reason, "unknown_import");
        assert_null(type);
    }

    assert_int_equal(f->rebuild.fetch(f->rebuild.ctx, id, status, &stored, &err), 1);
    assert_int_equal(stored.id, id);
    assert_string_equal(stored.status, status);
    assert_int_equal(stored.len, len);
    if (len != 0)
        assert_memory_equal(stored.body, body, len);
    markr_stored_import_free(&stored);

    snprintf(sql, sizeof(sql),
             "SELECT i.size_bytes = %zu\n"
             "   AND i.size_bytes = (SELECT COALESCE(sum(length(bytes)), 0) FROM import_chunks WHERE import_id = i.id)\n"
             "   AND i.sha256 = sha256((SELECT COALESCE(string_agg(bytes, ''::bytea ORDER BY seq), ''::bytea)\n"
             "                          FROM import_chunks WHERE import_id = i.id))\n"
             "   AND (SELECT count(*) FROM import_chunks WHERE import_id = i.id) = %zu\n"
             "   AND (SELECT COALESCE(max(seq), -1) + 1 FROM import_chunks WHERE import_id = i.id) = %zu\n"
             "   AND (SELECT count(*) FROM import_chunks\n"
             "        WHERE import_id = i.id AND seq < %zu - 1 AND length(bytes) <> %d) = 0\n"
             "FROM imports AS i WHERE i.id = %" PRId64,
             len, (len + MIB - 1) / MIB, (len + MIB - 1) / MIB, (len + MIB - 1) / MIB, MIB, id);
    assert_value(f, sql, "t");
}

/* One mark and the one scan it came from (its names row records the import's test). The scan
 * is static: each call replaces the last one's, which has been saved by then; the adapter
 * only reads its strings. */
static void one_mark(struct markr_marks *marks, struct markr_mark *m, const char *test, const char *student)
{
    static struct markr_result scan;

    scan = (struct markr_result){.test_id = (char *)test, .student_number = (char *)student, .available = 10,
                                 .obtained = 5, .line = 1};
    memset(m, 0, sizeof(*m));
    m->test_id = test;
    m->student_number = student;
    m->available = 10;
    m->obtained = 5;
    memset(marks, 0, sizeof(*marks));
    marks->marks = m;
    marks->count = 1;
    marks->scans = &scan;
    marks->scan_count = 1;
}

static void assert_nothing_stored(struct fixture *f)
{
    assert_int_equal(count(f, "SELECT count(*) FROM imports"), 0);
    assert_int_equal(count(f, "SELECT count(*) FROM import_chunks"), 0);
    assert_int_equal(count(f, "SELECT count(*) FROM marks"), 0);
    assert_int_equal(count(f, "SELECT count(*) FROM import_names"), 0);
}

/* --- round trips -------------------------------------------------------------------------------- */

static const size_t sizes[] = {0, 1, 3, MIB - 1, MIB, MIB + 1, 2 * MIB, 3 * MIB + 17};

static void refused_bodies_round_trip_at_chunk_boundaries(void **state)
{
    struct fixture *f = *state;

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); ++i) {
        char *body = bytes(sizes[i], (uint32_t)i + 1);
        struct markr_vault_entry entry = {.content_type = "text/xml+markr", .body = body, .body_len = sizes[i]};
        struct markr_error reason, err;
        int64_t id = 0;

        markr_error_set(&reason, MARKR_ERR_MALFORMED, "malformed_xml", "not UTF-8");
        assert_int_equal(f->store.save_rejected(f->store.ctx, &entry, &reason, &id, &err), 0);
        assert_true(id > 0);
        assert_stored(f, id, "rejected", body, sizes[i]);
        free(body);
    }
    /* Eight imports, 0 + 1 + 1 + 1 + 1 + 2 + 2 + 4 chunks. */
    assert_int_equal(count(f, "SELECT count(*) FROM import_chunks"), 12);
}

static void accepted_bodies_round_trip_at_chunk_boundaries(void **state)
{
    struct fixture *f = *state;
    char student[16];

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); ++i) {
        char *body = bytes(sizes[i], (uint32_t)i + 100);
        struct markr_vault_entry entry = {.content_type = "text/xml+markr", .body = body, .body_len = sizes[i],
                                          .result_count = 1};
        struct markr_marks marks;
        struct markr_mark m;
        struct markr_error err;
        int64_t id = 0;

        snprintf(student, sizeof(student), "s%zu", i);
        one_mark(&marks, &m, "t", student);
        assert_int_equal(f->store.save_accepted(f->store.ctx, &entry, &marks, &id, &err), 0);
        assert_true(id > 0);
        assert_stored(f, id, "accepted", body, sizes[i]);
        free(body);
    }
    assert_int_equal(count(f, "SELECT count(*) FROM marks"), 8);
    assert_int_equal(count(f, "SELECT count(*) FROM import_names"), 8);
}

static void queued_bodies_round_trip_at_chunk_boundaries(void **state)
{
    struct fixture *f = *state;

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); ++i) {
        char *body = bytes(sizes[i], (uint32_t)i + 200);
        struct markr_error err;
        int64_t id = 0;

        assert_int_equal(f->queue.enqueue(f->queue.ctx, "text/xml+markr", NULL, body, sizes[i], &id, &err), 0);
        assert_true(id > 0);
        assert_stored(f, id, "queued", body, sizes[i]);
        free(body);
    }
}

/* --- all or nothing ----------------------------------------------------------------------------- */

static void a_failure_after_the_chunks_leaves_nothing(void **state)
{
    struct fixture *f = *state;
    char *body = bytes(2 * MIB + 5, 7);
    struct markr_vault_entry entry = {.content_type = "text/xml+markr", .body = body, .body_len = 2 * MIB + 5,
                                      .result_count = 1};
    struct markr_marks marks;
    struct markr_mark m;
    struct markr_error err;
    int64_t id = 0;

    /* The marks are written after the chunks: a refusal there must take the chunks back too. */
    assert_int_equal(markr_test_db_exec(f->conninfo,
                                        "CREATE FUNCTION refuse_mark() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                                        "BEGIN\n"
                                        "  IF (SELECT count(*) FROM import_chunks) <> 3 THEN RAISE 'chunks unseen'; END IF;\n"
                                        "  RAISE 'mark refused by the test';\n"
                                        "END $$;\n"
                                        "CREATE TRIGGER refuse_mark BEFORE INSERT ON marks\n"
                                        "  FOR EACH ROW EXECUTE FUNCTION refuse_mark();"),
                     0);
    one_mark(&marks, &m, "t", "s1");
    assert_int_equal(f->store.save_accepted(f->store.ctx, &entry, &marks, &id, &err), -1);
    assert_int_equal(id, 0);
    assert_int_equal(err.code, MARKR_ERR_INTERNAL);
    assert_non_null(strstr(err.message, "mark refused by the test"));
    assert_nothing_stored(f);

    /* The connection is usable for the next import. */
    assert_int_equal(markr_test_db_exec(f->conninfo, "DROP TRIGGER refuse_mark ON marks"), 0);
    assert_int_equal(f->store.save_accepted(f->store.ctx, &entry, &marks, &id, &err), 0);
    assert_stored(f, id, "accepted", body, entry.body_len);
    assert_int_equal(count(f, "SELECT count(*) FROM marks"), 1);
    free(body);
}

static void a_refused_chunk_leaves_nothing(void **state)
{
    struct fixture *f = *state;
    char *body = bytes(4 * MIB, 9);
    struct markr_vault_entry entry = {.content_type = "text/xml+markr", .body = body, .body_len = 4 * MIB,
                                      .result_count = 1};
    struct markr_marks marks;
    struct markr_mark m;
    struct markr_error reason, err;
    int64_t id = 0;

    /* Stands for anything that fails while the body streams in: a full disk, a lost server. */
    assert_int_equal(markr_test_db_exec(f->conninfo,
                                        "CREATE FUNCTION refuse_chunk() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                                        "BEGIN\n"
                                        "  IF NEW.seq = 2 THEN RAISE 'chunk refused by the test'; END IF;\n"
                                        "  RETURN NEW;\n"
                                        "END $$;\n"
                                        "CREATE TRIGGER refuse_chunk BEFORE INSERT ON import_chunks\n"
                                        "  FOR EACH ROW EXECUTE FUNCTION refuse_chunk();"),
                     0);
    one_mark(&marks, &m, "t", "s1");
    assert_int_equal(f->store.save_accepted(f->store.ctx, &entry, &marks, &id, &err), -1);
    assert_non_null(strstr(err.message, "chunk refused by the test"));
    assert_nothing_stored(f);

    markr_error_set(&reason, MARKR_ERR_MALFORMED, "malformed_xml", "bad");
    assert_int_equal(f->store.save_rejected(f->store.ctx, &entry, &reason, &id, &err), -1);
    assert_non_null(strstr(err.message, "chunk refused by the test"));
    assert_int_equal(id, 0);
    assert_nothing_stored(f);

    assert_int_equal(f->queue.enqueue(f->queue.ctx, "text/xml+markr", NULL, body, entry.body_len, &id, &err), -1);
    assert_non_null(strstr(err.message, "chunk refused by the test"));
    assert_int_equal(id, 0);
    assert_nothing_stored(f);

    /* A body of two chunks passes the trigger on the same connection. */
    entry.body_len = 2 * MIB;
    assert_int_equal(f->store.save_rejected(f->store.ctx, &entry, &reason, &id, &err), 0);
    assert_stored(f, id, "rejected", body, entry.body_len);
    free(body);
}

static void a_serialization_failure_runs_the_import_again(void **state)
{
    struct fixture *f = *state;
    char *body = bytes(MIB + 1, 11);
    struct markr_vault_entry entry = {.content_type = "text/xml+markr", .body = body, .body_len = MIB + 1,
                                      .result_count = 1};
    struct markr_marks marks;
    struct markr_mark m;
    struct markr_error err;
    int64_t id = 0;

    /* A sequence is not rolled back: only the first attempt fails, after its chunks were sent. */
    assert_int_equal(markr_test_db_exec(f->conninfo,
                                        "CREATE SEQUENCE attempts;\n"
                                        "CREATE FUNCTION fail_once() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                                        "BEGIN\n"
                                        "  IF nextval('attempts') = 1 THEN\n"
                                        "    RAISE 'could not serialize (test)' USING ERRCODE = 'serialization_failure';\n"
                                        "  END IF;\n"
                                        "  RETURN NEW;\n"
                                        "END $$;\n"
                                        "CREATE TRIGGER fail_once BEFORE INSERT ON marks\n"
                                        "  FOR EACH ROW EXECUTE FUNCTION fail_once();"),
                     0);
    one_mark(&marks, &m, "t", "s1");
    assert_int_equal(f->store.save_accepted(f->store.ctx, &entry, &marks, &id, &err), 0);
    assert_int_equal(count(f, "SELECT last_value FROM attempts"), 2);
    assert_int_equal(count(f, "SELECT count(*) FROM imports"), 1);
    assert_int_equal(count(f, "SELECT count(*) FROM import_chunks"), 2);
    assert_stored(f, id, "accepted", body, entry.body_len);
    free(body);
}

/* --- chunks that do not make the body ----------------------------------------------------------- */

static void missing_or_short_chunks_are_an_error(void **state)
{
    struct fixture *f = *state;
    char *body = bytes(3 * MIB, 13), *type = NULL, *raw = NULL, sql[160];
    struct markr_vault_entry entry = {.content_type = "text/xml+markr", .body = body, .body_len = 3 * MIB};
    struct markr_stored_import stored;
    struct markr_error reason, err;
    size_t len = 0;
    int64_t id = 0;

    markr_error_set(&reason, MARKR_ERR_MALFORMED, "malformed_xml", "bad");
    assert_int_equal(f->store.save_rejected(f->store.ctx, &entry, &reason, &id, &err), 0);

    /* The last chunk cut short: the body would be shorter than the vault says. */
    snprintf(sql, sizeof(sql), "UPDATE import_chunks SET bytes = substring(bytes FROM 1 FOR 10) WHERE import_id = %" PRId64 " AND seq = 2", id);
    assert_int_equal(markr_test_db_exec(f->conninfo, sql), 0);
    assert_int_equal(f->reader.raw(f->reader.ctx, id, &type, &raw, &len, &err), -1);
    assert_string_equal(err.reason, "database_error");
    assert_non_null(strstr(err.message, "not 3145728"));
    assert_null(raw);
    assert_null(type);

    /* A chunk missing in the middle: never glued over. */
    snprintf(sql, sizeof(sql), "DELETE FROM import_chunks WHERE import_id = %" PRId64 " AND seq = 1", id);
    assert_int_equal(markr_test_db_exec(f->conninfo, sql), 0);
    assert_int_equal(f->rebuild.fetch(f->rebuild.ctx, id, NULL, &stored, &err), -1);
    assert_non_null(strstr(err.message, "do not make its body"));

    /* The connection is still usable. */
    entry.body_len = 5;
    assert_int_equal(f->store.save_rejected(f->store.ctx, &entry, &reason, &id, &err), 0);
    assert_stored(f, id, "rejected", body, 5);
    free(body);
}


/* --- migration 0004 ----------------------------------------------------------------------------- */

/* Copies one of the project's migration files into dir. */
static void copy_migration(const char *dir, const char *name)
{
    char path[512], *text;
    FILE *in, *out;
    long size;

    snprintf(path, sizeof(path), "%s/%s", getenv("MARKR_MIGRATIONS_DIR"), name);
    assert_non_null(in = fopen(path, "rb"));
    fseek(in, 0, SEEK_END);
    size = ftell(in);
    rewind(in);
    assert_non_null(text = malloc((size_t)size + 1));
    assert_int_equal(fread(text, 1, (size_t)size, in), (size_t)size);
    fclose(in);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    assert_non_null(out = fopen(path, "wb"));
    assert_int_equal(fwrite(text, 1, (size_t)size, out), (size_t)size);
    assert_int_equal(fclose(out), 0);
    free(text);
}

static void migrate_dir(struct markr_pg *pg, const char *dir)
{
    struct markr_error err;

    if (markr_pg_migrate(pg, dir, NULL, &err) != 0)
        fail_msg("migrate: %s", err.message);
}

static void migration_moves_existing_bodies_into_chunks(void **state)
{
    char dir[] = "/tmp/markr-chunks-XXXXXX", path[600];
    char *conninfo = markr_test_db_create("pg_chunks_migrate");
    struct markr_error err;
    struct markr_pg *pg = markr_pg_connect(conninfo, &err);
    struct fixture f = {.conninfo = conninfo, .pg = pg};

    (void)state;
    assert_non_null(pg);
    assert_non_null(mkdtemp(dir));
    copy_migration(dir, "0001_initial.sql");
    copy_migration(dir, "0002_import_vault.sql");
    copy_migration(dir, "0003_views.sql");
    migrate_dir(pg, dir);
    /* A vault before chunks: empty, small, exactly 1 MiB, 1 MiB + 1 and 2 MiB + 3 bodies,
     * not UTF-8 (NUL, 0xff, 0xfe), accepted and refused. */
    assert_int_equal(
        markr_test_db_exec(
            conninfo,
            "INSERT INTO imports (content_type, size_bytes, sha256, body, status, reason, result_count)\n"
            "SELECT 'text/xml+markr', octet_length(b), sha256(b), b, s, r, 0 FROM (VALUES\n"
            "  (''::bytea, 'rejected', '{\"error\": \"malformed_xml\"}'::jsonb),\n"
            "  ('\\xff00fe3c'::bytea, 'rejected', '{\"error\": \"malformed_xml\"}'),\n"
            "  ('\\xff'::bytea || convert_to(repeat('ab', 524287), 'UTF8') || '\\x00'::bytea, 'accepted', NULL),\n"
            "  ('\\xff'::bytea || convert_to(repeat('cd', 524288), 'UTF8'), 'accepted', NULL),\n"
            "  (convert_to(repeat('<e>', 699051), 'UTF8') || '\\xfe'::bytea, 'accepted', NULL)\n"
            ") AS v(b, s, r);\n"
            "CREATE TABLE before_0004 AS SELECT id, body FROM imports;"),
        0);
    assert_value(&f, "SELECT string_agg(octet_length(body)::text, ',' ORDER BY id) FROM before_0004",
                 "0,4,1048576,1048577,2097154");

    copy_migration(dir, "0004_import_chunks.sql");
    migrate_dir(pg, dir);
    assert_value(&f,
                 "SELECT bool_and(b.body = COALESCE((SELECT string_agg(c.bytes, ''::bytea ORDER BY c.seq)\n"
                 "                                   FROM import_chunks AS c WHERE c.import_id = b.id), ''::bytea))\n"
                 "FROM before_0004 AS b",
                 "t");
    assert_value(&f, "SELECT string_agg(n::text, ',' ORDER BY id) FROM (SELECT i.id, count(c.seq) AS n\n"
                     "  FROM imports AS i LEFT JOIN import_chunks AS c ON c.import_id = i.id GROUP BY i.id) AS k",
                 "0,1,1,2,3");
    assert_value(&f, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'imports'::regclass AND attname = 'body'",
                 "0");
    /* The adapter reads the moved bodies (sizes and hashes were the server's). */
    f.reader = markr_pg_vault_reader(pg);
    f.rebuild = markr_pg_vault_rebuild(&f.rebuild_state, pg);
    {
        char *type = NULL, *raw = NULL;
        size_t len = 0;

        assert_int_equal(f.reader.raw(f.reader.ctx, 5, &type, &raw, &len, &err), 0);
        assert_int_equal(len, 2097154);
        assert_int_equal((unsigned char)raw[len - 1], 0xfe);
        assert_memory_equal(raw, "<e><e>", 6);
        free(type);
        free(raw);
    }

    snprintf(path, sizeof(path), "%s/0001_initial.sql", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/0002_import_vault.sql", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/0003_views.sql", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/0004_import_chunks.sql", dir);
    unlink(path);
    rmdir(dir);
    markr_pg_close(pg);
    markr_test_db_drop(conninfo);
    free(conninfo);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(refused_bodies_round_trip_at_chunk_boundaries, setup, teardown),
        cmocka_unit_test_setup_teardown(accepted_bodies_round_trip_at_chunk_boundaries, setup, teardown),
        cmocka_unit_test_setup_teardown(queued_bodies_round_trip_at_chunk_boundaries, setup, teardown),
        cmocka_unit_test_setup_teardown(a_failure_after_the_chunks_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(a_refused_chunk_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(a_serialization_failure_runs_the_import_again, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_or_short_chunks_are_an_error, setup, teardown),
        cmocka_unit_test(migration_moves_existing_bodies_into_chunks),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
