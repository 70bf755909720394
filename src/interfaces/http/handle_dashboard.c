/*
 * GET / and GET /static/{name}: the dashboard, served on the loop from the files compiled
 * into the binary (web/, ADR 0014). Nothing is read from disk and nothing from a CDN.
 */
#include <string.h>

#include "dashboard_assets.h"
#include "handlers.h"
#include "representation.h"
#include "responses.h"

/* The dashboard's files run nothing but themselves: scripts and styles only from
 * /static/ (no inline code, no eval), data only from this server (fetch and EventSource),
 * nothing else loaded, no <base>, no forms, never inside another site's frame; and no
 * Referer leaves with a request. A document an attacker stored can therefore not run in
 * the dashboard's origin even if a browser were to render it. */
static const char csp[] = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                          "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

static const struct markr_asset *find_asset(const char *name, size_t len)
{
    for (const struct markr_asset *a = markr_assets; a->name != NULL; ++a)
        if (strlen(a->name) == len && memcmp(a->name, name, len) == 0)
            return a;
    return NULL;
}

/* Sends a compiled-in file, or 404 when asset is NULL. */
static int send_asset(h2o_req_t *req, const struct markr_asset *asset)
{
    if (asset == NULL) {
        markr_http_send_problem(req, 404, "not_found", "no such resource");
        return 0;
    }
    /* no-cache below means: revalidate, which the ETag makes a bodiless 304. */
    if (markr_http_conditional_asset(req, asset))
        return 0;
    req->res.status = 200;
    req->res.reason = "OK";
    req->res.content_length = asset->len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, asset->media_type,
                   strlen(asset->media_type));
    /* Revalidate every time: a new build must not meet an old script in a screen's cache. */
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-cache"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("content-security-policy"), 0, NULL, csp,
                          sizeof(csp) - 1);
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("referrer-policy"), 0, NULL,
                          H2O_STRLIT("no-referrer"));
    /* For browsers older than frame-ancestors. */
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-frame-options"), 0, NULL, H2O_STRLIT("DENY"));
    h2o_send_inline(req, (const char *)asset->bytes, asset->len);
    return 0;
}

int markr_handle_dashboard(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match)
{
    return send_asset(req, find_asset(H2O_STRLIT("index.html")));
}

int markr_handle_static(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match)
{
    return send_asset(req, find_asset(match->id, match->id_len));
}
