/*
 * Markr's endpoints: the one route table. The dispatcher (server.c) and the request log
 * (observe_http.c) both read it through the same match, so an endpoint is added here, with
 * its handler (handlers.h), and nowhere else. The first entry whose template has a path's
 * shape takes it. The order is also that of the routes in GET /metrics: append new ones.
 * Each entry names who may call it (auth.h): personal data by student is for readers, the
 * vault for operators, figures and the dashboard's files for anyone (ADR 0021). Each also
 * lists the query parameters it takes (one name each; none when absent): any other is
 * refused before its handler runs (ADR 0025).
 */
#include "handlers.h"
#include "live.h"
#include "query.h"
#include "router.h"

const struct markr_route markr_routes[] = {
    /* Liveness and readiness (handle_health.c). */
    {"/health", MARKR_METHOD_GET, MARKR_ACCESS_OPEN, markr_handle_health, MARKR_NO_PARAMS},
    {"/ready", MARKR_METHOD_GET, MARKR_ACCESS_OPEN, markr_handle_ready, MARKR_NO_PARAMS},
    /* Documents and their figures (handle_import.c; the aggregate cache, live.c). */
    {"/import", MARKR_METHOD_POST, MARKR_ACCESS_IMPORT, markr_handle_import, MARKR_NO_PARAMS},
    {"/results/{test-id}/aggregate", MARKR_METHOD_GET, MARKR_ACCESS_OPEN, markr_live_handle_aggregate, MARKR_NO_PARAMS},
    /* The import vault (handle_vault.c); ids are decoded by the router, checked there. */
    {"/imports", MARKR_METHOD_GET, MARKR_ACCESS_OPERATOR, markr_handle_imports,
     MARKR_PARAMS("limit", "cursor", "status", "test_id", "sha256")},
    {"/imports/{id}", MARKR_METHOD_GET, MARKR_ACCESS_OPERATOR, markr_handle_import_info, MARKR_NO_PARAMS},
    {"/imports/{id}/raw", MARKR_METHOD_GET, MARKR_ACCESS_OPERATOR, markr_handle_import_raw, MARKR_NO_PARAMS},
    {"/imports/{id}/reprocess", MARKR_METHOD_POST, MARKR_ACCESS_ADMIN, markr_handle_import_reprocess,
     MARKR_PARAMS("dry_run")},
    {"/tests/{test-id}/conflicts", MARKR_METHOD_GET, MARKR_ACCESS_READER, markr_handle_test_conflicts,
     MARKR_PARAMS("limit", "cursor")},
    /* The dashboard's views (handle_views.c), streams (live.c) and files (handle_dashboard.c). */
    {"/tests", MARKR_METHOD_GET, MARKR_ACCESS_OPEN, markr_handle_tests,
     MARKR_PARAMS("limit", "cursor", "format")},
    {"/results/{test-id}", MARKR_METHOD_GET, MARKR_ACCESS_READER, markr_handle_results,
     MARKR_PARAMS("limit", "offset", "sort", "order", "format")},
    {"/students", MARKR_METHOD_GET, MARKR_ACCESS_READER, markr_handle_students,
     MARKR_PARAMS("limit", "offset", "format")},
    {"/students/{student-number}", MARKR_METHOD_GET, MARKR_ACCESS_READER, markr_handle_student,
     MARKR_PARAMS("limit", "cursor")},
    {"/results/{test-id}/histogram", MARKR_METHOD_GET, MARKR_ACCESS_OPEN, markr_handle_histogram,
     MARKR_PARAMS("bins")},
    {"/results/{test-id}/aggregate/stream", MARKR_METHOD_GET, MARKR_ACCESS_OPEN, markr_live_handle_aggregate_stream,
     MARKR_NO_PARAMS},
    {"/events", MARKR_METHOD_GET, MARKR_ACCESS_OPEN, markr_live_handle_events, MARKR_NO_PARAMS},
    {"/", MARKR_METHOD_GET, MARKR_ACCESS_OPEN, markr_handle_dashboard, MARKR_NO_PARAMS},
    {"/static/{name}", MARKR_METHOD_GET, MARKR_ACCESS_OPEN, markr_handle_static, MARKR_NO_PARAMS},
    /* Request counters and gauges (observe_http.c). */
    {"/metrics", MARKR_METHOD_GET, MARKR_ACCESS_OPEN, markr_handle_metrics, MARKR_NO_PARAMS},
    /* Operators: the feed's URL and position say where the results come from. */
    {"/feed", MARKR_METHOD_GET, MARKR_ACCESS_OPERATOR, markr_handle_feed, MARKR_NO_PARAMS},
    /* The OpenAPI description of this table (handle_openapi.c, doc/openapi.json). */
    {"/openapi.json", MARKR_METHOD_GET, MARKR_ACCESS_OPEN, markr_handle_openapi, MARKR_NO_PARAMS},
    /* Item analysis: figures for anyone (cached as the aggregate, live.c), one student's
     * answers for readers (handle_items.c). */
    {"/results/{test-id}/items", MARKR_METHOD_GET, MARKR_ACCESS_OPEN, markr_live_handle_items,
     MARKR_PARAMS("format")},
    {"/results/{test-id}/students/{student-number}", MARKR_METHOD_GET, MARKR_ACCESS_READER,
     markr_handle_student_sheet, MARKR_NO_PARAMS},
    {NULL, 0, MARKR_ACCESS_OPEN, NULL, NULL},
};
