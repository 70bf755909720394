/*
 * The README's walk-through, run as written: every fenced block whose info string holds the
 * word "walkthrough" is part of it, in the order of the file. A `sh walkthrough` block is
 * one command (curl against localhost:8085, as a reader would type it); the walkthrough
 * block after it is its answer, compared with what the command prints against a fresh
 * server on a fresh database:
 *
 *   json   both sides parsed as JSON and compared as values (line breaks and spaces between
 *          tokens do not count);
 *   http   the output of curl -si: the status line must be equal, each header shown must
 *          be there with that value (names in any case; headers not shown are not checked),
 *          and the bodies are compared as JSON;
 *   text   line by line, trailing blanks and a final newline aside.
 *
 * What legitimately varies between runs is normalised on both sides before comparing, and
 * only that: ISO 8601 UTC timestamps (received_at, processed_at, last_change) become
 * "<timestamp>". Ids are not normalised: on a fresh database they are as the README shows.
 * The commands run with bash in a scratch directory where tests/ is this tree's tests/ (the
 * fixture), with localhost:8085 replaced by the test server's port and MARKR_ADMIN_TOKEN
 * set to the server's operator token.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <json-c/json.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "harness.h"

#define ADMIN_TOKEN "readme-walkthrough-token-0123"
#define STEPS_MAX 64

struct step {
    char *command;
    char *answer;
    char kind[16]; /* json, http or text */
    unsigned line; /* of the command block in the README */
};

static char *conninfo;
static struct markr_server srv;
static struct step steps[STEPS_MAX];
static size_t step_count;
static char scratch[] = "/tmp/markr-readme-XXXXXX";

/* --- reading the README --------------------------------------------------------------------- */

/* Appends the line [from, to) to the malloc'd text *dst. */
static void append_line(char **dst, const char *from, const char *to)
{
    size_t have = *dst != NULL ? strlen(*dst) : 0, n = (size_t)(to - from);
    char *grown = realloc(*dst, have + n + 2);

    assert_non_null(grown);
    memcpy(grown + have, from, n);
    grown[have + n] = '\n';
    grown[have + n + 1] = '\0';
    *dst = grown;
}

/* Whether the info string [info, end) holds the word "walkthrough"; its first word to lang. */
static int walkthrough_block(const char *info, const char *end, char *lang, size_t cap)
{
    size_t n = 0;

    while (info + n < end && !isspace((unsigned char)info[n]))
        ++n;
    snprintf(lang, cap, "%.*s", (int)n, info);
    for (const char *p = info; p + 11 <= end; ++p)
        if (memcmp(p, "walkthrough", 11) == 0 && (p == info || isspace((unsigned char)p[-1])) &&
            (p + 11 == end || isspace((unsigned char)p[11])))
            return 1;
    return 0;
}

static void read_steps(void)
{
    char path[4096], lang[16];
    size_t len;
    char *text, *block = NULL;
    const char *line;
    unsigned lineno = 0, block_line = 0;
    int in_block = 0, keep = 0;

    snprintf(path, sizeof(path), "%s/README.md", getenv("MARKR_SOURCE_ROOT"));
    text = e2e_read_file(path, &len);
    for (line = text; *line != '\0';) {
        const char *end = strchr(line, '\n');

        if (end == NULL)
            end = line + strlen(line);
        ++lineno;
        if (end - line >= 3 && memcmp(line, "```", 3) == 0) {
            if (!in_block) {
                in_block = 1;
                keep = walkthrough_block(line + 3, end, lang, sizeof(lang));
                block_line = lineno;
                block = NULL;
            } else {
                in_block = 0;
                if (keep && strcmp(lang, "sh") == 0) {
                    assert_true(step_count < STEPS_MAX);
                    if (step_count > 0 && steps[step_count - 1].answer == NULL)
                        fail_msg("README line %u: the command of line %u has no answer block", block_line,
                                 steps[step_count - 1].line);
                    steps[step_count].command = block != NULL ? block : strdup("");
                    steps[step_count++].line = block_line;
                } else if (keep) {
                    if (step_count == 0 || steps[step_count - 1].answer != NULL)
                        fail_msg("README line %u: an answer block without a command before it", block_line);
                    if (strcmp(lang, "json") != 0 && strcmp(lang, "http") != 0 && strcmp(lang, "text") != 0)
                        fail_msg("README line %u: a walkthrough answer is json, http or text, not '%s'", block_line,
                                 lang);
                    steps[step_count - 1].answer = block != NULL ? block : strdup("");
                    snprintf(steps[step_count - 1].kind, sizeof(steps[step_count - 1].kind), "%s", lang);
                } else {
                    free(block);
                }
                block = NULL;
            }
        } else if (in_block) {
            append_line(&block, line, end);
        }
        line = *end != '\0' ? end + 1 : end;
    }
    free(text);
    if (step_count > 0 && steps[step_count - 1].answer == NULL)
        fail_msg("README line %u: the last command has no answer block", steps[step_count - 1].line);
}

/* --- running a step ------------------------------------------------------------------------- */

/* command with every "localhost:8085" replaced by the server's port (malloc'd). */
static char *retarget(const char *command)
{
    char port[16];
    size_t n = 0, cap = strlen(command) * 2 + 64;
    char *out = malloc(cap);

    assert_non_null(out);
    snprintf(port, sizeof(port), "%d", srv.port);
    for (const char *p = command; *p != '\0';) {
        if (strncmp(p, "localhost:8085", 14) == 0) {
            n += (size_t)snprintf(out + n, cap - n, "localhost:%s", port);
            p += 14;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
    return out;
}

static char *run_step(const struct step *s)
{
    char script[128], cmd[256], *output;
    char *command = retarget(s->command);
    FILE *f;
    size_t len;
    int rc;

    snprintf(script, sizeof(script), "%s/step.sh", scratch);
    assert_non_null(f = fopen(script, "w"));
    fputs(command, f);
    fclose(f);
    free(command);
    snprintf(cmd, sizeof(cmd), "cd '%s' && bash step.sh > out.txt 2>&1", scratch);
    rc = system(cmd);
    snprintf(script, sizeof(script), "%s/out.txt", scratch);
    output = e2e_read_file(script, &len);
    if (rc != 0)
        print_message("README line %u: the command exited with %d\n", s->line, rc);
    return output;
}

/* --- comparing ------------------------------------------------------------------------------ */

/* A copy of text with every ISO 8601 UTC timestamp replaced by "<timestamp>" (malloc'd). */
static char *normalise(const char *text)
{
    static regex_t stamp;
    static int compiled;
    size_t cap = strlen(text) + 1, n = 0;
    char *out = malloc(cap + 16);
    regmatch_t m;

    if (!compiled) {
        assert_int_equal(regcomp(&stamp, "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z",
                                 REG_EXTENDED),
                         0);
        compiled = 1;
    }
    assert_non_null(out);
    while (regexec(&stamp, text, 1, &m, 0) == 0) {
        memcpy(out + n, text, (size_t)m.rm_so);
        n += (size_t)m.rm_so;
        memcpy(out + n, "<timestamp>", 11); /* no longer than the shortest timestamp (20) */
        n += 11;
        text += m.rm_eo;
    }
    strcpy(out + n, text);
    return out;
}

static int same_json(const char *expected, const char *actual)
{
    json_object *a = json_tokener_parse(expected), *b = json_tokener_parse(actual);
    int same = a != NULL && b != NULL && json_object_equal(a, b);

    json_object_put(a);
    json_object_put(b);
    return same;
}

/* text with trailing blanks of each line and final newlines removed (in place). */
static char *trim_lines(char *text)
{
    size_t w = 0;

    for (size_t r = 0;; ++r) {
        if (text[r] == '\n' || text[r] == '\0') {
            while (w > 0 && (text[w - 1] == ' ' || text[w - 1] == '\t' || text[w - 1] == '\r'))
                --w;
            if (text[r] == '\0')
                break;
        }
        text[w++] = text[r];
    }
    while (w > 0 && text[w - 1] == '\n')
        --w;
    text[w] = '\0';
    return text;
}

/* Whether header line `line` ("Name: value") is among the header lines of headers (names in
 * any case, values exact). */
static int has_header(const char *headers, const char *line)
{
    const char *colon = strchr(line, ':');
    size_t name_len, len = strlen(line);

    if (colon == NULL)
        return 0;
    name_len = (size_t)(colon - line) + 1;
    for (const char *h = headers; h != NULL && *h != '\0';) {
        const char *end = strchr(h, '\n');
        size_t n = end != NULL ? (size_t)(end - h) : strlen(h);

        if (n == len && strncasecmp(h, line, name_len) == 0 && strncmp(h + name_len, colon + 1, len - name_len) == 0)
            return 1;
        h = end != NULL ? end + 1 : NULL;
    }
    return 0;
}

/* curl -si output: whether the status line, each expected header and the body agree. */
static int same_http(char *expected, char *actual)
{
    char *eb, *ab, *el, *save = NULL;
    size_t status_len;

    /* curl writes CRLF; the README, LF. */
    for (char *p = actual, *w = actual;; ++p) {
        if (*p != '\r')
            *w++ = *p;
        if (*p == '\0')
            break;
    }
    eb = strstr(expected, "\n\n");
    ab = strstr(actual, "\n\n");
    if (eb == NULL || ab == NULL)
        return 0;
    *eb = '\0';
    *ab = '\0';
    status_len = strcspn(expected, "\n");
    if (strncmp(expected, actual, status_len) != 0 || (actual[status_len] != '\n' && actual[status_len] != '\0'))
        return 0;
    for (el = strtok_r(expected + status_len, "\n", &save); el != NULL; el = strtok_r(NULL, "\n", &save))
        if (!has_header(actual + status_len, el))
            return 0;
    return same_json(eb + 2, ab + 2);
}

static void the_walkthrough_answers_as_written(void **state)
{
    int failures = 0;

    read_steps();
    assert_true(step_count >= 10); /* the README has its walk-through */
    for (size_t i = 0; i < step_count; ++i) {
        char *output = run_step(&steps[i]);
        char *expected = normalise(steps[i].answer), *actual = normalise(output);
        char *shown_expected = strdup(expected), *shown_actual = strdup(actual);
        int same;

        if (strcmp(steps[i].kind, "json") == 0)
            same = same_json(expected, actual);
        else if (strcmp(steps[i].kind, "http") == 0)
            same = same_http(expected, actual);
        else
            same = strcmp(trim_lines(expected), trim_lines(actual)) == 0;
        if (!same) {
            /* stderr, not print_error: cmocka cuts long messages, and the answer is the point. */
            fprintf(stderr, "README line %u: the answer differs.\n--- command:\n%s--- README shows (%s):\n%s--- got:\n%s\n",
                    steps[i].line, steps[i].command, steps[i].kind, shown_expected, shown_actual);
            ++failures;
        }
        free(shown_expected);
        free(shown_actual);
        free(expected);
        free(actual);
        free(output);
    }
    assert_int_equal(failures, 0);
}

/* --- suite ---------------------------------------------------------------------------------- */

static int suite_setup(void **state)
{
    static const char *const env[] = {"MARKR_ADMIN_TOKEN=" ADMIN_TOKEN, NULL};
    char link[4096], target[4096];

    if (mkdtemp(scratch) == NULL)
        return -1;
    snprintf(link, sizeof(link), "%s/tests", scratch);
    snprintf(target, sizeof(target), "%s/tests", getenv("MARKR_SOURCE_ROOT"));
    if (symlink(target, link) != 0)
        return -1;
    setenv("MARKR_ADMIN_TOKEN", ADMIN_TOKEN, 1);
    return e2e_suite_start("readme", env, &srv, &conninfo);
}

static int suite_teardown(void **state)
{
    char cmd[256];

    for (size_t i = 0; i < step_count; ++i) {
        free(steps[i].command);
        free(steps[i].answer);
    }
    snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", scratch);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", scratch);
    return e2e_suite_stop(&srv, conninfo);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_walkthrough_answers_as_written),
    };

    return cmocka_run_group_tests_name("e2e_readme", tests, suite_setup, suite_teardown);
}
