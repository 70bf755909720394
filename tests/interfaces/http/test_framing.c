/*
 * The framing rule: one Content-Length or one chunked Transfer-Encoding (or neither) is
 * accepted; two lengths, a length with a transfer coding, any other coding and a folded
 * header line are not, whatever their case or white space; bytes after the head are never
 * read, and a head without its blank line is unreadable. Of the accepted heads, only one
 * Content-Length of 1 to 19 plain digits is a plain length (its value given); a chunked
 * body, a length of any other spelling and every refused head are not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interfaces/http/framing.h"

static enum markr_framing_verdict check(const char *raw)
{
    struct markr_framing_body body;

    return markr_framing_check(raw, strlen(raw), &body);
}

/* How an accepted head frames its body (fails the test if the head is refused). */
static enum markr_framing_kind kind_of(const char *raw, uint64_t *length)
{
    struct markr_framing_body body = {.kind = MARKR_FRAMING_NO_BODY, .length = 99};

    assert_int_equal(markr_framing_check(raw, strlen(raw), &body), MARKR_FRAMING_OK);
    if (body.kind != MARKR_FRAMING_PLAIN_LENGTH)
        assert_int_equal(body.length, 0);
    *length = body.length;
    return body.kind;
}

/* The kind given for a refused or unreadable head. */
static enum markr_framing_kind kind_of_refused(const char *raw, size_t len)
{
    struct markr_framing_body body = {.kind = MARKR_FRAMING_PLAIN_LENGTH, .length = 99};

    assert_int_not_equal(markr_framing_check(raw, len, &body), MARKR_FRAMING_OK);
    assert_int_equal(body.length, 0);
    return body.kind;
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
    assert_int_equal(check(""), MARKR_FRAMING_UNREADABLE);
    assert_int_equal(check("POST / HTTP/1.1\r\nContent-Length: 5\r\n"), MARKR_FRAMING_UNREADABLE);
    /* Cut before the blank line, in a buffer of exactly that size (ASan sees an over-read). */
    assert_non_null(exact);
    memcpy(exact, head, len - 2);
    assert_int_equal(kind_of_refused(exact, len - 2), MARKR_FRAMING_OTHER_BODY);
    assert_int_equal(markr_framing_check(exact, len - 2, &(struct markr_framing_body){0}), MARKR_FRAMING_UNREADABLE);
    free(exact);
}

static void one_length_of_plain_digits_is_a_plain_length(void **state)
{
    uint64_t n;

    (void)state;
    assert_int_equal(kind_of("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", &n), MARKR_FRAMING_PLAIN_LENGTH);
    assert_int_equal(n, 5);
    assert_int_equal(kind_of("POST / HTTP/1.1\r\ncontent-length:\t0 \r\n\r\n", &n), MARKR_FRAMING_PLAIN_LENGTH);
    assert_int_equal(n, 0);
    /* Leading zeros are digits: every parser reads 12. */
    assert_int_equal(kind_of("POST / HTTP/1.1\nHost: x\nCONTENT-LENGTH: 0012\n\n", &n), MARKR_FRAMING_PLAIN_LENGTH);
    assert_int_equal(n, 12);
    /* 19 digits, the most h2o reads. */
    assert_int_equal(kind_of("POST / HTTP/1.1\r\nContent-Length: 9999999999999999999\r\n\r\n", &n),
                     MARKR_FRAMING_PLAIN_LENGTH);
    assert_true(n == UINT64_C(9999999999999999999));
}

static void no_framing_header_is_no_body(void **state)
{
    uint64_t n;

    (void)state;
    assert_int_equal(kind_of("GET /health HTTP/1.1\r\nHost: x\r\n\r\n", &n), MARKR_FRAMING_NO_BODY);
    assert_int_equal(kind_of("GET / HTTP/1.1\r\nX-Content-Length: 5\r\nX-Transfer-Encoding: chunked\r\n\r\n", &n),
                     MARKR_FRAMING_NO_BODY);
}

/* Accepted, but not a framing every parser reads alike: the connection is not kept. */
static void other_framings_are_not_plain(void **state)
{
    static const char *const lengths[] = {"+5", "-5", "5,5", "5, 5", "5 5", "0x5", "5.0", "", "1e3", "\xd9\xa5",
                                          "10000000000000000000", "00000000000000000001"};
    char head[256];
    uint64_t n;

    (void)state;
    assert_int_equal(kind_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", &n),
                     MARKR_FRAMING_OTHER_BODY);
    for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); ++i) {
        snprintf(head, sizeof(head), "POST / HTTP/1.1\r\nContent-Length: %s\r\n\r\n", lengths[i]);
        if (kind_of(head, &n) != MARKR_FRAMING_OTHER_BODY)
            fail_msg("Content-Length: \"%s\" was taken for a plain length", lengths[i]);
    }
}

static void refused_heads_are_never_plain(void **state)
{
    static const char *const heads[] = {
        "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: identity\r\n\r\n",
        "POST / HTTP/1.1\r\nX-A: b\r\n c\r\nContent-Length: 5\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 5\r\n",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); ++i)
        assert_int_equal(kind_of_refused(heads[i], strlen(heads[i])), MARKR_FRAMING_OTHER_BODY);
    assert_int_equal(kind_of_refused("", 0), MARKR_FRAMING_OTHER_BODY);
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
        cmocka_unit_test(one_length_of_plain_digits_is_a_plain_length),
        cmocka_unit_test(no_framing_header_is_no_body),
        cmocka_unit_test(other_framings_are_not_plain),
        cmocka_unit_test(refused_heads_are_never_plain),
        cmocka_unit_test(every_refusal_has_a_sentence),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
