/* test_config.c — settings from defaults, environment and flags (docs/contracts.md §7).
 *
 * A test program's table covers every value type and the shared settings; each test feeds it
 * an argv and an environment through config_parse_from / config_parse_with_output. */
#include "config.h"
#include "kafka_properties.h"

#include "log.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    common_settings common;
    char *cp_url;
    char *cp_shared_secret;
    int64_t check_timeout_ms;
    bool dry_run;
    int64_t concurrency;
    config_threshold max_flips;
    int64_t secret_pin;
    char *note;
} test_settings;

static const config_setting test_table[] = {
    COMMON_SETTINGS(test_settings, common),
    COMMON_SETTING_METRICS_ADDR(test_settings, common, CONFIG_METRICS_ADDR_CHECKER),
    {.env_name = "CP_URL",
     .type = CONFIG_TYPE_STRING,
     .offset = offsetof(test_settings, cp_url),
     .required = true,
     .help = "base URL of the control plane"},
    {.env_name = "CP_SHARED_SECRET",
     .type = CONFIG_TYPE_STRING,
     .offset = offsetof(test_settings, cp_shared_secret),
     .secret = true,
     .help = "bearer token"},
    {.env_name = "CHECK_TIMEOUT",
     .type = CONFIG_TYPE_DURATION,
     .offset = offsetof(test_settings, check_timeout_ms),
     .default_text = "10s",
     .minimum = 100,
     .maximum = 60000,
     .help = "per-request timeout"},
    {.env_name = "DRY_RUN",
     .type = CONFIG_TYPE_BOOL,
     .offset = offsetof(test_settings, dry_run),
     .default_text = "false",
     .help = "decide but do not act"},
    {.env_name = "CHECKER_CONCURRENCY",
     .type = CONFIG_TYPE_INTEGER,
     .offset = offsetof(test_settings, concurrency),
     .default_text = "64",
     .minimum = 1,
     .maximum = 4096,
     .help = "requests in flight"},
    {.env_name = "MAX_FLIPS",
     .type = CONFIG_TYPE_THRESHOLD,
     .offset = offsetof(test_settings, max_flips),
     .default_text = "20%",
     .help = "flip budget per sweep"},
    {.env_name = "SECRET_PIN",
     .type = CONFIG_TYPE_INTEGER,
     .offset = offsetof(test_settings, secret_pin),
     .secret = true,
     .minimum = 1000,
     .maximum = 9999,
     .help = "a secret that must parse"},
    {.env_name = "NOTE",
     .type = CONFIG_TYPE_STRING,
     .offset = offsetof(test_settings, note),
     .help = "optional free text"},
};

static const config_program test_program = {
    .program_name = "test-prog",
    .summary = "A program that exists only in this test.",
    .examples = "  CP_URL=http://cp:8080 test-prog --dry-run\n",
    .settings = test_table,
    .setting_count = sizeof test_table / sizeof test_table[0],
    .accepts_kafka_properties = true,
};

/* What the validate hook below saw on its last call, and how often it ran. */
static int hook_calls;
static size_t hook_kafka_count;

/* A rule across two settings, of the kind a table row cannot express: a dry run is for
 * trying things out, so it refuses more than 100 requests in flight. */
static bool reject_busy_dry_run(void *parsed, const config_kafka_properties *kafka_properties,
                                char *error_buffer, size_t error_size)
{
    const test_settings *values = parsed;
    hook_calls++;
    hook_kafka_count = kafka_properties != NULL ? kafka_properties->count : 0;
    if (values->dry_run && values->concurrency > 100) {
        snprintf(error_buffer, error_size,
                 "test-prog: CHECKER_CONCURRENCY: at most 100 with DRY_RUN, got %lld",
                 (long long)values->concurrency);
        return false;
    }
    return true;
}

/* A hook that says no without saying why, and one whose reason spans two lines. */
static bool reject_silently(void *parsed, const config_kafka_properties *kafka_properties,
                            char *error_buffer, size_t error_size)
{
    (void)parsed;
    (void)kafka_properties;
    (void)error_buffer;
    (void)error_size;
    return false;
}

static bool reject_in_two_lines(void *parsed, const config_kafka_properties *kafka_properties,
                                char *error_buffer, size_t error_size)
{
    (void)parsed;
    (void)kafka_properties;
    snprintf(error_buffer, error_size, "test-prog: NOTE: first line\nsecond line");
    return false;
}

/* test_program with a validate hook (the same table, so reset() frees it alike). */
#define HOOKED_PROGRAM(hook)                                                                       \
    {                                                                                              \
        .program_name = "test-prog", .summary = "test_program with a validate hook",               \
        .settings = test_table, .setting_count = sizeof test_table / sizeof test_table[0],         \
        .accepts_kafka_properties = true, .validate = (hook)                                       \
    }
static const config_program hooked_program = HOOKED_PROGRAM(reject_busy_dry_run);
static const config_program silent_program = HOOKED_PROGRAM(reject_silently);
static const config_program two_line_program = HOOKED_PROGRAM(reject_in_two_lines);

#define ARGV(...) ((char *[]){"test-prog", __VA_ARGS__, NULL})
#define NO_ARGS ((char *[]){"test-prog", NULL})
#define ENV(...) ((char *[]){__VA_ARGS__, NULL})
#define MINIMAL_ENV ENV("CP_URL=http://cp:8080")

static test_settings settings;
static config_kafka_properties kafka;
static char error[512];

static void reset(void)
{
    config_free(&test_program, &settings, &kafka);
    memset(&settings, 0, sizeof settings);
    memset(&kafka, 0, sizeof kafka);
    memset(error, 0, sizeof error);
}

static int count_args(char **argv)
{
    int argc = 0;
    while (argv[argc] != NULL) {
        argc++;
    }
    return argc;
}

static config_result parse_program(const config_program *program, char **argv, char **environment)
{
    reset();
    return config_parse_from(program, &settings, &kafka, count_args(argv), argv, environment, error,
                             sizeof error, NULL);
}

static config_result parse(char **argv, char **environment)
{
    return parse_program(&test_program, argv, environment);
}

/* Parses with --help/--version/--check-config output captured into a malloc'd string. */
static config_result parse_program_with_output(const config_program *program, char **argv,
                                               char **environment, char **output)
{
    reset();
    size_t length = 0;
    FILE *out = open_memstream(output, &length);
    ck_assert_ptr_nonnull(out);
    config_result result =
        config_parse_with_output(program, &settings, &kafka, count_args(argv), argv, environment,
                                 out, error, sizeof error, NULL);
    fclose(out);
    return result;
}

static config_result parse_with_output(char **argv, char **environment, char **output)
{
    return parse_program_with_output(&test_program, argv, environment, output);
}

static void assert_error_names(const char *variable)
{
    char prefix[128];
    snprintf(prefix, sizeof prefix, "test-prog: %s: ", variable);
    ck_assert_msg(strncmp(error, prefix, strlen(prefix)) == 0, "error '%s' does not start '%s'",
                  error, prefix);
    ck_assert_msg(strchr(error, '\n') == NULL, "error is not one line: '%s'", error);
}

/* After a result other than RUN: the settings' strings and the Kafka list are freed. */
static void assert_nothing_allocated(void)
{
    ck_assert_ptr_null(settings.cp_url);
    ck_assert_ptr_null(settings.note);
    ck_assert_ptr_null(settings.common.database_url);
    ck_assert_ptr_null(kafka.items);
    ck_assert_uint_eq(kafka.count, 0);
}

static void teardown(void)
{
    reset();
}

START_TEST(test_config_defaults_apply_when_nothing_is_set)
{
    ck_assert_int_eq(parse(NO_ARGS, MINIMAL_ENV), CONFIG_RESULT_RUN);
    ck_assert_str_eq(settings.cp_url, "http://cp:8080");
    ck_assert_ptr_null(settings.cp_shared_secret); /* optional, no default: unset */
    ck_assert_int_eq(settings.check_timeout_ms, 10000);
    ck_assert(!settings.dry_run);
    ck_assert_int_eq(settings.concurrency, 64);
    ck_assert(settings.max_flips.is_percent);
    ck_assert_double_eq(settings.max_flips.value, 20.0);
    ck_assert_int_eq(settings.secret_pin, 0);
    ck_assert_ptr_null(settings.note);
}
END_TEST

START_TEST(test_config_common_settings_have_contract_names_and_defaults)
{
    ck_assert_int_eq(parse(NO_ARGS, MINIMAL_ENV), CONFIG_RESULT_RUN);
    ck_assert_str_eq(settings.common.kafka_bootstrap_servers, "127.0.0.1:9092");
    ck_assert_str_eq(settings.common.database_url,
                     "postgresql://reconciler@127.0.0.1:5432/reconciler");
    ck_assert_str_eq(settings.common.topic_checks, "reconciler.checks");
    ck_assert_str_eq(settings.common.topic_verdicts, "reconciler.verdicts");
    ck_assert_str_eq(settings.common.topic_actions, "reconciler.actions");
    ck_assert_str_eq(settings.common.topic_dlq, "reconciler.dlq");
    ck_assert_int_eq(settings.common.log_level, LOG_LEVEL_INFO);
    ck_assert_str_eq(settings.common.metrics_address, "127.0.0.1:9102");

    ck_assert_int_eq(
        parse(ARGV("--kafka-bootstrap-servers", "k1:9092,k2:9092", "--reconciler-topic-dlq=my.dlq",
                   "--log-level", "debug", "--metrics-addr", "[::1]:0"),
              ENV("CP_URL=x", "DATABASE_URL=postgresql://db/x", "RECONCILER_TOPIC_CHECKS=c",
                  "LOG_LEVEL=error")),
        CONFIG_RESULT_RUN);
    ck_assert_str_eq(settings.common.kafka_bootstrap_servers, "k1:9092,k2:9092");
    ck_assert_str_eq(settings.common.database_url, "postgresql://db/x");
    ck_assert_str_eq(settings.common.topic_checks, "c");
    ck_assert_str_eq(settings.common.topic_dlq, "my.dlq");
    ck_assert_int_eq(settings.common.log_level, LOG_LEVEL_DEBUG);
    ck_assert_str_eq(settings.common.metrics_address, "[::1]:0");
}
END_TEST

START_TEST(test_config_environment_overrides_default)
{
    ck_assert_int_eq(parse(NO_ARGS, ENV("CP_URL=u", "CHECK_TIMEOUT=500ms", "DRY_RUN=1",
                                        "CHECKER_CONCURRENCY=8", "MAX_FLIPS=50")),
                     CONFIG_RESULT_RUN);
    ck_assert_int_eq(settings.check_timeout_ms, 500);
    ck_assert(settings.dry_run);
    ck_assert_int_eq(settings.concurrency, 8);
    ck_assert(!settings.max_flips.is_percent);
    ck_assert_double_eq(settings.max_flips.value, 50.0);
}
END_TEST

START_TEST(test_config_flag_overrides_environment_in_both_spellings)
{
    ck_assert_int_eq(parse(ARGV("--check-timeout", "5s", "--checker-concurrency=9"),
                           ENV("CP_URL=u", "CHECK_TIMEOUT=1s", "CHECKER_CONCURRENCY=2")),
                     CONFIG_RESULT_RUN);
    ck_assert_int_eq(settings.check_timeout_ms, 5000);
    ck_assert_int_eq(settings.concurrency, 9);
}
END_TEST

START_TEST(test_config_flag_overriding_a_bad_variable_wins)
{
    ck_assert_int_eq(parse(ARGV("--check-timeout=2s"), ENV("CP_URL=u", "CHECK_TIMEOUT=junk")),
                     CONFIG_RESULT_RUN);
    ck_assert_int_eq(settings.check_timeout_ms, 2000);
}
END_TEST

START_TEST(test_config_bad_duration_names_variable)
{
    ck_assert_int_eq(parse(NO_ARGS, ENV("CP_URL=u", "CHECK_TIMEOUT=abc")),
                     CONFIG_RESULT_EXIT_USAGE);
    assert_error_names("CHECK_TIMEOUT");
    ck_assert_ptr_nonnull(strstr(error, "duration"));
    ck_assert_ptr_nonnull(strstr(error, "'abc'"));

    /* The same through the flag still names the variable. */
    ck_assert_int_eq(parse(ARGV("--check-timeout", "1.5s"), MINIMAL_ENV), CONFIG_RESULT_EXIT_USAGE);
    assert_error_names("CHECK_TIMEOUT");
}
END_TEST

START_TEST(test_config_duration_outside_bounds_is_rejected)
{
    ck_assert_int_eq(parse(ARGV("--check-timeout=99ms"), MINIMAL_ENV), CONFIG_RESULT_EXIT_USAGE);
    assert_error_names("CHECK_TIMEOUT");
    ck_assert_ptr_nonnull(strstr(error, "[100ms, 1m]"));
    ck_assert_int_eq(parse(ARGV("--check-timeout=61s"), MINIMAL_ENV), CONFIG_RESULT_EXIT_USAGE);
    ck_assert_int_eq(parse(ARGV("--check-timeout=1m"), MINIMAL_ENV), CONFIG_RESULT_RUN);
    ck_assert_int_eq(settings.check_timeout_ms, 60000);
}
END_TEST

START_TEST(test_config_bool_accepts_only_true_false_1_0)
{
    static const struct {
        const char *text;
        bool value;
    } accepted[] = {{"true", true}, {"1", true}, {"false", false}, {"0", false}};
    for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++) {
        char variable[64];
        snprintf(variable, sizeof variable, "DRY_RUN=%s", accepted[i].text);
        ck_assert_int_eq(parse(NO_ARGS, ENV("CP_URL=u", variable)), CONFIG_RESULT_RUN);
        ck_assert(settings.dry_run == accepted[i].value);
    }
    static const char *const rejected[] = {"yes", "no", "TRUE", "True", "2", "on", ""};
    for (size_t i = 0; i < sizeof rejected / sizeof rejected[0]; i++) {
        char variable[64];
        snprintf(variable, sizeof variable, "DRY_RUN=%s", rejected[i]);
        ck_assert_msg(parse(NO_ARGS, ENV("CP_URL=u", variable)) == CONFIG_RESULT_EXIT_USAGE,
                      "accepted DRY_RUN='%s'", rejected[i]);
        assert_error_names("DRY_RUN");
    }
}
END_TEST

START_TEST(test_config_bare_bool_flag_means_true_and_takes_an_explicit_value)
{
    ck_assert_int_eq(parse(ARGV("--dry-run"), MINIMAL_ENV), CONFIG_RESULT_RUN);
    ck_assert(settings.dry_run);
    ck_assert_int_eq(parse(ARGV("--dry-run", "--checker-concurrency", "3"), MINIMAL_ENV),
                     CONFIG_RESULT_RUN);
    ck_assert(settings.dry_run);
    ck_assert_int_eq(settings.concurrency, 3);
    ck_assert_int_eq(parse(ARGV("--dry-run", "false"), ENV("CP_URL=u", "DRY_RUN=true")),
                     CONFIG_RESULT_RUN);
    ck_assert(!settings.dry_run);
    ck_assert_int_eq(parse(ARGV("--dry-run=0"), ENV("CP_URL=u", "DRY_RUN=true")),
                     CONFIG_RESULT_RUN);
    ck_assert(!settings.dry_run);
    ck_assert_int_eq(parse(ARGV("--dry-run=yes"), MINIMAL_ENV), CONFIG_RESULT_EXIT_USAGE);
    assert_error_names("DRY_RUN");
}
END_TEST

START_TEST(test_config_integer_outside_bounds_or_garbage_is_rejected)
{
    static const char *const rejected[] = {
        "0", "4097", "12abc", "+5", " 5", "5 ", "0x10", "1e3", "-1", "99999999999999999999", ""};
    for (size_t i = 0; i < sizeof rejected / sizeof rejected[0]; i++) {
        char variable[64];
        snprintf(variable, sizeof variable, "CHECKER_CONCURRENCY=%s", rejected[i]);
        ck_assert_msg(parse(NO_ARGS, ENV("CP_URL=u", variable)) == CONFIG_RESULT_EXIT_USAGE,
                      "accepted '%s'", rejected[i]);
        assert_error_names("CHECKER_CONCURRENCY");
    }
    ck_assert_int_eq(parse(NO_ARGS, ENV("CP_URL=u", "CHECKER_CONCURRENCY=abc")),
                     CONFIG_RESULT_EXIT_USAGE);
    ck_assert_str_eq(error, "test-prog: CHECKER_CONCURRENCY: expected an integer in [1, 4096], "
                            "got 'abc'");
    ck_assert_int_eq(parse(NO_ARGS, ENV("CP_URL=u", "CHECKER_CONCURRENCY=4096")),
                     CONFIG_RESULT_RUN);
    ck_assert_int_eq(settings.concurrency, 4096);
}
END_TEST

START_TEST(test_config_threshold_accepts_counts_and_percentages)
{
    static const struct {
        const char *text;
        bool is_percent;
        double value;
    } accepted[] = {{"50", false, 50}, {"0", false, 0},     {"20%", true, 20},
                    {"0%", true, 0},   {"100%", true, 100}, {"12.5%", true, 12.5}};
    for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++) {
        char variable[64];
        snprintf(variable, sizeof variable, "MAX_FLIPS=%s", accepted[i].text);
        ck_assert_msg(parse(NO_ARGS, ENV("CP_URL=u", variable)) == CONFIG_RESULT_RUN,
                      "rejected '%s': %s", accepted[i].text, error);
        ck_assert(settings.max_flips.is_percent == accepted[i].is_percent);
        ck_assert_double_eq(settings.max_flips.value, accepted[i].value);
    }
}
END_TEST

START_TEST(test_config_threshold_rejects_negative_over_100_percent_and_garbage)
{
    static const char *const rejected[] = {"-5",   "-1%",  "101%", "100.1%", "abc", "5.5",
                                           "%",    "20%%", "1e2%", "0x10%",  " 5",  "5 %",
                                           "nan%", "inf%", ".5%",  "",       "+5"};
    for (size_t i = 0; i < sizeof rejected / sizeof rejected[0]; i++) {
        char variable[64];
        snprintf(variable, sizeof variable, "MAX_FLIPS=%s", rejected[i]);
        ck_assert_msg(parse(NO_ARGS, ENV("CP_URL=u", variable)) == CONFIG_RESULT_EXIT_USAGE,
                      "accepted '%s'", rejected[i]);
        assert_error_names("MAX_FLIPS");
    }
}
END_TEST

START_TEST(test_config_threshold_resolve_rounds_percentages_down)
{
    config_threshold twenty_percent = {.is_percent = true, .value = 20};
    ck_assert_int_eq(config_threshold_resolve(twenty_percent, 7), 1);
    ck_assert_int_eq(config_threshold_resolve(twenty_percent, 100), 20);
    ck_assert_int_eq(config_threshold_resolve(twenty_percent, 0), 0);
    config_threshold ten_percent = {.is_percent = true, .value = 10};
    ck_assert_int_eq(config_threshold_resolve(ten_percent, 30), 3);
    config_threshold all = {.is_percent = true, .value = 100};
    ck_assert_int_eq(config_threshold_resolve(all, 12345), 12345);
    config_threshold fifty = {.is_percent = false, .value = 50};
    ck_assert_int_eq(config_threshold_resolve(fifty, 7), 50);
}
END_TEST

START_TEST(test_config_unknown_flag_is_usage_error_naming_it)
{
    ck_assert_int_eq(parse(ARGV("--no-such-flag", "1"), MINIMAL_ENV), CONFIG_RESULT_EXIT_USAGE);
    ck_assert_str_eq(error, "test-prog: --no-such-flag: unknown flag (see --help)");
    ck_assert_int_eq(parse(ARGV("-x"), MINIMAL_ENV), CONFIG_RESULT_EXIT_USAGE);
    ck_assert_ptr_nonnull(strstr(error, "-x"));
}
END_TEST

START_TEST(test_config_unknown_flag_error_never_echoes_its_value)
{
    ck_assert_int_eq(parse(ARGV("--cp-shared-secrett=hunter2"), MINIMAL_ENV),
                     CONFIG_RESULT_EXIT_USAGE);
    ck_assert_ptr_nonnull(strstr(error, "--cp-shared-secrett"));
    ck_assert_ptr_null(strstr(error, "hunter2"));
}
END_TEST

START_TEST(test_config_flag_without_value_is_usage_error)
{
    ck_assert_int_eq(parse(ARGV("--check-timeout"), MINIMAL_ENV), CONFIG_RESULT_EXIT_USAGE);
    assert_error_names("CHECK_TIMEOUT");
    ck_assert_ptr_nonnull(strstr(error, "--check-timeout needs a value"));
}
END_TEST

START_TEST(test_config_required_setting_unset_or_empty_names_variable)
{
    ck_assert_int_eq(parse(NO_ARGS, ENV("OTHER=1")), CONFIG_RESULT_EXIT_USAGE);
    ck_assert_str_eq(error, "test-prog: CP_URL: required but not set");
    ck_assert_int_eq(parse(NO_ARGS, ENV("CP_URL=")), CONFIG_RESULT_EXIT_USAGE);
    assert_error_names("CP_URL");
    ck_assert_int_eq(parse(ARGV("--kafka-bootstrap-servers="), MINIMAL_ENV),
                     CONFIG_RESULT_EXIT_USAGE);
    assert_error_names("KAFKA_BOOTSTRAP_SERVERS");
}
END_TEST

START_TEST(test_config_empty_optional_string_is_kept_and_empty_number_rejected)
{
    ck_assert_int_eq(parse(NO_ARGS, ENV("CP_URL=u", "NOTE=")), CONFIG_RESULT_RUN);
    ck_assert_str_eq(settings.note, "");
    ck_assert_int_eq(parse(NO_ARGS, ENV("CP_URL=u", "CHECK_TIMEOUT=")), CONFIG_RESULT_EXIT_USAGE);
    assert_error_names("CHECK_TIMEOUT");
}
END_TEST

START_TEST(test_config_secret_bad_value_is_never_echoed)
{
    ck_assert_int_eq(parse(NO_ARGS, ENV("CP_URL=u", "SECRET_PIN=hunter2")),
                     CONFIG_RESULT_EXIT_USAGE);
    assert_error_names("SECRET_PIN");
    ck_assert_ptr_nonnull(strstr(error, "invalid value"));
    ck_assert_ptr_null(strstr(error, "hunter2"));
}
END_TEST

START_TEST(test_config_error_stays_one_line_whatever_the_value)
{
    ck_assert_int_eq(parse(NO_ARGS, ENV("CP_URL=u", "CHECK_TIMEOUT=1s\nINJECTED: yes")),
                     CONFIG_RESULT_EXIT_USAGE);
    assert_error_names("CHECK_TIMEOUT");
}
END_TEST

START_TEST(test_config_unknown_kafka_property_is_a_usage_error_naming_it)
{
    ck_assert_int_eq(parse(ARGV("--kafka-prop", "security.protocl=SSL"), ENV("CP_URL=http://cp")),
                     CONFIG_RESULT_EXIT_USAGE);
    ck_assert_ptr_nonnull(strstr(error, "security.protocl"));
    ck_assert_int_eq(parse(ARGV(NULL), ENV("CP_URL=http://cp", "RECONCILER_KAFKA_LINGER_MS=soon")),
                     CONFIG_RESULT_EXIT_USAGE);
    ck_assert_ptr_nonnull(strstr(error, "linger.ms"));
}
END_TEST

START_TEST(test_config_invalid_secret_kafka_property_error_hides_its_value)
{
    /* librdkafka rejects the unknown name; the name looks secret, so its value stays out. */
    ck_assert_int_eq(parse(ARGV("--kafka-prop", "bogus.password=hunter2"), ENV("CP_URL=http://cp")),
                     CONFIG_RESULT_EXIT_USAGE);
    ck_assert_ptr_nonnull(strstr(error, "bogus.password"));
    ck_assert_ptr_null(strstr(error, "hunter2"));
}
END_TEST

START_TEST(test_config_check_config_prints_effective_config_with_secrets_masked)
{
    char *output = NULL;
    config_result result = parse_with_output(
        ARGV("--check-config", "--kafka-prop", "sasl.password=kafkapass", "--kafka-prop=acks=all"),
        ENV("CP_URL=http://cp:8080", "CP_SHARED_SECRET=topsecret",
            "DATABASE_URL=postgresql://u:hunter2@db:5432/x", "SECRET_PIN=1234",
            "RECONCILER_KAFKA_SSL_KEY_PASSWORD=key-secret"),
        &output);
    ck_assert_int_eq(result, CONFIG_RESULT_EXIT_OK);
    ck_assert_ptr_nonnull(strstr(output, "CP_URL=http://cp:8080\n"));
    ck_assert_ptr_nonnull(strstr(output, "CP_SHARED_SECRET=<masked>\n"));
    ck_assert_ptr_nonnull(strstr(output, "DATABASE_URL=<masked>\n"));
    ck_assert_ptr_nonnull(strstr(output, "SECRET_PIN=<masked>\n"));
    ck_assert_ptr_nonnull(strstr(output, "CHECK_TIMEOUT=10s\n"));
    ck_assert_ptr_nonnull(strstr(output, "DRY_RUN=false\n"));
    ck_assert_ptr_nonnull(strstr(output, "CHECKER_CONCURRENCY=64\n"));
    ck_assert_ptr_nonnull(strstr(output, "MAX_FLIPS=20%\n"));
    ck_assert_ptr_nonnull(strstr(output, "LOG_LEVEL=info\n"));
    ck_assert_ptr_nonnull(strstr(output, "NOTE=\n"));
    ck_assert_ptr_nonnull(strstr(output, "kafka:sasl.password=<masked>\n"));
    ck_assert_ptr_nonnull(strstr(output, "kafka:ssl.key.password=<masked>\n"));
    ck_assert_ptr_nonnull(strstr(output, "kafka:acks=all\n"));
    ck_assert_ptr_null(strstr(output, "topsecret"));
    ck_assert_ptr_null(strstr(output, "hunter2"));
    ck_assert_ptr_null(strstr(output, "kafkapass"));
    ck_assert_ptr_null(strstr(output, "key-secret"));
    ck_assert_ptr_null(strstr(output, "1234"));
    free(output);
    /* EXIT_OK leaves nothing allocated behind. */
    ck_assert_ptr_null(settings.cp_url);
    ck_assert_ptr_null(kafka.items);
}
END_TEST

START_TEST(test_config_check_config_with_bad_value_is_usage_error)
{
    char *output = NULL;
    ck_assert_int_eq(parse_with_output(ARGV("--check-config"),
                                       ENV("CP_URL=u", "CHECKER_CONCURRENCY=0"), &output),
                     CONFIG_RESULT_EXIT_USAGE);
    assert_error_names("CHECKER_CONCURRENCY");
    ck_assert_str_eq(output, "");
    free(output);
}
END_TEST

START_TEST(test_config_help_lists_every_setting_with_flag_default_and_help)
{
    char *output = NULL;
    /* --help works even when the configuration is invalid: it is how one finds out why. */
    ck_assert_int_eq(parse_with_output(ARGV("--help"), ENV("CHECKER_CONCURRENCY=junk"), &output),
                     CONFIG_RESULT_EXIT_OK);
    ck_assert_ptr_nonnull(strstr(output, test_program.summary));
    for (size_t i = 0; i < test_program.setting_count; i++) {
        const config_setting *setting = &test_program.settings[i];
        ck_assert_msg(strstr(output, setting->env_name) != NULL, "no %s", setting->env_name);
        ck_assert_msg(strstr(output, setting->help) != NULL, "no help for %s", setting->env_name);
        if (setting->default_text != NULL) {
            char line[256];
            snprintf(line, sizeof line, "default: %s", setting->default_text);
            ck_assert_msg(strstr(output, line) != NULL, "no default for %s", setting->env_name);
        }
    }
    ck_assert_ptr_nonnull(strstr(output, "CHECKER_CONCURRENCY, --checker-concurrency"));
    ck_assert_ptr_nonnull(strstr(output, "KAFKA_BOOTSTRAP_SERVERS, --kafka-bootstrap-servers"));
    ck_assert_ptr_nonnull(strstr(output, "--kafka-prop name=value"));
    ck_assert_ptr_nonnull(strstr(output, "RECONCILER_KAFKA_<NAME>"));
    ck_assert_ptr_nonnull(strstr(output, "--check-config"));
    ck_assert_ptr_nonnull(strstr(output, "--version"));
    const char *examples = strstr(output, "Examples:");
    ck_assert_ptr_nonnull(examples);
    ck_assert_ptr_nonnull(strstr(examples, test_program.examples));
    /* Settings come before the Kafka section, which comes before the examples. */
    ck_assert(strstr(output, "CP_URL") < strstr(output, "--kafka-prop"));
    ck_assert(strstr(output, "--kafka-prop") < examples);
    free(output);

    ck_assert_int_eq(parse_with_output(ARGV("-h"), ENV("X=1"), &output), CONFIG_RESULT_EXIT_OK);
    ck_assert_ptr_nonnull(strstr(output, "CHECK_TIMEOUT"));
    free(output);
}
END_TEST

START_TEST(test_config_version_prints_program_and_version)
{
    char *output = NULL;
    ck_assert_int_eq(parse_with_output(ARGV("--version"), ENV("X=1"), &output),
                     CONFIG_RESULT_EXIT_OK);
    ck_assert_str_eq(output, "test-prog " RECONCILER_VERSION "\n");
    free(output);
}
END_TEST

START_TEST(test_config_kafka_variables_become_dotted_lowercase_properties)
{
    ck_assert_int_eq(parse(NO_ARGS, ENV("CP_URL=u", "RECONCILER_KAFKA_SECURITY_PROTOCOL=SASL_SSL",
                                        "RECONCILER_KAFKA_SASL_MECHANISM=PLAIN")),
                     CONFIG_RESULT_RUN);
    ck_assert_uint_eq(kafka.count, 2);
    /* In name order, whatever the environment's order. */
    ck_assert_str_eq(kafka.items[0].name, "sasl.mechanism");
    ck_assert_str_eq(kafka.items[0].value, "PLAIN");
    ck_assert_str_eq(kafka.items[1].name, "security.protocol");
    ck_assert_str_eq(kafka.items[1].value, "SASL_SSL");
}
END_TEST

START_TEST(test_config_kafka_prop_flag_is_repeatable_and_wins_over_variable)
{
    ck_assert_int_eq(parse(ARGV("--kafka-prop", "acks=1", "--kafka-prop=sasl.mechanism=SCRAM",
                                "--kafka-prop", "ssl.ca.pem=a=b=c"),
                           ENV("CP_URL=u", "RECONCILER_KAFKA_SASL_MECHANISM=PLAIN")),
                     CONFIG_RESULT_RUN);
    ck_assert_uint_eq(kafka.count, 3);
    ck_assert_str_eq(kafka.items[0].name, "sasl.mechanism");
    ck_assert_str_eq(kafka.items[0].value, "SCRAM");
    ck_assert_str_eq(kafka.items[1].name, "acks");
    ck_assert_str_eq(kafka.items[1].value, "1");
    ck_assert_str_eq(kafka.items[2].name, "ssl.ca.pem");
    ck_assert_str_eq(kafka.items[2].value, "a=b=c");
}
END_TEST

START_TEST(test_config_kafka_prop_without_equals_is_usage_error)
{
    ck_assert_int_eq(parse(ARGV("--kafka-prop", "acks"), MINIMAL_ENV), CONFIG_RESULT_EXIT_USAGE);
    ck_assert_ptr_nonnull(strstr(error, "test-prog: --kafka-prop: expected name=value"));
    ck_assert_int_eq(parse(ARGV("--kafka-prop", "=1"), MINIMAL_ENV), CONFIG_RESULT_EXIT_USAGE);
    ck_assert_int_eq(parse(ARGV("--kafka-prop"), MINIMAL_ENV), CONFIG_RESULT_EXIT_USAGE);
    /* A mistyped secret is not echoed. */
    ck_assert_int_eq(parse(ARGV("--kafka-prop", "sasl.password:hunter2"), MINIMAL_ENV),
                     CONFIG_RESULT_EXIT_USAGE);
    ck_assert_ptr_null(strstr(error, "hunter2"));
}
END_TEST

START_TEST(test_config_kafka_prop_is_unknown_when_program_takes_none)
{
    config_program no_kafka = test_program;
    no_kafka.accepts_kafka_properties = false;
    reset();
    char **argv = ARGV("--kafka-prop", "acks=1");
    ck_assert_int_eq(config_parse_from(&no_kafka, &settings, &kafka, count_args(argv), argv,
                                       MINIMAL_ENV, error, sizeof error, NULL),
                     CONFIG_RESULT_EXIT_USAGE);
    ck_assert_ptr_nonnull(strstr(error, "--kafka-prop: unknown flag"));
}
END_TEST

START_TEST(test_config_kafka_secret_property_names_are_recognised)
{
    ck_assert(config_kafka_property_is_secret("sasl.password"));
    ck_assert(config_kafka_property_is_secret("sasl.jaas.config"));
    ck_assert(config_kafka_property_is_secret("ssl.key.pem"));
    ck_assert(config_kafka_property_is_secret("sasl.oauthbearer.client.secret"));
    ck_assert(config_kafka_property_is_secret("sasl.oauthbearer.config"));
    ck_assert(config_kafka_property_is_secret("SASL.OAUTHBEARER.TOKEN.ENDPOINT.URL"));
    ck_assert(!config_kafka_property_is_secret("acks"));
    ck_assert(!config_kafka_property_is_secret("sasl.username"));
    ck_assert(!config_kafka_property_is_secret("security.protocol"));
}
END_TEST

START_TEST(test_config_positional_argument_rejected_unless_caller_takes_them)
{
    ck_assert_int_eq(parse(ARGV("serve"), MINIMAL_ENV), CONFIG_RESULT_EXIT_USAGE);
    ck_assert_str_eq(error, "test-prog: unexpected argument 'serve' (see --help)");

    reset();
    int positional = -1;
    char **argv = ARGV("--dry-run", "serve", "--port", "1");
    ck_assert_int_eq(config_parse_from(&test_program, &settings, &kafka, count_args(argv), argv,
                                       MINIMAL_ENV, error, sizeof error, &positional),
                     CONFIG_RESULT_RUN);
    ck_assert_int_eq(positional, 2); /* parsing stopped there; "--port" is the sub-command's */
    ck_assert(settings.dry_run);

    reset();
    argv = ARGV("--checker-concurrency", "2");
    ck_assert_int_eq(config_parse_from(&test_program, &settings, &kafka, count_args(argv), argv,
                                       MINIMAL_ENV, error, sizeof error, &positional),
                     CONFIG_RESULT_RUN);
    ck_assert_int_eq(positional, 3); /* none: argc */

    reset();
    argv = ARGV("--", "--looks-like-a-flag");
    ck_assert_int_eq(config_parse_from(&test_program, &settings, &kafka, count_args(argv), argv,
                                       MINIMAL_ENV, error, sizeof error, &positional),
                     CONFIG_RESULT_RUN);
    ck_assert_int_eq(positional, 2);
}
END_TEST

START_TEST(test_config_parse_reads_the_process_environment)
{
    setenv("CP_URL", "http://from-env", 1);
    setenv("RECONCILER_KAFKA_CLIENT_RACK", "az1", 1);
    reset();
    char **argv = ARGV("--checker-concurrency", "7");
    ck_assert_int_eq(config_parse(&test_program, &settings, &kafka, count_args(argv), argv, NULL),
                     CONFIG_RESULT_RUN);
    ck_assert_str_eq(settings.cp_url, "http://from-env");
    ck_assert_int_eq(settings.concurrency, 7);
    ck_assert_uint_eq(kafka.count, 1);
    ck_assert_str_eq(kafka.items[0].name, "client.rack");
}
END_TEST

START_TEST(test_config_failed_parse_leaves_nothing_allocated)
{
    ck_assert_int_eq(
        parse(ARGV("--kafka-prop", "acks=1", "--bogus"), ENV("CP_URL=u", "RECONCILER_KAFKA_X=1")),
        CONFIG_RESULT_EXIT_USAGE);
    ck_assert_int_eq(parse(NO_ARGS, ENV("CP_URL=u", "NOTE=n", "MAX_FLIPS=bad")),
                     CONFIG_RESULT_EXIT_USAGE);
    assert_nothing_allocated();
}
END_TEST

START_TEST(test_config_every_setting_has_a_distinct_flag)
{
    /* The flag derivation is lossless for our names: no two rows may share a flag. */
    ck_assert_int_eq(parse(ARGV("--reconciler-topic-checks=a", "--reconciler-topic-verdicts=b",
                                "--reconciler-topic-actions=c", "--database-url=d", "--note=e"),
                           MINIMAL_ENV),
                     CONFIG_RESULT_RUN);
    ck_assert_str_eq(settings.common.topic_checks, "a");
    ck_assert_str_eq(settings.common.topic_verdicts, "b");
    ck_assert_str_eq(settings.common.topic_actions, "c");
    ck_assert_str_eq(settings.common.database_url, "d");
    ck_assert_str_eq(settings.note, "e");
}
END_TEST

START_TEST(test_config_validate_hook_rejecting_a_run_is_a_usage_error_with_settings_freed)
{
    hook_calls = 0;
    ck_assert_int_eq(
        parse_program(&hooked_program, ARGV("--dry-run", "--checker-concurrency=200"),
                      ENV("CP_URL=http://cp:8080", "NOTE=n", "RECONCILER_KAFKA_CLIENT_ID=test")),
        CONFIG_RESULT_EXIT_USAGE);
    ck_assert_int_eq(hook_calls, 1);
    ck_assert_uint_eq(hook_kafka_count, 1); /* it ran after the Kafka properties were collected */
    ck_assert_str_eq(error, "test-prog: CHECKER_CONCURRENCY: at most 100 with DRY_RUN, got 200");
    assert_nothing_allocated();
}
END_TEST

START_TEST(test_config_validate_hook_rejecting_check_config_prints_nothing)
{
    char *output = NULL;
    ck_assert_int_eq(parse_program_with_output(
                         &hooked_program,
                         ARGV("--check-config", "--dry-run", "--checker-concurrency", "200"),
                         ENV("CP_URL=http://cp:8080", "NOTE=n"), &output),
                     CONFIG_RESULT_EXIT_USAGE);
    assert_error_names("CHECKER_CONCURRENCY");
    ck_assert_str_eq(output, "");
    assert_nothing_allocated();
    free(output);
}
END_TEST

START_TEST(test_config_validate_hook_accepting_changes_nothing)
{
    /* A run: the same result and values as without the hook. */
    hook_calls = 0;
    ck_assert_int_eq(parse_program(&hooked_program, ARGV("--checker-concurrency=200"), MINIMAL_ENV),
                     CONFIG_RESULT_RUN);
    ck_assert_int_eq(hook_calls, 1);
    ck_assert_int_eq(settings.concurrency, 200);
    ck_assert_str_eq(settings.cp_url, "http://cp:8080");
    ck_assert_str_eq(error, "");

    /* --check-config: the same output as without the hook. */
    char *plain = NULL;
    ck_assert_int_eq(parse_with_output(ARGV("--check-config", "--dry-run"),
                                       ENV("CP_URL=http://cp:8080", "RECONCILER_KAFKA_ACKS=all"),
                                       &plain),
                     CONFIG_RESULT_EXIT_OK);
    char *hooked = NULL;
    ck_assert_int_eq(parse_program_with_output(
                         &hooked_program, ARGV("--check-config", "--dry-run"),
                         ENV("CP_URL=http://cp:8080", "RECONCILER_KAFKA_ACKS=all"), &hooked),
                     CONFIG_RESULT_EXIT_OK);
    ck_assert_int_eq(hook_calls, 2);
    ck_assert_ptr_nonnull(strstr(hooked, "DRY_RUN=true\n"));
    ck_assert_str_eq(hooked, plain);
    free(plain);
    free(hooked);
}
END_TEST

START_TEST(test_config_validate_hook_is_not_called_for_help_version_or_a_bad_value)
{
    char *output = NULL;
    hook_calls = 0;
    ck_assert_int_eq(parse_program_with_output(
                         &hooked_program, ARGV("--dry-run", "--checker-concurrency=200", "--help"),
                         MINIMAL_ENV, &output),
                     CONFIG_RESULT_EXIT_OK);
    ck_assert_ptr_nonnull(strstr(output, "CHECKER_CONCURRENCY"));
    free(output);
    ck_assert_int_eq(parse_program(&hooked_program, ARGV("--version"), MINIMAL_ENV),
                     CONFIG_RESULT_EXIT_OK);
    /* The table's own error comes first; the hook never sees an unparsed struct. */
    ck_assert_int_eq(
        parse_program(&hooked_program, ARGV("--dry-run", "--check-timeout=forever"), MINIMAL_ENV),
        CONFIG_RESULT_EXIT_USAGE);
    assert_error_names("CHECK_TIMEOUT");
    ck_assert_int_eq(hook_calls, 0);
}
END_TEST

START_TEST(test_config_validate_hook_error_is_always_one_line)
{
    ck_assert_int_eq(parse_program(&silent_program, NO_ARGS, MINIMAL_ENV),
                     CONFIG_RESULT_EXIT_USAGE);
    ck_assert_msg(strncmp(error, "test-prog: ", 11) == 0 && strlen(error) > 11, "'%s'", error);
    ck_assert_int_eq(parse_program(&two_line_program, NO_ARGS, MINIMAL_ENV),
                     CONFIG_RESULT_EXIT_USAGE);
    assert_error_names("NOTE");
    ck_assert_str_eq(error, "test-prog: NOTE: first line?second line");
}
END_TEST

/* ---- issue 13 item 8: every numeric value range-checked, none reaching undefined behaviour */

typedef struct {
    int64_t count;
    int64_t key;
    int64_t wait_ms;
    int64_t bounded_wait_ms;
    config_threshold share;
    config_threshold any_share;
} hostile_settings;

static const config_setting hostile_table[] = {
    {.env_name = "H_COUNT",
     .type = CONFIG_TYPE_INTEGER,
     .offset = offsetof(hostile_settings, count),
     .default_text = "1",
     .minimum = 0,
     .maximum = 1000},
    {.env_name = "H_KEY", /* no bounds: any int64 */
     .type = CONFIG_TYPE_INTEGER,
     .offset = offsetof(hostile_settings, key),
     .default_text = "1"},
    {.env_name = "H_WAIT", /* no bounds: any non-negative int64 of ms */
     .type = CONFIG_TYPE_DURATION,
     .offset = offsetof(hostile_settings, wait_ms),
     .default_text = "1s"},
    {.env_name = "H_BOUNDED_WAIT",
     .type = CONFIG_TYPE_DURATION,
     .offset = offsetof(hostile_settings, bounded_wait_ms),
     .default_text = "1s",
     .minimum = 1000,
     .maximum = 3600000},
    {.env_name = "H_SHARE",
     .type = CONFIG_TYPE_THRESHOLD,
     .offset = offsetof(hostile_settings, share),
     .default_text = "20%",
     .minimum = 0,
     .maximum = 1000},
    {.env_name = "H_ANY_SHARE", /* no bounds: counts up to 2^53 */
     .type = CONFIG_TYPE_THRESHOLD,
     .offset = offsetof(hostile_settings, any_share),
     .default_text = "20%"},
};

static const config_program hostile_program = {
    .program_name = "test-prog",
    .settings = hostile_table,
    .setting_count = sizeof hostile_table / sizeof hostile_table[0],
};

START_TEST(test_config_hostile_numbers_are_refused_naming_variable_and_range)
{
    static const struct {
        const char *variable, *value;
        bool accepted;
        const char *range; /* named in the error */
    } cases[] = {
        {"H_COUNT", "9223372036854775807", false, "an integer in [0, 1000]"},
        {"H_COUNT", "-9223372036854775809", false, "an integer in [0, 1000]"},
        {"H_COUNT", "99999999999999999999999", false, "an integer in [0, 1000]"},
        {"H_COUNT", "1001", false, "an integer in [0, 1000]"},
        {"H_COUNT", "-1", false, "an integer in [0, 1000]"},
        {"H_COUNT", "1000", true, NULL},
        {"H_COUNT", "0", true, NULL},
        {"H_KEY", "9223372036854775807", true, NULL},
        {"H_KEY", "-9223372036854775808", true, NULL},
        {"H_KEY", "9223372036854775808", false,
         "an integer in [-9223372036854775808, 9223372036854775807]"},
        {"H_KEY", "-9223372036854775809", false,
         "an integer in [-9223372036854775808, 9223372036854775807]"},
        {"H_WAIT", "9223372036854775807h", false, "a duration in [0s, "},
        {"H_WAIT", "9223372036854775807m", false, "a duration in [0s, "},
        {"H_WAIT", "9223372036854775807s", false, "a duration in [0s, "},
        {"H_WAIT", "9223372036854775807", false, "a duration in [0s, "}, /* bare = seconds */
        {"H_WAIT", "9223372036854775808ms", false, "a duration in [0s, "},
        {"H_WAIT", "9223372036854775807ms", true, NULL},
        {"H_WAIT", "2562047788015h", true, NULL}, /* the most hours that fit in int64 ms */
        {"H_WAIT", "2562047788016h", false, "a duration in [0s, "},
        {"H_WAIT", "-1s", false, "a duration in [0s, "},
        {"H_WAIT", "1.5s", false, "a duration in [0s, "},
        {"H_WAIT", "infs", false, "a duration in [0s, "},
        {"H_BOUNDED_WAIT", "9223372036854775807h", false, "a duration in [1s, 1h]"},
        {"H_BOUNDED_WAIT", "3601s", false, "a duration in [1s, 1h]"},
        {"H_BOUNDED_WAIT", "999ms", false, "a duration in [1s, 1h]"},
        {"H_BOUNDED_WAIT", "1h", true, NULL},
        {"H_SHARE", "9223372036854775807", false, "a count in [0, 1000]"},
        {"H_SHARE", "18446744073709551616", false, "a count in [0, 1000]"},
        {"H_SHARE", "1001", false, "a count in [0, 1000]"},
        {"H_SHARE", "-1", false, "a count in [0, 1000]"},
        {"H_SHARE", "-0%", false, "a percentage in [0%, 100%]"},
        {"H_SHARE", "100.0000001%", false, "a percentage in [0%, 100%]"},
        {"H_SHARE", "1e308%", false, "a percentage in [0%, 100%]"},
        {"H_SHARE", "99999999999999999999999999999999999999%", false, "a percentage"},
        {"H_SHARE", "nan", false, "a count in [0, 1000]"},
        {"H_SHARE", "NaN%", false, "a count in [0, 1000]"},
        {"H_SHARE", "inf%", false, "a count in [0, 1000]"},
        {"H_SHARE", "1e3", false, "a count in [0, 1000]"},
        {"H_SHARE", "1000", true, NULL},
        {"H_SHARE", "100%", true, NULL},
        {"H_SHARE", "0.0001%", true, NULL},
        {"H_ANY_SHARE", "9223372036854775807", false, "a count in [0, 9007199254740992]"},
        {"H_ANY_SHARE", "9007199254740993", false, "a count in [0, 9007199254740992]"},
        {"H_ANY_SHARE", "9007199254740992", true, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hostile_settings values;
        memset(&values, 0, sizeof values);
        char variable[128];
        snprintf(variable, sizeof variable, "%s=%s", cases[i].variable, cases[i].value);
        char *argv[] = {"test-prog", NULL};
        config_result result = config_parse_from(&hostile_program, &values, NULL, 1, argv,
                                                 ENV(variable), error, sizeof error, NULL);
        if (cases[i].accepted) {
            ck_assert_msg(result == CONFIG_RESULT_RUN, "refused %s: %s", variable, error);
            continue;
        }
        ck_assert_msg(result == CONFIG_RESULT_EXIT_USAGE, "accepted %s", variable);
        char prefix[64];
        snprintf(prefix, sizeof prefix, "test-prog: %s: expected ", cases[i].variable);
        ck_assert_msg(strncmp(error, prefix, strlen(prefix)) == 0, "%s: %s", variable, error);
        ck_assert_msg(strstr(error, cases[i].range) != NULL, "%s: no '%s' in: %s", variable,
                      cases[i].range, error);
        ck_assert_ptr_null(strchr(error, '\n'));
    }
    /* The accepted extremes arrive intact. */
    hostile_settings values;
    memset(&values, 0, sizeof values);
    char *argv[] = {"test-prog", NULL};
    ck_assert_int_eq(
        config_parse_from(&hostile_program, &values, NULL, 1, argv,
                          ENV("H_KEY=-9223372036854775808", "H_WAIT=9223372036854775807ms",
                              "H_ANY_SHARE=9007199254740992"),
                          error, sizeof error, NULL),
        CONFIG_RESULT_RUN);
    ck_assert_int_eq(values.key, INT64_MIN);
    ck_assert_int_eq(values.wait_ms, INT64_MAX);
    ck_assert_int_eq(config_threshold_resolve(values.any_share, 1), CONFIG_THRESHOLD_COUNT_MAX);
}
END_TEST

/* config_threshold_resolve never converts an out-of-range double (NaN, beyond int64) to an
 * integer, whatever a struct filled by code holds: UBSan (-fsanitize=float-cast-overflow)
 * runs this in the sanitizer build. */
START_TEST(test_config_threshold_resolve_saturates_hostile_values)
{
    static const struct {
        bool is_percent;
        double value;
        int64_t total, expected;
    } cases[] = {
        {false, 9223372036854775807.0, 10, INT64_MAX}, /* 2^63 as a double */
        {false, 1e300, 10, INT64_MAX},
        {false, (double)INFINITY, 10, INT64_MAX},
        {false, (double)NAN, 10, 0},
        {false, -5, 10, 0},
        {false, -1e300, 10, 0},
        {false, 50, 10, 50},
        {true, (double)NAN, 1000, 0},
        {true, -20, 1000, 0},
        {true, 100, INT64_MAX, INT64_MAX},
        {true, 1e300, INT64_MAX, INT64_MAX},
        {true, (double)INFINITY, 1000, INT64_MAX},
        {true, 50, INT64_MAX, 4611686018427387904}, /* floor(2^63 / 2) in doubles */
        {true, 20, -7, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        config_threshold threshold = {.is_percent = cases[i].is_percent, .value = cases[i].value};
        ck_assert_msg(config_threshold_resolve(threshold, cases[i].total) == cases[i].expected,
                      "case %zu", i);
    }
}
END_TEST

START_TEST(test_config_mask_url_userinfo)
{
    static const char *const cases[][2] = {
        {"http://proxy:3128", "http://proxy:3128"},
        {"http://user:secret@proxy:3128", "http://<masked>@proxy:3128"},
        {"socks5h://user@proxy:1080/", "socks5h://<masked>@proxy:1080/"},
        {"http://a@b:c@proxy:3128", "http://<masked>@proxy:3128"}, /* the last @ ends it */
        {"http://proxy:3128/path@not-userinfo", "http://proxy:3128/path@not-userinfo"},
        {"user:secret@proxy:3128", "<masked>@proxy:3128"}, /* no scheme */
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char shown[128];
        config_mask_url_userinfo(cases[i][0], shown, sizeof shown);
        ck_assert_msg(strcmp(shown, cases[i][1]) == 0, "'%s' -> '%s', expected '%s'", cases[i][0],
                      shown, cases[i][1]);
    }
}
END_TEST

/* Rows that can hold no value: an empty range, a choice without choices. */
START_TEST(test_config_table_rows_without_a_valid_value_are_reported_as_table_bugs)
{
    static const config_setting broken_rows[] = {
        {.env_name = "H_BROKEN",
         .type = CONFIG_TYPE_INTEGER,
         .offset = offsetof(hostile_settings, count),
         .default_text = "5",
         .minimum = 10,
         .maximum = 5},
        {.env_name = "H_NO_CHOICES",
         .type = CONFIG_TYPE_CHOICE,
         .offset = offsetof(hostile_settings, count),
         .default_text = "5"},
    };
    for (size_t i = 0; i < sizeof broken_rows / sizeof broken_rows[0]; i++) {
        const config_program broken_program = {
            .program_name = "test-prog", .settings = &broken_rows[i], .setting_count = 1};
        hostile_settings values;
        memset(&values, 0, sizeof values);
        char *argv[] = {"test-prog", NULL};
        ck_assert_int_eq(config_parse_from(&broken_program, &values, NULL, 1, argv, ENV("X=1"),
                                           error, sizeof error, NULL),
                         CONFIG_RESULT_EXIT_USAGE);
        ck_assert_ptr_nonnull(strstr(error, broken_rows[i].env_name));
        ck_assert_ptr_nonnull(strstr(error, "a bug in the table"));
    }
}
END_TEST

/* Issue 13 item 7 at parse time: a program's locked Kafka properties are refused by a run
 * and by --check-config alike, naming the property and where it came from. */
START_TEST(test_config_locked_kafka_property_is_a_usage_error_naming_its_source)
{
    static const config_program locked_program = {
        .program_name = "test-prog",
        .settings = test_table,
        .setting_count = sizeof test_table / sizeof test_table[0],
        .accepts_kafka_properties = true,
        .kafka_roles = CONFIG_KAFKA_ROLE_CONSUMER | CONFIG_KAFKA_ROLE_PRODUCER,
    };
    ck_assert_int_eq(parse_program(&locked_program, ARGV("--kafka-prop", "acks=1"), MINIMAL_ENV),
                     CONFIG_RESULT_EXIT_USAGE);
    ck_assert_msg(strstr(error, "test-prog: kafka property 'acks' (from --kafka-prop) is locked "
                                "to all") == error,
                  "%s", error);
    assert_nothing_allocated();
    ck_assert_int_eq(parse_program(&locked_program, ARGV("--check-config"),
                                   ENV("CP_URL=u", "RECONCILER_KAFKA_ENABLE_AUTO_COMMIT=false")),
                     CONFIG_RESULT_EXIT_USAGE);
    ck_assert_msg(
        strstr(error, "'enable.auto.commit' (from RECONCILER_KAFKA_ENABLE_AUTO_COMMIT)") != NULL,
        "%s", error);
    /* A flag replacing a variable is reported as the flag. */
    ck_assert_int_eq(
        parse_program(&locked_program, ARGV("--kafka-prop", "enable.auto.offset.store=true"),
                      ENV("CP_URL=u", "RECONCILER_KAFKA_ENABLE_AUTO_OFFSET_STORE=false")),
        CONFIG_RESULT_EXIT_USAGE);
    ck_assert_ptr_nonnull(strstr(error, "(from --kafka-prop)"));
    /* The locked values themselves, and everything else, are fine. */
    ck_assert_int_eq(parse_program(&locked_program,
                                   ARGV("--kafka-prop", "acks=all", "--kafka-prop", "linger.ms=1"),
                                   ENV("CP_URL=u", "RECONCILER_KAFKA_ENABLE_AUTO_COMMIT=true")),
                     CONFIG_RESULT_RUN);
    /* --help lists them. */
    char *output = NULL;
    ck_assert_int_eq(
        parse_program_with_output(&locked_program, ARGV("--help"), MINIMAL_ENV, &output),
        CONFIG_RESULT_EXIT_OK);
    ck_assert_ptr_nonnull(strstr(output, "enable.auto.offset.store = false"));
    ck_assert_ptr_nonnull(strstr(output, "max.in.flight.requests.per.connection <= 5"));
    free(output);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *suite = suite_create("config");
    TCase *tcase = tcase_create("core");
    tcase_add_checked_fixture(tcase, NULL, teardown);
    tcase_add_test(tcase, test_config_defaults_apply_when_nothing_is_set);
    tcase_add_test(tcase, test_config_common_settings_have_contract_names_and_defaults);
    tcase_add_test(tcase, test_config_environment_overrides_default);
    tcase_add_test(tcase, test_config_flag_overrides_environment_in_both_spellings);
    tcase_add_test(tcase, test_config_flag_overriding_a_bad_variable_wins);
    tcase_add_test(tcase, test_config_bad_duration_names_variable);
    tcase_add_test(tcase, test_config_duration_outside_bounds_is_rejected);
    tcase_add_test(tcase, test_config_bool_accepts_only_true_false_1_0);
    tcase_add_test(tcase, test_config_bare_bool_flag_means_true_and_takes_an_explicit_value);
    tcase_add_test(tcase, test_config_integer_outside_bounds_or_garbage_is_rejected);
    tcase_add_test(tcase, test_config_threshold_accepts_counts_and_percentages);
    tcase_add_test(tcase, test_config_threshold_rejects_negative_over_100_percent_and_garbage);
    tcase_add_test(tcase, test_config_threshold_resolve_rounds_percentages_down);
    tcase_add_test(tcase, test_config_unknown_flag_is_usage_error_naming_it);
    tcase_add_test(tcase, test_config_unknown_flag_error_never_echoes_its_value);
    tcase_add_test(tcase, test_config_flag_without_value_is_usage_error);
    tcase_add_test(tcase, test_config_required_setting_unset_or_empty_names_variable);
    tcase_add_test(tcase, test_config_empty_optional_string_is_kept_and_empty_number_rejected);
    tcase_add_test(tcase, test_config_secret_bad_value_is_never_echoed);
    tcase_add_test(tcase, test_config_error_stays_one_line_whatever_the_value);
    tcase_add_test(tcase, test_config_check_config_prints_effective_config_with_secrets_masked);
    tcase_add_test(tcase, test_config_check_config_with_bad_value_is_usage_error);
    tcase_add_test(tcase, test_config_help_lists_every_setting_with_flag_default_and_help);
    tcase_add_test(tcase, test_config_version_prints_program_and_version);
    tcase_add_test(tcase, test_config_kafka_variables_become_dotted_lowercase_properties);
    tcase_add_test(tcase, test_config_kafka_prop_flag_is_repeatable_and_wins_over_variable);
    tcase_add_test(tcase, test_config_kafka_prop_without_equals_is_usage_error);
    tcase_add_test(tcase, test_config_kafka_prop_is_unknown_when_program_takes_none);
    tcase_add_test(tcase, test_config_kafka_secret_property_names_are_recognised);
    tcase_add_test(tcase, test_config_positional_argument_rejected_unless_caller_takes_them);
    tcase_add_test(tcase, test_config_parse_reads_the_process_environment);
    tcase_add_test(tcase, test_config_failed_parse_leaves_nothing_allocated);
    tcase_add_test(tcase, test_config_every_setting_has_a_distinct_flag);
    tcase_add_test(tcase, test_config_unknown_kafka_property_is_a_usage_error_naming_it);
    tcase_add_test(tcase, test_config_invalid_secret_kafka_property_error_hides_its_value);
    tcase_add_test(tcase,
                   test_config_validate_hook_rejecting_a_run_is_a_usage_error_with_settings_freed);
    tcase_add_test(tcase, test_config_validate_hook_rejecting_check_config_prints_nothing);
    tcase_add_test(tcase, test_config_validate_hook_accepting_changes_nothing);
    tcase_add_test(tcase, test_config_validate_hook_is_not_called_for_help_version_or_a_bad_value);
    tcase_add_test(tcase, test_config_validate_hook_error_is_always_one_line);
    tcase_add_test(tcase, test_config_hostile_numbers_are_refused_naming_variable_and_range);
    tcase_add_test(tcase, test_config_threshold_resolve_saturates_hostile_values);
    tcase_add_test(tcase, test_config_table_rows_without_a_valid_value_are_reported_as_table_bugs);
    tcase_add_test(tcase, test_config_locked_kafka_property_is_a_usage_error_naming_its_source);
    tcase_add_test(tcase, test_config_mask_url_userinfo);
    suite_add_tcase(suite, tcase);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(config_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
