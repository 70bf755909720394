/*
 * A strict matcher of the log lines markr writes (src/interfaces/observe/log.c): the e2e
 * harness checks with it that everything a server wrote to stderr is structured.
 */
#ifndef MARKR_TESTS_E2E_LOGFMT_H
#define MARKR_TESTS_E2E_LOGFMT_H

#include <stddef.h>

/* Whether line (len bytes, without its newline) is one logfmt line as markr writes them:
 * "time=<UTC timestamp> level=<error|warn|info|debug> msg=<value>" and then " key=value"
 * pairs; a key is [A-Za-z_][A-Za-z0-9_.-]*, a value either bare (printable, no space, '=',
 * '"' or '\') or quoted ("..." with only \" and \\ escaped, no control bytes). */
int e2e_logfmt_line(const char *line, size_t len);

/* Checks every line of the file at path. Returns the number of lines that are not logfmt
 * (each printed to stderr, with its number, up to max of them); -1 when the file cannot be
 * read. A last line without a newline counts as a line. */
int e2e_logfmt_check_file(const char *path, int max);

#endif
