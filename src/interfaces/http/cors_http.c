/*
 * CORS headers on the wire (cors_http.h, ADR 0028). No credentials mode: Markr's tokens
 * travel in Authorization, which a page sets itself, so cookies are never involved and
 * Access-Control-Allow-Credentials is never sent.
 */
#include "cors_http.h"

#include <stdio.h>
#include <string.h>

/* The request headers a cross-origin page may send: a token, a conditional GET, content
 * negotiation, and for imports their media type, their compression (Content-Encoding: a
 * gzip upload) and Prefer: respond-async. */
static const char allowed_headers[] = "Authorization, If-None-Match, Accept, Content-Type, Content-Encoding, Prefer";
static const char exposed_headers[] = "ETag, Location, Retry-After, X-Request-Id";

/* The request's Origin when the rule lets it read route's answers, else a NULL base. */
static h2o_iovec_t allowed_origin(const struct markr_cors *cors, int readers_protected, h2o_req_t *req,
                                  const struct markr_route *route)
{
    ssize_t h;

    if (!markr_cors_route_shared(cors, route->methods, route->access, readers_protected) ||
        (h = h2o_find_header_by_str(&req->headers, H2O_STRLIT("origin"), -1)) < 0 ||
        !markr_cors_origin_allowed(cors, req->headers.entries[h].value.base, req->headers.entries[h].value.len))
        return h2o_iovec_init(NULL, 0);
    return req->headers.entries[h].value;
}

/* Access-Control-Allow-Origin: "*" when every origin is, else the one that asked. */
static void allow_origin(const struct markr_cors *cors, h2o_req_t *req, h2o_iovec_t origin)
{
    if (cors->any)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ACCESS_CONTROL_ALLOW_ORIGIN, NULL, H2O_STRLIT("*"));
    else
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ACCESS_CONTROL_ALLOW_ORIGIN, NULL,
                       h2o_strdup(&req->pool, origin.base, origin.len).base, origin.len);
}

/* With a list, a shared route's answer depends on Origin, whoever asks: a cache must not
 * give one origin's answer to another. */
static void vary_origin(const struct markr_cors *cors, int readers_protected, h2o_req_t *req,
                        const struct markr_route *route)
{
    if (!cors->any && markr_cors_route_shared(cors, route->methods, route->access, readers_protected))
        h2o_set_header_token(&req->pool, &req->res.headers, H2O_TOKEN_VARY, H2O_STRLIT("origin"));
}

void markr_http_cors_headers(const struct markr_cors *cors, int readers_protected, h2o_req_t *req,
                             const struct markr_route *route)
{
    h2o_iovec_t origin = allowed_origin(cors, readers_protected, req, route);

    vary_origin(cors, readers_protected, req, route);
    if (origin.base == NULL)
        return;
    allow_origin(cors, req, origin);
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("access-control-expose-headers"), 0, NULL,
                          exposed_headers, sizeof(exposed_headers) - 1);
}

/* The methods a preflight may ask for on route: those it shares. */
static const char *shared_methods(const struct markr_route *route)
{
    return route->access == MARKR_ACCESS_IMPORT ? "POST" : "GET, HEAD";
}

static int method_listed(const char *methods, h2o_iovec_t asked)
{
    const char *p = methods;

    for (;;) {
        const char *comma = strchr(p, ','), *end = comma != NULL ? comma : p + strlen(p);

        if ((size_t)(end - p) == asked.len && memcmp(p, asked.base, asked.len) == 0)
            return 1;
        if (comma == NULL)
            return 0;
        p = comma + 2; /* ", " */
    }
}

void markr_http_answer_options(const struct markr_cors *cors, int readers_protected, h2o_req_t *req,
                               const struct markr_route_match *match)
{
    h2o_iovec_t origin = allowed_origin(cors, readers_protected, req, match->route);
    ssize_t asked = h2o_find_header_by_str(&req->headers, H2O_STRLIT("access-control-request-method"), -1);
    char max_age[16];
    int n;

    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, match->allow, strlen(match->allow));
    vary_origin(cors, readers_protected, req, match->route);
    if (origin.base != NULL && asked >= 0 &&
        method_listed(shared_methods(match->route), req->headers.entries[asked].value)) {
        allow_origin(cors, req, origin);
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("access-control-allow-methods"), 0, NULL,
                              shared_methods(match->route), strlen(shared_methods(match->route)));
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("access-control-allow-headers"), 0, NULL,
                              allowed_headers, sizeof(allowed_headers) - 1);
        n = snprintf(max_age, sizeof(max_age), "%d", MARKR_CORS_MAX_AGE_S);
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("access-control-max-age"), 0, NULL,
                              h2o_strdup(&req->pool, max_age, (size_t)n).base, (size_t)n);
    }
    req->res.status = 204;
    req->res.reason = "No Content";
    req->res.content_length = SIZE_MAX;
    h2o_send_inline(req, "", 0);
}
