/*
 * Rule 3: percentages of the available marks, population standard deviation, and
 * continuous percentiles as PostgreSQL's percentile_cont gives them (the value at position
 * f * (n - 1) of the sorted list, linearly interpolated). Expected values are worked out by
 * hand in the comments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>

#include "domain/aggregate.h"

#define COUNT(a) (sizeof(a) / sizeof(*(a)))

static void assert_close_at(double actual, double expected, const char *what, int line)
{
    if (!(fabs(actual - expected) <= 1e-9 * fmax(1.0, fabs(expected))))
        fail_msg("line %d: %s is %.17g, expected %.17g", line, what, actual, expected);
}
#define assert_close(actual, expected) assert_close_at((actual), (expected), #actual, __LINE__)

static void percent_of_available(void **state)
{
    assert_close(markr_percent(13, 20), 65.0);
    assert_close(markr_percent(0, 5), 0.0);
    assert_close(markr_percent(20, 20), 100.0);
    assert_close(markr_percent(1, 3), 100.0 / 3.0);
    assert_close(markr_percent(2147483647u, 2147483647u), 100.0);
    assert_close(markr_percent(1, 2147483647u), 100.0 / 2147483647.0);
    /* No integer division: 1/2 of the marks is 50, not 0. */
    assert_close(markr_percent(1, 2), 50.0);
}

/* The brief's example: Jane Austen alone, 13 of 20. */
static void single_value(void **state)
{
    double p[] = {markr_percent(13, 20)};
    struct markr_aggregate a;

    markr_aggregate_compute(p, COUNT(p), &a);
    assert_true(a.mean == 65.0);
    assert_true(a.stddev == 0.0);
    assert_true(a.min == 65.0);
    assert_true(a.max == 65.0);
    assert_true(a.p25 == 65.0);
    assert_true(a.p50 == 65.0);
    assert_true(a.p75 == 65.0);
    assert_int_equal(a.count, 1);
}

static void two_values(void **state)
{
    double p[] = {100, 0};
    struct markr_aggregate a;

    markr_aggregate_compute(p, COUNT(p), &a);
    /* positions 0.25, 0.5, 0.75 between 0 and 100 */
    assert_close(a.p25, 25);
    assert_close(a.p50, 50);
    assert_close(a.p75, 75);
    assert_close(a.mean, 50);
    assert_close(a.stddev, 50); /* population: sqrt((50^2 + 50^2) / 2) */
    assert_close(a.min, 0);
    assert_close(a.max, 100);
    assert_int_equal(a.count, 2);
}

/* Even count: percentile_cont(0.25) over 10,20,30,40 is at position 0.75 -> 17.5;
 * 0.5 at 1.5 -> 25; 0.75 at 2.25 -> 32.5. */
static void four_values(void **state)
{
    double p[] = {40, 10, 30, 20};
    struct markr_aggregate a;

    markr_aggregate_compute(p, COUNT(p), &a);
    assert_close(a.mean, 25);
    assert_close(a.stddev, sqrt(125.0)); /* (225 + 25 + 25 + 225) / 4 */
    assert_close(a.min, 10);
    assert_close(a.max, 40);
    assert_close(a.p25, 17.5);
    assert_close(a.p50, 25);
    assert_close(a.p75, 32.5);
    assert_int_equal(a.count, 4);
}

/* Odd count: positions 1, 2, 3 fall exactly on values. */
static void five_values(void **state)
{
    double p[] = {50, 10, 40, 20, 30};
    struct markr_aggregate a;

    markr_aggregate_compute(p, COUNT(p), &a);
    assert_close(a.mean, 30);
    assert_close(a.stddev, sqrt(200.0)); /* (400 + 100 + 0 + 100 + 400) / 5 */
    assert_close(a.p25, 20);
    assert_close(a.p50, 30);
    assert_close(a.p75, 40);
    assert_close(a.min, 10);
    assert_close(a.max, 50);
}

/* Three values: positions 0.5, 1, 1.5. */
static void three_values(void **state)
{
    double p[] = {100, 50, 0};
    struct markr_aggregate a;

    markr_aggregate_compute(p, COUNT(p), &a);
    assert_close(a.p25, 25);
    assert_close(a.p50, 50);
    assert_close(a.p75, 75);
    assert_close(a.stddev, sqrt(5000.0 / 3.0));
}

/* Six values 1..6: positions 1.25, 2.5, 3.75 -> 2.25, 3.5, 4.75 (as PostgreSQL gives for
 * SELECT percentile_cont(ARRAY[0.25,0.5,0.75]) WITHIN GROUP (ORDER BY x)
 * FROM generate_series(1,6) x). */
static void six_values(void **state)
{
    double p[] = {6, 5, 4, 3, 2, 1};
    struct markr_aggregate a;

    markr_aggregate_compute(p, COUNT(p), &a);
    assert_close(a.p25, 2.25);
    assert_close(a.p50, 3.5);
    assert_close(a.p75, 4.75);
    assert_close(a.mean, 3.5);
    assert_close(a.stddev, sqrt(17.5 / 6.0));
}

static void ties(void **state)
{
    double p[] = {100, 50, 50, 50};
    struct markr_aggregate a;

    markr_aggregate_compute(p, COUNT(p), &a);
    assert_close(a.p25, 50);
    assert_close(a.p50, 50);
    assert_close(a.p75, 62.5); /* position 2.25: 50 + 0.25 * (100 - 50) */
    assert_close(a.mean, 62.5);
    assert_close(a.stddev, sqrt((3 * 12.5 * 12.5 + 37.5 * 37.5) / 4));
}

static void equal_values_have_no_spread(void **state)
{
    double p[] = {65, 65, 65, 65, 65};
    struct markr_aggregate a;

    markr_aggregate_compute(p, COUNT(p), &a);
    assert_true(a.stddev == 0.0);
    assert_true(a.p25 == 65.0 && a.p50 == 65.0 && a.p75 == 65.0);
}

/* Percentages built from marks, as the store would after the duplicate rule. */
static void from_marks(void **state)
{
    double p[] = {markr_percent(15, 20), markr_percent(3, 4), markr_percent(0, 7), markr_percent(7, 7)};
    struct markr_aggregate a;

    markr_aggregate_compute(p, COUNT(p), &a);
    /* sorted: 0, 75, 75, 100 */
    assert_close(a.min, 0);
    assert_close(a.max, 100);
    assert_close(a.mean, 62.5);
    assert_close(a.p25, 56.25); /* position 0.75: 0 + 0.75 * 75 */
    assert_close(a.p50, 75);
    assert_close(a.p75, 81.25); /* position 2.25: 75 + 0.25 * 25 */
    assert_close(a.stddev, sqrt((62.5 * 62.5 + 12.5 * 12.5 * 2 + 37.5 * 37.5) / 4));
}

static void sorts_in_place(void **state)
{
    double p[] = {3, 1, 2};
    struct markr_aggregate a;

    markr_aggregate_compute(p, COUNT(p), &a);
    assert_true(p[0] == 1 && p[1] == 2 && p[2] == 3);
}

/* 101 values 0..100: every percentile lands on a value. */
static void large_count(void **state)
{
    double p[101];
    struct markr_aggregate a;

    for (size_t i = 0; i < COUNT(p); ++i)
        p[i] = (double)((i * 37) % 101); /* a permutation of 0..100 */
    markr_aggregate_compute(p, COUNT(p), &a);
    assert_close(a.p25, 25);
    assert_close(a.p50, 50);
    assert_close(a.p75, 75);
    assert_close(a.mean, 50);
    assert_close(a.stddev, sqrt(850.0)); /* (101^2 - 1) / 12 */
    assert_int_equal(a.count, 101);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(percent_of_available),
        cmocka_unit_test(single_value),
        cmocka_unit_test(two_values),
        cmocka_unit_test(three_values),
        cmocka_unit_test(four_values),
        cmocka_unit_test(five_values),
        cmocka_unit_test(six_values),
        cmocka_unit_test(ties),
        cmocka_unit_test(equal_values_have_no_spread),
        cmocka_unit_test(from_marks),
        cmocka_unit_test(sorts_in_place),
        cmocka_unit_test(large_count),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
