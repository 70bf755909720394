/*
 * The parameters of a statement (struct markr_pg_params, pg_internal.h): values, their
 * types and formats in the arrays PQexecParams takes, integers formatted into the struct's
 * own storage. Statements themselves run in pg_conn.c only.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>

#include "pg_internal.h"

static int param_add(struct markr_pg_params *p, Oid type, const char *value, int length, int format)
{
    /* The statements of the adapter are fixed: more parameters than the arrays hold is a bug. */
    assert(p->count < (int)(sizeof(p->values) / sizeof(p->values[0])));
    p->types[p->count] = type;
    p->values[p->count] = value;
    p->lengths[p->count] = length;
    p->formats[p->count] = format;
    return ++p->count;
}

int markr_pg_param_text(struct markr_pg_params *p, Oid type, const char *value)
{
    return param_add(p, type, value, 0, 0);
}

int markr_pg_param_binary(struct markr_pg_params *p, Oid type, const char *value, size_t len)
{
    /* The protocol carries lengths as int32; callers bound their bodies far below that. */
    assert(len <= INT32_MAX);
    return param_add(p, type, value, (int)len, 1);
}

/* Integers travel as text, formatted into the parameters' own storage. */
static int param_integer(struct markr_pg_params *p, Oid type, long long value)
{
    assert(p->count < (int)(sizeof(p->numbers) / sizeof(p->numbers[0])));
    snprintf(p->numbers[p->count], sizeof(p->numbers[p->count]), "%lld", value);
    return param_add(p, type, p->numbers[p->count], 0, 0);
}

int markr_pg_param_int8(struct markr_pg_params *p, int64_t value)
{
    return param_integer(p, MARKR_PG_INT8, (long long)value);
}

int markr_pg_param_int4(struct markr_pg_params *p, int64_t value)
{
    /* Counts of results and positions in a document are far below 2^31 (bodies are bounded). */
    return param_integer(p, MARKR_PG_INT4, (long long)value);
}

int markr_pg_param_bool(struct markr_pg_params *p, int value)
{
    return param_add(p, MARKR_PG_BOOL, value ? "true" : "false", 0, 0);
}
