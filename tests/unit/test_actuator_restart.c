/* Unit tests of the restart outbox's rules (restart_policy.c): exponential backoff with full
 * jitter, the give-up rule, the pre-check before each attempt, and RESTART_URL templating with
 * hostile workspace ids. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "restart_policy.h"

START_TEST(test_restart_backoff_ceiling_doubles_then_caps)
{
    ck_assert_int_eq(restart_backoff_ceiling_ms(1, 1000, 300000), 1000);
    ck_assert_int_eq(restart_backoff_ceiling_ms(2, 1000, 300000), 2000);
    ck_assert_int_eq(restart_backoff_ceiling_ms(3, 1000, 300000), 4000);
    ck_assert_int_eq(restart_backoff_ceiling_ms(9, 1000, 300000), 256000);
    ck_assert_int_eq(restart_backoff_ceiling_ms(10, 1000, 300000), 300000); /* 512 s capped */
    ck_assert_int_eq(restart_backoff_ceiling_ms(15, 1000, 300000), 300000);
}
END_TEST

START_TEST(test_restart_backoff_ceiling_never_overflows)
{
    ck_assert_int_eq(restart_backoff_ceiling_ms(INT32_MAX, 1000, 300000), 300000);
    ck_assert_int_eq(restart_backoff_ceiling_ms(200, INT64_MAX / 2, INT64_MAX), INT64_MAX);
    ck_assert_int_eq(restart_backoff_ceiling_ms(64, 3, INT64_MAX), INT64_MAX);
}
END_TEST

START_TEST(test_restart_backoff_ceiling_odd_inputs)
{
    ck_assert_int_eq(restart_backoff_ceiling_ms(0, 1000, 300000), 1000);  /* as attempt 1 */
    ck_assert_int_eq(restart_backoff_ceiling_ms(-5, 1000, 300000), 1000); /* as attempt 1 */
    ck_assert_int_eq(restart_backoff_ceiling_ms(3, 1000, 500), 1000);     /* cap below base */
    ck_assert_int_eq(restart_backoff_ceiling_ms(1, 0, 100), 1);           /* base at least 1 */
}
END_TEST

START_TEST(test_restart_backoff_full_jitter_spans_zero_to_ceiling)
{
    /* Ceiling 4000 ms at the third failure. */
    ck_assert_int_eq(restart_backoff_ms(3, 1000, 300000, 0.0), 0);
    ck_assert_int_eq(restart_backoff_ms(3, 1000, 300000, 0.5), 2000);
    ck_assert_int_eq(restart_backoff_ms(3, 1000, 300000, 0.25), 1000);
    ck_assert_int_lt(restart_backoff_ms(3, 1000, 300000, 0.9999999), 4000);
    ck_assert_int_eq(restart_backoff_ms(3, 1000, 300000, 1.0), 3999);
    /* Out-of-range samples are clamped, never trusted. */
    ck_assert_int_eq(restart_backoff_ms(3, 1000, 300000, -0.5), 0);
    ck_assert_int_eq(restart_backoff_ms(3, 1000, 300000, 7.0), 3999);
    ck_assert_int_eq(restart_backoff_ms(3, 1000, 300000, NAN), 0);
    for (int step = 0; step < 1000; step++) {
        int64_t delay = restart_backoff_ms(20, 1000, 300000, step / 1000.0);
        ck_assert_int_ge(delay, 0);
        ck_assert_int_lt(delay, 300000);
    }
}
END_TEST

START_TEST(test_restart_attempt_outcome_only_2xx_is_accepted)
{
    ck_assert_int_eq(restart_attempt_outcome(true, 200, 1, 15), ACTION_OUTCOME_RESTART_ACCEPTED);
    ck_assert_int_eq(restart_attempt_outcome(true, 202, 1, 15), ACTION_OUTCOME_RESTART_ACCEPTED);
    ck_assert_int_eq(restart_attempt_outcome(true, 299, 15, 15), ACTION_OUTCOME_RESTART_ACCEPTED);
    static const long refused[] = {0, 100, 199, 300, 302, 304, 400, 401, 404, 409, 429, 500, 503};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        ck_assert_int_eq(restart_attempt_outcome(true, refused[i], 1, 15),
                         ACTION_OUTCOME_RESTART_RETRIED);
    }
    /* A transfer that failed (timeout after headers, body too large) is not accepted even if a
     * 2xx status line had arrived. */
    ck_assert_int_eq(restart_attempt_outcome(false, 200, 1, 15), ACTION_OUTCOME_RESTART_RETRIED);
}
END_TEST

START_TEST(test_restart_attempt_outcome_gives_up_at_the_limit)
{
    ck_assert_int_eq(restart_attempt_outcome(true, 503, 14, 15), ACTION_OUTCOME_RESTART_RETRIED);
    ck_assert_int_eq(restart_attempt_outcome(true, 503, 15, 15), ACTION_OUTCOME_RESTART_FAILED);
    ck_assert_int_eq(restart_attempt_outcome(false, 0, 16, 15), ACTION_OUTCOME_RESTART_FAILED);
    ck_assert_int_eq(restart_attempt_outcome(false, 0, 1, 1), ACTION_OUTCOME_RESTART_FAILED);
}
END_TEST

START_TEST(test_restart_precheck_skips_reprovisioned_or_gone_workspaces)
{
    ck_assert_int_eq(restart_precheck(true, "i-1", "i-1"), ACTION_OUTCOME_UNSPECIFIED);
    ck_assert_int_eq(restart_precheck(false, NULL, "i-1"), ACTION_OUTCOME_SKIPPED_ROW_MISSING);
    ck_assert_int_eq(restart_precheck(true, "i-2", "i-1"), ACTION_OUTCOME_SKIPPED_INSTANCE_CHANGED);
    ck_assert_int_eq(restart_precheck(true, NULL, "i-1"), ACTION_OUTCOME_SKIPPED_INSTANCE_CHANGED);
    ck_assert_int_eq(restart_precheck(true, "", "i-1"), ACTION_OUTCOME_SKIPPED_INSTANCE_CHANGED);
}
END_TEST

START_TEST(test_restart_url_template_validation)
{
    ck_assert_ptr_null(restart_url_template_problem("http://ws:8080/workspaces/{id}/restart"));
    ck_assert_ptr_null(restart_url_template_problem("HTTPS://ws/workspaces/{id}/restart"));
    ck_assert_ptr_nonnull(restart_url_template_problem(NULL));
    ck_assert_ptr_nonnull(restart_url_template_problem(""));
    ck_assert_ptr_nonnull(restart_url_template_problem("http://ws/workspaces/restart"));
    ck_assert_ptr_nonnull(restart_url_template_problem("http://ws/workspaces/{ID}/restart"));
    ck_assert_ptr_nonnull(restart_url_template_problem("ftp://ws/{id}"));
    ck_assert_ptr_nonnull(restart_url_template_problem("ws:8080/{id}"));
    ck_assert_ptr_nonnull(restart_url_template_problem("file:///{id}"));
}
END_TEST

typedef struct {
    const char *id;
    const char *expected;
} url_case;

static const url_case url_cases[] = {
    {"6f1c2a9e-3b7d-4c1e-9a2f-0d4b8e7c5a31",
     "http://ws/workspaces/6f1c2a9e-3b7d-4c1e-9a2f-0d4b8e7c5a31/restart"},
    {"../../admin", "http://ws/workspaces/%2E%2E%2F%2E%2E%2Fadmin/restart"},
    {"..", "http://ws/workspaces/%2E%2E/restart"},
    {".", "http://ws/workspaces/%2E/restart"},
    {"a b?c=d#e", "http://ws/workspaces/a%20b%3Fc%3Dd%23e/restart"},
    {"x@evil.example:80", "http://ws/workspaces/x%40evil%2Eexample%3A80/restart"},
    {"%2e%2e", "http://ws/workspaces/%252e%252e/restart"},
    {"\r\nHost: evil", "http://ws/workspaces/%0D%0AHost%3A%20evil/restart"},
    {"caf\xc3\xa9", "http://ws/workspaces/caf%C3%A9/restart"},
    {"{id}", "http://ws/workspaces/%7Bid%7D/restart"},
    {"a/b\\c", "http://ws/workspaces/a%2Fb%5Cc/restart"},
    {"", "http://ws/workspaces//restart"},
};

START_TEST(test_restart_url_encodes_hostile_ids)
{
    const url_case *c = &url_cases[_i];
    char *url = restart_url_for("http://ws/workspaces/{id}/restart", c->id);
    ck_assert_ptr_nonnull(url);
    ck_assert_str_eq(url, c->expected);
    free(url);
}
END_TEST

START_TEST(test_restart_url_replaces_every_placeholder_and_nothing_else)
{
    char *url = restart_url_for("http://ws/{id}/restart?workspace={id}", "w-1");
    ck_assert_str_eq(url, "http://ws/w-1/restart?workspace=w-1");
    free(url);
    url = restart_url_for("http://ws/{id}{id}", "a");
    ck_assert_str_eq(url, "http://ws/aa");
    free(url);
    url = restart_url_for("http://ws/{id/{ id}/restart", "a");
    ck_assert_str_eq(url, "http://ws/{id/{ id}/restart");
    free(url);
    url = restart_url_for("http://ws/x/{id}", NULL);
    ck_assert_str_eq(url, "http://ws/x/");
    free(url);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("actuator_restart");
    TCase *backoff = tcase_create("backoff");
    tcase_add_test(backoff, test_restart_backoff_ceiling_doubles_then_caps);
    tcase_add_test(backoff, test_restart_backoff_ceiling_never_overflows);
    tcase_add_test(backoff, test_restart_backoff_ceiling_odd_inputs);
    tcase_add_test(backoff, test_restart_backoff_full_jitter_spans_zero_to_ceiling);
    suite_add_tcase(suite, backoff);

    TCase *outcome = tcase_create("outcome");
    tcase_add_test(outcome, test_restart_attempt_outcome_only_2xx_is_accepted);
    tcase_add_test(outcome, test_restart_attempt_outcome_gives_up_at_the_limit);
    tcase_add_test(outcome, test_restart_precheck_skips_reprovisioned_or_gone_workspaces);
    suite_add_tcase(suite, outcome);

    TCase *url = tcase_create("url");
    tcase_add_test(url, test_restart_url_template_validation);
    tcase_add_loop_test(url, test_restart_url_encodes_hostile_ids, 0,
                        (int)(sizeof url_cases / sizeof url_cases[0]));
    tcase_add_test(url, test_restart_url_replaces_every_placeholder_and_nothing_else);
    suite_add_tcase(suite, url);

    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
