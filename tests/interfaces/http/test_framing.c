/*
 * The framing rule: one Content-Length or one chunked Transfer-Encoding (or neither) is
 * accepted; two lengths, a length with a transfer coding, any other coding and a folded
 * header line are not, whatever their case or white space; bytes after the head are never
 * read, and a head without its blank line is unreadable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "interfaces/http/framing.h"

static enum markr_framing_verdict check(const char *raw)
{
    return markr_framing_check(raw, strlen(raw));
}

static void plain_heads_are_accepted(void **state)
{
    (void)state;
    assert_int_equal(check("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"), MARKR_FRAMING_OK);
    assert_int_equal(check("POST /import HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"), MARKR_FRAMING_OK);
    assert_int_equal(check("POST /import HTTP/1.1\r\ntransfer-encoding:  Chunked \r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
                     MARKR_FRAMING_OK);
    /* Bare LF line ends, as h2o's parser accepts them. */
    assert_int_equal(check("POST /import HTTP/1.1\nContent-Length: 2\n\nhi"), MARKR_FRAMING_OK);
    /* A name that only contains the word is another header. */
    assert_int_equal(check("GET / HTTP/1.1\r\nX-Content-Length: 5\r\nContent-Length: 0\r\n\r\n"), MARKR_FRAMING_OK);
}

static void two_lengths_are_refused_even_when_equal(void **state)
{
    (void)state;
    assert_int_equal(check("POST / HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 40\r\n\r\n"),
                     MARKR_FRAMING_DUPLICATE_LENGTH);
    assert_int_equal(check("POST / HTTP/1.1\r\nContent-Length: 5\r\nHost: x\r\nCONTENT-LENGTH: 5\r\n\r\n"),
                     MARKR_FRAMING_DUPLICATE_LENGTH);
}

static void a_length_with_a_transfer_coding_is_refused(void **state)
{
    (void)state;
    assert_int_equal(check("POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
                     MARKR_FRAMING_LENGTH_AND_TRANSFER);
    assert_int_equal(check("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"),
                     MARKR_FRAMING_LENGTH_AND_TRANSFER);
}

static void other_transfer_codings_are_refused(void **state)
{
    (void)state;
    assert_int_equal(check("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
                     MARKR_FRAMING_UNKNOWN_TRANSFER);
    assert_int_equal(check("POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n"), MARKR_FRAMING_UNKNOWN_TRANSFER);
    assert_int_equal(check("POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n"), MARKR_FRAMING_UNKNOWN_TRANSFER);
    /* Two headers, the last one chunked (the one h2o would use). */
    assert_int_equal(check("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"),
                     MARKR_FRAMING_UNKNOWN_TRANSFER);
    assert_int_equal(check("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"),
                     MARKR_FRAMING_UNKNOWN_TRANSFER);
}

static void a_folded_line_is_refused(void **state)
{
    (void)state;
    assert_int_equal(check("POST / HTTP/1.1\r\nX-A: b\r\n Content-Length: 5\r\n\r\n"), MARKR_FRAMING_FOLDED_HEADER);
    assert_int_equal(check("GET / HTTP/1.1\r\nX-A: b\r\n\tc\r\n\r\n"), MARKR_FRAMING_FOLDED_HEADER);
}

static void the_body_and_what_follows_are_not_read(void **state)
{
    (void)state;
    /* A second request after the body, with a header that would be refused in a head. */
    assert_int_equal(check("POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd"
                           "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
                     MARKR_FRAMING_OK);
}

static void a_head_without_its_end_is_unreadable(void **state)
{
    const char *head = "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n";
    size_t len = strlen(head);
    char *exact = malloc(len - 2);

    (void)state;
    assert_int_equal(markr_framing_check("", 0), MARKR_FRAMING_UNREADABLE);
    assert_int_equal(check("POST / HTTP/1.1\r\nContent-Length: 5\r\n"), MARKR_FRAMING_UNREADABLE);
    /* Cut before the blank line, in a buffer of exactly that size (ASan sees an over-read). */
    assert_non_null(exact);
    memcpy(exact, head, len - 2);
    assert_int_equal(markr_framing_check(exact, len - 2), MARKR_FRAMING_UNREADABLE);
    free(exact);
}

static void every_refusal_has_a_sentence(void **state)
{
    (void)state;
    for (int v = MARKR_FRAMING_DUPLICATE_LENGTH; v <= MARKR_FRAMING_UNREADABLE; ++v)
        assert_true(strlen(markr_framing_problem((enum markr_framing_verdict)v)) > 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_heads_are_accepted),
        cmocka_unit_test(two_lengths_are_refused_even_when_equal),
        cmocka_unit_test(a_length_with_a_transfer_coding_is_refused),
        cmocka_unit_test(other_transfer_codings_are_refused),
        cmocka_unit_test(a_folded_line_is_refused),
        cmocka_unit_test(the_body_and_what_follows_are_not_read),
        cmocka_unit_test(a_head_without_its_end_is_unreadable),
        cmocka_unit_test(every_refusal_has_a_sentence),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
