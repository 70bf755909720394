/*
 * Structured logs on stderr, one logfmt line per event ("time=... level=... msg=... k=v"),
 * shared by every adapter (no h2o, libpq or libxml2 here). MARKR_LOG_LEVEL (error, warn,
 * info, debug; default info) drops what is below it. Values are quoted when they need it;
 * callers never pass secrets or request bodies.
 */
#ifndef MARKR_INTERFACES_OBSERVE_LOG_H
#define MARKR_INTERFACES_OBSERVE_LOG_H

enum markr_log_level { MARKR_LOG_ERROR, MARKR_LOG_WARN, MARKR_LOG_INFO, MARKR_LOG_DEBUG };

/* Parses "error", "warn", "info" or "debug". Returns 0, or -1 for anything else. */
int markr_log_parse_level(const char *text, enum markr_log_level *level);

void markr_log_set_level(enum markr_log_level level);
int markr_log_enabled(enum markr_log_level level);

/* Writes one line: time, level, msg, then the pairs of fields (NULL-terminated list of
 * key, value, key, value...). One write(2) per line, so lines of threads never interleave. */
void markr_log(enum markr_log_level level, const char *msg, ...) __attribute__((sentinel));

#endif
