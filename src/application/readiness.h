/*
 * Use case: is this instance ready to serve (GET /ready)? The storage is reachable and its
 * schema is the one this build expects.
 */
#ifndef MARKR_APPLICATION_READINESS_H
#define MARKR_APPLICATION_READINESS_H

#include "ports.h"

/* Returns 0 when ready, or -1 with err (MARKR_ERR_UNAVAILABLE) saying why not. */
int markr_check_readiness(const struct markr_readiness *readiness, struct markr_error *err);

#endif
