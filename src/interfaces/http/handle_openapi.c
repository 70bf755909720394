/*
 * GET /openapi.json: the OpenAPI 3.1 description of the HTTP API, compiled into the binary
 * from doc/openapi.json (ADR 0028), so that what a server describes is what it serves. The
 * router's suite checks that it names every route of the table with its methods.
 */
#include <string.h>

#include "dashboard_assets.h"
#include "handlers.h"
#include "representation.h"

int markr_handle_openapi(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match)
{
    const struct markr_asset *doc = &markr_openapi[0];

    if (markr_http_conditional_asset(req, doc))
        return 0;
    req->res.status = 200;
    req->res.reason = "OK";
    req->res.content_length = doc->len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, doc->media_type,
                   strlen(doc->media_type));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-cache"));
    h2o_send_inline(req, (const char *)doc->bytes, doc->len);
    return 0;
}
