/*
 * The feed suites' helpers (feed_support.h).
 */
#include "feed_support.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void pause_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

json_object *get_json(const struct markr_server *s, const char *path)
{
    struct e2e_response r;
    json_object *obj = NULL;

    if (e2e_http(s, "GET", path, NULL, NULL, 0, &r) == 0 && r.status == 200)
        obj = json_tokener_parse(r.body);
    e2e_response_free(&r);
    return obj;
}

const char *str_of(json_object *o, const char *key)
{
    json_object *v;

    return json_object_object_get_ex(o, key, &v) && !json_object_is_type(v, json_type_null) ? json_object_get_string(v)
                                                                                           : NULL;
}

int64_t int_of(json_object *o, const char *key)
{
    json_object *v;

    return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : -1;
}

/* Lines of s's log holding a and, unless NULL, b. */
int log_lines(const struct markr_server *s, const char *a, const char *b)
{
    size_t len;
    char *log = e2e_read_file(s->log_path, &len), *line = log, *end;
    int n = 0;

    while (line != NULL && *line != '\0') {
        end = strchr(line, '\n');
        if (end != NULL)
            *end = '\0';
        if (strstr(line, a) != NULL && (b == NULL || strstr(line, b) != NULL))
            ++n;
        line = end != NULL ? end + 1 : NULL;
    }
    free(log);
    return n;
}
