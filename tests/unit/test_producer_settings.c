/* Unit tests of reconciler-producer's settings table (producer/producer_settings.c): the
 * defaults an operator gets, the bounds that reject a bad value with a line naming the
 * variable, the derived defaults (deadline = interval, id = hostname-pid), and that
 * --check-config never shows the database password. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "producer_settings.h"

typedef struct {
    producer_settings settings;
    config_kafka_properties kafka;
    config_result result;
    char error[512];
} parsed;

/* Parses argv (NULL-terminated, without the program name) with `environment`. */
static parsed *parse(char **environment, const char *const *arguments)
{
    parsed *out = calloc(1, sizeof *out);
    ck_assert_ptr_nonnull(out);
    char *argv[32] = {"reconciler-producer"};
    int argc = 1;
    for (; arguments != NULL && arguments[argc - 1] != NULL; argc++) {
        argv[argc] = (char *)arguments[argc - 1];
    }
    out->result = config_parse_from(&producer_program, &out->settings, &out->kafka, argc, argv,
                                    environment, out->error, sizeof out->error, NULL);
    return out;
}

static void release(parsed *value)
{
    config_free(&producer_program, &value->settings, &value->kafka);
    free(value);
}

START_TEST(test_producer_settings_defaults)
{
    char *environment[] = {NULL};
    parsed *value = parse(environment, NULL);
    ck_assert_int_eq(value->result, CONFIG_RESULT_RUN);
    ck_assert_int_eq(value->settings.interval_ms, 60000);
    ck_assert_int_eq(value->settings.page_size, 1000);
    ck_assert_int_eq(value->settings.max_per_sweep, 0);
    ck_assert_int_eq(value->settings.deadline_ms, 0); /* unset until resolved */
    ck_assert_int_eq(value->settings.lock_key, 8243104023216089452LL);
    ck_assert_str_eq(value->settings.common.topic_checks, "reconciler.checks");
    ck_assert_str_eq(value->settings.common.metrics_address, "127.0.0.1:9101");

    producer_settings_resolve(&value->settings);
    ck_assert_int_eq(value->settings.deadline_ms, 60000);
    ck_assert_ptr_null(value->settings.producer_id); /* process_main fills the instance id */
    release(value);
}
END_TEST

START_TEST(test_producer_settings_explicit_values_win)
{
    char *environment[] = {"PRODUCER_INTERVAL=1s",       "PRODUCER_DEADLINE=30s",
                           "PRODUCER_PAGE_SIZE=250",     "PRODUCER_MAX_PER_SWEEP=1000",
                           "PRODUCER_LOCK_KEY=-42",      "PRODUCER_ID=producer-a",
                           "RECONCILER_TOPIC_CHECKS=t1", NULL};
    const char *arguments[] = {"--producer-max-per-sweep", "5000", "--kafka-prop", "linger.ms=20",
                               NULL};
    parsed *value = parse(environment, arguments);
    ck_assert_int_eq(value->result, CONFIG_RESULT_RUN);
    producer_settings_resolve(&value->settings);
    ck_assert_int_eq(value->settings.interval_ms, 1000);
    ck_assert_int_eq(value->settings.deadline_ms, 30000);
    ck_assert_int_eq(value->settings.page_size, 250);
    ck_assert_int_eq(value->settings.max_per_sweep, 5000); /* the flag wins */
    ck_assert_int_eq(value->settings.lock_key, -42);
    ck_assert_str_eq(value->settings.producer_id, "producer-a");
    ck_assert_str_eq(value->settings.common.topic_checks, "t1");
    ck_assert_uint_eq(value->kafka.count, 1);
    ck_assert_str_eq(value->kafka.items[0].name, "linger.ms");
    release(value);
}
END_TEST

START_TEST(test_producer_settings_bad_values_name_the_variable)
{
    static const struct {
        const char *assignment;
        const char *name;
    } cases[] = {
        {"PRODUCER_PAGE_SIZE=0", "PRODUCER_PAGE_SIZE"},
        {"PRODUCER_PAGE_SIZE=100001", "PRODUCER_PAGE_SIZE"},
        {"PRODUCER_MAX_PER_SWEEP=-1", "PRODUCER_MAX_PER_SWEEP"},
        {"PRODUCER_INTERVAL=abc", "PRODUCER_INTERVAL"},
        {"PRODUCER_INTERVAL=10ms", "PRODUCER_INTERVAL"},
        {"PRODUCER_DEADLINE=0", "PRODUCER_DEADLINE"},
        {"PRODUCER_LOCK_KEY=12x", "PRODUCER_LOCK_KEY"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *environment[] = {(char *)cases[i].assignment, NULL};
        parsed *value = parse(environment, NULL);
        ck_assert_int_eq(value->result, CONFIG_RESULT_EXIT_USAGE);
        ck_assert_msg(strstr(value->error, cases[i].name) != NULL, "%s: error '%s'",
                      cases[i].assignment, value->error);
        ck_assert_ptr_null(strchr(value->error, '\n'));
        release(value);
    }
}
END_TEST

START_TEST(test_producer_settings_check_config_masks_database_url)
{
    char *environment[] = {"DATABASE_URL=postgresql://reconciler:hunter2@db:5432/app", NULL};
    char *argv[] = {"reconciler-producer", "--check-config"};
    producer_settings settings;
    memset(&settings, 0, sizeof settings);
    config_kafka_properties kafka = {NULL, 0};
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    ck_assert_ptr_nonnull(out);
    char error[256] = "";
    config_result result = config_parse_with_output(&producer_program, &settings, &kafka, 2, argv,
                                                    environment, out, error, sizeof error, NULL);
    fclose(out);
    ck_assert_int_eq(result, CONFIG_RESULT_EXIT_OK);
    ck_assert_ptr_nonnull(strstr(text, "DATABASE_URL=<masked>"));
    ck_assert_ptr_nonnull(strstr(text, "PRODUCER_INTERVAL="));
    ck_assert_ptr_nonnull(strstr(text, "PRODUCER_MAX_PER_SWEEP=0"));
    ck_assert_ptr_null(strstr(text, "hunter2"));
    free(text);
    config_free(&producer_program, &settings, &kafka);
}
END_TEST

START_TEST(test_producer_settings_hint_endpoint_needs_a_real_token)
{
    char *defaults[] = {NULL};
    parsed *value = parse(defaults, NULL);
    ck_assert_int_eq(value->result, CONFIG_RESULT_RUN);
    ck_assert_str_eq(value->settings.hint_address, ""); /* off by default */
    ck_assert_int_eq(value->settings.heartbeat_stale_ms, 0);
    ck_assert_str_eq(value->settings.topic_urgent_checks, "reconciler.checks.urgent");
    release(value);

    char *no_token[] = {"PRODUCER_HINT_ADDR=127.0.0.1:9105", NULL};
    value = parse(no_token, NULL);
    ck_assert_int_eq(value->result, CONFIG_RESULT_EXIT_USAGE);
    ck_assert_ptr_nonnull(strstr(value->error, "PRODUCER_HINT_TOKEN"));
    release(value);

    char *short_token[] = {"PRODUCER_HINT_ADDR=127.0.0.1:9105", "PRODUCER_HINT_TOKEN=short", NULL};
    value = parse(short_token, NULL);
    ck_assert_int_eq(value->result, CONFIG_RESULT_EXIT_USAGE);
    ck_assert_ptr_null(strstr(value->error, "short")); /* a secret is never echoed */
    release(value);

    char *good[] = {"PRODUCER_HINT_ADDR=127.0.0.1:9105", "PRODUCER_HINT_TOKEN=0123456789abcdef",
                    NULL};
    value = parse(good, NULL);
    ck_assert_int_eq(value->result, CONFIG_RESULT_RUN);
    release(value);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("producer_settings");
    TCase *cases = tcase_create("settings");
    tcase_add_test(cases, test_producer_settings_defaults);
    tcase_add_test(cases, test_producer_settings_explicit_values_win);
    tcase_add_test(cases, test_producer_settings_bad_values_name_the_variable);
    tcase_add_test(cases, test_producer_settings_check_config_masks_database_url);
    tcase_add_test(cases, test_producer_settings_hint_endpoint_needs_a_real_token);
    suite_add_tcase(suite, cases);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
