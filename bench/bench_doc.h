/*
 * Documents for the benchmarks, shaped like the grading machines' (see
 * tests/fixtures/sample_results.xml): names, `answers` <answer> elements per result and a
 * summary. The same seed gives the same marks, so every run of a benchmark stores alike.
 */
#ifndef MARKR_BENCH_DOC_H
#define MARKR_BENCH_DOC_H

#include <stddef.h>

/* A document of `results` results for test_id, students numbered from first_student;
 * malloc'd, *len bytes (exits when out of memory). */
char *bench_document(const char *test_id, int results, int answers, long first_student, size_t *len);

#endif
