/*
 * The read pool's decisions (pg_replica_route.c), without a database: how
 * MARKR_READ_DATABASE_URL splits (URIs, conninfo strings with spaces and quotes, multi-host
 * entries that hold commas), WAL positions read and printed, which standby a read tries
 * (round robin, skipping those in a backoff), the backoff, and what a probe means for a read
 * that must reflect a position.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "interfaces/pg/pg_replica_route.h"

static int split(const char *list, char **entries, char *why)
{
    return markr_replica_list_split(list, entries, MARKR_REPLICAS_MAX, why, 96);
}

static void free_entries(char **entries, int n)
{
    for (int i = 0; i < n; ++i)
        free(entries[i]);
}

static void test_split_uris_and_conninfo(void **state)
{
    char *e[MARKR_REPLICAS_MAX], why[96];
    int n = split(" postgresql://a/markr , host=/run/x port=5433 dbname=markr,postgres://u:p@b:5432/markr ", e, why);

    assert_int_equal(n, 3);
    assert_string_equal(e[0], "postgresql://a/markr");
    assert_string_equal(e[1], "host=/run/x port=5433 dbname=markr");
    assert_string_equal(e[2], "postgres://u:p@b:5432/markr");
    free_entries(e, n);
}

static void test_split_keeps_commas_that_start_no_entry(void **state)
{
    char *e[MARKR_REPLICAS_MAX], why[96];
    /* A multi-host URI, a multi-host conninfo, a quoted value with a comma and a keyword. */
    int n = split("postgresql://h1,h2:5433/markr,host=a,b port=1 password='x, dbname=y',  sslmode = disable", e, why);

    assert_int_equal(n, 3);
    assert_string_equal(e[0], "postgresql://h1,h2:5433/markr");
    assert_string_equal(e[1], "host=a,b port=1 password='x, dbname=y'");
    assert_string_equal(e[2], "sslmode = disable");
    free_entries(e, n);
    /* An escaped quote inside quotes does not end them. */
    n = split("password='a\\',host=b' host=c,host=d", e, why);
    assert_int_equal(n, 2);
    assert_string_equal(e[0], "password='a\\',host=b' host=c");
    assert_string_equal(e[1], "host=d");
    free_entries(e, n);
}

static void test_split_refuses_empty_long_and_many(void **state)
{
    char *e[MARKR_REPLICAS_MAX], why[96];
    char *big = malloc(MARKR_REPLICA_LIST_MAX + 2);

    assert_int_equal(split("", e, why), -1);
    assert_string_equal(why, "entry 1 is empty");
    assert_int_equal(split("host=a, ,host=b", e, why), 2); /* ", ," : the space does not start an entry */
    free_entries(e, 2);
    assert_int_equal(split("host=a,host=b,", e, why), -1);
    assert_string_equal(why, "entry 3 is empty");
    assert_int_equal(split("host=1,host=2,host=3,host=4,host=5,host=6,host=7,host=8,host=9", e, why), -1);
    assert_string_equal(why, "more than 8 standbys");
    memset(big, 'a', MARKR_REPLICA_LIST_MAX + 1);
    big[MARKR_REPLICA_LIST_MAX + 1] = '\0';
    assert_int_equal(split(big, e, why), -1);
    assert_non_null(strstr(why, "longer than"));
    big[MARKR_REPLICA_LIST_MAX] = '\0';
    assert_int_equal(split(big, e, why), 1);
    free_entries(e, 1);
    free(big);
}

static void test_lsn_parse_and_format(void **state)
{
    uint64_t lsn;
    char text[24];

    assert_int_equal(markr_lsn_parse("16/B374D848", &lsn), 0);
    assert_true(lsn == ((uint64_t)0x16 << 32 | 0xB374D848u));
    markr_lsn_format(lsn, text, sizeof(text));
    assert_string_equal(text, "16/B374D848");
    assert_int_equal(markr_lsn_parse("0/0", &lsn), 0);
    assert_true(lsn == 0);
    assert_int_equal(markr_lsn_parse("FFFFFFFF/FFFFFFFF", &lsn), 0);
    assert_true(lsn == UINT64_MAX);
    const char *bad[] = {"", "/1", "1/", "1", "x/1", "1/x", "100000000/0", "0/100000000", "-1/0", "1/2 ", " 1/2", "1/-2"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i)
        assert_int_equal(markr_lsn_parse(bad[i], &lsn), -1);
}

static void test_covers_page_headers_only(void **state)
{
    const uint64_t page = (uint64_t)0x16 << 32 | 5 * 8192u;

    assert_true(markr_replica_covers(page, page, 8192));
    assert_true(markr_replica_covers(page, page + 24, 8192)); /* a short page header */
    assert_true(markr_replica_covers(page, page + 40, 8192)); /* a segment's long header */
    assert_false(markr_replica_covers(page, page + 48, 8192)); /* a record could end there */
    assert_false(markr_replica_covers(page + 8, page + 24, 8192)); /* not on a boundary */
    assert_false(markr_replica_covers(page - 8, page + 24, 8192));
    assert_false(markr_replica_covers(page, page + 24, 0)); /* the page size unknown */
    assert_false(markr_replica_covers(page, page + 24, 65536 * 2)); /* not a boundary of that size */
    assert_true(markr_replica_covers(page + 100, page + 24, 8192));
}

static void test_pick_round_robin_and_backoff(void **state)
{
    struct markr_standby_view v[3] = {{MARKR_STANDBY_UP, 0}, {MARKR_STANDBY_DOWN, 1000}, {MARKR_STANDBY_UNKNOWN, 0}};

    assert_int_equal(markr_replica_pick(v, 3, 0, 500), 0);
    assert_int_equal(markr_replica_pick(v, 3, 1, 500), 2); /* 1 waits until 1000 */
    assert_int_equal(markr_replica_pick(v, 3, 2, 500), 2);
    assert_int_equal(markr_replica_pick(v, 3, 4, 500), 2); /* start wraps */
    assert_int_equal(markr_replica_pick(v, 3, 1, 1000), 1); /* its backoff is over */
    v[0].retry_at_ms = v[2].retry_at_ms = 2000;
    assert_int_equal(markr_replica_pick(v, 3, 0, 999), -1);
    assert_int_equal(markr_replica_pick(v, 0, 0, 0), -1);

    assert_int_equal(markr_replica_backoff(0), 100);
    assert_int_equal(markr_replica_backoff(100), 200);
    assert_int_equal(markr_replica_backoff(800), 1600);
    assert_int_equal(markr_replica_backoff(1600), 2000);
    assert_int_equal(markr_replica_backoff(2000), 2000);
}

static void test_judge_and_poll(void **state)
{
    assert_int_equal(markr_replica_judge(1, 100, 100, 8192, 0), MARKR_PROBE_USE);
    assert_int_equal(markr_replica_judge(1, 101, 100, 8192, 500), MARKR_PROBE_USE);
    assert_int_equal(markr_replica_judge(1, 99, 100, 8192, 500), MARKR_PROBE_WAIT);
    assert_int_equal(markr_replica_judge(1, 99, 100, 8192, 0), MARKR_PROBE_LAGGING);
    assert_int_equal(markr_replica_judge(1, 99, 100, 8192, -3), MARKR_PROBE_LAGGING);
    /* A primary is never read as a standby, even when it is far ahead. */
    assert_int_equal(markr_replica_judge(0, 500, 100, 8192, 500), MARKR_PROBE_NOT_IN_RECOVERY);
    /* Replay on a page boundary holds an insert position past the next page's header. */
    assert_int_equal(markr_replica_judge(1, 3 * 8192, 3 * 8192 + 24, 8192, 0), MARKR_PROBE_USE);
    assert_int_equal(markr_replica_judge(1, 2048 * 8192, 2048 * 8192 + 40, 8192, 0), MARKR_PROBE_USE);

    assert_int_equal(markr_replica_poll_ms(0, 500), 1);
    assert_int_equal(markr_replica_poll_ms(3, 500), 8);
    assert_int_equal(markr_replica_poll_ms(9, 500), 32);
    assert_int_equal(markr_replica_poll_ms(9, 5), 5); /* never past the bound */
    assert_int_equal(markr_replica_poll_ms(0, 0), 0);

    assert_string_equal(markr_standby_state_name(MARKR_STANDBY_NOT_IN_RECOVERY), "not_in_recovery");
    assert_string_equal(markr_standby_skip_reason(MARKR_STANDBY_LAGGING), "lag");
    assert_string_equal(markr_standby_skip_reason(MARKR_STANDBY_DOWN), "down");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_uris_and_conninfo),
        cmocka_unit_test(test_split_keeps_commas_that_start_no_entry),
        cmocka_unit_test(test_split_refuses_empty_long_and_many),
        cmocka_unit_test(test_lsn_parse_and_format),
        cmocka_unit_test(test_covers_page_headers_only),
        cmocka_unit_test(test_pick_round_robin_and_backoff),
        cmocka_unit_test(test_judge_and_poll),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
