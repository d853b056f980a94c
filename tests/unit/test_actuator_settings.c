/* Unit tests of reconciler-actuator's settings (actuator_settings.c): the defaults an operator
 * gets, the checks config.c cannot make (RESTART_URL's shape), secrets masked in
 * --check-config output, and the derived actuator id. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actuator_settings.h"

static config_result parse(char **environment, int argc, char **argv, actuator_settings *settings,
                           char *error, size_t error_size)
{
    memset(settings, 0, sizeof *settings);
    return config_parse_from(&actuator_program, settings, NULL, argc, argv, environment, error,
                             error_size, NULL);
}

/* Runs `reconciler-actuator --check-config` against `environment`; what it prints is in
 * *output (malloc'd). */
static config_result check_config(char **environment, char **output, char *error, size_t error_size)
{
    char *argv[] = {"reconciler-actuator", "--check-config", NULL};
    actuator_settings settings;
    memset(&settings, 0, sizeof settings);
    size_t length = 0;
    FILE *out = open_memstream(output, &length);
    ck_assert_ptr_nonnull(out);
    config_result result = config_parse_with_output(&actuator_program, &settings, NULL, 2, argv,
                                                    environment, out, error, error_size, NULL);
    fclose(out);
    return result;
}

START_TEST(test_actuator_settings_defaults)
{
    char *environment[] = {"RESTART_URL=http://ws:8080/workspaces/{id}/restart", "CP_URL=http://cp",
                           NULL};
    char *argv[] = {"reconciler-actuator", NULL};
    actuator_settings settings;
    char error[256];
    ck_assert_int_eq(parse(environment, 1, argv, &settings, error, sizeof error),
                     CONFIG_RESULT_RUN);
    ck_assert_str_eq(settings.group_id, "reconciler-actuator");
    ck_assert_str_eq(settings.common.metrics_address, "127.0.0.1:9103");
    ck_assert_str_eq(settings.common.topic_verdicts, "reconciler.verdicts");
    ck_assert_str_eq(settings.common.topic_actions, "reconciler.actions");
    ck_assert_str_eq(settings.common.topic_dlq, "reconciler.dlq");
    ck_assert_int_eq(settings.max_verdict_age_ms, 5 * 60 * 1000);
    ck_assert(settings.max_unhealthy.is_percent);
    ck_assert(settings.max_unhealthy.value == 20.0);
    ck_assert_int_eq(settings.breaker_window_ms, 10 * 60 * 1000);
    ck_assert_int_eq(settings.max_flips_per_minute, 60);
    ck_assert_int_eq(settings.max_restarts_per_minute, 60);
    ck_assert_int_eq(settings.restart_max_attempts, 15);
    ck_assert_int_eq(settings.restart_timeout_ms, 10000);
    ck_assert_int_eq(settings.restart_backoff_base_ms, 1000);
    ck_assert_int_eq(settings.restart_backoff_max_ms, 300000);
    ck_assert(!settings.dry_run);
    ck_assert_int_eq(settings.retention_ms, 7LL * 24 * 3600 * 1000);
    ck_assert_ptr_null(settings.restart_token);
    ck_assert(settings.cp_confirm);
    ck_assert_int_eq(settings.cp_confirm_timeout_ms, 5000);
    ck_assert_ptr_null(settings.restart_proxy);
    ck_assert_ptr_null(settings.cp.proxy);
    /* The hook derived the not-running states, the checker's default list. */
    ck_assert_int_eq(settings.cp_not_running_states.count, 4);
    cp_not_running_states states;
    ck_assert(actuator_settings_validate(&settings, &states, error, sizeof error));
    ck_assert(cp_not_running_states_contains(&states, "terminated", strlen("terminated")));
    config_free(&actuator_program, &settings, NULL);
}
END_TEST

START_TEST(test_actuator_settings_restart_url_is_required)
{
    char *environment[] = {NULL};
    char *argv[] = {"reconciler-actuator", NULL};
    actuator_settings settings;
    char error[256];
    ck_assert_int_eq(parse(environment, 1, argv, &settings, error, sizeof error),
                     CONFIG_RESULT_EXIT_USAGE);
    ck_assert_ptr_nonnull(strstr(error, "RESTART_URL"));
}
END_TEST

START_TEST(test_actuator_settings_restart_url_needs_placeholder_and_scheme)
{
    static const char *const bad[] = {
        "RESTART_URL=http://ws/workspaces/restart",
        "RESTART_URL=ws/workspaces/{id}/restart",
        "RESTART_URL=http://user:hunter2@ws/workspaces/restart",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *environment[] = {(char *)bad[i], NULL};
        char *argv[] = {"reconciler-actuator", NULL};
        actuator_settings settings;
        char error[256];
        /* actuator_settings_validate runs inside config_parse (actuator_program's hook). */
        ck_assert_int_eq(parse(environment, 1, argv, &settings, error, sizeof error),
                         CONFIG_RESULT_EXIT_USAGE);
        ck_assert_msg(strncmp(error, "reconciler-actuator: RESTART_URL: ", 34) == 0, "%s", error);
        ck_assert_ptr_null(strchr(error, '\n'));
        /* The URL is not echoed: it may carry credentials. */
        ck_assert_ptr_null(strstr(error, "hunter2"));
        ck_assert_ptr_null(settings.restart_url);
    }
}
END_TEST

START_TEST(test_actuator_settings_backoff_base_above_cap_is_rejected)
{
    char *environment[] = {"RESTART_URL=http://ws/{id}", "ACTUATOR_RESTART_BACKOFF_BASE=10m",
                           "ACTUATOR_RESTART_BACKOFF_MAX=1m", NULL};
    char *argv[] = {"reconciler-actuator", NULL};
    actuator_settings settings;
    char error[256];
    ck_assert_int_eq(parse(environment, 1, argv, &settings, error, sizeof error),
                     CONFIG_RESULT_EXIT_USAGE);
    ck_assert_ptr_nonnull(strstr(error, "ACTUATOR_RESTART_BACKOFF_BASE"));
}
END_TEST

START_TEST(test_actuator_settings_flags_and_thresholds)
{
    char *environment[] = {"RESTART_URL=http://ws/{id}", "ACTUATOR_MAX_UNHEALTHY=20%",
                           "CP_URL=http://cp", NULL};
    char *argv[] = {"reconciler-actuator",
                    "--actuator-dry-run",
                    "--actuator-max-unhealthy",
                    "50",
                    "--actuator-max-verdict-age=90s",
                    NULL};
    actuator_settings settings;
    char error[256];
    ck_assert_int_eq(parse(environment, 5, argv, &settings, error, sizeof error),
                     CONFIG_RESULT_RUN);
    ck_assert(settings.dry_run);
    ck_assert(!settings.max_unhealthy.is_percent);
    ck_assert(settings.max_unhealthy.value == 50.0);
    ck_assert_int_eq(settings.max_verdict_age_ms, 90000);
    config_free(&actuator_program, &settings, NULL);
}
END_TEST

START_TEST(test_actuator_settings_bad_values_name_the_variable)
{
    static const char *const bad[][2] = {
        {"ACTUATOR_MAX_UNHEALTHY=lots", "ACTUATOR_MAX_UNHEALTHY"},
        {"ACTUATOR_MAX_UNHEALTHY=120%", "ACTUATOR_MAX_UNHEALTHY"},
        {"ACTUATOR_MAX_RESTARTS_PER_MIN=0", "ACTUATOR_MAX_RESTARTS_PER_MIN"},
        {"ACTUATOR_MAX_FLIPS_PER_MIN=0", "ACTUATOR_MAX_FLIPS_PER_MIN"},
        {"ACTUATOR_MAX_FLIPS_PER_MIN=600001", "ACTUATOR_MAX_FLIPS_PER_MIN"},
        {"ACTUATOR_BREAKER_WINDOW=0", "ACTUATOR_BREAKER_WINDOW"},
        {"ACTUATOR_BREAKER_WINDOW=2h", "ACTUATOR_BREAKER_WINDOW"},
        {"ACTUATOR_RESTART_MAX_ATTEMPTS=0", "ACTUATOR_RESTART_MAX_ATTEMPTS"},
        {"ACTUATOR_MAX_VERDICT_AGE=5 minutes", "ACTUATOR_MAX_VERDICT_AGE"},
        {"ACTUATOR_DRY_RUN=maybe", "ACTUATOR_DRY_RUN"},
        {"ACTUATOR_RESTART_TIMEOUT=0", "ACTUATOR_RESTART_TIMEOUT"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *environment[] = {"RESTART_URL=http://ws/{id}", (char *)bad[i][0], NULL};
        char *argv[] = {"reconciler-actuator", NULL};
        actuator_settings settings;
        char error[256];
        ck_assert_int_eq(parse(environment, 1, argv, &settings, error, sizeof error),
                         CONFIG_RESULT_EXIT_USAGE);
        ck_assert_msg(strstr(error, bad[i][1]) != NULL, "'%s' names %s", error, bad[i][1]);
    }
}
END_TEST

START_TEST(test_actuator_settings_check_config_masks_secrets)
{
    char *environment[] = {"RESTART_URL=http://ws/{id}",
                           "RESTART_TOKEN=restart-token-value",
                           "DATABASE_URL=postgresql://u:db-password-value@db/app",
                           "CP_URL=http://cp",
                           "CP_SHARED_SECRET=cp-secret-value",
                           NULL};
    char *output = NULL;
    char error[256];
    config_result result = check_config(environment, &output, error, sizeof error);
    ck_assert_int_eq(result, CONFIG_RESULT_EXIT_OK);
    ck_assert_ptr_nonnull(strstr(output, "RESTART_TOKEN=<masked>"));
    ck_assert_ptr_null(strstr(output, "restart-token-value"));
    ck_assert_ptr_null(strstr(output, "db-password-value"));
    ck_assert_ptr_null(strstr(output, "cp-secret-value"));
    /* No proxy configured: said outright, whatever the environment's *_proxy variables. */
    ck_assert_ptr_nonnull(strstr(output, "\nCP_PROXY=none\n"));
    ck_assert_ptr_nonnull(strstr(output, "\nRESTART_PROXY=none\n"));
    ck_assert_ptr_nonnull(strstr(output, "\nACTUATOR_CP_CONFIRM=true\n"));
    free(output);
}
END_TEST

START_TEST(test_actuator_settings_check_config_shows_proxies_without_credentials)
{
    char *environment[] = {"RESTART_URL=http://ws/{id}", "CP_URL=http://cp",
                           "CP_PROXY=http://cp-proxy.internal:3128",
                           "RESTART_PROXY=http://user:proxy-password@restart-proxy:8080", NULL};
    char *output = NULL;
    char error[256];
    ck_assert_int_eq(check_config(environment, &output, error, sizeof error),
                     CONFIG_RESULT_EXIT_OK);
    ck_assert_ptr_nonnull(strstr(output, "\nCP_PROXY=http://cp-proxy.internal:3128\n"));
    ck_assert_ptr_nonnull(strstr(output, "\nRESTART_PROXY=http://<masked>@restart-proxy:8080\n"));
    ck_assert_ptr_null(strstr(output, "proxy-password"));
    free(output);
}
END_TEST

START_TEST(test_actuator_settings_cp_url_required_while_confirming)
{
    char *argv[] = {"reconciler-actuator", NULL};
    actuator_settings settings;
    char error[512];
    char *confirming[] = {"RESTART_URL=http://ws/{id}", NULL};
    ck_assert_int_eq(parse(confirming, 1, argv, &settings, error, sizeof error),
                     CONFIG_RESULT_EXIT_USAGE);
    ck_assert_msg(strncmp(error, "reconciler-actuator: CP_URL: ", 29) == 0, "%s", error);
    ck_assert_ptr_nonnull(strstr(error, "ACTUATOR_CP_CONFIRM=false"));

    /* Written down: the actuator acts on verdicts alone. */
    char *not_confirming[] = {"RESTART_URL=http://ws/{id}", "ACTUATOR_CP_CONFIRM=false", NULL};
    ck_assert_int_eq(parse(not_confirming, 1, argv, &settings, error, sizeof error),
                     CONFIG_RESULT_RUN);
    ck_assert(!settings.cp_confirm);
    config_free(&actuator_program, &settings, NULL);
}
END_TEST

START_TEST(test_actuator_settings_bad_cp_settings_name_the_variable)
{
    static const char *const bad[][2] = {
        {"CP_PROXY=proxy:3128", "reconciler-actuator: CP_PROXY: "},
        {"RESTART_PROXY=ftp://proxy:21", "reconciler-actuator: RESTART_PROXY: "},
        {"RESTART_PROXY=http://u:secret-word@proxy/path", "reconciler-actuator: RESTART_PROXY: "},
        {"CHECKER_NOT_RUNNING_STATES=running", "reconciler-actuator: CHECKER_NOT_RUNNING_STATES: "},
        {"ACTUATOR_CP_CONFIRM_TIMEOUT=50ms", "ACTUATOR_CP_CONFIRM_TIMEOUT"},
        {"CP_CA_FILE=/nonexistent/ca.pem", "reconciler-actuator: CP_CA_FILE: "},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *environment[] = {"RESTART_URL=http://ws/{id}", "CP_URL=http://cp", (char *)bad[i][0],
                               NULL};
        char *argv[] = {"reconciler-actuator", NULL};
        actuator_settings settings;
        char error[512];
        ck_assert_int_eq(parse(environment, 1, argv, &settings, error, sizeof error),
                         CONFIG_RESULT_EXIT_USAGE);
        ck_assert_msg(strstr(error, bad[i][1]) != NULL, "'%s' names %s", error, bad[i][1]);
        ck_assert_ptr_null(strstr(error, "secret-word"));
    }
}
END_TEST

START_TEST(test_actuator_settings_check_config_runs_actuator_validation)
{
    char *environment[] = {"RESTART_URL=http://ws/{id}", "ACTUATOR_RESTART_BACKOFF_BASE=10m",
                           "ACTUATOR_RESTART_BACKOFF_MAX=1m", NULL};
    char *output = NULL;
    char error[256];
    config_result result = check_config(environment, &output, error, sizeof error);
    ck_assert_int_eq(result, CONFIG_RESULT_EXIT_USAGE);
    ck_assert_str_eq(error, "reconciler-actuator: ACTUATOR_RESTART_BACKOFF_BASE: must not exceed "
                            "ACTUATOR_RESTART_BACKOFF_MAX");
    ck_assert_str_eq(output, "");
    free(output);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("actuator_settings");
    TCase *settings = tcase_create("settings");
    tcase_add_test(settings, test_actuator_settings_defaults);
    tcase_add_test(settings, test_actuator_settings_restart_url_is_required);
    tcase_add_test(settings, test_actuator_settings_restart_url_needs_placeholder_and_scheme);
    tcase_add_test(settings, test_actuator_settings_backoff_base_above_cap_is_rejected);
    tcase_add_test(settings, test_actuator_settings_flags_and_thresholds);
    tcase_add_test(settings, test_actuator_settings_bad_values_name_the_variable);
    tcase_add_test(settings, test_actuator_settings_check_config_masks_secrets);
    tcase_add_test(settings, test_actuator_settings_check_config_runs_actuator_validation);
    tcase_add_test(settings, test_actuator_settings_check_config_shows_proxies_without_credentials);
    tcase_add_test(settings, test_actuator_settings_cp_url_required_while_confirming);
    tcase_add_test(settings, test_actuator_settings_bad_cp_settings_name_the_variable);
    suite_add_tcase(suite, settings);

    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
