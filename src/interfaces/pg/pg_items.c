/*
 * Item analysis and a student's sheet in SQL (application/items.h, README "Item analysis",
 * ADR 0026): one statement each, over the kept sheets in the marks rows (migration 0014).
 *
 * Every sum is exact (integers, numeric wherever a product could pass 64 bits), and each
 * figure is divided only at the end: variances as N*sum(x^2) - sum(x)^2 over N^2, so a
 * variance that is 0 is exactly 0 and the null rules of the definitions hold without a
 * tolerance. The upper and lower groups come from one ranking of the sheets by total.
 */
#include "pg_store.h"

#include <stdlib.h>
#include <string.h>

#include "application/items.h"
#include "pg_internal.h"

/* The order of questions (domain/answers.h, markr_question_compare): decimal integers first
 * by value (their length without leading zeros, then their digits), then byte order. */
#define QUESTION_ORDER(q)                                                                            \
    "(" q " !~ '^[0-9]+$'), CASE WHEN " q " ~ '^[0-9]+$' THEN length(ltrim(" q ", '0')) END,\n"    \
    "    CASE WHEN " q " ~ '^[0-9]+$' THEN ltrim(" q ", '0') END COLLATE \"C\", " q " COLLATE \"C\""

/* Numbers of the answer's columns. */
enum { C_KNOWN, C_N, C_K, C_G, C_MEAN, C_SD, C_ALPHA, C_SEM, C_Q, C_ANSWERED, C_MAX, C_FACILITY, C_DISC,
       C_DISTRACTOR, C_DISTINCT, C_R, C_COUNT, C_UP, C_LOW, C_COLUMNS };

/*
 * $1 the test; $2 the questions listed, $3 the responses listed per question. `sheets` names
 * the test's recorded sheets with answers (a view of its marks rows, inlined where it is
 * read).
 *
 * The sheets are ranked once by (total, student number) alone, so that no sort carries
 * their arrays, and that ranking gives the whole test's sums and the two edges of Kelley's
 * groups: being in a group is then a comparison of a sheet with an edge, once per sheet,
 * as is splitting the total into a 64-bit and a numeric part (the OFFSET 0 keeps that
 * subquery apart; flattened, its expressions would run once per answer). The sheets are
 * unnested once, in the select list (no tuple store per sheet), straight into the
 * per-response sums (few groups whatever the marks), and the per-question sums follow from
 * those. With t the sheet's total, y = t - x its rest score: sum(y) = sum(t) - sum(x),
 * sum(y^2) = sum(t^2) - 2 sum(x*t) + sum(x^2), sum(x*y) = sum(x*t) - sum(x^2), all exact
 * integers. Products stay in 64 bits while a total allows it (always, for real papers) and
 * only go to numeric past that.
 */
#define BIG "3037000499" /* floor(sqrt(2^63 - 1)): t*t and x*t (x < 2^31) fit a bigint below it */
static const char items_sql[] =
    "WITH sheets AS NOT MATERIALIZED (\n"
    "    SELECT student_number, sheet_total AS total, sheet_questions AS questions, sheet_responses AS responses,\n"
    "           sheet_awarded AS awarded, sheet_available AS available\n"
    "    FROM marks WHERE test_id = $1 AND sheet_questions IS NOT NULL\n"
    "), ranked AS MATERIALIZED (\n"
    "    SELECT total, student_number, row_number() OVER (ORDER BY total DESC, student_number COLLATE \"C\") AS rk\n"
    "    FROM sheets\n"
    "), head AS MATERIALIZED (\n"
    "    SELECT EXISTS (SELECT 1 FROM marks WHERE test_id = $1) AS known, count(*) AS n,\n"
    "           CASE WHEN count(*) = 0 THEN 0 ELSE greatest(1, (27 * count(*) + 50) / 100) END AS g,\n"
    "           sum(total) AS t1, sum(total::numeric * total) AS t2\n"
    "    FROM ranked\n"
    "), up_edge AS MATERIALIZED (\n" /* the last sheet of the upper group */
    "    SELECT total, student_number FROM ranked WHERE rk = (SELECT g FROM head) LIMIT 1\n"
    "), low_edge AS MATERIALIZED (\n" /* the first sheet of the lower group */
    "    SELECT total, student_number FROM ranked WHERE rk = (SELECT n - g + 1 FROM head) LIMIT 1\n"
    "), by_response AS (\n"
    "    SELECT q, r, count(*) AS c, count(*) FILTER (WHERE up) AS up, count(*) FILTER (WHERE low) AS low,\n"
    "           max(x) AS max_x, max(av) AS max_av, sum(x) AS sx, sum(x::bigint * x) AS sxx, sum(total) AS st,\n"
    "           COALESCE(sum(small_t * small_t), 0) + COALESCE(sum(big_t::numeric * big_t), 0) AS stt,\n"
    "           COALESCE(sum(x * small_t), 0) + COALESCE(sum(x * big_t::numeric), 0) AS sxt\n"
    "    FROM (SELECT s.total, s.small_t, s.big_t, s.up, s.low, unnest(s.questions) AS q,\n"
    "          unnest(s.responses) AS r, unnest(s.awarded) AS x, unnest(s.available) AS av\n"
    "      FROM (SELECT a.total, a.questions, a.responses, a.awarded, a.available,\n"
    "            CASE WHEN a.total <= " BIG " THEN a.total END AS small_t,\n"
    "            CASE WHEN a.total > " BIG " THEN a.total END AS big_t,\n"
    "            (a.total, (SELECT student_number FROM up_edge) COLLATE \"C\")\n"
    "              >= ((SELECT total FROM up_edge), a.student_number COLLATE \"C\") AS up,\n"
    "            ((SELECT total FROM low_edge), a.student_number COLLATE \"C\")\n"
    "              >= (a.total, (SELECT student_number FROM low_edge) COLLATE \"C\") AS low\n"
    "        FROM sheets AS a OFFSET 0) AS s) AS u\n"
    "    GROUP BY q, r\n"
    "), by_question AS (\n"
    "    SELECT q, sum(c) AS n, max(max_av) AS max_marks, sum(sx) AS sx, sum(sxx) AS sxx,\n"
    "           sum(st) - sum(sx) AS sy, sum(stt) - 2 * sum(sxt) + sum(sxx) AS syy, sum(sxt) - sum(sxx) AS sxy,\n"
    "           count(*) AS distinct_responses, bool_or(r <> '' AND max_x = 0 AND up > low) AS distractor_top\n"
    "    FROM by_response GROUP BY q\n"
    "), items AS (\n"
    "    SELECT q, n, max_marks, distinct_responses, distractor_top,\n"
    "           CASE WHEN max_marks > 0 THEN (100 * sx / (n * max_marks))::float8 END AS facility,\n"
    "           CASE WHEN n >= 2 AND n * sxx - sx * sx > 0 AND n * syy - sy * sy > 0\n"
    "                THEN (n * sxy - sx * sy)::float8\n"
    "                     / (sqrt((n * sxx - sx * sx)::float8) * sqrt((n * syy - sy * sy)::float8)) END\n"
    "               AS discrimination,\n"
    "           row_number() OVER (ORDER BY " QUESTION_ORDER("q") ") AS place\n"
    "    FROM by_question\n"
    "), whole AS MATERIALIZED (\n"
    "    SELECT h.known, h.n, h.g, q.k, h.n * q.sxx - q.sx2 AS item_var, h.n * h.t2 - h.t1 * h.t1 AS total_var,\n"
    "           CASE WHEN h.n > 0 THEN (h.t1 / h.n)::float8 END AS mean,\n"
    "           CASE WHEN h.n > 0 THEN sqrt(((h.n * h.t2 - h.t1 * h.t1) / (h.n * h.n))::float8) END AS sd\n"
    "    FROM head AS h CROSS JOIN (SELECT count(*) AS k, sum(sxx) AS sxx, sum(sx * sx) AS sx2 FROM by_question) AS q\n"
    "), figures AS MATERIALIZED (\n"
    "    SELECT w.*, CASE WHEN w.k >= 2 AND w.total_var > 0\n"
    "                     THEN (w.k::numeric / (w.k - 1) * (1 - w.item_var / w.total_var))::float8 END AS alpha\n"
    "    FROM whole AS w\n"
    "), listed AS (\n"
    "    SELECT i.*, b.r, b.c, b.up, b.low,\n"
    "           row_number() OVER (PARTITION BY i.q ORDER BY b.r COLLATE \"C\") AS rplace\n"
    "    FROM items AS i JOIN by_response AS b USING (q)\n"
    "    WHERE i.place <= $2\n"
    ")\n"
    "SELECT f.known, f.n, f.k, f.g, f.mean, f.sd, f.alpha, f.sd * sqrt(greatest(0, 1 - f.alpha)),\n"
    "       l.q, l.n, l.max_marks, l.facility, l.discrimination, l.distractor_top, l.distinct_responses,\n"
    "       l.r, l.c, l.up, l.low\n"
    "FROM figures AS f LEFT JOIN listed AS l ON l.rplace <= $3\n"
    "ORDER BY l.place, l.rplace";

static char *copy(const PGresult *res, int row, int col)
{
    return strdup(PQgetvalue(res, row, col));
}

static uint64_t u64(const PGresult *res, int row, int col)
{
    return strtoull(PQgetvalue(res, row, col), NULL, 10);
}

/* A nullable float8: 1 and *out, or 0 for NULL. */
static int opt(const PGresult *res, int row, int col, double *out)
{
    if (PQgetisnull(res, row, col))
        return 0;
    *out = strtod(PQgetvalue(res, row, col), NULL);
    return 1;
}

static int no_memory(struct markr_error *err)
{
    return markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
}

/* Rows come by question, then response: a new question opens a new item. */
static int read_items(const PGresult *res, struct markr_items *out, struct markr_error *err)
{
    int rows = PQntuples(res);
    struct markr_item *item = NULL;

    out->students = u64(res, 0, C_N);
    out->questions = u64(res, 0, C_K);
    out->group_size = u64(res, 0, C_G);
    out->has_totals = opt(res, 0, C_MEAN, &out->mean_total) & opt(res, 0, C_SD, &out->sd_total);
    out->has_alpha = opt(res, 0, C_ALPHA, &out->alpha) & opt(res, 0, C_SEM, &out->sem);
    if (PQgetisnull(res, 0, C_Q))
        return 0; /* no sheet with a valid answer */
    if ((out->items = calloc(MARKR_ITEMS_MAX_QUESTIONS, sizeof(*out->items))) == NULL)
        return no_memory(err);
    for (int i = 0; i < rows; ++i) {
        struct markr_item_response *r;

        if (item == NULL || strcmp(item->question, PQgetvalue(res, i, C_Q)) != 0) {
            if (out->count == MARKR_ITEMS_MAX_QUESTIONS)
                return markr_error_set(err, MARKR_ERR_INTERNAL, "database_error", "more questions than asked for");
            item = &out->items[out->count++];
            if ((item->question = copy(res, i, C_Q)) == NULL)
                return no_memory(err);
            item->answered = u64(res, i, C_ANSWERED);
            item->max_marks = (int64_t)u64(res, i, C_MAX);
            item->has_facility = opt(res, i, C_FACILITY, &item->facility);
            item->has_discrimination = opt(res, i, C_DISC, &item->discrimination);
            item->distractor_attracts_top = strcmp(PQgetvalue(res, i, C_DISTRACTOR), "t") == 0;
            item->distinct_responses = u64(res, i, C_DISTINCT);
            if ((item->responses = calloc(MARKR_ITEMS_MAX_RESPONSES, sizeof(*item->responses))) == NULL)
                return no_memory(err);
        }
        if (item->response_count == MARKR_ITEMS_MAX_RESPONSES)
            return markr_error_set(err, MARKR_ERR_INTERNAL, "database_error", "more responses than asked for");
        r = &item->responses[item->response_count++];
        if ((r->response = copy(res, i, C_R)) == NULL)
            return no_memory(err);
        r->count = u64(res, i, C_COUNT);
        r->upper = u64(res, i, C_UP);
        r->lower = u64(res, i, C_LOW);
    }
    return 0;
}

static int reader_items(void *ctx, const char *test_id, size_t len, struct markr_items *out, struct markr_error *err)
{
    struct markr_pg *pg = ctx;
    struct markr_pg_params params = {0};
    PGresult *res;
    int rc;

    markr_pg_param_binary(&params, MARKR_PG_TEXT, test_id, len);
    markr_pg_param_int8(&params, MARKR_ITEMS_MAX_QUESTIONS);
    markr_pg_param_int8(&params, MARKR_ITEMS_MAX_RESPONSES);
    if ((res = markr_pg_read_replica(pg, "computing the items", items_sql, &params, err)) == NULL) {
        if (strcmp(pg->sqlstate, "22021") == 0) /* not UTF-8: names no test */
            return markr_error_set(err, MARKR_ERR_NOT_FOUND, "unknown_test", "no results for that test id");
        return -1;
    }
    if (PQntuples(res) < 1 || PQnfields(res) != C_COLUMNS)
        rc = markr_error_set(err, MARKR_ERR_INTERNAL, "database_error", "unexpected items result shape");
    else if (strcmp(PQgetvalue(res, 0, C_KNOWN), "t") != 0)
        rc = markr_error_set(err, MARKR_ERR_NOT_FOUND, "unknown_test", "no results for that test id");
    else
        rc = read_items(res, out, err);
    PQclear(res);
    return rc;
}

/* The mark, then its kept sheet's answers (none: one row of NULLs) in question order. */
static const char sheet_sql[] =
    "SELECT m.obtained, m.available, 100.0::float8 * m.obtained / m.available, u.q, u.r, u.aw, u.av\n"
    "FROM marks AS m\n"
    "LEFT JOIN LATERAL unnest(m.sheet_questions, m.sheet_responses, m.sheet_awarded, m.sheet_available)\n"
    "          AS u(q, r, aw, av) ON true\n"
    "WHERE m.test_id = $1 AND m.student_number = $2\n"
    "ORDER BY " QUESTION_ORDER("u.q");

static int unknown_student(struct markr_error *err)
{
    return markr_error_set(err, MARKR_ERR_NOT_FOUND, "unknown_student", "no mark of that student in that test");
}

static int read_sheet(const PGresult *res, struct markr_student_sheet *out, struct markr_error *err)
{
    int rows = PQntuples(res);

    out->obtained = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    out->available = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    out->percent = strtod(PQgetvalue(res, 0, 2), NULL);
    if (PQgetisnull(res, 0, 3))
        return 0;
    if ((out->answers = calloc((size_t)rows, sizeof(*out->answers))) == NULL)
        return no_memory(err);
    for (int i = 0; i < rows; ++i) {
        struct markr_sheet_answer *a = &out->answers[out->count++];

        if ((a->question = copy(res, i, 3)) == NULL || (a->response = copy(res, i, 4)) == NULL)
            return no_memory(err);
        a->awarded = strtoll(PQgetvalue(res, i, 5), NULL, 10);
        a->available = strtoll(PQgetvalue(res, i, 6), NULL, 10);
    }
    return 0;
}

static int reader_student_sheet(void *ctx, const char *test_id, size_t test_len, const char *student,
                                size_t student_len, struct markr_student_sheet *out, struct markr_error *err)
{
    struct markr_pg *pg = ctx;
    struct markr_pg_params params = {0};
    PGresult *res;
    int rc;

    markr_pg_param_binary(&params, MARKR_PG_TEXT, test_id, test_len);
    markr_pg_param_binary(&params, MARKR_PG_TEXT, student, student_len);
    if ((res = markr_pg_read_replica(pg, "reading a student's sheet", sheet_sql, &params, err)) == NULL)
        return strcmp(pg->sqlstate, "22021") == 0 ? unknown_student(err) : -1;
    rc = PQntuples(res) == 0 ? unknown_student(err) : read_sheet(res, out, err);
    PQclear(res);
    return rc;
}

void markr_pg_items_reader(struct markr_results_reader *reader)
{
    reader->items = reader_items;
    reader->student_sheet = reader_student_sheet;
}
