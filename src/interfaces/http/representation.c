/*
 * Content coding and entity tags (representation.h, ADR 0028). The tag is a hash of the
 * bytes sent: whatever produced them (the aggregate cache, a view computed by a worker,
 * a compiled-in file), equal bytes get equal tags and different bytes different ones, so
 * a 304 is never wrong, on any server of a fleet and across restarts.
 */
#include "representation.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dashboard_assets.h"

/* gzip level 1..9: 6 is zlib's own default, its usual balance of time and size. */
#define GZIP_QUALITY 6

void markr_http_register_compression(h2o_pathconf_t *pathconf)
{
    h2o_compress_args_t args = {.min_size = MARKR_COMPRESS_MIN_BYTES, .gzip = {GZIP_QUALITY}, .brotli = {-1}};

    h2o_compress_register(pathconf, &args);
}

void markr_http_no_compression(h2o_req_t *req)
{
    req->compress_hint = H2O_COMPRESS_HINT_DISABLE;
}

/* Whether h2o's compress filter will gzip this answer; the hint makes it so either way. The
 * filter leaves HEAD and HTTP/1.0 alone and needs Accept-Encoding to allow gzip. */
static int will_gzip(h2o_req_t *req, size_t len)
{
    int gzip = len >= MARKR_COMPRESS_MIN_BYTES && req->compress_hint != H2O_COMPRESS_HINT_DISABLE &&
               req->version >= 0x101 &&
               !h2o_memis(req->input.method.base, req->input.method.len, H2O_STRLIT("HEAD")) &&
               (h2o_get_compressible_types(&req->headers) & H2O_COMPRESSIBLE_GZIP) != 0;

    req->compress_hint = gzip ? H2O_COMPRESS_HINT_ENABLE : H2O_COMPRESS_HINT_DISABLE;
    return gzip;
}

int markr_http_conditional(h2o_req_t *req, const char *body, size_t len)
{
    char tag[MARKR_ETAG_MAX];

    if (!h2o_memis(req->input.method.base, req->input.method.len, H2O_STRLIT("GET")) &&
        !h2o_memis(req->input.method.base, req->input.method.len, H2O_STRLIT("HEAD")))
        return 0;
    markr_etag_of(body, len, tag);
    return markr_http_conditional_tagged(req, len, tag);
}

int markr_http_conditional_tagged(h2o_req_t *req, size_t len, const char *identity_tag)
{
    char tag[MARKR_ETAG_MAX + 8];
    size_t n;
    ssize_t h;

    if (!h2o_memis(req->input.method.base, req->input.method.len, H2O_STRLIT("GET")) &&
        !h2o_memis(req->input.method.base, req->input.method.len, H2O_STRLIT("HEAD")))
        return 0;
    snprintf(tag, sizeof(tag), "%s", identity_tag);
    if (will_gzip(req, len)) {
        n = strlen(tag);
        memcpy(tag + n - 1, "-gzip\"", sizeof("-gzip\""));
    }
    n = strlen(tag);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ETAG, NULL, h2o_strdup(&req->pool, tag, n).base, n);
    if ((h = h2o_find_header(&req->headers, H2O_TOKEN_IF_NONE_MATCH, -1)) < 0 ||
        !markr_etag_matches(req->headers.entries[h].value.base, req->headers.entries[h].value.len, tag))
        return 0;
    /* Not modified: the headers a 200 would carry that matter to a cache, and no body. */
    req->res.status = 304;
    req->res.reason = "Not Modified";
    req->res.content_length = SIZE_MAX;
    h2o_send_inline(req, "", 0);
    return 1;
}

/* --- the compiled-in files' tags ---------------------------------------------------------- */

/* Their bytes never change while the binary runs: each is hashed once, not per request on
 * the loop (app.js and openapi.json are tens of KiB). */
static struct asset_tag {
    const struct markr_asset *asset;
    char tag[MARKR_ETAG_MAX];
} *asset_tags;
static size_t asset_tag_count;
static pthread_once_t asset_tags_once = PTHREAD_ONCE_INIT;

static void hash_assets(void)
{
    size_t n = 0, i = 0;

    for (const struct markr_asset *a = markr_assets; a->name != NULL; ++a)
        ++n;
    for (const struct markr_asset *a = markr_openapi; a->name != NULL; ++a)
        ++n;
    if ((asset_tags = calloc(n != 0 ? n : 1, sizeof(*asset_tags))) == NULL)
        return; /* then each answer hashes its file, as any other answer */
    for (const struct markr_asset *a = markr_assets; a->name != NULL; ++a, ++i)
        asset_tags[i].asset = a;
    for (const struct markr_asset *a = markr_openapi; a->name != NULL; ++a, ++i)
        asset_tags[i].asset = a;
    for (i = 0; i < n; ++i)
        markr_etag_of((const char *)asset_tags[i].asset->bytes, asset_tags[i].asset->len, asset_tags[i].tag);
    asset_tag_count = n;
}

void markr_http_hash_assets(void)
{
    pthread_once(&asset_tags_once, hash_assets);
}

int markr_http_conditional_asset(h2o_req_t *req, const struct markr_asset *asset)
{
    markr_http_hash_assets();
    for (size_t i = 0; i < asset_tag_count; ++i)
        if (asset_tags[i].asset == asset)
            return markr_http_conditional_tagged(req, asset->len, asset_tags[i].tag);
    return markr_http_conditional(req, (const char *)asset->bytes, asset->len);
}
