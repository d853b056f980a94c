/* test_config_choice.c — CONFIG_TYPE_CHOICE: a setting whose allowed values are a lookup
 * table. A listed name sets its value; anything else is a usage error that names the variable
 * and lists every choice; names match exactly, as the enumerated settings always did; --help
 * shows the choices and --check-config the chosen name. */
#include "config.h"

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

static const config_setting choice_table[] = {
    {.env_name = "SHAPE",
     .type = CONFIG_TYPE_CHOICE,
     .offset = offsetof(choice_settings, shape),
     .choices = shape_choices,
     .default_text = "square",
     .required = true,
     .help = "the shape drawn"},
    {.env_name = "SPEED",
     .type = CONFIG_TYPE_CHOICE,
     .offset = offsetof(choice_settings, speed),
     .choices = speed_choices,
     .help = "how fast; unset = the zero value"},
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

START_TEST(test_choice_row_without_choices_is_a_table_bug)
{
    static const config_setting broken_table[] = {
        {.env_name = "SHAPE",
         .type = CONFIG_TYPE_CHOICE,
         .offset = offsetof(choice_settings, shape),
         .default_text = "round"},
    };
    static const config_program broken = {
        .program_name = "broken-prog",
        .settings = broken_table,
        .setting_count = 1,
    };
    char *argv[] = {"broken-prog"};
    char *environment[] = {NULL};
    memset(&settings, 0, sizeof settings);
    ck_assert_int_eq(config_parse_from(&broken, &settings, NULL, 1, argv, environment, error,
                                       sizeof error, NULL),
                     CONFIG_RESULT_EXIT_USAGE);
    ck_assert_str_eq(error,
                     "broken-prog: SHAPE: a choice setting without choices (a bug in the table)");
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("config_choice");
    TCase *tcase = tcase_create("choice");
    tcase_add_test(tcase, test_choice_default_and_listed_names_set_their_values);
    tcase_add_test(tcase, test_choice_bad_value_names_the_variable_and_lists_every_choice);
    tcase_add_test(tcase, test_choice_names_match_exactly);
    tcase_add_test(tcase, test_choice_help_lists_the_choices_and_check_config_shows_the_name);
    tcase_add_test(tcase, test_choice_row_without_choices_is_a_table_bug);
    suite_add_tcase(suite, tcase);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
