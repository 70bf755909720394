/*
 * Reference computation of a test's aggregate (rule 3). Production asks PostgreSQL; this
 * code defines the same figures for unit tests and fakes: population standard deviation and
 * continuous percentiles with linear interpolation, as SQL percentile_cont.
 */
#include "aggregate.h"

#include <math.h>
#include <stdlib.h>

double markr_percent(uint32_t obtained, uint32_t available)
{
    return 100.0 * (double)obtained / (double)available;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* percentile_cont: the value at position f * (n - 1) of the sorted list, interpolated. */
static double percentile(const double *sorted, size_t n, double f)
{
    double pos = f * (double)(n - 1);
    size_t lo = (size_t)floor(pos), hi = (size_t)ceil(pos);

    return sorted[lo] + (pos - (double)lo) * (sorted[hi] - sorted[lo]);
}

void markr_aggregate_compute(double *percents, size_t n, struct markr_aggregate *out)
{
    double sum = 0, squares = 0;

    qsort(percents, n, sizeof(*percents), compare_doubles);
    for (size_t i = 0; i < n; ++i)
        sum += percents[i];
    out->mean = sum / (double)n;
    for (size_t i = 0; i < n; ++i)
        squares += (percents[i] - out->mean) * (percents[i] - out->mean);
    out->stddev = sqrt(squares / (double)n);
    out->min = percents[0];
    out->max = percents[n - 1];
    out->p25 = percentile(percents, n, 0.25);
    out->p50 = percentile(percents, n, 0.50);
    out->p75 = percentile(percents, n, 0.75);
    out->count = n;
}
