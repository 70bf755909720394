/*
 * Access control without a server: the rule every token follows, lists of tokens, the
 * constant-time comparison, the verdict for each access level with and without tokens
 * configured, and the CIDR ranges of the import allow-list.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "interfaces/http/auth.h"
#include "interfaces/http/cidr.h"

#define READER "reader-token-0123456789"
#define READER2 "reader-token-second-one"
#define OPERATOR "operator-token-0123456789"
#define ADMIN "admin-token-0123456789ab"

static void the_token_rule(void **state)
{
    char longest[MARKR_TOKEN_MAX + 2];

    assert_null(markr_token_problem("0123456789abcdef", 16));
    assert_non_null(markr_token_problem("0123456789abcde", 15));
    assert_non_null(markr_token_problem("0123456789 abcdef", 17));
    assert_non_null(markr_token_problem("0123456789\tabcdef", 17));
    assert_non_null(markr_token_problem("0123456789\x7f" "abcdef", 17));
    assert_non_null(markr_token_problem("0123456789\xc3\xa9" "abcdef", 18)); /* not ASCII */
    memset(longest, 'x', sizeof(longest));
    assert_null(markr_token_problem(longest, MARKR_TOKEN_MAX));
    assert_non_null(markr_token_problem(longest, MARKR_TOKEN_MAX + 1));
    /* No problem quotes the token. */
    assert_null(strstr(markr_token_problem("secret-secret", 13), "secret"));
}

static void lists_of_tokens(void **state)
{
    struct markr_token_list list;
    const char *problem = NULL;
    char many[(MARKR_TOKENS_MAX + 1) * 17 + 1];

    assert_int_equal(markr_token_list_parse(READER, &list, &problem), 0);
    assert_int_equal(list.count, 1);
    assert_int_equal(list.items[0].len, strlen(READER));
    assert_int_equal(markr_token_list_parse(READER "," READER2, &list, &problem), 0);
    assert_int_equal(list.count, 2);
    assert_memory_equal(list.items[1].base, READER2, strlen(READER2));
    assert_int_equal(list.items[1].len, strlen(READER2));
    assert_int_equal(markr_token_list_parse(READER ",", &list, &problem), -1);
    assert_non_null(strstr(problem, "empty"));
    assert_int_equal(markr_token_list_parse("," READER, &list, &problem), -1);
    assert_int_equal(markr_token_list_parse(READER ",,"READER2, &list, &problem), -1);
    assert_int_equal(markr_token_list_parse(READER ", " READER2, &list, &problem), -1); /* a space */
    assert_int_equal(markr_token_list_parse(READER ",short", &list, &problem), -1);
    assert_non_null(strstr(problem, "short"));
    /* At most MARKR_TOKENS_MAX. */
    for (int i = 0; i <= MARKR_TOKENS_MAX; ++i)
        memcpy(many + i * 17, "abcdefghijklmnop,", 17);
    many[MARKR_TOKENS_MAX * 17 - 1] = '\0';
    assert_int_equal(markr_token_list_parse(many, &list, &problem), 0);
    assert_int_equal(list.count, MARKR_TOKENS_MAX);
    many[MARKR_TOKENS_MAX * 17 - 1] = ',';
    many[(MARKR_TOKENS_MAX + 1) * 17 - 1] = '\0';
    assert_int_equal(markr_token_list_parse(many, &list, &problem), -1);
    assert_non_null(strstr(problem, "more than"));
}

static void tokens_compare_whole(void **state)
{
    assert_true(markr_token_equal("abc", 3, "abc", 3));
    assert_false(markr_token_equal("abd", 3, "abc", 3));
    assert_false(markr_token_equal("ab", 2, "abc", 3));   /* a prefix */
    assert_false(markr_token_equal("abcd", 4, "abc", 3)); /* longer */
    assert_false(markr_token_equal("ab\0", 3, "abc", 3));
    assert_false(markr_token_equal("", 0, "abc", 3));
}

static struct markr_access_policy policy_of(const char *readers, const char *operators, const char *admin)
{
    struct markr_access_policy p = {.admin_token = admin};
    const char *problem;

    if (readers != NULL)
        assert_int_equal(markr_token_list_parse(readers, &p.readers, &problem), 0);
    if (operators != NULL)
        assert_int_equal(markr_token_list_parse(operators, &p.operators, &problem), 0);
    return p;
}

static enum markr_access_verdict decide(const struct markr_access_policy *p, enum markr_access level, const char *h)
{
    return markr_access_decide(p, level, h, h != NULL ? strlen(h) : 0);
}

static void the_verdict_of_each_level(void **state)
{
    struct markr_access_policy all = policy_of(READER "," READER2, OPERATOR, ADMIN);
    static const enum markr_access open[] = {MARKR_ACCESS_OPEN, MARKR_ACCESS_IMPORT};

    for (size_t i = 0; i < 2; ++i) {
        assert_int_equal(decide(&all, open[i], NULL), MARKR_ACCESS_ALLOWED);
        assert_int_equal(decide(&all, open[i], "Bearer wrong-token-0123456789"), MARKR_ACCESS_ALLOWED);
    }
    /* Readers: any reader token, any operator token, the admin token. */
    assert_int_equal(decide(&all, MARKR_ACCESS_READER, NULL), MARKR_ACCESS_UNAUTHORIZED);
    assert_int_equal(decide(&all, MARKR_ACCESS_READER, "Bearer " READER), MARKR_ACCESS_ALLOWED);
    assert_int_equal(decide(&all, MARKR_ACCESS_READER, "Bearer " READER2), MARKR_ACCESS_ALLOWED);
    assert_int_equal(decide(&all, MARKR_ACCESS_READER, "bearer   " READER2), MARKR_ACCESS_ALLOWED);
    assert_int_equal(decide(&all, MARKR_ACCESS_READER, "Bearer " OPERATOR), MARKR_ACCESS_ALLOWED);
    assert_int_equal(decide(&all, MARKR_ACCESS_READER, "Bearer " ADMIN), MARKR_ACCESS_ALLOWED);
    assert_int_equal(decide(&all, MARKR_ACCESS_READER, "Bearer " READER "x"), MARKR_ACCESS_UNAUTHORIZED);
    assert_int_equal(decide(&all, MARKR_ACCESS_READER, "Bearer reader-token-012345678"), MARKR_ACCESS_UNAUTHORIZED);
    assert_int_equal(decide(&all, MARKR_ACCESS_READER, "Basic " READER), MARKR_ACCESS_UNAUTHORIZED);
    assert_int_equal(decide(&all, MARKR_ACCESS_READER, "Bearer" READER), MARKR_ACCESS_UNAUTHORIZED);
    assert_int_equal(decide(&all, MARKR_ACCESS_READER, READER), MARKR_ACCESS_UNAUTHORIZED);
    assert_int_equal(decide(&all, MARKR_ACCESS_READER, "Bearer "), MARKR_ACCESS_UNAUTHORIZED);
    assert_int_equal(decide(&all, MARKR_ACCESS_READER, ""), MARKR_ACCESS_UNAUTHORIZED);
    /* Operators: a reader is known but refused (403). */
    for (enum markr_access level = MARKR_ACCESS_OPERATOR; level <= MARKR_ACCESS_ADMIN; ++level) {
        assert_int_equal(decide(&all, level, NULL), MARKR_ACCESS_UNAUTHORIZED);
        assert_int_equal(decide(&all, level, "Bearer " READER), MARKR_ACCESS_FORBIDDEN);
        assert_int_equal(decide(&all, level, "Bearer " OPERATOR), MARKR_ACCESS_ALLOWED);
        assert_int_equal(decide(&all, level, "Bearer " ADMIN), MARKR_ACCESS_ALLOWED);
        assert_int_equal(decide(&all, level, "Bearer wrong-token-0123456789"), MARKR_ACCESS_UNAUTHORIZED);
    }
}

static void unset_lists_keep_todays_access(void **state)
{
    struct markr_access_policy none = policy_of(NULL, NULL, NULL), admin = policy_of(NULL, NULL, ADMIN),
                               readers = policy_of(READER, NULL, NULL), operators = policy_of(NULL, OPERATOR, NULL);

    /* Nothing configured: all reads open, the admin route absent. */
    assert_int_equal(decide(&none, MARKR_ACCESS_READER, NULL), MARKR_ACCESS_ALLOWED);
    assert_int_equal(decide(&none, MARKR_ACCESS_OPERATOR, NULL), MARKR_ACCESS_ALLOWED);
    assert_int_equal(decide(&none, MARKR_ACCESS_ADMIN, NULL), MARKR_ACCESS_HIDDEN);
    assert_int_equal(decide(&none, MARKR_ACCESS_ADMIN, "Bearer " ADMIN), MARKR_ACCESS_HIDDEN);
    /* The admin token alone guards the admin route, as before operator tokens. */
    assert_int_equal(decide(&admin, MARKR_ACCESS_OPERATOR, NULL), MARKR_ACCESS_ALLOWED);
    assert_int_equal(decide(&admin, MARKR_ACCESS_ADMIN, NULL), MARKR_ACCESS_UNAUTHORIZED);
    assert_int_equal(decide(&admin, MARKR_ACCESS_ADMIN, "Bearer " ADMIN), MARKR_ACCESS_ALLOWED);
    /* Readers alone: the vault (the same names and marks, verbatim) closes too, to everyone
     * (no operator token exists), and the admin route stays absent. */
    assert_int_equal(decide(&readers, MARKR_ACCESS_READER, NULL), MARKR_ACCESS_UNAUTHORIZED);
    assert_int_equal(decide(&readers, MARKR_ACCESS_OPERATOR, NULL), MARKR_ACCESS_UNAUTHORIZED);
    assert_int_equal(decide(&readers, MARKR_ACCESS_OPERATOR, "Bearer " READER), MARKR_ACCESS_FORBIDDEN);
    assert_int_equal(decide(&readers, MARKR_ACCESS_ADMIN, "Bearer " READER), MARKR_ACCESS_HIDDEN);
    /* Operators alone: per-student reads stay open. */
    assert_int_equal(decide(&operators, MARKR_ACCESS_READER, NULL), MARKR_ACCESS_ALLOWED);
    assert_int_equal(decide(&operators, MARKR_ACCESS_OPERATOR, NULL), MARKR_ACCESS_UNAUTHORIZED);
    assert_int_equal(decide(&operators, MARKR_ACCESS_ADMIN, "Bearer " OPERATOR), MARKR_ACCESS_ALLOWED);
}

static int contains4(const struct markr_cidr_list *list, const char *address)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};

    assert_int_equal(inet_pton(AF_INET, address, &sin.sin_addr), 1);
    return markr_cidr_list_contains(list, (struct sockaddr *)&sin, sizeof(sin));
}

static int contains6(const struct markr_cidr_list *list, const char *address)
{
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};

    assert_int_equal(inet_pton(AF_INET6, address, &sin6.sin6_addr), 1);
    return markr_cidr_list_contains(list, (struct sockaddr *)&sin6, sizeof(sin6));
}

static void cidr_ranges(void **state)
{
    struct markr_cidr_list list;
    char bad[72];

    assert_int_equal(markr_cidr_list_parse("10.0.0.0/8,192.168.1.7,2001:db8::/33,::1/128", &list, bad, sizeof(bad)), 0);
    assert_int_equal(list.count, 4);
    assert_true(contains4(&list, "10.255.1.2"));
    assert_false(contains4(&list, "11.0.0.1"));
    assert_true(contains4(&list, "192.168.1.7")); /* a bare address is one host */
    assert_false(contains4(&list, "192.168.1.8"));
    assert_true(contains6(&list, "::1"));
    assert_false(contains6(&list, "::2"));
    assert_true(contains6(&list, "2001:db8:7fff::1")); /* a prefix inside a byte */
    assert_false(contains6(&list, "2001:db8:8000::1"));
    assert_true(contains6(&list, "::ffff:10.1.2.3")); /* IPv4 seen by a dual-stack listener */
    assert_false(contains6(&list, "::ffff:11.1.2.3"));
    /* Host bits past the prefix are ignored; /0 is everyone of the family. */
    assert_int_equal(markr_cidr_list_parse("127.1.2.3/8,::/0", &list, bad, sizeof(bad)), 0);
    assert_true(contains4(&list, "127.0.0.1"));
    assert_true(contains6(&list, "2001:db8::1"));
    assert_int_equal(markr_cidr_list_parse("127.0.0.0/8", &list, bad, sizeof(bad)), 0);
    assert_false(contains6(&list, "::1"));
    /* An empty list holds nothing. */
    memset(&list, 0, sizeof(list));
    assert_false(contains4(&list, "127.0.0.1"));
}

static void bad_cidr_ranges(void **state)
{
    static const char *const bad_lists[] = {
        "", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/8/8", "10.0.0/8", "10.0.0.0/-1", "10.0.0.0/ 8",
        "example.org/8", "10.0.0.0/8,", ",10.0.0.0/8", "10.0.0.0/8, ::1/128", "10.0.0.0/0008",
    };
    struct markr_cidr_list list;
    char bad[72], many[(MARKR_CIDR_MAX + 1) * 4 + 1];

    for (size_t i = 0; i < sizeof(bad_lists) / sizeof(*bad_lists); ++i)
        if (markr_cidr_list_parse(bad_lists[i], &list, bad, sizeof(bad)) != -1)
            fail_msg("'%s' was accepted", bad_lists[i]);
    assert_int_equal(markr_cidr_list_parse("10.0.0.0/8,10.0.0.0/33", &list, bad, sizeof(bad)), -1);
    assert_string_equal(bad, "10.0.0.0/33");
    for (int i = 0; i <= MARKR_CIDR_MAX; ++i)
        memcpy(many + i * 4, "::1,", 4);
    many[MARKR_CIDR_MAX * 4 - 1] = '\0';
    assert_int_equal(markr_cidr_list_parse(many, &list, bad, sizeof(bad)), 0);
    many[MARKR_CIDR_MAX * 4 - 1] = ',';
    many[(MARKR_CIDR_MAX + 1) * 4 - 1] = '\0';
    assert_int_equal(markr_cidr_list_parse(many, &list, bad, sizeof(bad)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_token_rule),
        cmocka_unit_test(lists_of_tokens),
        cmocka_unit_test(tokens_compare_whole),
        cmocka_unit_test(the_verdict_of_each_level),
        cmocka_unit_test(unset_lists_keep_todays_access),
        cmocka_unit_test(cidr_ranges),
        cmocka_unit_test(bad_cidr_ranges),
    };

    return cmocka_run_group_tests_name("http_auth", tests, NULL, NULL);
}
