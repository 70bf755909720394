/*
 * The vault's read use cases, and releasing what the vault ports hand back (vault.h says
 * who owns what).
 */
#include "vault.h"

#include <stdlib.h>
#include <string.h>

#include "ids.h"

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

static void conflict_free(struct markr_conflict *k)
{
    for (size_t j = 0; j < k->name_count; ++j) {
        free(k->names[j].first_name);
        free(k->names[j].last_name);
        free(k->names[j].import_ids);
    }
    free(k->names);
    free(k->student_number);
    memset(k, 0, sizeof(*k));
}

void markr_conflicts_free(struct markr_conflicts *c)
{
    for (size_t i = 0; i < c->count; ++i)
        conflict_free(&c->items[i]);
    free(c->items);
    memset(c, 0, sizeof(*c));
}

static int unknown_import(int64_t id, struct markr_error *err)
{
    return markr_error_set(err, MARKR_ERR_NOT_FOUND, "unknown_import", "no import has id %lld", (long long)id);
}

int markr_list_imports(const struct markr_vault_reader *v, const struct markr_import_filter *filter,
                       struct markr_import_page *out, struct markr_error *err)
{
    memset(out, 0, sizeof(*out));
    markr_error_clear(err);
    if (filter->limit < 1 || filter->limit > MARKR_IMPORT_PAGE_MAX)
        return markr_error_set(err, MARKR_ERR_BAD_REQUEST, "bad_limit", "limit must be an integer from 1 to %d",
                               MARKR_IMPORT_PAGE_MAX);
    return v->list(v->ctx, filter, out, err);
}

int markr_get_import(const struct markr_vault_reader *v, int64_t id, struct markr_import_info *out,
                     struct markr_error *err)
{
    memset(out, 0, sizeof(*out));
    markr_error_clear(err);
    return id < 1 ? unknown_import(id, err) : v->get(v->ctx, id, out, err);
}

int markr_get_raw_import(const struct markr_vault_reader *v, int64_t id, char **content_type, char **body,
                         size_t *len, struct markr_error *err)
{
    *content_type = NULL;
    *body = NULL;
    *len = 0;
    markr_error_clear(err);
    return id < 1 ? unknown_import(id, err) : v->raw(v->ctx, id, content_type, body, len, err);
}

int markr_open_raw_import(const struct markr_vault_reader *v, int64_t id, char **content_type, size_t *size,
                          struct markr_error *err)
{
    *content_type = NULL;
    *size = 0;
    markr_error_clear(err);
    return id < 1 ? unknown_import(id, err) : v->head(v->ctx, id, content_type, size, err);
}

int markr_read_raw_chunk(const struct markr_vault_reader *v, int64_t id, int32_t seq, size_t remaining,
                         char **bytes, size_t *len, struct markr_error *err)
{
    int rc;

    *bytes = NULL;
    *len = 0;
    markr_error_clear(err);
    if (id < 1 || seq < 0 || remaining == 0)
        return markr_error_set(err, MARKR_ERR_INTERNAL, "database_error",
                               "no chunk %d of import %lld is to be read", (int)seq, (long long)id);
    if ((rc = v->chunk(v->ctx, id, seq, bytes, len, err)) < 0)
        return -1;
    if (rc == 0 || *len == 0 || *len > remaining) {
        free(*bytes);
        *bytes = NULL;
        *len = 0;
        return markr_error_set(err, MARKR_ERR_INTERNAL, "database_error",
                               "the stored chunks of import %lld do not make its body (chunk %d)", (long long)id,
                               (int)seq);
    }
    return 0;
}

int markr_list_conflicts(const struct markr_vault_reader *v, const char *test_id, size_t len,
                         const struct markr_conflicts_page *page, struct markr_conflicts *out,
                         struct markr_error *err)
{
    memset(out, 0, sizeof(*out));
    markr_error_clear(err);
    if (page->limit < 1 || page->limit > MARKR_CONFLICTS_PAGE_MAX)
        return markr_error_set(err, MARKR_ERR_BAD_REQUEST, "bad_limit", "limit must be an integer from 1 to %d",
                               MARKR_CONFLICTS_PAGE_MAX);
    if (page->after != NULL && !markr_id_valid(page->after, page->after_len))
        return markr_error_set(err, MARKR_ERR_BAD_REQUEST, "bad_cursor",
                               "cursor must be the next_cursor of a previous page");
    if (v->conflicts(v->ctx, test_id, len, page->after, page->after_len, (size_t)page->limit + 1, out, err) != 0)
        return -1;
    /* The student past the page only says that more follow. */
    if (out->count > page->limit) {
        while (out->count > page->limit)
            conflict_free(&out->items[--out->count]);
        out->more = 1;
    }
    return 0;
}
