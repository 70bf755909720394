/*
 * The OpenAPI description compiled into the server (doc/openapi.json) against the route
 * table it describes: every route is a path of the document with exactly the route's
 * methods, every path of the document is a route, every operation documents a success and
 * its errors, and every $ref names something the document holds. A route added to
 * routes.c without its description fails here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <json-c/json.h>
#include <string.h>

#include "interfaces/http/dashboard_assets.h"
#include "interfaces/http/router.h"

static json_object *document(void)
{
    json_object *doc = json_tokener_parse((const char *)markr_openapi[0].bytes);

    assert_non_null(doc);
    assert_string_equal(markr_openapi[0].name, "openapi.json");
    assert_null(markr_openapi[1].name);
    return doc;
}

static json_object *member(json_object *o, const char *name)
{
    json_object *v = NULL;

    return json_object_object_get_ex(o, name, &v) ? v : NULL;
}

static void it_is_openapi_3_1(void **state)
{
    json_object *doc = document(), *v;

    assert_non_null(v = member(doc, "openapi"));
    assert_int_equal(strncmp(json_object_get_string(v), "3.1.", 4), 0);
    assert_non_null(member(member(doc, "info"), "title"));
    json_object_put(doc);
}

static void every_route_and_method_is_described_and_nothing_else(void **state)
{
    static const char *const methods[] = {"get", "put", "post", "delete", "patch", "head", "trace"};
    json_object *doc = document(), *paths = member(doc, "paths");
    size_t routes = markr_route_count(markr_routes);

    assert_non_null(paths);
    for (size_t i = 0; i < routes; ++i) {
        const struct markr_route *r = &markr_routes[i];
        json_object *path = member(paths, r->template_);

        if (path == NULL)
            fail_msg("route %s is not in doc/openapi.json", r->template_);
        for (size_t m = 0; m < sizeof(methods) / sizeof(*methods); ++m) {
            int routed = (strcmp(methods[m], "get") == 0 && (r->methods & MARKR_METHOD_GET)) ||
                         (strcmp(methods[m], "post") == 0 && (r->methods & MARKR_METHOD_POST));
            json_object *op = member(path, methods[m]), *responses;
            int success = 0, client_error = 0;

            if (routed != (op != NULL))
                fail_msg("%s %s: %s in the route table, %s in doc/openapi.json", methods[m], r->template_,
                         routed ? "routed" : "not routed", op != NULL ? "described" : "not described");
            if (op == NULL)
                continue;
            assert_non_null(member(op, "operationId"));
            assert_non_null(responses = member(op, "responses"));
            json_object_object_foreach(responses, status, value)
            {
                (void)value;
                success |= status[0] == '2';
                client_error |= status[0] == '4';
            }
            if (!success || !client_error)
                fail_msg("%s %s: a success and its errors must be described", methods[m], r->template_);
        }
    }
    /* And the other way round: no path is described that the server does not route. */
    json_object_object_foreach(paths, name, value)
    {
        int found = 0;

        (void)value;
        for (size_t i = 0; i < routes; ++i)
            found |= strcmp(markr_routes[i].template_, name) == 0;
        if (!found)
            fail_msg("doc/openapi.json describes %s, which no route serves", name);
    }
    json_object_put(doc);
}

/* Follows "#/a/b/c" from doc; NULL when it names nothing. */
static json_object *resolve(json_object *doc, const char *ref)
{
    char part[128];
    json_object *at = doc;

    if (strncmp(ref, "#/", 2) != 0)
        return NULL;
    for (const char *p = ref + 2; at != NULL && *p != '\0';) {
        const char *slash = strchr(p, '/');
        size_t n = slash != NULL ? (size_t)(slash - p) : strlen(p);

        assert_true(n < sizeof(part));
        memcpy(part, p, n);
        part[n] = '\0';
        at = member(at, part);
        p += n + (slash != NULL);
    }
    return at;
}

static void check_refs(json_object *doc, json_object *o, size_t *count)
{
    if (json_object_is_type(o, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(o); ++i)
            check_refs(doc, json_object_array_get_idx(o, i), count);
        return;
    }
    if (!json_object_is_type(o, json_type_object))
        return;
    json_object_object_foreach(o, key, value)
    {
        if (strcmp(key, "$ref") == 0) {
            if (resolve(doc, json_object_get_string(value)) == NULL)
                fail_msg("$ref %s names nothing", json_object_get_string(value));
            ++*count;
        } else {
            check_refs(doc, value, count);
        }
    }
}

static void every_reference_resolves(void **state)
{
    json_object *doc = document();
    size_t refs = 0;

    check_refs(doc, doc, &refs);
    assert_true(refs > 50);
    json_object_put(doc);
}

/* The names of op's (and its path's) `in: query` parameters, $refs followed, into names. */
static size_t query_parameters(json_object *doc, json_object *path, json_object *op, const char *names[32])
{
    json_object *lists[2] = {member(path, "parameters"), member(op, "parameters")};
    size_t n = 0;

    for (size_t l = 0; l < 2; ++l)
        for (size_t i = 0; lists[l] != NULL && i < json_object_array_length(lists[l]); ++i) {
            json_object *p = json_object_array_get_idx(lists[l], i), *ref = member(p, "$ref"), *in;

            if (ref != NULL)
                assert_non_null(p = resolve(doc, json_object_get_string(ref)));
            if ((in = member(p, "in")) == NULL || strcmp(json_object_get_string(in), "query") != 0)
                continue;
            assert_true(n < 32);
            names[n++] = json_object_get_string(member(p, "name"));
        }
    return n;
}

/* Each operation documents exactly the query parameters its route takes (routes.c, which
 * the dispatcher enforces): a parameter added to one and not the other fails here. */
static void every_route_documents_its_query_parameters(void **state)
{
    json_object *doc = document(), *paths = member(doc, "paths");
    size_t routes = markr_route_count(markr_routes), checked = 0;

    for (size_t i = 0; i < routes; ++i) {
        const struct markr_route *r = &markr_routes[i];
        json_object *path = member(paths, r->template_);
        const char *const ops[] = {(r->methods & MARKR_METHOD_GET) ? "get" : NULL,
                                   (r->methods & MARKR_METHOD_POST) ? "post" : NULL};

        for (size_t o = 0; o < 2; ++o) {
            const char *names[32];
            size_t n, routed = 0;

            if (ops[o] == NULL)
                continue;
            n = query_parameters(doc, path, member(path, ops[o]), names);
            for (const char *const *p = r->params; p != NULL && *p != NULL; ++p) {
                int found = 0;

                for (size_t k = 0; k < n; ++k)
                    found |= strcmp(names[k], *p) == 0;
                if (!found)
                    fail_msg("%s %s takes '%s', which doc/openapi.json does not document", ops[o], r->template_, *p);
                ++routed;
            }
            for (size_t k = 0; k < n; ++k) {
                int found = 0;

                for (const char *const *p = r->params; p != NULL && *p != NULL; ++p)
                    found |= strcmp(names[k], *p) == 0;
                if (!found)
                    fail_msg("%s %s: doc/openapi.json documents '%s', which the route does not take", ops[o],
                             r->template_, names[k]);
            }
            checked += routed;
        }
    }
    assert_true(checked > 10);
    json_object_put(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(it_is_openapi_3_1),
        cmocka_unit_test(every_route_and_method_is_described_and_nothing_else),
        cmocka_unit_test(every_reference_resolves),
        cmocka_unit_test(every_route_documents_its_query_parameters),
    };

    return cmocka_run_group_tests_name("http_openapi", tests, NULL, NULL);
}
