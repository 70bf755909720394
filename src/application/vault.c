/*
 * Releasing what the vault ports hand back (vault.h says who owns what).
 */
#include "vault.h"

#include <stdlib.h>
#include <string.h>

void markr_import_info_free(struct markr_import_info *info)
{
    for (size_t i = 0; i < info->test_count; ++i)
        free(info->tests[i]);
    free(info->tests);
    free(info->content_type);
    memset(info, 0, sizeof(*info));
}

void markr_import_page_free(struct markr_import_page *page)
{
    for (size_t i = 0; i < page->count; ++i)
        markr_import_info_free(&page->items[i]);
    free(page->items);
    memset(page, 0, sizeof(*page));
}

void markr_conflicts_free(struct markr_conflicts *c)
{
    for (size_t i = 0; i < c->count; ++i) {
        struct markr_conflict *k = &c->items[i];

        for (size_t j = 0; j < k->name_count; ++j) {
            free(k->names[j].first_name);
            free(k->names[j].last_name);
            free(k->names[j].import_ids);
        }
        free(k->names);
        free(k->student_number);
    }
    free(c->items);
    memset(c, 0, sizeof(*c));
}
