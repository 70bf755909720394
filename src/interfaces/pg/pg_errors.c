/*
 * The one place where a libpq failure becomes a struct markr_error (unavailable, busy, or a
 * database error, on one line and never with the connection's password), where libpq's
 * notices become log lines, and where text from the outside is made storable as UTF-8.
 */
#include "pg_internal.h"

#include "domain/utf8.h"
#include "interfaces/observe/log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- messages ------------------------------------------------------------------------------- */

/* Writes text into out (size bytes) on one line: runs of white space (libpq's messages end
 * in a newline and continue on tab-indented lines) become one space, and every occurrence of
 * secret becomes "***". */
static void one_line(char *out, size_t size, const char *text, const char *secret)
{
    size_t secret_len = secret != NULL ? strlen(secret) : 0;
    size_t n = 0;
    int space = 0;

    while (*text != '\0' && n + 1 < size) {
        if (secret_len != 0 && strncmp(text, secret, secret_len) == 0) {
            for (const char *s = "***"; *s != '\0' && n + 1 < size; ++s)
                out[n++] = *s;
            text += secret_len;
            space = 0;
            continue;
        }
        if (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r') {
            space = n != 0;
        } else {
            if (space && n + 2 < size)
                out[n++] = ' ';
            space = 0;
            out[n++] = *text;
        }
        ++text;
    }
    out[n] = '\0';
}

/* libpq quotes the part of a connection string it could not parse, and for a URI that part
 * can be the whole URI, password included: copies text into out with every quoted span
 * replaced by "...". */
static void drop_quoted(char *out, size_t size, const char *text)
{
    size_t n = 0;
    int quoted = 0;

    for (; *text != '\0' && n + 6 < size; ++text) {
        if (*text == '"') {
            if (!quoted) {
                memcpy(out + n, "\"...\"", 5);
                n += 5;
            }
            quoted = !quoted;
        } else if (!quoted) {
            out[n++] = *text;
        }
    }
    out[n] = '\0';
}

static int sqlstate_is(const char *state, const char *prefix)
{
    return strncmp(state, prefix, strlen(prefix)) == 0;
}

int markr_pg_fail(struct markr_pg *pg, const PGresult *res, const char *what, struct markr_error *err)
{
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *text = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char line[MARKR_ERROR_MESSAGE_MAX];

    if (text == NULL && res != NULL && PQresultErrorMessage(res)[0] != '\0')
        text = PQresultErrorMessage(res); /* raised by libpq itself, e.g. the connection died */
    if (text == NULL && res != NULL && PQresultStatus(res) != PGRES_FATAL_ERROR)
        text = PQresStatus(PQresultStatus(res)); /* a status we never asked for */
    if (text == NULL && atomic_load(&pg->abandoned))
        return pg->sqlstate[0] = '\0', markr_error_set(err, MARKR_ERR_UNAVAILABLE, "shutting_down",
                               "the server is shutting down; nothing more was stored");
    if (text == NULL)
        text = PQerrorMessage(pg->conn);
    one_line(line, sizeof(line), text, pg->password);
    if (state == NULL)
        state = "";
    snprintf(pg->sqlstate, sizeof(pg->sqlstate), "%s", state);

    if (PQstatus(pg->conn) != CONNECTION_OK || sqlstate_is(state, "08") || sqlstate_is(state, "53") ||
        sqlstate_is(state, "57P0"))
        return markr_error_set(err, MARKR_ERR_UNAVAILABLE, "database_unavailable",
                               "the database is unavailable while %s: %s", what, line);
    if (sqlstate_is(state, "40P01") || sqlstate_is(state, "40001") || sqlstate_is(state, "55P03") ||
        sqlstate_is(state, "57014"))
        return markr_error_set(err, MARKR_ERR_UNAVAILABLE, "database_busy", "the database is busy while %s: %s",
                               what, line);
    return markr_error_set(err, MARKR_ERR_INTERNAL, "database_error", "database error while %s: %s (SQLSTATE %s)",
                           what, line, state[0] != '\0' ? state : "none");
}


int markr_pg_fail_conninfo(const char *parse_error, struct markr_error *err)
{
    char text[MARKR_ERROR_MESSAGE_MAX], line[MARKR_ERROR_MESSAGE_MAX];

    static const char *const naming[] = {"invalid connection option \"", "invalid URI query parameter: \""};

    one_line(text, sizeof(text), parse_error != NULL ? parse_error : "out of memory", NULL);
    /* libpq quotes a piece of the string in most of its messages, and that piece may be a
     * password: quoted text is dropped. An unknown option's name is no secret, though, and
     * the one thing to fix: it is kept (cut at 64 bytes). */
    for (size_t i = 0; i < sizeof(naming) / sizeof(naming[0]); ++i) {
        size_t n = strlen(naming[i]);
        const char *end;

        if (strncmp(text, naming[i], n) == 0 && (end = strchr(text + n, '"')) != NULL)
            return markr_error_set(err, MARKR_ERR_UNAVAILABLE, "database_unavailable",
                                   "the database connection string names an option libpq does not know, '%.*s' "
                                   "(the options: https://www.postgresql.org/docs/15/libpq-connect.html)",
                                   (int)(end - (text + n) > 64 ? 64 : end - (text + n)), text + n);
    }
    drop_quoted(line, sizeof(line), text);
    return markr_error_set(err, MARKR_ERR_UNAVAILABLE, "database_unavailable",
                           "the database connection string is not a valid libpq conninfo or URI: %s", line);
}

/* --- notices ------------------------------------------------------------------------------ */

/* The level of a notice from its severity (never localised). An ERROR or FATAL reaches the
 * notice receiver only when nothing was asked of the server (it is ending an idle
 * connection, which markr reconnects by itself): a warning, not an error of markr's. */
static enum markr_log_level notice_level(const char *severity)
{
    if (severity == NULL)
        return MARKR_LOG_WARN;
    if (strcmp(severity, "DEBUG") == 0)
        return MARKR_LOG_DEBUG;
    if (strcmp(severity, "LOG") == 0 || strcmp(severity, "INFO") == 0 || strcmp(severity, "NOTICE") == 0)
        return MARKR_LOG_INFO;
    return MARKR_LOG_WARN;
}

/* One line per notice, instead of libpq's default of printing it raw to stderr. Messages
 * come from the server or from libpq, never with the password (they are of the
 * connection's own statements, and the conninfo is not in them). */
static void on_notice(void *arg, const PGresult *res)
{
    struct markr_pg_notices *notices = arg;
    const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *text = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
    enum markr_log_level level = notice_level(severity);
    char message[MARKR_ERROR_MESSAGE_MAX], more[MARKR_ERROR_MESSAGE_MAX];

    /* Sent only by a backend that is exiting: the end of the stream may not be read yet. */
    if (severity != NULL && (strcmp(severity, "FATAL") == 0 || strcmp(severity, "PANIC") == 0))
        notices->ended = 1;
    if (!markr_log_enabled(level))
        return;
    /* libpq's own notices carry the whole text in the message only. */
    one_line(message, sizeof(message), text != NULL ? text : PQresultErrorMessage(res), NULL);
    one_line(more, sizeof(more), detail != NULL ? detail : "", NULL);
    markr_log(level, "database notice", "connection", notices->name, "severity",
              severity != NULL ? severity : "WARNING", "sqlstate", state != NULL ? state : "", "message", message,
              more[0] != '\0' ? "detail" : NULL, more, NULL);
}

void markr_pg_log_notices(PGconn *conn, struct markr_pg_notices *notices)
{
    PQsetNoticeReceiver(conn, on_notice, notices);
}

void markr_pg_log_failure(PGconn *conn, const char *msg, const char *name)
{
    char line[MARKR_ERROR_MESSAGE_MAX];

    one_line(line, sizeof(line), conn != NULL ? PQerrorMessage(conn) : "out of memory", NULL);
    markr_log(MARKR_LOG_WARN, msg, "connection", name, "error", line, NULL);
}

/* --- text ----------------------------------------------------------------------------------- */

/* The one UTF-8 rule (domain/utf8.h): invalid bytes become U+FFFD. */
char *markr_pg_utf8_copy(const char *text)
{
    return markr_utf8_copy(text, strlen(text), NULL);
}

int markr_pg_oom(struct markr_error *err)
{
    return markr_error_set(err, MARKR_ERR_INTERNAL, "out_of_memory", "out of memory");
}

const char *markr_pg_content_encoding(const char *content_encoding)
{
    return content_encoding != NULL ? content_encoding : "identity";
}
