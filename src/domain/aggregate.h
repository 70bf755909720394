/*
 * The aggregate of a test (rule 3): every figure but count is a percentage of the
 * student's available marks, 100 * obtained / available, after the duplicate rule.
 * Production computes it in SQL; this reference implementation defines the figures
 * for the unit tests and the in-memory fakes.
 */
#ifndef MARKR_DOMAIN_AGGREGATE_H
#define MARKR_DOMAIN_AGGREGATE_H

#include <stddef.h>
#include <stdint.h>

struct markr_aggregate {
    double mean;
    double stddev; /* population standard deviation; 0 for one student */
    double min;
    double max;
    double p25; /* continuous (linear) percentiles, as SQL percentile_cont */
    double p50;
    double p75;
    uint64_t count;
};

/* 100 * obtained / available; available must be positive. */
double markr_percent(uint32_t obtained, uint32_t available);

/* Computes the aggregate of n percentages (n > 0). Sorts `percents` in place. */
void markr_aggregate_compute(double *percents, size_t n, struct markr_aggregate *out);

#endif
