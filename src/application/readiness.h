/*
 * Use case: is this instance ready to serve (GET /ready)? The storage is reachable and its
 * schema is the one this build expects. Its read replicas are reported beside, and never
 * make it unready: reads they cannot take go to the primary (ADR 0030).
 */
#ifndef MARKR_APPLICATION_READINESS_H
#define MARKR_APPLICATION_READINESS_H

#include "ports.h"

/* Returns 0 when ready, or -1 with err (MARKR_ERR_UNAVAILABLE) saying why not. */
int markr_check_readiness(const struct markr_readiness *readiness, struct markr_error *err);

/* The state of each read replica (at most max, into out). Returns how many: 0 without any. */
size_t markr_readiness_standbys(const struct markr_readiness *readiness, struct markr_standby_status *out, size_t max);

#endif
