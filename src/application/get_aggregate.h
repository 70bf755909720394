/*
 * Use case: the aggregate figures of one test.
 */
#ifndef MARKR_APPLICATION_GET_AGGREGATE_H
#define MARKR_APPLICATION_GET_AGGREGATE_H

#include "ports.h"

/* Any byte string may be asked for, but one that cannot name a test (markr_id_valid, ids.h)
 * gives MARKR_ERR_NOT_FOUND without asking the store. Returns 0 or -1 with err. */
int markr_get_aggregate(const struct markr_results_reader *reader, const char *test_id, size_t len,
                        struct markr_aggregate *out, struct markr_error *err);
/* The error of a test without marks, as markr_get_aggregate gives it (for an answer that a
 * cache remembered). Returns -1. */
int markr_aggregate_unknown(struct markr_error *err);

#endif
