/*
 * Who may call what: the bearer tokens of readers and operators, the rule every token
 * follows, and the decision for a route's access level (ADR 0021). Free of h2o, so that the
 * settings check the same rule and the decision is unit-tested alone; the dispatcher
 * (server.c) reads the Authorization header and answers what this decides.
 */
#ifndef MARKR_INTERFACES_HTTP_AUTH_H
#define MARKR_INTERFACES_HTTP_AUTH_H

#include <stddef.h>

#define MARKR_TOKEN_MIN 16  /* characters of a token, at least */
#define MARKR_TOKEN_MAX 256 /* and at most: a header of any size is not compared */
#define MARKR_TOKENS_MAX 32 /* tokens in one list */

/* The access level of a route (its entry in routes.c). */
enum markr_access {
    MARKR_ACCESS_OPEN,   /* anyone */
    MARKR_ACCESS_IMPORT, /* anyone whose address is in MARKR_IMPORT_ALLOW, when it is set */
    /* Personal data by student (names, marks): a reader or operator token, once reader
     * tokens are configured; open while they are not. */
    MARKR_ACCESS_READER,
    /* The vault (stored documents): an operator token, once operator tokens are configured;
     * open while they are not. */
    MARKR_ACCESS_OPERATOR,
    /* Changes by operators (reprocess): an operator token (MARKR_ADMIN_TOKEN is one) always;
     * while none is configured the route does not exist (404). */
    MARKR_ACCESS_ADMIN,
};

/* A token: pointer and length into a setting's text, which outlives the server. */
struct markr_token {
    const char *base;
    size_t len;
};

struct markr_token_list {
    size_t count;
    struct markr_token items[MARKR_TOKENS_MAX];
};

/* Who is allowed in. Empty lists and a NULL admin token mean "not configured". */
struct markr_access_policy {
    struct markr_token_list readers;
    struct markr_token_list operators;
    const char *admin_token; /* MARKR_ADMIN_TOKEN: an operator token that alone protects nothing */
};

/* The rule of every token (MARKR_ADMIN_TOKEN and each of a list): MARKR_TOKEN_MIN to
 * MARKR_TOKEN_MAX printable ASCII characters, no space. Returns NULL when text[0..len)
 * follows it, else why not, in words that never repeat the token. */
const char *markr_token_problem(const char *text, size_t len);

/* Parses a comma-separated list of tokens into list (pointing into text). Returns 0, or -1
 * with *problem set (never quoting a token): an empty entry, too many, or the rule broken. */
int markr_token_list_parse(const char *text, struct markr_token_list *list, const char **problem);

/* 1 when given equals expected. Takes the same time whatever given holds, for a given
 * expected length: a guess learns nothing from timing but that length's range. */
int markr_token_equal(const char *given, size_t given_len, const char *expected, size_t expected_len);

enum markr_access_verdict {
    MARKR_ACCESS_ALLOWED,
    MARKR_ACCESS_UNAUTHORIZED, /* 401: no token, not a bearer token, or a wrong one */
    MARKR_ACCESS_FORBIDDEN,    /* 403: a reader token on an operator route */
    MARKR_ACCESS_HIDDEN,       /* 404: an admin route while no operator token exists */
};

/* The verdict for a request to a route of `level` carrying the Authorization header value
 * authorization[0..len) (NULL when absent). MARKR_ACCESS_IMPORT is decided by address
 * (cidr.h), so it is allowed here. Every configured token is compared, whichever matches. */
enum markr_access_verdict markr_access_decide(const struct markr_access_policy *policy, enum markr_access level,
                                              const char *authorization, size_t len);

#endif
