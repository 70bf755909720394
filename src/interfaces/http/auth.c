/*
 * Bearer tokens and the access decision (auth.h). A request's token is compared with every
 * configured one, each in constant time, and the results are combined without branching
 * on them, so how long a request takes does not tell which token, or which prefix, matched.
 */
#include "auth.h"

#include <string.h>
#include <strings.h>

const char *markr_token_problem(const char *text, size_t len)
{
    if (len < MARKR_TOKEN_MIN)
        return "too short (at least 16 characters)";
    if (len > MARKR_TOKEN_MAX)
        return "too long (at most 256 characters)";
    for (size_t i = 0; i < len; ++i)
        if (text[i] <= ' ' || text[i] > '~')
            return "only printable ASCII without spaces";
    return NULL;
}

int markr_token_list_parse(const char *text, struct markr_token_list *list, const char **problem)
{
    const char *p = text;

    memset(list, 0, sizeof(*list));
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);

        if (len == 0) {
            *problem = "an empty entry (tokens are separated by single commas)";
            return -1;
        }
        if (list->count == MARKR_TOKENS_MAX) {
            *problem = "more than 32 tokens";
            return -1;
        }
        if ((*problem = markr_token_problem(p, len)) != NULL)
            return -1;
        list->items[list->count++] = (struct markr_token){p, len};
        if (comma == NULL)
            return 0;
        p = comma + 1;
    }
}

int markr_token_equal(const char *given, size_t given_len, const char *expected, size_t expected_len)
{
    unsigned char diff = given_len != expected_len;

    /* Every byte of expected is read, whatever given's length: no early exit. */
    for (size_t i = 0; i < expected_len; ++i)
        diff |= (unsigned char)(expected[i] ^ (i < given_len ? given[i] : 0));
    return diff == 0;
}

static int in_list(const struct markr_token_list *list, const char *given, size_t len)
{
    int found = 0;

    for (size_t i = 0; i < list->count; ++i)
        found |= markr_token_equal(given, len, list->items[i].base, list->items[i].len);
    return found;
}

enum token_level { TOKEN_NONE, TOKEN_READER, TOKEN_OPERATOR };

/* The level of the bearer token in authorization: "Bearer" (any case), spaces, the token. */
static enum token_level level_of(const struct markr_access_policy *policy, const char *authorization, size_t len)
{
    size_t i = 6;
    int reader, operator_;

    if (authorization == NULL || len <= i || strncasecmp(authorization, "Bearer", 6) != 0 || authorization[i] != ' ')
        return TOKEN_NONE;
    while (i < len && authorization[i] == ' ')
        ++i;
    authorization += i;
    len -= i;
    if (len > MARKR_TOKEN_MAX) /* longer than any token: not compared at all */
        return TOKEN_NONE;
    reader = in_list(&policy->readers, authorization, len);
    operator_ = in_list(&policy->operators, authorization, len);
    if (policy->admin_token != NULL)
        operator_ |= markr_token_equal(authorization, len, policy->admin_token, strlen(policy->admin_token));
    return operator_ ? TOKEN_OPERATOR : reader ? TOKEN_READER : TOKEN_NONE;
}

enum markr_access_verdict markr_access_decide(const struct markr_access_policy *policy, enum markr_access level,
                                              const char *authorization, size_t len)
{
    int any_operator = policy->operators.count != 0 || policy->admin_token != NULL;
    enum token_level token;

    switch (level) {
    case MARKR_ACCESS_READER:
        if (policy->readers.count == 0)
            return MARKR_ACCESS_ALLOWED;
        break;
    case MARKR_ACCESS_OPERATOR:
        /* The vault holds, verbatim, the names and marks a reader token protects: it is open
         * only while no reader or operator token is set, never beside protected reads. */
        if (policy->operators.count == 0 && policy->readers.count == 0)
            return MARKR_ACCESS_ALLOWED;
        break;
    case MARKR_ACCESS_ADMIN:
        if (!any_operator)
            return MARKR_ACCESS_HIDDEN;
        break;
    default: /* open, or decided by address */
        return MARKR_ACCESS_ALLOWED;
    }
    token = level_of(policy, authorization, len);
    if (token == TOKEN_OPERATOR || (token == TOKEN_READER && level == MARKR_ACCESS_READER))
        return MARKR_ACCESS_ALLOWED;
    return token == TOKEN_READER ? MARKR_ACCESS_FORBIDDEN : MARKR_ACCESS_UNAUTHORIZED;
}
