/* Unit tests of reconciler-audit's settings: the short flags (--from for AUDIT_FROM), the
 * validation config.c cannot do, and the Kafka properties that keep the audit read-only. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_settings.h"

#define NOW_MS 1795749120000LL

typedef struct {
    audit_settings settings;
    config_kafka_properties kafka;
    config_result result;
    char error[1024];
} parsed_settings;

/* Parses argv (NULL-terminated, without the program name) against `environment`, then
 * validates when parsing succeeded. */
static parsed_settings *parse(char **environment, const char *const *arguments)
{
    parsed_settings *parsed = calloc(1, sizeof *parsed);
    char *argv[32] = {"reconciler-audit"};
    int argc = 1;
    for (; arguments != NULL && arguments[argc - 1] != NULL; argc++) {
        argv[argc] = (char *)arguments[argc - 1];
    }
    parsed->result =
        config_parse_from(&audit_program, &parsed->settings, &parsed->kafka, argc, argv,
                          environment, parsed->error, sizeof parsed->error, NULL);
    if (parsed->result == CONFIG_RESULT_RUN &&
        !audit_settings_validate(&parsed->settings, &parsed->kafka, NOW_MS, parsed->error,
                                 sizeof parsed->error)) {
        parsed->result = CONFIG_RESULT_EXIT_USAGE;
    }
    return parsed;
}

static void parsed_free(parsed_settings *parsed)
{
    config_free(&audit_program, &parsed->settings, &parsed->kafka);
    free(parsed);
}

START_TEST(test_audit_settings_defaults_read_everything_as_a_table)
{
    char *environment[] = {NULL};
    parsed_settings *parsed = parse(environment, NULL);
    ck_assert_int_eq(parsed->result, CONFIG_RESULT_RUN);
    ck_assert_str_eq(parsed->settings.from, "beginning");
    ck_assert_str_eq(parsed->settings.to, "end");
    ck_assert_int_eq(parsed->settings.format, AUDIT_FORMAT_TABLE);
    ck_assert_int_eq(parsed->settings.partitioner, AUDIT_PARTITIONER_CONSISTENT_RANDOM);
    ck_assert_int_eq(parsed->settings.max_verdict_age_ms, 5 * 60 * 1000);
    ck_assert_ptr_null(parsed->settings.database_url);
    ck_assert(!parsed->settings.verify && !parsed->settings.quiet);
    ck_assert(!audit_settings_reports(&parsed->settings));
    ck_assert_str_eq(parsed->settings.common.topic_verdicts, "reconciler.verdicts");
    parsed_free(parsed);
}
END_TEST

START_TEST(test_audit_settings_short_flags_set_the_audit_variables)
{
    char *environment[] = {NULL};
    const char *arguments[] = {"--from",
                               "-2h",
                               "--to=2026-11-27T03:12:00Z",
                               "--workspace",
                               "ws-1",
                               "--format",
                               "jsonl",
                               "--verify",
                               "--strict",
                               "--quiet",
                               "--max-verdict-age",
                               "10m",
                               "--output",
                               "/tmp/x",
                               NULL};
    parsed_settings *parsed = parse(environment, arguments);
    ck_assert_msg(parsed->result == CONFIG_RESULT_RUN, "%s", parsed->error);
    ck_assert_str_eq(parsed->settings.from, "-2h");
    ck_assert_str_eq(parsed->settings.to, "2026-11-27T03:12:00Z");
    ck_assert_str_eq(parsed->settings.workspace, "ws-1");
    ck_assert_int_eq(parsed->settings.format, AUDIT_FORMAT_JSONL);
    ck_assert(parsed->settings.verify && parsed->settings.strict && parsed->settings.quiet);
    ck_assert_int_eq(parsed->settings.max_verdict_age_ms, 10 * 60 * 1000);
    ck_assert_str_eq(parsed->settings.output, "/tmp/x");
    ck_assert(audit_settings_reports(&parsed->settings));
    parsed_free(parsed);
}
END_TEST

START_TEST(test_audit_settings_read_the_environment_and_flags_win)
{
    char *environment[] = {"AUDIT_FROM=0:5", "AUDIT_SUMMARY=true", "AUDIT_FORMAT=avro",
                           "DATABASE_URL=postgresql://u:p@h/db", NULL};
    const char *arguments[] = {"--format", "jsonl", NULL};
    parsed_settings *parsed = parse(environment, arguments);
    ck_assert_msg(parsed->result == CONFIG_RESULT_RUN, "%s", parsed->error);
    ck_assert_str_eq(parsed->settings.from, "0:5");
    ck_assert(parsed->settings.summary);
    ck_assert_int_eq(parsed->settings.format, AUDIT_FORMAT_JSONL);
    ck_assert_str_eq(parsed->settings.database_url, "postgresql://u:p@h/db");
    parsed_free(parsed);
}
END_TEST

START_TEST(test_audit_settings_the_long_derived_flag_is_not_accepted)
{
    char *environment[] = {NULL};
    const char *arguments[] = {"--audit-from", "end", NULL};
    parsed_settings *parsed = parse(environment, arguments);
    ck_assert_int_eq(parsed->result, CONFIG_RESULT_EXIT_USAGE);
    ck_assert_ptr_nonnull(strstr(parsed->error, "unknown flag"));
    parsed_free(parsed);
}
END_TEST

/* The one-line error for a bad value names the variable and the forms. */
static void assert_refused(const char *const *arguments, const char *expected)
{
    char *environment[] = {NULL};
    parsed_settings *parsed = parse(environment, arguments);
    ck_assert_int_eq(parsed->result, CONFIG_RESULT_EXIT_USAGE);
    ck_assert_msg(strstr(parsed->error, expected) != NULL, "'%s' lacks '%s'", parsed->error,
                  expected);
    ck_assert_ptr_null(strchr(parsed->error, '\n'));
    parsed_free(parsed);
}

START_TEST(test_audit_settings_refuse_bad_values_naming_the_variable)
{
    assert_refused((const char *[]){"--from", "yesterday", NULL},
                   "reconciler-audit: AUDIT_FROM: expected beginning, end, an RFC 3339 time");
    assert_refused((const char *[]){"--to", "2026-11-27T03:12:00", NULL},
                   "AUDIT_TO: expected beginning, end");
    assert_refused((const char *[]){"--to", "2026-11-27T03:12:00", NULL}, "needs a zone");
    assert_refused((const char *[]){"--from", "0:1,0:2", NULL}, "a partition is named twice");
    assert_refused((const char *[]){"--format", "json", NULL},
                   "AUDIT_FORMAT: expected table, jsonl or avro, got 'json'");
    assert_refused((const char *[]){"--partitioner", "random", NULL}, "AUDIT_PARTITIONER");
    assert_refused((const char *[]){"--max-verdict-age", "500ms", NULL}, "AUDIT_MAX_VERDICT_AGE");
}
END_TEST

/* The int-sized choice field at `offset` after parsing `flag name`. */
static int parsed_choice(const char *flag, const char *name, size_t offset)
{
    char *environment[] = {NULL};
    parsed_settings *parsed = parse(environment, (const char *[]){flag, name, NULL});
    ck_assert_msg(parsed->result == CONFIG_RESULT_RUN, "%s %s: %s", flag, name, parsed->error);
    int value = *(const int *)((const char *)&parsed->settings + offset);
    parsed_free(parsed);
    return value;
}

/* The choices of --format and --partitioner are the names the output and the partitioner
 * print, each to its own value (--help lists them: the manual's test). */
START_TEST(test_audit_settings_choices_are_the_printed_names)
{
    for (int format = AUDIT_FORMAT_TABLE; format <= AUDIT_FORMAT_AVRO; format++) {
        ck_assert_int_eq(parsed_choice("--format", audit_format_name((audit_format)format),
                                       offsetof(audit_settings, format)),
                         format);
    }
    for (int partitioner = 0; partitioner < AUDIT_PARTITIONER_COUNT; partitioner++) {
        ck_assert_int_eq(parsed_choice("--partitioner",
                                       audit_partitioner_name((audit_partitioner)partitioner),
                                       offsetof(audit_settings, partitioner)),
                         partitioner);
    }
    assert_refused((const char *[]){"--format", "JSONL", NULL}, "got 'JSONL'"); /* exact names */
}
END_TEST

START_TEST(test_audit_settings_avro_is_only_for_the_record_dump)
{
    assert_refused((const char *[]){"--format", "avro", "--summary", NULL},
                   "AUDIT_FORMAT: avro is for the record dump");
    char *environment[] = {NULL};
    parsed_settings *parsed = parse(environment, (const char *[]){"--format", "avro", NULL});
    ck_assert_int_eq(parsed->result, CONFIG_RESULT_RUN);
    parsed_free(parsed);
}
END_TEST

START_TEST(test_audit_settings_refuse_kafka_properties_that_could_commit)
{
    assert_refused((const char *[]){"--kafka-prop", "group.id=reconciler-actuator", NULL},
                   "--kafka-prop group.id: set by reconciler-audit itself");
    assert_refused((const char *[]){"--kafka-prop", "enable.auto.commit=true", NULL},
                   "enable.auto.commit");
    char *environment[] = {"RECONCILER_KAFKA_ENABLE_AUTO_OFFSET_STORE=true", NULL};
    parsed_settings *parsed = parse(environment, NULL);
    ck_assert_int_eq(parsed->result, CONFIG_RESULT_EXIT_USAGE);
    ck_assert_ptr_nonnull(strstr(parsed->error, "enable.auto.offset.store"));
    parsed_free(parsed);
    /* Everything else passes through, e.g. TLS. */
    parsed =
        parse(environment + 1, (const char *[]){"--kafka-prop", "security.protocol=SSL", NULL});
    ck_assert_int_eq(parsed->result, CONFIG_RESULT_RUN);
    ck_assert_uint_eq(parsed->kafka.count, 1);
    parsed_free(parsed);
    ck_assert(audit_kafka_property_is_fixed("GROUP.ID"));
    ck_assert(!audit_kafka_property_is_fixed("client.id"));
}
END_TEST

START_TEST(test_audit_help_is_the_manual_with_short_flags_and_examples)
{
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    config_print_help(&audit_program, out);
    fclose(out);
    ck_assert_ptr_nonnull(strstr(text, "AUDIT_FROM, --from <text>"));
    ck_assert_ptr_nonnull(strstr(text, "AUDIT_FORMAT, --format <table|jsonl|avro>"));
    ck_assert_ptr_nonnull(strstr(text, "--partitioner <consistent_random|consistent|murmur2|"
                                       "murmur2_random|fnv1a|fnv1a_random>"));
    ck_assert_ptr_nonnull(strstr(text, "AUDIT_VERIFY, --verify <true|false>"));
    ck_assert_ptr_nonnull(strstr(text, "DATABASE_URL, --database-url <text>"));
    ck_assert_ptr_nonnull(strstr(text, "--timeline"));
    ck_assert_ptr_nonnull(strstr(text, "reconciler-audit --summary --from -24h"));
    ck_assert_ptr_nonnull(strstr(text, "--format avro --output"));
    ck_assert_ptr_nonnull(strstr(text, "--from verdicts:3:1200 --to verdicts:3:1300"));
    ck_assert_ptr_null(strstr(text, "--audit-from"));
    free(text);
}
END_TEST

START_TEST(test_audit_check_config_masks_the_database_url)
{
    char *environment[] = {"DATABASE_URL=postgresql://u:secret@h/db", NULL};
    parsed_settings *parsed = parse(environment, NULL);
    ck_assert_int_eq(parsed->result, CONFIG_RESULT_RUN);
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    config_print_effective(&audit_program, &parsed->settings, &parsed->kafka, out);
    fclose(out);
    ck_assert_ptr_nonnull(strstr(text, "DATABASE_URL=<masked>"));
    ck_assert_ptr_null(strstr(text, "secret"));
    ck_assert_ptr_nonnull(strstr(text, "AUDIT_FROM=beginning"));
    free(text);
    parsed_free(parsed);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("audit_settings");
    TCase *tcase = tcase_create("core");
    tcase_add_test(tcase, test_audit_settings_defaults_read_everything_as_a_table);
    tcase_add_test(tcase, test_audit_settings_short_flags_set_the_audit_variables);
    tcase_add_test(tcase, test_audit_settings_read_the_environment_and_flags_win);
    tcase_add_test(tcase, test_audit_settings_the_long_derived_flag_is_not_accepted);
    tcase_add_test(tcase, test_audit_settings_refuse_bad_values_naming_the_variable);
    tcase_add_test(tcase, test_audit_settings_choices_are_the_printed_names);
    tcase_add_test(tcase, test_audit_settings_avro_is_only_for_the_record_dump);
    tcase_add_test(tcase, test_audit_settings_refuse_kafka_properties_that_could_commit);
    tcase_add_test(tcase, test_audit_help_is_the_manual_with_short_flags_and_examples);
    tcase_add_test(tcase, test_audit_check_config_masks_the_database_url);
    suite_add_tcase(suite, tcase);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
