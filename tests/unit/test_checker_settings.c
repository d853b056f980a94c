/* test_checker_settings.c — reconciler-checker's settings: defaults, the checks only the
 * checker can make (CP_URL, CHECKER_NOT_RUNNING_STATES, CP_CA_FILE), --check-config running
 * those checks too, and secrets masked in its output. */
#include "checker_settings.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    config_result result;
    char out[8192];
    char err[1024];
    checker_settings settings;
    config_kafka_properties kafka;
    cp_not_running_states states;
} load_outcome;

static void read_stream(FILE *stream, char *buffer, size_t size)
{
    rewind(stream);
    size_t length = fread(buffer, 1, size - 1, stream);
    buffer[length] = '\0';
    fclose(stream);
}

/* Runs checker_settings_load with `environment` and `arguments` (NULL-terminated). */
static void load(load_outcome *outcome, char **environment, char **arguments)
{
    memset(outcome, 0, sizeof *outcome);
    int argc = 0;
    char *argv[32] = {"reconciler-checker"};
    argc = 1;
    for (char **argument = arguments; argument != NULL && *argument != NULL; argument++)
        argv[argc++] = *argument;
    FILE *out = tmpfile();
    FILE *err = tmpfile();
    ck_assert_ptr_nonnull(out);
    ck_assert_ptr_nonnull(err);
    outcome->result = checker_settings_load(&outcome->settings, &outcome->kafka, &outcome->states,
                                            argc, argv, environment, out, err);
    read_stream(out, outcome->out, sizeof outcome->out);
    read_stream(err, outcome->err, sizeof outcome->err);
}

static void release(load_outcome *outcome)
{
    config_free(&checker_program, &outcome->settings, &outcome->kafka);
}

START_TEST(test_checker_settings_defaults)
{
    char *environment[] = {"CP_URL=http://cp:8080", NULL};
    load_outcome outcome;
    load(&outcome, environment, NULL);
    ck_assert_int_eq(outcome.result, CONFIG_RESULT_RUN);
    ck_assert_int_eq(outcome.settings.concurrency, 64);
    ck_assert_int_eq(outcome.settings.timeout_ms, 10000);
    ck_assert_int_eq(outcome.settings.max_rps, 0);
    ck_assert_str_eq(outcome.settings.group_id, "reconciler-checker");
    ck_assert_str_eq(outcome.settings.common.metrics_address, "127.0.0.1:9102");
    ck_assert_str_eq(outcome.settings.common.topic_checks, "reconciler.checks");
    ck_assert_int_eq(outcome.states.count, 4);
    ck_assert(outcome.settings.cp.shared_secret == NULL ||
              outcome.settings.cp.shared_secret[0] == '\0');
    release(&outcome);
}
END_TEST

START_TEST(test_checker_settings_cp_url_is_required)
{
    char *environment[] = {NULL};
    load_outcome outcome;
    load(&outcome, environment, NULL);
    ck_assert_int_eq(outcome.result, CONFIG_RESULT_EXIT_USAGE);
    ck_assert_ptr_nonnull(strstr(outcome.err, "CP_URL"));
}
END_TEST

START_TEST(test_checker_settings_reject_non_http_cp_url)
{
    char *environment[] = {"CP_URL=ftp://cp", NULL};
    load_outcome outcome;
    load(&outcome, environment, NULL);
    ck_assert_int_eq(outcome.result, CONFIG_RESULT_EXIT_USAGE);
    ck_assert_ptr_nonnull(strstr(outcome.err, "reconciler-checker: CP_URL:"));
    /* One line. */
    ck_assert_ptr_eq(strchr(outcome.err, '\n'), outcome.err + strlen(outcome.err) - 1);
}
END_TEST

START_TEST(test_checker_settings_check_config_runs_checker_validation)
{
    char *environment[] = {"CP_URL=http://cp", "CHECKER_NOT_RUNNING_STATES=stopped,running", NULL};
    char *arguments[] = {"--check-config", NULL};
    load_outcome outcome;
    load(&outcome, environment, arguments);
    ck_assert_int_eq(outcome.result, CONFIG_RESULT_EXIT_USAGE);
    ck_assert_ptr_nonnull(strstr(outcome.err, "CHECKER_NOT_RUNNING_STATES"));
    ck_assert_str_eq(outcome.out, "");
}
END_TEST

START_TEST(test_checker_settings_check_config_masks_secrets)
{
    char *environment[] = {"CP_URL=https://cp", "CP_SHARED_SECRET=very-secret-1",
                           "CP_ADMIN_TOKEN=very-secret-2", NULL};
    char *arguments[] = {"--check-config", "--checker-concurrency", "128", NULL};
    load_outcome outcome;
    load(&outcome, environment, arguments);
    ck_assert_int_eq(outcome.result, CONFIG_RESULT_EXIT_OK);
    ck_assert_ptr_null(strstr(outcome.out, "very-secret"));
    ck_assert_ptr_nonnull(strstr(outcome.out, "CP_SHARED_SECRET=<masked>"));
    ck_assert_ptr_nonnull(strstr(outcome.out, "CP_ADMIN_TOKEN=<masked>"));
    ck_assert_ptr_nonnull(strstr(outcome.out, "CHECKER_CONCURRENCY=128"));
    ck_assert_ptr_nonnull(strstr(outcome.out, "CP_URL=https://cp"));
    /* No proxy configured: stated, not implied. */
    ck_assert_ptr_nonnull(strstr(outcome.out, "\nCP_PROXY=none\n"));
}
END_TEST

START_TEST(test_checker_settings_check_config_shows_the_proxy_without_its_password)
{
    char *environment[] = {"CP_URL=https://cp", "CP_PROXY=http://ops:proxy-pass-1@squid:3128",
                           NULL};
    char *arguments[] = {"--check-config", NULL};
    load_outcome outcome;
    load(&outcome, environment, arguments);
    ck_assert_int_eq(outcome.result, CONFIG_RESULT_EXIT_OK);
    ck_assert_ptr_nonnull(strstr(outcome.out, "\nCP_PROXY=http://<masked>@squid:3128\n"));
    ck_assert_ptr_null(strstr(outcome.out, "proxy-pass-1"));
}
END_TEST

START_TEST(test_checker_settings_bad_values_name_the_variable)
{
    static const char *const cases[][2] = {
        {"CHECKER_CONCURRENCY=0", "CHECKER_CONCURRENCY"},
        {"CHECKER_CONCURRENCY=abc", "CHECKER_CONCURRENCY"},
        {"CHECKER_TIMEOUT=10x", "CHECKER_TIMEOUT"},
        {"CHECKER_MAX_RPS=-1", "CHECKER_MAX_RPS"},
        {"CHECKER_NOT_RUNNING_STATES=", "CHECKER_NOT_RUNNING_STATES"},
        {"CP_CA_FILE=/nonexistent/ca.pem", "CP_CA_FILE"},
        {"CP_PROXY=proxy.internal:3128", "CP_PROXY"},
        {"CP_PROXY=ftp://proxy.internal:21", "CP_PROXY"},
    };
    for (size_t index = 0; index < sizeof cases / sizeof cases[0]; index++) {
        char *environment[] = {"CP_URL=http://cp", (char *)cases[index][0], NULL};
        load_outcome outcome;
        load(&outcome, environment, NULL);
        ck_assert_msg(outcome.result == CONFIG_RESULT_EXIT_USAGE, "accepted %s", cases[index][0]);
        ck_assert_msg(strstr(outcome.err, cases[index][1]) != NULL, "%s: %s", cases[index][0],
                      outcome.err);
    }
}
END_TEST

START_TEST(test_checker_settings_help_and_version_skip_validation)
{
    char *environment[] = {"CP_URL=ftp://bad", NULL};
    char *help[] = {"--check-config", "--help", NULL};
    load_outcome outcome;
    load(&outcome, environment, help);
    ck_assert_int_eq(outcome.result, CONFIG_RESULT_EXIT_OK);
    ck_assert_ptr_nonnull(strstr(outcome.out, "CHECKER_CONCURRENCY"));
    char *version[] = {"--version", NULL};
    load(&outcome, environment, version);
    ck_assert_int_eq(outcome.result, CONFIG_RESULT_EXIT_OK);
    ck_assert_ptr_nonnull(strstr(outcome.out, "reconciler-checker"));
}
END_TEST

int main(void)
{
    const TTest *tests[] = {
        test_checker_settings_defaults,
        test_checker_settings_cp_url_is_required,
        test_checker_settings_reject_non_http_cp_url,
        test_checker_settings_check_config_runs_checker_validation,
        test_checker_settings_check_config_masks_secrets,
        test_checker_settings_check_config_shows_the_proxy_without_its_password,
        test_checker_settings_bad_values_name_the_variable,
        test_checker_settings_help_and_version_skip_validation,
    };
    Suite *suite = suite_create("checker_settings");
    TCase *cases = tcase_create("core");
    for (size_t index = 0; index < sizeof tests / sizeof tests[0]; index++)
        tcase_add_test(cases, tests[index]);
    suite_add_tcase(suite, cases);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
