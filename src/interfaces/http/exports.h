/*
 * The CSV form of the list reads (ADR 0028), for the views' handlers (handle_views.c):
 * which form a request asks for, and the CSV answers, streamed a page of the use case at a
 * time (stream.h) so that a test of any size never becomes one buffer. Another list gets
 * its CSV form with a source like those of handle_exports.c and one call here.
 */
#ifndef MARKR_INTERFACES_HTTP_EXPORTS_H
#define MARKR_INTERFACES_HTTP_EXPORTS_H

#include <h2o.h>

#include "application/views.h"
#include "handlers.h"
#include "negotiate.h"

/* Rows of a page of a CSV export (the use cases' largest page). */
#define MARKR_EXPORT_PAGE_ROWS MARKR_PAGE_LIMIT_MAX

/* The form req asks for (negotiate.h: ?format=, then Accept): a markr_answer_form, or -1 after
 * answering 400 bad_format. */
int markr_http_negotiate(h2o_req_t *req);

/* GET /results/{test-id} as CSV: student_number,first_name,last_name,obtained,available,
 * percent. With whole, every student in page's order (page's limit and offset unused);
 * else exactly page, as the JSON answer has it. */
int markr_export_results(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match,
                         const struct markr_results_page *page, int whole);

/* GET /tests as CSV: test_id,students,last_change. With whole, every test; else the page
 * of limit tests after cursor (cursor_len bytes, NULL for the first), as in JSON. */
int markr_export_tests(struct markr_http_handler *handler, h2o_req_t *req, uint64_t limit, const char *cursor,
                       size_t cursor_len, int whole);

/* GET /students as CSV: student_number,tests,mean_percent, the one page of limit students
 * from offset that the JSON answer has (bounded: at most MARKR_PAGE_LIMIT_MAX rows). */
int markr_export_students(struct markr_http_handler *handler, h2o_req_t *req, uint64_t limit, uint64_t offset);

/* GET /results/{test-id}/items as CSV: question,answered,max_marks,facility,discrimination,
 * flags (names joined by ';'),response,count,upper,lower, a row per (question, response),
 * computed by a worker (not from the cache) and bounded by the use case's limits. */
int markr_export_items(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match);

#endif
