/*
 * What a refresh of the cache computes (cached_figures.h): one use case per kind of entry,
 * then its JSON, on the worker, so the loop only copies bytes.
 */
#include "cached_figures.h"

#include <stdlib.h>
#include <string.h>

#include "application/get_aggregate.h"
#include "application/items.h"
#include "responses.h"
#include "responses_items.h"

static char *text_of(json_object *body, size_t *len, struct markr_error *err)
{
    const char *text = body != NULL ? json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN, len) : NULL;
    char *copy = text != NULL ? malloc(*len + 1) : NULL;

    if (copy != NULL)
        memcpy(copy, text, *len + 1);
    else
        markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
    json_object_put(body);
    return copy;
}

char *markr_cached_figures(struct markr_services *services, enum markr_cache_kind kind, const char *id, size_t len,
                           size_t *out_len, struct markr_error *err)
{
    if (kind == MARKR_CACHE_ITEMS) {
        struct markr_items items;
        char *text;

        if (markr_get_items(&services->results, id, len, &items, err) != 0)
            return NULL;
        text = text_of(markr_items_json(id, len, &items), out_len, err);
        markr_items_free(&items);
        return text;
    } else {
        struct markr_aggregate aggregate;

        if (markr_get_aggregate(&services->results, id, len, &aggregate, err) != 0)
            return NULL;
        return text_of(markr_aggregate_json(&aggregate), out_len, err);
    }
}
