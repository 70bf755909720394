/*
 * Markr's endpoints: the one route table. The dispatcher (server.c) and the request log
 * (observe_http.c) both read it through the same match, so an endpoint is added here, with
 * its handler (handlers.h), and nowhere else. The first entry whose template has a path's
 * shape takes it. The order is also that of the routes in GET /metrics: append new ones.
 * Each entry names who may call it (auth.h): personal data by student is for readers, the
 * vault for operators, figures and the dashboard's files for anyone (ADR 0021).
 */
#include "handlers.h"
#include "live.h"
#include "router.h"

const struct markr_route markr_routes[] = {
    /* Liveness and readiness (handle_health.c). */
    {"/health", MARKR_METHOD_GET, MARKR_ACCESS_OPEN, markr_handle_health},
    {"/ready", MARKR_METHOD_GET, MARKR_ACCESS_OPEN, markr_handle_ready},
    /* Documents and their figures (handle_import.c; the aggregate cache, live.c). */
    {"/import", MARKR_METHOD_POST, MARKR_ACCESS_IMPORT, markr_handle_import},
    {"/results/{test-id}/aggregate", MARKR_METHOD_GET, MARKR_ACCESS_OPEN, markr_live_handle_aggregate},
    /* The import vault (handle_vault.c); ids are decoded by the router, checked there. */
    {"/imports", MARKR_METHOD_GET, MARKR_ACCESS_OPERATOR, markr_handle_imports},
    {"/imports/{id}", MARKR_METHOD_GET, MARKR_ACCESS_OPERATOR, markr_handle_import_info},
    {"/imports/{id}/raw", MARKR_METHOD_GET, MARKR_ACCESS_OPERATOR, markr_handle_import_raw},
    {"/imports/{id}/reprocess", MARKR_METHOD_POST, MARKR_ACCESS_ADMIN, markr_handle_import_reprocess},
    {"/tests/{test-id}/conflicts", MARKR_METHOD_GET, MARKR_ACCESS_READER, markr_handle_test_conflicts},
    /* The dashboard's views (handle_views.c), streams (live.c) and files (handle_dashboard.c). */
    {"/tests", MARKR_METHOD_GET, MARKR_ACCESS_OPEN, markr_handle_tests},
    {"/results/{test-id}", MARKR_METHOD_GET, MARKR_ACCESS_READER, markr_handle_results},
    {"/students/{student-number}", MARKR_METHOD_GET, MARKR_ACCESS_READER, markr_handle_student},
    {"/results/{test-id}/histogram", MARKR_METHOD_GET, MARKR_ACCESS_OPEN, markr_handle_histogram},
    {"/results/{test-id}/aggregate/stream", MARKR_METHOD_GET, MARKR_ACCESS_OPEN, markr_live_handle_aggregate_stream},
    {"/events", MARKR_METHOD_GET, MARKR_ACCESS_OPEN, markr_live_handle_events},
    {"/", MARKR_METHOD_GET, MARKR_ACCESS_OPEN, markr_handle_dashboard},
    {"/static/{name}", MARKR_METHOD_GET, MARKR_ACCESS_OPEN, markr_handle_static},
    /* Request counters and gauges (observe_http.c). */
    {"/metrics", MARKR_METHOD_GET, MARKR_ACCESS_OPEN, markr_handle_metrics},
    /* Item analysis: figures for anyone (cached as the aggregate, live.c), one student's
     * answers for readers (handle_items.c). */
    {"/results/{test-id}/items", MARKR_METHOD_GET, MARKR_ACCESS_OPEN, markr_live_handle_items},
    {"/results/{test-id}/students/{student-number}", MARKR_METHOD_GET, MARKR_ACCESS_READER,
     markr_handle_student_sheet},
    {NULL, 0, MARKR_ACCESS_OPEN, NULL},
};
