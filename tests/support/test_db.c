/*
 * Throw-away test databases: created on the server of MARKR_TEST_DATABASE_URL under a name
 * no other run can take, handed out as a conninfo, and dropped with FORCE, so a server
 * process killed by a test cannot keep its database alive.
 */
#include "test_db.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

static const char *maintenance_url(void)
{
    const char *url = getenv("MARKR_TEST_DATABASE_URL");

    if (url == NULL || url[0] == '\0') {
        fprintf(stderr, "MARKR_TEST_DATABASE_URL is not set: the integration and end-to-end suites need a "
                        "PostgreSQL server where they may create databases (a libpq conninfo such as "
                        "\"host=/tmp port=5432 dbname=postgres\"); `make test` starts one and sets it\n");
        abort();
    }
    return url;
}

static PGconn *connect_to(const char *conninfo)
{
    PGconn *conn = PQconnectdb(conninfo);

    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "test_db: cannot connect: %s", PQerrorMessage(conn));
        PQfinish(conn);
        return NULL;
    }
    PQclear(PQexec(conn, "SET client_min_messages = warning")); /* no NOTICE noise in test logs */
    return conn;
}

/* Runs sql on an open connection; 0, or -1 with the message printed. */
static int run(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType status = PQresultStatus(res);
    int ok = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;

    if (!ok)
        fprintf(stderr, "test_db: %s\n  in: %.200s\n", PQresultErrorMessage(res), sql);
    PQclear(res);
    return ok ? 0 : -1;
}

/* Appends key='value' to out (libpq's quoting: backslash before ' and \). */
static void append_option(char *out, size_t size, const char *key, const char *value)
{
    size_t n = strlen(out);

    n += (size_t)snprintf(out + n, n < size ? size - n : 0, "%s%s='", n != 0 ? " " : "", key);
    for (const char *v = value; *v != '\0' && n + 3 < size; ++v) {
        if (*v == '\'' || *v == '\\')
            out[n++] = '\\';
        out[n++] = *v;
    }
    if (n + 2 < size) {
        out[n++] = '\'';
        out[n] = '\0';
    }
}

/* The maintenance conninfo (conninfo or URI) rewritten as key='value' pairs with another
 * database name. */
static char *conninfo_for(const char *url, const char *dbname)
{
    char *error = NULL;
    PQconninfoOption *options = PQconninfoParse(url, &error);
    size_t size = strlen(url) * 2 + strlen(dbname) * 2 + 64;
    char *out;

    if (options == NULL) {
        fprintf(stderr, "test_db: MARKR_TEST_DATABASE_URL cannot be parsed: %s", error != NULL ? error : "\n");
        abort();
    }
    if ((out = calloc(1, size)) == NULL)
        abort();
    for (PQconninfoOption *o = options; o->keyword != NULL; ++o)
        if (o->val != NULL && strcmp(o->keyword, "dbname") != 0)
            append_option(out, size, o->keyword, o->val);
    append_option(out, size, "dbname", dbname);
    PQconninfoFree(options);
    return out;
}

/* The dbname of a conninfo, malloc'd, or NULL. */
static char *dbname_of(const char *conninfo)
{
    PQconninfoOption *options = PQconninfoParse(conninfo, NULL);
    char *name = NULL;

    for (PQconninfoOption *o = options; o != NULL && o->keyword != NULL; ++o)
        if (strcmp(o->keyword, "dbname") == 0 && o->val != NULL)
            name = strdup(o->val);
    PQconninfoFree(options);
    return name;
}

char *markr_test_db_create(const char *prefix)
{
    return markr_test_db_create_with(prefix, "");
}

char *markr_test_db_create_with(const char *prefix, const char *options)
{
    static unsigned counter;
    const char *url = maintenance_url();
    char name[64], clean[24] = "";
    char *ident, *sql, *conninfo;
    struct timespec now;
    PGconn *conn;
    size_t n = 0;

    /* Identifier-safe, lower case; pid, counter and clock keep concurrent suites and a rerun
     * after a crash from ever meeting an old name. */
    for (const char *p = prefix; *p != '\0' && n + 1 < sizeof(clean); ++p)
        clean[n++] = isalnum((unsigned char)*p) ? (char)tolower((unsigned char)*p) : '_';
    clean[n] = '\0';
    clock_gettime(CLOCK_REALTIME, &now);
    snprintf(name, sizeof(name), "markr_%s_%ld_%u_%lx", clean, (long)getpid(),
             __atomic_fetch_add(&counter, 1, __ATOMIC_SEQ_CST), (unsigned long)(now.tv_nsec ^ now.tv_sec) & 0xffffff);

    if ((conn = connect_to(url)) == NULL)
        abort();
    ident = PQescapeIdentifier(conn, name, strlen(name));
    if (ident == NULL || (sql = malloc(strlen(ident) + strlen(options) + 32)) == NULL)
        abort();
    sprintf(sql, "CREATE DATABASE %s %s", ident, options);
    if (run(conn, sql) != 0) {
        fprintf(stderr, "test_db: cannot create database %s on MARKR_TEST_DATABASE_URL (does its role have "
                        "CREATEDB?)\n",
                name);
        abort();
    }
    free(sql);
    PQfreemem(ident);
    PQfinish(conn);
    conninfo = conninfo_for(url, name);
    return conninfo;
}

void markr_test_db_drop(const char *conninfo)
{
    char *name = conninfo != NULL ? dbname_of(conninfo) : NULL;
    PGconn *conn;
    char *ident, *sql;

    if (name == NULL)
        return;
    if ((conn = connect_to(maintenance_url())) != NULL) {
        ident = PQescapeIdentifier(conn, name, strlen(name));
        if (ident != NULL && (sql = malloc(strlen(ident) + 64)) != NULL) {
            /* FORCE ends sessions left behind, e.g. by a server a test killed. */
            sprintf(sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", ident);
            if (run(conn, sql) != 0)
                fprintf(stderr, "test_db: database %s was not dropped\n", name);
            free(sql);
        }
        PQfreemem(ident);
        PQfinish(conn);
    }
    free(name);
}

int markr_test_db_exec(const char *conninfo, const char *sql)
{
    PGconn *conn = connect_to(conninfo);
    int rc;

    if (conn == NULL)
        return -1;
    rc = run(conn, sql);
    PQfinish(conn);
    return rc;
}

char *markr_test_db_value(const char *conninfo, const char *sql)
{
    return markr_test_db_value_params(conninfo, sql, 0, NULL);
}

char *markr_test_db_value_params(const char *conninfo, const char *sql, int n, const char *const *params)
{
    PGconn *conn = connect_to(conninfo);
    PGresult *res;
    char *value = NULL;

    if (conn == NULL)
        return NULL;
    res = n == 0 ? PQexec(conn, sql) : PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        fprintf(stderr, "test_db: %s\n  in: %.200s\n", PQresultErrorMessage(res), sql);
    else if (PQntuples(res) > 0 && PQnfields(res) > 0 && !PQgetisnull(res, 0, 0))
        value = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    PQfinish(conn);
    return value;
}
