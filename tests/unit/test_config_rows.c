/* test_config_rows.c — the table rows that carry more than a value.
 *
 * CONFIG_TYPE_CHOICE: a setting whose allowed values are a lookup table. A listed name sets
 * its value; anything else is a usage error that names the variable and lists every choice;
 * names match exactly, as the enumerated settings always did; --help shows the choices and
 * --check-config the chosen name. (A choice row without choices is a table bug:
 * test_config.c.)
 *
 * The instance id: the one <hostname>-<pid> every program names itself by — the derived
 * default, the fallback without a hostname, an operator's id kept, and the three programs'
 * rows built by the one macro (unset by default, so --check-config shows what the operator
 * set). */
#include "actuator_settings.h"
#include "checker_settings.h"
#include "config.h"
#include "producer_settings.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { SHAPE_ROUND = 0, SHAPE_SQUARE, SHAPE_STAR } shape;

typedef struct {
    shape shape;
    int speed;
} choice_settings;

CONFIG_CHOICE_FIELD_CHECK(choice_settings, shape);

static const config_choice shape_choices[] = {
    {"round", SHAPE_ROUND},
    {"square", SHAPE_SQUARE},
    {"star", SHAPE_STAR},
    {NULL, 0},
};

/* Values need not follow the order of the names, nor start at 0. */
static const config_choice speed_choices[] = {{"fast", 7}, {"slow", -3}, {NULL, 0}};

/* A required choice with a default, and an optional one without. */
#define CHOICE_ROW(env, field, list, default_value, is_required)                                   \
    {                                                                                              \
        .env_name = (env), .type = CONFIG_TYPE_CHOICE, .offset = offsetof(choice_settings, field), \
        .choices = (list), .default_text = (default_value), .required = (is_required),             \
        .help = "a choice"                                                                         \
    }
static const config_setting choice_table[] = {
    CHOICE_ROW("SHAPE", shape, shape_choices, "square", true),
    CHOICE_ROW("SPEED", speed, speed_choices, NULL, false),
};

static const config_program choice_program = {
    .program_name = "choice-prog",
    .summary = "A program with choice settings.",
    .settings = choice_table,
    .setting_count = sizeof choice_table / sizeof choice_table[0],
};

static choice_settings settings;
static char error[512];

static config_result parse(char **argv, char **environment, char **output)
{
    memset(&settings, 0, sizeof settings);
    error[0] = '\0';
    int argc = 0;
    while (argv[argc] != NULL) {
        argc++;
    }
    size_t length = 0;
    FILE *out = output != NULL ? open_memstream(output, &length) : NULL;
    config_result result = config_parse_with_output(&choice_program, &settings, NULL, argc, argv,
                                                    environment, out, error, sizeof error, NULL);
    if (out != NULL) {
        fclose(out);
    }
    return result;
}

START_TEST(test_choice_default_and_listed_names_set_their_values)
{
    char *argv[] = {"choice-prog", NULL};
    char *environment[] = {NULL};
    ck_assert_int_eq(parse(argv, environment, NULL), CONFIG_RESULT_RUN);
    ck_assert_int_eq(settings.shape, SHAPE_SQUARE); /* the default */
    ck_assert_int_eq(settings.speed, 0);            /* unset and optional: zero */

    char *flags[] = {"choice-prog", "--shape", "star", "--speed=slow", NULL};
    ck_assert_int_eq(parse(flags, environment, NULL), CONFIG_RESULT_RUN);
    ck_assert_int_eq(settings.shape, SHAPE_STAR);
    ck_assert_int_eq(settings.speed, -3);

    char *from_environment[] = {"SHAPE=round", "SPEED=fast", NULL};
    ck_assert_int_eq(parse(argv, from_environment, NULL), CONFIG_RESULT_RUN);
    ck_assert_int_eq(settings.shape, SHAPE_ROUND);
    ck_assert_int_eq(settings.speed, 7);
}
END_TEST

START_TEST(test_choice_bad_value_names_the_variable_and_lists_every_choice)
{
    char *argv[] = {"choice-prog", "--shape", "hexagon", NULL};
    char *environment[] = {NULL};
    ck_assert_int_eq(parse(argv, environment, NULL), CONFIG_RESULT_EXIT_USAGE);
    ck_assert_str_eq(error, "choice-prog: SHAPE: expected round, square or star, got 'hexagon'");

    char *two[] = {"choice-prog", "--speed", "medium", NULL};
    ck_assert_int_eq(parse(two, environment, NULL), CONFIG_RESULT_EXIT_USAGE);
    ck_assert_str_eq(error, "choice-prog: SPEED: expected fast or slow, got 'medium'");

    /* An empty value is no choice either (as for every non-string type). */
    char *empty[] = {"SHAPE=", NULL};
    char *plain[] = {"choice-prog", NULL};
    ck_assert_int_eq(parse(plain, empty, NULL), CONFIG_RESULT_EXIT_USAGE);
    ck_assert_str_eq(error, "choice-prog: SHAPE: required but empty");
}
END_TEST

START_TEST(test_choice_names_match_exactly)
{
    /* Case-sensitive, as AUDIT_FORMAT and AUDIT_PARTITIONER always were; no prefix, no
     * surrounding space. */
    static const char *const near_misses[] = {"STAR", "Star", "sta", "star ", " star"};
    char *environment[] = {NULL};
    for (size_t i = 0; i < sizeof near_misses / sizeof near_misses[0]; i++) {
        char *argv[] = {"choice-prog", "--shape", (char *)near_misses[i], NULL};
        ck_assert_int_eq(parse(argv, environment, NULL), CONFIG_RESULT_EXIT_USAGE);
        ck_assert_msg(strstr(error, "SHAPE: expected round, square or star") != NULL, "%s", error);
    }
}
END_TEST

START_TEST(test_choice_help_lists_the_choices_and_check_config_shows_the_name)
{
    char *environment[] = {"SPEED=slow", NULL};
    char *help[] = {"choice-prog", "--help", NULL};
    char *output = NULL;
    ck_assert_int_eq(parse(help, environment, &output), CONFIG_RESULT_EXIT_OK);
    ck_assert_ptr_nonnull(strstr(output, "  SHAPE, --shape <round|square|star>\n"));
    ck_assert_ptr_nonnull(strstr(output, "  SPEED, --speed <fast|slow>\n"));
    free(output);

    char *check[] = {"choice-prog", "--check-config", "--shape", "round", NULL};
    output = NULL;
    ck_assert_int_eq(parse(check, environment, &output), CONFIG_RESULT_EXIT_OK);
    ck_assert_str_eq(output, "SHAPE=round\nSPEED=slow\n");
    free(output);
}
END_TEST

START_TEST(test_instance_id_is_hostname_dash_pid_or_the_program_without_a_hostname)
{
    static const struct {
        const char *hostname;
        long pid;
        const char *fallback, *expected;
    } cases[] = {
        {"host-a", 4242, "producer", "host-a-4242"},
        {"", 7, "actuator", "actuator-7"},
        {NULL, 77, "checker", "checker-77"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *id = NULL;
        ck_assert(
            config_instance_id_resolve(&id, cases[i].hostname, cases[i].pid, cases[i].fallback));
        ck_assert_str_eq(id, cases[i].expected);
        free(id);
        char buffer[64];
        config_instance_id_format(cases[i].hostname, cases[i].pid, cases[i].fallback, buffer,
                                  sizeof buffer);
        ck_assert_str_eq(buffer, cases[i].expected);
    }
}
END_TEST

START_TEST(test_instance_id_set_by_the_operator_is_kept_and_empty_is_unset)
{
    char *id = strdup("chosen");
    ck_assert(config_instance_id_resolve(&id, "host-a", 42, "checker"));
    ck_assert_str_eq(id, "chosen");
    free(id);

    id = strdup(""); /* PRODUCER_ID= in the environment */
    ck_assert(config_instance_id_resolve(&id, "host-a", 42, "producer"));
    ck_assert_str_eq(id, "host-a-42");
    free(id);
}
END_TEST

START_TEST(test_hostname_is_terminated)
{
    char buffer[4];
    memset(buffer, 'x', sizeof buffer);
    config_hostname(buffer, sizeof buffer); /* truncated or failed: terminated either way */
    ck_assert_uint_lt(strlen(buffer), sizeof buffer);
}
END_TEST

/* The row of `variable` in `program` is the shared instance-id row at `offset`. */
static void assert_shared_id_row(const config_program *program, const char *variable, size_t offset)
{
    const config_setting *row = NULL;
    for (size_t i = 0; row == NULL && i < program->setting_count; i++) {
        if (strcmp(program->settings[i].env_name, variable) == 0) {
            row = &program->settings[i];
        }
    }
    ck_assert_msg(row != NULL, "%s has no %s", program->program_name, variable);
    ck_assert_int_eq(row->type, CONFIG_TYPE_STRING);
    ck_assert_uint_eq(row->offset, offset);
    ck_assert_ptr_null(row->default_text); /* resolved after parsing, not a default */
    ck_assert(!row->required);
    ck_assert_msg(strstr(row->help, "; unset = <hostname>-<pid>, unique per process") != NULL, "%s",
                  row->help);
}

START_TEST(test_every_program_declares_its_id_with_the_shared_row)
{
    assert_shared_id_row(&producer_program, "PRODUCER_ID",
                         offsetof(producer_settings, producer_id));
    assert_shared_id_row(&checker_program, "CHECKER_ID", offsetof(checker_settings, checker_id));
    assert_shared_id_row(&actuator_program, "ACTUATOR_ID",
                         offsetof(actuator_settings, actuator_id));
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("config_rows");
    TCase *choice = tcase_create("choice");
    tcase_add_test(choice, test_choice_default_and_listed_names_set_their_values);
    tcase_add_test(choice, test_choice_bad_value_names_the_variable_and_lists_every_choice);
    tcase_add_test(choice, test_choice_names_match_exactly);
    tcase_add_test(choice, test_choice_help_lists_the_choices_and_check_config_shows_the_name);
    suite_add_tcase(suite, choice);
    TCase *instance_id = tcase_create("instance_id");
    tcase_add_test(instance_id,
                   test_instance_id_is_hostname_dash_pid_or_the_program_without_a_hostname);
    tcase_add_test(instance_id, test_instance_id_set_by_the_operator_is_kept_and_empty_is_unset);
    tcase_add_test(instance_id, test_hostname_is_terminated);
    tcase_add_test(instance_id, test_every_program_declares_its_id_with_the_shared_row);
    suite_add_tcase(suite, instance_id);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
