/*
 * The dashboard views in SQL, one parameterised statement each. Percentages are computed
 * by the server in float8, exactly as the aggregate does (rule 3), so a student's percent
 * in a table and the figures of the aggregate always agree. Reads are retried once when
 * the connection broke under them, as in pg_store.c.
 */
#include "pg_views.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_internal.h"

static const char *nullable(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

/* Bytes that are not UTF-8 (SQLSTATE 22021) cannot name anything stored. */
static int not_found_if_bad_bytes(struct markr_pg *pg, struct markr_error *err, const char *reason, const char *message)
{
    if (strcmp(pg->sqlstate, "22021") == 0)
        return markr_error_set(err, MARKR_ERR_NOT_FOUND, reason, "%s", message);
    return -1;
}

/* Whether s (len bytes) is well-formed UTF-8, as PostgreSQL requires of text: no overlong
 * forms, no surrogates, nothing above U+10FFFF. A cursor is compared as text, so one that
 * is not would fail the statement; it is refused before. */
static int is_utf8(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;

    while (p < end) {
        unsigned c = *p;
        /* continuation bytes after the lead byte c; 4: c cannot lead */
        size_t n = c < 0x80 ? 0 : c >= 0xC2 && c <= 0xDF ? 1 : c >= 0xE0 && c <= 0xEF ? 2 : c >= 0xF0 && c <= 0xF4 ? 3 : 4;
        unsigned lo = 0x80, hi = 0xBF; /* the range of the first continuation byte */

        if (n == 4 || (size_t)(end - p) < n + 1)
            return 0;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
        else if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
        for (size_t i = 1; i <= n; ++i) {
            if (p[i] < lo || p[i] > hi)
                return 0;
            lo = 0x80;
            hi = 0xBF;
        }
        p += n + 1;
    }
    return 1;
}

static int bad_cursor(struct markr_error *err)
{
    return markr_error_set(err, MARKR_ERR_BAD_REQUEST, "bad_cursor", "cursor must be the next_cursor of a previous page");
}

/* One page in test id order, after the cursor when there is one: the marks primary key
 * (test_id first) gives the order, so a page reads its own tests' rows and stops. */
#define TESTS_SQL(where)                                                                               \
    "SELECT test_id, count(*),\n"                                                                      \
    "       to_char(max(updated_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')\n"         \
    "FROM marks " where "GROUP BY test_id ORDER BY test_id LIMIT $1"

static const char tests_sql[] = TESTS_SQL("");
static const char tests_after_sql[] = TESTS_SQL("WHERE test_id > $2 ");

static int views_list_tests(void *ctx, const char *after, size_t after_len, uint64_t limit, markr_test_visitor visit,
                            void *arg, struct markr_error *err)
{
    struct markr_pg *pg = ctx;
    struct markr_pg_params params = {0};
    PGresult *res;

    if (after != NULL && !is_utf8(after, after_len))
        return bad_cursor(err);
    markr_pg_param_int8(&params, (int64_t)limit);
    if (after != NULL)
        markr_pg_param_binary(&params, MARKR_PG_TEXT, after, after_len);
    if ((res = markr_pg_read_replica(pg, "listing the tests", after != NULL ? tests_after_sql : tests_sql, &params, err)) ==
        NULL)
        return -1;
    for (int i = 0; i < PQntuples(res); ++i) {
        struct markr_test_summary t = {.test_id = PQgetvalue(res, i, 0),
                                       .students = strtoull(PQgetvalue(res, i, 1), NULL, 10),
                                       .last_change = PQgetvalue(res, i, 2)};
        visit(arg, &t);
    }
    PQclear(res);
    return 0;
}

/* The total comes from its own scan so that a page past the end still reports it: the
 * LEFT JOIN LATERAL yields one row of NULLs then. The ORDER BY is chosen among four fixed
 * texts, never built from input. */
/* A page by offset, or (a whole export) by keyset: the rows after the last one sent
 * ($4 its student number, $5 its percentage), in the same order, so that rows inserted
 * before it since neither shift nor repeat what follows. */
#define RESULTS_SQL(order, after)                                                                          \
    "WITH total AS (SELECT count(*) AS n FROM marks WHERE test_id = $1)\n"                                \
    "SELECT total.n, page.student_number, page.first_name, page.last_name, page.obtained,\n"             \
    "       page.available, page.p\n"                                                                    \
    "FROM total LEFT JOIN LATERAL (\n"                                                                    \
    "    SELECT student_number, first_name, last_name, obtained, available, p\n"                          \
    "    FROM (SELECT student_number, first_name, last_name, obtained, available,\n"                      \
    "                 100.0::float8 * obtained / available AS p\n"                                        \
    "          FROM marks WHERE test_id = $1) AS m\n"                                                     \
    "    WHERE $4::text IS NULL OR " after "\n"                                                           \
    "    ORDER BY " order "\n"                                                                            \
    "    LIMIT $2 OFFSET $3\n"                                                                            \
    ") AS page ON true"

static const char *const results_sql[2][2] = {
    [MARKR_SORT_STUDENT] = {RESULTS_SQL("student_number ASC", "student_number > $4"),
                            RESULTS_SQL("student_number DESC", "student_number < $4")},
    [MARKR_SORT_PERCENT] = {RESULTS_SQL("p ASC, student_number ASC", "(p, student_number) > ($5::float8, $4)"),
                            RESULTS_SQL("p DESC, student_number ASC",
                                        "(p < $5::float8 OR (p = $5::float8 AND student_number > $4))")},
};

static void read_row(const PGresult *res, int i, int first, const char *test_id, struct markr_result_row *row)
{
    /* columns from `first`: student number, first name, last name, obtained, available, p */
    row->test_id = test_id;
    row->student_number = PQgetvalue(res, i, first);
    row->first_name = nullable(res, i, first + 1);
    row->last_name = nullable(res, i, first + 2);
    row->obtained = strtoll(PQgetvalue(res, i, first + 3), NULL, 10);
    row->available = strtoll(PQgetvalue(res, i, first + 4), NULL, 10);
    row->percent = strtod(PQgetvalue(res, i, first + 5), NULL);
}

static int views_list_results(void *ctx, const char *test_id, size_t len, const struct markr_results_page *page,
                              markr_row_visitor visit, void *arg, uint64_t *total, struct markr_error *err)
{
    struct markr_pg *pg = ctx;
    struct markr_pg_params params = {0};
    char percent[32]; /* the text of parameter $5, alive until the statement ran */
    PGresult *res;

    markr_pg_param_binary(&params, MARKR_PG_TEXT, test_id, len);
    markr_pg_param_int8(&params, (int64_t)page->limit);
    markr_pg_param_int8(&params, (int64_t)page->offset);
    if (page->after != NULL) {
        snprintf(percent, sizeof(percent), "%.17g", page->after_percent); /* exact: as read back */
        markr_pg_param_binary(&params, MARKR_PG_TEXT, page->after, page->after_len);
        markr_pg_param_text(&params, MARKR_PG_TEXT, percent);
    } else {
        markr_pg_param_text(&params, MARKR_PG_TEXT, NULL);
        markr_pg_param_text(&params, MARKR_PG_TEXT, NULL);
    }
    res = markr_pg_read_replica(pg, "listing a test's results", results_sql[page->sort == MARKR_SORT_PERCENT][page->descending != 0],
                    &params, err);
    if (res == NULL)
        return not_found_if_bad_bytes(pg, err, "unknown_test", "no results for that test id");
    *total = PQntuples(res) > 0 ? strtoull(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    if (*total == 0) {
        PQclear(res);
        return markr_error_set(err, MARKR_ERR_NOT_FOUND, "unknown_test", "no results for that test id");
    }
    for (int i = 0; i < PQntuples(res); ++i) {
        struct markr_result_row row;

        if (PQgetisnull(res, i, 1))
            break; /* the page is past the end */
        read_row(res, i, 1, NULL, &row);
        visit(arg, &row);
    }
    PQclear(res);
    return 0;
}

/* The student's count and mean come from their own scan, so that a page past the end still
 * tells a known student from an unknown one (the LEFT JOIN LATERAL yields one row of NULLs).
 * Both scans compare in "C", the collation of marks_student_number_c_idx (migration 0010),
 * so that they read that index alone; equality under the database's (deterministic)
 * collation is byte equality too, so the same marks match. */
#define STUDENT_SQL(after)                                                                                   \
    "WITH mine AS (SELECT count(*) AS n, avg(100.0::float8 * obtained / available) AS mean\n"                \
    "              FROM marks WHERE student_number COLLATE \"C\" = $1)\n"                                    \
    "SELECT mine.n, mine.mean, page.test_id, page.student_number, page.first_name, page.last_name,\n"        \
    "       page.obtained, page.available, page.p\n"                                                          \
    "FROM mine LEFT JOIN LATERAL (\n"                                                                         \
    "    SELECT test_id, student_number, first_name, last_name, obtained, available,\n"                       \
    "           100.0::float8 * obtained / available AS p\n"                                                  \
    "    FROM marks WHERE student_number COLLATE \"C\" = $1 " after "\n"                                      \
    "    ORDER BY test_id LIMIT $2\n"                                                                         \
    ") AS page ON true"

static const char student_sql[] = STUDENT_SQL("");
static const char student_after_sql[] = STUDENT_SQL("AND test_id > $3");

static int views_student_results(void *ctx, const char *student, size_t len, const char *after, size_t after_len,
                                 uint64_t limit, markr_row_visitor visit, void *arg, double *mean_percent,
                                 struct markr_error *err)
{
    struct markr_pg *pg = ctx;
    struct markr_pg_params params = {0};
    PGresult *res;

    if (after != NULL && !is_utf8(after, after_len))
        return bad_cursor(err);
    markr_pg_param_binary(&params, MARKR_PG_TEXT, student, len);
    markr_pg_param_int8(&params, (int64_t)limit);
    if (after != NULL)
        markr_pg_param_binary(&params, MARKR_PG_TEXT, after, after_len);
    res = markr_pg_read_replica(pg, "reading a student's results", after != NULL ? student_after_sql : student_sql, &params,
                        err);
    if (res == NULL) /* the cursor is text (above): bad bytes are the student number's */
        return not_found_if_bad_bytes(pg, err, "unknown_student", "no results for that student number");
    if (PQntuples(res) == 0 || strtoull(PQgetvalue(res, 0, 0), NULL, 10) == 0) {
        PQclear(res);
        return markr_error_set(err, MARKR_ERR_NOT_FOUND, "unknown_student", "no results for that student number");
    }
    *mean_percent = strtod(PQgetvalue(res, 0, 1), NULL);
    for (int i = 0; i < PQntuples(res); ++i) {
        struct markr_result_row row;

        if (PQgetisnull(res, i, 2))
            break; /* the page is past the end */
        read_row(res, i, 3, PQgetvalue(res, i, 2), &row);
        visit(arg, &row);
    }
    PQclear(res);
    return 0;
}

/* Band b (1 to bins) holds percentages in [100(b-1)/bins, 100b/bins); 100 % goes in the
 * last. In integers (obtained * bins / available, floored), so a percentage exactly on an
 * edge lands in the band it starts, which float division would sometimes miss. */
static const char histogram_sql[] =
    "SELECT LEAST(obtained::bigint * $2 / available, $2 - 1) + 1 AS band, count(*)\n"
    "FROM marks WHERE test_id = $1 GROUP BY band ORDER BY band";

static int views_histogram(void *ctx, const char *test_id, size_t len, unsigned bins, uint64_t *counts,
                           uint64_t *total, struct markr_error *err)
{
    struct markr_pg *pg = ctx;
    struct markr_pg_params params = {0};
    PGresult *res;

    markr_pg_param_binary(&params, MARKR_PG_TEXT, test_id, len);
    markr_pg_param_int4(&params, bins);
    if ((res = markr_pg_read_replica(pg, "computing a histogram", histogram_sql, &params, err)) == NULL)
        return not_found_if_bad_bytes(pg, err, "unknown_test", "no results for that test id");
    for (int i = 0; i < PQntuples(res); ++i) {
        long band = strtol(PQgetvalue(res, i, 0), NULL, 10);
        uint64_t count = strtoull(PQgetvalue(res, i, 1), NULL, 10);

        if (band < 1 || band > (long)bins) {
            PQclear(res);
            return markr_error_set(err, MARKR_ERR_INTERNAL, "database_error", "histogram band %ld out of range", band);
        }
        counts[band - 1] = count;
        *total += count;
    }
    PQclear(res);
    if (*total == 0)
        return markr_error_set(err, MARKR_ERR_NOT_FOUND, "unknown_test", "no results for that test id");
    return 0;
}

/* Every student with a mark, in byte order (COLLATE "C": the order does not follow the
 * database's locale), a page by offset. Both read marks_student_number_c_idx (migrations
 * 0009 and 0010) alone: the page groups the index in its order and stops after offset + limit
 * students; the count walks the whole index in order (its ORDER BY makes the planner group
 * the sorted index rather than hash every mark: 54 ms against 101 ms for 100,000 students
 * of three marks), so that a page past the end still counts them. */
static const char students_sql[] =
    "SELECT total.n, page.student_number, page.n, page.mean\n"
    "FROM (SELECT count(*) AS n FROM (SELECT student_number COLLATE \"C\" FROM marks GROUP BY 1 ORDER BY 1) AS d)\n"
    "     AS total\n"
    "LEFT JOIN LATERAL (\n"
    "    SELECT student_number COLLATE \"C\" AS student_number, count(*) AS n,\n"
    "           avg(100.0::float8 * obtained / available) AS mean\n"
    "    FROM marks GROUP BY student_number COLLATE \"C\" ORDER BY student_number COLLATE \"C\"\n"
    "    LIMIT $1 OFFSET $2\n"
    ") AS page ON true";

static int views_list_students(void *ctx, uint64_t limit, uint64_t offset, markr_student_visitor visit, void *arg,
                               uint64_t *total, struct markr_error *err)
{
    struct markr_pg *pg = ctx;
    struct markr_pg_params params = {0};
    PGresult *res;

    markr_pg_param_int8(&params, (int64_t)limit);
    markr_pg_param_int8(&params, (int64_t)offset);
    if ((res = markr_pg_read_replica(pg, "listing the students", students_sql, &params, err)) == NULL)
        return -1;
    for (int i = 0; i < PQntuples(res); ++i) {
        struct markr_student_summary s;

        *total = strtoull(PQgetvalue(res, i, 0), NULL, 10);
        if (PQgetisnull(res, i, 1))
            break; /* the page is past the end */
        s = (struct markr_student_summary){.student_number = PQgetvalue(res, i, 1),
                                           .tests = strtoull(PQgetvalue(res, i, 2), NULL, 10),
                                           .mean_percent = strtod(PQgetvalue(res, i, 3), NULL)};
        visit(arg, &s);
    }
    PQclear(res);
    return 0;
}

struct markr_views_reader markr_pg_views_reader(struct markr_pg *pg)
{
    return (struct markr_views_reader){.ctx = pg,
                                       .list_tests = views_list_tests,
                                       .list_results = views_list_results,
                                       .student_results = views_student_results,
                                       .list_students = views_list_students,
                                       .histogram = views_histogram};
}
