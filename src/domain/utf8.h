/*
 * UTF-8 as every answer and every stored text needs it: the one definition of a valid
 * sequence (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF), a copy that
 * replaces what is not valid with U+FFFD, and a cut that never splits a character. Pure
 * functions over pointer and length, so any layer may use them.
 */
#ifndef MARKR_DOMAIN_UTF8_H
#define MARKR_DOMAIN_UTF8_H

#include <stddef.h>

/* Length (1 to 4) of the valid UTF-8 sequence at the start of the avail bytes at s, or 0
 * when those bytes are not one (stray continuation, overlong form, surrogate, beyond
 * U+10FFFF, cut short by avail, or avail 0). A NUL byte is a valid sequence of length 1. */
size_t markr_utf8_sequence(const unsigned char *s, size_t avail);

/* 1 when the len bytes at s are valid UTF-8 throughout, else 0. */
int markr_utf8_valid(const char *s, size_t len);

/* A malloc'd, NUL-terminated copy of the len bytes at s with each byte that does not start
 * a valid sequence replaced by U+FFFD ("\xef\xbf\xbd"); *out_len (may be NULL) receives its
 * length. The caller frees it. NULL when out of memory. */
char *markr_utf8_copy(const char *s, size_t len, size_t *out_len);

/* Where to cut the len bytes at s to keep at most max: len when they fit, else max less the
 * bytes of a multi-byte character that would be split. Reads only the first max bytes, so
 * it also serves a buffer that vsnprintf has already cut (len: the length it wanted). */
size_t markr_utf8_cut(const char *s, size_t len, size_t max);

#endif
