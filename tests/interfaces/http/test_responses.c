/*
 * The answers a worker builds (responses.h), without a server: markr_http_answer_json out of
 * memory must give the 500 every server error gives (built with the request id on the
 * loop), not a bodiless one. malloc is wrapped (-Wl,--wrap=malloc) to fail the one
 * allocation of the answer's copy, found by its size.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "interfaces/http/responses.h"

void *__real_malloc(size_t size);
void *__wrap_malloc(size_t size);

static size_t fail_size; /* 0: every allocation succeeds */

void *__wrap_malloc(size_t size)
{
    if (fail_size != 0 && size == fail_size) {
        fail_size = 0;
        return NULL;
    }
    return __real_malloc(size);
}

/* {"padding":"xxx…"} of exactly len bytes, serialised. */
static json_object *body_of(size_t len)
{
    static const size_t frame = sizeof("{\"padding\":\"\"}") - 1;
    char *x = calloc(1, len - frame + 1);
    json_object *o = json_object_new_object();

    assert_non_null(x);
    memset(x, 'x', len - frame);
    json_object_object_add(o, "padding", markr_json_string(x));
    free(x);
    return o;
}

static void an_answer_is_its_json(void **state)
{
    struct markr_http_answer answer = {0};

    (void)state;
    markr_http_answer_json(&answer, 200, body_of(12345));
    assert_int_equal(answer.status, 200);
    assert_int_equal(answer.len, 12345);
    assert_false(answer.server_error);
    assert_true(answer.etag[0] == '"'); /* hashed here, on the worker */
    free(answer.body);
}

static void out_of_memory_is_a_server_error_with_its_id(void **state)
{
    struct markr_http_answer answer = {0};

    (void)state;
    fail_size = 12345; /* the copy of the serialised body */
    markr_http_answer_json(&answer, 200, body_of(12345));
    assert_int_equal(fail_size, 0); /* that allocation was asked for, and failed */
    assert_int_equal(answer.status, 500);
    assert_true(answer.server_error); /* markr_http_send_answer builds it with the request id */
    assert_null(answer.body);
    assert_string_equal(answer.error, "out_of_memory");
    assert_string_equal(answer.safe_message, MARKR_HTTP_OUT_OF_MEMORY_MESSAGE);
    assert_string_equal(answer.etag, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_answer_is_its_json),
        cmocka_unit_test(out_of_memory_is_a_server_error_with_its_id),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
