/* test_config_secret_file.c — <NAME>_FILE for every secret setting and secret Kafka property:
 * the value is read from the file (one trailing newline removed), and an unreadable file or
 * both forms set at once is a usage error naming the variable. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char *token;
    char *note;
} secret_settings;

static const config_setting secret_table[] = {
    {.env_name = "API_TOKEN",
     .type = CONFIG_TYPE_STRING,
     .offset = offsetof(secret_settings, token),
     .required = true,
     .secret = true,
     .help = "a secret"},
    {.env_name = "NOTE",
     .type = CONFIG_TYPE_STRING,
     .offset = offsetof(secret_settings, note),
     .help = "not a secret"},
};

static const config_program secret_program = {
    .program_name = "secret-prog",
    .settings = secret_table,
    .setting_count = sizeof secret_table / sizeof secret_table[0],
    .accepts_kafka_properties = true,
};

static secret_settings settings;
static config_kafka_properties kafka;
static char error[512];
static char path[64];
static char env_file[128];

/* A file holding `content` exactly; its path in `path` and "API_TOKEN_FILE=<path>". */
static void write_secret(const char *content)
{
    snprintf(path, sizeof path, "/tmp/test_secret_XXXXXX");
    int descriptor = mkstemp(path);
    ck_assert_int_ge(descriptor, 0);
    ck_assert_int_eq(write(descriptor, content, strlen(content)), (ssize_t)strlen(content));
    close(descriptor);
    snprintf(env_file, sizeof env_file, "API_TOKEN_FILE=%s", path);
}

static config_result parse(char **environment, char **argv)
{
    config_free(&secret_program, &settings, &kafka);
    memset(error, 0, sizeof error);
    int argc = 0;
    while (argv[argc] != NULL) {
        argc++;
    }
    return config_parse_from(&secret_program, &settings, &kafka, argc, argv, environment, error,
                             sizeof error, NULL);
}

#define ENV(...) ((char *[]){__VA_ARGS__, NULL})
#define NO_ARGS ((char *[]){"secret-prog", NULL})

static void teardown(void)
{
    config_free(&secret_program, &settings, &kafka);
    if (path[0] != '\0') {
        unlink(path);
        path[0] = '\0';
    }
}

START_TEST(test_secret_file_value_is_read_with_one_newline_trimmed)
{
    write_secret("s3cr3t\n");
    ck_assert_int_eq(parse(ENV(env_file), NO_ARGS), CONFIG_RESULT_RUN);
    ck_assert_str_eq(settings.token, "s3cr3t");
    unlink(path);
    write_secret("crlf\r\n");
    ck_assert_int_eq(parse(ENV(env_file), NO_ARGS), CONFIG_RESULT_RUN);
    ck_assert_str_eq(settings.token, "crlf");
    unlink(path);
    write_secret("two lines\n\n");
    ck_assert_int_eq(parse(ENV(env_file), NO_ARGS), CONFIG_RESULT_RUN);
    ck_assert_str_eq(settings.token, "two lines\n");
}
END_TEST

START_TEST(test_secret_file_unreadable_is_a_named_error)
{
    ck_assert_int_eq(parse(ENV("API_TOKEN_FILE=/nonexistent/token"), NO_ARGS),
                     CONFIG_RESULT_EXIT_USAGE);
    ck_assert_str_eq(error, "secret-prog: API_TOKEN_FILE: cannot read '/nonexistent/token': No "
                            "such file or directory");
    ck_assert_int_eq(parse(ENV("API_TOKEN_FILE="), NO_ARGS), CONFIG_RESULT_EXIT_USAGE);
    ck_assert_str_eq(error, "secret-prog: API_TOKEN_FILE: empty value (a file path)");
}
END_TEST

START_TEST(test_secret_file_and_value_both_set_is_an_error)
{
    write_secret("from-file");
    ck_assert_int_eq(parse(ENV("API_TOKEN=inline", env_file), NO_ARGS), CONFIG_RESULT_EXIT_USAGE);
    ck_assert_str_eq(error, "secret-prog: API_TOKEN: both it and API_TOKEN_FILE are set; set one "
                            "of them");
    ck_assert_int_eq(parse(ENV(env_file), ((char *[]){"secret-prog", "--api-token=x", NULL})),
                     CONFIG_RESULT_EXIT_USAGE);
    ck_assert_ptr_null(strstr(error, "from-file"));
    /* An empty variable is no value: the file is used. */
    ck_assert_int_eq(parse(ENV("API_TOKEN=", env_file), NO_ARGS), CONFIG_RESULT_RUN);
    ck_assert_str_eq(settings.token, "from-file");
}
END_TEST

START_TEST(test_secret_file_only_for_secret_settings)
{
    /* NOTE is not secret: NOTE_FILE means nothing and is not read. */
    ck_assert_int_eq(parse(ENV("API_TOKEN=x", "NOTE_FILE=/nonexistent"), NO_ARGS),
                     CONFIG_RESULT_RUN);
    ck_assert_ptr_null(settings.note);
}
END_TEST

START_TEST(test_secret_file_empty_file_of_a_required_secret_is_empty)
{
    write_secret("\n");
    ck_assert_int_eq(parse(ENV(env_file), NO_ARGS), CONFIG_RESULT_EXIT_USAGE);
    ck_assert_str_eq(error, "secret-prog: API_TOKEN: required but empty");
}
END_TEST

START_TEST(test_secret_file_kafka_password_from_file)
{
    write_secret("kafka-pw\n");
    char variable[128];
    snprintf(variable, sizeof variable, "RECONCILER_KAFKA_SASL_PASSWORD_FILE=%s", path);
    ck_assert_int_eq(
        parse(ENV("API_TOKEN=x", "RECONCILER_KAFKA_SASL_USERNAME=u", variable), NO_ARGS),
        CONFIG_RESULT_RUN);
    ck_assert_uint_eq(kafka.count, 2);
    ck_assert_str_eq(kafka.items[0].name, "sasl.password");
    ck_assert_str_eq(kafka.items[0].value, "kafka-pw");
    ck_assert_int_eq(
        parse(ENV("API_TOKEN=x", "RECONCILER_KAFKA_SASL_PASSWORD=y", variable), NO_ARGS),
        CONFIG_RESULT_EXIT_USAGE);
    ck_assert_str_eq(error, "secret-prog: RECONCILER_KAFKA_SASL_PASSWORD_FILE: both it and the "
                            "variable without _FILE are set; set one of them");
    ck_assert_int_eq(
        parse(ENV("API_TOKEN=x", "RECONCILER_KAFKA_SASL_PASSWORD_FILE=/nonexistent"), NO_ARGS),
        CONFIG_RESULT_EXIT_USAGE);
    ck_assert_str_eq(error, "secret-prog: RECONCILER_KAFKA_SASL_PASSWORD_FILE: cannot read "
                            "'/nonexistent': No such file or directory");
}
END_TEST

START_TEST(test_secret_file_is_named_in_help)
{
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    config_print_help(&secret_program, out);
    fclose(out);
    ck_assert_ptr_nonnull(strstr(text, "secret; or from a file: API_TOKEN_FILE"));
    ck_assert_ptr_null(strstr(text, "NOTE_FILE"));
    free(text);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("config_secret_file");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_secret_file_value_is_read_with_one_newline_trimmed);
    tcase_add_test(tc, test_secret_file_unreadable_is_a_named_error);
    tcase_add_test(tc, test_secret_file_and_value_both_set_is_an_error);
    tcase_add_test(tc, test_secret_file_only_for_secret_settings);
    tcase_add_test(tc, test_secret_file_empty_file_of_a_required_secret_is_empty);
    tcase_add_test(tc, test_secret_file_kafka_password_from_file);
    tcase_add_test(tc, test_secret_file_is_named_in_help);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
