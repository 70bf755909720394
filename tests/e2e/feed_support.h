/*
 * What the live feed's end-to-end suites share (test_feed.c, test_feed_source.c): the clock,
 * waits, GET of a JSON answer and its fields, and counting lines of a server's log.
 */
#ifndef MARKR_TESTS_E2E_FEED_SUPPORT_H
#define MARKR_TESTS_E2E_FEED_SUPPORT_H

#include <json-c/json.h>
#include <stdint.h>

#include "harness.h"

int64_t now_ms(void);
void pause_ms(long ms);
/* The JSON of a 200 answer to GET path (json_object_put it), or NULL. */
json_object *get_json(const struct markr_server *s, const char *path);
/* A string member (NULL when absent or null), an integer member (-1 when absent). */
const char *str_of(json_object *o, const char *key);
int64_t int_of(json_object *o, const char *key);
/* Lines of s's log holding a and, unless NULL, b. */
int log_lines(const struct markr_server *s, const char *a, const char *b);

#endif
