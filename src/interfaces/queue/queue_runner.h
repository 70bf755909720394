/*
 * Threads that process queued asynchronous imports (ADR 0011): a driver of the application
 * like the HTTP server, beside it in `markr serve`. Each opens its own services (its own
 * database connection) through the service factory, runs markr_process_next_queued, and
 * waits for the next notification (or a short timeout) when the queue is empty. Any number
 * of servers may run them on one database.
 */
#ifndef MARKR_INTERFACES_QUEUE_QUEUE_RUNNER_H
#define MARKR_INTERFACES_QUEUE_QUEUE_RUNNER_H

#include "application/services.h"
#include "domain/error.h"

struct markr_queue_runner;

/* Starts `threads` runners (0 is allowed: nothing runs). Returns NULL with err when one
 * cannot start (those started are stopped). */
struct markr_queue_runner *markr_queue_runner_start(const struct markr_service_factory *factory, unsigned threads,
                                                    struct markr_error *err);

/* Lets each runner finish the import it is processing, then stops and frees them. */
void markr_queue_runner_stop(struct markr_queue_runner *runner);

#endif
