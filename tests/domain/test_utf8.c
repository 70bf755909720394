/*
 * The one UTF-8 rule: which sequences are valid, the copy that replaces the rest with
 * U+FFFD, the cut that never splits a character, and markr_error_set's truncation, which
 * uses that cut so that a message quoting long text stays valid UTF-8.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "domain/error.h"
#include "domain/utf8.h"

static int valid(const char *s)
{
    return markr_utf8_valid(s, strlen(s));
}

static void sequences_are_valid_as_rfc_3629_says(void **state)
{
    assert_true(valid(""));
    assert_true(valid("plain ascii"));
    assert_true(valid("\xc3\xa9"));             /* é */
    assert_true(valid("\xe2\x82\xac"));         /* € */
    assert_true(valid("\xf0\x9f\x98\x80"));     /* U+1F600 */
    assert_true(valid("\xf4\x8f\xbf\xbf"));     /* U+10FFFF */
    assert_false(valid("\xff"));
    assert_false(valid("\x80"));                /* stray continuation */
    assert_false(valid("\xc0\xaf"));            /* overlong '/' */
    assert_false(valid("\xe0\x80\xaf"));        /* overlong */
    assert_false(valid("\xed\xa0\x80"));        /* surrogate U+D800 */
    assert_false(valid("\xf4\x90\x80\x80"));    /* beyond U+10FFFF */
    assert_false(valid("\xe2\x82"));            /* cut short */
    assert_false(valid("ok\xc3"));
    /* Only the bytes given count: a sequence is not completed from beyond len. */
    assert_false(markr_utf8_valid("\xc3\xa9", 1));
    assert_int_equal(markr_utf8_sequence((const unsigned char *)"\xe2\x82\xac", 2), 0);
    assert_int_equal(markr_utf8_sequence((const unsigned char *)"\xe2\x82\xac", 3), 3);
    assert_int_equal(markr_utf8_sequence((const unsigned char *)"x", 0), 0);
    /* A NUL inside the text is a character like any other. */
    assert_true(markr_utf8_valid("a\0b", 3));
}

static void invalid_bytes_become_the_replacement_character(void **state)
{
    size_t len;
    char *out = markr_utf8_copy("a\xff" "b\xc3\xa9" "\xe2\x82", 7, &len);

    assert_non_null(out);
    /* 0xff and each byte of the cut-short sequence is replaced on its own. */
    assert_string_equal(out, "a\xef\xbf\xbd" "b\xc3\xa9" "\xef\xbf\xbd\xef\xbf\xbd");
    assert_int_equal(len, strlen(out));
    assert_true(markr_utf8_valid(out, len));
    free(out);
    out = markr_utf8_copy("", 0, NULL);
    assert_non_null(out);
    assert_string_equal(out, "");
    free(out);
    /* Valid text is copied unchanged. */
    out = markr_utf8_copy("\xf0\x9f\x98\x80 ok", 7, &len);
    assert_memory_equal(out, "\xf0\x9f\x98\x80 ok", 8);
    free(out);
}

static void a_cut_never_splits_a_character(void **state)
{
    const char *euro3 = "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"; /* three 3-byte characters */

    assert_int_equal(markr_utf8_cut("abc", 3, 10), 3);
    assert_int_equal(markr_utf8_cut("abcdef", 6, 4), 4);
    for (size_t max = 0; max <= 9; ++max)
        assert_int_equal(markr_utf8_cut(euro3, 9, max), max / 3 * 3);
    assert_int_equal(markr_utf8_cut("a\xf0\x9f\x98\x80", 5, 4), 1);
    assert_int_equal(markr_utf8_cut("a\xf0\x9f\x98\x80", 5, 5), 5);
    assert_int_equal(markr_utf8_cut("a\xc3\xa9", 3, 2), 1);
    /* Bytes that start no character are no character to keep whole. */
    assert_int_equal(markr_utf8_cut("a\x80\x80\x80\x80z", 6, 4), 4);
    assert_int_equal(markr_utf8_cut("\xff\xff\xff", 3, 2), 2);
}

static void error_text_is_cut_on_a_character_boundary(void **state)
{
    char long_text[2 * MARKR_ERROR_MESSAGE_MAX];
    struct markr_error err;

    /* "x" then 2-byte characters: whatever the offset, the cut must fall between them. */
    for (size_t shift = 0; shift < 2; ++shift) {
        size_t n = 0;

        for (size_t i = 0; i < shift; ++i)
            long_text[n++] = 'x';
        while (n + 2 < sizeof(long_text)) {
            long_text[n++] = '\xc3';
            long_text[n++] = '\xa9';
        }
        long_text[n] = '\0';
        markr_error_set(&err, MARKR_ERR_INVALID, "too_long", "%s", long_text);
        assert_true(strlen(err.message) >= MARKR_ERROR_MESSAGE_MAX - 3);
        assert_true(strlen(err.message) < MARKR_ERROR_MESSAGE_MAX);
        assert_true(markr_utf8_valid(err.message, strlen(err.message)));
        markr_error_locate(&err, 1, 2, long_text);
        assert_true(strlen(err.field) < MARKR_ERROR_FIELD_MAX);
        assert_true(strlen(err.field) >= MARKR_ERROR_FIELD_MAX - 3);
        assert_true(markr_utf8_valid(err.field, strlen(err.field)));
        markr_error_set(&err, MARKR_ERR_INVALID, long_text, "short");
        assert_true(markr_utf8_valid(err.reason, strlen(err.reason)));
        assert_true(strlen(err.reason) >= MARKR_ERROR_REASON_MAX - 3);
    }
    /* Text that fits is kept whole. */
    markr_error_set(&err, MARKR_ERR_INVALID, "r", "caf\xc3\xa9 %d", 7);
    assert_string_equal(err.message, "caf\xc3\xa9 7");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sequences_are_valid_as_rfc_3629_says),
        cmocka_unit_test(invalid_bytes_become_the_replacement_character),
        cmocka_unit_test(a_cut_never_splits_a_character),
        cmocka_unit_test(error_text_is_cut_on_a_character_boundary),
    };

    return cmocka_run_group_tests_name("domain_utf8", tests, NULL, NULL);
}
