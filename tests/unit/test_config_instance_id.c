/* test_config_instance_id.c — the one <hostname>-<pid> instance id every program names itself
 * by: the derived default, the fallback without a hostname, an operator's id kept, and the
 * three programs' rows built by the one macro (same --help text, unset by default so
 * --check-config shows what the operator set). */
#include "actuator_settings.h"
#include "checker_settings.h"
#include "config.h"
#include "producer_settings.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_instance_id_is_hostname_dash_pid)
{
    char *id = NULL;
    ck_assert(config_instance_id_resolve(&id, "host-a", 4242, "producer"));
    ck_assert_str_eq(id, "host-a-4242");
    free(id);

    char buffer[64];
    config_instance_id_format("host-b", 7, "checker", buffer, sizeof buffer);
    ck_assert_str_eq(buffer, "host-b-7");
}
END_TEST

START_TEST(test_instance_id_falls_back_to_the_program_without_a_hostname)
{
    char *id = NULL;
    ck_assert(config_instance_id_resolve(&id, "", 7, "actuator"));
    ck_assert_str_eq(id, "actuator-7");
    free(id);
    id = NULL;
    ck_assert(config_instance_id_resolve(&id, NULL, 77, "producer"));
    ck_assert_str_eq(id, "producer-77");
    free(id);
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

/* The row of `variable` in `program`. */
static const config_setting *row_of(const config_program *program, const char *variable)
{
    for (size_t i = 0; i < program->setting_count; i++) {
        if (strcmp(program->settings[i].env_name, variable) == 0) {
            return &program->settings[i];
        }
    }
    return NULL;
}

START_TEST(test_every_program_declares_its_id_with_the_shared_row)
{
    static const struct {
        const config_program *program;
        const char *variable;
        size_t offset;
    } programs[] = {
        {&producer_program, "PRODUCER_ID", offsetof(producer_settings, producer_id)},
        {&checker_program, "CHECKER_ID", offsetof(checker_settings, checker_id)},
        {&actuator_program, "ACTUATOR_ID", offsetof(actuator_settings, actuator_id)},
    };
    for (size_t i = 0; i < sizeof programs / sizeof programs[0]; i++) {
        const config_setting *row = row_of(programs[i].program, programs[i].variable);
        ck_assert_ptr_nonnull(row);
        ck_assert_int_eq(row->type, CONFIG_TYPE_STRING);
        ck_assert_uint_eq(row->offset, programs[i].offset);
        ck_assert_ptr_null(row->default_text); /* resolved after parsing, not a default */
        ck_assert(!row->required);
        ck_assert_msg(strstr(row->help, "; unset = <hostname>-<pid>, unique per process") != NULL,
                      "%s", row->help);
    }
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("config_instance_id");
    TCase *tcase = tcase_create("instance_id");
    tcase_add_test(tcase, test_instance_id_is_hostname_dash_pid);
    tcase_add_test(tcase, test_instance_id_falls_back_to_the_program_without_a_hostname);
    tcase_add_test(tcase, test_instance_id_set_by_the_operator_is_kept_and_empty_is_unset);
    tcase_add_test(tcase, test_hostname_is_terminated);
    tcase_add_test(tcase, test_every_program_declares_its_id_with_the_shared_row);
    suite_add_tcase(suite, tcase);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
